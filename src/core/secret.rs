//! Secret field values. They live in `SecretString`s (zeroized on drop, redacted in Debug) and are
//! serialized only by the vault's encrypt path, which calls `expose_for_vault` explicitly.

use std::collections::BTreeMap;
use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A credential's secret fields by name. Debug prints the names only.
#[derive(Clone, Default)]
pub struct SecretFields(BTreeMap<String, SecretString>);

impl SecretFields {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn insert(&mut self, name: impl Into<String>, value: SecretString) {
        self.0.insert(name.into(), value);
    }

    pub fn get(&self, name: &str) -> Option<&SecretString> {
        self.0.get(name)
    }

    /// The secret's value, for the one place that needs it (a request being built, `--reveal`).
    pub fn expose(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(|s| s.expose_secret())
    }

    pub fn remove(&mut self, name: &str) -> Option<SecretString> {
        self.0.remove(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    pub fn contains(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Equality of values, compared without copying secrets out.
    pub fn same_values(&self, other: &SecretFields) -> bool {
        self.0.len() == other.0.len()
            && self.0.iter().all(|(k, v)| {
                other
                    .0
                    .get(k)
                    .is_some_and(|o| o.expose_secret() == v.expose_secret())
            })
    }
}

impl fmt::Debug for SecretFields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.keys().map(|k| (k, "[REDACTED]")))
            .finish()
    }
}

/// Serialization exists for the vault's encrypted records only: the plaintext is produced into a
/// zeroizing buffer, encrypted and wiped. No other code path serializes a `SecretFields`.
impl Serialize for SecretFields {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v.expose_secret())?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for SecretFields {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw: BTreeMap<String, String> = BTreeMap::deserialize(deserializer)?;
        Ok(SecretFields(
            raw.into_iter()
                .map(|(k, v)| (k, SecretString::from(v)))
                .collect(),
        ))
    }
}

/// The mask shown in place of a secret value.
pub const MASK: &str = "********";

/// The fewest characters a new passphrase (a vault's or an export's) may have: NIST SP 800-63B's
/// floor for a memorized secret.
pub const PASSPHRASE_MIN_CHARS: usize = 8;

/// Whether a new passphrase is long enough. Why it matters: whoever gets a copy of the file (a
/// backup, a stolen laptop, an export mailed around) can guess offline as fast as their
/// hardware allows; Argon2id makes each guess cost, but a one-character passphrase is still
/// found at once. Spaces are welcome inside a passphrase, but do not count as its length alone.
pub fn check_new_passphrase(passphrase: &str) -> Result<(), String> {
    let chars = passphrase.chars().count();
    if chars > 0 && passphrase.trim().is_empty() {
        // However long: "at least 8 characters (this one has 8)" would contradict itself.
        return Err(format!(
            "a new passphrase cannot be only spaces (this one is {chars} spaces and nothing else): use at least {PASSPHRASE_MIN_CHARS} characters that are not all spaces; anyone with a copy of the file can try passphrases offline, and blank ones are tried first"
        ));
    }
    if chars < PASSPHRASE_MIN_CHARS {
        return Err(format!(
            "a new passphrase needs at least {PASSPHRASE_MIN_CHARS} characters (this one has {chars}): anyone with a copy of the file can try passphrases offline, and a short one is found at once"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_values() {
        let mut s = SecretFields::new();
        s.insert("api_key", SecretString::from("sk_live_SENTINEL"));
        let shown = format!("{s:?}");
        assert!(shown.contains("api_key"));
        assert!(!shown.contains("SENTINEL"));
    }

    #[test]
    fn new_passphrases_have_a_floor() {
        for weak in ["", "x", " ", "seven77", "        "] {
            assert!(check_new_passphrase(weak).is_err(), "{weak:?}");
        }
        for fine in ["eight888", "correct horse", "ключ-ключ"] {
            assert!(check_new_passphrase(fine).is_ok(), "{fine:?}");
        }
        let eight_spaces = check_new_passphrase("        ").unwrap_err();
        assert!(eight_spaces.contains("only spaces"), "{eight_spaces}");
        assert!(!eight_spaces.contains("has 8"), "{eight_spaces}");
        assert!(check_new_passphrase(" ")
            .unwrap_err()
            .contains("only spaces"));
    }

    #[test]
    fn same_values_compares_contents() {
        let mut a = SecretFields::new();
        a.insert("k", SecretString::from("1"));
        let mut b = SecretFields::new();
        b.insert("k", SecretString::from("1"));
        assert!(a.same_values(&b));
        b.insert("k", SecretString::from("2"));
        assert!(!a.same_values(&b));
    }
}
