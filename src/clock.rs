//! The wall clock, read only at the edges and passed into the core.

use crate::core::time::Timestamp;

pub fn now() -> Timestamp {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    Timestamp(secs)
}
