//! The last resort when the browser refuses site data: nothing survives a reload.

use crate::error::StoreError;
use crate::policy::SNAPSHOTS_KEPT;
use crate::types::RawRecord;
use crate::rule::{admit, Admitted, LogVersion, StoredIndex, Write};
use std::cell::RefCell;
use std::collections::BTreeMap;

#[derive(Default)]
pub(crate) struct MemoryRecords {
    inner: RefCell<Inner>,
}

#[derive(Default)]
struct Inner {
    version: LogVersion,
    chunks: BTreeMap<u64, Vec<u8>>,
    snapshots: BTreeMap<u64, Vec<u8>>,
}

fn raw((key, bytes): (&u64, &Vec<u8>)) -> RawRecord {
    RawRecord { key: *key, bytes: Ok(bytes.clone()) }
}

impl MemoryRecords {
    pub fn index(&self) -> Result<StoredIndex, StoreError> {
        Ok(Ok(self.inner.borrow().version))
    }

    pub fn write(&self, write: &Write<'_>) -> Result<Option<LogVersion>, StoreError> {
        let mut inner = self.inner.try_borrow_mut().map_err(|_| StoreError::Write("the store is busy".into()))?;
        let Admitted::Store(version) = admit(&Ok(inner.version), write)? else { return Ok(None) };
        match write {
            Write::Append { chunks, expected } => {
                // Nothing past the head was acknowledged: drop it rather than read it back later.
                let past_head = expected.head + 1;
                inner.chunks.split_off(&past_head);
                inner.snapshots.split_off(&past_head);
                for c in *chunks {
                    inner.chunks.insert(c.first_seq, c.bytes.clone());
                }
            }
            Write::Replace { chunks, .. } => {
                inner.chunks = chunks.iter().map(|c| (c.first_seq, c.bytes.clone())).collect();
                inner.snapshots.clear();
            }
            Write::Snapshot { seq, bytes, .. } => {
                inner.snapshots.insert(*seq, bytes.to_vec());
                while inner.snapshots.len() > SNAPSHOTS_KEPT {
                    inner.snapshots.pop_first();
                }
            }
        }
        inner.version = version;
        Ok(Some(version))
    }

    pub fn chunks_from(&self, from: u64) -> Result<Vec<RawRecord>, StoreError> {
        Ok(self.inner.borrow().chunks.range(from..).map(raw).collect())
    }

    pub fn snapshots_newest_first(&self) -> Result<Vec<RawRecord>, StoreError> {
        Ok(self.inner.borrow().snapshots.iter().rev().map(raw).collect())
    }
}
