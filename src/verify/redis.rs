//! Redis verification: AUTH (with the ACL user when one is given), SELECT the database when it
//! is not 0, then PING. keyway opens the TCP connection itself, and the TLS one over it with
//! its own trust (verify/tls: the shared CAs, the certificate and the host name checked), then
//! hands the stream to the `redis` crate, which speaks the protocol. Each command is sent on its
//! own so the server's answer to it (WRONGPASS, NOAUTH, ...) is read as the server said it;
//! the crate's own connection setup folds those into one "authentication failed".
//!
//! `tls = off` sends the password in clear, so it is allowed only for a loopback host, where it
//! is the default; elsewhere the default is on.

use std::sync::Arc;

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, RedisConnectionInfo};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use super::budget::{connect_tcp, ReadBudget};
use super::failure::NetFailure;
use super::safety;
use super::tls::{DbTls, Trust};
use super::{Finding, Limits};
use crate::core::transport::is_loopback_host;
use crate::core::{Credential, TlsState};

/// The most keyway reads from a Redis server in one verification: its answers are a few bytes,
/// and a hostile server must not make the parser buffer a bulk string of gigabytes.
const READ_BUDGET: usize = 64 * 1024;

/// The credential's connection settings, checked before any socket is opened.
struct Target<'a> {
    host: &'a str,
    port: u16,
    user: Option<&'a str>,
    password: Option<&'a str>,
    database: i64,
    tls: bool,
}

impl Target<'_> {
    fn where_(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    fn who(&self) -> String {
        match self.user {
            Some(user) => format!("user '{user}'"),
            None => "the default user".to_string(),
        }
    }

    fn tls_state(&self) -> TlsState {
        if self.tls {
            TlsState::Verified
        } else {
            TlsState::None
        }
    }

    fn phrase(&self) -> &'static str {
        if self.tls {
            "encrypted, server certificate verified"
        } else {
            "unencrypted: tls = off, loopback only"
        }
    }
}

fn target(credential: &Credential) -> Result<Target<'_>, Finding> {
    let host = safety::host(credential)?;
    let loopback = is_loopback_host(host);
    let tls = match safety::optional(credential, "tls") {
        None => !loopback,
        Some("on") => true,
        Some("off") => false,
        Some(other) => {
            return Err(Finding::misconfigured(format!(
                "The field 'tls' ('{other}') must be on or off."
            )))
        }
    };
    if !tls && !loopback {
        return Err(Finding::misconfigured(format!(
            "tls = off would let the password cross the network in clear, so keyway allows it only for a loopback host, not {host}; use tls = on."
        )));
    }
    let database = match safety::optional(credential, "database") {
        None => 0,
        Some(n) => n.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
            Finding::misconfigured(format!(
                "The field 'database' ('{n}') must be a database number (0, 1, ...)."
            ))
        })?,
    };
    let user = safety::optional(credential, "user");
    let password = safety::optional(credential, "password");
    if user.is_some() && password.is_none() {
        return Err(Finding::misconfigured(
            "The field 'password' is empty: an ACL user logs in with its password.".into(),
        ));
    }
    Ok(Target {
        host,
        port: safety::port(credential, 6379)?,
        user,
        password,
        database,
        tls,
    })
}

pub(crate) async fn verify_redis(
    trust: &Trust,
    limits: Limits,
    credential: &Credential,
) -> Finding {
    let t = match target(credential) {
        Ok(t) => t,
        Err(f) => return f,
    };
    let where_ = t.where_();
    let tcp = match connect_tcp(t.host, t.port, &where_, limits).await {
        Ok(tcp) => tcp,
        Err(f) => return f,
    };
    let result = if t.tls {
        let connector = match DbTls::verify_full().connector(trust) {
            Ok(c) => c,
            Err(f) => return f,
        };
        let Ok(name) = ServerName::try_from(t.host.to_string()) else {
            return Finding::misconfigured(format!(
                "The field 'host' ('{}') is not a host name or IP address.",
                t.host
            ));
        };
        let tls = tokio_rustls::TlsConnector::from(Arc::new(connector.config));
        match tokio::time::timeout(limits.connect_timeout, tls.connect(name, tcp)).await {
            Ok(Ok(stream)) => check(ReadBudget::new(stream, READ_BUDGET), &t).await,
            Ok(Err(e)) => return handshake_failure(&e, &t, limits),
            Err(_) => return silent_handshake(&t, limits).await,
        }
    } else {
        check(ReadBudget::new(tcp, READ_BUDGET), &t).await
    };
    match result {
        Ok(()) => Finding::verified(
            format!(
                "Logged in to Redis at {where_} as {} and PING answered ({}).",
                t.who(),
                t.phrase()
            ),
            Some("PONG".to_string()),
        )
        .over(t.tls_state()),
        Err(failure) => failure.finding(&t, limits),
    }
}

/// Why a check over an open connection failed, and at which step.
enum Failure {
    Auth(redis::RedisError),
    Select(redis::RedisError),
    Ping(redis::RedisError),
    /// The server closed the connection (or sent what is not RESP) before answering.
    Closed,
}

impl Failure {
    fn finding(self, t: &Target<'_>, limits: Limits) -> Finding {
        let where_ = t.where_();
        let state = t.tls_state();
        let (step, e) = match self {
            Failure::Closed => {
                return Finding::unreachable(format!(
                    "{where_} closed the connection without answering as a Redis server{}.",
                    if t.tls {
                        ""
                    } else {
                        " (if it expects TLS, set tls = on)"
                    }
                ))
            }
            Failure::Auth(e) => ("AUTH", e),
            Failure::Select(e) => ("SELECT", e),
            Failure::Ping(e) => ("PING", e),
        };
        let Some(code) = e.code() else {
            if e.is_io_error() || e.is_connection_dropped() {
                return NetFailure::from_chain(&e)
                    .finding(&where_, limits.connect_timeout.as_secs());
            }
            return Finding::unreachable(format!(
                "{where_} did not answer {step} as a Redis server does."
            ));
        };
        let detail = e.detail().unwrap_or("");
        let finding = match (step, code) {
            (_, "WRONGPASS") => Finding::rejected(format!(
                "Redis at {where_} rejected the password for {} (WRONGPASS).",
                t.who()
            )),
            ("AUTH", "ERR") if detail.contains("without any password configured") => {
                Finding::rejected(format!(
                    "Redis at {where_} has no password set for {}, but the credential gives one (NOAUTH): clear the password, or set one on the server.",
                    t.who()
                ))
            }
            (_, "NOAUTH") => Finding::rejected(format!(
                "Redis at {where_} requires a password, and the credential has none (NOAUTH)."
            )),
            (_, "NOPERM") => Finding::rejected(format!(
                "Redis at {where_} does not let {} run {step} (NOPERM).",
                t.who()
            )),
            ("SELECT", _) => Finding::rejected(format!(
                "Redis at {where_} has no database {} (SELECT refused).",
                t.database
            )),
            (_, "LOADING" | "BUSY" | "MASTERDOWN" | "TRYAGAIN") => Finding::unreachable(format!(
                "Redis at {where_} cannot answer now ({code}); try again later."
            )),
            _ => Finding::rejected(format!(
                "Redis at {where_} refused {step} ({}).",
                code.chars().take(24).collect::<String>()
            )),
        };
        finding.over(state)
    }
}

/// AUTH, SELECT and PING over `stream`, each checked on its own. The connection's driver runs
/// here, not on a spawned task, so a cancelled verification leaves nothing behind.
async fn check<S>(stream: S, t: &Target<'_>) -> Result<(), Failure>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    // No credentials in the connection info: the crate would send them itself and fold the
    // server's answer into a generic error. No CLIENT SETINFO either: nothing but the check.
    let info = RedisConnectionInfo::default().set_skip_set_lib_name();
    let config = AsyncConnectionConfig::new().set_response_timeout(None);
    let (mut conn, driver) = MultiplexedConnection::new_with_config(&info, stream, config)
        .await
        .map_err(|_| Failure::Closed)?;
    let steps = async {
        if let Some(password) = t.password {
            let mut auth = redis::cmd("AUTH");
            if let Some(user) = t.user {
                auth.arg(user);
            }
            auth.arg(password);
            auth.query_async::<()>(&mut conn)
                .await
                .map_err(Failure::Auth)?;
        }
        if t.database != 0 {
            redis::cmd("SELECT")
                .arg(t.database)
                .query_async::<()>(&mut conn)
                .await
                .map_err(Failure::Select)?;
        }
        let pong: String = redis::cmd("PING")
            .query_async(&mut conn)
            .await
            .map_err(Failure::Ping)?;
        if pong != "PONG" {
            return Err(Failure::Closed);
        }
        Ok(())
    };
    tokio::pin!(driver);
    tokio::select! {
        result = steps => result,
        () = &mut driver => Err(Failure::Closed),
    }
}

/// A TLS handshake that failed: a server that answered with something other than TLS is a
/// plain server (misconfigured: the setting, not the network, is wrong), a certificate keyway
/// refused is misconfigured as everywhere, the rest is the network.
fn handshake_failure(e: &std::io::Error, t: &Target<'_>, limits: Limits) -> Finding {
    let where_ = t.where_();
    let not_tls = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .is_some_and(|tls| matches!(tls, rustls::Error::InvalidMessage(_)));
    if not_tls {
        return Finding::misconfigured(format!(
            "The server at {where_} does not speak TLS; set tls = off only for a loopback host."
        ));
    }
    NetFailure::from_chain(e).finding(&where_, limits.connect_timeout.as_secs())
}

/// The TLS handshake got no answer within the connect timeout. A plain Redis server never
/// answers a ClientHello (it waits for the end of a command line that never comes), so ask it
/// a plain PING on a new connection, which carries nothing secret: an answer in RESP means
/// the server does not speak TLS, a misconfiguration rather than a network problem.
async fn silent_handshake(t: &Target<'_>, limits: Limits) -> Finding {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let where_ = t.where_();
    let probe = async {
        let mut tcp = TcpStream::connect((t.host, t.port)).await.ok()?;
        tcp.write_all(b"PING\r\n").await.ok()?;
        let mut answer = [0u8; 1];
        tcp.read_exact(&mut answer).await.ok()?;
        Some(answer[0])
    };
    match tokio::time::timeout(limits.connect_timeout, probe).await {
        Ok(Some(b'+' | b'-')) => Finding::misconfigured(format!(
            "The server at {where_} does not speak TLS; set tls = off only for a loopback host."
        )),
        _ => NetFailure::SlowAnswer.finding(&where_, limits.connect_timeout.as_secs()),
    }
}
