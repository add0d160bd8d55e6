//! Where keyway keeps things by default: the platform config and data directories.

use std::path::PathBuf;

fn project_dirs() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("", "", "keyway")
}

/// `~/.config/keyway/config.toml` on Linux.
pub fn default_config_file() -> Option<PathBuf> {
    project_dirs().map(|d| d.config_dir().join("config.toml"))
}

/// `~/.config/keyway/components/`: the user's own component definitions.
pub fn default_components_dir() -> Option<PathBuf> {
    project_dirs().map(|d| d.config_dir().join("components"))
}

/// `~/.config/keyway/identity.json`: this host's team-vault identity, under its passphrase.
pub fn default_identity_file() -> Option<PathBuf> {
    project_dirs().map(|d| d.config_dir().join("identity.json"))
}

/// `~/.local/share/keyway/vault.redb` on Linux.
pub fn default_vault_file() -> Option<PathBuf> {
    project_dirs().map(|d| d.data_dir().join("vault.redb"))
}

/// `~/.local/state/keyway/` (falls back to the data dir): UI state such as the last workspace.
pub fn default_state_dir() -> Option<PathBuf> {
    project_dirs().map(|d| {
        d.state_dir()
            .map(|p| p.to_path_buf())
            .unwrap_or_else(|| d.data_dir().to_path_buf())
    })
}
