//! Why a server's certificate was refused, in a sentence a person can act on: which CA signed
//! it and where to add that CA, which names it holds instead of the one connected to, when it
//! expired. What the certificate says comes from the server, so every name is cut short and
//! stripped of control characters before it reaches a reason.

use rustls::pki_types::{CertificateDer, ServerName};
use rustls::CertificateError;
use x509_cert::der::asn1::ObjectIdentifier;
use x509_cert::der::Decode;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::name::Name;

use crate::core::time::Timestamp;

/// Which fix a refused certificate's reason suggests: it depends on where keyway's trust came
/// from for that connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Advice {
    /// A database credential without ssl_ca: the system's CAs (and extra_ca_file) were used.
    DatabaseSharedCas,
    /// A database credential with ssl_ca: that CA alone was trusted, as libpq's sslrootcert.
    DatabaseOwnCa,
    /// An HTTPS request: the system's CAs, extra_ca_file and the credential's ca_cert.
    Http,
}

/// A certificate that failed its check, with what it says about itself.
#[derive(Debug, Clone)]
pub(crate) struct CertificateProblem {
    error: CertificateError,
    advice: Advice,
    /// The issuer's common name ("CN=Acme Internal CA"), or its whole name without one.
    issuer: Option<String>,
    subject: Option<String>,
    /// The DNS names and IP addresses the certificate is for.
    names: Vec<String>,
    /// The host name or address keyway connected to.
    expected: String,
    not_before: Option<Timestamp>,
    not_after: Option<Timestamp>,
}

impl std::fmt::Display for CertificateProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Fixed words: rustls folds this into its own error texts, which keyway never shows.
        f.write_str("the server certificate failed keyway's check")
    }
}

impl std::error::Error for CertificateProblem {}

/// At most this many characters of any one name from a certificate.
const NAME_LIMIT: usize = 64;
/// At most this many of a certificate's names are listed.
const NAMES_LISTED: usize = 3;

impl CertificateProblem {
    pub(crate) fn new(
        error: CertificateError,
        end_entity: &CertificateDer<'_>,
        server_name: &ServerName<'_>,
        advice: Advice,
    ) -> CertificateProblem {
        let parsed = x509_cert::Certificate::from_der(end_entity.as_ref()).ok();
        let tbs = parsed.as_ref().map(|c| &c.tbs_certificate);
        let names = tbs
            .and_then(|t| t.get::<SubjectAltName>().ok().flatten())
            .map(|(_, san)| san.0.iter().filter_map(general_name).collect())
            .unwrap_or_default();
        let seconds = |t: &x509_cert::time::Time| {
            i64::try_from(t.to_unix_duration().as_secs())
                .ok()
                .map(Timestamp)
        };
        CertificateProblem {
            error,
            advice,
            issuer: tbs.map(|t| short_name(&t.issuer)),
            subject: tbs.map(|t| short_name(&t.subject)),
            names,
            expected: clean(&server_name.to_str()),
            not_before: tbs.and_then(|t| seconds(&t.validity.not_before)),
            not_after: tbs.and_then(|t| seconds(&t.validity.not_after)),
        }
    }

    /// The reason for a connection to `where_` ("db.example.com:5432") that this stopped.
    pub(crate) fn sentence(&self, where_: &str) -> String {
        let issuer = self.issuer.as_deref().unwrap_or("unknown");
        let detail = match &self.error {
            CertificateError::UnknownIssuer => {
                let fix = match self.advice {
                    Advice::DatabaseSharedCas => "add it as ssl_ca or to the system store",
                    Advice::DatabaseOwnCa => "the CA in ssl_ca did not sign it",
                    Advice::Http => {
                        "add it as ca_cert, to verify.extra_ca_file or to the system store"
                    }
                };
                let signer = if self.issuer.is_some() && self.issuer == self.subject {
                    "is self-signed"
                } else {
                    "is signed by a CA keyway does not trust"
                };
                format!("the server's certificate {signer} (issuer: {issuer}): {fix}")
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                let names = match self.names.len() {
                    0 => "other names".to_string(),
                    n if n <= NAMES_LISTED => self.names.join(", "),
                    n => format!(
                        "{} and {} more",
                        self.names[..NAMES_LISTED].join(", "),
                        n - NAMES_LISTED
                    ),
                };
                let fix = match self.advice {
                    Advice::Http => "use a host name it holds",
                    Advice::DatabaseSharedCas | Advice::DatabaseOwnCa => {
                        "use a host name it holds, or sslmode = verify-ca to check the CA only"
                    }
                };
                format!("the certificate is for {names}, not {}: {fix}", self.expected)
            }
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                match self.not_after {
                    Some(at) => format!("the server's certificate expired on {}", at.rfc3339()),
                    None => "the server's certificate has expired".to_string(),
                }
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                match self.not_before {
                    Some(at) => format!(
                        "the server's certificate is not valid before {} (is this machine's clock right?)",
                        at.rfc3339()
                    ),
                    None => "the server's certificate is not valid yet".to_string(),
                }
            }
            CertificateError::Revoked => "the server's certificate was revoked".to_string(),
            CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
                "the server's certificate is not meant for TLS servers (extended key usage)"
                    .to_string()
            }
            // webpki's wording for a CA certificate served as the server's own (what
            // `openssl req -x509` makes by default).
            CertificateError::Other(other) if other.to_string().contains("CaUsedAsEndEntity") => {
                format!(
                    "the server presents a CA certificate as its own ({}); it needs a server certificate signed by that CA",
                    self.subject.as_deref().unwrap_or("unnamed")
                )
            }
            other => format!("the server's certificate could not be verified ({other})"),
        };
        format!("TLS to {where_} failed: {detail}. Nothing was sent.")
    }
}

/// The common name of `name` as "CN=...", or the whole name when it has none.
fn short_name(name: &Name) -> String {
    const COMMON_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");
    let common = name
        .0
        .iter()
        .flat_map(|rdn| rdn.0.iter())
        .find(|attribute| attribute.oid == COMMON_NAME);
    match common {
        Some(cn) => clean(&cn.to_string()),
        None => clean(&name.to_string()),
    }
}

fn general_name(name: &GeneralName) -> Option<String> {
    match name {
        GeneralName::DnsName(dns) => Some(clean(dns.as_str())),
        GeneralName::IpAddress(bytes) => {
            let bytes = bytes.as_bytes();
            let ip = match bytes.len() {
                4 => std::net::IpAddr::from(<[u8; 4]>::try_from(bytes).ok()?),
                16 => std::net::IpAddr::from(<[u8; 16]>::try_from(bytes).ok()?),
                _ => return None,
            };
            Some(ip.to_string())
        }
        _ => None,
    }
}

/// A name from a certificate, safe to print: no control characters, at most NAME_LIMIT
/// characters.
fn clean(text: &str) -> String {
    let mut out: String = text
        .chars()
        .filter(|c| !c.is_control())
        .take(NAME_LIMIT)
        .collect();
    if text.chars().filter(|c| !c.is_control()).count() > NAME_LIMIT {
        out.push('…');
    }
    out
}
