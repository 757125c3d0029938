//! The feed: one task per server copy watches the stream with `XREAD BLOCK` on a connection of its own and
//! publishes the log's version; every WebSocket of the copy listens to that one task, so a thousand pages
//! cost Redis one blocked read, not a thousand.

use crate::redis_log::{RedisLogError, Version};
use crate::shared::SharedLog;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How long one `XREAD` waits for a new entry. Between two waits the version is read again, so a log that
/// was replaced (which `XREAD` does not report) is noticed within this time.
const BLOCK: Duration = Duration::from_secs(5);
/// Pause before connecting again after Redis went away.
const RETRY: Duration = Duration::from_millis(500);

/// What the feed publishes: the log's version, and whether Redis answers (pages are told when it does not).
pub struct Feed {
    pub version: watch::Receiver<Version>,
    pub redis_up: watch::Receiver<bool>,
}

/// Starts the feed at `initial` (the version the cache was built at). The receivers see every change.
/// Whenever Redis comes back after an outage, its settings are checked again: it may be another Redis.
pub fn spawn(shared: SharedLog, initial: Version) -> (Feed, JoinHandle<()>) {
    let (tx, version) = watch::channel(initial);
    let (up_tx, redis_up) = watch::channel(true);
    let task = tokio::spawn(async move {
        // Said once per outage, not once per attempt.
        let mut outage = false;
        while let Err(error) = follow(&shared, &tx, &up_tx, &mut outage).await {
            up_tx.send_replace(false);
            if !outage {
                tracing::error!(shop = %shared.redis().keys().shop, %error, "the feed lost Redis; trying again every {RETRY:?}");
                outage = true;
            }
            tokio::time::sleep(RETRY).await;
        }
    });
    (Feed { version, redis_up }, task)
}

/// Publishes the version until Redis fails or every receiver is gone.
async fn follow(
    shared: &SharedLog,
    tx: &watch::Sender<Version>,
    up: &watch::Sender<bool>,
    outage: &mut bool,
) -> Result<(), RedisLogError> {
    // The response timeout must outlast the blocking read.
    let mut follower = shared.redis().follower(BLOCK).await?;
    loop {
        let version = follower.head().await?.version;
        if std::mem::take(outage) {
            tracing::info!(shop = %shared.redis().keys().shop, "the feed reaches Redis again");
            shared.recheck_durable().await?;
        }
        up.send_if_modified(|was| !std::mem::replace(was, true));
        tx.send_if_modified(|current| std::mem::replace(current, version) != version);
        if tx.is_closed() {
            return Ok(());
        }
        follower.wait_past(version.head).await?;
    }
}
