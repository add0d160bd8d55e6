//! The records keyway keeps: workspaces, credentials and flows, plus the verification results
//! stored on credentials. Plain values; the rules live in `rules.rs`.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::secret::SecretFields;
use super::time::Timestamp;

/// A record's identity: 128 random bits as 32 lowercase hex digits. Ids never change, so a
/// rename touches one record and references stay valid.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RecordId(pub String);

impl RecordId {
    /// Builds an id from 16 bytes the caller drew from a CSPRNG (the core has no randomness).
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        RecordId(hex::encode(bytes))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workspace {
    pub id: RecordId,
    pub name: String,
    pub created_at: Timestamp,
}

/// Where a credential or flow runs. Staging and production are the common pair; teams may name
/// their own (e.g. "qa").
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Environment {
    #[default]
    Staging,
    Production,
    Named(String),
}

impl Environment {
    pub fn parse(text: &str) -> Result<Environment, String> {
        let t = text.trim();
        match t.to_ascii_lowercase().as_str() {
            "staging" => Ok(Environment::Staging),
            "production" | "prod" => Ok(Environment::Production),
            _ => {
                super::rules::check_name("environment", t)?;
                Ok(Environment::Named(t.to_string()))
            }
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Environment::Staging => "staging",
            Environment::Production => "production",
            Environment::Named(n) => n,
        }
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Environment {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Environment {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Environment::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// The outcome class of a verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The service accepted the credential.
    Verified,
    /// The service said the credential is wrong.
    Rejected,
    /// The service could not be reached (DNS, refused, TLS, timeout, 5xx).
    Unreachable,
    /// The request could not be built from the credential's fields.
    Misconfigured,
    /// Saved without a successful verification, on the user's explicit request.
    Unverified,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Verified => "verified",
            Status::Rejected => "rejected",
            Status::Unreachable => "unreachable",
            Status::Misconfigured => "misconfigured",
            Status::Unverified => "unverified",
        }
    }
}

/// The stored result of one verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verification {
    pub status: Status,
    /// One sentence a person understands.
    pub reason: String,
    /// A short detail on success (account name, server version).
    #[serde(default)]
    pub detail: Option<String>,
    #[serde(default)]
    pub latency_ms: Option<u64>,
    pub at: Timestamp,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Credential {
    pub id: RecordId,
    pub workspace: RecordId,
    /// The catalogue id of the component this credential belongs to.
    pub component: String,
    pub name: String,
    pub environment: Environment,
    /// Non-secret field values (base_url, host, client_id, ...).
    pub public: BTreeMap<String, String>,
    /// Secret field values (api_key, password, tokens, ...).
    pub secrets: SecretFields,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// The newest verification result. The vault keeps results (and the bounded history, read
    /// on demand) in tables of their own, so recording a result never rewrites this record;
    /// vaults of format 1 stored it here, which is why it is still read.
    #[serde(default, skip_serializing)]
    pub last_verification: Option<Verification>,
}

/// How many past verifications a credential keeps in its history.
pub const HISTORY_LIMIT: usize = 20;

impl Credential {
    /// The status word scripts rely on: a verification status, or `never`.
    pub fn status_word(&self) -> &'static str {
        self.last_verification
            .as_ref()
            .map_or("never", |v| v.status.as_str())
    }

    /// Its last verification failed (rejected or misconfigured): a flow may not run on it.
    /// Unreachable and unverified are not failures; never verified is not either.
    pub fn is_failing(&self) -> bool {
        matches!(
            self.last_verification.as_ref().map(|v| v.status),
            Some(Status::Rejected | Status::Misconfigured)
        )
    }

    /// Makes `v` the newest verification result (the store also appends it to the history).
    pub fn record_verification(&mut self, v: Verification) {
        self.last_verification = Some(v);
    }

    /// A credential holding just these fields, for unit tests of code that reads fields.
    #[cfg(test)]
    pub(crate) fn with_fields(public: &[(&str, &str)], secrets: &[(&str, &str)]) -> Credential {
        let mut s = SecretFields::new();
        for (k, v) in secrets {
            s.insert(*k, secrecy::SecretString::from(v.to_string()));
        }
        Credential {
            id: RecordId("c".into()),
            workspace: RecordId("w".into()),
            component: "x".into(),
            name: "n".into(),
            environment: Environment::Staging,
            public: public
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            secrets: s,
            created_at: Timestamp(0),
            updated_at: Timestamp(0),
            last_verification: None,
        }
    }

    /// A field's value whether public or secret; secrets exposed, so use only to build requests.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.public
            .get(name)
            .map(String::as_str)
            .or_else(|| self.secrets.expose(name))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowStep {
    pub component: String,
    pub credential: RecordId,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flow {
    pub id: RecordId,
    pub workspace: RecordId,
    pub name: String,
    pub environment: Environment,
    pub steps: Vec<FlowStep>,
    pub active: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Flow {
    pub fn uses(&self, credential: &RecordId) -> bool {
        self.steps.iter().any(|s| &s.credential == credential)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environments_parse_known_and_named() {
        assert_eq!(Environment::parse("Staging"), Ok(Environment::Staging));
        assert_eq!(Environment::parse("prod"), Ok(Environment::Production));
        assert_eq!(
            Environment::parse("qa"),
            Ok(Environment::Named("qa".into()))
        );
        assert!(Environment::parse("").is_err());
        assert!(Environment::parse("a\u{7}b").is_err());
    }

    #[test]
    fn the_latest_result_is_not_part_of_the_stored_record() {
        let mut c = Credential {
            id: RecordId("c".into()),
            workspace: RecordId("w".into()),
            component: "stripe".into(),
            name: "main".into(),
            environment: Environment::Staging,
            public: BTreeMap::new(),
            secrets: SecretFields::new(),
            created_at: Timestamp(0),
            updated_at: Timestamp(0),
            last_verification: None,
        };
        assert_eq!(c.status_word(), "never");
        c.record_verification(Verification {
            status: Status::Verified,
            reason: "ok".into(),
            detail: None,
            latency_ms: Some(1),
            at: Timestamp(29),
        });
        assert_eq!(c.status_word(), "verified");
        let json = serde_json::to_value(&c).unwrap();
        assert!(json.get("last_verification").is_none(), "{json}");
        // A format-1 record carried it, and still reads.
        let mut legacy = json;
        legacy["last_verification"] =
            serde_json::to_value(c.last_verification.as_ref().unwrap()).unwrap();
        let read: Credential = serde_json::from_value(legacy).unwrap();
        assert_eq!(read.last_verification, c.last_verification);
    }
}
