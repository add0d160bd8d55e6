//! Revisions: every stored record says how many times it was written, who wrote it last and
//! when. A change names the revision it was based on; if the record moved on meanwhile (another
//! process wrote it), the change is a conflict, never an overwrite. The conflict carries both
//! versions, so a face can show them side by side. (`Revision` itself is a domain type, kept
//! in domain.rs with the records it belongs to.)

use std::fmt;

use super::domain::{Credential, Flow, RecordId, Revision, Workspace};

/// The kinds of records that carry revisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordKind {
    Workspace,
    Credential,
    Flow,
}

impl RecordKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Workspace => "workspace",
            RecordKind::Credential => "credential",
            RecordKind::Flow => "flow",
        }
    }
}

/// One record of any kind, as a conflict shows it.
#[derive(Debug, Clone)]
pub enum AnyRecord {
    Workspace(Workspace),
    Credential(Credential),
    Flow(Flow),
}

impl AnyRecord {
    pub fn kind(&self) -> RecordKind {
        match self {
            AnyRecord::Workspace(_) => RecordKind::Workspace,
            AnyRecord::Credential(_) => RecordKind::Credential,
            AnyRecord::Flow(_) => RecordKind::Flow,
        }
    }

    pub fn id(&self) -> &RecordId {
        match self {
            AnyRecord::Workspace(w) => &w.id,
            AnyRecord::Credential(c) => &c.id,
            AnyRecord::Flow(f) => &f.id,
        }
    }

    pub fn name(&self) -> &str {
        match self {
            AnyRecord::Workspace(w) => &w.name,
            AnyRecord::Credential(c) => &c.name,
            AnyRecord::Flow(f) => &f.name,
        }
    }

    pub fn revision(&self) -> &Revision {
        match self {
            AnyRecord::Workspace(w) => &w.revision,
            AnyRecord::Credential(c) => &c.revision,
            AnyRecord::Flow(f) => &f.revision,
        }
    }
}

/// A change refused because the record is no longer the revision it was based on.
#[derive(Debug, Clone)]
pub struct Conflict {
    /// The revision the change was based on (0: it was to create the record).
    pub based_on: u64,
    /// The record as the refused change would have written it (None: a deletion).
    pub mine: Option<AnyRecord>,
    /// The record as it is stored now (None: it was deleted meanwhile).
    pub theirs: Option<AnyRecord>,
}

impl Conflict {
    fn subject(&self) -> Option<&AnyRecord> {
        self.theirs.as_ref().or(self.mine.as_ref())
    }
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (kind, name) = self
            .subject()
            .map_or(("record", ""), |r| (r.kind().as_str(), r.name()));
        match &self.theirs {
            Some(theirs) => {
                let revision = theirs.revision();
                let author = revision.author();
                write!(
                    f,
                    "{kind} '{name}' was changed by {author} at {} since you read it: it is now revision {}",
                    revision.changed_at.rfc3339(),
                    revision.number,
                )?;
                if let Some(via) = author.via {
                    write!(f, " (written by {via})")?;
                }
                write!(
                    f,
                    "; you had revision {}; nothing was written",
                    self.based_on
                )
            }
            None => write!(
                f,
                "{kind} '{name}' was deleted by another process since you read it (you had revision {}); nothing was written",
                self.based_on
            ),
        }
    }
}

/// The revision rule: a change based on revision `based_on` (0 to create) may be written over
/// `current`, the record as stored (None: absent), only if that is still the revision it read.
pub fn check_revision(based_on: u64, current: Option<&Revision>) -> Result<(), u64> {
    let found = current.map_or(0, |r| r.number);
    if found == based_on {
        Ok(())
    } else {
        Err(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::domain::Author;
    use crate::core::time::Timestamp;

    fn rev(number: u64) -> Revision {
        Revision {
            number,
            changed_by: "alice@ops1 (keyway credential edit)".into(),
            changed_at: Timestamp(1_780_000_000),
        }
    }

    #[test]
    fn a_change_lands_only_on_the_revision_it_read() {
        assert_eq!(check_revision(0, None), Ok(()));
        assert_eq!(check_revision(3, Some(&rev(3))), Ok(()));
        assert_eq!(check_revision(3, Some(&rev(4))), Err(4));
        // Created meanwhile by someone else, or deleted meanwhile.
        assert_eq!(check_revision(0, Some(&rev(1))), Err(1));
        assert_eq!(check_revision(2, None), Err(0));
    }

    #[test]
    fn revisions_count_up_and_name_who_made_them() {
        let r = rev(4).next("bob@ops2 (tui)", Timestamp(5));
        assert_eq!(r.number, 5);
        assert_eq!(r.changed_by, "bob@ops2 (tui)");
        assert_eq!(
            rev(4).describe(),
            "revision 4 by alice@ops1 (keyway credential edit) at 2026-05-28T20:26:40Z"
        );
    }

    #[test]
    fn an_author_is_read_from_what_changed_by_records() {
        let local = Author::of("alice@ops-1 (keyway credential edit)");
        assert_eq!(
            (local.member, local.writer, local.via),
            (None, "alice@ops-1", Some("keyway credential edit"))
        );
        assert_eq!(local.to_string(), "alice@ops-1");
        let team = Author::of("alice, etl@ops-1 (tui)");
        assert_eq!(
            (team.member, team.writer, team.via),
            (Some("alice"), "etl@ops-1", Some("tui"))
        );
        assert_eq!(team.to_string(), "alice (etl@ops-1)");
        // What older records hold, and a name without a command, are shown as they are.
        let old = Author::of("unknown (written before keyway kept revisions)");
        assert_eq!(old.to_string(), "unknown");
        assert_eq!(Author::of("bob@ops-2").to_string(), "bob@ops-2");
        let comma = Author::of("ops, night, etl@ops-1 (tui)");
        assert_eq!(comma.member, Some("ops, night"));
        assert_eq!(comma.writer, "etl@ops-1");
        assert_eq!(comma.to_string(), "ops, night (etl@ops-1)");
        assert_eq!(Author::of("bob@ops-2 ()").via, None);
    }

    #[test]
    fn a_conflict_names_who_changed_what_and_when() {
        let w = |number| Workspace {
            id: RecordId("w".into()),
            name: "acme".into(),
            created_at: Timestamp(0),
            revision: rev(number),
        };
        let c = Conflict {
            based_on: 3,
            mine: Some(AnyRecord::Workspace(w(3))),
            theirs: Some(AnyRecord::Workspace(w(4))),
        };
        let text = c.to_string();
        assert_eq!(
            text,
            "workspace 'acme' was changed by alice@ops1 at 2026-05-28T20:26:40Z since you read it: it is now revision 4 (written by keyway credential edit); you had revision 3; nothing was written"
        );
        // On a team vault the member comes first, then the user and host they wrote from.
        let mut team = w(4);
        team.revision.changed_by = "alice, etl@ops-1 (tui)".into();
        let c = Conflict {
            theirs: Some(AnyRecord::Workspace(team)),
            ..c
        };
        let text = c.to_string();
        assert!(
            text.contains(
                "was changed by alice (etl@ops-1) at 2026-05-28T20:26:40Z since you read it"
            ),
            "{text}"
        );
        assert!(text.contains("(written by tui)"), "{text}");
        let gone = Conflict { theirs: None, ..c };
        assert!(gone.to_string().contains("was deleted by another process"));
    }
}
