//! PostgreSQL verification: log in with the credential's fields and run `SELECT version()`.
//! TLS follows libpq's sslmode words (see verify/tls): the connection is encrypted unless the
//! credential says `sslmode = disable`, which keyway allows only for a loopback host, and with
//! TLS required there is no plaintext fallback (tokio-postgres SslMode::Require fails when the
//! server answers the SSLRequest with 'N'). A client certificate (`ssl_cert`, `ssl_key`) is
//! offered when the server asks for one.

use tokio_postgres::config::SslMode;
use tokio_postgres::error::SqlState;
use tokio_postgres::NoTls;
use tokio_postgres_rustls::MakeRustlsConnect;

use super::failure::NetFailure;
use super::safety;
use super::tls::{self, ClientCertRequest, DbTls, Trust};
use super::{Finding, Limits};
use crate::core::Credential;

/// The credential's connection settings, checked before any socket is opened.
struct Target<'a> {
    host: &'a str,
    port: u16,
    database: &'a str,
    user: &'a str,
    password: &'a str,
    tls: DbTls,
}

impl Target<'_> {
    fn where_(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

fn target(credential: &Credential) -> Result<Target<'_>, Finding> {
    let host = safety::host(credential)?;
    let port = safety::port(credential, 5432)?;
    Ok(Target {
        host,
        port,
        database: safety::optional(credential, "database").unwrap_or("postgres"),
        user: safety::required(credential, "user")?,
        password: safety::required(credential, "password")?,
        tls: DbTls::from_credential(credential, host)?,
    })
}

fn connection_config(t: &Target<'_>, limits: Limits) -> tokio_postgres::Config {
    let mut config = tokio_postgres::Config::new();
    config
        .host(t.host)
        .port(t.port)
        .dbname(t.database)
        .user(t.user)
        .password(t.password)
        .application_name("keyway")
        .connect_timeout(limits.connect_timeout)
        .ssl_mode(if t.tls.uses_tls() {
            SslMode::Require
        } else {
            SslMode::Disable
        });
    config
}

/// What one connection is for: a login check, or a password change.
enum Work<'a> {
    Version,
    /// The statement to run (it holds a SCRAM verifier, never a password).
    Execute(&'a str),
}

/// Connects as the credential says (TLS per sslmode) and does `work`.
async fn connect_and(
    trust: &Trust,
    t: &Target<'_>,
    limits: Limits,
    work: Work<'_>,
) -> Result<(Result<String, PgFailure>, ClientCertRequest), Finding> {
    let config = connection_config(t, limits);
    if t.tls.uses_tls() {
        let connector = t.tls.connector(trust)?;
        let tls = MakeRustlsConnect::new(connector.config);
        Ok((
            run_work(&config, tls, work).await,
            connector.client_cert_request,
        ))
    } else {
        Ok((
            run_work(&config, NoTls, work).await,
            ClientCertRequest::default(),
        ))
    }
}

pub(crate) async fn verify_postgres(
    trust: &Trust,
    limits: Limits,
    credential: &Credential,
) -> Finding {
    let t = match target(credential) {
        Ok(t) => t,
        Err(f) => return f,
    };
    let (result, asked) = match connect_and(trust, &t, limits, Work::Version).await {
        Ok(done) => done,
        Err(f) => return f,
    };
    match result {
        Ok(version) => Finding::logged_in(short_version(&version), &t.where_(), t.user, &t.tls),
        Err(PgFailure::Driver(e)) => describe_error(&e, &t, &asked, limits),
        // Only a statement of `Work::Execute` fails this way.
        Err(PgFailure::Statement(db)) => describe_db_error(&db, &t, false).over(t.tls.state()),
        Err(PgFailure::ClosedEarly) => Finding::unreachable(format!(
            "{} closed the connection before answering.",
            t.where_()
        )),
    }
}

/// Changes the role's own password to `new_password`, logged in with the credential as it is.
/// The server gets a SCRAM-SHA-256 verifier computed here (`ALTER ROLE CURRENT_USER PASSWORD
/// 'SCRAM-SHA-256$...'`, as psql's `\password` sends), so the password itself never reaches
/// the server, its log (log_statement) or pg_stat_statements. CURRENT_USER: no user name to
/// quote, and no other role than the one logged in can be changed. Verified: the server took
/// it; otherwise why not, the server's reason included.
pub(crate) async fn change_password_postgres(
    trust: &Trust,
    limits: Limits,
    credential: &Credential,
    new_password: &str,
) -> Finding {
    let t = match target(credential) {
        Ok(t) => t,
        Err(f) => return f,
    };
    // The crate promises a verifier of base64 and `$:` only: nothing to escape in a literal.
    let verifier = postgres_protocol::password::scram_sha_256(new_password.as_bytes());
    let statement = format!("ALTER ROLE CURRENT_USER PASSWORD '{verifier}'");
    let (result, asked) = match connect_and(trust, &t, limits, Work::Execute(&statement)).await {
        Ok(done) => done,
        Err(f) => return f,
    };
    match result {
        Ok(_) => Finding::verified(
            format!(
                "PostgreSQL at {} took the new password for '{}' (sent as a SCRAM-SHA-256 verifier).",
                t.where_(),
                t.user
            ),
            None,
        )
        .over(t.tls.state()),
        Err(PgFailure::Statement(db)) => Finding::rejected(format!(
            "PostgreSQL at {} refused the password change for '{}': {} (SQLSTATE {}).",
            t.where_(),
            t.user,
            db.message().trim_end_matches('.'),
            db.code().code()
        )),
        Err(PgFailure::Driver(e)) => describe_error(&e, &t, &asked, limits),
        Err(PgFailure::ClosedEarly) => Finding::unreachable(format!(
            "{} closed the connection before answering.",
            t.where_()
        )),
    }
}

/// Why the login or the query failed.
enum PgFailure {
    Driver(tokio_postgres::Error),
    /// The server refused the statement after the login succeeded.
    Statement(Box<tokio_postgres::error::DbError>),
    /// The server ended the connection cleanly before answering the query.
    ClosedEarly,
}

impl From<tokio_postgres::Error> for PgFailure {
    fn from(e: tokio_postgres::Error) -> Self {
        PgFailure::Driver(e)
    }
}

/// Connects, does the work (asks for the version, or runs the statement) and closes. The
/// connection future is driven here, not spawned, so a cancelled or timed-out verification
/// leaves no task behind.
async fn run_work<T>(
    config: &tokio_postgres::Config,
    tls: T,
    work: Work<'_>,
) -> Result<String, PgFailure>
where
    T: tokio_postgres::tls::MakeTlsConnect<tokio_postgres::Socket>,
{
    let (client, connection) = config.connect(tls).await?;
    tokio::pin!(connection);
    match work {
        Work::Version => {
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
        Work::Execute(statement) => {
            let run = client.batch_execute(statement);
            let done = tokio::select! {
                done = run => done,
                ended = &mut connection => {
                    ended?;
                    return Err(PgFailure::ClosedEarly);
                }
            };
            match done {
                Ok(()) => Ok(String::new()),
                Err(e) => match e.as_db_error() {
                    Some(db) => Err(PgFailure::Statement(Box::new(db.clone()))),
                    None => Err(PgFailure::Driver(e)),
                },
            }
        }
    }
}

/// "PostgreSQL 15.6 (Debian 15.6-0+deb12u1) on x86_64-pc-linux-gnu, ..." → "PostgreSQL 15.6".
fn short_version(full: &str) -> String {
    full.split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

fn describe_error(
    e: &tokio_postgres::Error,
    t: &Target<'_>,
    asked: &ClientCertRequest,
    limits: Limits,
) -> Finding {
    let where_ = t.where_();
    // The server asked for a client certificate and the credential has none: whichever way
    // the server then ends the connection (a TLS alert, or a login refused for want of one).
    let lacks_certificate = asked.was_made() && !t.tls.has_client_certificate();
    if let Some(db) = e.as_db_error() {
        // The server answered over the connection the credential asked for.
        return describe_db_error(db, t, lacks_certificate).over(t.tls.state());
    }
    if is_tls_refused(e) {
        return tls::not_offered(&where_);
    }
    let failure = NetFailure::from_chain(e);
    if let NetFailure::Tls(Some(alert)) = &failure {
        if lacks_certificate {
            return tls::client_certificate_required(&where_);
        }
        if t.tls.has_client_certificate() && asked.was_made() {
            return Finding::rejected(format!(
                "The server at {where_} did not accept the client certificate in ssl_cert (TLS alert {}).",
                super::failure::alert_name(*alert)
            ));
        }
    }
    if matches!(failure, NetFailure::Other) && e.is_closed() {
        return Finding::unreachable(format!("{where_} closed the connection unexpectedly."));
    }
    failure.finding(&where_, limits.connect_timeout.as_secs())
}

fn describe_db_error(
    db: &tokio_postgres::error::DbError,
    t: &Target<'_>,
    lacks_certificate: bool,
) -> Finding {
    let where_ = t.where_();
    let code = db.code();
    if *code == SqlState::INVALID_PASSWORD {
        return Finding::rejected(format!(
            "PostgreSQL rejected the password for user '{}'.",
            t.user
        ));
    }
    if *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION {
        if lacks_certificate {
            return tls::client_certificate_required(&where_);
        }
        let why = if t.tls.has_client_certificate() {
            "no pg_hba.conf rule allows it, the role cannot log in, or the client certificate's CN is not the user name"
        } else {
            "no pg_hba.conf rule allows it, or the role cannot log in"
        };
        return Finding::rejected(format!(
            "PostgreSQL at {where_} refused the login for user '{}' ({why}).",
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
    if matches!(class, "08" | "53" | "57") {
        Finding::unreachable(sentence)
    } else {
        Finding::rejected(sentence)
    }
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
}
