//! The vault header: format version, vault id, KDF parameters and salt, and the data key wrapped
//! under the passphrase-derived key. A SHA-256 over the body is checked before the KDF runs, so a
//! damaged header is told apart from a wrong passphrase (which fails the unwrap instead).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::kdf::KdfParams;

/// The format this build writes and reads. A higher number is refused as "newer format".
/// 2: verification results moved out of the credential records into tables of their own.
/// 3: sequence numbers say which history entry is each credential's newest; no second copy.
/// 4: repeated results of rechecks are kept as runs, their latest check in the sequence record.
/// 5: every record carries a revision (bound into its associated data), who changed it and
///    when; the header names the data key (`key_id`, `key_check`); a generation counter.
/// (An older vault is read as it is and migrated by its first write; see migrate.rs.)
pub const FORMAT: u32 = 5;

/// The first format whose records carry revisions.
pub const REVISIONS: u32 = 5;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub format: u32,
    pub vault_id: String,
    pub kdf: KdfSection,
    /// nonce || AES-256-GCM(data key), hex.
    pub wrapped_key: String,
    pub created_at: i64,
    /// Format 5: a random name for the data key (32 hex digits), new with every re-key and kept
    /// by a passphrase change, so a process can tell that the key it holds was replaced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// Format 5: nonce || AES-256-GCM(empty) under the data key, AAD = (vault id, key id): proves
    /// that a data key obtained some other way (an unlock agent) is this vault's current one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_check: Option<String>,
    /// A team vault's key slots, one per member (keyslot.rs); a team vault has no passphrase
    /// slot (`wrapped_key` is empty). Absent from a file vault's header.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<MemberSlot>,
}

/// One member's key slot: the data key age-encrypted to the member's X25519 public key, and
/// who the member is, sealed under the data key (no name is kept in clear).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberSlot {
    /// 32 random hex digits.
    pub id: String,
    /// The member's public key, `age1...`.
    pub recipient: String,
    /// The age-encrypted data key, hex.
    pub wrapped: String,
    /// nonce || AES-256-GCM(JSON `MemberInfo`) under the data key, AAD = (vault, "member", id,
    /// recipient), hex.
    pub sealed: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfSection {
    pub algorithm: String,
    pub version: u32,
    #[serde(flatten)]
    pub params: KdfParams,
    /// 16 random bytes, hex.
    pub salt: String,
}

#[derive(Debug, PartialEq, Eq)]
pub enum HeaderProblem {
    /// Checksum mismatch, truncated or unparsable: the bytes are damaged.
    Damaged(String),
    /// A format this build does not know.
    Newer(u32),
    /// Parameters outside the accepted bounds.
    Unacceptable(String),
}

#[derive(Deserialize)]
struct FormatOnly {
    format: u32,
}

impl Header {
    pub fn encode(&self) -> Vec<u8> {
        // Serializing a struct of strings and integers cannot fail.
        let body = serde_json::to_vec(self).unwrap_or_default();
        let mut out = Sha256::digest(&body).to_vec();
        out.extend_from_slice(&body);
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<Header, HeaderProblem> {
        if bytes.len() < 32 {
            return Err(HeaderProblem::Damaged("the header is truncated".into()));
        }
        let (sum, body) = bytes.split_at(32);
        if Sha256::digest(body).as_slice() != sum {
            return Err(HeaderProblem::Damaged(
                "the header checksum does not match".into(),
            ));
        }
        let format = serde_json::from_slice::<FormatOnly>(body)
            .map_err(|_| HeaderProblem::Damaged("the header cannot be parsed".into()))?
            .format;
        if format > FORMAT {
            return Err(HeaderProblem::Newer(format));
        }
        let header: Header = serde_json::from_slice(body)
            .map_err(|e| HeaderProblem::Damaged(format!("the header is malformed ({e})")))?;
        if header.kdf.algorithm != "argon2id" || header.kdf.version != 0x13 {
            return Err(HeaderProblem::Unacceptable(format!(
                "it uses key derivation {} v{}, but only argon2id v19 is supported",
                header.kdf.algorithm, header.kdf.version
            )));
        }
        header
            .kdf
            .params
            .check_bounds()
            .map_err(HeaderProblem::Unacceptable)?;
        Ok(header)
    }

    pub fn salt(&self) -> Option<[u8; 16]> {
        hex::decode(&self.kdf.salt).ok()?.try_into().ok()
    }

    /// AAD for the wrapped data key: binds the vault id and every KDF setting, so altering them
    /// (even with a recomputed checksum) makes the unwrap fail.
    pub fn key_aad(&self) -> Vec<u8> {
        format!(
            "keyway-data-key-v1|{}|{}|{}|{}|{}|{}|{}",
            self.vault_id,
            self.kdf.algorithm,
            self.kdf.version,
            self.kdf.params.memory_kib,
            self.kdf.params.iterations,
            self.kdf.params.parallelism,
            self.kdf.salt
        )
        .into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Header {
        Header {
            format: FORMAT,
            vault_id: "00".repeat(16),
            kdf: KdfSection {
                algorithm: "argon2id".into(),
                version: 0x13,
                params: super::super::kdf::RECOMMENDED,
                salt: "11".repeat(16),
            },
            wrapped_key: "22".repeat(60),
            created_at: 0,
            key_id: Some("33".repeat(16)),
            key_check: Some("44".repeat(28)),
            members: Vec::new(),
        }
    }

    #[test]
    fn round_trip() {
        let h = sample();
        assert_eq!(Header::decode(&h.encode()), Ok(h));
        // A format-4 header has no key id or key check, and still reads.
        let old = Header {
            format: 4,
            key_id: None,
            key_check: None,
            ..sample()
        };
        let body = serde_json::to_string(&old).unwrap();
        assert!(!body.contains("key_id"), "{body}");
        assert_eq!(Header::decode(&old.encode()), Ok(old));
    }

    #[test]
    fn any_flipped_byte_is_damage() {
        let bytes = sample().encode();
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x01;
            assert!(
                matches!(Header::decode(&bad), Err(HeaderProblem::Damaged(_))),
                "byte {i}"
            );
        }
        assert!(matches!(
            Header::decode(&bytes[..20]),
            Err(HeaderProblem::Damaged(_))
        ));
    }

    #[test]
    fn newer_format_and_huge_kdf_are_refused() {
        let mut h = sample();
        h.format = FORMAT + 1;
        assert_eq!(
            Header::decode(&h.encode()),
            Err(HeaderProblem::Newer(FORMAT + 1))
        );
        let mut h = sample();
        h.kdf.params.memory_kib = super::super::kdf::MAX_MEMORY_KIB + 1;
        assert!(matches!(
            Header::decode(&h.encode()),
            Err(HeaderProblem::Unacceptable(_))
        ));
    }
}

/// The header decoder's contract on bytes from outside: never a panic, always a typed answer,
/// and what `encode` wrote decodes to itself.
#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    fn header() -> impl Strategy<Value = Header> {
        (
            "[0-9a-f]{32}",
            (19_456u32..=1_048_576, 2u32..=8, 1u32..=4),
            "[0-9a-f]{32}",
            "[0-9a-f]{0,120}",
            any::<i64>(),
            proptest::option::of(("[0-9a-f]{32}", "[0-9a-f]{56}")),
        )
            .prop_map(
                |(vault_id, (m, t, p), salt, wrapped_key, created_at, key)| Header {
                    format: FORMAT,
                    vault_id,
                    kdf: KdfSection {
                        algorithm: "argon2id".into(),
                        version: 0x13,
                        params: KdfParams {
                            memory_kib: m,
                            iterations: t,
                            parallelism: p,
                        },
                        salt,
                    },
                    wrapped_key,
                    created_at,
                    key_id: key.as_ref().map(|(id, _)| id.clone()),
                    key_check: key.map(|(_, check)| check),
                    members: Vec::new(),
                },
            )
            // Memory and iterations each within bounds can still be too much work together.
            .prop_filter("within the work ceiling", |h| {
                h.kdf.params.check_bounds().is_ok()
            })
    }

    proptest! {
        #[test]
        fn any_bytes_decode_to_a_header_or_a_typed_problem(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
            let _ = Header::decode(&bytes);
        }

        #[test]
        fn any_json_body_with_a_good_checksum_is_judged_without_panic(body in prop::collection::vec(any::<u8>(), 0..400)) {
            let mut bytes = Sha256::digest(&body).to_vec();
            bytes.extend_from_slice(&body);
            let _ = Header::decode(&bytes);
        }

        #[test]
        fn headers_round_trip_and_any_flip_is_damage(h in header(), at in any::<prop::sample::Index>(), bit in 0u8..8) {
            let bytes = h.encode();
            prop_assert_eq!(Header::decode(&bytes), Ok(h));
            let mut bad = bytes.clone();
            let i = at.index(bad.len());
            bad[i] ^= 1 << bit;
            prop_assert!(matches!(Header::decode(&bad), Err(HeaderProblem::Damaged(_))));
            prop_assert!(Header::decode(&bytes[..i]).is_err());
        }
    }
}
