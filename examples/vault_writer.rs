//! A child process for the crash and locking tests (tests/crash.rs, tests/cli.rs): it opens a
//! vault and either commits records, printing an acknowledgement after each durable commit,
//! flips the passphrase back and forth, or just holds the vault open.
//!
//! usage: vault_writer PATH write PREFIX | passwd OLD NEW | hold
//! The passphrase comes from KEYWAY_PASSPHRASE.

use std::io::Write;

use keyway::core::time::Timestamp;
use keyway::store::Store;
use keyway::vault::kdf::{KdfParams, FLOOR_ITERATIONS, FLOOR_MEMORY_KIB};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Err(e) = run(&args) {
        eprintln!("vault_writer: {e}");
        std::process::exit(1);
    }
}

fn run(args: &[String]) -> Result<(), String> {
    let path = std::path::Path::new(args.get(1).ok_or("missing PATH")?);
    let mode = args.get(2).ok_or("missing mode")?;
    let fast = KdfParams {
        memory_kib: FLOOR_MEMORY_KIB,
        iterations: FLOOR_ITERATIONS,
        parallelism: 1,
    };
    let out = std::io::stdout();
    match mode.as_str() {
        "write" => {
            let pass = std::env::var("KEYWAY_PASSPHRASE").map_err(|_| "no passphrase")?;
            let prefix = args.get(3).ok_or("missing PREFIX")?;
            let mut store = Store::open(path, pass.as_bytes()).map_err(|e| e.to_string())?;
            for i in 0.. {
                let name = format!("{prefix}-{i}");
                store
                    .add_workspace(&name, Timestamp(i))
                    .map_err(|e| e.to_string())?;
                // The acknowledgement is printed only after the durable commit returned.
                let mut lock = out.lock();
                let _ = writeln!(lock, "ack {name}");
                let _ = lock.flush();
            }
        }
        "passwd" => {
            let a = args.get(3).ok_or("missing OLD")?;
            let b = args.get(4).ok_or("missing NEW")?;
            let mut store = Store::open(path, a.as_bytes()).map_err(|e| e.to_string())?;
            let mut current = a;
            loop {
                let next = if current == a { b } else { a };
                store
                    .change_passphrase(next.as_bytes(), fast)
                    .map_err(|e| e.to_string())?;
                current = next;
                let mut lock = out.lock();
                let _ = writeln!(lock, "ack {current}");
                let _ = lock.flush();
            }
        }
        "hold" => {
            let pass = std::env::var("KEYWAY_PASSPHRASE").map_err(|_| "no passphrase")?;
            let _store = Store::open(path, pass.as_bytes()).map_err(|e| e.to_string())?;
            println!("ready");
            let _ = std::io::stdout().flush();
            let mut sink = String::new();
            let _ = std::io::stdin().read_line(&mut sink);
        }
        other => return Err(format!("unknown mode {other}")),
    }
    Ok(())
}
