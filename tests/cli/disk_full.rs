//! Issue 12, item 11: on a full disk a reported failure means nothing was written, and a
//! reported success that it was. The vault lives on a small tmpfs the test mounts and unmounts
//! (it runs as root; elsewhere the file size limit, RLIMIT_FSIZE, stands in for the full disk:
//! the file cannot grow either way). For several amounts of space left, credentials are added
//! until the disk refuses; the vault must read (exit 0) while the disk is still full, and after
//! space is freed, and hold exactly the credentials whose add exited 0.

use std::ffi::CString;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

use crate::support::*;

/// A tmpfs of `size_kib` mounted at `at` until dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size_kib: u64) -> Option<Tmpfs> {
        std::fs::create_dir_all(at).unwrap();
        let c = |s: &str| CString::new(s).unwrap();
        let (source, target, fstype) = (c("tmpfs"), c(at.to_str()?), c("tmpfs"));
        let options = c(&format!("size={size_kib}k,mode=0700"));
        // SAFETY: every pointer is a NUL-terminated string that outlives the call.
        let rc = unsafe {
            libc::mount(
                source.as_ptr(),
                target.as_ptr(),
                fstype.as_ptr(),
                0,
                options.as_ptr().cast(),
            )
        };
        (rc == 0).then(|| Tmpfs(at.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let target = CString::new(self.0.to_str().unwrap()).unwrap();
        // SAFETY: a NUL-terminated path; MNT_DETACH so a lingering file cannot keep it busy.
        unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) };
    }
}

/// Free space of the file system holding `dir`, in KiB.
fn free_kib(dir: &Path) -> u64 {
    let c = CString::new(dir.to_str().unwrap()).unwrap();
    let mut st = std::mem::MaybeUninit::<libc::statvfs>::zeroed();
    // SAFETY: statvfs fills the struct we pass for a NUL-terminated path.
    let st = unsafe {
        assert_eq!(libc::statvfs(c.as_ptr(), st.as_mut_ptr()), 0);
        st.assume_init()
    };
    st.f_bavail as u64 * st.f_frsize as u64 / 1024
}

/// How the disk is made full.
enum Full {
    /// A tmpfs, filled up by a filler file but for `left_kib`.
    Tmpfs,
    /// The vault file may not grow past its size plus `left_kib` (RLIMIT_FSIZE).
    SizeLimit,
}

fn run_add(v: &TestVault, full: &Full, limit: Option<u64>, name: &str, key: &str) -> i32 {
    let closed = closed_base_url();
    let field = format!("api_key={key}");
    let args = add_loopback_args(name, &["-f", &closed, "-f", &field, "--save-unverified"]);
    let mut cmd = v.command(&args, &[("KEYWAY_PASSPHRASE", PASS)]);
    if let (Full::SizeLimit, Some(bytes)) = (full, limit) {
        // SAFETY: between fork and exec only async-signal-safe calls: setrlimit and signal.
        unsafe {
            cmd.pre_exec(move || {
                let lim = libc::rlimit {
                    rlim_cur: bytes,
                    rlim_max: bytes,
                };
                libc::setrlimit(libc::RLIMIT_FSIZE, &lim);
                // A write past the limit then fails with EFBIG instead of killing the process.
                libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                Ok(())
            });
        }
    }
    code(&cmd.stdin(std::process::Stdio::null()).output().unwrap())
}

fn names(v: &TestVault) -> Vec<String> {
    let o = v.keyway(&["credential", "list", "--json"]);
    assert_eq!(code(&o), 0, "the vault does not read: {}", stderr(&o));
    let list: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout).unwrap();
    list.iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn on_a_full_disk_failure_means_nothing_written_and_success_means_written() {
    let mut refusals = 0;
    // Field values are capped at 16 KiB.
    for key_size in [1_500, 12_000] {
        for left_kib in [0u64, 16, 32, 64, 128] {
            let v = TestVault::with_loopback_component();
            let vault_dir = v.path.parent().unwrap().to_path_buf();
            // The vault made by with_loopback_component moves onto the tmpfs.
            let made = file_bytes(&v.path);
            std::fs::remove_file(&v.path).unwrap();
            let mounted = Tmpfs::mount(&vault_dir, 1024);
            let full = if mounted.is_some() {
                Full::Tmpfs
            } else {
                Full::SizeLimit
            };
            std::fs::write(&v.path, &made).unwrap();
            assert_eq!(code(&v.keyway(&["workspace", "add", "acme"])), 0);
            let filler = vault_dir.join("filler");
            let limit = match full {
                Full::Tmpfs => {
                    let fill = free_kib(&vault_dir).saturating_sub(left_kib);
                    std::fs::write(&filler, vec![0u8; (fill * 1024) as usize]).ok();
                    None
                }
                Full::SizeLimit => Some(file_bytes(&v.path).len() as u64 + left_kib * 1024),
            };
            let key: String = "k".repeat(key_size);
            let mut saved = Vec::new();
            for i in 0..4 {
                let name = format!("c{i}");
                match run_add(&v, &full, limit, &name, &key) {
                    0 => saved.push(name),
                    1 => refusals += 1,
                    other => panic!("{name}: exit {other} on a full disk"),
                }
            }
            if let Full::Tmpfs = full {
                // Still full: a failed write may have left the file needing crash recovery,
                // whose private copy must not need the disk (review of issue 11: every read was
                // refused until space was freed).
                let mut while_full = names(&v);
                while_full.sort();
                assert_eq!(
                    while_full, saved,
                    "key of {key_size} bytes, {left_kib} KiB left: read while the disk is full"
                );
            }
            let _ = std::fs::remove_file(&filler);
            let mut present = names(&v);
            present.sort();
            assert_eq!(
                present, saved,
                "key of {key_size} bytes, {left_kib} KiB left: what exited 0 is what is there"
            );
            drop(mounted);
        }
    }
    assert!(
        refusals > 0,
        "the disk never filled up: the test tested nothing"
    );
}
