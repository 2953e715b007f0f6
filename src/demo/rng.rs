//! A seeded generator: one ChaCha8 stream per department, flow and list.

use sha2::{Digest, Sha256};

/// ChaCha8, seeded per stream from the demo's seed: each department, flow and list draws
/// from a stream of its own, so no choice depends on the order work runs in. ChaCha's
/// output for a seed is fixed across crate versions, so a seed always gives the same city.
pub(super) struct Rng(rand_chacha::ChaCha8Rng);

impl Rng {
    pub(super) fn new(seed: u64, stream: &str) -> Rng {
        use rand_chacha::rand_core::SeedableRng;
        let digest = Sha256::new()
            .chain_update(seed.to_le_bytes())
            .chain_update(stream.as_bytes())
            .finalize();
        Rng(rand_chacha::ChaCha8Rng::from_seed(digest.into()))
    }

    fn next(&mut self) -> u64 {
        use rand_chacha::rand_core::RngCore;
        self.0.next_u64()
    }

    /// A number in `lo..=hi`.
    pub(super) fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi.saturating_sub(lo) + 1)
    }

    pub(super) fn percent(&mut self, p: u64) -> bool {
        self.next() % 100 < p
    }

    /// One of `choices` by weight.
    pub(super) fn weighted<T: Copy>(&mut self, choices: &[(T, u64)]) -> Option<T> {
        let total: u64 = choices.iter().map(|(_, w)| w).sum();
        if total == 0 {
            return None;
        }
        let mut roll = self.next() % total;
        for (choice, weight) in choices {
            if roll < *weight {
                return Some(*choice);
            }
            roll -= weight;
        }
        None
    }
}
