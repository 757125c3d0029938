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
    #[error("the server is shutting down: ask another copy")]
    Interrupted,
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

    /// The shop `name`, opened if this copy has not served it yet. With `create` false (a read), a shop that
    /// has no log in Redis is not opened: `None`, and nothing is kept for it.
    pub async fn get(&self, name: &ShopName, create: bool) -> Result<Option<Arc<Shop>>, ShopError> {
        let open = |cells: &HashMap<ShopName, Opening>| cells.get(name).and_then(|cell| cell.get().cloned());
        if let Some(shop) = open(&self.cells()) {
            return Ok(Some(shop));
        }
        if !create && !self.redis.shop(name).exists().await.map_err(CacheError::Store)? {
            return Ok(None);
        }
        let cell = {
            let mut cells = self.cells();
            match cells.get(name) {
                Some(cell) => Arc::clone(cell),
                None if cells.len() >= MAX_SHOPS => return Err(ShopError::TooMany),
                None => Arc::clone(cells.entry(name.clone()).or_default()),
            }
        };
        // Opened in a task of its own: a request that gives up (its time limit, a closed connection) does
        // not cut the reading of a big log short, and the next request finds it done.
        let opening = cell
            .get_or_try_init(|| {
                let redis = self.redis.shop(name).with_metrics(self.metrics.shop(name.as_str()));
                let (snapshots, metrics, name) = (self.snapshots, self.metrics.clone(), name.clone());
                async move {
                    let task = tokio::spawn(async move {
                        let shop = Shop::open(redis, snapshots).await?;
                        metrics.shop_opened();
                        tracing::info!(shop = %name, head = shop.started_at.head, "shop opened");
                        Ok::<_, CacheError>(Arc::new(shop))
                    });
                    match task.await {
                        Ok(opened) => opened.map_err(ShopError::Cache),
                        Err(_) => Err(ShopError::Interrupted),
                    }
                }
            })
            .await;
        match opening {
            Ok(shop) => Ok(Some(Arc::clone(shop))),
            Err(error) => {
                // A shop that could not be opened keeps no place: the next request tries again.
                let mut cells = self.cells();
                if cells.get(name).is_some_and(|c| Arc::ptr_eq(c, &cell) && c.get().is_none()) {
                    cells.remove(name);
                }
                Err(error)
            }
        }
    }

    fn cells(&self) -> std::sync::MutexGuard<'_, HashMap<ShopName, Opening>> {
        self.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
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
