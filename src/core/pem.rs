//! PEM values in credential fields: a CA certificate (`ssl_ca`, `ca_cert`), a client certificate
//! (`ssl_cert`) and its private key (`ssl_key`). They arrive in whatever shape a person pasted:
//! from a file with its line breaks, through `--field ssl_ca=-`, or through the TUI, whose
//! single-line fields drop the line breaks of a paste. Every shape is read the same way and
//! stored in one canonical form (each block re-wrapped at 64 columns), so an unchanged value
//! compares equal whichever way it came in, and the TLS stack always gets well-formed PEM.
//!
//! This reads only the PEM envelope (RFC 7468: labels and base64); what the DER inside means
//! is left to rustls when a connection is made. Text outside the blocks (the "Bag Attributes"
//! and "subject=" lines OpenSSL writes) is dropped. Messages never echo the value: it may be a
//! private key.

use base64::Engine;

/// What a PEM field must hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PemKind {
    /// One or more `CERTIFICATE` blocks (a CA bundle, or a certificate and its chain).
    Certificates,
    /// Exactly one unencrypted private key: PKCS #8 (`PRIVATE KEY`), PKCS #1 (`RSA PRIVATE
    /// KEY`) or SEC 1 (`EC PRIVATE KEY`), the three rustls reads.
    PrivateKey,
    /// Exactly one SSH private key, as `ssh-keygen` writes it (`OPENSSH PRIVATE KEY`, whose
    /// encryption, if any, is inside the block: `private_key_passphrase` opens it) or in the
    /// older PEM forms. Read by russh when the connection is made.
    SshPrivateKey,
}

const KEY_LABELS: [&str; 3] = ["PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY"];
const SSH_KEY_LABELS: [&str; 4] = [
    "OPENSSH PRIVATE KEY",
    "PRIVATE KEY",
    "RSA PRIVATE KEY",
    "EC PRIVATE KEY",
];
/// OpenSSH's readers want its own line width (70), not PEM's 64.
const OPENSSH_LABEL: &str = "OPENSSH PRIVATE KEY";

/// One block as found: its label and its base64 body with the whitespace removed.
struct Block<'a> {
    label: &'a str,
    body: String,
}

/// `text` in canonical form, or why it is not what `kind` needs (a phrase that reads after the
/// field's name: "field 'ssl_ca' must be ...").
pub fn normalise(kind: PemKind, text: &str) -> Result<String, String> {
    let blocks = blocks(text)?;
    match kind {
        PemKind::Certificates => {
            if blocks.is_empty() {
                return Err(
                    "must be a PEM certificate (-----BEGIN CERTIFICATE----- ... -----END CERTIFICATE-----)"
                        .into(),
                );
            }
            if let Some(other) = blocks.iter().find(|b| b.label != "CERTIFICATE") {
                return Err(format!(
                    "must hold certificates only, not a '{}' block",
                    other.label
                ));
            }
        }
        PemKind::PrivateKey => match blocks.as_slice() {
            [] => {
                return Err(
                    "must be a PEM private key (-----BEGIN PRIVATE KEY----- ... -----END PRIVATE KEY-----)"
                        .into(),
                )
            }
            [one] if one.label == "ENCRYPTED PRIVATE KEY" => {
                return Err(
                    "is an encrypted private key; keyway needs it unencrypted (openssl pkey -in key.pem -out plain.pem)"
                        .into(),
                )
            }
            [one] if !KEY_LABELS.contains(&one.label) => {
                return Err(format!(
                    "must be a private key, not a '{}' block",
                    one.label
                ))
            }
            [_] => {}
            _ => return Err("must hold exactly one private key".into()),
        },
        PemKind::SshPrivateKey => match blocks.as_slice() {
            [] => {
                return Err(
                    "must be an SSH private key (-----BEGIN OPENSSH PRIVATE KEY----- ... -----END OPENSSH PRIVATE KEY-----)"
                        .into(),
                )
            }
            [one] if !SSH_KEY_LABELS.contains(&one.label) => {
                return Err(format!(
                    "must be an SSH private key, not a '{}' block",
                    one.label
                ))
            }
            [_] => {}
            _ => return Err("must hold exactly one private key".into()),
        },
    }
    Ok(canonical(&blocks))
}

/// Every `-----BEGIN L----- ... -----END L-----` block in `text`, line breaks or not.
fn blocks(text: &str) -> Result<Vec<Block<'_>>, String> {
    const BEGIN: &str = "-----BEGIN ";
    const DASHES: &str = "-----";
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(BEGIN) {
        let after_begin = &rest[at + BEGIN.len()..];
        let label_end = after_begin
            .find(DASHES)
            .ok_or("has a BEGIN line that is cut off")?;
        let label = &after_begin[..label_end];
        if label.is_empty()
            || !label
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b' ')
        {
            return Err("has a BEGIN line that is not PEM".into());
        }
        let content_and_rest = &after_begin[label_end + DASHES.len()..];
        let end_marker = format!("-----END {label}-----");
        let content_end = content_and_rest
            .find(&end_marker)
            .ok_or_else(|| format!("has a '{label}' block without its END line"))?;
        let content = &content_and_rest[..content_end];
        if content.contains(':') {
            // RFC 1421 headers ("Proc-Type: 4,ENCRYPTED", "DEK-Info: ..."): the legacy form
            // of an encrypted key.
            return Err(if label.ends_with("PRIVATE KEY") {
                "is an encrypted private key; keyway needs it unencrypted (openssl pkey -in key.pem -out plain.pem)".into()
            } else {
                format!("has headers inside its '{label}' block")
            });
        }
        let body: String = content.chars().filter(|c| !c.is_whitespace()).collect();
        let decodes = base64::engine::general_purpose::STANDARD
            .decode(&body)
            .is_ok_and(|der| !der.is_empty());
        if !decodes {
            return Err(format!("has a '{label}' block that is not valid base64"));
        }
        found.push(Block { label, body });
        rest = &content_and_rest[content_end + end_marker.len()..];
    }
    Ok(found)
}

fn canonical(blocks: &[Block<'_>]) -> String {
    let mut out = String::new();
    for (i, block) in blocks.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str("-----BEGIN ");
        out.push_str(block.label);
        out.push_str("-----\n");
        let width = if block.label == OPENSSH_LABEL { 70 } else { 64 };
        // Base64 is ASCII, so 64-byte chunks are 64-character lines.
        for line in block.body.as_bytes().chunks(width) {
            out.push_str(std::str::from_utf8(line).unwrap_or_default());
            out.push('\n');
        }
        out.push_str("-----END ");
        out.push_str(block.label);
        out.push_str("-----");
    }
    out
}

/// How many certificates a canonical PEM value holds.
pub fn count_certificates(text: &str) -> usize {
    text.matches("-----BEGIN CERTIFICATE-----").count()
}

/// A field value for a one-line place (a table cell, the TUI's detail view): the value itself,
/// or for a multi-line one (a PEM certificate or key) a summary of it; JSON output has it whole.
pub fn one_line(value: &str) -> std::borrow::Cow<'_, str> {
    if !value.contains('\n') {
        return std::borrow::Cow::Borrowed(value);
    }
    std::borrow::Cow::Owned(match count_certificates(value) {
        0 => format!("(PEM, {} lines)", value.lines().count()),
        1 => "(PEM, 1 certificate)".to_string(),
        n => format!("(PEM, {n} certificates)"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Not a real certificate: the envelope is all this module reads.
    const BODY: &str = "MIIBszCCAVmgAwIBAgIUQ2bD4Jm1Qvq0y7hZ9n9k0yH6n7owCgYIKoZIzj0EAwIwEjEQMA4GA1UEAwwHVGVzdCBDQTAeFw0yNTAxMDEwMDAwMDBa";

    fn pem(label: &str, body: &str) -> String {
        let lines: Vec<&str> = body
            .as_bytes()
            .chunks(40)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        format!(
            "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
            lines.join("\n")
        )
    }

    #[test]
    fn every_shape_of_one_value_has_one_canonical_form() {
        let file = pem("CERTIFICATE", BODY);
        let canonical = normalise(PemKind::Certificates, &file).unwrap();
        assert!(canonical.starts_with("-----BEGIN CERTIFICATE-----\n"));
        assert!(canonical.ends_with("\n-----END CERTIFICATE-----"));
        assert!(canonical.lines().all(|l| l.len() <= 64));
        // A TUI paste loses the line breaks; CRLF files and stray indentation read the same.
        let pasted: String = file.chars().filter(|c| *c != '\n').collect();
        let crlf = file.replace('\n', "\r\n");
        let noisy = format!("Bag Attributes\n  friendlyName: x\nsubject=CN = x\n  {file}  \n");
        for shape in [pasted, crlf, noisy, canonical.clone()] {
            assert_eq!(
                normalise(PemKind::Certificates, &shape).as_ref(),
                Ok(&canonical),
                "{shape:?}"
            );
        }
    }

    #[test]
    fn bundles_keep_every_certificate_in_order() {
        let two = format!("{}{}", pem("CERTIFICATE", BODY), pem("CERTIFICATE", "AAAA"));
        let canonical = normalise(PemKind::Certificates, &two).unwrap();
        assert_eq!(count_certificates(&canonical), 2);
        assert_eq!(one_line(&canonical), "(PEM, 2 certificates)");
        assert_eq!(one_line("db.internal"), "db.internal");
        assert!(canonical.ends_with("AAAA\n-----END CERTIFICATE-----"));
    }

    #[test]
    fn wrong_contents_are_refused_without_echoing_them() {
        let key = pem("PRIVATE KEY", "U0VOVElORUwtS0VZLUJZVEVT");
        let cases = [
            (PemKind::Certificates, "just text".to_string(), "must be a PEM certificate"),
            (PemKind::Certificates, key.clone(), "not a 'PRIVATE KEY' block"),
            (
                PemKind::Certificates,
                pem("CERTIFICATE", BODY).replace("-----END CERTIFICATE-----", ""),
                "without its END line",
            ),
            (PemKind::Certificates, pem("CERTIFICATE", "!!not base64!!"), "not valid base64"),
            (PemKind::Certificates, "-----BEGIN certificate-----".into(), "not PEM"),
            (PemKind::PrivateKey, pem("CERTIFICATE", BODY), "not a 'CERTIFICATE' block"),
            (PemKind::PrivateKey, format!("{key}{key}"), "exactly one"),
            (
                PemKind::PrivateKey,
                pem("ENCRYPTED PRIVATE KEY", "U0VOVElORUw="),
                "encrypted",
            ),
            (
                PemKind::PrivateKey,
                "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nU0VOVElORUw=\n-----END RSA PRIVATE KEY-----".into(),
                "encrypted",
            ),
        ];
        for (kind, text, expected) in cases {
            let message = normalise(kind, &text).unwrap_err();
            assert!(message.contains(expected), "{text:?}: {message}");
            assert!(!message.contains("U0VOVElO"), "echoed: {message}");
        }
        for label in KEY_LABELS {
            assert!(normalise(PemKind::PrivateKey, &pem(label, "U0VOVElORUw=")).is_ok());
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        /// Whatever is pasted, reading it never panics, and what it stores reads back the same.
        #[test]
        fn any_text_reads_without_panic_and_canonical_forms_are_fixed_points(
            noise in "[ -~\n\r\t]{0,120}",
            body in "[A-Za-z0-9+/]{0,90}",
            label in proptest::sample::select(vec!["CERTIFICATE", "PRIVATE KEY", "X Y"]),
        ) {
            let text = format!("{noise}-----BEGIN {label}-----\n{body}\n-----END {label}-----{noise}");
            for kind in [PemKind::Certificates, PemKind::PrivateKey] {
                for input in [noise.as_str(), text.as_str()] {
                    if let Ok(canonical) = normalise(kind, input) {
                        proptest::prop_assert_eq!(normalise(kind, &canonical), Ok(canonical.clone()));
                    }
                }
            }
        }
    }
}
