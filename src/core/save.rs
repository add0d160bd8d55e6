//! The one save decision, "nothing invalid is saved", for every face: the CLI's `credential add`,
//! `edit` and `login`, the TUI's form (and with it the wizard's and promotion's inline adds), and
//! `import`. A live check of the credential comes first; its result decides.

use super::domain::{Status, Verification};

/// What the save rule says about a credential, given the result of checking it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaveDecision {
    /// Save it, with this result as its newest.
    Save(Verification),
    /// Nothing is saved: the service said no (rejected), or the fields cannot form a request
    /// (misconfigured).
    Refuse { status: Status, reason: String },
    /// Nothing is saved: the service could not be reached. Saving it marked unverified is the
    /// user's explicit choice, to be asked for (`decide(check, None, true)`).
    Unreachable { reason: String },
    /// Nothing is saved, nothing was sent: the credential pins no SSH host key, and the
    /// server presented `fingerprint`. Trust on first use, never silently: the user confirms
    /// it (the TUI asks) or passes it (the CLI refuses and prints the `--field` to add), and
    /// the credential is checked again with it pinned in `HOST_KEY_FIELD`.
    ConfirmHostKey { fingerprint: String, reason: String },
}

/// The field an SSH credential pins its server's host key fingerprint in.
pub const HOST_KEY_FIELD: &str = "host_key";

/// Decides on `check`, the result of verifying the credential about to be saved, and
/// `host_key_to_confirm`, the fingerprint of an SSH server whose host key the credential does
/// not pin yet (see `SaveDecision::ConfirmHostKey`; it wins over everything else).
/// `save_unverified`: the user asked to save it even if the service cannot be reached; it is
/// then saved marked unverified, keeping what the check found (reason, latency, detail) so an
/// audit can say why.
pub fn decide(
    check: Verification,
    host_key_to_confirm: Option<&str>,
    save_unverified: bool,
) -> SaveDecision {
    if let Some(fingerprint) = host_key_to_confirm {
        return SaveDecision::ConfirmHostKey {
            fingerprint: fingerprint.to_string(),
            reason: check.reason,
        };
    }
    match check.status {
        Status::Verified => SaveDecision::Save(check),
        Status::Unreachable if save_unverified => SaveDecision::Save(Verification {
            status: Status::Unverified,
            reason: format!("Saved unverified: {}", check.reason),
            ..check
        }),
        Status::Unreachable => SaveDecision::Unreachable {
            reason: check.reason,
        },
        // A check never answers Unverified; if one did, it proved nothing.
        status @ (Status::Rejected | Status::Misconfigured | Status::Unverified) => {
            SaveDecision::Refuse {
                status,
                reason: check.reason,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::time::Timestamp;

    fn check(status: Status, reason: &str) -> Verification {
        Verification {
            status,
            reason: reason.into(),
            detail: Some("PostgreSQL 15.8".into()),
            latency_ms: Some(40),
            at: Timestamp(7),
            run: None,
            tls: None,
        }
    }

    #[test]
    fn only_a_verified_credential_is_saved_unless_unreachable_and_asked() {
        let ok = check(Status::Verified, "accepted");
        assert_eq!(
            decide(ok.clone(), None, false),
            SaveDecision::Save(ok.clone())
        );
        assert_eq!(decide(ok.clone(), None, true), SaveDecision::Save(ok));
        for status in [Status::Rejected, Status::Misconfigured] {
            for asked in [false, true] {
                assert_eq!(
                    decide(check(status, "no"), None, asked),
                    SaveDecision::Refuse {
                        status,
                        reason: "no".into()
                    }
                );
            }
        }
        assert_eq!(
            decide(check(Status::Unreachable, "refused"), None, false),
            SaveDecision::Unreachable {
                reason: "refused".into()
            }
        );
    }

    #[test]
    fn saved_unverified_keeps_what_the_check_found() {
        let saved = decide(
            check(Status::Unreachable, "Connection refused."),
            None,
            true,
        );
        assert_eq!(
            saved,
            SaveDecision::Save(Verification {
                status: Status::Unverified,
                reason: "Saved unverified: Connection refused.".into(),
                ..check(Status::Unreachable, "")
            })
        );
    }

    #[test]
    fn an_unpinned_host_key_is_confirmed_first_whatever_else_was_asked() {
        let fingerprint = "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s";
        for asked in [false, true] {
            assert_eq!(
                decide(
                    check(Status::Misconfigured, "pins none yet"),
                    Some(fingerprint),
                    asked
                ),
                SaveDecision::ConfirmHostKey {
                    fingerprint: fingerprint.into(),
                    reason: "pins none yet".into()
                }
            );
        }
    }
}
