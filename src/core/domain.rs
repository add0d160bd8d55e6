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

/// Where a record stands: its revision number (1 for a new record, one more with every write;
/// 0 for a record not stored yet), and who made that revision, when.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Revision {
    pub number: u64,
    /// `user@host (keyway credential edit)`, or `user@host (tui)`; on a team vault the
    /// member's name first: `alice, user@host (tui)` (see `Author`).
    pub changed_by: String,
    pub changed_at: Timestamp,
}

impl Revision {
    /// The revision a write of a record at `self` makes.
    pub fn next(&self, changed_by: &str, changed_at: Timestamp) -> Revision {
        Revision {
            number: self.number + 1,
            changed_by: changed_by.to_string(),
            changed_at,
        }
    }

    /// Who made this revision, read from `changed_by` (see `Author`).
    pub fn author(&self) -> Author<'_> {
        Author::of(&self.changed_by)
    }

    /// "revision 4 by alice@ops1 (keyway credential edit) at 2026-11-30T10:00:00Z".
    pub fn describe(&self) -> String {
        format!(
            "revision {} by {} at {}",
            self.number,
            self.changed_by,
            self.changed_at.rfc3339()
        )
    }
}

/// Who wrote a revision, as its `changed_by` records it: `user@host (command)` on a file vault,
/// `member, user@host (command)` on a team vault (the member's name from their key slot). What
/// a conflict message, the form's banner and its conflict dialog say, so that all three name
/// the writer the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Author<'a> {
    /// The team vault member who made the change.
    pub member: Option<&'a str>,
    /// `user@host` (or `KEYWAY_MEMBER`) of the process that wrote it.
    pub writer: &'a str,
    /// The command that wrote it (`keyway credential edit`, `tui`), if recorded.
    pub via: Option<&'a str>,
}

impl<'a> Author<'a> {
    pub fn of(changed_by: &'a str) -> Author<'a> {
        let (who, via) = match changed_by
            .strip_suffix(')')
            .and_then(|s| s.rsplit_once(" ("))
        {
            Some((who, via)) => (who, (!via.is_empty()).then_some(via)),
            None => (changed_by, None),
        };
        // At the last ", ": a writer name cannot hold a comma (`vault::actor` refuses one), but a
        // member's name may ("ops, night").
        let (member, writer) = match who.rsplit_once(", ") {
            Some((member, writer)) => (Some(member), writer),
            None => (None, who),
        };
        Author {
            member,
            writer,
            via,
        }
    }
}

/// "alice@ops-1" on a file vault, "alice (etl@ops-1)" on a team vault.
impl fmt::Display for Author<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.member {
            Some(member) => write!(f, "{member} ({})", self.writer),
            None => f.write_str(self.writer),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workspace {
    pub id: RecordId,
    pub name: String,
    pub created_at: Timestamp,
    /// Where the stored record stands (see revision.rs); 0 until it is first written.
    #[serde(default)]
    pub revision: Revision,
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
                super::names::check_name("environment", t)?;
                // Stored composed (NFC), so two spellings of one name are one environment.
                use unicode_normalization::UnicodeNormalization;
                Ok(Environment::Named(t.nfc().collect()))
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

/// How the connection a verification used was protected, for scripts and audits to flag
/// (README, "JSON output": the `tls` key).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TlsState {
    /// No TLS: plain http or `sslmode = disable`, which keyway allows only where nothing leaves
    /// the machine (loopback) or where the credential explicitly opted in.
    None,
    /// Encrypted, and the server's certificate was checked against a trusted CA.
    Verified,
    /// Encrypted, but the server's certificate was not checked (`sslmode = require` without a
    /// CA, as libpq does): anyone on the path could have answered. Audits warn about it.
    Unchecked,
}

impl TlsState {
    pub fn as_str(self) -> &'static str {
        match self {
            TlsState::None => "none",
            TlsState::Verified => "verified",
            TlsState::Unchecked => "unchecked",
        }
    }

    /// The less protected of two connections one verification made (an OAuth2 token request
    /// and a userinfo request): a result is only as protected as its weakest link.
    pub fn weakest(self, other: TlsState) -> TlsState {
        let rank = |t: TlsState| match t {
            TlsState::None => 0,
            TlsState::Unchecked => 1,
            TlsState::Verified => 2,
        };
        if rank(other) < rank(self) {
            other
        } else {
            self
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
    /// The latency of the check made at `at` (the latest, when it heads a run).
    #[serde(default)]
    pub latency_ms: Option<u64>,
    /// When the check was made (the latest, when it heads a run).
    pub at: Timestamp,
    /// Set when rechecks of the unchanged credential came back with this same result: the
    /// history keeps such a run as one entry, so it shows the last HISTORY_LIMIT changes rather
    /// than the last HISTORY_LIMIT checks, and a steady audit stores little.
    #[serde(default)]
    pub run: Option<Run>,
    /// How the connection was protected; None when no connection was made (or the result
    /// predates the key, or was saved unverified).
    #[serde(default)]
    pub tls: Option<TlsState>,
}

/// What `Verification::record_recheck` did.
#[derive(Debug, PartialEq, Eq)]
pub enum Recheck {
    /// The result repeated the newest one and joined its run.
    Repeated,
    /// The result is the new newest, a new history entry.
    New,
}

/// A run of identical results (status, reason and detail) from rechecks of an unchanged
/// credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Run {
    /// When the first check of the run was made.
    pub first: Timestamp,
    /// How many checks the run holds, at least 2.
    pub count: u32,
}

impl Verification {
    /// A credential saved without a successful verification, on the user's request.
    pub fn unverified(reason: String, at: Timestamp) -> Verification {
        Verification {
            status: Status::Unverified,
            reason,
            detail: None,
            latency_ms: None,
            at,
            run: None,
            tls: None,
        }
    }

    /// Whether `next` is the same result again: the same status, reason, detail and TLS state
    /// (latency and time differ from check to check).
    pub fn is_repeated_by(&self, next: &Verification) -> bool {
        self.status == next.status
            && self.reason == next.reason
            && self.detail == next.detail
            && self.tls == next.tls
    }

    /// Takes `next`, a repeat of this result, into its run: the time and latency become the
    /// newest check's (the time never moves back, should the clock have), the first time and
    /// the count are kept.
    pub fn absorb(&mut self, next: &Verification) {
        self.run = Some(Run {
            first: self.first_at(),
            count: self.checks().saturating_add(1),
        });
        self.at = self.at.max(next.at);
        self.latency_ms = next.latency_ms;
    }

    /// Takes `result`, from rechecking a stored credential unchanged, into `newest` (its newest
    /// result): folded into the run when it repeats it, else the newest result itself, and
    /// says which, with the newest result as it now stands. The vault's history follows
    /// (`ResultBatch::recheck`).
    pub fn record_recheck(
        newest: &mut Option<Verification>,
        result: Verification,
    ) -> (Recheck, &Verification) {
        let (recheck, current) = match newest.take() {
            Some(mut last) if last.is_repeated_by(&result) => {
                last.absorb(&result);
                (Recheck::Repeated, last)
            }
            _ => (Recheck::New, result),
        };
        (recheck, newest.insert(current))
    }

    /// Makes a run read from a file of unknown origin (an import) consistent: fewer than two
    /// checks are no run, and the first check is no later than the latest.
    pub fn make_run_consistent(&mut self) {
        let at = self.at;
        self.run = self.run.filter(|r| r.count >= 2).map(|r| Run {
            first: r.first.min(at),
            count: r.count,
        });
    }

    /// How many checks this entry stands for.
    pub fn checks(&self) -> u32 {
        self.run.map_or(1, |r| r.count)
    }

    /// When the first check this entry stands for was made.
    pub fn first_at(&self) -> Timestamp {
        self.run.map_or(self.at, |r| r.first)
    }
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
    /// Where the stored record stands (see revision.rs); 0 until it is first written. Recording
    /// a verification result does not move it: results belong to the revision they verified.
    #[serde(default)]
    pub revision: Revision,
    /// When the password was last changed by a save (None: not since the credential was
    /// stored, or by a keyway that did not keep it); see `rotation::password_set_at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_changed_at: Option<Timestamp>,
    /// A password rotation started and not finished (sealed with the record): resolved on the
    /// credential's next use (see rotation.rs). Boxed: rarely there, and a credential travels by
    /// value in journals and conflicts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_rotation: Option<Box<super::rotation::PendingRotation>>,
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

    /// Makes `v`, the result of verifying this version of the credential (a save), its newest
    /// result: a new history entry, even if the result is the same as before.
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
            revision: Revision::default(),
            password_changed_at: None,
            pending_rotation: None,
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
    /// Where the stored record stands (see revision.rs); 0 until it is first written.
    #[serde(default)]
    pub revision: Revision,
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
        let mut c = Credential::with_fields(&[], &[]);
        assert_eq!(c.status_word(), "never");
        c.record_verification(Verification {
            status: Status::Verified,
            reason: "ok".into(),
            detail: None,
            latency_ms: Some(1),
            at: Timestamp(29),
            run: None,
            tls: None,
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

    #[test]
    fn rechecks_that_repeat_the_newest_result_fold_into_its_run() {
        let check = |at: i64, latency: u64| Verification {
            status: Status::Verified,
            reason: "ok".into(),
            detail: Some("acct".into()),
            latency_ms: Some(latency),
            at: Timestamp(at),
            run: None,
            tls: None,
        };
        let mut newest = None;
        assert_eq!(
            Verification::record_recheck(&mut newest, check(10, 5)),
            (Recheck::New, &check(10, 5))
        );
        assert_eq!(newest, Some(check(10, 5)));
        assert_eq!(
            Verification::record_recheck(&mut newest, check(20, 7)).0,
            Recheck::Repeated
        );
        let _ = Verification::record_recheck(&mut newest, check(30, 9));
        let run = Some(Run {
            first: Timestamp(10),
            count: 3,
        });
        assert_eq!(
            newest,
            Some(Verification {
                run,
                ..check(30, 9)
            })
        );
        assert_eq!(newest.as_ref().unwrap().checks(), 3);
        // Another status, reason, detail or TLS state is a new result, not a repeat.
        for changed in [
            Verification {
                status: Status::Rejected,
                ..check(40, 1)
            },
            Verification {
                reason: "ok, again".into(),
                ..check(40, 1)
            },
            Verification {
                detail: None,
                ..check(40, 1)
            },
            Verification {
                tls: Some(TlsState::Unchecked),
                ..check(40, 1)
            },
        ] {
            let mut n = newest.clone();
            let recorded = Verification::record_recheck(&mut n, changed.clone());
            assert_eq!(recorded, (Recheck::New, &changed));
            assert_eq!(n, Some(changed));
        }
        // The count stops at its ceiling rather than wrapping.
        let mut full = Verification {
            run: Some(Run {
                first: Timestamp(0),
                count: u32::MAX,
            }),
            ..check(1, 1)
        };
        full.absorb(&check(2, 1));
        assert_eq!(full.checks(), u32::MAX);
        // A run from an imported file is made consistent.
        let mut odd = Verification {
            run: Some(Run {
                first: Timestamp(99),
                count: 5,
            }),
            ..check(50, 1)
        };
        odd.make_run_consistent();
        assert_eq!(odd.first_at(), Timestamp(50));
        odd.run = Some(Run {
            first: Timestamp(1),
            count: 1,
        });
        odd.make_run_consistent();
        assert_eq!(odd.run, None);
        // A check timed before the run's latest (the clock moved back) does not move it back.
        full.absorb(&check(0, 3));
        assert_eq!((full.at, full.latency_ms), (Timestamp(2), Some(3)));
    }
}
