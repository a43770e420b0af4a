#!/usr/bin/env bash
# Compare training throughput (samples per second: forward, backward and optimiser step) of
# hhlab's candle models with the PyTorch versions in bench/pytorch_models.py, model by model.
#
# Usage: bench/compare-pytorch.sh [BATCHES]     (default 20 timed batches per model)
# Environment: BATCH_SIZE (128), MODELS (default "LIF_fc 4LIF_fc HH_fc LIF_hh_fc LIF_conv"),
# TORCH_THREADS (thread counts to try, default "1 <nproc>"; the faster counts per model),
# CARGO_TARGET_DIR (default /work/target).
# Needs cargo and python3 with torch.
set -euo pipefail

batches="${1:-20}"
batch_size="${BATCH_SIZE:-128}"
models="${MODELS:-LIF_fc 4LIF_fc HH_fc LIF_hh_fc LIF_conv}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/work/target}"

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$(mktemp -d /tmp/hhlab-compare-pytorch.XXXXXX)"

echo "building hhlab (release) ..." >&2
cargo build --release --bin hhlab --manifest-path "$repo/Cargo.toml" >&2
hhlab="$CARGO_TARGET_DIR/release/hhlab"

for model in $models; do
    echo "hhlab bench train --model $model ..." >&2
    if ! "$hhlab" bench train --model "$model" --batch-size "$batch_size" --batches "$batches" \
        >>"$out/hhlab.jsonl" 2>"$out/hhlab-$model.err"; then
        echo "hhlab failed for $model: $(tail -n 1 "$out/hhlab-$model.err")" >&2
    fi
done

for threads in ${TORCH_THREADS:-1 $(nproc)}; do
    echo "PyTorch with $threads thread(s) ..." >&2
    # shellcheck disable=SC2086 # $models is a list of names
    python3 "$repo/bench/pytorch_models.py" --models $models --batch-size "$batch_size" \
        --batches "$batches" --threads "$threads" >>"$out/pytorch.jsonl"
done

python3 - "$out/hhlab.jsonl" "$out/pytorch.jsonl" $models <<'PY'
import json
import sys

def load(path):
    """The fastest run per model."""
    best = {}
    try:
        with open(path) as f:
            for run in map(json.loads, filter(str.strip, f)):
                model = run["model"]
                if model not in best or run["samples_per_sec"] > best[model]["samples_per_sec"]:
                    best[model] = run
    except FileNotFoundError:
        pass
    return best

hhlab = load(sys.argv[1])
pytorch = load(sys.argv[2])
models = sys.argv[3:]
version = next(iter(pytorch.values()), {}).get("version", "?")
print(f"training samples/s (batch {next(iter(pytorch.values()), {}).get('batch_size', '?')}, "
      f"PyTorch {version} on CPU)")
print()
print(f"{'model':12}{'hhlab':>12}{'pytorch':>12}{'(threads)':>10}{'ratio':>9}")
for model in models:
    a = hhlab.get(model, {}).get("samples_per_sec")
    b = pytorch.get(model, {}).get("samples_per_sec")
    a_text = f"{a:.1f}" if a else "n/a"
    b_text = f"{b:.1f}" if b else "n/a"
    threads = pytorch.get(model, {}).get("threads", "")
    ratio = f"{a / b:.2f}x" if a and b else "n/a"
    print(f"{model:12}{a_text:>12}{b_text:>12}{threads:>10}{ratio:>9}")
PY
echo "raw JSON lines and errors: $out" >&2
