//! The vault: every workspace, credential and flow, each record sealed under a random data key
//! that is stored only wrapped (key slots, keyslot.rs), kept by a storage behind one boundary
//! (storage.rs; the redb file, file.rs, is the first). The only module that touches storage and
//! crypto; it hands the store plain domain values.
//!
//! Many processes share one vault. Each keeps a snapshot of everything and the generation it
//! reflects; `refresh` brings it up to date with one cheap read when nothing changed, and reads
//! (and decrypts) only the records whose revision moved when something did. Every write runs
//! in one write transaction that first brings the snapshot up to date inside the lock, so the
//! rules are checked against the vault as it is, and writes each record only over the revision
//! it was based on (a conflict otherwise, carrying both versions).

mod actor;
mod change;
pub mod changelog;
pub mod crypto;
mod digest;
mod error;
pub mod file;
pub mod guard;
pub mod header;
pub mod identity;
mod journal;
pub mod kdf;
pub mod keyslot;
mod migrate;
mod open;
pub mod postgres;
mod records;
mod results;
pub mod rotation_lock;
mod sequences;
mod shards;
pub mod storage;
pub mod tables;

// foldhash: these maps are keyed by random record ids from the vault itself, hashed once or
// more per result an audit records; SipHash was a tenth of the cost of recording one.
use foldhash::{HashMap, HashMapExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use actor::{changed_by, writer_name, WRITER_VAR};
pub use change::Change;
pub use error::VaultError;
pub use keyslot::Unlock;

use crate::core::Snapshot;
use crate::core::{Credential, Flow, RecordId, Verification, Workspace};
use crypto::DataKey;
use file::FileStorage;
use header::{Header, HeaderProblem, REVISIONS};
use journal::{Edit, Journal, Step};
use kdf::KdfParams;
use postgres::PgStorage;
use records::Record;
use secrecy::SecretString;
use sequences::Positions;
use storage::{ReadTxn, Storage, StoredRecord};

/// How long a writer waits for another process's write transaction by default
/// (`vault.lock_wait_secs`).
pub const DEFAULT_LOCK_WAIT: Duration = Duration::from_secs(10);
/// How long a team vault's server may leave a statement unanswered (`vault.server_timeout_secs`).
pub const DEFAULT_SERVER_TIMEOUT: Duration = Duration::from_secs(30);

/// How a process uses a vault: who it writes as, and how long it waits for the write lock.
#[derive(Debug, Clone)]
pub struct Options {
    /// Recorded as `changed_by` on every record this process writes.
    pub changed_by: String,
    pub lock_wait: Duration,
    /// How long a team vault's server may leave a statement unanswered (beyond `lock_wait`
    /// for a write's turn) before it counts as unreachable.
    pub server_timeout: Duration,
    /// A team vault's database password, when the user typed it (else PGPASSWORD, else the
    /// passfile; see postgres.rs).
    pub db_password: Option<SecretString>,
    /// `verify.extra_ca_file`: trusted for a team vault's TLS too.
    pub extra_ca_file: Option<PathBuf>,
    /// Where this host's identity for a team vault lives (a passphrase then opens it).
    pub identity: IdentitySource,
}

/// Where a member's identity comes from (identity.rs).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum IdentitySource {
    #[default]
    None,
    /// A person's identity, sealed under their passphrase.
    Sealed(PathBuf),
    /// A machine's identity file (no passphrase).
    Machine(PathBuf),
}

impl IdentitySource {
    /// Opens the identity; `passphrase` is used only by a sealed one.
    pub fn open(&self, passphrase: &[u8]) -> Result<age::x25519::Identity, VaultError> {
        match self {
            IdentitySource::None => Err(VaultError::Identity(identity::IdentityError::Missing(
                "this host (no config directory)".into(),
            ))),
            IdentitySource::Sealed(path) => Ok(identity::open_sealed(path, passphrase)?),
            IdentitySource::Machine(path) => Ok(identity::open_machine(path)?),
        }
    }
}

/// A team vault's member, as `keyway member list` shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub name: String,
    pub kind: String,
    pub added_at: i64,
    pub public_key: String,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            changed_by: changed_by("keyway"),
            lock_wait: DEFAULT_LOCK_WAIT,
            server_timeout: DEFAULT_SERVER_TIMEOUT,
            db_password: None,
            extra_ca_file: None,
            identity: IdentitySource::None,
        }
    }
}

/// What a refresh found changed since the snapshot was last brought up to date.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// Everything was read again (the first look, a format change, or after a failed write).
    pub reloaded: bool,
    /// Records added or changed, by kind.
    pub workspaces: Vec<RecordId>,
    pub credentials: Vec<RecordId>,
    pub flows: Vec<RecordId>,
    /// Records deleted, of any kind.
    pub removed: Vec<RecordId>,
    /// Credentials whose latest verification result changed.
    pub results: Vec<RecordId>,
}

/// An open, unlocked vault.
pub struct Vault {
    /// Always Some until Drop, which takes it to close it under the panic guard.
    storage: Option<Box<dyn Storage>>,
    state: State,
    /// Notes for the user (loose permissions); the CLI prints them to stderr.
    pub warnings: Vec<String>,
    /// Set while a face that stays open knows the team vault's server cannot be reached:
    /// every write is then refused at once (`VaultError::Offline`), never queued.
    offline: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

/// Everything about an open vault but its storage.
pub(crate) struct State {
    path: PathBuf,
    header: Header,
    /// The header as stored: another process's passphrase change, re-key or migration shows
    /// as a change of these bytes.
    header_bytes: Vec<u8>,
    key: DataKey,
    changed_by: String,
    /// The generation the snapshot reflects; None: read everything again next time.
    generation: Option<u64>,
    /// Where each credential's verification results stand (see results.rs, sequences.rs).
    positions: Positions,
    /// A vault of an older format: what its first write migrates (and format 1's histories,
    /// which it keeps until then).
    legacy: Option<migrate::Migration>,
    /// The record digest as the snapshot stands (a team vault's; digest.rs): what a commit
    /// updates for the shards it touched and a refresh checks against what is stored. It
    /// holds where the change log stood at the last refresh (changelog.rs).
    digest: Option<digest::Digest>,
    /// A team vault's member identity this process unlocked with, kept so that a re-key by
    /// another member is followed: the new data key is unwrapped from this member's own new
    /// slot (see `sync`). None for a file vault and for a vault opened with a key.
    identity: Option<Box<age::x25519::Identity>>,
}

/// Everything decrypted at open.
pub(crate) struct Loaded {
    /// The record digest, checked (a team vault's; see digest.rs): it holds where the change
    /// log stands (changelog.rs).
    pub digest: Option<digest::Digest>,
    pub snapshot: Snapshot,
    pub positions: Positions,
    /// What an older format needs moved by the first write.
    pub migration: migrate::Migration,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("path", &self.state.path)
            .field("vault_id", &self.state.header.vault_id)
            .finish_non_exhaustive()
    }
}

impl Drop for Vault {
    fn drop(&mut self) {
        // Closing can write (the last writer records a clean shutdown), which can hit damage
        // that reading did not.
        if let Some(storage) = self.storage.take() {
            let _ = guard::guarded_write(&self.state.path, "closing", || {
                drop(storage);
                Ok(())
            });
        }
    }
}

/// Refuses a location that cannot be an existing vault before the passphrase is asked for: a
/// path that is not a vault file (open.rs), or a team vault URL keyway cannot use.
pub fn check_path(path: &Path) -> Result<(), VaultError> {
    if postgres::is_url(path) {
        return postgres::parse_url(path).map(drop);
    }
    open::check_path(path)
}

/// Why no vault can be created at `path`, if a file is in the way (a team vault's database is
/// asked when the vault is created).
pub fn occupied(path: &Path) -> Option<VaultError> {
    if postgres::is_url(path) {
        return postgres::parse_url(path).err();
    }
    open::occupied(path)
}

/// Whether `path` names a team vault (a PostgreSQL URL) rather than a file.
pub fn is_team_vault(path: &Path) -> bool {
    postgres::is_url(path)
}

/// What a change feed (`postgres::ChangeFeed`) of the team vault at `location` connects with;
/// None for a file vault or a URL keyway cannot use (its open said why).
pub fn change_link(location: &Path, options: &Options) -> Option<postgres::Link> {
    let target = postgres::parse_url(location).ok()?;
    Some(postgres::Link::new(
        &target,
        options.db_password.as_ref(),
        options.extra_ca_file.as_deref(),
        options.server_timeout,
    ))
}

fn open_team_storage(path: &Path, options: &Options) -> Result<PgStorage, VaultError> {
    let target = postgres::parse_url(path)?;
    PgStorage::open(
        &target,
        options.db_password.as_ref(),
        options.extra_ca_file.as_deref(),
        options.lock_wait,
        options.server_timeout,
    )
}

pub(crate) fn storage_error(path: &Path, e: impl std::fmt::Display) -> VaultError {
    VaultError::Storage {
        path: path.to_path_buf(),
        detail: e.to_string(),
    }
}

/// Damage found while reading: `detail` says where.
pub(crate) fn corrupt(path: &Path, detail: String) -> VaultError {
    VaultError::Corrupt {
        path: path.to_path_buf(),
        detail,
    }
}

fn decode_header(path: &Path, bytes: &[u8]) -> Result<Header, VaultError> {
    Header::decode(bytes).map_err(|problem| match problem {
        HeaderProblem::Damaged(detail) => corrupt(path, detail),
        HeaderProblem::Newer(found) => VaultError::NewerFormat {
            path: path.to_path_buf(),
            found,
        },
        HeaderProblem::Unacceptable(detail) => VaultError::Unacceptable {
            path: path.to_path_buf(),
            detail,
        },
    })
}

fn unlock(path: &Path, header: &Header, unlock: Unlock<'_>) -> Result<DataKey, VaultError> {
    keyslot::open(header, unlock).map_err(|e| slot_error(path, e))
}

fn slot_error(path: &Path, e: keyslot::SlotError) -> VaultError {
    match e {
        keyslot::SlotError::Wrong => VaultError::WrongPassphrase(path.to_path_buf()),
        keyslot::SlotError::Damaged(detail) => corrupt(path, detail),
        keyslot::SlotError::NotAMember => VaultError::NotAMember(path.to_path_buf()),
        keyslot::SlotError::NeedsIdentity => VaultError::NotAMember(path.to_path_buf()),
    }
}

/// What binds a session (`keyway unlock`) to one state of one vault: its id and the digest of
/// its header (key slots) as stored. A passphrase change or a re-key changes the header, and so
/// ends what a session may be handed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionBinding {
    pub vault_id: String,
    pub header: [u8; 32],
    /// A team vault's key slots as stored: its session agent holds the member's identity and
    /// unwraps the data key from the member's own slot in them, so a session follows another
    /// member's re-key (and ends when its member is removed). None for a file vault.
    pub slots: Option<Vec<u8>>,
}

/// The data key that `identity`'s own slot in a team vault's key slots `slots` (as stored)
/// unwraps, checked against the header's key check: what a team vault's session agent hands
/// out. `SlotError::NotAMember`: the member was removed.
pub fn key_from_own_slot(
    slots: &[u8],
    identity: &age::x25519::Identity,
) -> Result<zeroize::Zeroizing<[u8; 32]>, keyslot::SlotError> {
    let header = Header::decode(slots).map_err(|problem| match problem {
        HeaderProblem::Damaged(detail) => keyslot::SlotError::Damaged(detail),
        HeaderProblem::Newer(found) => {
            keyslot::SlotError::Damaged(format!("the header is of a newer format ({found})"))
        }
        HeaderProblem::Unacceptable(detail) => keyslot::SlotError::Damaged(detail),
    })?;
    let key = keyslot::unwrap_identity(&header, identity)?;
    Ok(zeroize::Zeroizing::new(*key.raw()))
}

fn header_digest(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}

/// The session binding of the vault at `path`, read without a key and without writing.
pub fn session_binding(path: &Path, options: &Options) -> Result<SessionBinding, VaultError> {
    guard::guarded(path, "opening", || {
        let storage: Box<dyn Storage> = if postgres::is_url(path) {
            Box::new(open_team_storage(path, options)?)
        } else {
            Box::new(FileStorage::open(path, options.lock_wait)?)
        };
        let txn = storage.read()?;
        let bytes = txn.key_slots()?;
        let header = decode_header(path, &bytes)?;
        Ok(SessionBinding {
            vault_id: header.vault_id,
            header: header_digest(&bytes),
            slots: (!header.members.is_empty()).then_some(bytes),
        })
    })
}

fn unacceptable(path: &Path) -> impl Fn(String) -> VaultError + '_ {
    move |detail| VaultError::Unacceptable {
        path: path.to_path_buf(),
        detail,
    }
}

impl Vault {
    /// Creates a new vault at `path` (mode 0600, parent directory created with mode 0700).
    pub fn create(
        path: &Path,
        passphrase: &[u8],
        params: KdfParams,
        now: i64,
    ) -> Result<Vault, VaultError> {
        Self::create_with(path, passphrase, params, now, &Options::default())
    }

    pub fn create_with(
        path: &Path,
        passphrase: &[u8],
        params: KdfParams,
        now: i64,
        options: &Options,
    ) -> Result<Vault, VaultError> {
        params
            .check_bounds()
            .map_err(|detail| VaultError::Unacceptable {
                path: path.to_path_buf(),
                detail: format!("the key derivation settings are unacceptable: {detail}"),
            })?;
        if postgres::is_url(path) {
            return Err(VaultError::Unacceptable {
                path: path.to_path_buf(),
                detail: "a team vault is created with a member's identity (Vault::create_team)"
                    .into(),
            });
        }
        if let Some(problem) = open::occupied(path) {
            return Err(problem);
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            open::create_private_dir(dir).map_err(|source| VaultError::Io {
                path: path.to_path_buf(),
                source,
            })?;
        }
        // The key derivation runs before the file exists: a failure leaves nothing behind.
        let (key, raw) = DataKey::generate();
        let vault_id = hex::encode(crypto::random_bytes::<16>());
        let header = keyslot::wrap_passphrase(
            vault_id,
            now,
            passphrase,
            &raw,
            keyslot::fresh_key_id(),
            params,
        )
        .map_err(unacceptable(path))?;
        let storage = FileStorage::create(path, options.lock_wait)?;
        let result = Self::initialize(Box::new(storage), path, header, key, options);
        if result.is_err() {
            // The file is ours and holds nothing yet: leave no half-made vault behind.
            let _ = std::fs::remove_file(path);
        }
        result
    }

    /// Creates a team vault in the database `url` names (see postgres.rs): its schema, then
    /// the key slots, with `first` as its first member (whose identity is `identity`).
    pub fn create_team(
        url: &Path,
        identity: &age::x25519::Identity,
        first: keyslot::MemberInfo,
        options: &Options,
    ) -> Result<Vault, VaultError> {
        let target = postgres::parse_url(url)?;
        let shown = target.shown();
        let (key, raw) = DataKey::generate();
        let vault_id = hex::encode(crypto::random_bytes::<16>());
        let slot = keyslot::member_slot(&vault_id, &key, &raw, &identity.to_public(), &first)
            .map_err(unacceptable(&shown))?;
        let header = keyslot::team_header(
            vault_id,
            first.added_at,
            &key,
            keyslot::fresh_key_id(),
            vec![slot],
        );
        let storage = PgStorage::create(
            &target,
            options.db_password.as_ref(),
            options.extra_ca_file.as_deref(),
            options.lock_wait,
            options.server_timeout,
        )?;
        let mut options = options.clone();
        options.changed_by = member_changed_by(&first.name, &options.changed_by);
        Self::initialize(Box::new(storage), &shown, header, key, &options)
    }

    fn initialize(
        storage: Box<dyn Storage>,
        path: &Path,
        header: Header,
        key: DataKey,
        options: &Options,
    ) -> Result<Vault, VaultError> {
        let header_bytes = header.encode();
        let digest = guard::guarded_write(path, "creating", || {
            let mut txn = storage.write()?;
            txn.put_key_slots(&header_bytes)?;
            let digest = txn
                .keeps_record_digest()
                .then(|| digest::Digest::of(&Snapshot::default(), changelog::Head::default()));
            if let Some(d) = &digest {
                txn.put_record_digest(&digest::seal(&key, &header.vault_id, d))?;
            }
            // Creates every table of the current format (there are no older ones to retire).
            txn.retire_older_formats()?;
            txn.commit()?;
            Ok(digest)
        })?;
        Ok(Vault {
            storage: Some(storage),
            state: State {
                path: path.to_path_buf(),
                header,
                header_bytes,
                key,
                changed_by: options.changed_by.clone(),
                generation: Some(1),
                positions: Positions::new(),
                digest,
                legacy: None,
                identity: None,
            },
            warnings: Vec::new(),
            offline: Default::default(),
        })
    }

    /// Opens and unlocks an existing vault. A damaged, foreign or newer file is never modified.
    pub fn open(path: &Path, passphrase: &[u8]) -> Result<Vault, VaultError> {
        Self::open_and_load(path, passphrase).map(|(vault, _)| vault)
    }

    /// Opens, unlocks and decrypts everything, with the default options.
    pub fn open_and_load(path: &Path, passphrase: &[u8]) -> Result<(Vault, Snapshot), VaultError> {
        Self::open_with(path, Unlock::Passphrase(passphrase), &Options::default())
    }

    /// Opens the vault file read-only, unlocks it and decrypts everything, authenticating every
    /// record. Nothing is written: a vault of an older format is read as it is, and migrated by
    /// its first write.
    pub fn open_with(
        path: &Path,
        unlock_with: Unlock<'_>,
        options: &Options,
    ) -> Result<(Vault, Snapshot), VaultError> {
        if postgres::is_url(path) {
            return Self::open_team(path, unlock_with, options);
        }
        let (storage, state, loaded) = guard::guarded(path, "opening", || {
            let storage = FileStorage::open(path, options.lock_wait)?;
            let txn = storage.read()?;
            let header_bytes = txn.key_slots()?;
            let header = decode_header(path, &header_bytes)?;
            let key = unlock(path, &header, unlock_with)?;
            let generation = txn.generation()?;
            let loaded = if header.format < REVISIONS {
                drop(txn);
                migrate::load(&storage, path, &header, &key)?
            } else {
                let loaded = load(&*txn, path, &header, &key)?;
                drop(txn);
                loaded
            };
            let state = State {
                path: path.to_path_buf(),
                legacy: (header.format < REVISIONS).then_some(migrate::Migration::None),
                header,
                header_bytes,
                key,
                changed_by: options.changed_by.clone(),
                generation: Some(generation),
                positions: Positions::new(),
                digest: None,
                identity: None,
            };
            Ok((storage, state, loaded))
        })?;
        let mut state = state;
        state.positions = loaded.positions;
        if state.legacy.is_some() {
            state.legacy = Some(loaded.migration);
        }
        Ok((
            Vault {
                storage: Some(Box::new(storage)),
                state,
                warnings: open::permission_warnings(path),
                offline: Default::default(),
            },
            loaded.snapshot,
        ))
    }

    /// Opens a team vault (see postgres.rs) and decrypts everything, authenticating every
    /// record and the set of them (digest.rs). Nothing is written.
    fn open_team(
        url: &Path,
        unlock_with: Unlock<'_>,
        options: &Options,
    ) -> Result<(Vault, Snapshot), VaultError> {
        let shown = postgres::parse_url(url)?.shown();
        let path = shown.as_path();
        let (storage, state, loaded) = guard::guarded(path, "opening", || {
            // Connected first: a server that cannot be reached is said so (exit 7) whatever
            // the identity.
            let storage = open_team_storage(url, options)?;
            // A passphrase opens this host's identity, which opens the member's slot.
            let unlock_with = match unlock_with {
                Unlock::Passphrase(p) => Unlock::Identity(Box::new(options.identity.open(p)?)),
                other => other,
            };
            let public = match &unlock_with {
                Unlock::Identity(identity) => Some(identity::public_key(identity)),
                _ => None,
            };
            let txn = storage.read()?;
            let header_bytes = txn.key_slots()?;
            let header = decode_header(path, &header_bytes)?;
            if header.format < REVISIONS {
                return Err(corrupt(
                    path,
                    format!(
                        "its header claims format {}, which a team vault never has",
                        header.format
                    ),
                ));
            }
            // The identity is kept, to follow a re-key by another member (see `sync`).
            let (key, identity) = match unlock_with {
                Unlock::Identity(identity) => (
                    keyslot::unwrap_identity(&header, &identity)
                        .map_err(|e| slot_error(path, e))?,
                    Some(identity),
                ),
                other => (unlock(path, &header, other)?, None),
            };
            let generation = txn.generation()?;
            let loaded = load(&*txn, path, &header, &key)?;
            drop(txn);
            // Each member's changes carry the member's name.
            let member = header
                .members
                .iter()
                .find(|m| Some(&m.recipient) == public.as_ref())
                .map(|slot| keyslot::member_info(&header, &key, slot))
                .transpose()
                .map_err(|e| match e {
                    keyslot::SlotError::Damaged(d) => corrupt(path, d),
                    _ => VaultError::NotAMember(path.to_path_buf()),
                })?;
            let changed_by = match &member {
                Some(m) => member_changed_by(&m.name, &options.changed_by),
                None => options.changed_by.clone(),
            };
            let state = State {
                path: path.to_path_buf(),
                legacy: None,
                header,
                header_bytes,
                key,
                changed_by,
                generation: Some(generation),
                positions: Positions::new(),
                digest: None,
                identity,
            };
            Ok((storage, state, loaded))
        })?;
        let mut state = state;
        state.positions = loaded.positions;
        state.digest = loaded.digest;
        Ok((
            Vault {
                storage: Some(Box::new(storage)),
                state,
                warnings: Vec::new(),
                offline: Default::default(),
            },
            loaded.snapshot,
        ))
    }

    fn storage(&self) -> &dyn Storage {
        // Invariant: `storage` is Some from construction until Drop.
        self.storage
            .as_deref()
            .expect("vault storage present until drop")
    }

    pub fn path(&self) -> &Path {
        &self.state.path
    }

    pub fn vault_id(&self) -> &str {
        &self.state.header.vault_id
    }

    pub fn kdf_params(&self) -> KdfParams {
        self.state.header.kdf.params
    }

    /// The format of the vault as stored (older ones are migrated by the first write).
    pub fn format(&self) -> u32 {
        self.state.header.format
    }

    /// The generation the last refresh or write saw.
    pub fn generation(&self) -> Option<u64> {
        self.state.generation
    }

    /// Who this process writes as.
    pub fn changed_by(&self) -> &str {
        &self.state.changed_by
    }

    /// The data key, for handing to another process of the same user (an unlock agent, which
    /// opens vaults with `Unlock::Key`). Its Debug is redacted; nothing else exposes it.
    pub fn data_key(&self) -> &DataKey {
        &self.state.key
    }

    /// The switch that makes every write of this vault refused at once (`VaultError::Offline`)
    /// while it is on: a face that stays open turns it on when it finds the team vault's
    /// server gone, and off once it has reconnected.
    pub fn offline_switch(&self) -> std::sync::Arc<std::sync::atomic::AtomicBool> {
        self.offline.clone()
    }

    /// What a session started from this open vault is bound to (see `session_binding`).
    pub fn session_binding(&self) -> SessionBinding {
        SessionBinding {
            vault_id: self.state.header.vault_id.clone(),
            header: header_digest(&self.state.header_bytes),
            slots: (!self.state.header.members.is_empty()).then(|| self.state.header_bytes.clone()),
        }
    }

    /// The team vault member's identity this vault was unlocked with (None for a file vault
    /// or one opened with a key): what a session agent of a team vault holds.
    pub fn member_identity(&self) -> Option<&age::x25519::Identity> {
        self.state.identity.as_deref()
    }

    // ---- reading -----------------------------------------------------------------------------

    /// Decrypts every record afresh. A record that fails to authenticate is reported, never
    /// guessed at.
    pub fn load(&self) -> Result<Snapshot, VaultError> {
        let state = &self.state;
        guard::guarded(&state.path, "reading", || {
            if state.header.format < REVISIONS {
                return Err(corrupt(
                    &state.path,
                    "it is of an older format, which is read only when it is opened".into(),
                ));
            }
            let txn = self.storage().read()?;
            state.check_key(&*txn)?;
            load(&*txn, &state.path, &state.header, &state.key).map(|l| l.snapshot)
        })
    }

    /// A credential's verification history, newest first (at most HISTORY_LIMIT entries).
    pub fn history(&self, credential: &RecordId) -> Result<Vec<Verification>, VaultError> {
        let state = &self.state;
        if let Some(migrate::Migration::Format1(histories)) = &state.legacy {
            return Ok(histories
                .iter()
                .find(|(id, _)| id == credential)
                .map(|(_, h)| h.clone())
                .unwrap_or_default());
        }
        guard::guarded(&state.path, "reading", || {
            let txn = self.storage().read()?;
            state.check_key(&*txn)?;
            results::read_history(
                &*txn,
                &state.path,
                &state.header.vault_id,
                &state.key,
                credential,
                state.positions.get(credential),
            )
        })
    }

    /// Brings `snapshot` up to date with what other processes wrote: one cheap read when
    /// nothing changed (None), otherwise only the records whose revision moved are read and
    /// decrypted, and the result says what changed. Fails with `Rekeyed` once another process
    /// replaced the data key, and `Replaced` once the file at the path is another one.
    pub fn refresh(&mut self, snapshot: &mut Snapshot) -> Result<Option<Changes>, VaultError> {
        let (storage, state) = (self.storage.as_deref(), &mut self.state);
        let storage = storage.expect("vault storage present until drop");
        let refreshed = guard::guarded(&state.path.clone(), "reading", || {
            if storage.replaced()? {
                return Err(VaultError::Replaced(state.path.clone()));
            }
            let txn = storage.read()?;
            // A refresh is kept whatever it finds: nothing to roll back.
            state.sync(&*txn, snapshot, &mut Journal::default())
        });
        if let Err(VaultError::Replaced(_)) = &refreshed {
            storage.let_go();
            return Err(state.why_replaced());
        }
        if refreshed.is_err() {
            // A refresh that failed part way keeps what it applied (there is nothing to roll
            // back to), so the snapshot and what was derived from it (the record digest) may
            // no longer be in step: the next one reads everything again.
            state.generation = None;
        }
        refreshed
    }

    // ---- writing -----------------------------------------------------------------------------

    /// Runs `op` in one write transaction and commits it durably: when this returns Ok, every
    /// change is on disk; when it returns an error, none is. Inside, `snapshot` is first brought
    /// up to date (the write lock is held, so this is the vault as it is), and `op` checks its
    /// rules against it through `Change::snapshot` and makes its changes through `Change`,
    /// which also applies them to `snapshot`. A vault of an older format is migrated first, in
    /// a transaction of its own.
    pub fn write<R, E: From<VaultError>>(
        &mut self,
        snapshot: &mut Snapshot,
        op: impl FnOnce(&mut Change<'_>) -> Result<R, E>,
    ) -> Result<R, E> {
        if self.offline.load(std::sync::atomic::Ordering::Acquire) {
            return Err(VaultError::Offline(self.state.path.clone()).into());
        }
        self.migrate_if_older(snapshot)?;
        let (storage, state) = (self.storage.as_deref(), &mut self.state);
        let storage = storage.expect("vault storage present until drop");
        let path = state.path.clone();
        let mut journal = Journal::default();
        let txn = guard::guarded_write(&path, "writing", || {
            if storage.replaced()? {
                return Err(VaultError::Replaced(state.path.clone()));
            }
            let mut txn = storage.write()?;
            match state.sync(&*txn, snapshot, &mut journal) {
                Ok(_) => {
                    txn.release_reads();
                    Ok(txn)
                }
                Err(e) => {
                    std::mem::take(&mut journal).roll_back(state, snapshot);
                    Err(e)
                }
            }
        });
        if let Err(VaultError::Replaced(_)) = &txn {
            storage.let_go();
            return Err(state.why_replaced().into());
        }
        let txn = txn?;
        let mut change = Change::new(txn, state, snapshot, journal);
        let out = op(&mut change);
        match out {
            Ok(r) => {
                guard::guarded_write(&path, "writing", || change.commit())?;
                Ok(r)
            }
            Err(e) => {
                change.abandon();
                Err(e)
            }
        }
    }

    /// Migrates a vault of an older format, if this is one, in one transaction of its own.
    fn migrate_if_older(&mut self, snapshot: &mut Snapshot) -> Result<(), VaultError> {
        if self.state.legacy.is_none() {
            return Ok(());
        }
        let (storage, state) = (self.storage.as_deref(), &mut self.state);
        let storage = storage.expect("vault storage present until drop");
        let path = state.path.clone();
        guard::guarded_write(&path, "migrating", || {
            migrate::run(storage, state, snapshot)
        })
    }

    /// Re-wraps the data key under a new passphrase in one transaction: O(1) in the vault's
    /// size, since no record is re-encrypted. The data key stays, so other processes that have
    /// the vault open keep working. The key derivation runs before the transaction.
    pub fn change_passphrase(
        &mut self,
        snapshot: &mut Snapshot,
        new: &[u8],
        params: KdfParams,
    ) -> Result<(), VaultError> {
        self.migrate_if_older(snapshot)?;
        let state = &self.state;
        let key_id = state
            .header
            .key_id
            .clone()
            .unwrap_or_else(keyslot::fresh_key_id);
        let header = keyslot::wrap_passphrase(
            state.header.vault_id.clone(),
            state.header.created_at,
            new,
            state.key.raw(),
            key_id,
            params,
        )
        .map_err(unacceptable(&state.path))?;
        let encoded = header.encode();
        self.write(snapshot, |change| change.put_header(header, encoded))
    }

    /// Replaces the data key: a new one, every record, history entry and sequence record
    /// re-encrypted under it and the passphrase slot re-wrapped (same passphrase), in one
    /// transaction. Other processes that had the vault open find out at their next access
    /// (`VaultError::Rekeyed`) and must unlock again. The key derivation runs before the
    /// transaction; the re-encryption inside it.
    pub fn rekey(&mut self, snapshot: &mut Snapshot, passphrase: &[u8]) -> Result<(), VaultError> {
        self.migrate_if_older(snapshot)?;
        let state = &self.state;
        // The passphrase must be the current one: rekey keeps it.
        unlock(&state.path, &state.header, Unlock::Passphrase(passphrase))?;
        let (key, raw) = DataKey::generate();
        let header = keyslot::wrap_passphrase(
            state.header.vault_id.clone(),
            state.header.created_at,
            passphrase,
            &raw,
            keyslot::fresh_key_id(),
            state.header.kdf.params,
        )
        .map_err(unacceptable(&state.path))?;
        self.write(snapshot, |change| change.rekey(key, header))?;
        // The old ciphertexts and the old wrapped key are still in the pages the re-key freed:
        // the vault moves to a fresh file that holds only what is current.
        let path = self.state.path.clone();
        guard::guarded_write(&path, "rewriting", || self.storage().rewrite_fresh())
    }
}

/// `changed_by` of a team vault member: their name, then the user, host and command.
fn member_changed_by(member: &str, changed_by: &str) -> String {
    format!("{member}, {changed_by}")
}

impl Vault {
    /// Whether this is a team vault (its key slots are its members').
    pub fn is_team(&self) -> bool {
        !self.state.header.members.is_empty()
    }

    /// The team vault's members, as the key slots the last refresh saw hold them.
    pub fn members(&self) -> Result<Vec<Member>, VaultError> {
        let state = &self.state;
        state
            .header
            .members
            .iter()
            .map(|slot| {
                let info =
                    keyslot::member_info(&state.header, &state.key, slot).map_err(|e| match e {
                        keyslot::SlotError::Damaged(d) => corrupt(&state.path, d),
                        _ => VaultError::NotAMember(state.path.clone()),
                    })?;
                Ok(Member {
                    name: info.name,
                    kind: info.kind,
                    added_at: info.added_at,
                    public_key: slot.recipient.clone(),
                })
            })
            .collect()
    }

    fn team_only(&self) -> Result<(), VaultError> {
        if self.is_team() {
            Ok(())
        } else {
            Err(VaultError::NotTeam(self.state.path.clone()))
        }
    }

    /// Adds a member: a slot wrapping the current data key for `recipient`, in one
    /// transaction (no record changes).
    pub fn add_member(
        &mut self,
        snapshot: &mut Snapshot,
        recipient: &age::x25519::Recipient,
        info: keyslot::MemberInfo,
    ) -> Result<(), VaultError> {
        self.team_only()?;
        let public = recipient.to_string();
        self.write(snapshot, |change| {
            let state = change.state();
            let members = current_members(state)?;
            if members.iter().any(|(_, m)| m.name == info.name) {
                return Err(VaultError::MemberExists(info.name.clone()));
            }
            if state.header.members.iter().any(|m| m.recipient == public) {
                return Err(VaultError::MemberExists(format!("the holder of {public}")));
            }
            let slot = keyslot::member_slot(
                &state.header.vault_id,
                &state.key,
                state.key.raw(),
                recipient,
                &info,
            )
            .map_err(unacceptable(&state.path))?;
            let mut header = state.header.clone();
            header.members.push(slot);
            let encoded = header.encode();
            change.put_header(header, encoded)?;
            change.log_event("member added", &info.name);
            Ok(())
        })
    }

    /// The change log, every entry opened and the chain checked against its head (exit 1
    /// naming the first bad entry when it is broken). A file vault keeps none: empty. Reads
    /// only.
    pub fn change_log(&self) -> Result<Vec<changelog::Entry>, VaultError> {
        let state = &self.state;
        guard::guarded(&state.path, "reading", || {
            let txn = self.storage().read()?;
            if !txn.keeps_change_log() {
                return Ok(Vec::new());
            }
            state.check_key(&*txn)?;
            let sealed = txn.record_digest()?;
            let head = digest::open(&state.key, &state.header.vault_id, sealed.as_deref())
                .map_err(|d| corrupt(&state.path, d))?
                .head();
            let stored = txn.change_log()?;
            changelog::verify(
                &state.path,
                &state.key,
                &state.header.vault_id,
                head,
                &stored,
            )
        })
    }

    /// Whether this vault keeps a change log (a team vault).
    pub fn keeps_change_log(&self) -> bool {
        self.storage()
            .read()
            .map(|txn| txn.keeps_change_log())
            .unwrap_or(false)
    }

    /// Removes the member `name` and re-keys, in one transaction: a new data key, every record,
    /// history entry and sequence record re-encrypted, every remaining slot re-wrapped. The
    /// removed identity opens nothing afterwards. Refuses to remove the last member.
    pub fn remove_member(&mut self, snapshot: &mut Snapshot, name: &str) -> Result<(), VaultError> {
        self.team_only()?;
        self.write(snapshot, |change| {
            let state = change.state();
            let members = current_members(state)?;
            if !members.iter().any(|(_, m)| m.name == name) {
                return Err(VaultError::NoSuchMember(name.to_string()));
            }
            if members.len() == 1 {
                return Err(VaultError::LastMember(name.to_string()));
            }
            let kept: Vec<_> = members
                .into_iter()
                .filter(|(_, m)| m.name != name)
                .collect();
            let (key, header) = rekeyed_team_header(state, &kept)?;
            change.log_event("member removed", name);
            change.rekey(key, header)
        })
    }

    /// A team vault's re-key without removing anyone: every slot re-wrapped.
    pub fn rekey_team(&mut self, snapshot: &mut Snapshot) -> Result<(), VaultError> {
        self.team_only()?;
        self.write(snapshot, |change| {
            let state = change.state();
            let members = current_members(state)?;
            let (key, header) = rekeyed_team_header(state, &members)?;
            change.rekey(key, header)
        })
    }
}

/// What a copy of a vault holds, for checking it against its source: every record (as JSON,
/// secrets included) by id, and every credential's history.
#[derive(PartialEq)]
struct CopyContent {
    records: std::collections::BTreeMap<String, String>,
    histories: std::collections::BTreeMap<String, Vec<String>>,
}

impl CopyContent {
    fn of(vault: &Vault, snapshot: &Snapshot) -> Result<CopyContent, VaultError> {
        let mut records = std::collections::BTreeMap::new();
        // Records of strings, numbers and maps always serialize.
        let json = |r: &dyn erased::Json| r.json();
        for w in &snapshot.workspaces {
            records.insert(format!("w/{}", w.id), json(w));
        }
        for c in &snapshot.credentials {
            records.insert(format!("c/{}", c.id), json(c));
        }
        for f in &snapshot.flows {
            records.insert(format!("f/{}", f.id), json(f));
        }
        let mut histories = std::collections::BTreeMap::new();
        for c in &snapshot.credentials {
            let history = vault.history(&c.id)?;
            histories.insert(
                c.id.to_string(),
                history
                    .iter()
                    .map(|v| serde_json::to_string(v).unwrap_or_default())
                    .collect(),
            );
        }
        Ok(CopyContent { records, histories })
    }
}

mod erased {
    /// A record as JSON, whatever its kind.
    pub trait Json {
        fn json(&self) -> String;
    }
    impl<T: serde::Serialize> Json for T {
        fn json(&self) -> String {
            serde_json::to_string(self).unwrap_or_default()
        }
    }
}

impl Vault {
    /// Copies every workspace, credential and flow (ids and revisions kept) and every
    /// credential's history into `target`, a new, empty vault, in one transaction; then reads
    /// the copy back from the target, opened afresh with `reopen`, and checks that it holds the
    /// same records, count and decrypted content, before saying it succeeded. Returns how many
    /// records and history entries were copied.
    pub fn copy_into(
        &self,
        snapshot: &Snapshot,
        target: &mut Vault,
        target_snapshot: &mut Snapshot,
        reopen: impl FnOnce() -> Result<(Vault, Snapshot), VaultError>,
    ) -> Result<(usize, usize), VaultError> {
        let source = CopyContent::of(self, snapshot)?;
        let records = source.records.len();
        let entries = source.histories.values().map(Vec::len).sum();
        let mut histories = Vec::new();
        for c in &snapshot.credentials {
            histories.push((c.id.clone(), self.history(&c.id)?));
        }
        target.write(target_snapshot, |change| {
            if !change.snapshot().workspaces.is_empty() {
                return Err(VaultError::Unacceptable {
                    path: change.state().path.clone(),
                    detail: "it is not empty: a copy goes into a new vault".into(),
                });
            }
            for w in &snapshot.workspaces {
                change.put_copied(w.clone())?;
            }
            for c in &snapshot.credentials {
                let mut c = c.clone();
                c.last_verification = None;
                change.put_copied(c)?;
            }
            for f in &snapshot.flows {
                change.put_copied(f.clone())?;
            }
            for (id, history) in &histories {
                change.add_history(id, history)?;
            }
            Ok(())
        })?;
        let (copy, copy_snapshot) = reopen()?;
        if CopyContent::of(&copy, &copy_snapshot)? != source {
            return Err(VaultError::CopyDiffers(copy.path().to_path_buf()));
        }
        Ok((records, entries))
    }
}

/// Every member slot with who it is.
fn current_members(
    state: &State,
) -> Result<Vec<(header::MemberSlot, keyslot::MemberInfo)>, VaultError> {
    state
        .header
        .members
        .iter()
        .map(|slot| {
            keyslot::member_info(&state.header, &state.key, slot)
                .map(|info| (slot.clone(), info))
                .map_err(|e| match e {
                    keyslot::SlotError::Damaged(d) => corrupt(&state.path, d),
                    _ => VaultError::NotAMember(state.path.clone()),
                })
        })
        .collect()
}

/// A new data key and the header with `members`' slots wrapping it.
fn rekeyed_team_header(
    state: &State,
    members: &[(header::MemberSlot, keyslot::MemberInfo)],
) -> Result<(DataKey, Header), VaultError> {
    let (key, raw) = DataKey::generate();
    let vault_id = &state.header.vault_id;
    let slots = members
        .iter()
        .map(|(slot, info)| {
            let recipient = identity::parse_public_key(&slot.recipient)?;
            keyslot::member_slot(vault_id, &key, &raw, &recipient, info)
                .map_err(unacceptable(&state.path))
        })
        .collect::<Result<Vec<_>, VaultError>>()?;
    let header = keyslot::team_header(
        vault_id.clone(),
        state.header.created_at,
        &key,
        keyslot::fresh_key_id(),
        slots,
    );
    Ok((key, header))
}

impl State {
    /// The file at the path is not the one this process opened: the same vault under a new
    /// data key (a re-key writes a fresh file and renames it over the old one) is `Rekeyed`,
    /// anything else `Replaced`. Either way the process must unlock again.
    fn why_replaced(&self) -> VaultError {
        let header = FileStorage::open(&self.path, std::time::Duration::ZERO)
            .ok()
            .and_then(|storage| storage.read().ok()?.key_slots().ok())
            .and_then(|bytes| decode_header(&self.path, &bytes).ok());
        match header {
            Some(h) if h.vault_id == self.header.vault_id && h.key_id != self.header.key_id => {
                VaultError::Rekeyed(self.path.clone())
            }
            _ => VaultError::Replaced(self.path.clone()),
        }
    }

    /// Fails with `Rekeyed` if the header `txn` sees names another data key than this
    /// process holds: whatever it read under that key would look like damage.
    fn check_key(&self, txn: &dyn ReadTxn) -> Result<(), VaultError> {
        let bytes = txn.key_slots()?;
        if bytes == self.header_bytes {
            return Ok(());
        }
        let header = decode_header(&self.path, &bytes)?;
        if header.key_id != self.header.key_id && keyslot::check_key(&header, &self.key).is_err() {
            return Err(VaultError::Rekeyed(self.path.clone()));
        }
        Ok(())
    }

    /// Brings `snapshot` up to date with what `txn` sees (see `Vault::refresh`).
    fn sync(
        &mut self,
        txn: &dyn ReadTxn,
        snapshot: &mut Snapshot,
        journal: &mut Journal,
    ) -> Result<Option<Changes>, VaultError> {
        let generation = txn.generation()?;
        if self.generation == Some(generation) {
            return Ok(None);
        }
        // Every commit moves the generation on: an older one than this process saw is an older
        // copy of the file put in its place (`cp backup.redb vault.redb`), not a change.
        if self.generation.is_some_and(|seen| generation < seen) {
            return Err(VaultError::Replaced(self.path.clone()));
        }
        journal.save_state(self);
        let mut full = self.generation.is_none();
        let bytes = txn.key_slots()?;
        if bytes != self.header_bytes {
            let header = decode_header(&self.path, &bytes)?;
            if header.vault_id != self.header.vault_id {
                return Err(VaultError::Replaced(self.path.clone()));
            }
            if header.key_id != self.header.key_id
                && keyslot::check_key(&header, &self.key).is_err()
            {
                // Another member re-keyed the team vault: this member's own new slot holds
                // the new data key, and everything is read again under it. A file vault's
                // re-key means a new passphrase: unlock again.
                let Some(identity) = &self.identity else {
                    return Err(VaultError::Rekeyed(self.path.clone()));
                };
                let key = match keyslot::unwrap_identity(&header, identity) {
                    Ok(key) => key,
                    Err(keyslot::SlotError::NotAMember) => {
                        return Err(VaultError::Removed(self.path.clone()))
                    }
                    Err(e) => return Err(slot_error(&self.path, e)),
                };
                journal.save_key(std::mem::replace(&mut self.key, key));
                full = true;
            }
            full |= header.format != self.header.format;
            self.header = header;
            self.header_bytes = bytes;
        }
        if self.header.format < REVISIONS {
            // Nobody writes an older format (a writer migrates it first), so its generation
            // never moves; a file that says otherwise is not what it claims.
            return Err(corrupt(
                &self.path,
                "its older format changed while it was open".into(),
            ));
        }
        self.legacy = None;
        let mut changes = Changes::default();
        full |= txn.keeps_record_digest() && self.digest.is_none();
        if full {
            let loaded = load(txn, &self.path, &self.header, &self.key)?;
            let old = std::mem::replace(snapshot, loaded.snapshot);
            self.digest = loaded.digest;
            journal.push(Step::Whole(Box::new(old)));
            journal.save_positions(std::mem::replace(&mut self.positions, loaded.positions));
            changes.reloaded = true;
        } else {
            let (w, c, f, removed) = (
                &mut changes.workspaces,
                &mut changes.credentials,
                &mut changes.flows,
                &mut changes.removed,
            );
            self.sync_records::<Workspace>(txn, snapshot, journal, w, removed)?;
            self.sync_records::<Credential>(txn, snapshot, journal, c, removed)?;
            self.sync_records::<Flow>(txn, snapshot, journal, f, removed)?;
            if self.digest.is_some() {
                self.sync_digest(txn, snapshot, journal, &mut changes)?;
            } else {
                self.sync_results(txn, snapshot, journal, &mut changes.results)?;
            }
        }
        self.generation = Some(generation);
        Ok(Some(changes))
    }

    /// Reads the records of one kind whose revision differs from the snapshot's, and drops
    /// those no longer stored.
    fn sync_records<T: Record>(
        &self,
        txn: &dyn ReadTxn,
        snapshot: &mut Snapshot,
        journal: &mut Journal,
        changed: &mut Vec<RecordId>,
        removed: &mut Vec<RecordId>,
    ) -> Result<(), VaultError> {
        let records = T::all_mut(snapshot);
        let mut index: HashMap<String, (usize, u64)> = HashMap::with_capacity(records.len());
        for (i, r) in records.iter().enumerate() {
            index.insert(r.id().0.clone(), (i, r.revision().number));
        }
        let mut seen = vec![false; records.len()];
        let mut moved: Vec<(Option<usize>, String)> = Vec::new();
        let vault_id = &self.header.vault_id;
        // Revisions first; only the records that moved are read and decrypted.
        txn.scan_revisions(T::TABLE, &mut |id, stored_revision| {
            let at = index.get(id).copied();
            if let Some((i, revision)) = at {
                seen[i] = true;
                if revision == stored_revision {
                    return Ok(());
                }
            }
            moved.push((at.map(|(i, _)| i), id.to_string()));
            Ok(())
        })?;
        let mut updates: Vec<(Option<usize>, T)> = Vec::with_capacity(moved.len());
        for (at, id) in moved {
            // Gone between the two reads cannot happen: both are in one read transaction.
            let (revision, sealed) = txn.get(T::TABLE, &id)?.ok_or_else(|| {
                corrupt(
                    &self.path,
                    format!("its record {id} vanished while it was read"),
                )
            })?;
            let stored = StoredRecord {
                id: &id,
                revision,
                sealed: &sealed,
            };
            let record = records::open::<T>(&self.key, vault_id, stored)
                .map_err(|detail| corrupt(&self.path, detail))?;
            updates.push((at, record));
        }
        for (at, mut record) in updates {
            changed.push(record.id().clone());
            match at {
                Some(i) => {
                    record.keep_unsealed(&records[i]);
                    let old = std::mem::replace(&mut records[i], record);
                    journal.push(T::step(Edit::Replaced(i, old)));
                }
                None => {
                    records.push(record);
                    journal.push(T::step(Edit::Pushed));
                }
            }
        }
        // From the end, so each removal's index is where an undo puts the record back.
        // Records appended above lie past `seen`.
        for i in (0..seen.len()).rev() {
            if !seen[i] {
                let old = records.remove(i);
                removed.push(old.id().clone());
                journal.push(T::step(Edit::Removed(i, old)));
            }
        }
        Ok(())
    }

    /// Reads the sequence record again, and the newest result of every credential whose
    /// position moved.
    fn sync_results(
        &mut self,
        txn: &dyn ReadTxn,
        snapshot: &mut Snapshot,
        journal: &mut Journal,
        changed: &mut Vec<RecordId>,
    ) -> Result<(), VaultError> {
        let vault_id = &self.header.vault_id;
        let positions = sequences::read(txn, &self.path, vault_id, &self.key, self.header.format)?;
        let moved: Vec<(&RecordId, &sequences::Position)> = positions
            .iter()
            .filter(|(id, p)| self.positions.get(*id) != Some(*p))
            .collect();
        let mut latest =
            results::read_latest(txn, &self.path, vault_id, &self.key, moved.into_iter())?;
        for (i, c) in snapshot.credentials.iter_mut().enumerate() {
            let latest = match latest.remove(c.id.as_str()) {
                Some((_, v)) => Some(v),
                None if !positions.contains_key(&c.id) && c.last_verification.is_some() => None,
                None => continue,
            };
            let old = std::mem::replace(&mut c.last_verification, latest);
            journal.push(Step::Latest(i, old));
            changed.push(c.id.clone());
        }
        journal.save_positions(std::mem::replace(&mut self.positions, positions));
        Ok(())
    }

    /// A team vault's refresh after the records (`changes`) were brought up to date: the
    /// record digest of the shards they touched must be what is stored, and the position
    /// shards whose version moved are read again, with the newest result of each credential
    /// whose position moved (digest.rs).
    fn sync_digest(
        &mut self,
        txn: &dyn ReadTxn,
        snapshot: &mut Snapshot,
        journal: &mut Journal,
        changes: &mut Changes,
    ) -> Result<(), VaultError> {
        let (path, vault_id) = (&self.path, &self.header.vault_id);
        let sealed = txn.record_digest()?;
        let first_format = self.digest.as_ref().is_some_and(|d| d.first_format);
        let stored = match digest::open(&self.key, vault_id, sealed.as_deref()) {
            Ok(digest::Stored::Sharded(stored)) => stored,
            // A vault not upgraded yet, written by a teammate's keyway of schema 2 (which
            // still writes the first format): read as that keyway wrote it.
            Ok(first @ digest::Stored::First { .. }) if first_format => {
                let checked = first.check(snapshot).map_err(|d| corrupt(path, d))?;
                self.sync_results(txn, snapshot, journal, &mut changes.results)?;
                self.digest = Some(checked);
                return Ok(());
            }
            // Only a keyway of schema 2 writes the first format, and it refuses schema 3.
            Ok(digest::Stored::First { .. }) => {
                return Err(corrupt(
                    path,
                    "its record digest went back to the first format".into(),
                ))
            }
            Err(d) => return Err(corrupt(path, d)),
        };
        let Some(mine) = self.digest.as_mut() else {
            return Err(corrupt(path, "its record digest was not read".into()));
        };
        // Versions and the log only move on: an older digest, with the shards it names, is a
        // copy of an earlier state put back (a restored backup's rows), not a change.
        let went_back = stored.head_seq < mine.head_seq
            || (!first_format
                && (mine.positions.iter().zip(&stored.positions))
                    .any(|(ours, theirs)| theirs < ours));
        if went_back {
            return Err(corrupt(
                path,
                "its record digest is older than the one this process read: an earlier state was put back".into(),
            ));
        }
        let mut touched = digest::ShardSet::default();
        for id in changes
            .workspaces
            .iter()
            .chain(&changes.credentials)
            .chain(&changes.flows)
            .chain(&changes.removed)
        {
            touched.add_id(id.as_str());
        }
        mine.update(snapshot, &touched);
        mine.check_records(&stored).map_err(|d| corrupt(path, d))?;
        let mut moved = digest::ShardSet::default();
        for (shard, (ours, theirs)) in
            (0..=u8::MAX).zip(mine.positions.iter().zip(&stored.positions))
        {
            if ours != theirs {
                moved.insert(shard);
            }
        }
        if !moved.is_empty() {
            let mut read = shards::read_shards(
                txn,
                path,
                vault_id,
                &self.key,
                &stored.positions,
                Some(&moved),
            )?;
            let mut positions = self.positions.clone();
            positions.retain(|id, _| !moved.contains(digest::shard_of(id.as_str())));
            positions.extend(read.positions);
            // The newest result of every credential of a moved shard is the shard's.
            for (i, c) in snapshot.credentials.iter_mut().enumerate() {
                if !moved.contains(digest::shard_of(c.id.as_str())) {
                    continue;
                }
                let newest = read.newest.remove(&c.id).flatten();
                if newest != c.last_verification {
                    let old = std::mem::replace(&mut c.last_verification, newest);
                    journal.push(Step::Latest(i, old));
                    changes.results.push(c.id.clone());
                }
            }
            journal.save_positions(std::mem::replace(&mut self.positions, positions));
        }
        // Only now: a refresh that failed above is kept as far as it got, and the next one
        // must find these shards still to be read.
        if let Some(mine) = self.digest.as_mut() {
            mine.set_head(stored.head());
            mine.positions = stored.positions;
            mine.first_format = false;
        }
        Ok(())
    }
}

/// Decrypts every record of every table of a current-format vault and each credential's latest
/// result. Where the storage keeps a record digest (digest.rs), the records read must be the
/// set it names: damage otherwise, nothing of them shown.
pub(crate) fn load(
    txn: &dyn ReadTxn,
    path: &Path,
    header: &Header,
    key: &DataKey,
) -> Result<Loaded, VaultError> {
    let vault_id = header.vault_id.as_str();
    let stored = if txn.keeps_record_digest() {
        let sealed = txn.record_digest()?;
        Some(digest::open(key, vault_id, sealed.as_deref()).map_err(|d| corrupt(path, d))?)
    } else {
        None
    };
    let mut credentials: Vec<Credential> = read_all(txn, path, vault_id, key)?;
    let positions = match &stored {
        // A team vault's shards hold each credential's newest result too (shards.rs).
        Some(digest::Stored::Sharded(d)) => {
            let mut read = shards::read_shards(txn, path, vault_id, key, &d.positions, None)?;
            for c in &mut credentials {
                c.last_verification = read.newest.remove(&c.id).flatten();
            }
            read.positions
        }
        first_format => {
            // Once a vault's positions are in shards, only a copy of an older digest put back
            // can be of the first format: keyway never writes it again.
            if first_format.is_some() && !txn.position_shards(None)?.is_empty() {
                return Err(corrupt(
                    path,
                    "its record digest is of the first format though its positions are in shards: an older digest was put back".into(),
                ));
            }
            let positions = sequences::read(txn, path, vault_id, key, header.format)?;
            attach_latest(txn, path, vault_id, key, &positions, &mut credentials)?;
            positions
        }
    };
    let snapshot = Snapshot {
        workspaces: read_all(txn, path, vault_id, key)?,
        credentials,
        flows: read_all(txn, path, vault_id, key)?,
    };
    let digest = stored
        .map(|stored| stored.check(&snapshot))
        .transpose()
        .map_err(|d| corrupt(path, d))?;
    Ok(Loaded {
        digest,
        snapshot,
        positions,
        migration: migrate::Migration::None,
    })
}

/// Gives each credential its newest result, as `positions` names it. History entries with no
/// sequence numbers to place them are damage (a record went missing).
pub(crate) fn attach_latest(
    txn: &dyn ReadTxn,
    path: &Path,
    vault_id: &str,
    key: &DataKey,
    positions: &Positions,
    credentials: &mut [Credential],
) -> Result<(), VaultError> {
    if positions.is_empty() {
        let entries = txn.result_count()?;
        if entries > 0 {
            return Err(corrupt(
                path,
                format!("its {entries} history entries have no sequence numbers"),
            ));
        }
        return Ok(());
    }
    let mut latest = results::read_latest(txn, path, vault_id, key, positions.iter())?;
    for c in credentials {
        if let Some((_, verification)) = latest.remove(c.id.as_str()) {
            c.last_verification = Some(verification);
        }
    }
    Ok(())
}

fn read_all<T: Record>(
    txn: &dyn ReadTxn,
    path: &Path,
    vault_id: &str,
    key: &DataKey,
) -> Result<Vec<T>, VaultError> {
    let mut out = Vec::new();
    txn.scan(T::TABLE, &mut |stored| {
        let record = records::open(key, vault_id, stored).map_err(|d| corrupt(path, d))?;
        out.push(record);
        Ok(())
    })?;
    Ok(out)
}

#[cfg(test)]
mod results_tests;
