//! What the timing benches share: a counting allocator (alloc.rs) and measuring helpers
//! (measure.rs). The benches that need loopback servers also share the tests' support module;
//! that one stays attached with `#[path]`, because it names the keyway binary through
//! `env!("CARGO_BIN_EXE_keyway")`, which Cargo sets only while compiling this package's own
//! tests and benches, so it cannot move into a crate of its own.
#![allow(dead_code)] // each bench uses a different part of these files

pub mod alloc;
pub mod measure;
pub mod seed;
