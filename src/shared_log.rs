//! The shared log's module: what a page served by a sync server needs before it opens the log, and a page on
//! the browser's own log never fetches (it is cut off at its split point in `src/split.rs`). It opens the
//! store on the server's log ([`rewind_store::Store::open_shared`], whose trait object brings the client, the
//! feed and the server's JSON) and hands the session its outbox ([`Outboxing`]).

use crate::session::Outboxing;
use rewind_store::{PageStore, Pending, ServerSighting, Store};

/// The shared log's functions, as the page's first module calls them.
#[derive(Clone, Copy)]
pub struct SharedLogParts {
    /// Opens the log of what may be a sync server (the store's name, what the server answered first).
    pub open: fn(String, ServerSighting) -> Pending<'static, PageStore>,
    /// The session's outbox, for a session on the shared log.
    pub outboxing: Outboxing,
}

pub(crate) fn parts() -> SharedLogParts {
    SharedLogParts {
        open: |name, sighting| Box::pin(async move { Store::open_shared(&name, sighting).await }),
        outboxing: Outboxing::here(),
    }
}
