//! Trained weights make the fully connected HH network (and its tv-LIF2HH twin) classify
//! MNIST test images: the output neuron with the most spikes is the digit.

#![allow(clippy::print_stderr)] // Skipped tests and measured figures are reported on stderr.

use std::path::PathBuf;

use hhlab::preset::sim::SimPreset;
use hhlab::preset::train::MnistMlpPreset;
use hhlab::sim::fully_connected::{ImageSource, WeightSource};
use hhlab::train::mnist;

/// Test images simulated (each is 138 HH neurons and their twins for 40 ms).
const IMAGES: usize = 20;

fn predicted(output: &hhlab::sim::SimOutput, model: &str) -> Option<usize> {
    let name = format!("predicted class {model}");
    output
        .metrics
        .iter()
        .find(|metric| metric.name == name)
        .map(|metric| metric.value as usize)
}

#[test]
fn trained_weights_classify_in_hh_and_tv_lif2hh() {
    let Some(data_dir) = std::env::var_os("HHLAB_DATA").map(PathBuf::from) else {
        eprintln!("skipped: set HHLAB_DATA to a folder holding mnist/ to run this test");
        return;
    };
    let out = tempfile::tempdir().expect("tempdir");
    let preset = MnistMlpPreset {
        epochs: 1,
        batch_size: 128,
        learning_rate: 3e-4,
        weight_decay: 0.0,
        train_samples: Some(20_000),
        test_samples: Some(1_000),
        seed: 0,
        scale_to_unit: false,
    };
    let weights = mnist::run_blocking(&preset, out.path(), &data_dir).expect("train");
    eprintln!("classifier test accuracy {:.2}%", weights.test_accuracy_pct);
    let bytes = std::fs::read(&weights.path).expect("read weights");
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).expect("header");
    eprintln!("calibration {:?}", header.metadata());

    let mut sim = SimPreset::fully_connected();
    sim.record_every = 1000;
    sim.fully_connected.traced_neurons = Vec::new();
    sim.fully_connected.weights = WeightSource::File(weights.path.clone());
    let labels = hhlab::data::load_split(
        &data_dir,
        hhlab::data::DatasetKind::Mnist,
        hhlab::data::Split::Test,
    )
    .expect("test split")
    .labels;
    let (mut hh_hits, mut twin_hits, mut agree) = (0, 0, 0);
    for index in 0..IMAGES {
        sim.fully_connected.image = ImageSource::Mnist { index };
        let output = hhlab::sim::run(&sim).expect("simulate");
        let label = usize::from(labels[index]);
        let (hh, twin) = (predicted(&output, "HH"), predicted(&output, "tv-LIF2HH"));
        eprintln!(
            "image {index}: label {label}, HH {hh:?}, tv-LIF2HH {twin:?}, notes {:?}",
            output.notes
        );
        hh_hits += usize::from(hh == Some(label));
        twin_hits += usize::from(twin == Some(label));
        agree += usize::from(hh.is_some() && hh == twin);
    }
    eprintln!("HH {hh_hits}/{IMAGES}, tv-LIF2HH {twin_hits}/{IMAGES}, agree {agree}/{IMAGES}");
    // Measured with these settings: HH 13/20 and tv-LIF2HH 13/20 correct, 20/20 agreeing.
    // Most outputs reach the same count (3 spikes), so the class that reached it first
    // decides. Chance is 2/20, so 10/20 leaves room for other builds and still fails when
    // the calibration breaks. 18/20 agreement allows a couple of spike-edge shifts.
    assert!(hh_hits * 2 >= IMAGES, "HH classified {hh_hits}/{IMAGES}");
    assert!(
        agree * 10 >= IMAGES * 9,
        "models agreed on {agree}/{IMAGES}"
    );
}
