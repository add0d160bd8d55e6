//! The record envelope (nonce || AES-256-GCM) and the record decoders behind it: opening any
//! bytes under any associated data is refused without a panic, and the decrypted-record
//! decoders (credential, workspace and flow JSON) take any bytes.
#![no_main]

use keyway::core::{Credential, Flow, Workspace};
use keyway::vault::crypto::{record_aad, revision_aad, DataKey};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let key = DataKey::from_raw(&[7; 32]);
    let split = data.first().map_or(0, |b| usize::from(*b)).min(data.len());
    let (aad, sealed) = data.split_at(split);
    assert!(key.open(sealed, aad).is_err(), "a forged envelope opened");
    let sealed = key.seal(data, &record_aad("v", "credentials", "id"));
    assert_eq!(
        &key.open(&sealed, &record_aad("v", "credentials", "id")).unwrap()[..],
        data
    );
    // Since vault format 5 a record's revision is bound too: another revision does not open.
    let sealed = key.seal(data, &revision_aad("v", "credentials", "id", 4));
    assert!(key
        .open(&sealed, &revision_aad("v", "credentials", "id", 3))
        .is_err());
    let _ = serde_json::from_slice::<Credential>(data);
    let _ = serde_json::from_slice::<Workspace>(data);
    let _ = serde_json::from_slice::<Flow>(data);
});
