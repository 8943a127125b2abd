//! The emission ledger (which finding versions were written) and the
//! per-shard checkpoint that makes restarts lose and duplicate nothing.
//!
//! A checkpoint is one JSON file per shard in the state directory, written
//! to a temporary file, fsync'd, renamed over the old one and the directory
//! fsync'd: a crash leaves either the old or the new checkpoint, never a
//! torn one.

use crate::StreamError;
use idrecon_core::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// How far an episode has grown: an update that is smaller in any part is
/// a replay's intermediate state and is not emitted again.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// Last event time (Unix seconds).
    pub last: i64,
    /// Probe events.
    pub total: u64,
    /// Distinct accounts.
    pub unique: u64,
    /// Valid plus credential-confirmed accounts.
    pub exposed: u64,
}

impl Progress {
    /// Reads the progress of a serialized finding.
    pub fn of(f: &Value) -> Progress {
        let n = |k: &str| f.get(k).and_then(Value::as_u64).unwrap_or(0);
        let len = |k: &str| {
            f.get(k)
                .and_then(Value::as_array)
                .map_or(0, |a| a.len() as u64)
        };
        Progress {
            last: f
                .get("last_seen")
                .and_then(Value::as_str)
                .and_then(|s| s.parse::<Timestamp>().ok())
                .map_or(0, |t| t.as_second()),
            total: n("total_failures"),
            unique: n("unique_usernames"),
            exposed: len("valid_accounts") + len("credential_confirmed_accounts"),
        }
    }

    fn covers(&self, o: &Progress) -> bool {
        self.last >= o.last
            && self.total >= o.total
            && self.unique >= o.unique
            && self.exposed >= o.exposed
    }
}

/// What was last emitted for one finding id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Last emitted version.
    pub v: u32,
    /// Content hash of the last emitted finding.
    pub h: String,
    /// A `closed` update was emitted: the finding is final.
    pub closed: bool,
    /// First event time (Unix seconds), for pruning.
    pub fs: i64,
    /// Progress of the last emitted content.
    pub p: Progress,
}

/// The kind of an emitted update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// First emission of a finding (version 1).
    Opened,
    /// A later state of an open finding.
    Updated,
    /// Final values; no further update follows.
    Closed,
}

impl Kind {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Opened => "opened",
            Kind::Updated => "updated",
            Kind::Closed => "closed",
        }
    }
}

/// Emitted versions per finding id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Ledger {
    entries: BTreeMap<String, Entry>,
}

/// Content hash of a serialized finding.
pub fn content_hash(f: &Value) -> String {
    format!(
        "{:016x}",
        xxhash_rust::xxh3::xxh3_64(f.to_string().as_bytes())
    )
}

impl Ledger {
    /// Decides what to emit for a finding the engine reports, and records
    /// it: `(kind, version)` pairs, in order. `closing` is true when the
    /// engine says the finding is final.
    pub fn reconcile(
        &mut self,
        id: &str,
        closing: bool,
        h: &str,
        p: Progress,
        fs: i64,
    ) -> Vec<(Kind, u32)> {
        let mut out = Vec::new();
        match self.entries.get_mut(id) {
            Some(e) if e.closed => {}
            Some(e) => {
                if closing {
                    e.v += 1;
                    e.closed = true;
                    e.h = h.to_string();
                    e.p = p;
                    out.push((Kind::Closed, e.v));
                } else if e.h != h && p.covers(&e.p) {
                    e.v += 1;
                    e.h = h.to_string();
                    e.p = p;
                    out.push((Kind::Updated, e.v));
                }
            }
            None => {
                out.push((Kind::Opened, 1));
                if closing {
                    out.push((Kind::Closed, 2));
                }
                self.entries.insert(
                    id.to_string(),
                    Entry {
                        v: out.len() as u32,
                        h: h.to_string(),
                        closed: closing,
                        fs,
                        p,
                    },
                );
            }
        }
        out
    }

    /// Records an update read back from a sink file (crash recovery).
    pub fn observe(&mut self, id: &str, kind: &str, v: u32, f: &Value) {
        let fs = f
            .get("first_seen")
            .and_then(Value::as_str)
            .and_then(|s| s.parse::<Timestamp>().ok())
            .map_or(0, |t| t.as_second());
        let e = self.entries.entry(id.to_string()).or_insert(Entry {
            v: 0,
            h: String::new(),
            closed: false,
            fs,
            p: Progress::default(),
        });
        if v > e.v {
            e.v = v;
            e.h = content_hash(f);
            e.p = Progress::of(f);
            e.closed = kind == "closed";
        }
    }

    /// Adds entries this ledger does not have (or has at a lower version).
    pub fn merge(&mut self, other: &Ledger) {
        for (id, e) in &other.entries {
            match self.entries.get(id) {
                Some(x) if x.v >= e.v => {}
                _ => {
                    self.entries.insert(id.clone(), e.clone());
                }
            }
        }
    }

    /// Forgets closed findings that began before `floor` (the floor alone
    /// keeps them from being emitted again).
    pub fn prune(&mut self, floor: i64) {
        self.entries.retain(|_, e| !(e.closed && e.fs < floor));
    }

    /// Findings recorded.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing was emitted.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Open (not closed) findings.
    pub fn open(&self) -> usize {
        self.entries.values().filter(|e| !e.closed).count()
    }
}

/// A resume position in one position space (file, partition, stdin).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pos {
    /// Byte offset (files, stdin) or Kafka offset.
    pub pos: u64,
    /// Line / record number at that position.
    pub rec: u64,
}

/// What a shard persists.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Format version.
    pub format: u32,
    /// Shard name.
    pub shard: String,
    /// Where to re-read from after a restart, per position space: the
    /// oldest record still needed by open windows (lags the read position
    /// by the retention horizon).
    pub resume: BTreeMap<String, Pos>,
    /// Read position when the checkpoint was taken: records before it that
    /// are older than `skip_until` were fully evaluated and are skipped.
    pub read_through: BTreeMap<String, Pos>,
    /// Findings that began before this instant were all emitted: the
    /// restarted run suppresses them (partial re-computations).
    #[serde(with = "ts_opt")]
    pub floor: Option<Timestamp>,
    /// Events at or before this instant re-read during replay are skipped.
    #[serde(with = "ts_opt")]
    pub skip_until: Option<Timestamp>,
    /// Watermark when the checkpoint was taken.
    #[serde(with = "ts_opt")]
    pub watermark: Option<Timestamp>,
    /// Findings open in the engine (id → first event time).
    #[serde(with = "ts_map")]
    pub engine_open: BTreeMap<String, Timestamp>,
    /// Emitted versions.
    pub ledger: Ledger,
    /// Length of each file sink when the checkpoint was taken; anything
    /// after it was written before a crash and is read back into the ledger.
    pub sink_len: BTreeMap<String, u64>,
}

/// Timestamps as RFC 3339 text.
mod ts_opt {
    use idrecon_core::Timestamp;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_some(&t.to_string()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|s| s.parse().map_err(serde::de::Error::custom))
            .transpose()
    }
}

mod ts_map {
    use idrecon_core::Timestamp;
    use serde::{Deserialize, Deserializer, Serializer};
    use std::collections::BTreeMap;

    pub fn serialize<S: Serializer>(
        m: &BTreeMap<String, Timestamp>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_map(m.iter().map(|(k, v)| (k, v.to_string())))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<String, Timestamp>, D::Error> {
        BTreeMap::<String, String>::deserialize(d)?
            .into_iter()
            .map(|(k, v)| v.parse().map(|t| (k, t)).map_err(serde::de::Error::custom))
            .collect()
    }
}

/// The checkpoint file of a shard.
pub fn checkpoint_path(dir: &Path, shard: &str) -> PathBuf {
    let safe: String = shard
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    dir.join(format!("shard-{safe}.json"))
}

impl Checkpoint {
    /// Loads a checkpoint; `None` when there is none yet.
    pub fn load(path: &Path) -> Result<Option<Checkpoint>, StreamError> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(StreamError::io(path, "cannot read the checkpoint", e)),
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| StreamError::Checkpoint {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })
    }

    /// Writes the checkpoint atomically (temporary file, fsync, rename,
    /// directory fsync).
    pub fn store(&self, path: &Path) -> Result<(), StreamError> {
        let tmp = path.with_extension("json.tmp");
        let bytes = serde_json::to_vec(self).map_err(|e| StreamError::Checkpoint {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        let mut f = std::fs::File::create(&tmp)
            .map_err(|e| StreamError::io(&tmp, "cannot create the checkpoint", e))?;
        f.write_all(&bytes)
            .and_then(|()| f.sync_all())
            .map_err(|e| StreamError::io(&tmp, "cannot write the checkpoint", e))?;
        drop(f);
        std::fs::rename(&tmp, path)
            .map_err(|e| StreamError::io(path, "cannot replace the checkpoint", e))?;
        if let Some(dir) = path.parent()
            && let Ok(d) = std::fs::File::open(dir)
        {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(last: i64, total: u64) -> Progress {
        Progress {
            last,
            total,
            unique: total,
            exposed: 0,
        }
    }

    #[test]
    fn versions_are_contiguous_and_never_repeat() {
        let mut l = Ledger::default();
        assert_eq!(
            l.reconcile("a", false, "h1", p(1, 1), 0),
            [(Kind::Opened, 1)]
        );
        assert!(l.reconcile("a", false, "h1", p(1, 1), 0).is_empty());
        // A replay's older state is not emitted again.
        assert!(l.reconcile("a", false, "h0", p(0, 1), 0).is_empty());
        assert_eq!(
            l.reconcile("a", false, "h2", p(2, 2), 0),
            [(Kind::Updated, 2)]
        );
        assert_eq!(
            l.reconcile("a", true, "h2", p(2, 2), 0),
            [(Kind::Closed, 3)]
        );
        assert!(l.reconcile("a", true, "h2", p(2, 2), 0).is_empty());
        assert!(l.reconcile("a", false, "h3", p(3, 3), 0).is_empty());
        assert_eq!(
            l.reconcile("b", true, "x", p(1, 1), 5),
            [(Kind::Opened, 1), (Kind::Closed, 2)]
        );
        l.prune(6);
        assert_eq!(l.len(), 0);
    }

    #[test]
    fn checkpoint_round_trip() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = checkpoint_path(dir.path(), "t/0");
        assert!(Checkpoint::load(&path).expect("load").is_none());
        let mut c = Checkpoint {
            format: 1,
            shard: "t/0".into(),
            ..Default::default()
        };
        c.ledger.reconcile("a", false, "h", p(1, 1), 0);
        c.resume.insert("t/0".into(), Pos { pos: 5, rec: 5 });
        c.store(&path).expect("store");
        assert_eq!(Checkpoint::load(&path).expect("load"), Some(c));
        std::fs::write(&path, b"{").expect("write");
        assert!(Checkpoint::load(&path).is_err());
    }
}
