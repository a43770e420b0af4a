//! Multi-MNIST: two 28×28 source images overlapped in one 36×36 image, with two labels.
//!
//! Item A fills rows and columns 0–27, item B rows and columns 8–35, so the two overlap in
//! the 20×20 square 8–27; there the pixel is max(A, B). Pixel (r, c) of a composed image is
//!
//! ```text
//! out[r][c] = max(A[r][c] if r, c ≤ 27 else 0,  B[r−8][c−8] if r, c ≥ 8 else 0)
//! ```
//!
//! Pairing: in each of two rounds every source image i of A's split is item A once, and its
//! partner B comes from a fresh seeded permutation of B's split (ChaCha8 seeded with `seed`).
//! Each source image therefore appears twice as item A and twice as item B, giving
//! 2 × 60,000 = 120,000 training and 2 × 10,000 = 20,000 test samples. When A and B come from
//! the same split, the permutations are fixed up so that no image is paired with itself
//! (possible whenever the split has at least two images). The pair list is then shuffled with
//! the same generator, so the first N samples are a random subset that does not depend on N.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::{load_split, DataError, DatasetKind, LabeledImages, Split, SOURCE_COLS, SOURCE_ROWS};
use std::path::Path;

/// Side of a composed image in pixels.
pub const MULTI_SIDE: usize = 36;

/// Pixels of a composed image (36 × 36).
pub const MULTI_PIXELS: usize = MULTI_SIDE * MULTI_SIDE;

/// Row and column offset of item B in the composed image.
pub const OFFSET_B: usize = 8;

/// How many times each source image is used as item A (and as item B).
pub const USES_PER_IMAGE: usize = 2;

/// Source datasets of items A and B.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Default,
    serde::Serialize,
    serde::Deserialize,
    clap::ValueEnum,
)]
pub enum MultiVariant {
    /// Two MNIST digits.
    #[default]
    MultiMnist,
    /// Two Fashion-MNIST items.
    MultiFashion,
    /// A Fashion-MNIST item as A (top left) and an MNIST digit as B (bottom right), so task
    /// A classifies clothing and task B digits.
    MultiFashionMnist,
}

impl MultiVariant {
    /// All variants, in a fixed order.
    pub const ALL: [MultiVariant; 3] = [
        MultiVariant::MultiMnist,
        MultiVariant::MultiFashion,
        MultiVariant::MultiFashionMnist,
    ];

    /// Returns the datasets of item A and item B.
    pub fn sources(self) -> (DatasetKind, DatasetKind) {
        match self {
            MultiVariant::MultiMnist => (DatasetKind::Mnist, DatasetKind::Mnist),
            MultiVariant::MultiFashion => (DatasetKind::FashionMnist, DatasetKind::FashionMnist),
            MultiVariant::MultiFashionMnist => (DatasetKind::FashionMnist, DatasetKind::Mnist),
        }
    }

    /// Returns the display name: `Multi-MNIST`, `Multi-Fashion` or `Multi-Fashion+MNIST`.
    pub fn label(self) -> &'static str {
        match self {
            MultiVariant::MultiMnist => "Multi-MNIST",
            MultiVariant::MultiFashion => "Multi-Fashion",
            MultiVariant::MultiFashionMnist => "Multi-Fashion+MNIST",
        }
    }
}

/// Composed two-item images with their labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MultiDataset {
    /// Number of samples.
    pub count: usize,
    /// Pixels 0–255, sample after sample, each 36×36 row-major; length count × 1296.
    pub pixels: Vec<u8>,
    /// Class of item A (top left) per sample, 0–9.
    pub labels_a: Vec<u8>,
    /// Class of item B (bottom right) per sample, 0–9.
    pub labels_b: Vec<u8>,
    /// Index of item A in its source split, per sample.
    pub source_a: Vec<u32>,
    /// Index of item B in its source split, per sample.
    pub source_b: Vec<u32>,
}

impl MultiDataset {
    /// Pixels of sample `index`, 36×36 row-major. Panics if `index >= count`.
    pub fn image(&self, index: usize) -> &[u8] {
        &self.pixels[index * MULTI_PIXELS..(index + 1) * MULTI_PIXELS]
    }

    /// Converts the samples at `indices` to f32, shape (indices.len(), 1, 36, 36) flattened:
    /// raw 0–255 values by default, divided by 255 into [0, 1] when `scale01` is set.
    /// Panics if an index is `>= count`.
    pub fn batch_f32(&self, indices: &[usize], scale01: bool) -> Vec<f32> {
        let factor = if scale01 { 1.0 / 255.0 } else { 1.0 };
        let mut out = Vec::with_capacity(indices.len() * MULTI_PIXELS);
        for &index in indices {
            out.extend(self.image(index).iter().map(|&p| f32::from(p) * factor));
        }
        out
    }

    /// Labels of the samples at `indices` as u32 (the index type candle's losses take):
    /// `(labels_a, labels_b)`. Panics if an index is `>= count`.
    pub fn batch_labels(&self, indices: &[usize]) -> (Vec<u32>, Vec<u32>) {
        let a = indices
            .iter()
            .map(|&i| u32::from(self.labels_a[i]))
            .collect();
        let b = indices
            .iter()
            .map(|&i| u32::from(self.labels_b[i]))
            .collect();
        (a, b)
    }
}

/// Loads the source splits of `variant` from `data_dir` and composes them; `samples` keeps
/// the first N composed samples (all 2 × source count when `None`).
pub fn compose(
    data_dir: &Path,
    variant: MultiVariant,
    split: Split,
    samples: Option<usize>,
    seed: u64,
) -> Result<MultiDataset, DataError> {
    let (kind_a, kind_b) = variant.sources();
    let source_a = load_split(data_dir, kind_a, split)?;
    if kind_a == kind_b {
        return compose_from(&source_a, &source_a, true, samples, seed);
    }
    let source_b = load_split(data_dir, kind_b, split)?;
    compose_from(&source_a, &source_b, false, samples, seed)
}

/// Composes samples from already loaded sources; `same_source` means that `a` and `b` are the
/// same split, so an image must not be paired with itself.
pub fn compose_from(
    a: &LabeledImages,
    b: &LabeledImages,
    same_source: bool,
    samples: Option<usize>,
    seed: u64,
) -> Result<MultiDataset, DataError> {
    for source in [a, b] {
        if (source.rows, source.cols) != (SOURCE_ROWS, SOURCE_COLS) || source.count == 0 {
            return Err(DataError::InvalidSampleCount {
                requested: 1,
                available: source.count,
                context: "a source split must hold at least one 28×28 image",
            });
        }
    }
    let mut pairs = pair_indices(a.count, b.count, same_source, seed);
    if let Some(n) = samples {
        if n == 0 || n > pairs.len() {
            return Err(DataError::InvalidSampleCount {
                requested: n,
                available: pairs.len(),
                context: "samples must be between 1 and twice the source split size",
            });
        }
        pairs.truncate(n);
    }

    let mut pixels = vec![0u8; pairs.len() * MULTI_PIXELS];
    pixels
        .par_chunks_mut(MULTI_PIXELS)
        .zip(pairs.par_iter())
        .for_each(|(out, &(ia, ib))| {
            compose_image(a.image(ia as usize), b.image(ib as usize), out);
        });

    Ok(MultiDataset {
        count: pairs.len(),
        pixels,
        labels_a: pairs.iter().map(|&(ia, _)| a.labels[ia as usize]).collect(),
        labels_b: pairs.iter().map(|&(_, ib)| b.labels[ib as usize]).collect(),
        source_a: pairs.iter().map(|&(ia, _)| ia).collect(),
        source_b: pairs.iter().map(|&(_, ib)| ib).collect(),
    })
}

/// Returns the shuffled (A index, B index) pairs for sources of `count_a` and `count_b`
/// images: `USES_PER_IMAGE × count_a` pairs, deterministic for `seed`. Both counts must be
/// non-zero and fit in u32.
pub fn pair_indices(
    count_a: usize,
    count_b: usize,
    same_source: bool,
    seed: u64,
) -> Vec<(u32, u32)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut pairs = Vec::with_capacity(USES_PER_IMAGE * count_a);
    let all_b: Vec<u32> = (0..count_b as u32).collect();

    for _ in 0..USES_PER_IMAGE {
        let mut partners = Vec::with_capacity(count_a + count_b);
        while partners.len() < count_a {
            let mut permutation = all_b.clone();
            permutation.shuffle(&mut rng);
            partners.extend(permutation);
        }
        partners.truncate(count_a);
        if same_source && count_a == count_b {
            remove_self_pairs(&mut partners);
        }
        pairs.extend((0..count_a as u32).zip(partners));
    }

    pairs.shuffle(&mut rng);
    pairs
}

/// Swaps each fixed point of the permutation with its right neighbour (cyclically). The
/// neighbour's new value is its left index, so neither position becomes a fixed point; with
/// one element nothing can be done.
fn remove_self_pairs(partners: &mut [u32]) {
    let n = partners.len();
    if n < 2 {
        return;
    }
    for i in 0..n {
        if partners[i] as usize == i {
            partners.swap(i, (i + 1) % n);
        }
    }
}

/// Writes the composed 36×36 image of `a` (28×28) and `b` (28×28) into `out` (zeroed, 1296).
fn compose_image(a: &[u8], b: &[u8], out: &mut [u8]) {
    for r in 0..SOURCE_ROWS {
        let start = r * MULTI_SIDE;
        out[start..start + SOURCE_COLS].copy_from_slice(&a[r * SOURCE_COLS..(r + 1) * SOURCE_COLS]);
    }
    for r in 0..SOURCE_ROWS {
        let start = (r + OFFSET_B) * MULTI_SIDE + OFFSET_B;
        let row = &mut out[start..start + SOURCE_COLS];
        for (dst, &src) in row
            .iter_mut()
            .zip(&b[r * SOURCE_COLS..(r + 1) * SOURCE_COLS])
        {
            *dst = (*dst).max(src);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_have_no_self_pairs() {
        for seed in 0..20 {
            let pairs = pair_indices(7, 7, true, seed);
            assert!(pairs.iter().all(|&(a, b)| a != b), "seed {seed}: {pairs:?}");
        }
    }

    #[test]
    fn pairs_use_each_image_twice() {
        let pairs = pair_indices(50, 50, true, 3);
        let mut uses_a = [0usize; 50];
        let mut uses_b = [0usize; 50];
        for &(a, b) in &pairs {
            uses_a[a as usize] += 1;
            uses_b[b as usize] += 1;
        }
        assert!(uses_a.iter().all(|&u| u == USES_PER_IMAGE), "{uses_a:?}");
        assert!(uses_b.iter().all(|&u| u == USES_PER_IMAGE), "{uses_b:?}");
    }

    #[test]
    fn pairs_cover_smaller_partner_split() {
        let pairs = pair_indices(10, 3, false, 1);
        assert_eq!(pairs.len(), 20);
        assert!(pairs.iter().all(|&(_, b)| b < 3));
    }

    #[test]
    fn compose_image_takes_maximum_in_overlap() {
        let a = vec![100u8; 784];
        let b = vec![200u8; 784];
        let mut out = vec![0u8; MULTI_PIXELS];
        compose_image(&a, &b, &mut out);
        // Corners: (0, 0) only A, (35, 35) only B, (0, 35) and (35, 0) neither.
        assert_eq!(out[0], 100);
        assert_eq!(out[MULTI_PIXELS - 1], 200);
        assert_eq!(out[35], 0);
        assert_eq!(out[35 * MULTI_SIDE], 0);
        // (8, 8) and (27, 27) lie in the overlap.
        assert_eq!(out[8 * MULTI_SIDE + 8], 200);
        assert_eq!(out[27 * MULTI_SIDE + 27], 200);
        // (7, 27) is still only A, (28, 8) only B.
        assert_eq!(out[7 * MULTI_SIDE + 27], 100);
        assert_eq!(out[28 * MULTI_SIDE + 8], 200);
    }
}
