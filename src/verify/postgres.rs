//! PostgreSQL verification: log in with the credential's fields and run `SELECT version()`.
//! TLS is required unless the credential says `sslmode = disable`, and then it is never
//! attempted; with TLS required there is no plaintext fallback (tokio-postgres SslMode::Require
//! fails when the server answers the SSLRequest with 'N').

use std::sync::Arc;

use tokio_postgres::config::SslMode;
use tokio_postgres::error::SqlState;
use tokio_postgres::NoTls;
use tokio_postgres_rustls::MakeRustlsConnect;

use super::safety::{self, NetFailure};
use super::{Finding, Limits};
use crate::core::Credential;

#[derive(Debug, thiserror::Error)]
#[error("the TLS configuration for PostgreSQL could not be built: {0}")]
pub(crate) struct TlsSetupError(#[source] rustls::Error);

/// rustls with the webpki roots and the ring provider passed explicitly, so no process-wide
/// default provider has to be installed (and no other crate's choice can interfere).
pub(crate) fn tls_connector() -> Result<MakeRustlsConnect, TlsSetupError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(TlsSetupError)?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

/// The credential's connection settings, checked before any socket is opened.
struct Target<'a> {
    host: &'a str,
    port: u16,
    database: &'a str,
    user: &'a str,
    password: &'a str,
    tls: bool,
}

fn target(credential: &Credential) -> Result<Target<'_>, Finding> {
    let host = safety::required(credential, "host")?;
    if host.contains('/') {
        // tokio-postgres would read a path as a Unix socket: not what a host field means.
        return Err(Finding::misconfigured(
            "The field 'host' must be a host name or IP address, not a path.".into(),
        ));
    }
    let port = match safety::optional(credential, "port") {
        None => 5432,
        Some(p) => p.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| {
            Finding::misconfigured(format!(
                "The field 'port' ('{p}') is not a port number (1-65535)."
            ))
        })?,
    };
    let tls = match safety::optional(credential, "sslmode").unwrap_or("require") {
        "require" | "verify-full" => true,
        "disable" => false,
        other => {
            return Err(Finding::misconfigured(format!(
                "The field 'sslmode' ('{other}') must be require, verify-full or disable."
            )))
        }
    };
    Ok(Target {
        host,
        port,
        database: safety::optional(credential, "database").unwrap_or("postgres"),
        user: safety::required(credential, "user")?,
        password: safety::required(credential, "password")?,
        tls,
    })
}

pub(crate) async fn verify_postgres(
    tls: &MakeRustlsConnect,
    limits: Limits,
    credential: &Credential,
) -> Finding {
    let t = match target(credential) {
        Ok(t) => t,
        Err(f) => return f,
    };
    let mut config = tokio_postgres::Config::new();
    config
        .host(t.host)
        .port(t.port)
        .dbname(t.database)
        .user(t.user)
        .password(t.password)
        .application_name("keyway")
        .connect_timeout(limits.connect_timeout)
        .ssl_mode(if t.tls {
            SslMode::Require
        } else {
            SslMode::Disable
        });
    let result = if t.tls {
        login_and_query(&config, tls.clone()).await
    } else {
        login_and_query(&config, NoTls).await
    };
    match result {
        Ok(version) => {
            let short = short_version(&version);
            let plain = if t.tls {
                ""
            } else {
                " (unencrypted: sslmode = disable)"
            };
            Finding::verified(
                format!(
                    "Logged in to {short} at {}:{} as '{}'{plain}.",
                    t.host, t.port, t.user
                ),
                Some(short),
            )
        }
        Err(PgFailure::Driver(e)) => describe_error(&e, &t, limits),
        Err(PgFailure::ClosedEarly) => Finding::unreachable(format!(
            "{}:{} closed the connection before answering.",
            t.host, t.port
        )),
    }
}

/// Why the login or the query failed.
enum PgFailure {
    Driver(tokio_postgres::Error),
    /// The server ended the connection cleanly before answering the query.
    ClosedEarly,
}

impl From<tokio_postgres::Error> for PgFailure {
    fn from(e: tokio_postgres::Error) -> Self {
        PgFailure::Driver(e)
    }
}

/// Connects, asks for the version and closes. The connection future is driven here, not
/// spawned, so a cancelled or timed-out verification leaves no task behind.
async fn login_and_query<T>(config: &tokio_postgres::Config, tls: T) -> Result<String, PgFailure>
where
    T: tokio_postgres::tls::MakeTlsConnect<tokio_postgres::Socket>,
{
    let (client, connection) = config.connect(tls).await?;
    tokio::pin!(connection);
    let query = client.query_one("SELECT version()", &[]);
    let row = tokio::select! {
        row = query => row?,
        ended = &mut connection => {
            ended?;
            return Err(PgFailure::ClosedEarly);
        }
    };
    Ok(row.try_get::<_, String>(0)?)
}

/// "PostgreSQL 15.6 (Debian 15.6-0+deb12u1) on x86_64-pc-linux-gnu, ..." → "PostgreSQL 15.6".
fn short_version(full: &str) -> String {
    full.split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

fn describe_error(e: &tokio_postgres::Error, t: &Target<'_>, limits: Limits) -> Finding {
    let where_ = format!("{}:{}", t.host, t.port);
    if let Some(db) = e.as_db_error() {
        let code = db.code();
        if *code == SqlState::INVALID_PASSWORD {
            return Finding::rejected(format!(
                "PostgreSQL rejected the password for user '{}'.",
                t.user
            ));
        }
        if *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION {
            return Finding::rejected(format!(
                "PostgreSQL at {where_} refused the login for user '{}' (no pg_hba.conf rule allows it, or the role cannot log in).",
                t.user
            ));
        }
        if *code == SqlState::INVALID_CATALOG_NAME {
            return Finding::rejected(format!(
                "The database '{}' does not exist on {where_}.",
                t.database
            ));
        }
        let class = &code.code()[..2.min(code.code().len())];
        // 08 connection exception, 53 insufficient resources, 57 operator intervention
        // (shutting down, starting up): the server, not the credential, is the problem.
        let sentence = format!(
            "PostgreSQL at {where_} refused the connection: {} (SQLSTATE {}).",
            db.message().trim_end_matches('.'),
            code.code()
        );
        return if matches!(class, "08" | "53" | "57") {
            Finding::unreachable(sentence)
        } else {
            Finding::rejected(sentence)
        };
    }
    if is_tls_refused(e) {
        return Finding::unreachable(format!(
            "The server at {where_} does not support TLS; keyway will not fall back to an unencrypted connection (sslmode = disable allows it explicitly)."
        ));
    }
    let failure = NetFailure::from_chain(e);
    if failure == NetFailure::Other && e.is_closed() {
        return Finding::unreachable(format!("{where_} closed the connection unexpectedly."));
    }
    Finding::unreachable(failure.sentence(&where_, limits.connect_timeout.as_secs()))
}

/// tokio-postgres has no typed variant for "the server answered 'N' to the SSLRequest"; its
/// fixed message is the only marker. The text comes from tokio-postgres, not the server.
fn is_tls_refused(e: &tokio_postgres::Error) -> bool {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = current {
        if err.to_string().contains("server does not support TLS") {
            return true;
        }
        current = err.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_shortened() {
        assert_eq!(
            short_version("PostgreSQL 15.6 (Debian 15.6-0+deb12u1) on x86_64-pc-linux-gnu"),
            "PostgreSQL 15.6"
        );
    }

    #[test]
    fn tls_connector_builds() {
        assert!(tls_connector().is_ok());
    }
}
