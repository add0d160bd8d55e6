//! The team vault: the same sealed records as the file, kept in a PostgreSQL database the team
//! already runs, backs up and replicates. The server only ever sees ids, revisions, times and
//! ciphertext: no name and no field value of any kind is stored in clear.
//!
//! Tables (created and upgraded by the versioned migrations below, each run in one
//! transaction; a schema newer than this keyway knows is refused like a newer file format):
//! - `keyway_schema (version)`: one row, the schema's version.
//! - `keyway_meta`: one row: the generation every commit moves on, the key-slot record (the
//!   vault header), the sealed record of where each credential's results stand, and the sealed
//!   digest of every record's (table, id, revision) (see `digest.rs`), which is what lets a
//!   reader notice a row rolled back, deleted or added by someone with the database's
//!   password but not the vault's key.
//! - `keyway_records (kind, id, revision, sealed)`: workspaces (1), credentials (2), flows (3).
//! - `keyway_results (slot, credential, sealed)`: the verification results' rings.
//!
//! Transactions: a read is one REPEATABLE READ, READ ONLY transaction (one committed state). A
//! write locks the meta row (`SELECT ... FOR UPDATE`) first, which serialises writers across
//! every host; a writer that cannot have it within `lock_wait` gives up with `Busy`. Every
//! statement of a write runs after that lock, so what it reads is the vault as it is.
//!
//! tokio-postgres is async and the storage boundary is not: the connection runs on a runtime
//! of its own (one worker thread), and the calls wait for their answers with a plain executor,
//! so the vault can be used from any thread, inside another runtime or not.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use futures::executor::block_on;
use secrecy::{ExposeSecret, SecretString};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::Client;

use super::storage::{ReadTxn, Storage, StoredRecord, StoredResult, Table, WriteTxn};
use super::{corrupt, VaultError};
use crate::verify::failure::NetFailure;
use crate::verify::tls::{DbTls, SslMode, Trust};

mod socket;

/// The schema version this keyway writes; MIGRATIONS[v - 1] brings version v - 1 to v.
pub const SCHEMA_VERSION: i32 = 3;

const MIGRATIONS: [&str; SCHEMA_VERSION as usize] = [
    // 1: the first team-vault schema.
    "CREATE TABLE keyway_meta (
         singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
         generation bigint NOT NULL,
         key_slots bytea NOT NULL,
         positions bytea,
         record_digest bytea
     );
     CREATE TABLE keyway_records (
         kind smallint NOT NULL,
         id text NOT NULL,
         revision bigint NOT NULL CHECK (revision > 0),
         sealed bytea NOT NULL,
         PRIMARY KEY (kind, id)
     );
     CREATE TABLE keyway_results (
         slot smallint NOT NULL,
         credential text NOT NULL,
         sealed bytea NOT NULL,
         PRIMARY KEY (slot, credential)
     );",
    // 2: the change log (changelog.rs): append-only, names sealed.
    "CREATE TABLE keyway_change_log (
         seq bigint PRIMARY KEY CHECK (seq > 0),
         at bigint NOT NULL,
         sealed bytea NOT NULL
     );",
    // 3: the result positions in shards (digest.rs, sequences.rs), each rewritten only when
    // one of its credentials' results moved, instead of one record of every credential's
    // (keyway_meta.positions) rewritten by every save. The vault's first write after this
    // migration fills it and empties keyway_meta.positions: that takes the data key, which a
    // migration does not have.
    // Record ids compared by their bytes ("C"), not by the database's locale: ids are hex,
    // the order is the file's, and an index lookup of a result (10,000 at an open) no longer
    // goes through the locale's collation.
    "CREATE TABLE keyway_positions (
         shard smallint PRIMARY KEY CHECK (shard BETWEEN 0 AND 255),
         sealed bytea NOT NULL
     );
     ALTER TABLE keyway_records ALTER COLUMN id TYPE text COLLATE \"C\";
     ALTER TABLE keyway_results ALTER COLUMN credential TYPE text COLLATE \"C\";",
];

/// Whether `location` names a team vault (a PostgreSQL URL) rather than a file.
pub fn is_url(location: &Path) -> bool {
    location
        .to_str()
        .is_some_and(|s| s.starts_with("postgresql://") || s.starts_with("postgres://"))
}

/// Where a team vault lives, read from its URL before any socket is opened.
#[derive(Debug, Clone)]
pub struct Target {
    pub host: String,
    pub port: u16,
    pub database: String,
    pub user: String,
    pub(crate) sslmode: SslMode,
    /// `sslrootcert`: a PEM file of the CAs trusted instead of the shared ones (as libpq).
    pub root_cert: Option<PathBuf>,
    pub connect_timeout: Duration,
}

impl Target {
    /// The URL as keyway shows it (no password ever appears in one).
    pub fn shown(&self) -> PathBuf {
        PathBuf::from(format!(
            "postgresql://{}@{}:{}/{}",
            self.user, self.host, self.port, self.database
        ))
    }

    fn where_(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// Reads a `postgresql://USER@HOST:PORT/DB?sslmode=...` URL. A password in the URL is refused:
/// it would end up in a config file or a shell history in clear.
pub fn parse_url(location: &Path) -> Result<Target, VaultError> {
    let text = location.to_str().unwrap_or_default();
    let bad = |why: String| VaultError::BadUrl(why);
    let url = url::Url::parse(text).map_err(|e| bad(format!("{e}")))?;
    if url.password().is_some() {
        return Err(bad(
            "it holds a password; keyway takes the database password from PGPASSWORD, a passfile (~/.pgpass) or a prompt, never from the URL".into(),
        ));
    }
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8()
            .map(|s| s.into_owned())
            .map_err(|_| bad("it is not UTF-8 once decoded".into()))
    };
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| bad("it names no host".into()))?;
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let user = decode(url.username())?;
    if user.is_empty() {
        return Err(bad("it names no user (postgresql://USER@HOST/DB)".into()));
    }
    let database = decode(url.path().trim_start_matches('/'))?;
    if database.is_empty() || database.contains('/') {
        return Err(bad(
            "it names no database (postgresql://USER@HOST/DB)".into()
        ));
    }
    let mut target = Target {
        host,
        port: url.port().unwrap_or(5432),
        database,
        user,
        sslmode: SslMode::DEFAULT,
        root_cert: None,
        connect_timeout: Duration::from_secs(10),
    };
    for (name, value) in url.query_pairs() {
        match &*name {
            "sslmode" => {
                target.sslmode = SslMode::parse(&value).ok_or_else(|| {
                    bad(format!(
                        "sslmode={value}: keyway takes verify-full (the default), verify-ca, require or disable"
                    ))
                })?
            }
            "sslrootcert" => target.root_cert = Some(PathBuf::from(&*value)),
            "connect_timeout" => {
                let secs = value.parse::<u64>().ok().filter(|s| (1..=300).contains(s));
                target.connect_timeout = Duration::from_secs(secs.ok_or_else(|| {
                    bad(format!("connect_timeout={value} is not 1 to 300 seconds"))
                })?)
            }
            other => {
                return Err(bad(format!(
                    "the parameter '{other}' is not one keyway knows (sslmode, sslrootcert, connect_timeout)"
                )))
            }
        }
    }
    if target.sslmode == SslMode::Disable && !crate::core::transport::is_loopback_host(&target.host)
    {
        return Err(bad(format!(
            "sslmode=disable would send the database password and the vault's ciphertext in clear, so keyway allows it only for a loopback host, not {}",
            target.host
        )));
    }
    Ok(target)
}

/// The database password from PGPASSWORD, else the passfile (PGPASSFILE, else ~/.pgpass), as
/// libpq looks for it. None: neither has one for `target` (a prompt may ask).
pub fn stored_password(target: &Target) -> Option<SecretString> {
    if let Ok(p) = std::env::var("PGPASSWORD") {
        return Some(SecretString::from(p));
    }
    let file = std::env::var_os("PGPASSFILE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".pgpass")))?;
    passfile_password(&file, target)
}

/// The password of the first line of the passfile `file` that matches `target`. libpq ignores
/// a passfile others can read; so does keyway.
fn passfile_password(file: &Path, target: &Target) -> Option<SecretString> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(file).ok()?;
    if !meta.is_file() || meta.permissions().mode() & 0o077 != 0 {
        return None;
    }
    let text = zeroize::Zeroizing::new(crate::files::read_text(file, 1024 * 1024).ok()?);
    let port = target.port.to_string();
    let wanted = [&*target.host, &port, &target.database, &target.user];
    text.lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .find_map(|line| {
            let fields = passfile_fields(line);
            if fields.len() != 5 {
                return None;
            }
            let matches = fields[..4]
                .iter()
                .zip(wanted)
                .all(|(field, want)| field == "*" || field == want);
            matches.then(|| SecretString::from(fields[4].clone()))
        })
}

/// The colon-separated fields of a passfile line, `\:` and `\\` standing for `:` and `\`.
fn passfile_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let (Some(next), Some(f)) = (chars.next(), fields.last_mut()) {
                    f.push(next);
                }
            }
            ':' => fields.push(String::new()),
            c => {
                if let Some(f) = fields.last_mut() {
                    f.push(c)
                }
            }
        }
    }
    fields
}

/// A team vault's storage: one connection, used by one transaction at a time. A connection the
/// server closed (it restarted, or went away and came back) is opened again by the next
/// transaction, so a long-lived process (the TUI) carries on once the server is back.
pub struct PgStorage {
    shown: PathBuf,
    lock_wait: Duration,
    /// What the connection was opened with, to open it again.
    link: Link,
    client: Mutex<Client>,
    /// The statements prepared on the connection (see `PgTxn::prepared`); emptied when the
    /// connection is opened again.
    statements: Mutex<Statements>,
    /// The database's schema version: when older than this keyway's, the first write upgrades
    /// it, and reads make do with what it has.
    schema: AtomicI32,
    /// Drives the connection; dropped last, which closes it.
    runtime: tokio::runtime::Runtime,
}

impl std::fmt::Debug for PgStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStorage")
            .field("url", &self.shown)
            .finish_non_exhaustive()
    }
}

/// What a connection to a team vault's server is made from. Its Debug shows no password.
#[derive(Clone)]
pub struct Link {
    target: Target,
    password: Option<SecretString>,
    extra_ca_file: Option<PathBuf>,
    /// How long the server may leave a statement unanswered (socket.rs).
    answer_within: Duration,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link")
            .field("url", &self.target.shown())
            .finish_non_exhaustive()
    }
}

/// The channel every committing write NOTIFYs, with the new generation as its only payload:
/// the server learns nothing it did not know (no name, no id).
pub const CHANGES_CHANNEL: &str = "keyway_changes";

/// The longest quiet after which a change feed checks that its server still answers.
const FEED_CHECK_AFTER: Duration = Duration::from_secs(10);

/// What a change feed (`ChangeFeed`) hears.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedEvent {
    /// Another connection committed a write: the vault's generation after it, when the
    /// payload was one.
    Changed(Option<u64>),
    /// The connection ended (the server stopped or the network dropped): the sentence says how.
    Lost(String),
}

/// A dedicated connection that LISTENs on `CHANGES_CHANNEL`: a teammate's commit reaches an
/// open TUI as it happens, without polling. Dropping it closes the connection.
pub struct ChangeFeed {
    /// The connection lives as long as its client, which also asks the server whether it is
    /// still there.
    client: Client,
    events: tokio::sync::mpsc::UnboundedReceiver<FeedEvent>,
    /// After this long without a notification, the feed asks the server a trivial question.
    check_after: Duration,
}

impl ChangeFeed {
    /// Connects and starts listening. Must run inside a tokio runtime, which then drives the
    /// connection.
    pub async fn listen(link: &Link) -> Result<ChangeFeed, VaultError> {
        let (tx, events) = tokio::sync::mpsc::unbounded_channel();
        let client = link.connect_async(Some(tx)).await?;
        client
            .batch_execute(&format!("LISTEN {CHANGES_CHANNEL}"))
            .await
            .map_err(|e| db_error(&link.target.shown(), e))?;
        Ok(ChangeFeed {
            client,
            events,
            check_after: link.answer_within.min(FEED_CHECK_AFTER),
        })
    }

    /// The next event; after `Lost`, None. A LISTEN connection only ever receives, so a peer
    /// that stopped answering would never be noticed: after `check_after` of quiet the feed
    /// asks the server something, which the connection's answer deadline (socket.rs) bounds;
    /// an unanswered question ends the connection, and the feed reports it `Lost`.
    pub async fn next(&mut self) -> Option<FeedEvent> {
        loop {
            tokio::select! {
                event = self.events.recv() => return event,
                () = tokio::time::sleep(self.check_after) => {
                    // LISTEN again: a no-op for a session that listens already (and what
                    // pg_stat_activity shows stays the same). A failure here is the
                    // connection's end, which `events` then reports.
                    let listen = format!("LISTEN {CHANGES_CHANNEL}");
                    let _ = self.client.batch_execute(&listen).await;
                }
            }
        }
    }
}

/// Drives a connection, handing notifications and its end to `feed` (when there is one).
async fn drive<S, T>(
    mut connection: tokio_postgres::Connection<S, T>,
    feed: Option<tokio::sync::mpsc::UnboundedSender<FeedEvent>>,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let why = loop {
        match futures::future::poll_fn(|cx| connection.poll_message(cx)).await {
            Some(Ok(tokio_postgres::AsyncMessage::Notification(n))) => {
                if let Some(feed) = &feed {
                    let _ = feed.send(FeedEvent::Changed(n.payload().parse().ok()));
                }
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => break error_chain(&e),
            None => break "the server closed the connection".to_string(),
        }
    };
    if let Some(feed) = feed {
        let _ = feed.send(FeedEvent::Lost(why));
    }
}

/// What a failed statement means for the user.
fn db_error(shown: &Path, e: tokio_postgres::Error) -> VaultError {
    if let Some(db) = e.as_db_error() {
        // The server is shutting down or starting up: it is going away, not refusing.
        let going = [
            SqlState::ADMIN_SHUTDOWN,
            SqlState::CRASH_SHUTDOWN,
            SqlState::CANNOT_CONNECT_NOW,
        ];
        if going.contains(db.code()) {
            return VaultError::Unreachable {
                url: shown.to_path_buf(),
                detail: format!("the server said: {}", db.message()),
            };
        }
        return VaultError::Storage {
            path: shown.to_path_buf(),
            detail: format!("the server said: {}", db.message()),
        };
    }
    if e.is_closed() {
        // The connection ended under the statement; its reason went to the connection's task.
        return VaultError::Unreachable {
            url: shown.to_path_buf(),
            detail: "the connection was lost: the server closed it or stopped answering".into(),
        };
    }
    unreachable_error(shown, &e)
}

/// The error and every cause under it, as one line.
fn error_chain(e: &tokio_postgres::Error) -> String {
    let mut detail = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let cause = s.to_string();
        if !detail.contains(&cause) {
            detail = format!("{detail}: {cause}");
        }
        source = s.source();
    }
    detail
}

fn unreachable_error(shown: &Path, e: &tokio_postgres::Error) -> VaultError {
    VaultError::Unreachable {
        url: shown.to_path_buf(),
        detail: error_chain(e),
    }
}

impl Link {
    /// The connection's parameters; the password from `password`, else PGPASSWORD, else the
    /// passfile.
    pub fn new(
        target: &Target,
        password: Option<&SecretString>,
        extra_ca_file: Option<&Path>,
        answer_within: Duration,
    ) -> Link {
        Link {
            target: target.clone(),
            password: password.cloned().or_else(|| stored_password(target)),
            extra_ca_file: extra_ca_file.map(Path::to_path_buf),
            answer_within,
        }
    }

    /// Connects (TLS as the sslmode says, with the trust rules of verify/tls) within the
    /// connect timeout, handshake and login included (as libpq's connect_timeout); the
    /// connection is driven by a task of the current runtime, which hands notifications to
    /// `feed`.
    async fn connect_async(
        &self,
        feed: Option<tokio::sync::mpsc::UnboundedSender<FeedEvent>>,
    ) -> Result<Client, VaultError> {
        let within = self.target.connect_timeout;
        match tokio::time::timeout(within, self.connect_within(feed)).await {
            Ok(connected) => connected,
            Err(_) => Err(self.socket_error(&std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "connection timed out",
            ))),
        }
    }

    async fn connect_within(
        &self,
        feed: Option<tokio::sync::mpsc::UnboundedSender<FeedEvent>>,
    ) -> Result<Client, VaultError> {
        let target = &self.target;
        let shown = target.shown();
        let refused = |detail: String| VaultError::Unacceptable {
            path: shown.clone(),
            detail,
        };
        let mut config = tokio_postgres::Config::new();
        config
            .host(&target.host)
            .port(target.port)
            .dbname(&target.database)
            .user(&target.user)
            .application_name("keyway")
            .ssl_mode(if target.sslmode == SslMode::Disable {
                tokio_postgres::config::SslMode::Disable
            } else {
                tokio_postgres::config::SslMode::Require
            });
        if let Some(p) = &self.password {
            config.password(p.expose_secret());
        }
        // keyway opens the socket (socket.rs: keepalives, and an answer deadline for a peer
        // that acknowledges everything and answers nothing); tokio-postgres speaks on it.
        let stream = socket::connect(
            &target.host,
            target.port,
            target.connect_timeout,
            self.answer_within,
        )
        .await
        .map_err(|e| self.socket_error(&e))?;
        let connecting = if target.sslmode == SslMode::Disable {
            match config.connect_raw(stream, tokio_postgres::NoTls).await {
                Ok((client, connection)) => {
                    tokio::spawn(drive(connection, feed));
                    Ok(client)
                }
                Err(e) => Err(e),
            }
        } else {
            let ca = match &target.root_cert {
                None => None,
                Some(file) => {
                    let pem = crate::files::read_text(file, 1024 * 1024)
                        .map_err(|e| refused(format!("its sslrootcert {} {e}", file.display())))?;
                    Some(
                        crate::verify::tls::pem_certificates(&pem, "sslrootcert")
                            .map_err(|f| refused(f.reason))?,
                    )
                }
            };
            let trust =
                Trust::load(self.extra_ca_file.as_deref()).map_err(|e| refused(e.to_string()))?;
            let connector = DbTls::for_team_vault(target.sslmode, ca)
                .connector(&trust)
                .map_err(|f| refused(f.reason))?;
            let mut tls = tokio_postgres_rustls::MakeRustlsConnect::new(connector.config);
            let tls = tokio_postgres::tls::MakeTlsConnect::<socket::Watched<tokio::net::TcpStream>>::make_tls_connect(&mut tls, &target.host)
                .map_err(|e| refused(format!("its host name cannot be checked against a certificate: {e}")))?;
            match config.connect_raw(stream, tls).await {
                Ok((client, connection)) => {
                    tokio::spawn(drive(connection, feed));
                    Ok(client)
                }
                Err(e) => Err(e),
            }
        };
        connecting.map_err(|e| self.connect_error(e))
    }

    /// What a failed TCP connection (or a connect timeout) means for the user.
    fn socket_error(&self, e: &std::io::Error) -> VaultError {
        let target = &self.target;
        let failure = NetFailure::from_chain(e);
        let detail = match failure {
            NetFailure::Other => e.to_string(),
            _ => failure.sentence(&target.where_(), target.connect_timeout.as_secs()),
        };
        VaultError::Unreachable {
            url: target.shown(),
            detail,
        }
    }

    /// What a failed connection attempt means for the user.
    fn connect_error(&self, e: tokio_postgres::Error) -> VaultError {
        let target = &self.target;
        let shown = target.shown();
        match e.as_db_error() {
            Some(db)
                if db.code() == &SqlState::INVALID_PASSWORD
                    || db.code() == &SqlState::INVALID_AUTHORIZATION_SPECIFICATION =>
            {
                VaultError::ServerRefused {
                    url: shown,
                    detail: format!(
                        "{} ({})",
                        db.message(),
                        if self.password.is_some() {
                            "check the password in PGPASSWORD or the passfile, or the one typed"
                        } else {
                            "no password was found in PGPASSWORD or ~/.pgpass"
                        }
                    ),
                }
            }
            Some(db)
                if [SqlState::CANNOT_CONNECT_NOW, SqlState::ADMIN_SHUTDOWN].contains(db.code()) =>
            {
                VaultError::Unreachable {
                    url: shown,
                    detail: format!("the server said: {}", db.message()),
                }
            }
            Some(db) => VaultError::ServerRefused {
                url: shown,
                detail: db.message().to_string(),
            },
            None if error_chain(&e).contains("password missing") => VaultError::ServerRefused {
                url: shown,
                detail: format!(
                    "{} asks for a password: set PGPASSWORD, add it to ~/.pgpass, or run keyway on a terminal to be asked",
                    target.where_()
                ),
            },
            None => {
                // The verifiers' words for what went wrong on the way (verify/failure.rs): a
                // certificate keyway does not trust is a refusal, not an absent server.
                let failure = NetFailure::from_chain(&e);
                let detail = failure.sentence(&target.where_(), target.connect_timeout.as_secs());
                match failure {
                    NetFailure::Certificate(_) | NetFailure::Tls(_) => {
                        VaultError::ServerRefused { url: shown, detail }
                    }
                    NetFailure::Other => unreachable_error(&shown, &e),
                    _ => VaultError::Unreachable { url: shown, detail },
                }
            }
        }
    }
}

impl PgStorage {
    /// Connects to the database `target` names, nothing read or written yet. A statement
    /// may go unanswered for `server_timeout` (plus `lock_wait` for a write's turn) before
    /// the server counts as unreachable.
    fn connect(
        target: &Target,
        password: Option<&SecretString>,
        extra_ca_file: Option<&Path>,
        lock_wait: Duration,
        server_timeout: Duration,
    ) -> Result<PgStorage, VaultError> {
        let shown = target.shown();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("keyway-postgres")
            .enable_all()
            .build()
            .map_err(|source| VaultError::Io {
                path: shown.clone(),
                source,
            })?;
        let link = Link::new(target, password, extra_ca_file, lock_wait + server_timeout);
        let client = Self::connect_on(&runtime, &link)?;
        Ok(PgStorage {
            shown,
            lock_wait,
            link,
            client: Mutex::new(client),
            statements: Mutex::default(),
            schema: AtomicI32::new(SCHEMA_VERSION),
            runtime,
        })
    }

    /// A new connection driven by `runtime`, waited for with a plain executor (so this works
    /// from any thread, inside another runtime or not).
    fn connect_on(runtime: &tokio::runtime::Runtime, link: &Link) -> Result<Client, VaultError> {
        let link = link.clone();
        let shown = link.target.shown();
        block_on(runtime.spawn(async move { link.connect_async(None).await })).map_err(|e| {
            VaultError::Storage {
                path: shown,
                detail: format!("the connection task failed: {e}"),
            }
        })?
    }

    /// What a change feed on this vault connects with (see `ChangeFeed`).
    pub fn link(&self) -> &Link {
        &self.link
    }

    /// Opens an existing team vault: refused as missing when the database holds none, as
    /// newer when its schema is newer than this keyway's. An older schema is upgraded by the
    /// first write transaction (`write`).
    pub fn open(
        target: &Target,
        password: Option<&SecretString>,
        extra_ca_file: Option<&Path>,
        lock_wait: Duration,
        server_timeout: Duration,
    ) -> Result<PgStorage, VaultError> {
        let storage = Self::connect(target, password, extra_ca_file, lock_wait, server_timeout)?;
        match storage.schema_version()? {
            None => Err(VaultError::Missing(storage.shown.clone())),
            Some(v) if v > SCHEMA_VERSION => Err(VaultError::NewerFormat {
                path: storage.shown.clone(),
                found: v as u32,
            }),
            Some(v) if v < SCHEMA_VERSION => {
                // Upgraded by the first write: a command that only reads changes nothing.
                // What this keyway reads is in every older schema too.
                storage.schema.store(v, Ordering::Release);
                Ok(storage)
            }
            Some(_) => Ok(storage),
        }
    }

    /// Creates the schema of a new team vault, refused when the database holds one already.
    pub fn create(
        target: &Target,
        password: Option<&SecretString>,
        extra_ca_file: Option<&Path>,
        lock_wait: Duration,
        server_timeout: Duration,
    ) -> Result<PgStorage, VaultError> {
        let storage = Self::connect(target, password, extra_ca_file, lock_wait, server_timeout)?;
        if storage.schema_version()?.is_some() {
            return Err(VaultError::TeamVaultExists(storage.shown.clone()));
        }
        storage.migrate()?;
        Ok(storage)
    }

    pub fn shown(&self) -> &Path {
        &self.shown
    }

    /// The connection, opened again first if the server closed it.
    fn client(&self) -> Result<MutexGuard<'_, Client>, VaultError> {
        let mut client = self.client.lock().unwrap_or_else(|p| p.into_inner());
        if client.is_closed() {
            *client = Self::connect_on(&self.runtime, &self.link)?;
            self.forget_statements();
        }
        Ok(client)
    }

    /// Drops the prepared statements: they belong to a closed connection, or to a schema that
    /// changed under them.
    fn forget_statements(&self) {
        self.statements
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    /// The schema's version; None when the database holds no keyway vault.
    fn schema_version(&self) -> Result<Option<i32>, VaultError> {
        let client = self.client()?;
        let exists =
            block_on(client.query_one("SELECT to_regclass('keyway_schema') IS NOT NULL", &[]))
                .map_err(|e| db_error(&self.shown, e))?;
        if !exists.get::<_, bool>(0) {
            return Ok(None);
        }
        let row = block_on(client.query_opt("SELECT version FROM keyway_schema", &[]))
            .map_err(|e| db_error(&self.shown, e))?;
        match row {
            Some(row) => Ok(Some(row.get(0))),
            None => Err(corrupt(&self.shown, "its schema version is missing".into())),
        }
    }

    /// Brings the schema to SCHEMA_VERSION in one transaction. An advisory lock keeps two
    /// keyways from migrating (or creating) at once; the second finds the work done.
    fn migrate(&self) -> Result<(), VaultError> {
        let client = self.client()?;
        let err = |e| db_error(&self.shown, e);
        block_on(client.batch_execute(
            "BEGIN; SELECT pg_advisory_xact_lock(7365227106377577);
             CREATE TABLE IF NOT EXISTS keyway_schema (version integer NOT NULL)",
        ))
        .map_err(err)?;
        let result = (|| {
            let row = block_on(client.query_opt("SELECT version FROM keyway_schema", &[]))
                .map_err(err)?;
            let from = match row {
                Some(row) => row.get::<_, i32>(0),
                None => {
                    block_on(client.execute("INSERT INTO keyway_schema VALUES (0)", &[]))
                        .map_err(err)?;
                    0
                }
            };
            if from > SCHEMA_VERSION {
                return Err(VaultError::NewerFormat {
                    path: self.shown.clone(),
                    found: from as u32,
                });
            }
            for migration in &MIGRATIONS[from as usize..] {
                block_on(client.batch_execute(migration)).map_err(err)?;
            }
            block_on(client.execute("UPDATE keyway_schema SET version = $1", &[&SCHEMA_VERSION]))
                .map_err(err)?;
            block_on(client.batch_execute("COMMIT")).map_err(err)
        })();
        if result.is_err() {
            let _ = block_on(client.batch_execute("ROLLBACK"));
        }
        result
    }
}

impl Storage for PgStorage {
    fn read(&self) -> Result<Box<dyn ReadTxn + '_>, VaultError> {
        if self.schema.load(Ordering::Acquire) < SCHEMA_VERSION {
            // Another keyway may have upgraded it since: read what it has now.
            if let Some(now) = self.schema_version()? {
                if now != self.schema.swap(now, Ordering::AcqRel) {
                    self.forget_statements();
                }
            }
        }
        let client = self.client()?;
        block_on(client.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
            .map_err(|e| db_error(&self.shown, e))?;
        Ok(Box::new(PgTxn {
            shown: &self.shown,
            client,
            statements: &self.statements,
            schema: self.schema.load(Ordering::Acquire),
            open: true,
            generation: None,
        }))
    }

    fn write(&self) -> Result<Box<dyn WriteTxn + '_>, VaultError> {
        if self.schema.load(Ordering::Acquire) < SCHEMA_VERSION {
            self.migrate()?;
            self.schema.store(SCHEMA_VERSION, Ordering::Release);
            // Migration 3 changed columns' types (their collation): statements prepared
            // before it would fail ("cached plan must not change result type").
            self.forget_statements();
        }
        let client = self.client()?;
        let err = |e| db_error(&self.shown, e);
        block_on(client.batch_execute(&format!(
            "BEGIN; SET LOCAL lock_timeout = {}",
            self.lock_wait.as_millis().max(1)
        )))
        .map_err(err)?;
        let mut txn = PgTxn {
            shown: &self.shown,
            client,
            statements: &self.statements,
            schema: self.schema.load(Ordering::Acquire),
            open: true,
            generation: None,
        };
        let row = block_on(txn.client.query_opt(
            &txn.prepared("SELECT generation FROM keyway_meta FOR UPDATE")?,
            &[],
        ))
        .map_err(|e| match e.code() {
            Some(code) if code == &SqlState::LOCK_NOT_AVAILABLE => VaultError::Busy {
                path: self.shown.clone(),
                waited_secs: self.lock_wait.as_secs(),
            },
            _ => db_error(&self.shown, e),
        })?;
        txn.generation = Some(match row {
            Some(row) => txn.revision(row.get::<_, i64>(0))?,
            // A vault being created: init writes the meta row.
            None => 0,
        });
        Ok(Box::new(txn))
    }

    fn generation(&self) -> Result<u64, VaultError> {
        let client = self.client()?;
        let row = block_on(client.query_opt("SELECT generation FROM keyway_meta", &[]))
            .map_err(|e| db_error(&self.shown, e))?;
        match row {
            Some(row) => u64::try_from(row.get::<_, i64>(0))
                .map_err(|_| corrupt(&self.shown, "its generation is negative".into())),
            None => Err(VaultError::Foreign(self.shown.clone())),
        }
    }
}

/// `rows` (their first column the record id) in id order, by bytes as the file's are. Sorted
/// here rather than by the server: right after a bulk write its statistics are stale, and its
/// plan was then a sort of every sealed row that spilled to disk, the slowest part of an open.
fn in_id_order(rows: &[tokio_postgres::Row]) -> Vec<&tokio_postgres::Row> {
    let mut keyed: Vec<(&str, &tokio_postgres::Row)> = rows
        .iter()
        // try_get: a column the database administrator changed to another type sorts first
        // here rather than panicking.
        .map(|row| (row.try_get::<_, &str>(0).unwrap_or_default(), row))
        .collect();
    keyed.sort_unstable_by(|a, b| a.0.cmp(b.0));
    keyed.into_iter().map(|(_, row)| row).collect()
}

fn kind(table: Table) -> i16 {
    match table {
        Table::Workspaces => 1,
        Table::Credentials => 2,
        Table::Flows => 3,
    }
}

/// A transaction on the storage's one connection, which it holds until it ends. Dropped
/// without `commit`, it rolls back.
/// Statements by their text, as prepared on one connection.
type Statements = std::collections::HashMap<&'static str, tokio_postgres::Statement>;

struct PgTxn<'s> {
    shown: &'s Path,
    client: MutexGuard<'s, Client>,
    statements: &'s Mutex<Statements>,
    /// The database's schema version (see `PgStorage::schema`).
    schema: i32,
    open: bool,
    /// A write's generation, read under the meta row's lock.
    generation: Option<u64>,
}

impl Drop for PgTxn<'_> {
    fn drop(&mut self) {
        if self.open {
            let _ = block_on(self.client.batch_execute("ROLLBACK"));
        }
    }
}

impl PgTxn<'_> {
    fn err(&self, e: tokio_postgres::Error) -> VaultError {
        db_error(self.shown, e)
    }

    /// `sql` prepared on this connection the first time, then reused: a statement with
    /// parameters is otherwise prepared again at each call, one more round trip to the server
    /// for every statement of every transaction.
    fn prepared(&self, sql: &'static str) -> Result<tokio_postgres::Statement, VaultError> {
        let mut statements = self.statements.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(statement) = statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = block_on(self.client.prepare(sql)).map_err(|e| self.err(e))?;
        statements.insert(sql, statement.clone());
        Ok(statement)
    }

    /// `sql`, prepared once (`prepared`), run with `params`: its rows.
    fn query(
        &self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<tokio_postgres::Row>, VaultError> {
        block_on(self.client.query(&self.prepared(sql)?, params)).map_err(|e| self.err(e))
    }

    /// `sql`, prepared once, run with `params`: its one row, if any.
    fn query_opt(
        &self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<tokio_postgres::Row>, VaultError> {
        block_on(self.client.query_opt(&self.prepared(sql)?, params)).map_err(|e| self.err(e))
    }

    /// `sql`, prepared once, run with `params`: how many rows it changed.
    fn execute(
        &self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, VaultError> {
        block_on(self.client.execute(&self.prepared(sql)?, params)).map_err(|e| self.err(e))
    }

    fn revision(&self, n: i64) -> Result<u64, VaultError> {
        u64::try_from(n)
            .map_err(|_| corrupt(self.shown, format!("it holds a negative number ({n})")))
    }

    fn as_i64(&self, n: u64) -> Result<i64, VaultError> {
        i64::try_from(n).map_err(|_| VaultError::Storage {
            path: self.shown.to_path_buf(),
            detail: format!("the number {n} does not fit the database's bigint"),
        })
    }

    /// One column of the meta row, by `sql` (`SELECT column FROM keyway_meta`).
    fn meta_bytes(&self, sql: &'static str) -> Result<Option<Vec<u8>>, VaultError> {
        match self.query_opt(sql, &[])? {
            Some(row) => Ok(row.get::<_, Option<Vec<u8>>>(0)),
            None => Err(VaultError::Foreign(self.shown.to_path_buf())),
        }
    }

    fn stale(&self, table: Table, id: &str) -> VaultError {
        VaultError::Stale {
            path: self.shown.to_path_buf(),
            table: table.name(),
            id: id.to_string(),
        }
    }
}

impl ReadTxn for PgTxn<'_> {
    fn generation(&self) -> Result<u64, VaultError> {
        if let Some(g) = self.generation {
            return Ok(g);
        }
        match self.query_opt("SELECT generation FROM keyway_meta", &[])? {
            Some(row) => self.revision(row.get::<_, i64>(0)),
            None => Err(VaultError::Foreign(self.shown.to_path_buf())),
        }
    }

    fn key_slots(&self) -> Result<Vec<u8>, VaultError> {
        self.meta_bytes("SELECT key_slots FROM keyway_meta")?
            .ok_or_else(|| VaultError::Foreign(self.shown.to_path_buf()))
    }

    fn scan(
        &self,
        table: Table,
        each: &mut dyn FnMut(StoredRecord<'_>) -> Result<(), VaultError>,
    ) -> Result<(), VaultError> {
        let rows = self.query(
            "SELECT id COLLATE \"C\", revision, sealed FROM keyway_records WHERE kind = $1",
            &[&kind(table)],
        )?;
        for row in in_id_order(&rows) {
            each(StoredRecord {
                id: row.get(0),
                revision: self.revision(row.get(1))?,
                sealed: row.get(2),
            })?;
        }
        Ok(())
    }

    fn scan_revisions(
        &self,
        table: Table,
        each: &mut dyn FnMut(&str, u64) -> Result<(), VaultError>,
    ) -> Result<(), VaultError> {
        // Ids and revisions only: a refresh after another member's save read every sealed row
        // of the vault (megabytes for 10,000 credentials) to find the one that moved.
        let rows = self.query(
            "SELECT id COLLATE \"C\", revision FROM keyway_records WHERE kind = $1",
            &[&kind(table)],
        )?;
        for row in in_id_order(&rows) {
            each(row.get(0), self.revision(row.get(1))?)?;
        }
        Ok(())
    }

    fn get(&self, table: Table, id: &str) -> Result<Option<(u64, Vec<u8>)>, VaultError> {
        let row = self.query_opt(
            "SELECT revision, sealed FROM keyway_records WHERE kind = $1 AND id = $2",
            &[&kind(table), &id],
        )?;
        row.map(|row| Ok((self.revision(row.get(0))?, row.get(1))))
            .transpose()
    }

    fn result(&self, slot: u8, credential: &str) -> Result<Option<Vec<u8>>, VaultError> {
        let row = self.query_opt(
            "SELECT sealed FROM keyway_results WHERE slot = $1 AND credential = $2",
            &[&i16::from(slot), &credential],
        )?;
        Ok(row.map(|row| row.get(0)))
    }

    fn results(&self, wanted: &[(u8, &str)]) -> Result<Vec<Option<Vec<u8>>>, VaultError> {
        // One statement for all of them: a round trip per entry made opening 10,000
        // credentials take seconds (BENCHMARKS.md, team vault).
        let slots: Vec<i16> = wanted.iter().map(|(slot, _)| i16::from(*slot)).collect();
        let credentials: Vec<&str> = wanted.iter().map(|(_, c)| *c).collect();
        let params: [&(dyn ToSql + Sync); 2] = [&slots, &credentials];
        let rows = self.query(
            "SELECT w.i, r.sealed
             FROM unnest($1::smallint[], $2::text[]) WITH ORDINALITY AS w(slot, credential, i)
             JOIN keyway_results r ON r.slot = w.slot AND r.credential = w.credential",
            &params,
        )?;
        let mut out = vec![None; wanted.len()];
        for row in rows {
            let i: i64 = row.get(0);
            // WITH ORDINALITY numbers the wanted pairs 1..=len.
            if let Some(place) = usize::try_from(i - 1).ok().and_then(|i| out.get_mut(i)) {
                *place = Some(row.get(1));
            }
        }
        Ok(out)
    }

    fn result_count(&self) -> Result<u64, VaultError> {
        let row = block_on(
            self.client
                .query_one("SELECT count(*) FROM keyway_results", &[]),
        )
        .map_err(|e| self.err(e))?;
        self.revision(row.get(0))
    }

    fn positions(&self) -> Result<Option<Vec<u8>>, VaultError> {
        self.meta_bytes("SELECT positions FROM keyway_meta")
    }

    fn keeps_record_digest(&self) -> bool {
        true
    }

    fn record_digest(&self) -> Result<Option<Vec<u8>>, VaultError> {
        self.meta_bytes("SELECT record_digest FROM keyway_meta")
    }

    fn position_shards(&self, which: Option<&[u8]>) -> Result<Vec<(u8, Vec<u8>)>, VaultError> {
        // Schema 3 made the table: an older one has none.
        if self.schema < 3 {
            return Ok(Vec::new());
        }
        let rows = match which {
            None => self.query(
                "SELECT shard, sealed FROM keyway_positions ORDER BY shard",
                &[],
            )?,
            Some(shards) => {
                let shards: Vec<i16> = shards.iter().map(|s| i16::from(*s)).collect();
                self.query(
                    "SELECT shard, sealed FROM keyway_positions WHERE shard = ANY($1) ORDER BY shard",
                    &[&shards],
                )?
            }
        };
        rows.iter()
            .map(|row| {
                // The table's CHECK keeps shards within 0..=255.
                let shard = u8::try_from(row.get::<_, i16>(0)).map_err(|_| {
                    corrupt(self.shown, "it holds a position shard out of range".into())
                })?;
                Ok((shard, row.get(1)))
            })
            .collect()
    }

    fn keeps_change_log(&self) -> bool {
        true
    }

    fn change_log(&self) -> Result<Vec<(u64, Vec<u8>)>, VaultError> {
        // Schema 1 had no change log: until its first write upgrades it, there is none to read.
        if self.schema < 2 {
            return Ok(Vec::new());
        }
        let rows = self.query(
            "SELECT seq, sealed FROM keyway_change_log ORDER BY seq",
            &[],
        )?;
        rows.iter()
            .map(|row| Ok((self.revision(row.get(0))?, row.get(1))))
            .collect()
    }
}

impl WriteTxn for PgTxn<'_> {
    fn put(
        &mut self,
        table: Table,
        id: &str,
        expected: Option<u64>,
        revision: u64,
        sealed: &[u8],
    ) -> Result<(), VaultError> {
        let revision = self.as_i64(revision)?;
        let changed = match expected {
            None => self.execute(
                "INSERT INTO keyway_records (kind, id, revision, sealed) VALUES ($1, $2, $3, $4)
                 ON CONFLICT DO NOTHING",
                &[&kind(table), &id, &revision, &sealed],
            )?,
            Some(expected) => {
                let expected = self.as_i64(expected)?;
                self.execute(
                    "UPDATE keyway_records SET revision = $3, sealed = $4
                     WHERE kind = $1 AND id = $2 AND revision = $5",
                    &[&kind(table), &id, &revision, &sealed, &expected],
                )?
            }
        };
        if changed == 1 {
            Ok(())
        } else {
            Err(self.stale(table, id))
        }
    }

    fn reseal_records(
        &mut self,
        table: Table,
        records: &[(&str, u64, Vec<u8>)],
    ) -> Result<(), VaultError> {
        if records.is_empty() {
            return Ok(());
        }
        // One statement: a re-key of 10,000 credentials made 10,000 round trips otherwise.
        let ids: Vec<&str> = records.iter().map(|(id, _, _)| *id).collect();
        let revisions = records
            .iter()
            .map(|(_, r, _)| self.as_i64(*r))
            .collect::<Result<Vec<i64>, _>>()?;
        let sealed: Vec<&[u8]> = records.iter().map(|(_, _, b)| b.as_slice()).collect();
        let params: [&(dyn ToSql + Sync); 4] = [&kind(table), &ids, &revisions, &sealed];
        let changed = self.execute(
            "UPDATE keyway_records r SET sealed = n.sealed
             FROM unnest($2::text[], $3::bigint[], $4::bytea[]) AS n(id, revision, sealed)
             WHERE r.kind = $1 AND r.id = n.id AND r.revision = n.revision",
            &params,
        )?;
        if changed == records.len() as u64 {
            return Ok(());
        }
        // Some record moved on: name the first one (the transaction is rolled back).
        for (id, revision, _) in records {
            if self.get(table, id)?.map(|(r, _)| r) != Some(*revision) {
                return Err(self.stale(table, id));
            }
        }
        Err(self.stale(table, records[0].0))
    }

    fn remove(&mut self, table: Table, id: &str, expected: u64) -> Result<(), VaultError> {
        let expected = self.as_i64(expected)?;
        let changed = self.execute(
            "DELETE FROM keyway_records WHERE kind = $1 AND id = $2 AND revision = $3",
            &[&kind(table), &id, &expected],
        )?;
        if changed == 1 {
            Ok(())
        } else {
            Err(self.stale(table, id))
        }
    }

    fn put_results(&mut self, entries: &[StoredResult]) -> Result<(), VaultError> {
        if entries.is_empty() {
            return Ok(());
        }
        // One statement for the whole group: a round trip per entry would dominate an audit.
        let slots: Vec<i16> = entries.iter().map(|e| i16::from(e.slot)).collect();
        let credentials: Vec<&str> = entries.iter().map(|e| e.credential.as_str()).collect();
        let sealed: Vec<&[u8]> = entries.iter().map(|e| e.bytes.as_slice()).collect();
        let params: [&(dyn ToSql + Sync); 3] = [&slots, &credentials, &sealed];
        self.execute(
            "INSERT INTO keyway_results (slot, credential, sealed)
             SELECT * FROM unnest($1::smallint[], $2::text[], $3::bytea[])
             ON CONFLICT (slot, credential) DO UPDATE SET sealed = EXCLUDED.sealed",
            &params,
        )?;
        Ok(())
    }

    fn remove_results(&mut self, credential: &str) -> Result<(), VaultError> {
        self.execute(
            "DELETE FROM keyway_results WHERE credential = $1",
            &[&credential],
        )?;
        Ok(())
    }

    fn put_key_slots(&mut self, header: &[u8]) -> Result<(), VaultError> {
        let inserted = self.execute(
            "INSERT INTO keyway_meta (generation, key_slots) VALUES (0, $1)
             ON CONFLICT (singleton) DO UPDATE SET key_slots = EXCLUDED.key_slots",
            &[&header],
        )?;
        debug_assert_eq!(inserted, 1);
        Ok(())
    }

    fn append_log(&mut self, entries: &[(u64, i64, Vec<u8>)]) -> Result<(), VaultError> {
        if entries.is_empty() {
            return Ok(());
        }
        let seqs = entries
            .iter()
            .map(|(s, _, _)| self.as_i64(*s))
            .collect::<Result<Vec<i64>, _>>()?;
        let ats: Vec<i64> = entries.iter().map(|(_, at, _)| *at).collect();
        let sealed: Vec<&[u8]> = entries.iter().map(|(_, _, b)| b.as_slice()).collect();
        let params: [&(dyn ToSql + Sync); 3] = [&seqs, &ats, &sealed];
        self.execute(
            "INSERT INTO keyway_change_log (seq, at, sealed)
             SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bytea[])",
            &params,
        )?;
        Ok(())
    }

    fn reseal_log(&mut self, entries: &[(u64, Vec<u8>)]) -> Result<(), VaultError> {
        if entries.is_empty() {
            return Ok(());
        }
        let seqs = entries
            .iter()
            .map(|(s, _)| self.as_i64(*s))
            .collect::<Result<Vec<i64>, _>>()?;
        let sealed: Vec<&[u8]> = entries.iter().map(|(_, b)| b.as_slice()).collect();
        let params: [&(dyn ToSql + Sync); 2] = [&seqs, &sealed];
        self.execute(
            "UPDATE keyway_change_log l SET sealed = n.sealed
             FROM unnest($1::bigint[], $2::bytea[]) AS n(seq, sealed) WHERE l.seq = n.seq",
            &params,
        )?;
        Ok(())
    }

    fn put_record_digest(&mut self, sealed: &[u8]) -> Result<(), VaultError> {
        self.execute(
            "UPDATE keyway_meta SET record_digest = $1, positions = NULL",
            &[&sealed],
        )?;
        Ok(())
    }

    fn put_position_shards(&mut self, shards: &[(u8, Vec<u8>)]) -> Result<(), VaultError> {
        if shards.is_empty() {
            return Ok(());
        }
        let numbers: Vec<i16> = shards.iter().map(|(s, _)| i16::from(*s)).collect();
        let sealed: Vec<&[u8]> = shards.iter().map(|(_, b)| b.as_slice()).collect();
        let params: [&(dyn ToSql + Sync); 2] = [&numbers, &sealed];
        self.execute(
            "INSERT INTO keyway_positions (shard, sealed)
             SELECT * FROM unnest($1::smallint[], $2::bytea[])
             ON CONFLICT (shard) DO UPDATE SET sealed = EXCLUDED.sealed",
            &params,
        )?;
        Ok(())
    }

    fn retire_older_formats(&mut self) -> Result<(), VaultError> {
        // The migrations made every table; there is no older format to retire.
        Ok(())
    }

    fn commit(mut self: Box<Self>) -> Result<(), VaultError> {
        block_on(self.client.batch_execute(&format!(
            "UPDATE keyway_meta SET generation = generation + 1;
                     SELECT pg_notify('{CHANGES_CHANNEL}', generation::text) FROM keyway_meta;
                     COMMIT"
        )))
        .map_err(|e| {
            let shown = self.shown.to_path_buf();
            match db_error(&shown, e) {
                VaultError::Storage { path, detail } => VaultError::Storage {
                    path,
                    detail: format!("{detail}; the change was not saved"),
                },
                other => other,
            }
        })?;
        self.open = false;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_is_read_and_a_password_in_it_refused() {
        let t = parse_url(Path::new(
            "postgresql://etl@127.0.0.1:6543/team?sslmode=disable",
        ))
        .unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.database.as_str()),
            ("127.0.0.1", 6543, "team")
        );
        assert_eq!(t.sslmode, SslMode::Disable);
        assert_eq!(
            t.shown(),
            PathBuf::from("postgresql://etl@127.0.0.1:6543/team")
        );
        let default = parse_url(Path::new("postgres://ops@db.example.com/vault")).unwrap();
        assert_eq!(default.sslmode, SslMode::VerifyFull);
        assert_eq!(default.port, 5432);
        for bad in [
            "postgresql://etl:hunter2@127.0.0.1/team",
            "postgresql://127.0.0.1/team",
            "postgresql://etl@127.0.0.1/",
            "postgresql://etl@db.example.com/team?sslmode=disable",
            "postgresql://etl@127.0.0.1/team?sslmode=prefer",
            "postgresql://etl@127.0.0.1/team?options=-c",
        ] {
            let e = parse_url(Path::new(bad)).unwrap_err();
            assert!(matches!(e, VaultError::BadUrl(_)), "{bad}: {e}");
            assert!(!e.to_string().contains("hunter2"), "{e}");
        }
    }

    #[test]
    fn passfile_lines_match_with_wildcards_and_escapes() {
        assert_eq!(
            passfile_fields(r"db\:1:5432:*:etl:pa\:ss\\w"),
            ["db:1", "5432", "*", "etl", r"pa:ss\w"]
        );
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pgpass");
        std::fs::write(
            &file,
            "# comment\nother:5432:*:*:nope\n127.0.0.1:*:team:etl:right\n*:*:*:*:fallback\n",
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let t = parse_url(Path::new("postgresql://etl@127.0.0.1/team?sslmode=disable")).unwrap();
        let found = passfile_password(&file, &t).unwrap();
        assert_eq!(found.expose_secret(), "right");
        // Readable by others: ignored, as libpq does.
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(passfile_password(&file, &t).is_none());
    }
}
