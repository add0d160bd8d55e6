//! What the timing benches share: the median of a set of runs, and a long-lived credential's
//! history.

use std::time::Duration;

use keyway::core::time::Timestamp;
use keyway::core::{Verification, HISTORY_LIMIT};

/// Percentile `p` of `sorted`, in milliseconds.
pub fn percentile(sorted: &[Duration], p: usize) -> f64 {
    sorted[(sorted.len() - 1) * p / 100].as_secs_f64() * 1e3
}

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
