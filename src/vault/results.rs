//! Verification results, kept apart from the credential records.
//!
//! HISTORY holds a ring of the last `HISTORY_LIMIT` entries of each credential: entry number
//! `seq` goes to slot `seq % HISTORY_LIMIT`, overwriting the oldest, so the history stays bounded
//! with inserts only and no delete is ever needed. The sequence numbers (sequences.rs) say which
//! entry is each credential's newest: open reads those entries, for every status column; the rest
//! of a history is read when a detail view or `credential show` asks.
//!
//! An entry is a result, or a run of identical results from rechecks of the unchanged
//! credential (`Verification::run`). While a run goes on, its entry keeps the first check and
//! the sequence record the rest (sequences.rs), so a recheck that repeats the newest result
//! writes no entry: a steady audit writes the sequence record alone. A changed result is one
//! ~100-byte insert, which also carries the final state of the run it ends (`Ended`), far
//! cheaper than re-encrypting the whole credential with its history, which is what made a
//! 1,000-credential audit spend a third of its time writing (see BENCHMARKS.md, "Audit").

use foldhash::{HashMap, HashMapExt};
use std::path::Path;

use super::crypto::{self, DataKey};
use super::sequences::{Position, Repeats};
use super::storage::{ReadTxn, StoredResult};
use super::tables::RESULTS_NAME;
use super::{corrupt, VaultError};
use crate::core::{RecordId, Verification, HISTORY_LIMIT};

/// The ring slot of result number `seq`. HISTORY_LIMIT is far below 256 (checked at compile time).
pub(super) fn slot(seq: u64) -> u8 {
    const _: () = assert!(HISTORY_LIMIT > 0 && HISTORY_LIMIT <= u8::MAX as usize);
    (seq % HISTORY_LIMIT as u64) as u8
}

// A stored entry: `seq` (8 bytes, big-endian, in the clear) || nonce || AES-GCM(encoded
// Verification and the final repeats of the run it ended, see `encode`), with AAD = (vault id,
// "results", "credential id/seq"). The AAD binds the credential and the sequence number, and
// the sequence number fixes the slot, so an entry moved to another credential fails
// authentication and one moved to another slot, or replayed there, is out of sequence.

fn result_aad(vault_id: &str, credential: &str, seq: u64) -> Vec<u8> {
    // "credential/seq", built without the formatting machinery: this runs for every entry
    // sealed and every entry read.
    let mut digits = itoa::Buffer::new();
    let seq = digits.format(seq);
    let mut id = String::with_capacity(credential.len() + 1 + seq.len());
    id.push_str(credential);
    id.push('/');
    id.push_str(seq);
    crypto::record_aad(vault_id, RESULTS_NAME, &id)
}

/// Seals `verification` as entry `seq` of `credential`; `ended` is the final state of the run
/// the entry before it headed, if it ended one (see `Ended`).
pub(super) fn seal(
    key: &DataKey,
    vault_id: &str,
    credential: &RecordId,
    seq: u64,
    verification: &Verification,
    ended: Option<&Repeats>,
) -> StoredResult {
    // Written straight into the record and encrypted where it lies. Room is reserved up front
    // (the numbers, lengths and runs fit in 80 bytes), so no reallocation leaves a plaintext
    // copy behind.
    let text = verification.reason.len() + verification.detail.as_ref().map_or(0, String::len);
    let mut bytes = Vec::with_capacity(8 + crypto::NONCE_LEN + 80 + text + crypto::TAG_LEN);
    bytes.extend_from_slice(&seq.to_be_bytes());
    // A struct of strings and integers always encodes; if it did not, the record would be left
    // without a sealed part and read back as damaged.
    key.seal_appended(
        &mut bytes,
        &result_aad(vault_id, credential.as_str(), seq),
        |plain| encode(verification, ended, plain),
    );
    StoredResult {
        credential: credential.to_string(),
        slot: slot(seq),
        bytes,
    }
}

/// The first byte of an entry encoded with postcard, with its run, its TLS state and the run
/// it ended. Entries written before the TLS state were postcard without it (POSTCARD_NO_TLS),
/// before runs without either (POSTCARD_NO_RUN), and before that JSON, which always starts
/// with '{'; all are still read.
const POSTCARD: u8 = 3;
const POSTCARD_NO_TLS: u8 = 2;
const POSTCARD_NO_RUN: u8 = 1;

/// A result as POSTCARD_NO_TLS encoded it, before the TLS state.
#[derive(serde::Deserialize)]
struct NoTls {
    status: crate::core::Status,
    reason: String,
    detail: Option<String>,
    latency_ms: Option<u64>,
    at: crate::core::time::Timestamp,
    run: Option<crate::core::Run>,
}

impl From<NoTls> for Verification {
    fn from(v: NoTls) -> Verification {
        Verification {
            status: v.status,
            reason: v.reason,
            detail: v.detail,
            latency_ms: v.latency_ms,
            at: v.at,
            run: v.run,
            tls: None,
        }
    }
}

impl From<NoRun> for NoTls {
    fn from(v: NoRun) -> NoTls {
        NoTls {
            status: v.status,
            reason: v.reason,
            detail: v.detail,
            latency_ms: v.latency_ms,
            at: v.at,
            run: None,
        }
    }
}

/// A result as format 3 encoded it, before runs.
#[derive(serde::Deserialize)]
struct NoRun {
    status: crate::core::Status,
    reason: String,
    detail: Option<String>,
    latency_ms: Option<u64>,
    at: crate::core::time::Timestamp,
}

/// The final state of the run headed by the entry before this one, stored with the entry that
/// ended it. A run's latest check lives in the sequence record while the run goes on; when a
/// new entry ends it, it moves into that new entry, so ending a run is one insert, not two
/// (rewriting the run's own entry). The ring keeps the newest entries, so an entry is never
/// kept without the one that holds its end.
pub(super) type Ended = Option<Repeats>;

/// POSTCARD || postcard((Verification, Ended)). Compact binary, not JSON: an audit encodes every
/// changed result, and serde_json spent half the cost of sealing one on escaping and field
/// names. Postcard stores fields and enum variants by position, so `Status` variants may only
/// ever be appended, and a new field needs a new first byte (pinned by `the_encoding_is_pinned`
/// below).
fn encode(
    verification: &Verification,
    ended: Option<&Repeats>,
    out: &mut Vec<u8>,
) -> Result<(), postcard::Error> {
    out.push(POSTCARD);
    postcard::to_io(&(verification, ended), out).map(|_| ())
}

fn decode(plain: &[u8]) -> Option<(Verification, Ended)> {
    match plain.split_first()? {
        (&POSTCARD, encoded) => postcard::from_bytes(encoded).ok(),
        (&POSTCARD_NO_TLS, encoded) => {
            let (v, ended): (NoTls, Ended) = postcard::from_bytes(encoded).ok()?;
            Some((v.into(), ended))
        }
        (&POSTCARD_NO_RUN, encoded) => {
            let v: NoRun = postcard::from_bytes(encoded).ok()?;
            Some((NoTls::from(v).into(), None))
        }
        (b'{', _) => Some((serde_json::from_slice(plain).ok()?, None)),
        _ => None,
    }
}

/// A credential's newest result as a team vault's position shard keeps it (sequences.rs): the
/// entry's own encoding, with no ended run.
pub(super) fn encode_latest(verification: &Verification) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    // A struct of strings and integers always encodes; if it did not, the bytes would not
    // decode and the shard would be read back as damaged.
    let _ = encode(verification, None, &mut out);
    out
}

/// The result `encode_latest` wrote; None if the bytes do not decode.
pub(super) fn decode_latest(bytes: &[u8]) -> Option<Verification> {
    decode(bytes).map(|(v, _)| v)
}

/// The sequence number, result and ended run in stored bytes; None if they are short, do not
/// authenticate or do not decode.
pub(super) fn open_result(
    key: &DataKey,
    vault_id: &str,
    credential: &str,
    bytes: &[u8],
) -> Option<(u64, Verification, Ended)> {
    let (prefix, sealed) = bytes.split_first_chunk::<8>()?;
    let seq = u64::from_be_bytes(*prefix);
    let plain = key
        .open(sealed, &result_aad(vault_id, credential, seq))
        .ok()?;
    let (v, ended) = decode(&plain)?;
    Some((seq, v, ended))
}

/// Credential id -> where its results stand and its newest result (with any repeats folded in).
pub(super) type Latest = HashMap<String, (Position, Verification)>;

/// The readers' shared context.
struct Reader<'a> {
    txn: &'a dyn ReadTxn,
    path: &'a Path,
    vault_id: &'a str,
    key: &'a DataKey,
}

impl Reader<'_> {
    /// History entry `seq` of `id`, authenticated, or the damage that keeps it from being read:
    /// missing, another entry in its slot (moved or replayed), or failing authentication.
    fn entry(&self, id: &str, seq: u64) -> Result<(Verification, Ended), VaultError> {
        let bytes = self.txn.result(slot(seq), id)?;
        self.open_entry(id, seq, bytes)
    }

    /// What `entry` checks, on bytes already read (`None`: there were none).
    fn open_entry(
        &self,
        id: &str,
        seq: u64,
        bytes: Option<Vec<u8>>,
    ) -> Result<(Verification, Ended), VaultError> {
        let damaged = |what: String| {
            corrupt(
                self.path,
                format!("history entry {seq} of credential {id} {what}"),
            )
        };
        let bytes = bytes.ok_or_else(|| damaged("is missing".into()))?;
        match open_result(self.key, self.vault_id, id, &bytes) {
            Some((found, v, ended)) if found == seq => Ok((v, ended)),
            Some((found, ..)) => Err(damaged(format!("holds entry {found} instead"))),
            None => Err(damaged("failed authentication".into())),
        }
    }
}

/// Every credential's newest result with its position, for each credential `next` names.
pub(super) fn read_latest<'a>(
    txn: &dyn ReadTxn,
    path: &Path,
    vault_id: &str,
    key: &DataKey,
    next: impl ExactSizeIterator<Item = (&'a RecordId, &'a Position)>,
) -> Result<Latest, VaultError> {
    let reader = Reader {
        txn,
        path,
        vault_id,
        key,
    };
    let mut newest = Vec::with_capacity(next.len());
    for (id, position) in next {
        let seq = position.next.checked_sub(1).ok_or_else(|| {
            corrupt(
                path,
                format!("the sequence number of credential {id} is zero"),
            )
        })?;
        newest.push((id, position, seq));
    }
    // All of them in one read (one round trip for a team vault).
    let wanted: Vec<(u8, &str)> = newest
        .iter()
        .map(|(id, _, seq)| (slot(*seq), id.as_str()))
        .collect();
    let found = txn.results(&wanted)?;
    let mut out = HashMap::with_capacity(newest.len());
    for ((id, position, seq), bytes) in newest.into_iter().zip(found) {
        let (mut v, _) = reader.open_entry(id.as_str(), seq, bytes)?;
        if let Some(repeats) = &position.repeats {
            repeats.apply(&mut v);
        }
        out.insert(id.to_string(), (*position, v));
    }
    Ok(out)
}

/// One credential's history, newest first, given its position (None: never verified). The
/// sequence number says which entries must exist (the last HISTORY_LIMIT of them), so an entry
/// that went missing, was moved or was replayed from an older state is reported as damage,
/// like one that fails authentication.
pub(super) fn read_history(
    txn: &dyn ReadTxn,
    path: &Path,
    vault_id: &str,
    key: &DataKey,
    credential: &RecordId,
    position: Option<&Position>,
) -> Result<Vec<Verification>, VaultError> {
    let Some(newest) = position.and_then(|p| p.next.checked_sub(1)) else {
        return Ok(Vec::new());
    };
    let reader = Reader {
        txn,
        path,
        vault_id,
        key,
    };
    let oldest = newest.saturating_sub(HISTORY_LIMIT as u64 - 1);
    let entries = (oldest..=newest)
        .rev()
        .map(|seq| reader.entry(credential.as_str(), seq))
        .collect::<Result<Vec<_>, _>>()?;
    // Each run's final state is held by what came after it: the sequence record for the
    // newest entry, the next newer entry for the rest.
    let mut end = position.and_then(|p| p.repeats);
    let mut history = Vec::with_capacity(entries.len());
    for (mut v, ended) in entries {
        if let Some(repeats) = &end {
            repeats.apply(&mut v);
        }
        end = ended;
        history.push(v);
    }
    Ok(history)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::time::Timestamp;
    use crate::core::{Status, TlsState};

    #[test]
    fn the_encoding_is_pinned_and_older_encodings_still_read() {
        let v = Verification {
            status: Status::Rejected,
            reason: "No.".into(),
            detail: Some("x".into()),
            latency_ms: Some(300),
            at: Timestamp(-2),
            run: None,
            tls: None,
        };
        let mut out = Vec::new();
        encode(&v, None, &mut out).unwrap();
        // version, status #1, "No.", Some "x", Some 300 (varint), -2 (zigzag varint), then no
        // run, no TLS state, no ended run
        let fields = [1, 3, b'N', b'o', b'.', 1, 1, b'x', 1, 0xAC, 0x02, 3];
        assert_eq!(out, [&[3][..], &fields, &[0, 0, 0]].concat());
        assert_eq!(decode(&out), Some((v.clone(), None)));
        // A run: Some, first -5 (zigzag), count 300; ending one: Some, count 2, at 4, latency
        // Some 7.
        let run = Verification {
            run: Some(crate::core::Run {
                first: Timestamp(-5),
                count: 300,
            }),
            ..v.clone()
        };
        let ended = Repeats {
            count: 2,
            at: Timestamp(4),
            latency_ms: Some(7),
        };
        let mut out = Vec::new();
        encode(&run, Some(&ended), &mut out).unwrap();
        let (run_bytes, ended_bytes) = ([1, 9, 0xAC, 0x02], [1, 2, 8, 1, 7]);
        assert_eq!(
            out,
            [&[3][..], &fields, &run_bytes, &[0], &ended_bytes].concat()
        );
        assert_eq!(decode(&out), Some((run.clone(), Some(ended))));
        // The TLS state: Some, then its position.
        for (i, tls) in [TlsState::None, TlsState::Verified, TlsState::Unchecked]
            .into_iter()
            .enumerate()
        {
            let with_tls = Verification {
                tls: Some(tls),
                ..v.clone()
            };
            let mut out = Vec::new();
            encode(&with_tls, None, &mut out).unwrap();
            assert_eq!(out, [&[3][..], &fields, &[0, 1, i as u8, 0]].concat());
            assert_eq!(decode(&out), Some((with_tls, None)));
        }
        // Format 4 before the TLS state: the same without it, under version 2.
        assert_eq!(
            decode(&[&[2][..], &fields, &[0, 0]].concat()),
            Some((v.clone(), None))
        );
        assert_eq!(
            decode(&[&[2][..], &fields, &run_bytes, &ended_bytes].concat()),
            Some((run, Some(ended)))
        );
        // Format 3 wrote the fields without a run either, under version 1.
        assert_eq!(
            decode(&[&[1][..], &fields].concat()),
            Some((v.clone(), None))
        );
        // Every status keeps its position.
        for (i, status) in [
            Status::Verified,
            Status::Rejected,
            Status::Unreachable,
            Status::Misconfigured,
            Status::Unverified,
        ]
        .into_iter()
        .enumerate()
        {
            let mut out = Vec::new();
            encode(
                &Verification {
                    status,
                    ..v.clone()
                },
                None,
                &mut out,
            )
            .unwrap();
            assert_eq!(out[1], i as u8, "{status:?}");
        }
        assert_eq!(decode(&serde_json::to_vec(&v).unwrap()), Some((v, None)));
        assert_eq!(decode(b""), None);
        assert_eq!(decode(&[2, 0]), None);
        assert_eq!(decode(&[3, 0]), None);
        assert_eq!(decode(&[4, 0]), None);
    }

    #[test]
    fn the_ring_reuses_slots_in_order() {
        assert_eq!(slot(0), 0);
        assert_eq!(slot(HISTORY_LIMIT as u64 - 1), HISTORY_LIMIT as u8 - 1);
        assert_eq!(slot(HISTORY_LIMIT as u64), 0);
        assert_eq!(slot(HISTORY_LIMIT as u64 * 7 + 3), 3);
    }
}

/// The history-entry decoder's contract on decrypted bytes: never a panic, `None` for anything
/// it cannot read, and what `encode` wrote reads back as itself.
#[cfg(test)]
mod properties {
    use super::*;
    use crate::core::time::Timestamp;
    use crate::core::{Run, Status, TlsState};
    use proptest::prelude::*;

    fn verification() -> impl Strategy<Value = Verification> {
        (
            prop::sample::select(vec![
                Status::Verified,
                Status::Rejected,
                Status::Unreachable,
                Status::Misconfigured,
                Status::Unverified,
            ]),
            ".{0,80}",
            prop::option::of(".{0,40}"),
            prop::option::of(any::<u64>()),
            any::<i64>(),
            prop::option::of((any::<i64>(), 2u32..1000)),
            prop::option::of(prop::sample::select(vec![
                TlsState::None,
                TlsState::Verified,
                TlsState::Unchecked,
            ])),
        )
            .prop_map(
                |(status, reason, detail, latency_ms, at, run, tls)| Verification {
                    status,
                    reason,
                    detail,
                    latency_ms,
                    at: Timestamp(at),
                    run: run.map(|(first, count)| Run {
                        first: Timestamp(first),
                        count,
                    }),
                    tls,
                },
            )
    }

    proptest! {
        #[test]
        fn any_bytes_decode_or_are_refused(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
            let _ = decode(&bytes);
        }

        #[test]
        fn encoded_entries_read_back(v in verification(), ended in prop::option::of((2u32..100, any::<i64>(), prop::option::of(any::<u64>())))) {
            let ended = ended.map(|(count, at, latency_ms)| Repeats { count, at: Timestamp(at), latency_ms });
            let mut out = Vec::new();
            encode(&v, ended.as_ref(), &mut out).unwrap();
            let (back, back_ended) = decode(&out).unwrap();
            prop_assert_eq!(back, v);
            prop_assert_eq!(back_ended, ended);
        }
    }
}
