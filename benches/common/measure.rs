//! What the timing benches share: the median of a set of runs.
#![allow(dead_code)] // each bench uses a different part of this file

use std::time::Duration;

pub fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}
