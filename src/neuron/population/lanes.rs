//! The four-lane f64 operations the population kernel uses, implemented twice.
//!
//! `wide::f64x4` picks its instructions when the crate is compiled: in a default x86-64 build
//! that is SSE2, two lanes per instruction and no fused multiply-add. `ArrayLanes` is a plain
//! `[f64; 4]` whose element-wise loops LLVM turns into vector code for the features of the
//! calling function. The population calls it from a function compiled for AVX2 and FMA, run
//! only when the CPU has them, so it gets four lanes per instruction.
//!
//! Masks are lanes with all bits set (true) or all bits clear (false), as SIMD compares
//! produce them.

use std::ops::{Add, BitAnd, Div, Mul, Not, Sub};

use wide::{f64x4, CmpGt, CmpLt};

/// Four f64 lanes with the operations of the HH kernel and the vector exponential.
pub trait F64Lanes:
    Copy
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + BitAnd<Output = Self>
    + Not<Output = Self>
{
    /// Returns four lanes equal to `value`.
    fn splat(value: f64) -> Self;
    /// Lanes from an array.
    fn from_array(values: [f64; 4]) -> Self;
    /// Lanes as an array.
    fn to_array(self) -> [f64; 4];
    /// self·m + a (fused where the instruction set has FMA).
    fn mul_add(self, m: Self, a: Self) -> Self;
    /// a − self·m (fused where the instruction set has FMA).
    fn mul_neg_add(self, m: Self, a: Self) -> Self;
    /// Absolute value.
    fn abs(self) -> Self;
    /// Mask of self > other.
    fn cmp_gt(self, other: Self) -> Self;
    /// Mask of self < other.
    fn cmp_lt(self, other: Self) -> Self;
    /// `if_true` where self (a mask) is set, else `if_false`.
    fn blend(self, if_true: Self, if_false: Self) -> Self;
    /// Bit i set when lane i of the mask is set.
    fn move_mask(self) -> i32;
    /// Applies `f` to the bit pattern of every lane.
    fn map_bits(self, f: impl Fn(u64) -> u64) -> Self;
}

impl F64Lanes for f64x4 {
    #[inline(always)]
    fn splat(value: f64) -> Self {
        f64x4::splat(value)
    }

    #[inline(always)]
    fn from_array(values: [f64; 4]) -> Self {
        f64x4::from(values)
    }

    #[inline(always)]
    fn to_array(self) -> [f64; 4] {
        f64x4::to_array(self)
    }

    #[inline(always)]
    fn mul_add(self, m: Self, a: Self) -> Self {
        f64x4::mul_add(self, m, a)
    }

    #[inline(always)]
    fn mul_neg_add(self, m: Self, a: Self) -> Self {
        f64x4::mul_neg_add(self, m, a)
    }

    #[inline(always)]
    fn abs(self) -> Self {
        f64x4::abs(self)
    }

    #[inline(always)]
    fn cmp_gt(self, other: Self) -> Self {
        CmpGt::cmp_gt(self, other)
    }

    #[inline(always)]
    fn cmp_lt(self, other: Self) -> Self {
        CmpLt::cmp_lt(self, other)
    }

    #[inline(always)]
    fn blend(self, if_true: Self, if_false: Self) -> Self {
        f64x4::blend(self, if_true, if_false)
    }

    #[inline(always)]
    fn move_mask(self) -> i32 {
        f64x4::move_mask(self)
    }

    #[inline(always)]
    fn map_bits(self, f: impl Fn(u64) -> u64) -> Self {
        f64x4::from(
            self.to_array()
                .map(|lane| f64::from_bits(f(lane.to_bits()))),
        )
    }
}

/// Four f64 lanes as a plain array; see the module header for why it exists.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ArrayLanes(pub [f64; 4]);

impl ArrayLanes {
    #[inline(always)]
    fn zip(self, other: Self, f: impl Fn(f64, f64) -> f64) -> Self {
        Self(std::array::from_fn(|i| f(self.0[i], other.0[i])))
    }

    #[inline(always)]
    fn zip_bits(self, other: Self, f: impl Fn(u64, u64) -> u64) -> Self {
        self.zip(other, |a, b| f64::from_bits(f(a.to_bits(), b.to_bits())))
    }
}

/// All bits set: a true mask lane.
const TRUE_LANE: f64 = f64::from_bits(u64::MAX);

impl Add for ArrayLanes {
    type Output = Self;
    #[inline(always)]
    fn add(self, other: Self) -> Self {
        self.zip(other, |a, b| a + b)
    }
}

impl Sub for ArrayLanes {
    type Output = Self;
    #[inline(always)]
    fn sub(self, other: Self) -> Self {
        self.zip(other, |a, b| a - b)
    }
}

impl Mul for ArrayLanes {
    type Output = Self;
    #[inline(always)]
    fn mul(self, other: Self) -> Self {
        self.zip(other, |a, b| a * b)
    }
}

impl Div for ArrayLanes {
    type Output = Self;
    #[inline(always)]
    fn div(self, other: Self) -> Self {
        self.zip(other, |a, b| a / b)
    }
}

impl BitAnd for ArrayLanes {
    type Output = Self;
    #[inline(always)]
    fn bitand(self, other: Self) -> Self {
        self.zip_bits(other, |a, b| a & b)
    }
}

impl Not for ArrayLanes {
    type Output = Self;
    #[inline(always)]
    fn not(self) -> Self {
        self.map_bits(|bits| !bits)
    }
}

impl F64Lanes for ArrayLanes {
    #[inline(always)]
    fn splat(value: f64) -> Self {
        Self([value; 4])
    }

    #[inline(always)]
    fn from_array(values: [f64; 4]) -> Self {
        Self(values)
    }

    #[inline(always)]
    fn to_array(self) -> [f64; 4] {
        self.0
    }

    #[inline(always)]
    fn mul_add(self, m: Self, a: Self) -> Self {
        Self(std::array::from_fn(|i| self.0[i].mul_add(m.0[i], a.0[i])))
    }

    #[inline(always)]
    fn mul_neg_add(self, m: Self, a: Self) -> Self {
        Self(std::array::from_fn(|i| {
            (-self.0[i]).mul_add(m.0[i], a.0[i])
        }))
    }

    #[inline(always)]
    fn abs(self) -> Self {
        self.map_bits(|bits| bits & !(1 << 63))
    }

    #[inline(always)]
    fn cmp_gt(self, other: Self) -> Self {
        self.zip(other, |a, b| if a > b { TRUE_LANE } else { 0.0 })
    }

    #[inline(always)]
    fn cmp_lt(self, other: Self) -> Self {
        self.zip(other, |a, b| if a < b { TRUE_LANE } else { 0.0 })
    }

    #[inline(always)]
    fn blend(self, if_true: Self, if_false: Self) -> Self {
        let mask = self.0.map(f64::to_bits);
        Self(std::array::from_fn(|i| {
            f64::from_bits(mask[i] & if_true.0[i].to_bits() | !mask[i] & if_false.0[i].to_bits())
        }))
    }

    #[inline(always)]
    fn move_mask(self) -> i32 {
        (0..4).fold(0, |mask, i| {
            mask | (((self.0[i].to_bits() >> 63) as i32) << i)
        })
    }

    #[inline(always)]
    fn map_bits(self, f: impl Fn(u64) -> u64) -> Self {
        Self(self.0.map(|lane| f64::from_bits(f(lane.to_bits()))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: [f64; 4] = [-1.5, 0.0, 2.0, f64::NAN];
    const B: [f64; 4] = [1.0, 0.0, -3.0, 1.0];

    fn both<F: Fn(f64x4) -> f64x4, G: Fn(ArrayLanes) -> ArrayLanes>(f: F, g: G) -> [[u64; 4]; 2] {
        let wide = f(f64x4::from(A)).to_array().map(f64::to_bits);
        let array = g(ArrayLanes(A)).0.map(f64::to_bits);
        [wide, array]
    }

    #[test]
    fn array_masks_match_wide() {
        let [wide, array] = both(
            |a| F64Lanes::cmp_gt(a, f64x4::from(B)),
            |a| a.cmp_gt(ArrayLanes(B)),
        );
        assert_eq!(wide, array, "cmp_gt");
        let [wide, array] = both(
            |a| F64Lanes::cmp_lt(a, f64x4::from(B)),
            |a| a.cmp_lt(ArrayLanes(B)),
        );
        assert_eq!(wide, array, "cmp_lt");
    }

    #[test]
    fn array_blend_and_move_mask_match_wide() {
        let wide_mask = F64Lanes::cmp_gt(f64x4::from(A), f64x4::from(B));
        let array_mask = ArrayLanes(A).cmp_gt(ArrayLanes(B));
        assert_eq!(F64Lanes::move_mask(wide_mask), array_mask.move_mask());
        let wide = F64Lanes::blend(wide_mask, f64x4::from(A), f64x4::from(B));
        let array = array_mask.blend(ArrayLanes(A), ArrayLanes(B));
        assert_eq!(wide.to_array().map(f64::to_bits), array.0.map(f64::to_bits));
    }

    #[test]
    fn array_abs_and_not_match_wide() {
        let [wide, array] = both(F64Lanes::abs, |a| a.abs());
        assert_eq!(wide, array, "abs");
        let [wide, array] = both(|a| !a, |a| !a);
        assert_eq!(wide, array, "not");
    }
}
