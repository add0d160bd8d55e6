//! Passphrase key derivation: Argon2id v1.3, with parameters kept in the vault header, bounded
//! below (OWASP floor) and above, and calibrated to this machine at `init`.
//!
//! The ceilings are what keyway itself would ever write: calibration never goes past them, and
//! a config asking for more is refused. A vault or export header asking for more was not made
//! by keyway, and is refused before the key derivation runs, so a crafted file cannot make
//! keyway allocate gigabytes or spin for minutes. Where they come from: calibration raises
//! iterations from RFC 9106's t=3 up to t=20 (its old cap), then memory up to 1 GiB (its old
//! cap), but never past a work of 4 GiB-passes (memory times iterations; about 4 s on a
//! 2-core ops host, where calibration itself picks about 1.3 GiB-passes for its 0.5-1 s).
//! Parallelism: calibration uses RFC 9106's 4; a config may use up to 8.

use std::time::{Duration, Instant};

use argon2::{Algorithm, Argon2, Params, Version};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

/// RFC 9106's second recommended option: the least `init` ever picks on its own.
pub const RECOMMENDED: KdfParams = KdfParams {
    memory_kib: 64 * 1024,
    iterations: 3,
    parallelism: 4,
};
/// OWASP's minimum for Argon2id: the least a config may ask for.
pub const FLOOR_MEMORY_KIB: u32 = 19 * 1024;
pub const FLOOR_ITERATIONS: u32 = 2;
/// The least a vault may use, on one lane: what tests and benches create vaults with, so a
/// vault opens fast and the KDF's share of a measurement stays small.
pub const FLOOR: KdfParams = KdfParams {
    memory_kib: FLOOR_MEMORY_KIB,
    iterations: FLOOR_ITERATIONS,
    parallelism: 1,
};
/// Above these a header is refused before the KDF runs, a config is refused, and calibration
/// stops (see the module comment for where they come from).
pub const MAX_MEMORY_KIB: u32 = 1024 * 1024;
pub const MAX_ITERATIONS: u32 = 20;
pub const MAX_PARALLELISM: u32 = 8;
/// The most work: memory (KiB) times iterations, 4 GiB-passes.
pub const MAX_WORK: u64 = 4 * 1024 * 1024;

/// Calibration never picks more memory than this, so a vault stays openable on small ops hosts.
const CALIBRATION_MAX_MEMORY_KIB: u32 = MAX_MEMORY_KIB;

/// Memory for a message: whole MiB, rounded up, so an amount over a limit never reads as the
/// limit itself.
fn mib(kib: u64) -> u64 {
    kib.div_ceil(1024)
}

/// Calibration aims for a derivation time in this window.
const TARGET_LOW: Duration = Duration::from_millis(500);
const TARGET_HIGH: Duration = Duration::from_millis(1000);

impl KdfParams {
    /// Why these parameters are unacceptable in a vault header, if they are.
    pub fn check_bounds(&self) -> Result<(), String> {
        if self.memory_kib > MAX_MEMORY_KIB {
            return Err(format!(
                "it asks for {} MiB of memory (at most {} MiB is accepted)",
                mib(self.memory_kib.into()),
                MAX_MEMORY_KIB / 1024
            ));
        }
        if self.iterations > MAX_ITERATIONS {
            return Err(format!(
                "it asks for {} iterations (at most {MAX_ITERATIONS} are accepted)",
                self.iterations
            ));
        }
        if self.parallelism == 0 || self.parallelism > MAX_PARALLELISM {
            return Err(format!(
                "it asks for parallelism {} (1-{MAX_PARALLELISM} are accepted)",
                self.parallelism
            ));
        }
        if self.memory_kib < FLOOR_MEMORY_KIB || self.iterations < FLOOR_ITERATIONS {
            return Err(format!(
                "its key derivation (m={} KiB, t={}) is below the accepted minimum (m={FLOOR_MEMORY_KIB} KiB, t={FLOOR_ITERATIONS})",
                self.memory_kib, self.iterations
            ));
        }
        if self.memory_kib < 8 * self.parallelism {
            return Err("its key derivation memory is too small for its parallelism".into());
        }
        if self.work() > MAX_WORK {
            return Err(format!(
                "it asks for {} MiB times {} iterations of key derivation work (at most {} MiB-passes are accepted)",
                mib(self.memory_kib.into()),
                self.iterations,
                MAX_WORK / 1024
            ));
        }
        Ok(())
    }

    /// Memory (KiB) times iterations: what the derivation costs in time.
    pub fn work(&self) -> u64 {
        u64::from(self.memory_kib) * u64::from(self.iterations)
    }

    /// The parameters for a new vault or passphrase: the config's, else calibrated.
    pub fn for_new_key(config: &KdfConfig) -> KdfParams {
        match (config.memory_kib, config.iterations, config.parallelism) {
            (None, None, None) => calibrate(),
            (m, t, p) => KdfParams {
                memory_kib: m.unwrap_or(RECOMMENDED.memory_kib),
                iterations: t.unwrap_or(RECOMMENDED.iterations),
                parallelism: p.unwrap_or(RECOMMENDED.parallelism),
            },
        }
    }
}

/// The `[kdf]` section of the config: the Argon2id parameters `init` and `passwd` use. Unset
/// means: calibrate on this machine.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct KdfConfig {
    pub memory_kib: Option<u32>,
    pub iterations: Option<u32>,
    pub parallelism: Option<u32>,
}

/// Checks the `[kdf]` section of a config file; messages name the key.
pub fn check_config(config: &KdfConfig) -> Result<(), String> {
    if let Some(m) = config.memory_kib {
        if m < FLOOR_MEMORY_KIB {
            return Err(format!(
                "kdf.memory_kib = {m} is below the OWASP floor of {FLOOR_MEMORY_KIB} KiB"
            ));
        }
        if m > MAX_MEMORY_KIB {
            return Err(format!(
                "kdf.memory_kib = {m} is above the maximum of {MAX_MEMORY_KIB} KiB"
            ));
        }
    }
    if let Some(t) = config.iterations {
        if !(FLOOR_ITERATIONS..=MAX_ITERATIONS).contains(&t) {
            return Err(format!(
                "kdf.iterations = {t} must be between {FLOOR_ITERATIONS} and {MAX_ITERATIONS}"
            ));
        }
    }
    if let Some(p) = config.parallelism {
        if !(1..=MAX_PARALLELISM).contains(&p) {
            return Err(format!(
                "kdf.parallelism = {p} must be between 1 and {MAX_PARALLELISM}"
            ));
        }
    }
    let asked = KdfParams {
        memory_kib: config.memory_kib.unwrap_or(RECOMMENDED.memory_kib),
        iterations: config.iterations.unwrap_or(RECOMMENDED.iterations),
        parallelism: config.parallelism.unwrap_or(RECOMMENDED.parallelism),
    };
    if asked.work() > MAX_WORK {
        return Err(format!(
            "kdf.memory_kib times kdf.iterations = {} is above the maximum of {MAX_WORK} (KiB-passes)",
            asked.work()
        ));
    }
    Ok(())
}

#[derive(Debug, thiserror::Error)]
#[error("key derivation failed: {0}")]
pub struct KdfError(String);

/// Derives the 256-bit key-encryption key. Bounds are checked first, always.
pub fn derive(
    passphrase: &[u8],
    salt: &[u8; 16],
    params: &KdfParams,
) -> Result<Zeroizing<[u8; 32]>, KdfError> {
    params.check_bounds().map_err(KdfError)?;
    // The one line that says a derivation ran: a session's commands must not log it.
    tracing::debug!(
        memory_kib = params.memory_kib,
        iterations = params.iterations,
        parallelism = params.parallelism,
        "kdf: deriving a key from a passphrase (Argon2id)"
    );
    let argon_params = Params::new(
        params.memory_kib,
        params.iterations,
        params.parallelism,
        Some(32),
    )
    .map_err(|e| KdfError(e.to_string()))?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, argon_params);
    let mut key = Zeroizing::new([0u8; 32]);
    argon
        .hash_password_into(passphrase, salt, key.as_mut())
        .map_err(|e| KdfError(e.to_string()))?;
    Ok(key)
}

/// Picks parameters that take about 0.5-1 s here, starting from (and never going below) RFC
/// 9106's recommendation; extra cost goes into iterations, which costs no memory, and once they
/// reach MAX_ITERATIONS into memory, up to CALIBRATION_MAX_MEMORY_KIB; never past MAX_WORK.
pub fn calibrate() -> KdfParams {
    let mut params = RECOMMENDED;
    let salt = [0u8; 16];
    for _ in 0..5 {
        let started = Instant::now();
        if derive(b"calibration", &salt, &params).is_err() {
            return RECOMMENDED;
        }
        let took = started.elapsed();
        if took >= TARGET_LOW || params.memory_kib >= CALIBRATION_MAX_MEMORY_KIB {
            break;
        }
        // Time grows linearly with both iterations and memory: scale toward the middle of the
        // window, first with iterations (no memory cost), then, at their ceiling, with memory.
        let target = (TARGET_LOW + TARGET_HIGH).as_secs_f64() / 2.0;
        let factor = target / took.as_secs_f64().max(0.001);
        if params.iterations < MAX_ITERATIONS {
            params.iterations = scale_up(params.iterations, factor, 1, MAX_ITERATIONS);
        } else {
            let most = (MAX_WORK / u64::from(params.iterations)) as u32;
            params.memory_kib = scale_up(
                params.memory_kib,
                factor,
                1024,
                CALIBRATION_MAX_MEMORY_KIB.min(most),
            );
        }
        if params.work() >= MAX_WORK {
            break;
        }
    }
    params
}

/// `value * factor`, but at least `step` more than `value` and at most `max`. (The floor is
/// capped at `max` too: `clamp` panics when its minimum is above its maximum, which a value
/// within `step` of `max` would otherwise cause.)
fn scale_up(value: u32, factor: f64, step: u32, max: u32) -> u32 {
    let scaled = (value as f64 * factor).ceil() as u32;
    scaled.clamp(value.saturating_add(step).min(max), max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaling_up_steps_at_least_once_and_never_passes_the_ceiling() {
        assert_eq!(scale_up(2, 1.0, 1, 20), 3);
        assert_eq!(scale_up(2, 4.0, 1, 20), 8);
        assert_eq!(scale_up(10, 9.0, 1, 20), 20);
        // Within one step of the ceiling: the ceiling, not a panic.
        let cap = CALIBRATION_MAX_MEMORY_KIB;
        assert_eq!(scale_up(cap - 100, 1.0, 1024, cap), cap);
        assert_eq!(scale_up(cap - 100, 3.0, 1024, cap), cap);
    }

    #[test]
    fn huge_headers_are_refused_before_running() {
        let huge = KdfParams {
            memory_kib: u32::MAX,
            iterations: 3,
            parallelism: 4,
        };
        let started = Instant::now();
        assert!(derive(b"x", &[0; 16], &huge).is_err());
        assert!(started.elapsed() < Duration::from_secs(1));
        for bad in [
            KdfParams {
                memory_kib: 65536,
                iterations: 21,
                parallelism: 1,
            },
            KdfParams {
                memory_kib: 65536,
                iterations: 3,
                parallelism: 9,
            },
            // The hostile export header of issue 12: 2 GiB, t=20, p=16.
            KdfParams {
                memory_kib: 2 * 1024 * 1024,
                iterations: 20,
                parallelism: 16,
            },
            // Each within bounds, together too much work.
            KdfParams {
                memory_kib: MAX_MEMORY_KIB,
                iterations: MAX_ITERATIONS,
                parallelism: 4,
            },
            KdfParams {
                memory_kib: 65536,
                iterations: 3,
                parallelism: 0,
            },
            KdfParams {
                memory_kib: 1024,
                iterations: 3,
                parallelism: 1,
            },
            KdfParams {
                memory_kib: 65536,
                iterations: 1,
                parallelism: 1,
            },
        ] {
            assert!(bad.check_bounds().is_err(), "{bad:?}");
        }
        assert!(RECOMMENDED.check_bounds().is_ok());
        // An amount just over the limit does not read as the limit.
        let over = KdfParams {
            memory_kib: MAX_MEMORY_KIB + 1,
            iterations: 2,
            parallelism: 1,
        };
        let text = over.check_bounds().unwrap_err();
        assert!(
            text.contains("asks for 1025 MiB") && text.contains("at most 1024 MiB"),
            "{text}"
        );
    }

    #[test]
    fn derivation_is_deterministic_and_salted() {
        let p = FLOOR;
        let a = derive(b"pass", &[1; 16], &p).unwrap();
        let b = derive(b"pass", &[1; 16], &p).unwrap();
        let c = derive(b"pass", &[2; 16], &p).unwrap();
        let d = derive(b"pasz", &[1; 16], &p).unwrap();
        assert_eq!(*a, *b);
        assert_ne!(*a, *c);
        assert_ne!(*a, *d);
    }

    #[test]
    fn calibration_never_goes_below_the_recommendation() {
        let p = calibrate();
        assert!(p.memory_kib >= RECOMMENDED.memory_kib);
        assert!(p.iterations >= RECOMMENDED.iterations);
        assert!(p.parallelism >= RECOMMENDED.parallelism);
        assert!(p.check_bounds().is_ok());
        assert!(p.work() <= MAX_WORK);
        // Unset config means calibrate; set values are used as given.
        let chosen = KdfParams::for_new_key(&KdfConfig {
            memory_kib: Some(FLOOR_MEMORY_KIB),
            iterations: Some(2),
            parallelism: Some(1),
        });
        assert_eq!(
            chosen,
            KdfParams {
                memory_kib: FLOOR_MEMORY_KIB,
                iterations: 2,
                parallelism: 1
            }
        );
    }

    #[test]
    fn config_values_are_checked_by_name() {
        let low = KdfConfig {
            memory_kib: Some(1000),
            ..Default::default()
        };
        assert!(check_config(&low).unwrap_err().contains("kdf.memory_kib"));
        let t = KdfConfig {
            iterations: Some(1),
            ..Default::default()
        };
        assert!(check_config(&t).unwrap_err().contains("kdf.iterations"));
        assert!(check_config(&KdfConfig::default()).is_ok());
        let heavy = KdfConfig {
            memory_kib: Some(MAX_MEMORY_KIB),
            iterations: Some(MAX_ITERATIONS),
            parallelism: None,
        };
        assert!(check_config(&heavy).unwrap_err().contains("kdf.iterations"));
    }
}
