//! OAuth2 token responses, as both of keyway's decoders read them: any body gives tokens or
//! nothing, never a panic, and every expiry is a time RFC 3339 can write.
#![no_main]

use keyway::core::time::Timestamp;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for t in keyway::verify::decode_token_responses(data, Timestamp(1_800_000_000)) {
        assert!(t.expires_at.is_none_or(|at| at.is_rfc3339()));
        assert!(t.refresh_expires_at.is_none_or(|at| at.is_rfc3339()));
    }
});
