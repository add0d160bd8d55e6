//! Every screen at 80x24 (designed for it first) and 60x20 (still usable), beside the other
//! snapshots as NAME_80x24 / NAME_60x20, and a check over those snapshots that nothing is cut
//! mid-word without an ellipsis.

use crossterm::event::KeyCode;
use keyway::core::{Snapshot, Status};
use keyway::tui::Action;

use super::harness::*;

/// A reason long enough to be cut at every size, and a name longer than its column.
const LONG_REASON: &str = "PostgreSQL rejected the password for user 'etl' (SQLSTATE 28P01): \
                           check the password, or pg_hba.conf on db.internal";
const LONG_NAME: &str = "acme-db-production-primary";

/// A real catalogue label longer than the form's label column (every HTTP component has it).
const LONG_LABEL: &str = "Allow plain http (non-loopback)";
/// The notice an activation refused on a rejected credential gets, longer than a line.
const LONG_NOTICE: &str = "Not activated: flow 'legacy-sync' cannot be active: step 1 uses \
                           credential 'legacy', whose last verification was rejected";

fn long_snapshot() -> Snapshot {
    let mut s = snapshot();
    // An inactive flow on the rejected credential: activating it is refused at length.
    let mut on_rejected = s.flows[0].clone();
    on_rejected.id = id("f9");
    on_rejected.name = "legacy-sync".into();
    on_rejected.active = false;
    on_rejected.steps[0].credential = s
        .credentials
        .iter()
        .find(|c| c.name == "legacy")
        .map(|c| c.id.clone())
        .unwrap();
    s.flows.push(on_rejected);
    for c in s.credentials.iter_mut() {
        if c.name == "legacy" {
            c.last_verification = Some(verification(Status::Rejected, 7200, LONG_REASON));
        }
        if c.name == "replica" {
            c.name = LONG_NAME.into();
        }
    }
    s
}

/// What leads from the grid to a screen.
type Walk = Box<dyn Fn(&mut Harness)>;

/// The harness, resized, on each screen in turn: (name, what leads there).
fn screens() -> Vec<(&'static str, Walk)> {
    vec![
        ("grid", Box::new(|_h: &mut Harness| {})),
        (
            "workspaces",
            Box::new(|h: &mut Harness| {
                h.key(KeyCode::Char('w'));
            }),
        ),
        ("credentials", Box::new(|h: &mut Harness| h.open_postgres())),
        (
            "form",
            Box::new(|h: &mut Harness| {
                h.open_postgres();
                h.key(KeyCode::Char('a'));
            }),
        ),
        (
            "detail",
            Box::new(|h: &mut Harness| {
                h.open_postgres();
                // The first row by name: the long-named one.
                h.key(KeyCode::Char('i'));
                let credential = id("c3");
                h.act(Action::HistoryLoaded {
                    credential,
                    result: Ok(vec![verification(Status::Rejected, 7200, LONG_REASON)]),
                });
            }),
        ),
        (
            "flows",
            Box::new(|h: &mut Harness| {
                h.key(KeyCode::Char('f'));
            }),
        ),
        (
            "wizard",
            Box::new(|h: &mut Harness| {
                h.key(KeyCode::Char('f'));
                h.key(KeyCode::Char('c'));
            }),
        ),
        (
            "audit",
            Box::new(|h: &mut Harness| {
                h.key(KeyCode::Char('A'));
                h.key(KeyCode::Down);
                h.key(KeyCode::Down); // legacy, with the long reason
            }),
        ),
        (
            "help",
            Box::new(|h: &mut Harness| {
                h.key(KeyCode::Char('?'));
            }),
        ),
        // A long label wraps onto the next row; a long notice onto the next lines.
        (
            "form_long_label",
            Box::new(|h: &mut Harness| {
                use keyway::tui::screens::form::FieldKey;
                h.key(KeyCode::Char('/'));
                h.typed("stripe");
                h.key(KeyCode::Enter);
                h.key(KeyCode::Char('a'));
                while h.form().unwrap().fields[h.form().unwrap().focus].key
                    != FieldKey::Field("allow_http".into())
                {
                    h.key(KeyCode::Tab);
                }
            }),
        ),
        (
            "flows_long_notice",
            Box::new(|h: &mut Harness| {
                h.key(KeyCode::Char('f'));
                // legacy-sync, first by name.
                h.key(KeyCode::Char('a'));
            }),
        ),
        (
            "wizard_long_message",
            Box::new(|h: &mut Harness| {
                h.key(KeyCode::Char('f'));
                h.key(KeyCode::Char('c'));
                h.typed("nightly");
                h.ctrl('n');
                h.ctrl('n'); // refused: fewer than two components, said at length
            }),
        ),
        // `/` on a list: only the matches, the filter's line above them, n/N to step.
        (
            "audit_filtered",
            Box::new(|h: &mut Harness| {
                h.key(KeyCode::Char('A'));
                h.key(KeyCode::Char('/'));
                h.typed("production ver");
                h.key(KeyCode::Enter);
                h.key(KeyCode::Char('n'));
            }),
        ),
        (
            "credentials_filtered",
            Box::new(|h: &mut Harness| {
                h.open_postgres();
                h.key(KeyCode::Char('/'));
                h.typed("rejected");
            }),
        ),
    ]
}

#[test]
fn every_screen_at_80x24_and_60x20() {
    for (w, hgt) in [(80u16, 24u16), (60, 20)] {
        for (name, walk) in screens() {
            let mut h = Harness::with_snapshot(long_snapshot());
            h.act(Action::Resize(w, hgt));
            walk(&mut h);
            let screen = h.screen(w, hgt);
            assert!(!screen.contains(SECRET), "{name}: a secret was drawn");
            if name == "form_long_label" {
                // Wrapped between its words, every word shown.
                assert!(screen.contains("Allow plain http"), "{screen}");
                assert!(screen.contains("(non-loopback)"), "{screen}");
            }
            if name == "flows_long_notice" {
                let words: String = screen
                    .lines()
                    .map(|l| l.trim_matches(|c| c == '"' || c == '│' || c == ' '))
                    .collect::<Vec<_>>()
                    .join(" ");
                assert!(words.contains(LONG_NOTICE), "the whole notice: {screen}");
            }
            assert_screen!(format!("{name}_{w}x{hgt}"), screen);
        }
    }
}

/// The texts of the fixture that are longer than the columns they show in.
const KNOWN_TEXTS: &[&str] = &[
    LONG_REASON,
    LONG_LABEL,
    LONG_NOTICE,
    "Only for trusted networks: the key then travels unencrypted",
    "Pick two or more components (0 chosen): type to filter, Enter adds",
    "adds the highlighted component.",
    "Two or more are needed to continue.",
    LONG_NAME,
    "nightly-etl",
    "staging (default), production, or a name of your own",
    "host=db.internal  port=5432",
    "✓ 2 verified · ✗ 1 rejected · ! 1 unverified · ○ 1 never · 0 expire within 14d",
];

/// Where `line` shows a known text cut in the middle of a word with no ellipsis: a prefix of
/// the text (at least 5 characters, starting where a word starts, ending inside a word of the
/// text) followed by something that is neither the text's next character nor '…'. A prefix
/// ending where the text has a space is a line wrapped between words, not a cut.
fn cut_without_ellipsis(line: &str, text: &str) -> Option<String> {
    let text: Vec<char> = text.chars().collect();
    let chars: Vec<char> = line.chars().collect();
    for start in 0..chars.len() {
        if start > 0 && chars[start - 1].is_alphanumeric() {
            continue;
        }
        let mut k = 0;
        while start + k < chars.len() && k < text.len() && chars[start + k] == text[k] {
            k += 1;
        }
        if k < 5 || k == text.len() {
            continue;
        }
        let next = chars.get(start + k).copied().unwrap_or(' ');
        if text[k].is_whitespace() || text[k - 1].is_whitespace() || next == '…' {
            continue;
        }
        return Some(chars[start..start + k].iter().collect());
    }
    None
}

/// Runs over every NAME_80x24 and NAME_60x20 snapshot (they are the reviewed screens the test
/// above draws), so a cut that slips into a reviewed snapshot fails here even if it was
/// accepted there.
#[test]
fn no_snapshot_cuts_a_word_without_an_ellipsis() {
    assert_eq!(
        cut_without_ellipsis("│PostgreSQL rejected th │", LONG_REASON).as_deref(),
        Some("PostgreSQL rejected th")
    );
    assert!(cut_without_ellipsis("│PostgreSQL rejected th…│", LONG_REASON).is_none());
    assert!(cut_without_ellipsis("│PostgreSQL rejected the │", LONG_REASON).is_none());
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tui/snapshots");
    let mut checked = 0;
    let mut problems = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !(name.ends_with("_80x24.snap") || name.ends_with("_60x20.snap")) {
            continue;
        }
        checked += 1;
        for line in std::fs::read_to_string(&path).unwrap().lines() {
            for text in KNOWN_TEXTS {
                if let Some(cut) = cut_without_ellipsis(line, text) {
                    problems.push(format!("{name}: {cut:?} in {line}"));
                }
            }
        }
    }
    assert!(checked >= 18, "only {checked} size snapshots found");
    assert!(problems.is_empty(), "{problems:#?}");
}
