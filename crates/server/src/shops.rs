//! The shops a copy serves. Each shop is its own log in Redis (its stream, epoch, snapshot and keys under
//! the hash tag of its name) and, on the copy, its own cache, decider, feed and snapshot writer, opened by the
//! first request that names it and kept while the copy runs.

use crate::cache::CacheError;
use crate::decider::Decider;
use crate::redis_log::{RedisLog, ShopName, Version};
use crate::shared::SharedLog;
use crate::snapshot::{self, SnapshotPolicy};
use crate::feed;
use crate::metrics::Metrics;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{watch, OnceCell};
use tokio::task::JoinHandle;

/// Shops one copy keeps open at most: each holds a cache of its log, a feed connection to Redis and three
/// tasks. Past them, a request for another shop is refused (`503`) and changes nothing.
pub const MAX_SHOPS: usize = 1_024;

/// One shop as this copy serves it.
pub struct Shop {
    pub shared: SharedLog,
    pub decider: Decider,
    /// The log's version as the feed last saw it.
    pub feed: watch::Receiver<Version>,
    /// Whether the feed reaches Redis.
    pub redis_up: watch::Receiver<bool>,
    pub started_at: Version,
    _tasks: Tasks,
}

impl Shop {
    /// Builds the shop's cache from its whole stream, then starts its feed, snapshots and decider.
    async fn open(redis: RedisLog, snapshots: SnapshotPolicy) -> Result<Shop, CacheError> {
        let shared = SharedLog::open(redis).await?;
        let started_at = shared.version().await?;
        let (feed, feed_task) = feed::spawn(shared.clone(), started_at);
        let snapshot_task = snapshot::spawn(shared.clone(), feed.version.clone(), snapshots);
        let (decider, decider_task) = Decider::spawn(shared.clone());
        Ok(Shop {
            shared,
            decider,
            feed: feed.version,
            redis_up: feed.redis_up,
            started_at,
            _tasks: Tasks(vec![feed_task, snapshot_task, decider_task]),
        })
    }
}

/// Why a shop could not be served.
#[derive(Debug, thiserror::Error)]
pub enum ShopError {
    #[error("this server copy serves {MAX_SHOPS} shops already: ask another copy")]
    TooMany,
    #[error(transparent)]
    Cache(#[from] CacheError),
}

/// Every shop the copy has opened. Cheap to clone.
#[derive(Clone)]
pub struct Shops {
    redis: RedisLog,
    snapshots: SnapshotPolicy,
    metrics: Metrics,
    /// A shop being opened is a cell not yet set: requests for it wait for the one opening, and requests for
    /// other shops do not wait at all.
    open: Arc<Mutex<HashMap<ShopName, Opening>>>,
}

/// A shop once it is open; until then, where requests for it wait.
type Opening = Arc<OnceCell<Arc<Shop>>>;

impl Shops {
    pub fn new(redis: RedisLog, snapshots: SnapshotPolicy, metrics: Metrics) -> Shops {
        Shops { redis, snapshots, metrics, open: Arc::default() }
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The shop `name`, opened if this copy has not served it yet.
    pub async fn get(&self, name: &ShopName) -> Result<Arc<Shop>, ShopError> {
        let cell = {
            let mut open = self.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            match open.get(name) {
                Some(cell) => Arc::clone(cell),
                None if open.len() >= MAX_SHOPS => return Err(ShopError::TooMany),
                None => Arc::clone(open.entry(name.clone()).or_default()),
            }
        };
        let shop = cell
            .get_or_try_init(|| async {
                let redis = self.redis.shop(name).with_metrics(self.metrics.shop(name.as_str()));
                let shop = Shop::open(redis, self.snapshots).await.map(Arc::new)?;
                self.metrics.shop_opened();
                tracing::info!(shop = %name, head = shop.started_at.head, "shop opened");
                Ok::<_, ShopError>(shop)
            })
            .await?;
        Ok(Arc::clone(shop))
    }
}

/// A shop's background tasks, which end with it (an in-process copy must not leave them behind).
struct Tasks(Vec<JoinHandle<()>>);

impl Drop for Tasks {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}
