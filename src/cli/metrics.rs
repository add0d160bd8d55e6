//! `keyway audit --format prometheus`: the audit as metrics in the Prometheus text exposition
//! format, for node_exporter's textfile collector (the shape of its `x509_cert_not_after`-style
//! metrics). No timestamps (the collector refuses them), a HELP and a TYPE line per metric, label
//! values escaped as the format says, and never a secret or a field value: only the names of
//! the workspace, component, credential and environment, and the status.
//!
//! With `--output FILE` the file is replaced atomically: written to a temporary file in the same
//! folder, flushed to disk, renamed over the old one and the folder flushed, so the collector
//! reads either the last complete audit or this one, never half of one.

use std::io::Write;
use std::path::Path;

use super::error::CliError;
use crate::core::Status;

/// One credential's row of the audit.
pub struct Sample<'a> {
    pub workspace: &'a str,
    pub component: &'a str,
    pub credential: &'a str,
    pub environment: &'a str,
    pub status: Status,
    /// When the result was found (Unix seconds); None when it was never checked.
    pub last_verified: Option<i64>,
    /// What expires that keyway cannot renew (`core::expiry::lapses_at`), if anything.
    pub expiry: Option<i64>,
}

/// Every status, so each count is present (zero included) and an alert on `rejected` never
/// meets an absent series.
const STATUSES: [Status; 5] = [
    Status::Verified,
    Status::Rejected,
    Status::Unreachable,
    Status::Misconfigured,
    Status::Unverified,
];

/// The metrics text for an audit run at `now`.
pub fn render(samples: &[Sample<'_>], now: i64) -> String {
    let mut out = String::new();
    family(
        &mut out,
        "keyway_credential_verified",
        "Whether the credential passed its last verification (1) or not (0).",
        samples
            .iter()
            .map(|s| (s, Some(i64::from(s.status == Status::Verified)))),
    );
    family(
        &mut out,
        "keyway_credential_last_verified_timestamp_seconds",
        "When the credential was last verified, as a Unix time.",
        samples.iter().map(|s| (s, s.last_verified)),
    );
    family(
        &mut out,
        "keyway_credential_expiry_timestamp_seconds",
        "When the credential stops working unless a person renews it (a refresh token, a client secret, an API key or password with a date), as a Unix time. Access tokens that keyway renews itself are not listed.",
        samples.iter().map(|s| (s, s.expiry)),
    );
    header(
        &mut out,
        "keyway_credentials",
        "How many credentials the audit found in each status.",
    );
    for status in STATUSES {
        let count = samples.iter().filter(|s| s.status == status).count();
        out.push_str(&format!(
            "keyway_credentials{{status=\"{}\"}} {count}\n",
            status.as_str()
        ));
    }
    header(
        &mut out,
        "keyway_audit_last_run_timestamp_seconds",
        "When this audit ran, as a Unix time.",
    );
    out.push_str(&format!("keyway_audit_last_run_timestamp_seconds {now}\n"));
    out
}

fn header(out: &mut String, name: &str, help: &str) {
    out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} gauge\n"));
}

/// One metric family: its HELP and TYPE lines, then a sample per credential that has a value.
fn family<'a>(
    out: &mut String,
    name: &str,
    help: &str,
    values: impl Iterator<Item = (&'a Sample<'a>, Option<i64>)>,
) {
    header(out, name, help);
    for (s, value) in values {
        let Some(value) = value else { continue };
        out.push_str(&format!(
            "{name}{{workspace=\"{}\",component=\"{}\",credential=\"{}\",environment=\"{}\",status=\"{}\"}} {value}\n",
            label(s.workspace),
            label(s.component),
            label(s.credential),
            label(s.environment),
            s.status.as_str(),
        ));
    }
}

/// A label value as the text format writes it: backslash, double quote and line feed escaped.
pub fn label(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// Replaces `path` with `text` atomically (see the module docs). The file is readable by
/// others (0644): node_exporter runs as its own user, and the file holds names, never values.
pub fn write_atomically(path: &Path, text: &str) -> Result<(), CliError> {
    let shown = path.display();
    let failed = |what: &str, e: &dyn std::fmt::Display| {
        CliError::Refused(format!(
            "cannot write the metrics file {shown}: {what}: {e}"
        ))
    };
    if path.is_dir() {
        return Err(CliError::Usage(format!(
            "--output {shown} is a folder; name the metrics file (e.g. {shown}/keyway.prom)"
        )));
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut file = tempfile::Builder::new()
        .prefix(".keyway-metrics-")
        .suffix(".tmp")
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644))
        .tempfile_in(dir)
        .map_err(|e| failed("cannot create a temporary file beside it", &e))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.as_file().sync_all())
        .map_err(|e| failed("cannot write it", &e))?;
    file.persist(path)
        .map_err(|e| failed("cannot move it into place", &e.error))?;
    // The rename itself is durable once the folder is.
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| failed("cannot flush its folder", &e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped_and_absent_values_leave_no_sample() {
        assert_eq!(label(r#"a\b"c"#), r#"a\\b\"c"#);
        assert_eq!(label("two\nlines"), "two\\nlines");
        let s = Sample {
            workspace: "acme",
            component: "stripe",
            credential: "say \"hi\"",
            environment: "production",
            status: Status::Rejected,
            last_verified: Some(100),
            expiry: None,
        };
        let text = render(&[s], 200);
        assert!(text.contains(r#"credential="say \"hi\"""#), "{text}");
        assert!(
            !text.contains("keyway_credential_expiry_timestamp_seconds{"),
            "{text}"
        );
        assert!(text.contains("keyway_credentials{status=\"rejected\"} 1\n"));
        assert!(text.contains("keyway_credentials{status=\"verified\"} 0\n"));
        assert!(text.ends_with("keyway_audit_last_run_timestamp_seconds 200\n"));
    }
}
