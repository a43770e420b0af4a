#!/usr/bin/env bash
# Saves PNGs of hhlab's main screens into screenshots/, running the app under Xvfb.
#
# Installs nothing. Needs xvfb-run and Mesa's software drivers (Debian: xvfb xauth libgl1
# libglx-mesa0 libgl1-mesa-dri libxkbcommon-x11-0 libxcursor1 libxi6 libxrandr2
# mesa-vulkan-drivers libvulkan1 libegl1 libegl-mesa0) and a built binary:
#   cargo build --bin hhlab          (or set HHLAB_BIN to another build)
# The training screenshot needs MNIST under $HHLAB_DATA (mnist/*.gz); without it, that
# screenshot is skipped with a message.
#
# Usage: scripts/screenshots.sh [OUT_DIR]     (default: screenshots/)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
bin=${HHLAB_BIN:-$target/debug/hhlab}
out=${1:-$root/screenshots}
size=1400x900

if ! command -v xvfb-run >/dev/null; then
    echo "xvfb-run not found: install the packages listed at the top of $0" >&2
    exit 1
fi
if [[ ! -x $bin ]]; then
    echo "no hhlab binary at $bin: run 'cargo build --bin hhlab' or set HHLAB_BIN" >&2
    exit 1
fi
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Runs the GUI on a virtual 24-bit screen larger than the window; extra arguments go to hhlab.
shoot() {
    local name=$1
    shift
    echo "saving $out/$name.png"
    xvfb-run -a -s "-screen 0 1600x1000x24" \
        "$bin" --window-size "$size" --screenshot "$out/$name.png" "$@" \
        >"$work/$name.log" 2>&1 || {
        echo "hhlab failed for $name; its log:" >&2
        tail -n 30 "$work/$name.log" >&2
        return 1
    }
}

# The simulation screens wait until their run has finished (at most two minutes more).
shoot chain-default --experiment chain --screenshot-after 2
shoot xor --experiment xor --screenshot-after 2
shoot fully-connected-raster --experiment fc --screenshot-after 2

# Training mid-run: two runs side by side on 12,000 Multi-MNIST samples, captured
# while the second epoch is still running.
if [[ -n ${HHLAB_DATA:-} && -d ${HHLAB_DATA}/mnist ]]; then
    for model in HH_fc LIF_fc; do
        cat >"$work/$model.ron" <<RON
(model: $model, epochs: 4, batch_size: 64, train_samples: 12000, test_samples: 1000, seed: 1)
RON
    done
    shoot training-mid-run --tab training --data-dir "$HHLAB_DATA" \
        --runs-dir "$work/runs" --train-preset "$work/HH_fc.ron" \
        --train-preset "$work/LIF_fc.ron" --screenshot-after "${TRAINING_WAIT_SECS:-45}"
else
    echo "skipping training-mid-run.png: set HHLAB_DATA to a folder holding mnist/" >&2
fi
