//! A member's X25519 identity (the `age` crate's, as age and rage use for files with many
//! recipients), kept on the member's host:
//! - a person's: `identity.json` in the platform config dir, the secret key sealed under a key
//!   derived from the member's passphrase with keyway's own Argon2id settings (`[kdf]`);
//! - a machine's (cron audits): an age identity file of mode 0600 with no passphrase, the
//!   format `age-keygen` writes (comment lines, then `AGE-SECRET-KEY-1...`).
//!
//! The public key (`age1...`) is what a teammate adds to the vault (`keyway member add`).

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::str::FromStr;

use age::secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::crypto;
use super::kdf::{self, KdfParams};

/// The most keyway reads of an identity file.
const FILE_LIMIT: u64 = 64 * 1024;

/// Why an identity cannot be had.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("no identity at {0}: create one with `keyway member keygen`")]
    Missing(String),
    #[error("an identity already exists at {0}; keyway will not overwrite it")]
    Exists(String),
    #[error("wrong passphrase for the identity {0}")]
    WrongPassphrase(String),
    #[error("the identity file {path} cannot be used: {why}")]
    Unusable { path: String, why: String },
    #[error("the public key '{0}' is not an age X25519 public key (age1...)")]
    BadPublicKey(String),
}

/// The sealed form of a person's identity.
#[derive(Serialize, Deserialize)]
struct SealedIdentity {
    format: u32,
    public: String,
    #[serde(flatten)]
    params: KdfParams,
    salt: String,
    /// nonce || AES-256-GCM(the secret key), hex; AAD binds the public key and the settings.
    sealed: String,
}

fn aad(public: &str, params: &KdfParams, salt: &str) -> Vec<u8> {
    format!(
        "keyway-identity-v1|{public}|{}|{}|{}|{salt}",
        params.memory_kib, params.iterations, params.parallelism
    )
    .into_bytes()
}

/// A new X25519 identity.
pub fn generate() -> age::x25519::Identity {
    age::x25519::Identity::generate()
}

/// The public key of `identity`, as a teammate adds it.
pub fn public_key(identity: &age::x25519::Identity) -> String {
    identity.to_public().to_string()
}

/// Reads an `age1...` public key.
pub fn parse_public_key(text: &str) -> Result<age::x25519::Recipient, IdentityError> {
    age::x25519::Recipient::from_str(text.trim())
        .map_err(|_| IdentityError::BadPublicKey(text.trim().to_string()))
}

fn unusable(path: &Path, why: impl std::fmt::Display) -> IdentityError {
    IdentityError::Unusable {
        path: path.display().to_string(),
        why: why.to_string(),
    }
}

/// Writes `text` to a new file at `path` (mode 0600), never over an existing one.
fn write_new(path: &Path, text: &[u8]) -> Result<(), IdentityError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| unusable(path, e))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => IdentityError::Exists(path.display().to_string()),
            _ => unusable(path, e),
        })?;
    file.write_all(text)
        .and_then(|_| file.sync_all())
        .map_err(|e| unusable(path, e))
}

/// Seals `identity` under `passphrase` and writes it to `path` (a new file). The key
/// derivation runs here.
pub fn save_sealed(
    path: &Path,
    identity: &age::x25519::Identity,
    passphrase: &[u8],
    params: KdfParams,
) -> Result<(), IdentityError> {
    let salt = hex::encode(crypto::random_bytes::<16>());
    let salt_bytes: [u8; 16] = hex::decode(&salt)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| unusable(path, "salt"))?;
    let kek = kdf::derive(passphrase, &salt_bytes, &params).map_err(|e| unusable(path, e))?;
    let public = public_key(identity);
    let secret = identity.to_string();
    let sealed = crypto::seal_with(
        &crypto::kek_cipher(&kek),
        secret.expose_secret().as_bytes(),
        &aad(&public, &params, &salt),
    );
    let file = SealedIdentity {
        format: 1,
        public,
        params,
        salt,
        sealed: hex::encode(sealed),
    };
    let text = serde_json::to_vec_pretty(&file).map_err(|e| unusable(path, e))?;
    write_new(path, &text)
}

/// Whether a person's identity exists at `path`, and its public key.
pub fn sealed_public_key(path: &Path) -> Result<Option<String>, IdentityError> {
    if !path.exists() {
        return Ok(None);
    }
    Ok(Some(read_sealed(path)?.public))
}

fn read_sealed(path: &Path) -> Result<SealedIdentity, IdentityError> {
    let text = crate::files::read_text(path, FILE_LIMIT).map_err(|e| unusable(path, e))?;
    serde_json::from_str(&text).map_err(|e| unusable(path, format!("it is malformed ({e})")))
}

/// Opens a person's identity with their passphrase (the key derivation runs here).
pub fn open_sealed(path: &Path, passphrase: &[u8]) -> Result<age::x25519::Identity, IdentityError> {
    if !path.exists() {
        return Err(IdentityError::Missing(path.display().to_string()));
    }
    let file = read_sealed(path)?;
    file.params.check_bounds().map_err(|e| {
        unusable(
            path,
            format!("its key derivation settings are unacceptable: {e}"),
        )
    })?;
    let salt: [u8; 16] = hex::decode(&file.salt)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| unusable(path, "its salt is malformed"))?;
    let sealed = hex::decode(&file.sealed).map_err(|_| unusable(path, "it is malformed"))?;
    let kek = kdf::derive(passphrase, &salt, &file.params).map_err(|e| unusable(path, e))?;
    let secret = crypto::open_with(
        &crypto::kek_cipher(&kek),
        &sealed,
        &aad(&file.public, &file.params, &file.salt),
    )
    .map_err(|_| IdentityError::WrongPassphrase(path.display().to_string()))?;
    let secret = Zeroizing::new(
        String::from_utf8(secret.to_vec()).map_err(|_| unusable(path, "it is malformed"))?,
    );
    let identity =
        age::x25519::Identity::from_str(&secret).map_err(|_| unusable(path, "it is malformed"))?;
    if public_key(&identity) != file.public {
        return Err(unusable(
            path,
            "its public key does not match its secret key",
        ));
    }
    Ok(identity)
}

/// Writes a machine identity (no passphrase) to `path`, a new file of mode 0600.
pub fn save_machine(path: &Path, identity: &age::x25519::Identity) -> Result<(), IdentityError> {
    let secret = identity.to_string();
    let text = Zeroizing::new(format!(
        "# keyway machine identity: no passphrase; keep this file mode 0600\n# public key: {}\n{}\n",
        public_key(identity),
        secret.expose_secret()
    ));
    write_new(path, text.as_bytes())
}

/// Reads a machine identity file (mode 0600 or stricter: a key others can read is refused).
pub fn open_machine(path: &Path) -> Result<age::x25519::Identity, IdentityError> {
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => IdentityError::Missing(path.display().to_string()),
        _ => unusable(path, e),
    })?;
    if meta.permissions().mode() & 0o077 != 0 {
        return Err(unusable(
            path,
            format!(
                "other users can read it (mode {:o}); run chmod 600 on it",
                meta.permissions().mode() & 0o777
            ),
        ));
    }
    let text =
        Zeroizing::new(crate::files::read_text(path, FILE_LIMIT).map_err(|e| unusable(path, e))?);
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .ok_or_else(|| unusable(path, "it holds no identity"))?;
    age::x25519::Identity::from_str(line)
        .map_err(|_| unusable(path, "it does not hold an age X25519 identity"))
}

/// The data key age-encrypted to `recipient`: a member's key slot.
pub fn wrap_for(recipient: &age::x25519::Recipient, raw_key: &[u8; 32]) -> Result<Vec<u8>, String> {
    age::encrypt(recipient, raw_key).map_err(|e| e.to_string())
}

/// The data key from a slot `identity` can open; None when it is not this identity's.
pub fn unwrap_with(
    identity: &age::x25519::Identity,
    wrapped: &[u8],
) -> Option<Zeroizing<[u8; 32]>> {
    let plain = Zeroizing::new(age::decrypt(identity, wrapped).ok()?);
    let raw: [u8; 32] = plain.as_slice().try_into().ok()?;
    Some(Zeroizing::new(raw))
}
