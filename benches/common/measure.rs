//! What the timing benches share: the median of a set of runs, and a long-lived credential's
//! history.

use std::time::Duration;

use keyway::core::time::Timestamp;
use keyway::core::{Verification, HISTORY_LIMIT};

pub fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// A full history ending in `latest`: HISTORY_LIMIT entries of the same result, a second apart,
/// newest first (as a long-lived vault holds them).
pub fn full_history(latest: &Verification) -> Vec<Verification> {
    (0..HISTORY_LIMIT as i64)
        .map(|k| Verification {
            at: Timestamp(latest.at.0 - k),
            run: None,
            tls: None,
            ..latest.clone()
        })
        .collect()
}
