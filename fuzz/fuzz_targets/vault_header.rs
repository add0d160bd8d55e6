//! The vault header decoder: any bytes give a header or a typed problem, never a panic; a
//! header that decodes encodes back to bytes that decode to it.
#![no_main]

use keyway::vault::header::Header;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(header) = Header::decode(data) {
        assert_eq!(Header::decode(&header.encode()), Ok(header));
    }
});
