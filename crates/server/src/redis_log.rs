//! The shared log as Redis holds it: the stream of events, the epoch that names the log, the newest snapshot,
//! and the two Lua scripts that keep the stream gapless and the snapshot never ahead of it.
//!
//! Every key carries the hash tag `{main}` so that on Redis Cluster all of them live on one node and a
//! script may touch them together.

use redis::aio::{ConnectionManager, ConnectionManagerConfig, MultiplexedConnection};
use redis::{AsyncConnectionConfig, Client, RedisError, Script, Value};
use serde::{Deserialize, Serialize};
use std::sync::LazyLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub const STREAM_KEY: &str = "rewind:{main}:events";
pub const EPOCH_KEY: &str = "rewind:{main}:epoch";
pub const SNAPSHOT_KEY: &str = "rewind:{main}:snapshot";
/// The one field of a stream entry: the event as a JSON Lines (version 2) line, without its newline.
pub const EVENT_FIELD: &str = "event";

/// Long enough for the biggest append a body can carry (tens of thousands of `XADD`s, then an fsync), short
/// enough that a hung Redis turns into an answer for the page.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(10);
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(2);

/// Compares the epoch and head an append was decided on with the stream's, then adds every event or none.
/// Declared with a shebang so that Redis refuses it up front when out of memory, never half-way through.
const APPEND_LUA: &str = r#"#!lua
local epoch = redis.call('GET', KEYS[2])
local head = 0
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if last[1] then
  head = tonumber(string.match(last[1][1], '^(%d+)%-'))
end
if epoch ~= ARGV[1] or head ~= tonumber(ARGV[2]) then
  return {'stale', epoch or '0', head}
end
for i = 3, #ARGV do
  redis.call('XADD', KEYS[1], string.format('%d-0', head + i - 2), 'event', ARGV[i])
end
return {'ok', epoch, head + #ARGV - 2}
"#;

/// Stores a snapshot only if it belongs to this epoch, is not past the stream's head and is newer than the
/// stored one: so copies racing each other never move it backwards, and it is never ahead of the stream.
/// A stored snapshot of another epoch, or past the head (the stream was replaced), counts as none.
const SNAPSHOT_LUA: &str = r#"#!lua
local epoch = redis.call('GET', KEYS[3])
local head = 0
local last = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
if last[1] then
  head = tonumber(string.match(last[1][1], '^(%d+)%-'))
end
local stored = 0
local fields = redis.call('HMGET', KEYS[1], 'epoch', 'seq')
if fields[1] == epoch and fields[2] and tonumber(fields[2]) <= head then
  stored = tonumber(fields[2])
end
local seq = tonumber(ARGV[2])
if epoch ~= ARGV[1] or seq > head or seq <= stored then
  return stored
end
redis.call('HSET', KEYS[1], 'epoch', ARGV[1], 'seq', ARGV[2], 'bytes', ARGV[3])
return seq
"#;

static APPEND: LazyLock<Script> = LazyLock::new(|| Script::new(APPEND_LUA));
static WRITE_SNAPSHOT: LazyLock<Script> = LazyLock::new(|| Script::new(SNAPSHOT_LUA));

/// Where the shared log is: which log (its epoch) and how far it goes (the sequence number of its last event).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Version {
    pub epoch: u64,
    pub head: u64,
}

/// What went wrong talking to Redis.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("Redis cannot be reached ({0})")]
    Unreachable(#[source] RedisError),
    #[error("Redis refused the request ({0})")]
    Refused(#[source] RedisError),
    #[error("Redis answered in a shape this server does not expect: {0}; is {STREAM_KEY} written by something else?")]
    Unexpected(String),
}

impl From<RedisError> for StoreError {
    fn from(error: RedisError) -> Self {
        let transient = error.is_io_error()
            || error.is_timeout()
            || error.is_connection_dropped()
            || error.is_connection_refusal()
            || error.is_unrecoverable_error();
        if transient {
            StoreError::Unreachable(error)
        } else {
            StoreError::Refused(error)
        }
    }
}

/// Why there is no connection to Redis at all.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("{url:?} is not a Redis URL such as redis://127.0.0.1:6379 ({source})")]
    BadUrl { url: String, source: RedisError },
    #[error("cannot reach Redis at {url} ({source}): start Redis first (cargo xtask serve --shared starts one)")]
    Unreachable { url: String, source: RedisError },
}

/// One stream entry as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub id: String,
    /// The `event` field; `None` if the entry has none (it was not written by Rewind).
    pub line: Option<Vec<u8>>,
}

impl Entry {
    /// The sequence number the entry's id carries, if the id has Rewind's shape `<seq>-0`.
    pub fn seq(&self) -> Option<u64> {
        let (seq, rest) = self.id.split_once('-')?;
        (rest == "0").then_some(())?;
        seq.parse().ok()
    }
}

/// Entries of the stream after some sequence number, read in one atomic step with the log's version.
#[derive(Clone, Debug)]
pub struct Page {
    pub version: Version,
    pub entries: Vec<Entry>,
}

/// What the checked append answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Appended {
    /// Every event is stored; the log is now at this version.
    Stored(Version),
    /// Nothing is stored: the log was not at the version the events were decided on, but at this one.
    Stale(Version),
}

/// The newest snapshot, as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredSnapshot {
    pub epoch: u64,
    pub seq: u64,
    pub bytes: Vec<u8>,
}

/// The snapshot hash's `epoch`, `seq` and `bytes`, each absent when there is no snapshot.
type SnapshotFields = (Option<String>, Option<u64>, Option<Vec<u8>>);

/// The shared log in Redis, through one connection that reconnects by itself after Redis restarts.
#[derive(Clone)]
pub struct RedisLog {
    client: Client,
    conn: ConnectionManager,
}

impl RedisLog {
    /// Connects to the Redis at `url` (`redis://host:port`).
    pub async fn connect(url: &str) -> Result<Self, ConnectError> {
        let client = Client::open(url).map_err(|source| ConnectError::BadUrl { url: url.to_owned(), source })?;
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_connection_timeout(Some(CONNECTION_TIMEOUT))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_millis(500));
        let conn = ConnectionManager::new_with_config(client.clone(), config)
            .await
            .map_err(|source| ConnectError::Unreachable { url: url.to_owned(), source })?;
        Ok(Self { client, conn })
    }

    /// A connection of its own, for a command that blocks (the feed's `XREAD BLOCK`), which would hold up
    /// everything else on the shared one.
    pub async fn dedicated_connection(&self, response_timeout: Duration) -> Result<MultiplexedConnection, RedisError> {
        let config = AsyncConnectionConfig::new()
            .set_response_timeout(Some(response_timeout))
            .set_connection_timeout(Some(CONNECTION_TIMEOUT));
        self.client.get_multiplexed_async_connection_with_config(&config).await
    }

    /// The log's version. Names the log first if Redis has none yet.
    pub async fn version(&self) -> Result<Version, StoreError> {
        version_on(&mut self.conn.clone()).await
    }

    /// Up to `count` entries after sequence number `after`, with the version they were read at.
    pub async fn read_after(&self, after: u64, count: usize) -> Result<Page, StoreError> {
        let mut pipe = version_pipe();
        pipe.cmd("XRANGE")
            .arg(STREAM_KEY)
            .arg(format!("{}-0", after.saturating_add(1)))
            .arg("+")
            .arg("COUNT")
            .arg(count);
        let (epoch, last, entries): (Option<String>, Value, Value) = pipe.query_async(&mut self.conn.clone()).await?;
        Ok(Page { version: parse_version(epoch, last)?, entries: parse_entries(entries)? })
    }

    /// The checked append: stores `lines` as events `head + 1, …` if the log is still at `decided_on`.
    pub async fn append(&self, decided_on: Version, lines: &[String]) -> Result<Appended, StoreError> {
        let mut invocation = APPEND.key(STREAM_KEY);
        invocation.key(EPOCH_KEY).arg(decided_on.epoch).arg(decided_on.head);
        for line in lines {
            invocation.arg(line);
        }
        let (answer, epoch, head): (String, String, u64) = invocation.invoke_async(&mut self.conn.clone()).await?;
        let version = Version { epoch: parse_epoch(&epoch)?, head };
        match answer.as_str() {
            "ok" => Ok(Appended::Stored(version)),
            "stale" => Ok(Appended::Stale(version)),
            other => Err(StoreError::Unexpected(format!("the append script answered {other:?}"))),
        }
    }

    /// The newest snapshot, if there is one of this epoch that is not past the stream's head.
    pub async fn snapshot(&self) -> Result<Option<StoredSnapshot>, StoreError> {
        let mut pipe = version_pipe();
        pipe.cmd("HMGET").arg(SNAPSHOT_KEY).arg("epoch").arg("seq").arg("bytes");
        let (epoch, last, fields): (Option<String>, Value, SnapshotFields) =
            pipe.query_async(&mut self.conn.clone()).await?;
        let version = parse_version(epoch, last)?;
        let (Some(epoch), Some(seq), Some(bytes)) = fields else { return Ok(None) };
        let current = parse_epoch(&epoch).is_ok_and(|e| e == version.epoch) && seq <= version.head;
        Ok(current.then_some(StoredSnapshot { epoch: version.epoch, seq, bytes }))
    }

    /// Stores `bytes` as the snapshot at `seq` of log `epoch` unless a newer one is stored or `seq` is past the
    /// head. Returns the sequence number of the snapshot stored afterwards (0 for none).
    pub async fn write_snapshot(&self, epoch: u64, seq: u64, bytes: &[u8]) -> Result<u64, StoreError> {
        let mut invocation = WRITE_SNAPSHOT.key(SNAPSHOT_KEY);
        invocation.key(STREAM_KEY).key(EPOCH_KEY).arg(epoch).arg(seq).arg(bytes);
        Ok(invocation.invoke_async(&mut self.conn.clone()).await?)
    }
}

/// The log's version on `conn`, naming the log first if Redis has none yet.
pub async fn version_on(conn: &mut impl redis::aio::ConnectionLike) -> Result<Version, StoreError> {
    let (epoch, last): (Option<String>, Value) = version_pipe().query_async(conn).await?;
    parse_version(epoch, last)
}

/// Names the log on first contact (`SET NX`, so that copies starting together agree on one name), then reads
/// the epoch and the last entry, all in one transaction.
fn version_pipe() -> redis::Pipeline {
    let mut pipe = redis::pipe();
    pipe.atomic()
        .cmd("SET")
        .arg(EPOCH_KEY)
        .arg(now_ms())
        .arg("NX")
        .ignore()
        .cmd("GET")
        .arg(EPOCH_KEY)
        .cmd("XREVRANGE")
        .arg(STREAM_KEY)
        .arg("+")
        .arg("-")
        .arg("COUNT")
        .arg(1);
    pipe
}

fn parse_version(epoch: Option<String>, last: Value) -> Result<Version, StoreError> {
    let epoch = epoch.ok_or_else(|| StoreError::Unexpected(format!("{EPOCH_KEY} vanished while it was read")))?;
    let head = match parse_entries(last)?.first() {
        None => 0,
        Some(entry) => entry
            .seq()
            .ok_or_else(|| StoreError::Unexpected(format!("the last entry's id {:?} is not <seq>-0", entry.id)))?,
    };
    Ok(Version { epoch: parse_epoch(&epoch)?, head })
}

fn parse_epoch(text: &str) -> Result<u64, StoreError> {
    text.parse().map_err(|_| StoreError::Unexpected(format!("{EPOCH_KEY} holds {text:?}, not a number")))
}

/// Entries of an `XRANGE`/`XREVRANGE` answer, taken apart by hand: a million of them must not cost a map each.
fn parse_entries(value: Value) -> Result<Vec<Entry>, StoreError> {
    let shape = |what: &str| StoreError::Unexpected(format!("a stream entry is malformed ({what})"));
    let items = match value {
        Value::Nil => return Ok(Vec::new()),
        Value::Array(items) => items,
        _ => return Err(shape("the range is not an array")),
    };
    items
        .into_iter()
        .map(|item| {
            let Value::Array(parts) = item else { return Err(shape("an entry is not an array")) };
            let mut parts = parts.into_iter();
            let id = match parts.next() {
                Some(Value::BulkString(id)) => String::from_utf8(id).map_err(|_| shape("the id is not text"))?,
                Some(Value::SimpleString(id)) => id,
                _ => return Err(shape("no id")),
            };
            let fields = match parts.next() {
                Some(Value::Array(fields)) => fields,
                _ => return Err(shape("no fields")),
            };
            let mut line = None;
            let mut fields = fields.into_iter();
            while let (Some(name), Some(value)) = (fields.next(), fields.next()) {
                if let (Value::BulkString(name), Value::BulkString(value)) = (name, value) {
                    if name == EVENT_FIELD.as_bytes() {
                        line = Some(value);
                        break;
                    }
                }
            }
            Ok(Entry { id, line })
        })
        .collect()
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_ids_of_rewinds_shape_carry_a_seq() {
        let entry = |id: &str| Entry { id: id.to_owned(), line: None };
        assert_eq!(entry("17-0").seq(), Some(17));
        assert_eq!(entry("17-1").seq(), None);
        assert_eq!(entry("x-0").seq(), None);
        assert_eq!(entry("17").seq(), None);
    }
}
