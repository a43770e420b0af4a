//! The fully connected 784 → 128 → 10 network of rest-at-−65 HH neurons, run side by side with
//! a copy made of their tv-LIF2HH twins.
//!
//! ```text
//! layer 1 input  I1 = s·W1ᵀ·p        (p: 28×28 image, raw pixels 0–255; s = pixel_scale)
//! layer 2 input  I2 = W2ᵀ·spikes1    (spikes1: this step's 0/1 indicators of layer 1)
//! ```
//!
//! W1 has shape (784, 128) and W2 (128, 10); currents are in µA/cm². The HH layer 2 reads the
//! HH layer 1's spikes, and the twin layer 2 reads the twins' spikes, so the two copies can
//! drift apart. The image is constant over the run.
//!
//! Speed: the layer-1 input is constant, so its 128 pairs are independent of each other. Each
//! `advance` runs them in parallel (rayon) over the whole chunk of steps and stores their
//! spike indicators, and then steps layer 2 sequentially. Per step only the spiking layer-1 neurons add
//! their row of W2.
//!
//! Spike trains: neuron 0–127 is layer 1 and 128–137 layer 2, for models `HH` and
//! `tv-LIF2HH`.

use std::path::{Path, PathBuf};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::neuron::hh::HhParams;
use crate::preset::sim::SimPreset;
use crate::sim::metrics::AgreementCounter;
use crate::sim::pair::{pair_specs, Pair, TRACES_PER_NEURON};
use crate::sim::record::Recorder;
use crate::sim::{Metric, SimError, SpikeTrain, Trace};

/// Pixels of the 28×28 input image.
pub const INPUTS: usize = 784;

/// Neurons of the hidden layer.
pub const HIDDEN: usize = 128;

/// Neurons of the output layer.
pub const OUTPUTS: usize = 10;

/// Standard deviation of a random W1 entry at scale 1, in µA/cm² per pixel unit. A digit
/// has about 150 bright pixels near 200, so Σp² ≈ 6·10⁶ (an estimate) and the layer-1
/// currents spread with a standard deviation of about 0.006·2450 ≈ 15 µA/cm². Roughly half
/// the hidden neurons then get more than the 6–7 µA/cm² that rest-at-−65 HH needs to fire
/// repetitively.
pub const LAYER1_WEIGHT_STD: f64 = 0.006;

/// Mean of a random W2 entry at scale 1, in µA/cm² per spiking hidden neuron.
pub const LAYER2_WEIGHT_MEAN: f64 = 2.0;

/// Standard deviation of a random W2 entry at scale 1, in µA/cm² per spiking hidden neuron.
pub const LAYER2_WEIGHT_STD: f64 = 4.0;

/// Source of the network's weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum WeightSource {
    /// Normal random weights from a seeded ChaCha8 generator: W1 entries have standard
    /// deviation `scale · LAYER1_WEIGHT_STD`, W2 entries `scale · LAYER2_WEIGHT_STD`.
    Random {
        /// Generator seed.
        seed: u64,
        /// Multiplier of both standard deviations (1 = neurons fire at moderate rates).
        scale: f64,
    },
    /// A safetensors file with tensors `w1` (784, 128) and `w2` (128, 10), f32 or f64.
    File(PathBuf),
}

impl Default for WeightSource {
    fn default() -> Self {
        WeightSource::Random {
            seed: 1,
            scale: 1.0,
        }
    }
}

/// The input image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ImageSource {
    /// A built-in digit-like ring ("0"), generated, so no data set is needed.
    Builtin,
    /// Image `index` of the MNIST test split, read from the data folder (`HHLAB_DATA`, else
    /// the platform data folder).
    Mnist {
        /// Position in the test split, 0–9999.
        index: usize,
    },
}

/// The weights as f64, row-major: `w1[i·128 + j]` from pixel i to hidden neuron j and
/// `w2[j·10 + k]` from hidden j to output k.
#[derive(Debug, Clone, PartialEq)]
pub struct Weights {
    /// W1, 784 × 128.
    pub w1: Vec<f64>,
    /// W2, 128 × 10.
    pub w2: Vec<f64>,
}

impl Weights {
    /// Draws or reads the weights.
    pub fn load(source: &WeightSource) -> Result<Self, SimError> {
        match source {
            WeightSource::Random { seed, scale } => random_weights(*seed, *scale),
            WeightSource::File(path) => read_weights(path),
        }
    }
}

fn random_weights(seed: u64, scale: f64) -> Result<Weights, SimError> {
    if !scale.is_finite() {
        return Err(SimError::InvalidSetting {
            field: "fully_connected.weights.scale".to_string(),
            value: scale.to_string(),
            fix: "use a finite scale (1 makes neurons fire at moderate rates)".to_string(),
        });
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut draw = |count: usize, mean: f64, std: f64| -> Vec<f64> {
        (0..count)
            .map(|_| {
                let z: f64 = StandardNormal.sample(&mut rng);
                scale * (mean + std * z)
            })
            .collect::<Vec<f64>>()
    };
    let w1 = draw(INPUTS * HIDDEN, 0.0, LAYER1_WEIGHT_STD);
    let w2 = draw(HIDDEN * OUTPUTS, LAYER2_WEIGHT_MEAN, LAYER2_WEIGHT_STD);
    Ok(Weights { w1, w2 })
}

fn read_weights(path: &Path) -> Result<Weights, SimError> {
    let input_error = |message: String| SimError::Input {
        input: format!("weights {}", path.display()),
        message,
    };
    let bytes = std::fs::read(path).map_err(|err| {
        input_error(format!(
            "{err}; train an MNIST classifier to write this file, or use \
             weights: Random(seed: 1, scale: 1.0)"
        ))
    })?;
    let tensors = safetensors::SafeTensors::deserialize(&bytes)
        .map_err(|err| input_error(format!("not a safetensors file: {err}")))?;
    let read = |name: &str, shape: [usize; 2]| -> Result<Vec<f64>, SimError> {
        let view = tensors
            .tensor(name)
            .map_err(|err| input_error(format!("tensor `{name}` is missing: {err}")))?;
        if view.shape() != shape {
            return Err(input_error(format!(
                "tensor `{name}` has shape {:?}, expected {shape:?}",
                view.shape()
            )));
        }
        let data = view.data();
        match view.dtype() {
            safetensors::Dtype::F32 => Ok(data
                .chunks_exact(4)
                .map(|b| f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]])))
                .collect()),
            safetensors::Dtype::F64 => Ok(data
                .chunks_exact(8)
                .map(|b| f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
                .collect()),
            other => Err(input_error(format!(
                "tensor `{name}` has dtype {other:?}, expected F32 or F64"
            ))),
        }
    };
    Ok(Weights {
        w1: read("w1", [INPUTS, HIDDEN])?,
        w2: read("w2", [HIDDEN, OUTPUTS])?,
    })
}

/// Generates the built-in input: a ring like a handwritten "0", 28×28, row-major, pixels 0–255.
///
/// The stroke follows an ellipse with semi-axes 6.5 (columns) and 9.5 (rows) around the
/// image centre and fades linearly over 0.28 of the radius on either side.
pub fn builtin_image() -> Vec<u8> {
    let mut pixels = vec![0u8; INPUTS];
    for row in 0..28 {
        for col in 0..28 {
            let dy = (row as f64 - 13.5) / 9.5;
            let dx = (col as f64 - 13.5) / 6.5;
            let radius = (dx * dx + dy * dy).sqrt();
            let intensity = (1.0 - (radius - 1.0).abs() / 0.28).clamp(0.0, 1.0);
            pixels[row * 28 + col] = (255.0 * intensity).round() as u8;
        }
    }
    pixels
}

/// Loads the image of a source, with its label when known.
pub fn load_image(source: &ImageSource) -> Result<(Vec<u8>, Option<u8>), SimError> {
    match source {
        ImageSource::Builtin => Ok((builtin_image(), None)),
        ImageSource::Mnist { index } => {
            let input_error = |message: String| SimError::Input {
                input: format!("MNIST test image {index}"),
                message,
            };
            let dir = crate::data::resolve_data_dir(None)
                .map_err(|err| input_error(format!("{err}; or use image: Builtin")))?;
            let split = crate::data::load_split(
                &dir,
                crate::data::DatasetKind::Mnist,
                crate::data::Split::Test,
            )
            .map_err(|err| input_error(format!("{err}; or use image: Builtin")))?;
            if *index >= split.count {
                return Err(input_error(format!(
                    "the test split has {} images; use an index below that",
                    split.count
                )));
            }
            Ok((split.image(*index).to_vec(), Some(split.labels[*index])))
        }
    }
}

/// One neuron pair of the network with its recording buffer.
#[derive(Debug, Clone)]
struct Node {
    pair: Pair,
    traced: bool,
    /// Trace rows of the current chunk, `TRACES_PER_NEURON` values per recorded step.
    chunk_rows: Vec<f64>,
}

/// Number of traces a fully connected run records.
pub fn trace_count(preset: &SimPreset) -> usize {
    preset.fully_connected.traced_neurons.len() * TRACES_PER_NEURON
}

/// State of a running fully connected experiment.
#[derive(Debug)]
pub struct FullyConnectedSim {
    dt_ms: f64,
    record_every: usize,
    params: HhParams,
    w2: Vec<f64>,
    /// Constant layer-1 currents, µA/cm².
    currents1: Vec<f64>,
    nodes: Vec<Node>,
    traced: Vec<usize>,
    label: Option<u8>,
    /// Layer-1 spike indicators of the current chunk, neuron-major: HH, then twins.
    spikes1: [Vec<u8>; 2],
    recorder: Recorder,
    row: Vec<f64>,
}

impl FullyConnectedSim {
    /// Loads weights and image, checks the settings and sets up the initial state.
    pub fn new(preset: &SimPreset, total_steps: usize) -> Result<Self, SimError> {
        let config = &preset.fully_connected;
        let total = HIDDEN + OUTPUTS;
        for (position, &neuron) in config.traced_neurons.iter().enumerate() {
            let repeated = config.traced_neurons[..position].contains(&neuron);
            if neuron >= total || repeated {
                return Err(SimError::InvalidSetting {
                    field: "fully_connected.traced_neurons".to_string(),
                    value: format!("{:?}", config.traced_neurons),
                    fix: format!(
                        "list distinct neurons below {total} (0–127 hidden, 128–137 output)"
                    ),
                });
            }
        }
        if !config.pixel_scale.is_finite() {
            return Err(SimError::InvalidSetting {
                field: "fully_connected.pixel_scale".to_string(),
                value: config.pixel_scale.to_string(),
                fix: "use a finite factor (1 keeps raw 0–255 pixels)".to_string(),
            });
        }

        let weights = Weights::load(&config.weights)?;
        let (image, label) = load_image(&config.image)?;
        let mut currents1 = vec![0.0; HIDDEN];
        for (i, &pixel) in image.iter().enumerate() {
            if pixel == 0 {
                continue;
            }
            let p = config.pixel_scale * f64::from(pixel);
            let row = &weights.w1[i * HIDDEN..(i + 1) * HIDDEN];
            for (current, w) in currents1.iter_mut().zip(row) {
                *current += p * w;
            }
        }

        let params = HhParams::rest_at_minus_65();
        let nodes = (0..total)
            .map(|neuron| Node {
                pair: Pair::new(&params),
                traced: config.traced_neurons.contains(&neuron),
                chunk_rows: Vec::new(),
            })
            .collect();
        let specs = config
            .traced_neurons
            .iter()
            .flat_map(|&neuron| pair_specs(&neuron_label(neuron)))
            .collect::<Vec<_>>();
        let row = vec![0.0; specs.len()];
        Ok(Self {
            dt_ms: preset.dt_ms,
            record_every: preset.record_every,
            params,
            w2: weights.w2,
            currents1,
            nodes,
            traced: config.traced_neurons.clone(),
            label,
            spikes1: [Vec::new(), Vec::new()],
            recorder: Recorder::new(specs, preset.record_every, total_steps),
            row,
        })
    }

    /// Constant layer-1 input currents, in µA/cm².
    pub fn layer1_currents(&self) -> &[f64] {
        &self.currents1
    }

    /// Runs fine steps `from .. from + steps`.
    pub fn advance(&mut self, from: usize, steps: usize) -> Result<(), SimError> {
        let dt_ms = self.dt_ms;
        let every = self.record_every;
        let params = self.params;
        for spikes in &mut self.spikes1 {
            spikes.clear();
            spikes.resize(HIDDEN * steps, 0);
        }

        let [spikes_hh, spikes_twin] = &mut self.spikes1;
        let (hidden, outputs) = self.nodes.split_at_mut(HIDDEN);
        hidden
            .par_iter_mut()
            .zip(self.currents1.par_iter())
            .zip(spikes_hh.par_chunks_mut(steps))
            .zip(spikes_twin.par_chunks_mut(steps))
            .enumerate()
            .try_for_each(|(neuron, (((node, &current), out_hh), out_twin))| {
                node.chunk_rows.clear();
                let mut row = [0.0; TRACES_PER_NEURON];
                for s in 0..steps {
                    let i = from + s;
                    let t_ms = i as f64 * dt_ms;
                    let record = node.traced && i.is_multiple_of(every);
                    let (hh, twin) = node.pair.step(
                        &params,
                        (current, current),
                        dt_ms,
                        t_ms,
                        record.then_some(&mut row[..]),
                    );
                    if record {
                        node.chunk_rows.extend_from_slice(&row);
                    }
                    out_hh[s] = u8::from(hh);
                    out_twin[s] = u8::from(twin);
                    node.pair.check(t_ms, dt_ms, |model| {
                        format!("{} ({model})", neuron_label(neuron))
                    })?;
                }
                Ok::<(), SimError>(())
            })?;

        for node in outputs.iter_mut() {
            node.chunk_rows.clear();
        }
        let mut row = [0.0; TRACES_PER_NEURON];
        for s in 0..steps {
            let i = from + s;
            let t_ms = i as f64 * dt_ms;
            let mut input_hh = [0.0; OUTPUTS];
            let mut input_twin = [0.0; OUTPUTS];
            for j in 0..HIDDEN {
                let weights = &self.w2[j * OUTPUTS..(j + 1) * OUTPUTS];
                if spikes_hh[j * steps + s] != 0 {
                    input_hh.iter_mut().zip(weights).for_each(|(x, w)| *x += w);
                }
                if spikes_twin[j * steps + s] != 0 {
                    input_twin
                        .iter_mut()
                        .zip(weights)
                        .for_each(|(x, w)| *x += w);
                }
            }
            for (k, node) in outputs.iter_mut().enumerate() {
                let record = node.traced && i.is_multiple_of(every);
                let currents = (input_hh[k], input_twin[k]);
                node.pair.step(
                    &params,
                    currents,
                    dt_ms,
                    t_ms,
                    record.then_some(&mut row[..]),
                );
                if record {
                    node.chunk_rows.extend_from_slice(&row);
                }
                node.pair.check(t_ms, dt_ms, |model| {
                    format!("{} ({model})", neuron_label(HIDDEN + k))
                })?;
            }
        }

        self.push_chunk_rows(from, steps);
        Ok(())
    }

    /// Moves the traced nodes' chunk rows into the recorder, one row per recorded step.
    fn push_chunk_rows(&mut self, from: usize, steps: usize) {
        let recorded = (from..from + steps)
            .filter(|i| i.is_multiple_of(self.record_every))
            .count();
        for r in 0..recorded {
            for (position, &neuron) in self.traced.iter().enumerate() {
                let source = &self.nodes[neuron].chunk_rows;
                let values = &source[r * TRACES_PER_NEURON..(r + 1) * TRACES_PER_NEURON];
                self.row[position * TRACES_PER_NEURON..(position + 1) * TRACES_PER_NEURON]
                    .copy_from_slice(values);
            }
            self.recorder.push(&self.row);
        }
    }

    /// Returns the traces recorded so far.
    pub fn traces(&self) -> &[Trace] {
        self.recorder.traces()
    }

    /// Spike onsets of all 138 neurons of both models.
    pub fn spikes(&self) -> Vec<SpikeTrain> {
        let mut trains = Vec::with_capacity(2 * self.nodes.len());
        for (model_index, model) in ["HH", "tv-LIF2HH"].into_iter().enumerate() {
            for (neuron, node) in self.nodes.iter().enumerate() {
                trains.push(SpikeTrain {
                    model: model.to_string(),
                    neuron,
                    label: neuron_label(neuron),
                    onsets_ms: node.pair.onsets_ms[model_index].clone(),
                });
            }
        }
        trains
    }

    /// Agreement (all, per layer), spike counts per layer and model, and the output neuron
    /// with the most spikes per model.
    pub fn metrics(&self) -> (Vec<Metric>, Vec<String>) {
        let mut metrics = Vec::new();
        let mut notes = Vec::new();
        let (hidden, outputs) = self.nodes.split_at(HIDDEN);
        let mut all = AgreementCounter::default();
        for (name, layer) in [("layer 1", hidden), ("layer 2", outputs)] {
            let mut counter = AgreementCounter::default();
            for node in layer {
                counter.merge(&node.pair.agreement);
            }
            all.merge(&counter);
            metrics.push(Metric::new(
                &format!("{name} agreement"),
                counter.fraction(),
                "",
            ));
            for (k, model) in ["HH", "tv-LIF2HH"].iter().enumerate() {
                let spikes: usize = layer.iter().map(|node| node.pair.onsets_ms[k].len()).sum();
                metrics.push(Metric::new(
                    &format!("{name} spikes {model}"),
                    spikes as f64,
                    "",
                ));
            }
        }
        metrics.insert(0, Metric::new("agreement", all.fraction(), ""));

        for (k, model) in ["HH", "tv-LIF2HH"].iter().enumerate() {
            let counts: Vec<usize> = outputs
                .iter()
                .map(|node| node.pair.onsets_ms[k].len())
                .collect();
            let best = counts.iter().copied().max().unwrap_or(0);
            if best == 0 {
                notes.push(format!(
                    "no {model} output neuron fired, so there is no predicted class"
                ));
                continue;
            }
            // Ties go to the class that reached the top count first (earliest last onset).
            let tied: Vec<usize> = (0..OUTPUTS).filter(|&c| counts[c] == best).collect();
            let reached_ms = |c: usize| outputs[c].pair.onsets_ms[k][best - 1];
            let class = tied
                .iter()
                .copied()
                .min_by(|&a, &b| reached_ms(a).total_cmp(&reached_ms(b)))
                .unwrap_or(0);
            if tied.len() > 1 {
                notes.push(format!(
                    "{model}: tie between output classes {tied:?} at {best} spikes; \
                     predicted class {class} reached {best} spikes first"
                ));
            }
            metrics.push(Metric::new(
                &format!("predicted class {model}"),
                class as f64,
                "",
            ));
        }
        if let Some(label) = self.label {
            metrics.push(Metric::new("image label", f64::from(label), ""));
        }
        (metrics, notes)
    }
}

/// Name of a neuron: `hidden 5` or `output 3`.
fn neuron_label(neuron: usize) -> String {
    if neuron < HIDDEN {
        format!("hidden {neuron}")
    } else {
        format!("output {}", neuron - HIDDEN)
    }
}
