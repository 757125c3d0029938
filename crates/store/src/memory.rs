//! The last resort when the browser refuses site data: nothing survives a reload.

use crate::error::StoreError;
use crate::policy::SNAPSHOTS_KEPT;
use crate::records::{EncodedChunk, Meta};
use std::cell::RefCell;
use std::collections::BTreeMap;

#[derive(Default)]
pub(crate) struct MemoryRecords {
    inner: RefCell<Inner>,
}

#[derive(Default)]
struct Inner {
    head: u64,
    epoch: u64,
    chunks: BTreeMap<u64, Vec<u8>>,
    snapshots: BTreeMap<u64, Vec<u8>>,
}

impl MemoryRecords {
    pub fn meta(&self) -> Meta {
        let inner = self.inner.borrow();
        Meta { head: inner.head, epoch: inner.epoch }
    }

    pub fn append(&self, expected: Meta, new_head: u64, chunks: &[EncodedChunk]) -> Result<(), StoreError> {
        let mut inner = self.inner.borrow_mut();
        if inner.epoch != expected.epoch {
            return Err(StoreError::Replaced);
        }
        if inner.head != expected.head {
            return Err(StoreError::Conflict { expected: expected.head, found: inner.head });
        }
        for c in chunks {
            inner.chunks.insert(c.first_seq, c.bytes.clone());
        }
        inner.head = new_head;
        Ok(())
    }

    pub fn replace(&self, head: u64, chunks: &[EncodedChunk]) -> Result<u64, StoreError> {
        let mut inner = self.inner.borrow_mut();
        let epoch = inner.epoch.wrapping_add(1);
        *inner = Inner {
            head,
            epoch,
            chunks: chunks.iter().map(|c| (c.first_seq, c.bytes.clone())).collect(),
            ..Inner::default()
        };
        Ok(epoch)
    }

    pub fn chunks_from(&self, from: u64) -> Vec<(u64, Vec<u8>)> {
        self.inner.borrow().chunks.range(from..).map(|(k, v)| (*k, v.clone())).collect()
    }

    pub fn snapshots_newest_first(&self) -> Vec<(u64, Vec<u8>)> {
        self.inner.borrow().snapshots.iter().rev().map(|(k, v)| (*k, v.clone())).collect()
    }

    pub fn put_snapshot(&self, seq: u64, epoch: u64, bytes: &[u8]) -> Result<(), StoreError> {
        let mut inner = self.inner.borrow_mut();
        if inner.epoch != epoch || inner.head < seq {
            return Ok(());
        }
        inner.snapshots.insert(seq, bytes.to_vec());
        while inner.snapshots.len() > SNAPSHOTS_KEPT {
            inner.snapshots.pop_first();
        }
        Ok(())
    }
}
