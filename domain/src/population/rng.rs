//! Deterministic randomness for the synthetic population: every draw is a pure function of the
//! population seed, a stream (what the draws are for) and the person's index, so person i can be
//! generated on its own, in any order, by the server, the load generator and the tests alike.

/// The splitmix64 finaliser: a bijection on u64 with good avalanche.
pub fn mix64(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

const MASK48: u64 = (1 << 48) - 1;

/// A bijection on 48-bit values (odd multipliers and xor-shifts are invertible modulo 2^48).
pub fn permute48(mut x: u64) -> u64 {
    x &= MASK48;
    x = x.wrapping_mul(0x9E37_79B9_7F4B) & MASK48;
    x ^= x >> 23;
    x = x.wrapping_mul(0xC2B2_AE3D_27D5) & MASK48;
    x ^= x >> 19;
    x = x.wrapping_mul(0x1656_67B1_9E37) & MASK48;
    x ^ (x >> 25)
}

const MASK15: u64 = (1 << 15) - 1;

/// A bijection on 15-bit values.
pub fn permute15(mut x: u64) -> u64 {
    x &= MASK15;
    x = x.wrapping_mul(0x5BD1) & MASK15;
    x ^= x >> 7;
    x = x.wrapping_mul(0x2C1B) & MASK15;
    x ^ (x >> 8)
}

/// What a sequence of draws is for; separate streams keep one group of attributes stable when
/// another group changes.
#[derive(Debug, Clone, Copy)]
#[repr(u64)]
pub enum Stream {
    /// Age, sex, place, insurer, family role, card ownership: what decides the identifiers.
    Skeleton = 1,
    /// Names, address details, dates, certificates.
    Details = 2,
    /// Key-independent per-run salts (the insured-number permutation offsets).
    Layout = 3,
    /// Chronic conditions and regimens.
    Medication = 4,
    /// Acute illness, per person and month.
    Acute = 5,
    /// Checkup constitution and yearly values.
    Checkup = 6,
    /// Usual pharmacy and clinic.
    Facilities = 7,
}

/// A splitmix64 generator.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64, stream: Stream, index: u64) -> Rng {
        Rng(mix64(seed ^ mix64((stream as u64).wrapping_mul(0xD6E8_FEB8_6659_FD93) ^ mix64(index))))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix64(self.0)
    }

    /// Uniform in `0..n` (`n` > 0), by multiply-shift.
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    pub fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    /// True with probability `per_mille` / 1000.
    pub fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }

    /// An index drawn with the given weights (at least one positive).
    pub fn weighted(&mut self, weights: impl Iterator<Item = u32> + Clone) -> usize {
        let total: u64 = weights.clone().map(u64::from).sum();
        let mut x = self.below(total.max(1));
        for (i, w) in weights.enumerate() {
            let w = u64::from(w);
            if x < w {
                return i;
            }
            x -= w;
        }
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutations_are_bijective_on_a_sample() {
        let mut seen = std::collections::HashSet::new();
        for x in 0..(1u64 << 15) {
            assert!(seen.insert(permute15(x)), "permute15 collides at {x}");
        }
        let mut seen = std::collections::HashSet::new();
        for x in 0..200_000u64 {
            assert!(seen.insert(permute48(x)), "permute48 collides at {x}");
            assert!(permute48(x) <= MASK48);
        }
    }

    #[test]
    fn draws_are_deterministic_and_streams_differ() {
        let a: Vec<u64> =
            (0..5).map(|_| 0).scan(Rng::new(7, Stream::Skeleton, 42), |r, _| Some(r.next_u64())).collect();
        let b: Vec<u64> =
            (0..5).map(|_| 0).scan(Rng::new(7, Stream::Skeleton, 42), |r, _| Some(r.next_u64())).collect();
        let c: Vec<u64> = (0..5).map(|_| 0).scan(Rng::new(7, Stream::Details, 42), |r, _| Some(r.next_u64())).collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
        let mut r = Rng::new(1, Stream::Skeleton, 1);
        for _ in 0..1000 {
            assert!(r.below(7) < 7);
            let w = r.weighted([0u32, 5, 0].into_iter());
            assert_eq!(w, 1);
        }
    }
}
