//! Input current waveforms x(t) in µA/cm², with t in ms.
//!
//! Each waveform has an offset, an amplitude and a period (ms) a user can change. With the
//! period f = 8.5 ms, the defaults reproduce the chain experiment's inputs:
//!
//! ```text
//! const     x = offset                                               = 9
//! sine      x = offset − amplitude·sin(2πt/f_sine)                   = 11.5 − 19·sin(1.2t)
//! square    x = offset − amplitude·sign((⌊t⌋ mod f) − (f − 1)/2 − 0.001)
//!                                                                    = 9 − 15.5·sign(…)
//! sawtooth  x = offset + (amplitude/f)·((t mod f) + f/2)             = 6.5 + (11/f)·(…)
//! triangle  x = offset + (amplitude/f)·|(t mod f) − f/2|             = 7 + (7/f)·|…|
//! ```
//!
//! The sine's default period is 2π/1.2 ms ≈ 5.236 ms, so that 2πt/f equals 1.2t.
//!
//! # Reference quirk
//! The square wave tests ⌊t⌋ mod 8.5, which steps through whole milliseconds and drifts by
//! half a millisecond each period; sign(0) is 0, and the −0.001 keeps the argument away from
//! zero for integer ⌊t⌋. The sawtooth ramps from offset + amplitude/2 to offset + 1.5·amplitude.
//! hhlab keeps both forms because they set the chain's spike times.

use std::f64::consts::PI;

use serde::{Deserialize, Serialize};

/// Period f of the square, sawtooth and triangle defaults, in ms.
pub const DEFAULT_PERIOD_MS: f64 = 8.5;

/// Angular frequency of the default sine, in rad/ms.
pub const DEFAULT_SINE_RAD_PER_MS: f64 = 1.2;

/// The shape of a stimulus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Waveform {
    /// Constant current.
    Const,
    /// Sinusoid.
    Sine,
    /// Square wave on whole milliseconds.
    Square,
    /// Rising sawtooth.
    Sawtooth,
    /// Triangle (V shape within each period).
    Triangle,
}

impl Waveform {
    /// All waveforms, in menu order.
    pub const ALL: [Waveform; 5] = [
        Waveform::Const,
        Waveform::Sine,
        Waveform::Square,
        Waveform::Sawtooth,
        Waveform::Triangle,
    ];

    /// Lowercase name, as used in preset file names.
    pub fn name(self) -> &'static str {
        match self {
            Waveform::Const => "const",
            Waveform::Sine => "sine",
            Waveform::Square => "square",
            Waveform::Sawtooth => "sawtooth",
            Waveform::Triangle => "triangle",
        }
    }
}

/// A waveform with its offset, amplitude and period.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stimulus {
    /// The shape.
    pub waveform: Waveform,
    /// Constant part of the current, in µA/cm².
    pub offset: f64,
    /// Amplitude, in µA/cm² (unused by `Const`).
    pub amplitude: f64,
    /// Period, in ms (unused by `Const`); must be positive for the other waveforms.
    pub period_ms: f64,
}

impl Stimulus {
    /// The chain experiment's default for a waveform.
    pub fn default_for(waveform: Waveform) -> Self {
        let (offset, amplitude, period_ms) = match waveform {
            Waveform::Const => (9.0, 0.0, DEFAULT_PERIOD_MS),
            Waveform::Sine => (11.5, 19.0, 2.0 * PI / DEFAULT_SINE_RAD_PER_MS),
            Waveform::Square => (9.0, 15.5, DEFAULT_PERIOD_MS),
            Waveform::Sawtooth => (6.5, 11.0, DEFAULT_PERIOD_MS),
            Waveform::Triangle => (7.0, 7.0, DEFAULT_PERIOD_MS),
        };
        Self {
            waveform,
            offset,
            amplitude,
            period_ms,
        }
    }

    /// The current at time `t_ms`, in µA/cm².
    pub fn value(&self, t_ms: f64) -> f64 {
        let f = self.period_ms;
        match self.waveform {
            Waveform::Const => self.offset,
            Waveform::Sine => self.offset - self.amplitude * (2.0 * PI / f * t_ms).sin(),
            Waveform::Square => {
                let phase = t_ms.floor().rem_euclid(f) - (f - 1.0) / 2.0 - 0.001;
                self.offset - self.amplitude * sign(phase)
            }
            Waveform::Sawtooth => self.offset + self.amplitude / f * (t_ms.rem_euclid(f) + f / 2.0),
            Waveform::Triangle => {
                self.offset + self.amplitude / f * (t_ms.rem_euclid(f) - f / 2.0).abs()
            }
        }
    }

    /// Checks that the stimulus can be evaluated: finite numbers, a positive period for
    /// periodic waveforms. Returns the offending field and a fix.
    pub fn validate(&self) -> Result<(), (&'static str, f64, &'static str)> {
        if !self.offset.is_finite() {
            return Err((
                "stimulus.offset",
                self.offset,
                "use a finite current in µA/cm²",
            ));
        }
        if !self.amplitude.is_finite() {
            return Err((
                "stimulus.amplitude",
                self.amplitude,
                "use a finite current in µA/cm²",
            ));
        }
        let periodic = self.waveform != Waveform::Const;
        if periodic && !(self.period_ms.is_finite() && self.period_ms > 0.0) {
            return Err((
                "stimulus.period_ms",
                self.period_ms,
                "use a positive period in ms",
            ));
        }
        Ok(())
    }
}

impl Default for Stimulus {
    fn default() -> Self {
        Self::default_for(Waveform::Const)
    }
}

/// Sign with sign(0) = 0, as numpy's `sign`.
fn sign(x: f64) -> f64 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        0.0
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn const_default_is_nine() {
        let s = Stimulus::default_for(Waveform::Const);
        for t in [0.0, 3.3, 79.9] {
            assert_eq!(s.value(t), 9.0);
        }
    }

    #[test]
    fn sine_values_at_chosen_times() {
        // 11.5 − 19·sin(1.2t) by hand: t = 0 → 11.5; 1.2t = π/2 → −7.5; 1.2t = 3π/2 → 30.5.
        let s = Stimulus::default_for(Waveform::Sine);
        assert!(close(s.value(0.0), 11.5));
        assert!(close(s.value(PI / 2.0 / 1.2), -7.5));
        assert!(close(s.value(3.0 * PI / 2.0 / 1.2), 30.5));
        assert!(close(s.value(2.0), 11.5 - 19.0 * 2.4f64.sin()));
    }

    #[test]
    fn square_values_at_chosen_times() {
        // (⌊t⌋ mod 8.5) − 3.75 − 0.001: t = 0..3 → negative → 9 + 15.5 = 24.5;
        // t = 4..8 → positive → −6.5; t = 9 → 0.5 − 3.751 < 0 → 24.5; t = 13 → 4.5 → −6.5.
        let s = Stimulus::default_for(Waveform::Square);
        for (t, expected) in [
            (0.0, 24.5),
            (3.9, 24.5),
            (4.0, -6.5),
            (8.7, -6.5),
            (9.2, 24.5),
            (13.0, -6.5),
        ] {
            assert!(close(s.value(t), expected), "square at {t}: {}", s.value(t));
        }
    }

    #[test]
    fn sawtooth_values_at_chosen_times() {
        // 6.5 + (11/8.5)·((t mod 8.5) + 4.25): t = 0 → 12; t = 4.25 → 17.5; t = 8.5 → 12 again.
        let s = Stimulus::default_for(Waveform::Sawtooth);
        assert!(close(s.value(0.0), 12.0));
        assert!(close(s.value(4.25), 17.5));
        assert!(close(s.value(8.5), 12.0));
        assert!(close(s.value(8.49), 6.5 + 11.0 / 8.5 * (8.49 + 4.25)));
    }

    #[test]
    fn triangle_values_at_chosen_times() {
        // 7 + (7/8.5)·|(t mod 8.5) − 4.25|: t = 0 → 10.5; t = 4.25 → 7; t = 6.375 → 8.75.
        let s = Stimulus::default_for(Waveform::Triangle);
        assert!(close(s.value(0.0), 10.5));
        assert!(close(s.value(4.25), 7.0));
        assert!(close(s.value(6.375), 8.75));
        assert!(close(s.value(8.5 + 4.25), 7.0));
    }

    #[test]
    fn user_parameters_change_values() {
        let s = Stimulus {
            waveform: Waveform::Triangle,
            offset: 1.0,
            amplitude: 4.0,
            period_ms: 2.0,
        };
        // 1 + (4/2)·|(0.5 mod 2) − 1| = 2.
        assert!(close(s.value(0.5), 2.0));
    }

    #[test]
    fn validate_rejects_zero_period() {
        let mut s = Stimulus::default_for(Waveform::Sine);
        s.period_ms = 0.0;
        assert_eq!(s.validate().unwrap_err().0, "stimulus.period_ms");
        s.period_ms = 1.0;
        s.offset = f64::NAN;
        assert_eq!(s.validate().unwrap_err().0, "stimulus.offset");
    }
}
