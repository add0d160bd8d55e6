//! The configuration file (TOML). A missing file means defaults; an unknown key or a bad value is
//! an error that names the key and the file. config.example.toml documents every key.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::vault::kdf::{self, KdfConfig};

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub vault: VaultConfig,
    pub kdf: KdfConfig,
    pub verify: VerifyConfig,
    pub ui: UiConfig,
    pub audit: AuditConfig,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct VaultConfig {
    /// The vault file; `--vault` and `KEYWAY_VAULT` win over it.
    pub path: Option<PathBuf>,
    /// A team vault's postgresql:// URL, used instead of `path` (not both); `--vault` and
    /// `KEYWAY_VAULT` win over it.
    pub url: Option<String>,
    /// Folder of user component definitions (default: the config dir's components/).
    pub components_dir: Option<PathBuf>,
    /// Seconds a write waits for another process's write transaction before giving up (exit 5).
    pub lock_wait_secs: u64,
    /// Seconds a team vault's server may leave a statement unanswered (beyond lock_wait_secs
    /// for a write's turn) before it counts as unreachable (exit 7; the TUI goes offline).
    pub server_timeout_secs: u64,
}

impl Default for VaultConfig {
    fn default() -> Self {
        VaultConfig {
            path: None,
            url: None,
            components_dir: None,
            lock_wait_secs: crate::vault::DEFAULT_LOCK_WAIT.as_secs(),
            server_timeout_secs: crate::vault::DEFAULT_SERVER_TIMEOUT.as_secs(),
        }
    }
}

impl VaultConfig {
    pub fn lock_wait(&self) -> Duration {
        Duration::from_secs(self.lock_wait_secs)
    }

    pub fn server_timeout(&self) -> Duration {
        Duration::from_secs(self.server_timeout_secs)
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct VerifyConfig {
    pub concurrency: usize,
    pub connect_timeout_secs: u64,
    pub deadline_secs: u64,
    /// A PEM file of CA certificates trusted for every verification, besides the system's
    /// (a corporate CA not installed in the system store).
    pub extra_ca_file: Option<PathBuf>,
}

impl Default for VerifyConfig {
    fn default() -> Self {
        VerifyConfig {
            concurrency: 16,
            connect_timeout_secs: 5,
            deadline_secs: 15,
            extra_ca_file: None,
        }
    }
}

impl VerifyConfig {
    pub fn connect_timeout(&self) -> Duration {
        Duration::from_secs(self.connect_timeout_secs)
    }
    pub fn deadline(&self) -> Duration {
        Duration::from_secs(self.deadline_secs)
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct UiConfig {
    /// Minutes of inactivity before the TUI drops the keys and returns to Unlock; 0 disables.
    pub auto_lock_minutes: u64,
    /// Seconds a revealed secret stays shown (and offered for copying) before it hides again.
    pub reveal_secs: u64,
}

impl Default for UiConfig {
    fn default() -> Self {
        UiConfig {
            auto_lock_minutes: 5,
            reveal_secs: 10,
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// Credentials expiring within this many days are flagged.
    pub expiry_warning_days: u64,
    /// OAuth2 access tokens expiring within this many minutes are refreshed ahead.
    pub refresh_margin_minutes: u64,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            expiry_warning_days: 14,
            refresh_margin_minutes: 5,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config file {path}: {message}")]
    Invalid { path: String, message: String },
    #[error("config file {path} {source}")]
    Unreadable {
        path: String,
        #[source]
        source: crate::files::ReadError,
    },
}

/// The most keyway reads of a config file (the example, every key documented, is 2 KiB).
pub const CONFIG_FILE_LIMIT: u64 = 1024 * 1024;

/// One line from a TOML error: "line 3, column 15 (key `concurrency`): invalid type ...". The
/// offending line itself is never quoted, only its key when it is a plain TOML key: the file
/// may not be what it was meant to be (a symlink to /etc/shadow), and its contents are not
/// keyway's to print.
pub fn toml_error(e: &toml::de::Error, text: &str) -> String {
    let message = e.message().trim().trim_end_matches('.').replace('\n', " ");
    match e.span() {
        Some(span) => {
            let start = span.start.min(text.len());
            let before = text.get(..start).unwrap_or("");
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            let key = text
                .lines()
                .nth(line - 1)
                .and_then(|l| l.split_once('='))
                .map(|(k, _)| k.trim())
                .filter(|k| {
                    !k.is_empty()
                        && k.len() <= 64
                        && k.chars()
                            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
                })
                .map_or_else(String::new, |k| format!(" (key `{k}`)"));
            format!("line {line}, column {column}{key}: {message}")
        }
        None => message,
    }
}

impl Config {
    /// Loads `path`. When `explicit` is false a missing file means defaults; a file named on the
    /// command line must exist.
    pub fn load(path: &Path, explicit: bool) -> Result<Config, ConfigError> {
        let shown = path.display().to_string();
        let text = match crate::files::read_text(path, CONFIG_FILE_LIMIT) {
            Ok(t) => t,
            Err(e) if e.not_found() && !explicit => return Ok(Config::default()),
            Err(source) => {
                return Err(ConfigError::Unreadable {
                    path: shown,
                    source,
                })
            }
        };
        Config::parse(&shown, &text)
    }

    pub fn parse(path: &str, text: &str) -> Result<Config, ConfigError> {
        let invalid = |message: String| ConfigError::Invalid {
            path: path.to_string(),
            message,
        };
        let config: Config = toml::from_str(text).map_err(|e| invalid(toml_error(&e, text)))?;
        config.check().map_err(invalid)?;
        Ok(config)
    }

    fn check(&self) -> Result<(), String> {
        if !(1..=1024).contains(&self.verify.concurrency) {
            return Err(format!(
                "verify.concurrency = {} must be between 1 and 1024",
                self.verify.concurrency
            ));
        }
        if !(1..=300).contains(&self.verify.connect_timeout_secs) {
            return Err("verify.connect_timeout_secs must be between 1 and 300".into());
        }
        if !(1..=600).contains(&self.verify.deadline_secs) {
            return Err("verify.deadline_secs must be between 1 and 600".into());
        }
        if self.verify.deadline_secs < self.verify.connect_timeout_secs {
            return Err(
                "verify.deadline_secs must not be shorter than verify.connect_timeout_secs".into(),
            );
        }
        if self.vault.lock_wait_secs > 3600 {
            return Err(format!(
                "vault.lock_wait_secs = {} must be at most 3600",
                self.vault.lock_wait_secs
            ));
        }
        if !(1..=3600).contains(&self.vault.server_timeout_secs) {
            return Err(format!(
                "vault.server_timeout_secs = {} must be between 1 and 3600",
                self.vault.server_timeout_secs
            ));
        }
        if !(1..=600).contains(&self.ui.reveal_secs) {
            return Err(format!(
                "ui.reveal_secs = {} must be between 1 and 600",
                self.ui.reveal_secs
            ));
        }
        kdf::check_config(&self.kdf)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_means_defaults() {
        assert_eq!(Config::parse("c.toml", "").unwrap(), Config::default());
    }

    #[test]
    fn example_file_parses_to_defaults() {
        let text = include_str!("../config.example.toml");
        // The example documents every key with its default, commented out or not.
        let c = Config::parse("config.example.toml", text).unwrap();
        assert_eq!(c.verify, VerifyConfig::default());
        assert_eq!(c.vault, VaultConfig::default());
        assert_eq!(c.vault.lock_wait_secs, 10);
        assert_eq!(c.ui, UiConfig::default());
        assert_eq!(c.audit, AuditConfig::default());
    }

    #[test]
    fn unknown_key_is_named_with_the_file() {
        let err = Config::parse("/etc/k.toml", "[verify]\nconcurency = 3\n").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("/etc/k.toml"), "{msg}");
        assert!(msg.contains("concurency"), "{msg}");
    }

    #[test]
    fn bad_value_is_named() {
        let msg = Config::parse("k.toml", "[verify]\nconcurrency = 0\n")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("verify.concurrency"), "{msg}");
        let msg = Config::parse("k.toml", "[verify]\nconcurrency = \"many\"\n")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("concurrency"), "{msg}");
        // No answer deadline at all would let a silent team-vault server hang keyway.
        let msg = Config::parse("k.toml", "[vault]\nserver_timeout_secs = 0\n")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("vault.server_timeout_secs"), "{msg}");
    }

    #[test]
    fn kdf_below_the_owasp_floor_is_refused() {
        let msg = Config::parse("k.toml", "[kdf]\nmemory_kib = 1024\n")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("kdf.memory_kib"), "{msg}");
    }
}
