//! Min/max-per-bucket decimation of uniformly sampled traces for display.
//!
//! A trace has sample k at x = x0 + k·dx. To draw it in a plot `w` pixels wide, the visible
//! samples are split into `buckets` (about one per pixel) contiguous index ranges, and each
//! range contributes its minimum and its maximum sample, in index order. The drawn polyline
//! then reaches every peak and trough that the full trace reaches, so a 1 ms spike in an
//! 80 ms trace of 80,000 samples stays visible, while the line has at most 2·buckets + 2
//! points whatever the trace length. The full-resolution values stay with their owner for
//! export; only the drawing uses the decimated copy.
//!
//! Non-finite samples (NaN from a diverged run) are skipped, so a bucket made only of them
//! contributes nothing and the line shows a gap-free path over the finite samples.

use std::ops::RangeInclusive;

use rayon::prelude::*;

/// A uniformly sampled trace: `values[k]` is the sample at `x0 + k * dx`.
#[derive(Clone, Copy, Debug)]
pub struct UniformSeries<'d> {
    /// The samples, in the trace's unit.
    pub values: &'d [f64],
    /// x of the first sample (for a time trace, in ms).
    pub x0: f64,
    /// Spacing between samples in x (for a time trace, in ms); must be positive.
    pub dx: f64,
}

impl UniformSeries<'_> {
    /// Returns the x of the last sample, or `x0` when the series is empty.
    pub fn x_end(&self) -> f64 {
        self.x0 + self.dx * self.values.len().saturating_sub(1) as f64
    }

    /// Returns the inclusive index range of the samples inside `x_range`, widened by one
    /// sample on each side so that lines run on to the plot edges, or `None` when no sample
    /// is inside.
    fn index_range(&self, x_range: &RangeInclusive<f64>) -> Option<(usize, usize)> {
        let len = self.values.len();
        // A NaN spacing fails `dx > 0.0`, so it is rejected too.
        let positive_dx = self.dx > 0.0;
        if len == 0 || !positive_dx {
            return None;
        }

        let last = (len - 1) as f64;
        let first_f = ((x_range.start() - self.x0) / self.dx).floor() - 1.0;
        let last_f = ((x_range.end() - self.x0) / self.dx).ceil() + 1.0;
        if !first_f.is_finite() || !last_f.is_finite() || last_f < 0.0 || first_f > last {
            return None;
        }

        // Float-to-int casts saturate, and both bounds are clamped into [0, len - 1].
        let first = first_f.clamp(0.0, last) as usize;
        let last_index = last_f.clamp(0.0, last) as usize;
        (first <= last_index).then_some((first, last_index))
    }
}

/// Returns at most `2 * buckets + 2` points `[x, y]` that draw `series` over `x_range`
/// without losing its extremes: all visible samples when they are few, otherwise the minimum
/// and maximum of each of `buckets` contiguous index ranges in index order. `buckets` of 0 is
/// treated as 1.
pub fn decimate_min_max(
    series: UniformSeries<'_>,
    x_range: RangeInclusive<f64>,
    buckets: usize,
) -> Vec<[f64; 2]> {
    let Some((first, last)) = series.index_range(&x_range) else {
        return Vec::new();
    };
    let buckets = buckets.max(1);
    let count = last - first + 1;
    let point = |k: usize| [series.x0 + series.dx * k as f64, series.values[k]];

    if count <= 2 * buckets {
        return (first..=last)
            .filter(|&k| series.values[k].is_finite())
            .map(point)
            .collect();
    }

    let mut points = Vec::with_capacity(2 * buckets + 2);
    for bucket in 0..buckets {
        // Integer bucket edges: every index in [first, last] falls in exactly one bucket.
        let start = first + bucket * count / buckets;
        let end = first + (bucket + 1) * count / buckets;
        if let Some((min_k, max_k)) = extreme_indices(series.values, start, end) {
            let (a, b) = if min_k <= max_k {
                (min_k, max_k)
            } else {
                (max_k, min_k)
            };
            points.push(point(a));
            if b != a {
                points.push(point(b));
            }
        }
    }
    points
}

/// Returns the indices of the minimum and maximum finite sample in `values[start..end]`,
/// or `None` when that range has no finite sample.
fn extreme_indices(values: &[f64], start: usize, end: usize) -> Option<(usize, usize)> {
    let slice = &values[start..end];
    let mut min_i = usize::MAX;
    let mut max_i = usize::MAX;
    let mut min_v = f64::INFINITY;
    let mut max_v = f64::NEG_INFINITY;
    // NaN fails both comparisons; the finiteness test runs only for a new extreme, which
    // keeps ±inf out without a second branch per sample.
    for (i, &v) in slice.iter().enumerate() {
        if v < min_v && v.is_finite() {
            min_v = v;
            min_i = i;
        }
        if v > max_v && v.is_finite() {
            max_v = v;
            max_i = i;
        }
    }
    (min_i != usize::MAX).then_some((start + min_i, start + max_i))
}

/// Samples per block of [`MinMaxBlocks`].
pub const BLOCK_LEN: usize = 64;

/// Blocks per rayon task when extending [`MinMaxBlocks`]: a whole new trace (a restart or a
/// loaded run) is split over the cores, while the few blocks a playing frame appends stay
/// on the calling thread.
const PARALLEL_MIN_BLOCKS: usize = 2048;

/// Per-block extremes of a growing trace, so that decimating a long trace reads one entry
/// per 64 samples instead of every sample.
///
/// Block j covers samples `j·64 .. (j+1)·64` and stores the indices of its minimum and
/// maximum finite sample. [`Self::update`] extends the blocks over samples appended since
/// the last call, which makes a playing simulation (whose traces only grow) cheap to redraw.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MinMaxBlocks {
    /// `(min_k, max_k)` per block; `None` for a block without finite samples.
    blocks: Vec<Option<(usize, usize)>>,
    /// Samples covered when the blocks were last updated.
    covered_len: usize,
}

impl MinMaxBlocks {
    /// Extends the blocks over the samples appended to `values` since the last call. The
    /// samples already covered must not have changed; a shorter `values` starts afresh.
    pub fn update(&mut self, values: &[f64]) {
        if values.len() < self.covered_len {
            *self = Self::default();
        }
        // The last block may have been partial: recompute it with the new samples.
        let complete_blocks = self.covered_len / BLOCK_LEN;
        self.blocks.truncate(complete_blocks);
        let first = complete_blocks * BLOCK_LEN;
        let new_blocks = values[first..]
            .par_chunks(BLOCK_LEN)
            .with_min_len(PARALLEL_MIN_BLOCKS)
            .enumerate()
            .map(|(j, chunk)| {
                let start = first + j * BLOCK_LEN;
                extreme_indices(values, start, start + chunk.len())
            });
        self.blocks.par_extend(new_blocks);
        self.covered_len = values.len();
    }

    /// Returns the number of samples the blocks cover.
    pub fn covered_len(&self) -> usize {
        self.covered_len
    }
}

/// Returns the same kind of points as [`decimate_min_max`], reading the per-block extremes
/// of `blocks` (which must cover all of `series`) when a bucket spans at least four blocks.
/// Bucket edges then fall on block edges, so every sample still belongs to exactly one
/// bucket and every extreme is kept; the first and last buckets may reach up to one block
/// beyond the visible range.
pub fn decimate_with_blocks(
    series: UniformSeries<'_>,
    blocks: &MinMaxBlocks,
    x_range: RangeInclusive<f64>,
    buckets: usize,
) -> Vec<[f64; 2]> {
    let buckets = buckets.max(1);
    let Some((first, last)) = series.index_range(&x_range) else {
        return Vec::new();
    };
    let count = last - first + 1;
    let covered = blocks.covered_len == series.values.len();
    if !covered || count < 4 * BLOCK_LEN * buckets {
        return decimate_min_max(series, x_range, buckets);
    }

    let first_block = first / BLOCK_LEN;
    let block_count = last / BLOCK_LEN - first_block + 1;
    let values = series.values;
    let point = |k: usize| [series.x0 + series.dx * k as f64, values[k]];
    let mut points = Vec::with_capacity(2 * buckets);
    for bucket in 0..buckets {
        let start = first_block + bucket * block_count / buckets;
        let end = first_block + (bucket + 1) * block_count / buckets;
        let mut extremes: Option<(usize, usize)> = None;
        for &(min_k, max_k) in blocks.blocks[start..end].iter().flatten() {
            extremes = Some(match extremes {
                None => (min_k, max_k),
                Some((lo, hi)) => (
                    if values[min_k] < values[lo] {
                        min_k
                    } else {
                        lo
                    },
                    if values[max_k] > values[hi] {
                        max_k
                    } else {
                        hi
                    },
                ),
            });
        }
        if let Some((min_k, max_k)) = extremes {
            let (a, b) = if min_k <= max_k {
                (min_k, max_k)
            } else {
                (max_k, min_k)
            };
            points.push(point(a));
            if b != a {
                points.push(point(b));
            }
        }
    }
    points
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(values: &[f64]) -> UniformSeries<'_> {
        UniformSeries {
            values,
            x0: 0.0,
            dx: 0.001,
        }
    }

    /// A 1,000,000-sample trace: a slow sine with one narrow spike and one narrow dip.
    fn spiky_trace() -> Vec<f64> {
        let mut values: Vec<f64> = (0..1_000_000)
            .map(|k| (k as f64 * 1e-5).sin() * 10.0)
            .collect();
        values[123_457] = 115.0;
        values[876_543] = -90.0;
        values
    }

    #[test]
    fn decimation_keeps_spike_and_dip() {
        let values = spiky_trace();
        let points = decimate_min_max(series(&values), 0.0..=1000.0, 800);

        let max = points
            .iter()
            .map(|p| p[1])
            .fold(f64::NEG_INFINITY, f64::max);
        let min = points.iter().map(|p| p[1]).fold(f64::INFINITY, f64::min);
        assert_eq!(max, 115.0);
        assert_eq!(min, -90.0);
        let spike = points.iter().find(|p| p[1] == 115.0).map(|p| p[0]);
        assert!(
            (spike.unwrap_or(f64::NAN) - 123.457).abs() < 1e-9,
            "spike at {spike:?}"
        );
    }

    #[test]
    fn decimation_output_is_bounded() {
        let values = spiky_trace();
        for buckets in [1, 10, 800, 4000] {
            let points = decimate_min_max(series(&values), 0.0..=1000.0, buckets);
            assert!(
                points.len() <= 2 * buckets + 2,
                "{} points for {buckets} buckets",
                points.len()
            );
        }
    }

    #[test]
    fn decimation_x_is_increasing() {
        let values = spiky_trace();
        let points = decimate_min_max(series(&values), 0.0..=1000.0, 500);
        for pair in points.windows(2) {
            assert!(pair[0][0] < pair[1][0], "{:?} then {:?}", pair[0], pair[1]);
        }
    }

    #[test]
    fn decimation_restricts_to_visible_range() {
        let values = spiky_trace();
        let points = decimate_min_max(series(&values), 100.0..=200.0, 100);

        // The visible range is widened by one sample (dx = 0.001 ms) on each side.
        let first_x = points.first().map(|p| p[0]).unwrap_or(f64::NAN);
        let last_x = points.last().map(|p| p[0]).unwrap_or(f64::NAN);
        assert!(first_x >= 100.0 - 0.0011, "first x {first_x}");
        assert!(last_x <= 200.0 + 0.0011, "last x {last_x}");
        assert!(
            points.iter().any(|p| p[1] == 115.0),
            "spike at 123.457 ms lost"
        );
        assert!(
            points.iter().all(|p| p[1] != -90.0),
            "dip at 876.5 ms is outside"
        );
    }

    #[test]
    fn short_trace_is_returned_whole() {
        let values = [1.0, 3.0, 2.0];
        let points = decimate_min_max(series(&values), 0.0..=1.0, 100);
        assert_eq!(points, vec![[0.0, 1.0], [0.001, 3.0], [0.002, 2.0]]);
    }

    #[test]
    fn non_finite_samples_are_skipped() {
        let mut values = vec![0.0; 10_000];
        values[10] = f64::NAN;
        values[20] = f64::INFINITY;
        values[5_000] = 4.0;
        let points = decimate_min_max(series(&values), 0.0..=10.0, 50);
        assert!(points.iter().all(|p| p[1].is_finite()));
        assert!(points.iter().any(|p| p[1] == 4.0));
    }

    #[test]
    fn empty_or_outside_range_gives_nothing() {
        assert!(decimate_min_max(series(&[]), 0.0..=1.0, 10).is_empty());
        let values = [1.0, 2.0];
        assert!(decimate_min_max(series(&values), 5.0..=6.0, 10).is_empty());
        assert!(decimate_min_max(series(&values), -6.0..=-5.0, 10).is_empty());
    }

    #[test]
    fn blocks_keep_spike_and_dip() {
        let values = spiky_trace();
        let mut blocks = MinMaxBlocks::default();
        blocks.update(&values);
        let points = decimate_with_blocks(series(&values), &blocks, 0.0..=1000.0, 800);

        assert!(points.len() <= 2 * 800, "{} points", points.len());
        assert!(points.iter().any(|p| p[1] == 115.0), "spike lost");
        assert!(points.iter().any(|p| p[1] == -90.0), "dip lost");
        for pair in points.windows(2) {
            assert!(pair[0][0] < pair[1][0], "{:?} then {:?}", pair[0], pair[1]);
        }
    }

    #[test]
    fn blocks_match_full_scan_extremes() {
        // Per bucket, the block path may shift edges by less than one block, so compare
        // the global extremes and the point count bound, not the points themselves.
        let values = spiky_trace();
        let mut blocks = MinMaxBlocks::default();
        blocks.update(&values);
        for (range, buckets) in [(0.0..=1000.0, 300), (100.0..=900.0, 700), (0.0..=500.0, 50)] {
            let fast = decimate_with_blocks(series(&values), &blocks, range.clone(), buckets);
            let full = decimate_min_max(series(&values), range.clone(), buckets);
            let extreme = |points: &[[f64; 2]], pick: fn(f64, f64) -> f64, start: f64| {
                points.iter().map(|p| p[1]).fold(start, pick)
            };
            assert_eq!(
                extreme(&fast, f64::max, f64::NEG_INFINITY),
                extreme(&full, f64::max, f64::NEG_INFINITY),
                "max over {range:?}"
            );
            assert_eq!(
                extreme(&fast, f64::min, f64::INFINITY),
                extreme(&full, f64::min, f64::INFINITY),
                "min over {range:?}"
            );
            assert!(
                fast.len() <= 2 * buckets,
                "{} points for {buckets}",
                fast.len()
            );
        }
    }

    #[test]
    fn incremental_blocks_equal_one_pass() {
        let values = spiky_trace();
        let mut once = MinMaxBlocks::default();
        once.update(&values);
        let mut grown = MinMaxBlocks::default();
        for end in [1, 63, 64, 65, 1000, 123_457, 123_458, 999_999, 1_000_000] {
            grown.update(&values[..end]);
        }
        assert_eq!(grown, once);
    }

    #[test]
    fn uncovered_blocks_fall_back_to_scan() {
        let values = spiky_trace();
        let stale = MinMaxBlocks::default();
        let points = decimate_with_blocks(series(&values), &stale, 0.0..=1000.0, 800);
        assert_eq!(points, decimate_min_max(series(&values), 0.0..=1000.0, 800));
    }
}
