//! Key slots: what unwraps the data key. Today a vault has one, the passphrase slot in its
//! header (Argon2id over the passphrase gives the key-encryption key that unwraps the data key);
//! a team vault will hold one per member (issue 15). A process may also be handed the data key
//! itself (an unlock agent, issue 18): the header's key check proves it is this vault's current
//! key without any key derivation.

use zeroize::Zeroizing;

use super::crypto::{self, DataKey};
use super::header::{self, Header, KdfSection, MemberSlot};
use super::kdf::{self, KdfParams};

/// What a process unlocks a vault with.
pub enum Unlock<'a> {
    /// The passphrase (the key derivation runs).
    Passphrase(&'a [u8]),
    /// A data key some other party unwrapped already.
    Key(Box<DataKey>),
    /// A team vault member's X25519 identity (identity.rs), which opens its own slot.
    Identity(Box<age::x25519::Identity>),
}

impl std::fmt::Debug for Unlock<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unlock::Passphrase(_) => f.write_str("Unlock::Passphrase([REDACTED])"),
            Unlock::Key(_) => f.write_str("Unlock::Key([REDACTED])"),
            Unlock::Identity(_) => f.write_str("Unlock::Identity([REDACTED])"),
        }
    }
}

/// Why a slot would not open.
#[derive(Debug, PartialEq, Eq)]
pub enum SlotError {
    /// The passphrase (or the key handed in) is not this vault's.
    Wrong,
    /// The header's key material is malformed: damage.
    Damaged(String),
    /// The identity has no slot in this team vault.
    NotAMember,
    /// A team vault opens with a member's identity, not a passphrase slot.
    NeedsIdentity,
}

/// Who a member is, sealed in their slot.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MemberInfo {
    pub name: String,
    /// "person" (an identity under a passphrase) or "machine" (an identity file, no passphrase).
    pub kind: String,
    pub added_at: i64,
}

fn member_aad(vault_id: &str, slot_id: &str, recipient: &str) -> Vec<u8> {
    crypto::record_aad(vault_id, "member", &format!("{slot_id}|{recipient}"))
}

/// A key slot for `info` whose public key is `recipient`: the data key `raw` age-encrypted to
/// it, the info sealed under `key` (the same data key).
pub fn member_slot(
    vault_id: &str,
    key: &DataKey,
    raw: &[u8; 32],
    recipient: &age::x25519::Recipient,
    info: &MemberInfo,
) -> Result<MemberSlot, String> {
    let id = hex::encode(crypto::random_bytes::<16>());
    let recipient_text = recipient.to_string();
    let wrapped = super::identity::wrap_for(recipient, raw)?;
    // A struct of strings and an integer always serializes.
    let plain = zeroize::Zeroizing::new(serde_json::to_vec(info).unwrap_or_default());
    let sealed = key.seal(&plain, &member_aad(vault_id, &id, &recipient_text));
    Ok(MemberSlot {
        id,
        recipient: recipient_text,
        wrapped: hex::encode(wrapped),
        sealed: hex::encode(sealed),
    })
}

/// Who the member of `slot` is.
pub fn member_info(
    header: &Header,
    key: &DataKey,
    slot: &MemberSlot,
) -> Result<MemberInfo, SlotError> {
    let damaged = || SlotError::Damaged(format!("the key slot {} is malformed", slot.id));
    let sealed = hex::decode(&slot.sealed).map_err(|_| damaged())?;
    let plain = key
        .open(
            &sealed,
            &member_aad(&header.vault_id, &slot.id, &slot.recipient),
        )
        .map_err(|_| {
            SlotError::Damaged(format!("the key slot {} failed authentication", slot.id))
        })?;
    serde_json::from_slice(&plain).map_err(|_| damaged())
}

/// A team vault's header: no passphrase slot (the KDF section is unused), one slot per member.
pub fn team_header(
    vault_id: String,
    created_at: i64,
    key: &DataKey,
    key_id: String,
    members: Vec<MemberSlot>,
) -> Header {
    let mut header = Header {
        format: header::FORMAT,
        vault_id,
        kdf: KdfSection {
            algorithm: "argon2id".into(),
            version: 0x13,
            params: kdf::FLOOR,
            salt: "00".repeat(16),
        },
        wrapped_key: String::new(),
        created_at,
        key_id: None,
        key_check: None,
        members,
    };
    name_key(&mut header, key, key_id);
    header
}

/// The data key from the slot `identity` holds.
pub fn unwrap_identity(
    header: &Header,
    identity: &age::x25519::Identity,
) -> Result<DataKey, SlotError> {
    let public = super::identity::public_key(identity);
    let slot = header
        .members
        .iter()
        .find(|m| m.recipient == public)
        .ok_or(SlotError::NotAMember)?;
    let wrapped = hex::decode(&slot.wrapped)
        .map_err(|_| SlotError::Damaged(format!("the key slot {} is malformed", slot.id)))?;
    let raw = super::identity::unwrap_with(identity, &wrapped).ok_or_else(|| {
        SlotError::Damaged(format!(
            "the key slot {} does not open with its identity",
            slot.id
        ))
    })?;
    let key = DataKey::from_raw(&raw);
    check_key(header, &key)?;
    Ok(key)
}

/// A new key id: 16 random bytes, hex.
pub fn fresh_key_id() -> String {
    hex::encode(crypto::random_bytes::<16>())
}

fn key_check_aad(vault_id: &str, key_id: &str) -> Vec<u8> {
    crypto::record_aad(vault_id, "key-check", key_id)
}

/// A header for `raw_key` under `passphrase`: fresh salt, the data key wrapped, and (format 5)
/// its id and check. The key derivation runs here, so call it outside any write transaction.
pub fn wrap_passphrase(
    vault_id: String,
    created_at: i64,
    passphrase: &[u8],
    raw_key: &[u8; 32],
    key_id: String,
    params: KdfParams,
) -> Result<Header, String> {
    let salt: [u8; 16] = crypto::random_bytes();
    let mut header = Header {
        format: header::FORMAT,
        vault_id,
        kdf: KdfSection {
            algorithm: "argon2id".into(),
            version: 0x13,
            params,
            salt: hex::encode(salt),
        },
        wrapped_key: String::new(),
        created_at,
        key_id: None,
        key_check: None,
        members: Vec::new(),
    };
    let kek = kdf::derive(passphrase, &salt, &params).map_err(|e| e.to_string())?;
    let sealed = crypto::seal_with(&crypto::kek_cipher(&kek), raw_key, &header.key_aad());
    header.wrapped_key = hex::encode(sealed);
    let key = DataKey::from_raw(raw_key);
    name_key(&mut header, &key, key_id);
    Ok(header)
}

/// Stamps `header` with the id and check of `key`.
pub fn name_key(header: &mut Header, key: &DataKey, key_id: String) {
    let check = key.seal(b"", &key_check_aad(&header.vault_id, &key_id));
    header.key_check = Some(hex::encode(check));
    header.key_id = Some(key_id);
}

/// Opens the slot `unlock` names.
pub fn open(header: &Header, unlock: Unlock<'_>) -> Result<DataKey, SlotError> {
    match unlock {
        Unlock::Passphrase(_) if !header.members.is_empty() => Err(SlotError::NeedsIdentity),
        Unlock::Passphrase(passphrase) => unwrap_passphrase(header, passphrase),
        Unlock::Identity(identity) => unwrap_identity(header, &identity),
        Unlock::Key(key) => {
            check_key(header, &key)?;
            Ok(*key)
        }
    }
}

/// Derives the key-encryption key and unwraps the data key.
fn unwrap_passphrase(header: &Header, passphrase: &[u8]) -> Result<DataKey, SlotError> {
    let damaged = |what: &str| SlotError::Damaged(what.to_string());
    let salt = header
        .salt()
        .ok_or_else(|| damaged("the header salt is malformed"))?;
    let wrapped =
        hex::decode(&header.wrapped_key).map_err(|_| damaged("the wrapped key is malformed"))?;
    let kek = kdf::derive(passphrase, &salt, &header.kdf.params)
        .map_err(|e| SlotError::Damaged(e.to_string()))?;
    let raw = crypto::open_with(&crypto::kek_cipher(&kek), &wrapped, &header.key_aad())
        .map_err(|_| SlotError::Wrong)?;
    let raw: Zeroizing<[u8; 32]> = match raw.as_slice().try_into() {
        Ok(bytes) => Zeroizing::new(bytes),
        Err(_) => return Err(damaged("the wrapped key has the wrong length")),
    };
    let key = DataKey::from_raw(&raw);
    // A format-5 header names its key: the unwrapped key must be the one it names.
    if header.key_check.is_some() {
        check_key(header, &key)?;
    }
    Ok(key)
}

/// Whether `key` is the data key `header` names. A header without a key check (format 4 and
/// older) cannot vouch for a key handed in.
pub fn check_key(header: &Header, key: &DataKey) -> Result<(), SlotError> {
    let (Some(id), Some(check)) = (&header.key_id, &header.key_check) else {
        return Err(SlotError::Wrong);
    };
    let check = hex::decode(check)
        .map_err(|_| SlotError::Damaged("the key check is malformed".to_string()))?;
    key.open(&check, &key_check_aad(&header.vault_id, id))
        .map(drop)
        .map_err(|_| SlotError::Wrong)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_passphrase_slot_opens_with_its_passphrase_or_its_key_only() {
        let (key, raw) = DataKey::generate();
        let header =
            wrap_passphrase("v".into(), 0, b"pass", &raw, fresh_key_id(), kdf::FLOOR).unwrap();
        let opened = open(&header, Unlock::Passphrase(b"pass")).unwrap();
        assert_eq!(opened.raw(), key.raw());
        assert_eq!(
            open(&header, Unlock::Passphrase(b"nope")).err(),
            Some(SlotError::Wrong)
        );
        // The key itself, as an agent would hand it over: accepted without the KDF.
        assert!(open(&header, Unlock::Key(Box::new(DataKey::from_raw(&raw)))).is_ok());
        let (other, _) = DataKey::generate();
        assert_eq!(
            open(&header, Unlock::Key(Box::new(other))).err(),
            Some(SlotError::Wrong)
        );
        // A re-keyed header names another key: the old one no longer passes its check.
        let (_, new_raw) = DataKey::generate();
        let rekeyed =
            wrap_passphrase("v".into(), 0, b"pass", &new_raw, fresh_key_id(), kdf::FLOOR).unwrap();
        assert_eq!(check_key(&rekeyed, &key), Err(SlotError::Wrong));
    }
}
