//! Embeds every assets/components/*.toml into the binary, so adding a component is adding a file.
use std::{env, fs, path::Path};

fn main() {
    let dir = Path::new("assets/components");
    println!("cargo:rerun-if-changed=assets/components");
    let mut names: Vec<String> = fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".toml"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    let root = env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let items: Vec<String> = names
        .iter()
        .map(|n| {
            format!(
                "({n:?}, include_str!({:?}))",
                format!("{root}/assets/components/{n}")
            )
        })
        .collect();
    let out = Path::new(&env::var("OUT_DIR").unwrap_or_default()).join("builtin_components.rs");
    let body = format!("[{}]", items.join(",\n"));
    if let Err(e) = fs::write(&out, body) {
        panic!("cannot write {}: {e}", out.display());
    }
}
