//! Hodgkin–Huxley population throughput: neuron updates per second for 10k and 100k neurons
//! (rest-at−65 convention, dt 0.01 ms, currents spread over 0–20 µA/cm²), with the fastest
//! vector kernel and, for 10k neurons, the `wide::f64x4` baseline and the scalar `f64::exp`
//! reference kernel.
//!
//! Run with `cargo bench --bench hh_population`; criterion reports elements per second, one
//! element being one neuron advanced by one step. Each iteration advances 100 steps, so the
//! population keeps firing across iterations as it would in a long run.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

use hhlab::neuron::population::{linear_currents, HhPopulation, Kernel, PopulationConfig};

/// Steps per timed iteration.
const STEPS: usize = 100;

/// Current of the last neuron (µA/cm²).
const MAX_CURRENT_UA_PER_CM2: f64 = 20.0;

fn population(neurons: usize, kernel: Kernel) -> HhPopulation {
    let config = PopulationConfig {
        dt_ms: 0.01,
        kernel,
        record_onsets: false,
    };
    let currents = linear_currents(neurons, MAX_CURRENT_UA_PER_CM2);
    match HhPopulation::new(&currents, config) {
        Ok(population) => population,
        Err(error) => panic!("benchmark population rejected: {error}"),
    }
}

fn bench_population(c: &mut Criterion) {
    let mut group = c.benchmark_group("hh_population");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));

    let cases = [
        (10_000, Kernel::Simd),
        (100_000, Kernel::Simd),
        (10_000, Kernel::SimdBaseline),
        (10_000, Kernel::Scalar),
    ];
    for (neurons, kernel) in cases {
        let mut population = population(neurons, kernel);
        group.throughput(Throughput::Elements((neurons * STEPS) as u64));
        let id = BenchmarkId::new(format!("{kernel:?}").to_lowercase(), neurons);
        group.bench_function(id, |b| {
            b.iter(|| {
                if let Err(error) = population.advance(black_box(STEPS)) {
                    panic!("population diverged: {error}");
                }
            })
        });
        black_box(population.total_spikes());
    }
    group.finish();
}

criterion_group!(benches, bench_population);
criterion_main!(benches);
