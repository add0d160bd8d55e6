//! The command line, declared with clap. Every command has --help.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "keyway",
    version,
    about = "Manage the credentials of your integration flows: an encrypted vault, live verification, a keyboard-driven TUI.",
    long_about = "Manage the credentials of your integration flows.\n\nWith no subcommand keyway opens the terminal UI. The subcommands below are the scriptable face of the same vault and rules.\n\nExit codes: 0 ok; 1 refused or failed; 2 usage; 3 wrong passphrase; 4 vault missing, corrupt, foreign or newer; 5 vault busy (another process's write did not finish in time); 6 changed by another process since it was read; 7 the team vault's server cannot be reached. `keyway run` exits with its command's code, or 125 (keyway failed before the command started), 126 (cannot run it), 127 (not found)."
)]
pub struct Cli {
    /// The vault file, or a team vault's postgresql:// URL (default: ~/.local/share/keyway/vault.redb).
    #[arg(long, global = true, env = "KEYWAY_VAULT", value_name = "PATH")]
    pub vault: Option<PathBuf>,

    /// The configuration file (default: ~/.config/keyway/config.toml).
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Read the passphrase from this file (first line) instead of a prompt. KEYWAY_PASSPHRASE wins over it.
    #[arg(long, global = true, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,

    /// A machine member's identity file (no passphrase) for a team vault, instead of this
    /// host's own identity.
    #[arg(long, global = true, env = "KEYWAY_IDENTITY", value_name = "FILE")]
    pub identity: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new, empty vault: a file, or with --url a team vault in PostgreSQL.
    Init {
        /// Create a team vault in this PostgreSQL database
        /// (postgresql://USER@HOST:PORT/DB?sslmode=verify-full); the password comes from
        /// PGPASSWORD, ~/.pgpass or a prompt, never from the URL.
        #[arg(long, value_name = "URL")]
        url: Option<String>,
        /// The team vault's first member (default: KEYWAY_MEMBER, else user@host); this host's
        /// identity is created if it has none.
        #[arg(long, value_name = "NAME", requires = "url")]
        member: Option<String>,
    },
    /// Who did what in a team vault: its change log, the chain checked (a broken one exits 1
    /// naming the first bad entry).
    Log {
        /// Only changes in this workspace.
        #[arg(long, short = 'w', value_name = "WORKSPACE")]
        workspace: Option<String>,
        /// Only changes since this RFC 3339 time or span back from now (7d, 12h).
        #[arg(long, value_name = "TIME|SPAN")]
        since: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// The vault as a whole: `copy --to URL|FILE`.
    #[command(subcommand)]
    Vault(VaultCmd),
    /// A team vault's members: this host's identity, adding and removing members (re-keys).
    #[command(subcommand)]
    Member(MemberCmd),
    /// Change the vault's passphrase (the new one from KEYWAY_NEW_PASSPHRASE or a prompt).
    /// Ends the vault's session agent.
    Passwd,
    /// Replace the vault's data key: every record re-encrypted under a new one, the passphrase
    /// kept. Use it when an old copy of the vault or an old passphrase may be out there.
    Rekey,
    /// Unlock once for a script: start a session agent holding the vault's key and print
    /// `export KEYWAY_SESSION=...`; commands with that token skip the passphrase and the KDF.
    /// Use as: eval "$(keyway unlock --for 15m)"
    Unlock {
        /// How long the session lasts (15m, 1h, 90s; at most 24h).
        #[arg(long = "for", value_name = "DURATION", default_value = "15m")]
        duration: String,
    },
    /// End the vault's session agent (KEYWAY_SESSION is then of no use).
    Lock,
    /// The session agent `unlock` starts (internal).
    #[command(hide = true)]
    SessionAgent,
    /// Workspaces: each holds its own credentials and flows.
    #[command(subcommand)]
    Workspace(WorkspaceCmd),
    /// The component catalogue.
    #[command(subcommand)]
    Component(ComponentCmd),
    /// Credentials.
    #[command(subcommand)]
    Credential(CredentialCmd),
    /// Integration flows: ordered steps of (component, credential).
    #[command(subcommand)]
    Flow(FlowCmd),
    /// Re-verify every credential and report; exits 1 when anything is not verified.
    Audit(AuditArgs),
    /// Run a command with credentials in its environment: KEYWAY_<COMPONENT>_<FIELD> for every
    /// field, plus each component's conventional names (PGPASSWORD, STRIPE_API_KEY, ...).
    #[command(
        long_about = "Run a command with credentials in its environment: KEYWAY_<COMPONENT>_<FIELD> for every field, plus each component's conventional names (PGHOST, PGPASSWORD, DATABASE_URL, STRIPE_API_KEY, GH_TOKEN, ...; see `keyway component show ID`).\n\nThe command's exit code is keyway's (128 + the signal when a signal killed it). keyway's own failures before the command starts exit 125; a command that cannot be run 126, one that is not found 127. INT, TERM, HUP and QUIT are passed on to the command. Nothing of keyway's own is printed on stdout.\n\nThe command's environment can be read by other processes of the same user (/proc/PID/environ)."
    )]
    Run(RunArgs),
    /// Write a workspace's credentials to an encrypted file (its own passphrase, from
    /// KEYWAY_EXPORT_PASSPHRASE or a prompt).
    Export {
        #[arg(long, short)]
        workspace: String,
        /// Only this component's credentials.
        #[arg(long, short)]
        component: Option<String>,
        /// The file to create (never overwritten).
        file: std::path::PathBuf,
    },
    /// Add the credentials of a keyway export file, or of another tool's (--from); each is
    /// verified before it is saved.
    Import {
        /// The file (`-`: standard input, for --from formats).
        file: std::path::PathBuf,
        /// What the file is: a keyway export (default), `airflow connections export` JSON/YAML
        /// or AIRFLOW_CONN_* URIs, `n8n export:credentials --decrypted` JSON, a dotenv file, or
        /// CSV with a header (README, "Import from other tools").
        #[arg(long, value_enum, default_value = "keyway")]
        from: ImportFrom,
        /// The target workspace (default for a keyway export: the exported one); created if
        /// missing. Required with --from.
        #[arg(long, short)]
        workspace: Option<String>,
        /// --from dotenv: the name of its credentials (default: the file's name, `prod.env` ->
        /// prod).
        #[arg(long)]
        name: Option<String>,
        /// Also list every credential added.
        #[arg(long)]
        verbose: bool,
        /// The summary as JSON (every entry, added or not).
        #[arg(long)]
        json: bool,
        /// What to do when a credential's name is taken: skip it, or rename it ("NAME-2").
        #[arg(long, value_enum)]
        on_conflict: Option<OnConflict>,
        /// Do not verify: store every credential marked unverified.
        #[arg(long)]
        no_verify: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ImportFrom {
    Keyway,
    Airflow,
    N8n,
    Dotenv,
    Csv,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OnConflict {
    Skip,
    Rename,
}

#[derive(Debug, Subcommand)]
pub enum VaultCmd {
    /// Copy the whole vault (workspaces, credentials, flows, histories) into a new file or
    /// team vault, in either direction; the copy is read back and checked before it is
    /// reported done. A new file's passphrase comes from KEYWAY_NEW_PASSPHRASE or a prompt; a
    /// new team vault's first member is this host's identity (or --identity).
    Copy {
        #[arg(long, value_name = "URL|FILE")]
        to: PathBuf,
        /// A new team vault's first member (default: KEYWAY_MEMBER, else user@host).
        #[arg(long, value_name = "NAME")]
        member: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum MemberCmd {
    /// Create this host's identity if it has none (protected by a passphrase) and print its
    /// public key (age1...) to give to a member; needs no vault.
    Keygen {
        /// Create a machine identity in FILE instead (mode 0600, no passphrase), for cron.
        #[arg(long, value_name = "FILE")]
        machine: Option<PathBuf>,
    },
    /// Add a member by the public key `keyway member keygen` printed for them.
    Add {
        /// The member is a machine (an identity file without passphrase).
        #[arg(long)]
        machine: bool,
        name: String,
        #[arg(value_name = "PUBKEY")]
        public_key: String,
    },
    /// The team vault's members.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Remove a member and re-key: a new data key, every record re-encrypted; lists the
    /// credentials they could read, to rotate.
    Rm { name: String },
}

#[derive(Debug, Subcommand)]
pub enum WorkspaceCmd {
    /// Create a workspace.
    Add { name: String },
    /// List workspaces.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Rename a workspace.
    Rename {
        name: String,
        new_name: String,
        #[command(flatten)]
        expect: Expect,
    },
    /// Delete a workspace (one that holds credentials or flows needs --force).
    Rm {
        name: String,
        /// Delete the workspace with all its credentials and flows.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        expect: Expect,
    },
}

#[derive(Debug, Subcommand)]
pub enum ComponentCmd {
    /// List components, each with its credential count in the workspace (all workspaces if none is given).
    List {
        #[arg(long, short)]
        workspace: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Show a component's fields and how its credentials are verified.
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
}

/// `--expect-revision N`: the change is refused (exit 6, nothing written) unless the record is
/// still at revision N, the one the script read (the `revision` of `--json` output).
#[derive(Debug, Clone, Copy, Args)]
pub struct Expect {
    /// Refuse (exit 6) unless the record is still at this revision (see `--json`'s `revision`).
    #[arg(long = "expect-revision", value_name = "N")]
    pub revision: Option<u64>,
}

#[derive(Debug, Args)]
pub struct CredentialRef {
    /// The workspace holding the credential.
    #[arg(long, short)]
    pub workspace: String,
    /// The credential's name.
    pub name: String,
    /// The component, when two components hold credentials of the same name.
    #[arg(long, short)]
    pub component: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum CredentialCmd {
    /// List credentials.
    List {
        #[arg(long, short)]
        workspace: Option<String>,
        #[arg(long, short)]
        component: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Show one credential; secret values are masked unless --reveal.
    Show {
        #[command(flatten)]
        target: CredentialRef,
        #[arg(long)]
        json: bool,
        /// Print secret values in clear.
        #[arg(long)]
        reveal: bool,
    },
    /// Delete a credential (refused while an active flow uses it).
    Rm {
        #[command(flatten)]
        target: CredentialRef,
        /// Refuse (exit 6) unless the credential is still at this revision.
        #[arg(long, value_name = "N")]
        expect_revision: Option<u64>,
    },
    /// Add a credential; it is verified live first and saved only if valid.
    Add {
        #[arg(long, short)]
        workspace: String,
        #[arg(long, short)]
        component: String,
        #[arg(long, short)]
        name: String,
        /// staging (default), production, or a name of your own.
        #[arg(long, default_value = "staging")]
        env: String,
        /// KEY=VALUE; KEY=- reads the value from stdin without echo.
        #[arg(long = "field", short = 'f', value_name = "KEY=VALUE")]
        fields: Vec<String>,
        /// A database's fields from its connection URL (postgresql://, mysql://, redis://,
        /// rediss://); - reads it from stdin, keeping the password out of `ps`.
        /// --field values win over the URL's.
        #[arg(long, value_name = "URL")]
        from_url: Option<String>,
        /// When the service cannot be reached, save anyway, marked unverified.
        #[arg(long)]
        save_unverified: bool,
        /// OAuth2: sign in first (device grant) and save the tokens it yields.
        #[arg(long)]
        login: bool,
    },
    /// Change a credential's fields, name or environment; verified live before it is saved.
    Edit {
        #[command(flatten)]
        target: CredentialRef,
        /// A new name.
        #[arg(long)]
        rename: Option<String>,
        #[arg(long)]
        env: Option<String>,
        /// KEY=VALUE; KEY=- reads the value from stdin without echo; KEY= clears an optional field.
        #[arg(long = "field", short = 'f', value_name = "KEY=VALUE")]
        fields: Vec<String>,
        #[arg(long)]
        save_unverified: bool,
        /// Refuse (exit 6) unless the credential is still at this revision.
        #[arg(long, value_name = "N")]
        expect_revision: Option<u64>,
    },
    /// Verify stored credentials now and record the results.
    Verify {
        #[arg(long, short)]
        workspace: String,
        /// The credential to verify (or --all).
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        name: Option<String>,
        #[arg(long, short)]
        component: Option<String>,
        /// Every credential of the workspace.
        #[arg(long)]
        all: bool,
        #[arg(long)]
        json: bool,
    },
    /// Rotate a database password in place: verify, record the new one pending, change it on
    /// the server (PostgreSQL: a SCRAM-SHA-256 verifier, never the password), verify the new
    /// one, save it. With --older-than, every such credential whose password is older.
    Rotate {
        #[arg(long, short)]
        workspace: String,
        /// The credential to rotate (or --older-than).
        #[arg(required_unless_present = "older_than", conflicts_with = "older_than")]
        name: Option<String>,
        /// The component: picks one of two credentials of one name, or with --older-than only
        /// its credentials.
        #[arg(long, short)]
        component: Option<String>,
        /// The new password's length (16-64 characters of A-Z a-z 0-9 - _).
        #[arg(long, default_value_t = crate::core::rotation::DEFAULT_LENGTH)]
        length: usize,
        /// Every rotatable credential of the workspace whose password is older than this span
        /// (90d, 2w, 12h).
        #[arg(long, value_name = "SPAN")]
        older_than: Option<String>,
        /// With --older-than: list what would be rotated, change nothing.
        #[arg(long, requires = "older_than")]
        dry_run: bool,
    },
    /// Get OAuth2 tokens from the terminal: device grant, or authorization code + PKCE.
    Login {
        #[command(flatten)]
        target: CredentialRef,
        /// Use authorization code + PKCE with a pasted redirect URL instead of the device grant.
        #[arg(long)]
        paste: bool,
        /// The redirect URI registered for the client (authorization code flow; default
        /// http://127.0.0.1/keyway-callback).
        #[arg(long)]
        redirect_uri: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum FlowCmd {
    /// Create a flow from COMPONENT=CREDENTIAL steps, in order.
    Add {
        #[arg(long, short)]
        workspace: String,
        #[arg(long, short)]
        name: String,
        #[arg(long, default_value = "staging")]
        env: String,
        #[arg(long = "step", value_name = "COMPONENT=CREDENTIAL", required = true)]
        steps: Vec<String>,
        /// Save the flow active (it then protects its credentials from deletion).
        #[arg(long)]
        active: bool,
    },
    /// List flows.
    List {
        #[arg(long, short)]
        workspace: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Mark a flow active.
    Activate {
        #[arg(long, short)]
        workspace: String,
        name: String,
        #[command(flatten)]
        expect: Expect,
    },
    /// Mark a flow inactive.
    Deactivate {
        #[arg(long, short)]
        workspace: String,
        name: String,
        #[command(flatten)]
        expect: Expect,
    },
    /// Delete a flow.
    Rm {
        #[arg(long, short)]
        workspace: String,
        name: String,
        #[command(flatten)]
        expect: Expect,
    },
    /// Point a step at another credential of the same component.
    Rebind {
        #[arg(long, short)]
        workspace: String,
        name: String,
        #[arg(long = "step", value_name = "COMPONENT=CREDENTIAL", required = true)]
        steps: Vec<String>,
        #[command(flatten)]
        expect: Expect,
    },
    /// Copy a staging flow to production, rebinding each step to a production credential.
    Promote {
        #[arg(long, short)]
        workspace: String,
        name: String,
        #[arg(long = "step", value_name = "COMPONENT=CREDENTIAL")]
        steps: Vec<String>,
        /// Move the flow instead of copying it (the staging flow is removed).
        #[arg(long = "move")]
        move_flow: bool,
        /// The target environment.
        #[arg(long, default_value = "production")]
        to: String,
        /// The promoted copy's name (default: NAME-ENVIRONMENT, or NAME with --move).
        #[arg(long = "as", value_name = "NEW_NAME")]
        new_name: Option<String>,
    },
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("which").required(true).args(["flow", "credentials"])))]
pub struct RunArgs {
    #[arg(long, short)]
    pub workspace: String,
    /// Every credential of this flow's steps.
    #[arg(long, conflicts_with = "credentials")]
    pub flow: Option<String>,
    /// A credential by name (COMPONENT=NAME when two components have one of that name);
    /// repeat for several.
    #[arg(long = "credential", value_name = "NAME")]
    pub credentials: Vec<String>,
    /// Name each credential's variables P<CREDENTIAL>_<NAME> instead (P<CREDENTIAL>_PGHOST,
    /// P<CREDENTIAL>_PASSWORD, ...): what separates two credentials of one component.
    #[arg(long, value_name = "P")]
    pub env_prefix: Option<String>,
    /// Print the names of the variables that would be set, and run nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Verify each credential first (and record the results, refreshing OAuth2 tokens).
    #[arg(long)]
    pub verify: bool,
    /// Run even with an inactive flow or a credential whose last verification failed.
    #[arg(long)]
    pub force: bool,
    /// The command and its arguments, after `--`.
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<std::ffi::OsString>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AuditFormat {
    /// A table for people.
    Table,
    /// JSON for scripts (the same as --json).
    Json,
    /// The Prometheus text format, for node_exporter's textfile collector.
    Prometheus,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    #[arg(long, short)]
    pub workspace: Option<String>,
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// How to report.
    #[arg(long, value_enum)]
    pub format: Option<AuditFormat>,
    /// With --format prometheus: replace FILE atomically instead of printing (for cron and
    /// node_exporter's textfile collector).
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Also exit 1 when anything expires within DAYS (for cron).
    #[arg(long, value_name = "DAYS")]
    pub fail_on_expiring: Option<u64>,
    /// Also exit 1 when any password is older than this span (90d, 2w): see `credential rotate`.
    #[arg(long, value_name = "SPAN")]
    pub fail_on_password_age: Option<String>,
}
