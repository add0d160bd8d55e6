//! MySQL / MariaDB verification: log in with the credential's fields (mysql_async over rustls)
//! and ask `SELECT VERSION()`. TLS follows the sslmode words every database engine shares (see
//! verify/tls): encrypted unless `sslmode = disable`, which keyway allows only for a loopback
//! host, and never a plaintext fallback (mysql_async refuses a server without the SSL
//! capability when TLS options are given).
//!
//! mysql_async builds its own rustls config from certificates, so the trust is handed over as
//! certificates: `ssl_ca`'s alone (the built-in roots off), or else webpki's plus those the
//! shared trust adds (the system's store, verify.extra_ca_file). verify-ca skips the host
//! name check; require without a CA checks nothing (the result says so).

use mysql_async::prelude::Queryable;
use mysql_async::{ClientIdentity, OptsBuilder, SslOpts};

use super::failure::NetFailure;
use super::safety;
use super::tls::{self, DbTls, ServerCheck, Trust};
use super::{Finding, Limits};
use crate::core::Credential;

/// The largest packet keyway accepts from the server: the answers it asks for are tiny, and a
/// hostile server must not make it buffer mysql_async's default (up to 1 GiB).
const MAX_PACKET: usize = 1024 * 1024;

/// The credential's connection settings, checked before any socket is opened.
struct Target<'a> {
    host: &'a str,
    port: u16,
    database: Option<&'a str>,
    user: &'a str,
    password: &'a str,
    tls: DbTls,
    /// `ssl_cert` and `ssl_key` as stored (PEM), checked by `DbTls` already.
    identity: Option<(&'a str, &'a str)>,
}

impl Target<'_> {
    fn where_(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

fn target(credential: &Credential) -> Result<Target<'_>, Finding> {
    let host = safety::host(credential)?;
    let tls = DbTls::from_credential(credential, host)?;
    let identity = match (
        safety::optional(credential, "ssl_cert"),
        safety::optional(credential, "ssl_key"),
    ) {
        (Some(cert), Some(key)) => Some((cert, key)),
        _ => None,
    };
    Ok(Target {
        host,
        port: safety::port(credential, 3306)?,
        database: safety::optional(credential, "database"),
        user: safety::required(credential, "user")?,
        password: safety::required(credential, "password")?,
        tls,
        identity,
    })
}

/// The connection options for `t`: TCP only (mysql_async would otherwise switch a loopback
/// connection to the server's Unix socket, which is not what the credential names).
fn options(t: &Target<'_>, trust: &Trust) -> OptsBuilder {
    let builder = OptsBuilder::default()
        .ip_or_hostname(t.host)
        .tcp_port(t.port)
        .user(Some(t.user))
        .pass(Some(t.password))
        .db_name(t.database)
        .prefer_socket(false)
        .max_allowed_packet(Some(MAX_PACKET))
        .stmt_cache_size(0);
    if !t.tls.uses_tls() {
        return builder;
    }
    let certificates = |certs: &[rustls::pki_types::CertificateDer<'static>]| {
        certs
            .iter()
            .map(|c| c.as_ref().to_vec().into())
            .collect::<Vec<_>>()
    };
    let mut ssl = match t.tls.own_cas() {
        Some(cas) => SslOpts::default()
            .with_disable_built_in_roots(true)
            .with_root_certs(certificates(cas)),
        None => SslOpts::default().with_root_certs(certificates(&trust.added)),
    };
    ssl = match t.tls.server_check() {
        ServerCheck::ChainAndName => ssl,
        ServerCheck::Chain => ssl.with_danger_skip_domain_validation(true),
        ServerCheck::Nothing => ssl.with_danger_accept_invalid_certs(true),
    };
    if let Some((cert, key)) = t.identity {
        ssl = ssl.with_client_identity(Some(ClientIdentity::new(
            cert.as_bytes().to_vec().into(),
            key.as_bytes().to_vec().into(),
        )));
    }
    builder.ssl_opts(Some(ssl))
}

pub(crate) async fn verify_mysql(
    trust: &Trust,
    limits: Limits,
    credential: &Credential,
) -> Finding {
    let t = match target(credential) {
        Ok(t) => t,
        Err(f) => return f,
    };
    match login_and_query(options(&t, trust)).await {
        Ok(version) => Finding::logged_in(short_version(&version), &t.where_(), t.user, &t.tls),
        Err(e) => describe_error(&e, &t, limits),
    }
}

/// Changes the user's own password, logged in with the credential as it is; no other account
/// can be named, and no privilege is needed. MySQL: `ALTER USER CURRENT_USER() IDENTIFIED BY
/// '...'`, which keeps the account's authentication plugin and which MySQL writes to its
/// general, slow and binary logs with the password replaced by `<secret>`. MariaDB refuses
/// ALTER USER without the CREATE USER privilege, so there: `SET PASSWORD = PASSWORD('...')`,
/// the statement it offers every user for their own password (the server hashes it; its
/// general log, when on, holds the statement). The password is one of keyway's own (letters,
/// digits, `-`, `_`), so the literal needs no escaping; it is checked all the same.
pub(crate) async fn change_password_mysql(
    trust: &Trust,
    limits: Limits,
    credential: &Credential,
    new_password: &str,
) -> Finding {
    let t = match target(credential) {
        Ok(t) => t,
        Err(f) => return f,
    };
    if !new_password
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Finding::misconfigured(
            "The new password holds characters keyway does not send in a statement.".into(),
        );
    }
    let changed = async {
        let mut conn = mysql_async::Conn::new(options(&t, trust)).await?;
        let version: Option<String> = conn.query_first("SELECT VERSION()").await?;
        let mariadb = version.is_some_and(|v| v.to_ascii_lowercase().contains("mariadb"));
        let (statement, named) = if mariadb {
            (
                format!("SET PASSWORD = PASSWORD('{new_password}')"),
                "SET PASSWORD = PASSWORD(...)",
            )
        } else {
            (
                format!("ALTER USER CURRENT_USER() IDENTIFIED BY '{new_password}'"),
                "ALTER USER CURRENT_USER() IDENTIFIED BY ...",
            )
        };
        let done = conn.query_drop(statement.as_str()).await;
        let _ = conn.disconnect().await;
        Ok::<_, mysql_async::Error>(done.map(|()| named))
    };
    match changed.await {
        Ok(Ok(named)) => Finding::verified(
            format!(
                "The server at {} took the new password for '{}' ({named}).",
                t.where_(),
                t.user
            ),
            None,
        )
        .over(t.tls.state()),
        Ok(Err(mysql_async::Error::Server(e))) => Finding::rejected(format!(
            "The server at {} refused the password change for '{}': {} (error {}).",
            t.where_(),
            t.user,
            e.message
                .chars()
                .take(160)
                .collect::<String>()
                .trim_end_matches('.'),
            e.code
        )),
        Ok(Err(e)) | Err(e) => describe_error(&e, &t, limits),
    }
}

/// Connects, asks for the version and says goodbye (COM_QUIT). Dropped at the deadline, the
/// half-made connection goes with the future.
async fn login_and_query(opts: OptsBuilder) -> Result<String, mysql_async::Error> {
    let mut conn = mysql_async::Conn::new(opts).await?;
    let version: Option<String> = conn.query_first("SELECT VERSION()").await?;
    // The answer is in: a failed goodbye changes nothing about the credential.
    let _ = conn.disconnect().await;
    Ok(version.unwrap_or_default())
}

/// "10.11.6-MariaDB-0+deb12u1" → "MariaDB 10.11.6"; "8.0.36" → "MySQL 8.0.36".
pub(crate) fn short_version(full: &str) -> String {
    // MariaDB's handshake puts "5.5.5-" before its version for old clients' sake.
    let full = full.strip_prefix("5.5.5-").unwrap_or(full);
    let number: String = full
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let product = if full.to_ascii_lowercase().contains("mariadb") {
        "MariaDB"
    } else {
        "MySQL"
    };
    if number.is_empty() {
        product.to_string()
    } else {
        format!("{product} {number}")
    }
}

/// Server error codes (MySQL's include/mysqld_error.h, shared by MariaDB).
mod code {
    pub const DBACCESS_DENIED: u16 = 1044;
    pub const ACCESS_DENIED: u16 = 1045;
    pub const BAD_DB: u16 = 1049;
    pub const HOST_BLOCKED: u16 = 1129;
    pub const HOST_NOT_PRIVILEGED: u16 = 1130;
    pub const TOO_MANY_CONNECTIONS: u16 = 1040;
    pub const CON_COUNT: u16 = 1203;
    pub const SERVER_SHUTDOWN: u16 = 1053;
    pub const ACCESS_DENIED_NO_PASSWORD: u16 = 1698;
    pub const SECURE_TRANSPORT_REQUIRED: u16 = 3159;
    pub const ACCOUNT_LOCKED: u16 = 3118;
    pub const PASSWORD_EXPIRED: u16 = 1820;
    pub const PASSWORD_EXPIRED_MARIADB: u16 = 1862;
}

fn describe_error(e: &mysql_async::Error, t: &Target<'_>, limits: Limits) -> Finding {
    let where_ = t.where_();
    match e {
        mysql_async::Error::Server(server) => describe_server_error(server, t).over(t.tls.state()),
        mysql_async::Error::Driver(mysql_async::DriverError::NoClientSslFlagFromServer) => {
            tls::not_offered(&where_)
        }
        mysql_async::Error::Driver(mysql_async::DriverError::ConnectionClosed) => {
            Finding::unreachable(format!("{where_} closed the connection unexpectedly."))
        }
        mysql_async::Error::Driver(mysql_async::DriverError::UnknownAuthPlugin { name }) => {
            Finding::misconfigured(format!(
                "The server at {where_} asks for the authentication plugin '{}', which keyway does not support.",
                name.chars().take(40).collect::<String>()
            ))
        }
        mysql_async::Error::Driver(mysql_async::DriverError::CleartextPluginDisabled) => {
            Finding::misconfigured(format!(
                "The server at {where_} asks for the password in clear (mysql_clear_password); keyway does not send it that way."
            ))
        }
        mysql_async::Error::Driver(_) | mysql_async::Error::Other(_) => {
            // A server that does not speak the protocol (an HTTP port, a hostile one).
            Finding::unreachable(format!(
                "{where_} did not answer as a MySQL or MariaDB server."
            ))
        }
        mysql_async::Error::Url(_) => {
            Finding::misconfigured("The connection settings could not be used.".into())
        }
        mysql_async::Error::Io(_) => {
            let failure = NetFailure::from_chain(e);
            if matches!(failure, NetFailure::Tls(Some(_))) && t.identity.is_none() {
                // A server that wants a client certificate ends the handshake with an alert
                // (certificate_required, handshake_failure) when none is offered.
                if let NetFailure::Tls(Some(rustls::AlertDescription::CertificateRequired)) =
                    failure
                {
                    return tls::client_certificate_required(&where_);
                }
            }
            failure.finding(&where_, limits.connect_timeout.as_secs())
        }
    }
}

fn describe_server_error(e: &mysql_async::ServerError, t: &Target<'_>) -> Finding {
    let where_ = t.where_();
    let database = t.database.unwrap_or("");
    match e.code {
        code::ACCESS_DENIED | code::ACCESS_DENIED_NO_PASSWORD => Finding::rejected(format!(
            "MySQL at {where_} rejected the password for user '{}' (or there is no such user for this client's address).",
            t.user
        )),
        code::DBACCESS_DENIED => Finding::rejected(format!(
            "The user '{}' may not use the database '{database}' on {where_} (access denied).",
            t.user
        )),
        code::BAD_DB => Finding::rejected(format!(
            "The database '{database}' does not exist on {where_}."
        )),
        code::ACCOUNT_LOCKED => Finding::rejected(format!(
            "The account '{}' on {where_} is locked.",
            t.user
        )),
        code::PASSWORD_EXPIRED | code::PASSWORD_EXPIRED_MARIADB => Finding::rejected(format!(
            "The password of '{}' on {where_} has expired; set a new one.",
            t.user
        )),
        code::SECURE_TRANSPORT_REQUIRED => Finding::misconfigured(format!(
            "The server at {where_} accepts only encrypted connections; choose an sslmode other than disable."
        )),
        code::HOST_NOT_PRIVILEGED | code::HOST_BLOCKED => Finding::rejected(format!(
            "The server at {where_} does not accept logins from this machine's address (error {}).",
            e.code
        )),
        code::TOO_MANY_CONNECTIONS | code::CON_COUNT | code::SERVER_SHUTDOWN => {
            Finding::unreachable(format!(
                "The server at {where_} is busy or shutting down (error {}); try again later.",
                e.code
            ))
        }
        other => Finding::rejected(format!(
            "The server at {where_} refused the login: {} (error {other}).",
            e.message
                .chars()
                .take(120)
                .collect::<String>()
                .trim_end_matches('.')
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_shortened() {
        assert_eq!(
            short_version("10.11.6-MariaDB-0+deb12u1"),
            "MariaDB 10.11.6"
        );
        assert_eq!(short_version("8.0.36"), "MySQL 8.0.36");
        assert_eq!(short_version("5.5.5-10.11.6-MariaDB"), "MariaDB 10.11.6");
    }
}
