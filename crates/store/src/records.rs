use crate::error::StoreError;
use crate::rule::{LogVersion, StoredIndex, Write};
use crate::backend::Backend;
use crate::types::RawRecord;
use crate::{idb, local, memory};

/// The backends behind one interface. Every write goes through [`crate::rule::admit`] inside the backend's
/// own atomic step (an IndexedDB transaction, a held Web Lock, a borrow), so all three apply the same rule.
pub(crate) enum Records {
    Idb(idb::IdbRecords),
    Local(local::LocalRecords),
    Memory(memory::MemoryRecords),
}

impl Records {
    pub fn backend(&self) -> Backend {
        match self {
            Records::Idb(_) => Backend::IndexedDb,
            Records::Local(_) => Backend::LocalStorage,
            Records::Memory(_) => Backend::Memory,
        }
    }

    /// The stored index: a version, or why it is unreadable (an `Err` of the outer result: reading failed).
    pub async fn index(&self) -> Result<StoredIndex, StoreError> {
        match self {
            Records::Idb(r) => r.index().await,
            Records::Local(r) => r.index().await,
            Records::Memory(r) => r.index(),
        }
    }

    /// Applies `write` if the rule admits it over what is stored; returns the version stored afterwards
    /// (`None`: a snapshot that was dropped).
    pub async fn write(&self, write: &Write<'_>) -> Result<Option<LogVersion>, StoreError> {
        match self {
            Records::Idb(r) => r.write(write).await,
            Records::Local(r) => r.write(write).await,
            Records::Memory(r) => r.write(write),
        }
    }

    /// Records whose first event is at `from` or later, in order.
    pub async fn chunks_from(&self, from: u64) -> Result<Vec<RawRecord>, StoreError> {
        match self {
            Records::Idb(r) => r.chunks_from(from).await,
            Records::Local(r) => r.chunks_from(from).await,
            Records::Memory(r) => r.chunks_from(from),
        }
    }

    pub async fn snapshots_newest_first(&self) -> Result<Vec<RawRecord>, StoreError> {
        match self {
            Records::Idb(r) => r.snapshots_newest_first().await,
            Records::Local(r) => r.snapshots_newest_first().await,
            Records::Memory(r) => r.snapshots_newest_first(),
        }
    }
}
