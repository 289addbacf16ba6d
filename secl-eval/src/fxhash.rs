//! A fast non-cryptographic hasher for the engine's internal tables (string sets, guard
//! maps). Keys come from compiled rules, not from attackers choosing collisions against a
//! known seed; the multiply-rotate scheme (as in rustc's FxHash) is several times faster
//! than SipHash on short strings, which dominate SECL values.

use std::hash::{BuildHasherDefault, Hasher};

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

#[derive(Default, Clone, Copy)]
pub struct FxHasher {
    hash: u64,
}

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]));
        }
        let r = chunks.remainder();
        // Short tails are read as two overlapping words, not copied (a `memcpy` call of a
        // variable length dominated hashing of short strings).
        let tail = match r.len() {
            0 => return,
            1..=3 => {
                let (a, b, c) = (r[0] as u64, r[r.len() / 2] as u64, r[r.len() - 1] as u64);
                a | (b << 8) | (c << 16)
            }
            n => {
                let lo = u32::from_le_bytes([r[0], r[1], r[2], r[3]]) as u64;
                let hi = u32::from_le_bytes([r[n - 4], r[n - 3], r[n - 2], r[n - 1]]) as u64;
                lo | (hi << 32)
            }
        };
        self.add(tail ^ ((r.len() as u64) << 59));
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

pub type FxBuild = BuildHasherDefault<FxHasher>;
pub type FxHashMap<K, V> = std::collections::HashMap<K, V, FxBuild>;
pub type FxHashSet<K> = std::collections::HashSet<K, FxBuild>;
