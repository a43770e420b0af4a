//! Spike metrics: onsets (rising edges), inter-spike intervals, the chain's onset comparison
//! and the bin-by-bin agreement of two spike indicators.
//!
//! A spike indicator is a per-step boolean (the neuron is spiking in that step). Its onsets
//! are the steps where it is true and was false one step earlier (or the first step when it
//! starts true); onset k of a run with step dt happens at t = k·dt ms.
//!
//! The chain comparison takes onset lists of equal length n (HH and LIF, in ms):
//!
//! ```text
//! ISI_i = onset_{i+1} − onset_i                                    (i = 0..n−2)
//! ISI difference  = mean over i of (ISI_LIF,i − ISI_HH,i)         ms, needs n ≥ 2
//! onset error     = mean_i |onset_LIF,i − onset_HH,i| / mean_i ISI_HH,i   needs n ≥ 2
//! ```
//!
//! The reference lists the time from t = 0 to the first onset as the first interval and
//! leaves it out, so "excluding the first interval" means the mean over the n − 1 true
//! inter-spike intervals, which equals ((last − first)_LIF − (last − first)_HH) / (n − 1).
//! With unequal counts no pairing exists, and the comparison reports the two counts instead.

/// Rising-edge detector for a spike indicator sampled step by step.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OnsetDetector {
    was_spiking: bool,
}

impl OnsetDetector {
    /// Feeds one step's indicator; returns true when this step is an onset.
    pub fn update(&mut self, spiking: bool) -> bool {
        let onset = spiking && !self.was_spiking;
        self.was_spiking = spiking;
        onset
    }
}

/// Onset times, in ms, of a spike indicator sampled every `dt_ms`.
pub fn onsets_ms(indicator: &[bool], dt_ms: f64) -> Vec<f64> {
    let mut detector = OnsetDetector::default();
    indicator
        .iter()
        .enumerate()
        .filter(|&(_, &spiking)| detector.update(spiking))
        .map(|(k, _)| k as f64 * dt_ms)
        .collect()
}

/// Inter-spike intervals, in ms, of sorted onset times.
pub fn intervals_ms(onsets_ms: &[f64]) -> Vec<f64> {
    onsets_ms.windows(2).map(|pair| pair[1] - pair[0]).collect()
}

/// Result of comparing the onsets of a LIF chain with those of an HH chain.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OnsetComparison {
    /// Equal counts: the metrics, each `None` when there are too few spikes for it.
    Paired {
        /// Number of spikes in each train.
        count: usize,
        /// Mean ISI difference LIF − HH over the inter-spike intervals, in ms (needs 2 spikes).
        isi_difference_ms: Option<f64>,
        /// Mean |onset_LIF − onset_HH| over the mean HH interval, dimensionless (needs 2).
        onset_error_ratio: Option<f64>,
    },
    /// Unequal counts: no metric is defined.
    CountMismatch {
        /// Spikes of the HH train.
        hh: usize,
        /// Spikes of the LIF train.
        lif: usize,
    },
}

/// Compares LIF onsets with HH onsets (both sorted, in ms).
pub fn compare_onsets(hh_ms: &[f64], lif_ms: &[f64]) -> OnsetComparison {
    if hh_ms.len() != lif_ms.len() {
        return OnsetComparison::CountMismatch {
            hh: hh_ms.len(),
            lif: lif_ms.len(),
        };
    }
    let hh_isi = intervals_ms(hh_ms);
    let lif_isi = intervals_ms(lif_ms);

    let isi_difference_ms = if !hh_isi.is_empty() {
        let diffs: Vec<f64> = lif_isi
            .iter()
            .zip(&hh_isi)
            .map(|(lif, hh)| lif - hh)
            .collect();
        Some(mean(&diffs))
    } else {
        None
    };
    let onset_error_ratio = if hh_isi.is_empty() {
        None
    } else {
        let errors: Vec<f64> = lif_ms
            .iter()
            .zip(hh_ms)
            .map(|(l, h)| (l - h).abs())
            .collect();
        Some(mean(&errors) / mean(&hh_isi))
    };
    OnsetComparison::Paired {
        count: hh_ms.len(),
        isi_difference_ms,
        onset_error_ratio,
    }
}

/// Counts time bins where two spike indicators agree.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AgreementCounter {
    /// Bins where both indicators are equal.
    pub same: u64,
    /// All bins seen.
    pub total: u64,
}

impl AgreementCounter {
    /// Feeds one bin of both indicators.
    pub fn update(&mut self, a: bool, b: bool) {
        self.same += u64::from(a == b);
        self.total += 1;
    }

    /// Adds another counter's bins.
    pub fn merge(&mut self, other: &AgreementCounter) {
        self.same += other.same;
        self.total += other.total;
    }

    /// Fraction of identical bins in [0, 1]; 1 when no bin was seen.
    pub fn fraction(&self) -> f64 {
        if self.total == 0 {
            1.0
        } else {
            self.same as f64 / self.total as f64
        }
    }
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn onsets_are_rising_edges() {
        let s = [true, true, false, false, true, true, true, false, true];
        assert_eq!(onsets_ms(&s, 0.5), vec![0.0, 2.0, 4.0]);
    }

    #[test]
    fn comparison_on_hand_computed_trains() {
        // HH onsets 10, 20, 30, 40 → ISIs 10, 10, 10; LIF 11, 22, 31, 41 → ISIs 11, 9, 10.
        // ISI difference: mean(11 − 10, 9 − 10, 10 − 10) = 0 ms.
        // Onset errors 1, 2, 1, 1 → mean 1.25; over the mean HH ISI 10 → 0.125.
        let hh = [10.0, 20.0, 30.0, 40.0];
        let lif = [11.0, 22.0, 31.0, 41.0];
        let OnsetComparison::Paired {
            count,
            isi_difference_ms,
            onset_error_ratio,
        } = compare_onsets(&hh, &lif)
        else {
            panic!("counts are equal");
        };
        assert_eq!(count, 4);
        assert!(isi_difference_ms.unwrap().abs() < 1e-12);
        assert!((onset_error_ratio.unwrap() - 0.125).abs() < 1e-12);
    }

    #[test]
    fn comparison_reports_count_mismatch() {
        assert_eq!(
            compare_onsets(&[1.0, 2.0], &[1.0]),
            OnsetComparison::CountMismatch { hh: 2, lif: 1 }
        );
    }

    #[test]
    fn comparison_with_two_spikes_uses_one_interval() {
        let result = compare_onsets(&[1.0, 5.0], &[2.0, 5.0]);
        let OnsetComparison::Paired {
            isi_difference_ms,
            onset_error_ratio,
            ..
        } = result
        else {
            panic!("counts are equal");
        };
        // One interval each: LIF 3, HH 4 → −1 ms.
        assert!((isi_difference_ms.unwrap() + 1.0).abs() < 1e-12);
        // Errors 1 and 0 → 0.5, over the HH interval 4 → 0.125.
        assert!((onset_error_ratio.unwrap() - 0.125).abs() < 1e-12);
    }

    #[test]
    fn agreement_counts_identical_bins() {
        let mut counter = AgreementCounter::default();
        for (a, b) in [(true, true), (false, false), (true, false), (false, false)] {
            counter.update(a, b);
        }
        assert_eq!(counter.fraction(), 0.75);
    }
}
