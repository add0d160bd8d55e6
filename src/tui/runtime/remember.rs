//! The small UI state file: which workspace was open last, per vault. Only the workspace's id is
//! kept (random hex): names live encrypted in the vault, and nothing secret is ever written here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::core::RecordId;

#[derive(Debug, Default, Serialize, Deserialize)]
struct UiStateFile {
    #[serde(default)]
    last_workspace: BTreeMap<String, RecordId>,
}

/// `<state dir>/tui-state.json` unless the caller chose another file.
pub fn state_file(chosen: Option<&Path>) -> Option<PathBuf> {
    chosen
        .map(Path::to_path_buf)
        .or_else(|| crate::paths::default_state_dir().map(|d| d.join("tui-state.json")))
}

fn vault_key(vault: &Path) -> String {
    std::fs::canonicalize(vault)
        .unwrap_or_else(|_| vault.to_path_buf())
        .display()
        .to_string()
}

/// The file's text, if it is a regular file of a sane size: a FIFO or a device put in its
/// place must not hang or flood the TUI's start.
fn read(file: &Path) -> Option<String> {
    crate::files::read_text(file, 1024 * 1024).ok()
}

/// The remembered workspace; a missing or unreadable file just means "none".
pub fn load(file: &Path, vault: &Path) -> Option<RecordId> {
    let text = read(file)?;
    let parsed: UiStateFile = serde_json::from_str(&text).ok()?;
    parsed.last_workspace.get(&vault_key(vault)).cloned()
}

pub fn save(file: &Path, vault: &Path, workspace: &RecordId) -> std::io::Result<()> {
    let mut parsed: UiStateFile = read(file)
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    parsed
        .last_workspace
        .insert(vault_key(vault), workspace.clone());
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let text = serde_json::to_string_pretty(&parsed).map_err(std::io::Error::other)?;
    // Write then rename, so a crash never leaves half a file.
    let tmp = file.with_extension("json.tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(tmp, file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_per_vault() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("s/tui-state.json");
        let a = dir.path().join("a.redb");
        let b = dir.path().join("b.redb");
        assert_eq!(load(&file, &a), None);
        save(&file, &a, &RecordId("aa".into())).unwrap();
        save(&file, &b, &RecordId("bb".into())).unwrap();
        assert_eq!(load(&file, &a), Some(RecordId("aa".into())));
        assert_eq!(load(&file, &b), Some(RecordId("bb".into())));
    }
}
