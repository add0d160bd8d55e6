//! The export file: credentials moved between ops hosts, protected by their own passphrase.
//!
//! Layout: `KWEXPRT1` | u32 BE header length | header JSON | sha256(header JSON) | nonce ||
//! AES-256-GCM(payload JSON). The key is Argon2id(export passphrase, header salt, header
//! parameters); the header (magic, KDF settings, counts) is bound as associated data, so nothing
//! in the file can be altered without the decryption failing. The checksum tells a damaged or
//! truncated header apart before any key derivation runs.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::core::secret::SecretFields;
use crate::core::time::Timestamp;
use crate::core::Verification;
use crate::vault::crypto::{kek_cipher, open_with, random_bytes, seal_with};
use crate::vault::kdf::{self, KdfParams};

const MAGIC: &[u8; 8] = b"KWEXPRT1";
const FORMAT: u32 = 1;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TransferError {
    #[error("{0} is not a keyway export file")]
    NotAnExport(String),
    #[error("the export file {0} is damaged or truncated; nothing was imported")]
    Damaged(String),
    #[error("the export file {path} was made by a newer keyway (format {found})")]
    Newer { path: String, found: u32 },
    #[error("the export file {path} decrypted, but its contents are not a keyway export ({detail}); nothing was imported")]
    Invalid { path: String, detail: String },
    #[error("the export file {path} was refused: {detail}")]
    Unacceptable { path: String, detail: String },
    #[error(
        "wrong export passphrase for {0} (or the file was tampered with); nothing was imported"
    )]
    WrongPassphrase(String),
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
struct ExportHeader {
    format: u32,
    kdf: KdfParams,
    salt: String,
    created_at: i64,
    count: usize,
}

/// One exported credential: everything but the vault-local ids.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExportedCredential {
    pub component: String,
    pub name: String,
    /// As written: an import checks it like any environment typed into `add`, so one it refuses
    /// is reported for its credential rather than making the whole file unreadable.
    pub environment: String,
    pub public: std::collections::BTreeMap<String, String>,
    pub secrets: SecretFields,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(default)]
    pub history: Vec<Verification>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Payload {
    workspace: String,
    credentials: Vec<ExportedCredential>,
}

/// What an export file holds once opened.
#[derive(Debug)]
pub struct Export {
    pub workspace: String,
    pub created_at: Timestamp,
    pub credentials: Vec<ExportedCredential>,
}

fn header_aad(header_json: &[u8]) -> Vec<u8> {
    let mut aad = MAGIC.to_vec();
    aad.extend_from_slice(header_json);
    aad
}

/// Seals credentials into export-file bytes.
pub fn seal(
    workspace: &str,
    credentials: Vec<ExportedCredential>,
    passphrase: &[u8],
    params: KdfParams,
    now: Timestamp,
) -> Result<Vec<u8>, String> {
    let salt: [u8; 16] = random_bytes();
    let header = ExportHeader {
        format: FORMAT,
        kdf: params,
        salt: hex::encode(salt),
        created_at: now.0,
        count: credentials.len(),
    };
    let header_json = serde_json::to_vec(&header).map_err(|e| e.to_string())?;
    let key = kdf::derive(passphrase, &salt, &params).map_err(|e| e.to_string())?;
    let payload = Zeroizing::new(
        serde_json::to_vec(&Payload {
            workspace: workspace.to_string(),
            credentials,
        })
        .map_err(|e| e.to_string())?,
    );
    let sealed = seal_with(&kek_cipher(&key), &payload, &header_aad(&header_json));
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&(header_json.len() as u32).to_be_bytes());
    out.extend_from_slice(&header_json);
    out.extend_from_slice(&Sha256::digest(&header_json));
    out.extend_from_slice(&sealed);
    Ok(out)
}

/// Opens export-file bytes; `path` only names the file in errors.
pub fn open(path: &str, bytes: &[u8], passphrase: &[u8]) -> Result<Export, TransferError> {
    let damaged = || TransferError::Damaged(path.to_string());
    if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
        return Err(TransferError::NotAnExport(path.to_string()));
    }
    let rest = &bytes[MAGIC.len()..];
    let len_bytes: [u8; 4] = rest
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(damaged)?;
    let len = u32::from_be_bytes(len_bytes) as usize;
    let header_json = rest.get(4..4 + len).ok_or_else(damaged)?;
    let sum = rest.get(4 + len..4 + len + 32).ok_or_else(damaged)?;
    if Sha256::digest(header_json).as_slice() != sum {
        return Err(damaged());
    }
    let sealed = &rest[4 + len + 32..];
    let header: ExportHeader = serde_json::from_slice(header_json).map_err(|_| damaged())?;
    if header.format > FORMAT {
        return Err(TransferError::Newer {
            path: path.to_string(),
            found: header.format,
        });
    }
    header
        .kdf
        .check_bounds()
        .map_err(|detail| TransferError::Unacceptable {
            path: path.to_string(),
            detail,
        })?;
    let salt: [u8; 16] = hex::decode(&header.salt)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(damaged)?;
    let key = kdf::derive(passphrase, &salt, &header.kdf).map_err(|_| damaged())?;
    let plain = open_with(&kek_cipher(&key), sealed, &header_aad(header_json))
        .map_err(|_| TransferError::WrongPassphrase(path.to_string()))?;
    // Authentic from here on: what is wrong was written so, not damaged on the way. The serde
    // message is not shown, as it may quote a value, and the values include secrets.
    let invalid = |detail: String| TransferError::Invalid {
        path: path.to_string(),
        detail,
    };
    let mut payload: Payload = serde_json::from_slice(&plain).map_err(|e| {
        invalid(format!(
            "a value does not fit the export format at line {}, column {}",
            e.line(),
            e.column()
        ))
    })?;
    if payload.credentials.len() != header.count {
        return Err(invalid(format!(
            "the header counts {} credential(s) but the file holds {}",
            header.count,
            payload.credentials.len()
        )));
    }
    for c in &mut payload.credentials {
        c.history
            .iter_mut()
            .for_each(Verification::make_run_consistent);
    }
    Ok(Export {
        workspace: payload.workspace,
        created_at: Timestamp(header.created_at),
        credentials: payload.credentials,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    fn sample() -> Vec<ExportedCredential> {
        let mut secrets = SecretFields::new();
        secrets.insert("api_key", SecretString::from("SENTINEL-export"));
        vec![ExportedCredential {
            component: "stripe".into(),
            name: "billing".into(),
            environment: "production".into(),
            public: [("base_url".to_string(), "https://api.stripe.com".to_string())].into(),
            secrets,
            created_at: Timestamp(1),
            updated_at: Timestamp(2),
            history: vec![],
        }]
    }

    #[test]
    fn round_trip_and_no_plaintext() {
        let bytes = seal("acme", sample(), b"export pass", kdf::FLOOR, Timestamp(9)).unwrap();
        assert!(!bytes.windows(15).any(|w| w == b"SENTINEL-export"));
        assert!(!bytes.windows(7).any(|w| w == b"billing"));
        assert!(
            !bytes.windows(4).any(|w| w == b"acme"),
            "names stay encrypted"
        );
        let e = open("f", &bytes, b"export pass").unwrap();
        assert_eq!(e.workspace, "acme");
        assert_eq!(
            e.credentials[0].secrets.expose("api_key"),
            Some("SENTINEL-export")
        );
        assert_eq!(
            open("f", &bytes, b"nope").unwrap_err(),
            TransferError::WrongPassphrase("f".into())
        );
    }

    #[test]
    fn every_truncation_and_byte_flip_is_refused() {
        let bytes = seal("acme", sample(), b"p", kdf::FLOOR, Timestamp(9)).unwrap();
        for len in [0, 4, 8, 11, 20, bytes.len() / 2, bytes.len() - 1] {
            assert!(
                open("f", &bytes[..len], b"p").is_err(),
                "truncated to {len}"
            );
        }
        // One flip in each region: magic, length, header, checksum, nonce, body, tag.
        let header_len = u32::from_be_bytes(bytes[8..12].try_into().unwrap()) as usize;
        for at in [
            0,
            9,
            14,
            12 + header_len + 3,
            12 + header_len + 32 + 2,
            bytes.len() - 20,
            bytes.len() - 1,
        ] {
            let mut bad = bytes.clone();
            bad[at] ^= 0x10;
            assert!(open("f", &bad, b"p").is_err(), "flip at {at}");
        }
        assert_eq!(
            open("f", b"hello", b"p").unwrap_err(),
            TransferError::NotAnExport("f".into())
        );
    }
}

/// The export decoder's contract on a file from outside: never a panic, a typed error for
/// anything but an intact file under the right passphrase, and a round trip for what `seal`
/// wrote. Cases that get as far as the key derivation pay for it (the floor settings), so those
/// are fewer.
#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;
    use std::sync::OnceLock;

    fn sealed() -> &'static [u8] {
        static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
        BYTES.get_or_init(|| {
            let mut secrets = SecretFields::new();
            secrets.insert("api_key", secrecy::SecretString::from("SENTINEL-prop"));
            let c = ExportedCredential {
                component: "stripe".into(),
                name: "billing".into(),
                environment: "production".into(),
                public: Default::default(),
                secrets,
                created_at: Timestamp(1),
                updated_at: Timestamp(2),
                history: vec![],
            };
            seal("acme", vec![c], b"pass", kdf::FLOOR, Timestamp(3)).unwrap()
        })
    }

    proptest! {
        #[test]
        fn any_bytes_are_refused_with_a_typed_error(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
            prop_assert!(open("f", &bytes, b"pass").is_err());
        }

        #[test]
        fn any_header_with_a_good_checksum_is_judged_without_panic(header in prop::collection::vec(any::<u8>(), 0..200), rest in prop::collection::vec(any::<u8>(), 0..64)) {
            let mut bytes = MAGIC.to_vec();
            bytes.extend_from_slice(&(header.len() as u32).to_be_bytes());
            bytes.extend_from_slice(&header);
            bytes.extend_from_slice(&Sha256::digest(&header));
            bytes.extend_from_slice(&rest);
            prop_assert!(open("f", &bytes, b"pass").is_err());
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

        #[test]
        fn a_sealed_file_opens_and_any_change_or_cut_is_refused(at in any::<prop::sample::Index>(), bit in 0u8..8) {
            let bytes = sealed();
            let e = open("f", bytes, b"pass").unwrap();
            prop_assert_eq!(e.credentials[0].secrets.expose("api_key"), Some("SENTINEL-prop"));
            let i = at.index(bytes.len());
            let mut bad = bytes.to_vec();
            bad[i] ^= 1 << bit;
            prop_assert!(open("f", &bad, b"pass").is_err());
            prop_assert!(open("f", &bytes[..i], b"pass").is_err());
        }
    }
}
