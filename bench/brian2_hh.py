#!/usr/bin/env python3
"""Run the `hhlab bench hh` population in Brian2's C++ standalone mode and print one JSON line.

The model is the same as hhlab's: N independent Hodgkin-Huxley neurons in the rest-at-−65 mV
convention (ENa 50 mV, EK −77 mV, EL −54.387 mV, ḡNa 120, ḡK 36, gL 0.3 mS/cm², C 1 µF/cm²),
initial u −70 mV, m 0.0289, n 0.2446, h 0.7541, forward Euler (method='euler'), neuron i of N
driven by the constant current I_max·i/(N − 1) µA/cm². A spike is an onset of u > −40 mV:
with threshold and refractory condition both 'v > -40*mV', Brian2 fires on the step where v
crosses −40 mV upwards and not again while v stays above.

Brian2 tests the threshold after each state update (on u_{k+1}), hhlab before it (on u_k).
Over K steps Brian2 therefore tests the states u_1..u_K and hhlab u_0..u_{K−1} (u_0 = −70 mV
never counts). To count onsets over the same states, this script runs K − 1 steps for a
requested duration of K steps, and reports `steps` and `updates_per_sec` for the steps it
ran. Brian2 stamps each spike one dt earlier than hhlab for the same reason.

Timing: the project is generated and compiled first (`compile_seconds`); then the compiled
binary runs `--repeats` times. `seconds` is the fastest network loop alone, as the binary
measures it itself (Brian2's `device._last_run_time`: wall-clock through omp_get_wtime when
built with OpenMP, which this script always does); `all_seconds` lists every run and
`process_seconds` is the fastest whole process (start-up, loading and writing results too).
`cpu_seconds` is the smallest CPU time (user + system) of one whole process run, so
`updates_per_cpu_sec` slightly understates Brian2's per-core speed.
"""

import argparse
import json
import os
import resource
import time

import brian2
from brian2 import (
    NeuronGroup,
    SpikeMonitor,
    device,
    defaultclock,
    mV,
    ms,
    msiemens,
    cm,
    ufarad,
    uamp,
    prefs,
    run,
    set_device,
)

EQUATIONS = """
dv/dt = (I - g_na*m**3*h*(v - e_na) - g_k*n**4*(v - e_k) - g_l*(v - e_l)) / c_m : volt
dm/dt = alpha_m*(1 - m) - beta_m*m : 1
dn/dt = alpha_n*(1 - n) - beta_n*n : 1
dh/dt = alpha_h*(1 - h) - beta_h*h : 1
alpha_m = 0.1/mV*(v + 40*mV)/(1 - exp(-(v + 40*mV)/(10*mV)))/ms : Hz
beta_m = 4*exp(-(v + 65*mV)/(18*mV))/ms : Hz
alpha_n = 0.01/mV*(v + 55*mV)/(1 - exp(-(v + 55*mV)/(10*mV)))/ms : Hz
beta_n = 0.125*exp(-(v + 65*mV)/(80*mV))/ms : Hz
alpha_h = 0.07*exp(-(v + 65*mV)/(20*mV))/ms : Hz
beta_h = 1/(1 + exp(-(v + 35*mV)/(10*mV)))/ms : Hz
I : amp/meter**2 (constant)
"""


def sample_indices(neurons, sample):
    """Indices k·(N − 1)/(S − 1) for k in 0..S, the same neurons `hhlab bench hh` reports."""
    count = min(sample, neurons)
    if count == 0:
        return []
    if count == 1:
        return [0]
    return [k * (neurons - 1) // (count - 1) for k in range(count)]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--neurons", type=int, default=100_000, help="number of neurons")
    parser.add_argument("--duration-ms", type=float, default=100.0, help="simulated time (ms)")
    parser.add_argument("--dt-ms", type=float, default=0.01, help="Euler time step (ms)")
    parser.add_argument(
        "--max-current", type=float, default=20.0, help="current of the last neuron (µA/cm²)"
    )
    parser.add_argument("--threads", type=int, default=1, help="OpenMP threads (1 or more)")
    parser.add_argument("--sample", type=int, default=10, help="neurons whose counts are printed")
    parser.add_argument(
        "--repeats", type=int, default=1, help="runs of the compiled binary; the fastest counts"
    )
    parser.add_argument(
        "--build-dir",
        default=None,
        help="where Brian2 writes and compiles the C++ project "
        "(default: /tmp/hhlab-brian2/<neurons>-<duration>-<dt>-<threads>)",
    )
    args = parser.parse_args()
    if args.neurons < 1 or args.threads < 1 or args.repeats < 1:
        parser.error("--neurons, --threads and --repeats must be at least 1")
    return args


def main():
    args = parse_args()
    build_dir = args.build_dir or os.path.join(
        "/tmp/hhlab-brian2",
        f"{args.neurons}-{args.duration_ms:g}-{args.dt_ms:g}-{args.threads}",
    )

    set_device("cpp_standalone", directory=build_dir, build_on_run=False)
    prefs.devices.cpp_standalone.openmp_threads = args.threads
    defaultclock.dt = args.dt_ms * ms

    namespace = {
        "e_na": 50 * mV,
        "e_k": -77 * mV,
        "e_l": -54.387 * mV,
        "g_na": 120 * msiemens / cm**2,
        "g_k": 36 * msiemens / cm**2,
        "g_l": 0.3 * msiemens / cm**2,
        "c_m": 1 * ufarad / cm**2,
        "i_max": args.max_current * uamp / cm**2,
        "last_index": max(args.neurons - 1, 1),
    }
    group = NeuronGroup(
        args.neurons,
        EQUATIONS,
        threshold="v > -40*mV",
        refractory="v > -40*mV",
        method="euler",
        namespace=namespace,
    )
    group.v = -70 * mV
    group.m = 0.0289
    group.n = 0.2446
    group.h = 0.7541
    group.I = "i_max * i / last_index"
    spikes = SpikeMonitor(group, record=False)
    steps = int(round(args.duration_ms / args.dt_ms)) - 1
    if steps < 1:
        raise SystemExit("--duration-ms must cover at least two steps of --dt-ms")
    run(steps * args.dt_ms * ms, namespace=namespace)

    start = time.perf_counter()
    device.build(directory=build_dir, compile=True, run=False, debug=False)
    compile_seconds = time.perf_counter() - start

    run_seconds = []
    process_seconds = []
    cpu_seconds = []
    for _ in range(args.repeats):
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        device.run(directory=build_dir, with_output=False, run_args=[])
        process_seconds.append(time.perf_counter() - start)
        run_seconds.append(device._last_run_time)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu_seconds.append(
            after.ru_utime + after.ru_stime - usage.ru_utime - usage.ru_stime
        )
    seconds = min(run_seconds)

    counts = [int(c) for c in spikes.count[:]]
    sample = sample_indices(args.neurons, args.sample)
    report = {
        "tool": "brian2",
        "version": brian2.__version__,
        "mode": "cpp_standalone",
        "neurons": args.neurons,
        "steps": steps,
        "dt_ms": args.dt_ms,
        "duration_ms": args.duration_ms,
        "max_current_ua_per_cm2": args.max_current,
        "threads": args.threads,
        "seconds": seconds,
        "all_seconds": run_seconds,
        "process_seconds": min(process_seconds),
        "compile_seconds": compile_seconds,
        "updates_per_sec": args.neurons * steps / seconds,
        "cpu_seconds": min(cpu_seconds),
        "updates_per_cpu_sec": args.neurons * steps / min(cpu_seconds),
        "total_spikes": sum(counts),
        "sample_neurons": sample,
        "spikes_per_neuron_sample": [counts[i] for i in sample],
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
