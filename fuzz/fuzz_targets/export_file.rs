//! The export-file decoder: any bytes are refused with a typed error (or, were the fuzzer to
//! forge an authentic file, opened), never a panic or a hang.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = keyway::transfer::open("fuzz.kwx", data, b"fuzz passphrase");
});
