#!/usr/bin/env bash
# Compare hhlab's Hodgkin-Huxley population with Brian2's C++ standalone mode on the same
# model, and print throughput and spike counts side by side.
#
# Usage: bench/compare-brian2.sh [NEURONS] [DURATION_MS]     (defaults: 100000 100)
# Environment: DT_MS (0.01), MAX_CURRENT (20, µA/cm²), REPEATS (3, runs per tool; the fastest
# counts), BRIAN2_THREADS (OpenMP thread counts to try, default "1 <nproc>"),
# HHLAB_THREADS (default: one per CPU), CARGO_TARGET_DIR (default /work/target).
# Needs cargo, python3 with brian2, and a C++ compiler.
set -euo pipefail

neurons="${1:-100000}"
duration_ms="${2:-100}"
dt_ms="${DT_MS:-0.01}"
max_current="${MAX_CURRENT:-20}"
repeats="${REPEATS:-3}"
cpus="$(nproc)"
brian2_threads="${BRIAN2_THREADS:-1 $cpus}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/work/target}"

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$(mktemp -d /tmp/hhlab-compare-brian2.XXXXXX)"

echo "building hhlab (release) ..." >&2
cargo build --release --bin hhlab --manifest-path "$repo/Cargo.toml" >&2
hhlab="$CARGO_TARGET_DIR/release/hhlab"

thread_args=()
if [[ -n "${HHLAB_THREADS:-}" ]]; then
    thread_args=(--threads "$HHLAB_THREADS")
fi
echo "running hhlab $repeats times ..." >&2
for _ in $(seq "$repeats"); do
    "$hhlab" bench hh --neurons "$neurons" --duration-ms "$duration_ms" --dt-ms "$dt_ms" \
        --max-current "$max_current" "${thread_args[@]}" >>"$out/hhlab.jsonl"
done

for threads in $brian2_threads; do
    echo "running Brian2 with $threads OpenMP thread(s), $repeats times ..." >&2
    python3 "$repo/bench/brian2_hh.py" --neurons "$neurons" --duration-ms "$duration_ms" \
        --dt-ms "$dt_ms" --max-current "$max_current" --threads "$threads" \
        --repeats "$repeats" >>"$out/brian2.jsonl" 2>>"$out/brian2.log"
done

python3 - "$out/hhlab.jsonl" "$out/brian2.jsonl" <<'PY'
import json
import sys

def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]

hhlab_runs = load(sys.argv[1])
brian2_runs = load(sys.argv[2])
hhlab = max(hhlab_runs, key=lambda r: r["updates_per_sec"])
brian2 = max(brian2_runs, key=lambda r: r["updates_per_sec"])

print(f"HH population: {hhlab['neurons']} neurons, {hhlab['steps']} steps of {hhlab['dt_ms']} ms, "
      f"currents 0..{hhlab['max_current_ua_per_cm2']} µA/cm²")
print()
def per_cpu(run):
    value = run.get("updates_per_cpu_sec")
    return f"{value:.3e}" if value else "n/a"

print(f"{'':28}{'updates/s':>12}{'updates/CPU-s':>15}{'seconds':>10}{'threads':>9}")
for run in hhlab_runs:
    label = f"hhlab {run['kernel']}"
    print(f"{label:28}{run['updates_per_sec']:>12.3e}{per_cpu(run):>15}"
          f"{run['seconds']:>10.3f}{run['threads']:>9}")
for run in brian2_runs:
    label = f"brian2 {run['version']} standalone"
    print(f"{label:28}{run['updates_per_sec']:>12.3e}{per_cpu(run):>15}"
          f"{run['seconds']:>10.3f}{run['threads']:>9}"
          f"   (compile {run['compile_seconds']:.1f} s, not counted)")
ratio = hhlab["updates_per_sec"] / brian2["updates_per_sec"]
print()
print(f"best hhlab / best Brian2 throughput: {ratio:.2f}x "
      f"({hhlab['updates_per_sec']:.3e} vs {brian2['updates_per_sec']:.3e} updates/s, "
      f"Brian2 with {brian2['threads']} thread(s))")
cpu_runs = [r for r in hhlab_runs + brian2_runs if r.get("updates_per_cpu_sec")]
if any(r["tool"] == "hhlab" for r in cpu_runs) and any(r["tool"] == "brian2" for r in cpu_runs):
    best = {tool: max(r["updates_per_cpu_sec"] for r in cpu_runs if r["tool"] == tool)
            for tool in ("hhlab", "brian2")}
    print(f"best hhlab / best Brian2 per CPU second: {best['hhlab'] / best['brian2']:.2f}x "
          "(per-core speed; less sensitive to other load on the machine)")
print()
print(f"spike onsets (Brian2 runs {brian2['steps']} steps, hhlab {hhlab['steps']}: Brian2 tests")
print("the threshold after each update, hhlab before it, so both test the same states)")
print(f"{'':28}{'hhlab':>10}{'brian2':>10}{'diff':>8}")
print(f"{'total':28}{hhlab['total_spikes']:>10}{brian2['total_spikes']:>10}"
      f"{brian2['total_spikes'] - hhlab['total_spikes']:>8}")
assert hhlab["sample_neurons"] == brian2["sample_neurons"], "sample neurons differ"
last = max(hhlab["neurons"] - 1, 1)
for index, a, b in zip(hhlab["sample_neurons"], hhlab["spikes_per_neuron_sample"],
                       brian2["spikes_per_neuron_sample"]):
    current = hhlab["max_current_ua_per_cm2"] * index / last
    label = f"neuron {index} ({current:.2f} µA/cm²)"
    print(f"{label:28}{a:>10}{b:>10}{b - a:>8}")
PY
echo "raw JSON lines: $out" >&2
