//! What a page opens, in plain Rust: the browser's own log, or, when what served the page may be a sync
//! server, that server's log once the shared log's module is fetched (`src/split.rs`). The page's context
//! only shows the outcome.

use crate::session::Outboxing;
use crate::split::ModuleMissing;
use rewind_store::{AccessKeyGate, PageLog, PageStore, Store};
use std::fmt;

/// The outcome of opening a page's log.
pub enum Opened {
    /// The store to load, with the outbox's functions on a shared log.
    Ready { store: Store, outboxing: Option<Outboxing> },
    /// The sync server wants its access key first: nothing is opened until it is given.
    KeyNeeded(AccessKeyGate),
    /// What may be a sync server served the page, and the shared log's module could not be fetched: nothing
    /// was opened (a log in this browser instead would fork the server's).
    NotOpened(SharedLogMissing),
}

/// Why a page on what may be a sync server opened nothing.
#[derive(Debug)]
pub struct SharedLogMissing(pub ModuleMissing);

impl fmt::Display for SharedLogMissing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "This page appears to be served by a sync server, and the part of the page that reaches it could not be \
             loaded ({}). Nothing was opened: the shop's log is the server's.",
            self.0
        )
    }
}

/// Opens the page's log named `name`: the store in this browser, unless what served the page may be a sync
/// server, whose module is then fetched before anything is opened.
pub async fn open_page(name: &str) -> Opened {
    let sighting = match Store::open_for_page(name).await {
        PageLog::Local(store) => return Opened::Ready { store, outboxing: None },
        PageLog::MaybeSyncServer(sighting) => sighting,
    };
    let parts = match crate::split::shared_log().await {
        Ok(parts) => parts,
        Err(missing) => return Opened::NotOpened(SharedLogMissing(missing)),
    };
    match (parts.open)(name.to_owned(), sighting).await {
        PageStore::Ready(store) => Opened::Ready { store, outboxing: Some(parts.outboxing) },
        PageStore::KeyNeeded(gate) => Opened::KeyNeeded(gate),
    }
}
