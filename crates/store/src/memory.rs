//! The last resort when the browser refuses site data: nothing survives a reload.

use crate::error::StoreError;
use crate::policy::SNAPSHOTS_KEPT;
use crate::records::EncodedChunk;
use std::cell::RefCell;
use std::collections::BTreeMap;

#[derive(Default)]
pub(crate) struct MemoryRecords {
    inner: RefCell<Inner>,
}

#[derive(Default)]
struct Inner {
    head: u64,
    chunks: BTreeMap<u64, Vec<u8>>,
    snapshots: BTreeMap<u64, Vec<u8>>,
}

impl MemoryRecords {
    pub fn head(&self) -> u64 {
        self.inner.borrow().head
    }

    pub fn append(&self, expected: u64, new_head: u64, chunks: &[EncodedChunk]) -> Result<(), StoreError> {
        let mut inner = self.inner.borrow_mut();
        if inner.head != expected {
            return Err(StoreError::Conflict { expected, found: inner.head });
        }
        for c in chunks {
            inner.chunks.insert(c.first_seq, c.bytes.clone());
        }
        inner.head = new_head;
        Ok(())
    }

    pub fn replace(&self, head: u64, chunks: &[EncodedChunk]) -> Result<(), StoreError> {
        let mut inner = self.inner.borrow_mut();
        *inner = Inner { head, chunks: chunks.iter().map(|c| (c.first_seq, c.bytes.clone())).collect(), ..Inner::default() };
        Ok(())
    }

    pub fn chunks_from(&self, from: u64) -> Vec<(u64, Vec<u8>)> {
        self.inner.borrow().chunks.range(from..).map(|(k, v)| (*k, v.clone())).collect()
    }

    pub fn snapshots_newest_first(&self) -> Vec<(u64, Vec<u8>)> {
        self.inner.borrow().snapshots.iter().rev().map(|(k, v)| (*k, v.clone())).collect()
    }

    pub fn put_snapshot(&self, seq: u64, bytes: &[u8]) -> Result<(), StoreError> {
        let mut inner = self.inner.borrow_mut();
        inner.snapshots.insert(seq, bytes.to_vec());
        while inner.snapshots.len() > SNAPSHOTS_KEPT {
            inner.snapshots.pop_first();
        }
        Ok(())
    }
}
