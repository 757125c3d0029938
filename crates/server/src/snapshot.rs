//! Server snapshots: now and then each copy stores the state at its head, so that a new page restores from a
//! snapshot plus the tail after it instead of replaying the whole history. The script that stores it keeps
//! the newest one, so copies writing at once do no harm.

use crate::redis_log::Version;
use crate::shared::SharedLog;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

/// When to take a snapshot: every `period` if the head moved, and as soon as the head is `every` events past
/// the last one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SnapshotPolicy {
    pub every: u64,
    pub period: Duration,
}

impl Default for SnapshotPolicy {
    fn default() -> Self {
        Self { every: rewind_protocol::SNAPSHOT_EVERY, period: Duration::from_secs(30) }
    }
}

/// Takes snapshots of `shared` by `policy`, hearing of new events through `feed`.
pub fn spawn(shared: SharedLog, mut feed: watch::Receiver<Version>, policy: SnapshotPolicy) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(policy.period.max(Duration::from_millis(10)));
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        ticker.tick().await; // the first tick is immediate: the start-up check below stands for it
        let every = policy.every.max(1);
        // A copy that starts on a long log with an old snapshot takes one at once.
        let stored = shared.redis().snapshot().await.ok().flatten().map_or(0, |snapshot| snapshot.seq);
        let mut last = stored;
        let mut due = feed.borrow().head >= stored + every;
        loop {
            if due {
                match shared.write_snapshot(last).await {
                    Ok(Some(seq)) => last = seq,
                    Ok(None) => {}
                    // Redis is away: the feed says so already, and the next tick tries again.
                    Err(error) => tracing::warn!(shop = %shared.redis().keys().shop, %error, "no snapshot this time"),
                }
            }
            due = tokio::select! {
                _ = ticker.tick() => true,
                changed = feed.changed() => match changed {
                    Ok(()) => feed.borrow_and_update().head >= last + every,
                    Err(_) => return, // the server is gone
                },
            };
        }
    })
}
