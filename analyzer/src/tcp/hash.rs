//! Hashing for the pipeline's per-packet tables (connections by 5-tuple,
//! stream state by connection, calls by xid): a folded multiply keyed with
//! random numbers drawn once per process, a few instructions per key where
//! the std SipHash-1-3 takes a few hundred.
//!
//! Keys that come from the capture (addresses, ports, xids) cannot be aimed
//! at one bucket without the process's keys, which a capture file cannot
//! learn; the tables are bounded anyway (`max_connections`,
//! `max_pending_*`).

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::OnceLock;

/// A `HashMap` with [`FastState`].
pub type FastMap<K, V> = HashMap<K, V, FastState>;

/// The product of `a` and `b` folded to 64 bits (high half xor low half).
#[inline]
fn fold_mul(a: u64, b: u64) -> u64 {
    let p = u128::from(a) * u128::from(b);
    (p as u64) ^ ((p >> 64) as u64)
}

/// The process's two keys (drawn from the std's random source once).
fn keys() -> (u64, u64) {
    static KEYS: OnceLock<(u64, u64)> = OnceLock::new();
    *KEYS.get_or_init(|| {
        let state = std::collections::hash_map::RandomState::new();
        let a = state.hash_one(0x243f_6a88_85a3_08d3u64);
        let b = state.hash_one(0x1319_8a2e_0370_7344u64);
        // Odd multipliers with both halves populated.
        (a | 1, (b | 1) ^ 0x9e37_79b9_0000_0000)
    })
}

/// Builds [`FastHasher`]s with the process's keys.
#[derive(Debug, Clone, Copy)]
pub struct FastState {
    k0: u64,
    k1: u64,
}

impl Default for FastState {
    fn default() -> Self {
        let (k0, k1) = keys();
        FastState { k0, k1 }
    }
}

impl BuildHasher for FastState {
    type Hasher = FastHasher;

    #[inline]
    fn build_hasher(&self) -> FastHasher {
        FastHasher {
            acc: self.k0,
            k1: self.k1,
        }
    }
}

/// A keyed folded-multiply hasher (see the module documentation).
#[derive(Debug, Clone, Copy)]
pub struct FastHasher {
    acc: u64,
    k1: u64,
}

impl FastHasher {
    #[inline]
    fn mix(&mut self, v: u64) {
        self.acc = fold_mul(self.acc ^ v, self.k1);
    }
}

impl Hasher for FastHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.mix(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        // The length keeps "ab" + "" apart from "a" + "b".
        self.mix(u64::from_le_bytes(w) ^ ((bytes.len() as u64) << 56));
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.mix(u64::from(i));
    }

    #[inline]
    fn write_u16(&mut self, i: u16) {
        self.mix(u64::from(i));
    }

    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.mix(u64::from(i));
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.mix(i);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.mix(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        // One more round so that the last word also reaches the high bits
        // hashbrown takes its tags from.
        fold_mul(self.acc, self.k1 ^ 0x5851_f42d_4c95_7f2d).rotate_left(23)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::hash::Hash;

    fn h<T: Hash>(v: T) -> u64 {
        FastState::default().hash_one(v)
    }

    #[test]
    fn same_keys_same_hash_and_nearby_keys_spread() {
        assert_eq!(
            h((7u64, 1u8, 0xdead_beefu32)),
            h((7u64, 1u8, 0xdead_beefu32))
        );
        // Sequential xids on one connection: distinct hashes, and distinct
        // top 7 bits (hashbrown's tags) for most of them.
        let hashes: HashSet<u64> = (0..10_000u32).map(|x| h((3u64, 0u8, x))).collect();
        assert_eq!(hashes.len(), 10_000);
        let tags: HashSet<u64> = (0..256u32).map(|x| h((3u64, 0u8, x)) >> 57).collect();
        assert!(tags.len() > 64, "{}", tags.len());
        assert_ne!(h(&b"ab"[..]), h(&b"ab\0"[..]));
    }

    #[test]
    fn a_map_works() {
        let mut m: FastMap<u64, u64> = FastMap::default();
        for i in 0..1000 {
            m.insert(i, i * 2);
        }
        assert!((0..1000).all(|i| m.get(&i) == Some(&(i * 2))));
    }
}
