//! Per-file read accounting shared by every reader: each record read is
//! either used (normalized into an [`Event`](crate::Event)) or rejected with
//! a reason, and `read == used + rejected` always holds.

use crate::event::EventKind;
use serde::Serialize;
use std::collections::BTreeMap;

/// How many rejected records are kept with their reasons per file (the
/// counts are always complete).
pub const MAX_KEPT_REJECTS: usize = 200;

/// One rejected record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reject {
    /// 1-based line or record number (0 when the whole file is rejected).
    pub record: u64,
    /// Why it was rejected, phrased for the user.
    pub reason: String,
}

/// Read accounting for one input file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FileStats {
    /// Records read.
    pub read: u64,
    /// Records normalized into events.
    pub used: u64,
    /// Records rejected.
    pub rejected: u64,
    /// Used records by event kind.
    pub kinds: BTreeMap<String, u64>,
    /// The first [`MAX_KEPT_REJECTS`] rejects with reasons.
    pub rejects: Vec<Reject>,
    /// Used records that come from a part of the file whose checksum
    /// failed (EVTX chunks with a bad CRC32: read anyway, as logs copied
    /// from live systems are often dirty). Not written when zero.
    #[serde(skip_serializing_if = "is_zero")]
    pub checksum_failed: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl FileStats {
    /// Counts a used record of `kind`.
    pub fn used(&mut self, kind: EventKind) {
        self.read += 1;
        self.used += 1;
        // Looked up by `&str` first: the key is allocated once per kind,
        // not once per record.
        match self.kinds.get_mut(kind.as_str()) {
            Some(n) => *n += 1,
            None => {
                self.kinds.insert(kind.as_str().to_string(), 1);
            }
        }
    }

    /// Counts a rejected record.
    pub fn reject(&mut self, record: u64, reason: impl Into<String>) {
        self.read += 1;
        self.rejected += 1;
        if self.rejects.len() < MAX_KEPT_REJECTS {
            self.rejects.push(Reject {
                record,
                reason: reason.into(),
            });
        }
    }

    /// Adds another file's counts into this one.
    pub fn merge(&mut self, other: &FileStats) {
        self.read += other.read;
        self.used += other.used;
        self.rejected += other.rejected;
        self.checksum_failed += other.checksum_failed;
        for (k, v) in &other.kinds {
            *self.kinds.entry(k.clone()).or_default() += v;
        }
    }

    /// `read == used + rejected`.
    pub fn reconciles(&self) -> bool {
        self.read == self.used + self.rejected
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_kind_and_reconciles_after_merge() {
        let mut a = FileStats::default();
        a.used(EventKind::EntraSignIn);
        a.used(EventKind::EntraSignIn);
        a.used(EventKind::EntraAudit);
        a.reject(4, "bad");
        let mut b = FileStats::default();
        b.used(EventKind::EntraSignIn);
        a.merge(&b);
        assert_eq!((a.read, a.used, a.rejected), (5, 4, 1));
        assert_eq!(a.kinds.get("entra_signin"), Some(&3));
        assert_eq!(a.kinds.get("entra_audit"), Some(&1));
        assert_eq!(a.kinds.len(), 2);
        assert!(a.reconciles());
    }
}
