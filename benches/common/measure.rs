//! What the timing benches share: the median of a set of runs, and the test-floor KDF settings
//! (so a vault opens fast and the KDF's share can be measured apart).
#![allow(dead_code)] // each bench uses a different part of this file

use std::time::Duration;

use keyway::vault::kdf::{self, KdfParams};

pub fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Argon2id at the test floor: m=19 MiB, t=2, p=1.
pub fn floor_kdf() -> KdfParams {
    KdfParams {
        memory_kib: kdf::FLOOR_MEMORY_KIB,
        iterations: kdf::FLOOR_ITERATIONS,
        parallelism: 1,
    }
}
