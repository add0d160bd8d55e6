//! `keyway log [--workspace W] [--since T] [--json]`: who did what in a team vault, from its
//! sealed, hash-chained change log (vault/changelog.rs); a broken chain exits 1 naming the
//! first bad entry.

use serde_json::json;

use super::context::Context;
use super::error::CliError;
use super::output::{print_json, print_table};
use crate::clock;
use crate::core::time::{parse_user_time, Timestamp};

/// `--since`: an RFC 3339 time, or a span back from now like `7d` or `12h`.
fn since(text: &str) -> Result<i64, CliError> {
    if let Some(t) = parse_user_time(text) {
        return Ok(t.0);
    }
    let span = humantime::parse_duration(text).map_err(|_| {
        CliError::Usage(format!(
            "--since {text}: give an RFC 3339 time (2026-05-01T00:00:00Z) or a span like 7d or 12h"
        ))
    })?;
    Ok(clock::now().0 - i64::try_from(span.as_secs()).unwrap_or(i64::MAX / 2))
}

pub fn run(
    ctx: &Context,
    workspace: Option<&str>,
    since_text: Option<&str>,
    as_json: bool,
) -> Result<(), CliError> {
    let from = since_text.map(since).transpose()?;
    if !crate::vault::is_team_vault(&ctx.vault_path) {
        return Err(CliError::Usage(
            "only a team vault keeps a change log (keyway init --url)".into(),
        ));
    }
    let store = ctx.open_store()?;
    let entries = store.vault().change_log()?;
    let shown: Vec<_> = entries
        .iter()
        .filter(|e| workspace.is_none() || e.workspace.as_deref() == workspace)
        .filter(|e| from.is_none_or(|t| e.at >= t))
        .collect();
    if as_json {
        print_json(&serde_json::Value::Array(
            shown
                .iter()
                .map(|e| {
                    json!({
                        "seq": e.seq,
                        "member": e.member,
                        "action": e.action,
                        "workspace": e.workspace,
                        "target": e.target,
                        "revision": e.revision,
                        "at": Timestamp(e.at).rfc3339(),
                    })
                })
                .collect(),
        ))?;
    } else if shown.is_empty() {
        say!("No changes to show.")?;
    } else {
        let rows: Vec<Vec<String>> = shown
            .iter()
            .map(|e| {
                vec![
                    e.seq.to_string(),
                    Timestamp(e.at).rfc3339(),
                    e.member.clone(),
                    e.action.clone(),
                    e.workspace.clone().unwrap_or_default(),
                    e.target.clone().unwrap_or_default(),
                    e.revision.map(|r| r.to_string()).unwrap_or_default(),
                ]
            })
            .collect();
        print_table(
            &[
                "SEQ",
                "AT",
                "MEMBER",
                "ACTION",
                "WORKSPACE",
                "TARGET",
                "REVISION",
            ],
            &rows,
        )?;
    }
    Ok(())
}
