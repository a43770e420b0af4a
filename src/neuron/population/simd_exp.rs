//! A four-lane f64 exponential for the population kernel.
//!
//! exp(x) = 2^k · exp(r) with k = round(x / ln 2) and r = x − k·ln 2, so |r| ≤ ln 2 / 2.
//! The reduction subtracts k·ln 2 in two parts (Cody–Waite): `LN2_HI` has its low 32
//! mantissa bits zero, so k·LN2_HI is exact for |k| < 2^20 and the subtraction loses nothing.
//! exp(r) = 1 + r + r²·g(r) where g is a degree-9 polynomial fitted to (eʳ − 1 − r)/r² at
//! Chebyshev nodes on [−ln 2 / 2, ln 2 / 2] (computed with mpmath at 60 digits, then rounded
//! to f64); the fit alone is within 1.6e-17 relative of exp. Keeping the leading 1 + r exact
//! leaves the rounding of the last addition as the main error.
//!
//! k is taken from the low mantissa bits of x·log2(e) + 1.5·2⁵², which rounds to nearest
//! without a float-to-integer conversion, and 2^(k−1) is built by shifting k + 1022 into the
//! exponent field. Scaling by 2^(k−1) and then by 2 keeps the scale finite for k = 1024.
//!
//! Accuracy, measured by `exp_matches_std_within_two_ulp` below against `f64::exp`: at most
//! 2 units in the last place (relative error below 4.5e-16) on [−708, 709.78].
//! Outside that range: x > 709.78 returns +∞, x < −708 returns 0 (the true value is below
//! 3.4e-308), NaN returns NaN.

use wide::f64x4;

use super::lanes::F64Lanes;

/// Round-to-nearest shifter 1.5·2⁵²: adding it leaves round(x) in the low mantissa bits.
const ROUND_SHIFT: f64 = 6_755_399_441_055_744.0;

/// log2(e).
const LOG2_E: f64 = std::f64::consts::LOG2_E;

/// High part of ln 2 (0.693147180369…) with 32 trailing zero bits.
const LN2_HI: f64 = f64::from_bits(0x3FE6_2E42_FEE0_0000);

/// ln 2 − `LN2_HI` (1.90821492927…e-10), so the sum is ln 2 within 1.2e-26.
const LN2_LO: f64 = f64::from_bits(0x3DEA_39EF_3579_3C76);

/// Coefficients of g(r) ≈ (eʳ − 1 − r)/r², lowest degree first.
const G: [f64; 10] = [
    0.500_000_000_000_000_1,
    0.166_666_666_666_666_69,
    0.041_666_666_666_624_164,
    0.008_333_333_333_330_065,
    0.001_388_888_891_719_671_9,
    0.000_198_412_698_630_405_45,
    2.480_152_132_236_869_2e-5,
    2.755_726_848_031_002_4e-6,
    2.762_007_587_998_336_7e-7,
    2.510_037_583_256_123_4e-8,
];

/// Largest x with a finite exp(x): ln(f64::MAX).
const OVERFLOW_X: f64 = 709.782_712_893_384;

/// Below this x the result is returned as 0 (exp(−708) ≈ 3.3e-308).
const UNDERFLOW_X: f64 = -708.0;

/// Computes exp for four lanes at once; see the module header for accuracy and range.
#[inline(always)]
pub fn exp_f64x4(x: f64x4) -> f64x4 {
    exp_lanes(x)
}

/// `exp_f64x4` for any four-lane type.
#[inline(always)]
pub fn exp_lanes<V: F64Lanes>(x: V) -> V {
    let shifted = x.mul_add(V::splat(LOG2_E), V::splat(ROUND_SHIFT));
    let k = shifted - V::splat(ROUND_SHIFT);
    let r = k.mul_neg_add(V::splat(LN2_HI), x);
    let r = k.mul_neg_add(V::splat(LN2_LO), r);

    let mut g = V::splat(G[9]);
    for &c in G[..9].iter().rev() {
        g = g.mul_add(r, V::splat(c));
    }
    let r2 = r * r;
    let p = r2.mul_add(g, r) + V::splat(1.0);

    // The low 12 bits of ROUND_SHIFT's bit pattern are zero, so (bits + 1022) << 52 is
    // (k − 1 + 1023) << 52, the bit pattern of 2^(k−1).
    let scale = shifted.map_bits(|bits| bits.wrapping_add(1022) << 52);
    let y = p * scale * V::splat(2.0);

    let y = x
        .cmp_gt(V::splat(OVERFLOW_X))
        .blend(V::splat(f64::INFINITY), y);
    x.cmp_lt(V::splat(UNDERFLOW_X)).blend(V::splat(0.0), y)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Relative error of each lane of `exp_f64x4` against `f64::exp`.
    fn relative_errors(xs: [f64; 4]) -> [f64; 4] {
        let got = exp_f64x4(f64x4::from(xs)).to_array();
        let mut errors = [0.0; 4];
        for lane in 0..4 {
            let expected = xs[lane].exp();
            errors[lane] = ((got[lane] - expected) / expected).abs();
        }
        errors
    }

    #[test]
    fn exp_matches_std_within_two_ulp() {
        // f64::exp (the platform libm, within 1 ulp) is the reference; 2 ulp of a value in
        // [1, 2) is 2 · 2^-52 ≈ 4.4e-16 relative.
        let tolerance = 2.0 * f64::EPSILON;
        let mut max_error: f64 = 0.0;
        let ranges = [
            (-708.0, 709.78, 400_003),
            (-30.0, 30.0, 400_003),
            (-0.5, 0.5, 100_003),
        ];
        for (low, high, count) in ranges {
            for i in (0..count).step_by(4) {
                let xs: [f64; 4] = std::array::from_fn(|lane| {
                    low + (high - low) * (i + lane) as f64 / count as f64
                });
                for error in relative_errors(xs) {
                    max_error = max_error.max(error);
                }
            }
        }
        assert!(
            max_error <= tolerance,
            "max relative error {max_error:e} > {tolerance:e}"
        );
    }

    #[test]
    fn array_lanes_exp_matches_wide() {
        // Same algorithm; only fused against unfused multiply-adds may differ (≤ 1 ulp here).
        use crate::neuron::population::lanes::ArrayLanes;
        for i in 0..10_000 {
            let xs: [f64; 4] = std::array::from_fn(|lane| -40.0 + (4 * i + lane) as f64 * 0.002);
            let wide = exp_f64x4(f64x4::from(xs)).to_array();
            let array = exp_lanes(ArrayLanes(xs)).0;
            for lane in 0..4 {
                let difference = ((wide[lane] - array[lane]) / wide[lane]).abs();
                assert!(
                    difference <= 2.0 * f64::EPSILON,
                    "x = {}: {difference:e}",
                    xs[lane]
                );
            }
        }
    }

    #[test]
    fn exp_exact_at_zero_and_integers_of_ln2() {
        let got = exp_f64x4(f64x4::from([0.0, std::f64::consts::LN_2, -1.0, 1.0])).to_array();
        assert_eq!(got[0], 1.0);
        assert!((got[1] - 2.0).abs() <= 2.0 * f64::EPSILON);
        assert!((got[2] / (-1.0f64).exp() - 1.0).abs() <= 2.0 * f64::EPSILON);
        assert!((got[3] / std::f64::consts::E - 1.0).abs() <= 2.0 * f64::EPSILON);
    }

    #[test]
    fn exp_saturates_outside_range() {
        let got = exp_f64x4(f64x4::from([
            710.0,
            -709.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ]));
        assert_eq!(got.to_array(), [f64::INFINITY, 0.0, f64::INFINITY, 0.0]);
    }

    #[test]
    fn exp_keeps_nan() {
        let got = exp_f64x4(f64x4::from([f64::NAN, 0.0, 0.0, 0.0])).to_array();
        assert!(got[0].is_nan());
    }

    #[test]
    fn exp_finite_just_below_overflow() {
        let got = exp_f64x4(f64x4::splat(709.78)).to_array()[0];
        let expected = 709.78f64.exp();
        assert!(got.is_finite());
        assert!(((got - expected) / expected).abs() <= 2.0 * f64::EPSILON);
    }
}
