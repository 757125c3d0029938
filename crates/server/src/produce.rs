//! The producer: a load of valid events, appended through the same checked append as the pages. It decides
//! each batch on the log as Redis holds it, and when another writer got there first it catches up and decides
//! again, exactly as a page does.

use crate::cache::{Cache, CacheError};
use crate::redis_log::{now_ms, Appended, RedisLog, RedisLogError, Version};
use rewind_domain::{Producer, Rejection};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProduceOptions {
    pub count: u64,
    pub seed: u64,
    pub users: u32,
    pub items: u32,
    /// Events per checked append.
    pub batch: usize,
}

impl Default for ProduceOptions {
    fn default() -> Self {
        Self { count: 0, seed: 1, users: 1_000, items: 300, batch: 2_000 }
    }
}

/// What the producer did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Produced {
    pub appended: u64,
    /// The log after the last append.
    pub version: Version,
    /// Appends refused because another writer had moved the log.
    pub retries: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ProduceError {
    #[error(transparent)]
    Cache(#[from] CacheError),
    #[error("{0}; nothing of the batch was stored")]
    Store(#[from] RedisLogError),
    #[error("the producer found no valid event to add ({0}): the shop is too close to its limits; try another --seed")]
    NoValidEvent(Rejection),
}

/// Appends `options.count` valid events to the shared log.
pub async fn produce(redis: &RedisLog, options: ProduceOptions) -> Result<Produced, ProduceError> {
    if options.count > 0 {
        redis.name_log().await?;
    }
    let mut cache = Cache::new();
    cache.catch_up(redis).await?;
    let mut producer = Producer::with_population(options.seed, options.users, options.items);
    let mut produced = Produced { appended: 0, version: cache.version(), retries: 0 };
    while produced.appended < options.count {
        let n = usize::try_from(options.count - produced.appended).unwrap_or(usize::MAX).min(options.batch.max(1));
        let (events, timestamps) = decide_batch(&mut cache, &mut producer, n)?;
        let lines = cache.lines_for(&events, &timestamps);
        match redis.append(cache.version(), cache.head_chain(), None, &lines).await? {
            Appended::Stored(version) => {
                cache.push_stored(&events, &timestamps, &lines);
                produced.appended += events.len() as u64;
                produced.version = version;
            }
            Appended::Stale(_) | Appended::Seen { .. } => {
                produced.retries += 1;
                cache.catch_up(redis).await?;
            }
            Appended::Damaged(version) => return Err(CacheError::Deleted { head: version.head }.into()),
        }
    }
    Ok(produced)
}

/// `n` events that continue the cached log, decided one after the other on a scratch copy of its state.
fn decide_batch(
    cache: &mut Cache,
    producer: &mut Producer,
    n: usize,
) -> Result<(Vec<rewind_domain::Event>, Vec<u64>), ProduceError> {
    let mut scratch = cache.live().clone();
    let (mut events, mut timestamps) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let now = now_ms();
    let names = cache.log_mut().names_mut();
    for _ in 0..n {
        let (ts, event) = producer.next_event(names, &scratch, now).map_err(ProduceError::NoValidEvent)?;
        scratch.apply(names, &event).map_err(ProduceError::NoValidEvent)?;
        events.push(event);
        timestamps.push(ts);
    }
    Ok((events, timestamps))
}
