//! The sync server as the store reaches it: through a trait object that the shared log's module makes
//! ([`crate::Store::open_shared`]). Whatever only the object's functions reach (the server's JSON, its feed, the
//! outbox of commands) is then code of that module, which a page on the browser's own log never fetches: the
//! build gives a function named only by a vtable to the module where the vtable is made (issue 26).

use crate::error::StoreError;
use crate::rule::LogVersion;
use crate::shared::{Appended, CommandKey, Feed, FeedNews, SyncStatus};
use crate::types::EncodedChunk;
use rewind_domain::Command;
use rewind_protocol::{CommandOutcome, ShopName};
use std::future::Future;
use std::pin::Pin;

/// A request on its way: what the trait's async functions return.
pub type Pending<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// Events as the server sends them (frames of chunks) and the version they reach.
pub(crate) type Frames = (LogVersion, Vec<u8>);
/// The outcomes of commands decided together, in order, and why the rest were not, if fewer came back.
pub(crate) type Decided = (Vec<CommandOutcome>, Option<String>);

/// The sync server's endpoints, seen from the store (their meaning is [`crate::shared::SharedLog`]'s).
pub(crate) trait Remote {
    fn shop(&self) -> &ShopName;
    fn status(&self) -> SyncStatus;
    fn listen(&self, on_news: Box<dyn Fn(FeedNews)>) -> Feed;
    fn version(&self) -> Pending<'_, Result<LogVersion, StoreError>>;
    fn events_after(&self, after: u64) -> Pending<'_, Result<Frames, StoreError>>;
    fn snapshot(&self) -> Pending<'_, Result<Option<Frames>, StoreError>>;
    fn append<'a>(&'a self, expected: LogVersion, chunks: &'a [EncodedChunk], key: &'a CommandKey) -> Pending<'a, Result<Appended, StoreError>>;
    fn send_command<'a>(&'a self, key: &'a CommandKey, command: &'a Command) -> Pending<'a, Result<Option<u64>, StoreError>>;
    fn send_commands<'a>(&'a self, commands: &'a [(CommandKey, Command)]) -> Pending<'a, Result<Decided, StoreError>>;
}
