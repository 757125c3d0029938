//! The shared log as Redis holds it: the stream of events, the epoch that names the log, the newest snapshot,
//! and the two Lua scripts that keep the stream gapless and the snapshot never ahead of it.
//!
//! Each shop's keys carry the shop's name as their hash tag (`rewind:{NAME}:…`), so that on Redis Cluster
//! all of a shop's keys live on one node and a script may touch them together.

use redis::aio::{ConnectionManager, ConnectionManagerConfig, MultiplexedConnection};
use crate::metrics::{RedisMeter, ShopMetrics};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{Route, RoutingInfo, SingleNodeRoutingInfo, SlotAddr};
use redis::{AsyncConnectionConfig, Client, RedisError, Script, Value};
use std::sync::{Arc, LazyLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use rewind_protocol::ShopName;

/// The keys of one shop's log in Redis, all under the shop's hash tag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShopKeys {
    pub shop: ShopName,
    pub stream: String,
    pub epoch: String,
    pub snapshot: String,
    /// Where a command's key is remembered (prefix + key → where its event was stored), so that a command
    /// sent again after a lost answer is found instead of stored twice.
    pub key_prefix: String,
}

impl ShopKeys {
    pub fn of(shop: &ShopName) -> ShopKeys {
        let tag = format!("rewind:{{{shop}}}");
        ShopKeys {
            shop: shop.clone(),
            stream: format!("{tag}:events"),
            epoch: format!("{tag}:epoch"),
            snapshot: format!("{tag}:snapshot"),
            key_prefix: format!("{tag}:key:"),
        }
    }
}

/// The fields of a stream entry: the event as a JSON Lines (version 2) line without its newline; the chain
/// (a hash of the whole log up to and including this event, see [`Chain`]); on the first event of a page's
/// command, the command's key.
pub const EVENT_FIELD: &str = "event";
pub const CHAIN_FIELD: &str = "chain";
pub const KEY_FIELD: &str = "key";
/// How long a command's key is remembered: far longer than any page retries one answer.
const KEY_TTL_SECS: u64 = 7 * 24 * 3600;

/// Long enough for the biggest append a body can carry (tens of thousands of `XADD`s, then an fsync), short
/// enough that a hung Redis turns into an answer for the page.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(10);
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(2);

/// The one piece of Lua that finds where the stream ends, used by every script: its head (the last entry's
/// sequence number), the last entry's chain (false if none is stored) and whether entries were deleted
/// from it (Redis's own count of entries ever added, and the last id it generated, disagree with what is
/// left: nothing of Rewind deletes entries, so the log is damaged and nothing may be added after it).
const HEAD_LUA: &str = r#"
-- The value of field `name` of an entry's flat field list, or false.
local function field(fields, name)
  for i = 1, #fields, 2 do
    if fields[i] == name then
      return fields[i + 1]
    end
  end
  return false
end

-- The value of field `name` of the entry `seq`, or false when there is no such entry or field.
local function entry_field(stream, seq, name)
  local entry = redis.call('XRANGE', stream, seq .. '-0', seq .. '-0')
  if not entry[1] then
    return false
  end
  return field(entry[1][2], name)
end

local function log_head(stream)
  if redis.call('EXISTS', stream) == 0 then
    return 0, false, false
  end
  local info = redis.call('XINFO', 'STREAM', stream)
  local f = {}
  for i = 1, #info, 2 do
    f[info[i]] = info[i + 1]
  end
  local head, chain = 0, false
  local last = f['last-entry']
  if last then
    head = tonumber(string.match(last[1], '^(%d+)%-'))
    chain = field(last[2], 'chain')
  end
  local generated = tonumber(string.match(f['last-generated-id'], '^(%d+)%-'))
  local deleted = generated ~= head or f['entries-added'] ~= f['length']
  return head, chain, deleted
end

-- The seq of the first event of the command of `key`, if this log holds it: the key's record names the
-- epoch and seq it was stored at, and the entry there must carry the key (a key that outlived its log, a
-- stream moved away or regrown, is not "stored").
local function key_stored(stream, record, key, epoch)
  local seen = redis.call('GET', record)
  if not seen then
    return false
  end
  local at_epoch, seq = string.match(seen, '^(%d+):(%d+)$')
  if not seq or at_epoch ~= epoch then
    return false
  end
  if entry_field(stream, seq, 'key') ~= key then
    return false
  end
  return tonumber(seq)
end
"#;

/// The epoch, the head, the head's chain and whether entries were deleted, in one atomic step. Reads only
/// (`no-writes`), so reads go on while Redis refuses writes (out of memory, a failing disk). An epoch of `''`:
/// the log has no name yet (a shop that has no event yet is read as epoch 0, and named by its first write). Entries are read beside it with a plain `XRANGE` in the same transaction: a
/// script's reply of ten thousand entries costs Redis twice what the command's does.
const READ_LUA: &str = r#"
local epoch = redis.call('GET', KEYS[2])
local head, chain, deleted = log_head(KEYS[1])
return {epoch or '', head, chain or '', deleted and 1 or 0}
"#;

/// The checked append. Compares the epoch, head and head chain an append was decided on with the stream's,
/// then adds every event or none. With a command key (`ARGV[4]`), a key already stored answers where it was
/// stored instead: a command sent again is never stored twice. `ARGV[5]` is how long the key is kept; the
/// events follow as pairs of line and chain. Everything that can refuse is checked before the first `XADD`:
/// a script that failed half-way would leave what it had added.
const APPEND_LUA: &str = r#"
local epoch = redis.call('GET', KEYS[2])
local head, chain, deleted = log_head(KEYS[1])
chain = chain or ''
local key = ARGV[4]
if key ~= '' and epoch then
  local seen = key_stored(KEYS[1], KEYS[3], key, epoch)
  if seen then
    return {'seen', epoch, head, chain, seen}
  end
end
if deleted then
  return {'damaged', epoch or '0', head, chain, 0}
end
if epoch ~= ARGV[1] or head ~= tonumber(ARGV[2]) or (chain ~= '' and chain ~= ARGV[3]) then
  return {'stale', epoch or '0', head, chain, 0}
end
local n = math.floor((#ARGV - 5) / 2)
for i = 1, n do
  local id = string.format('%d-0', head + i)
  if i == 1 and key ~= '' then
    redis.call('XADD', KEYS[1], id, 'event', ARGV[4 + 2 * i], 'chain', ARGV[5 + 2 * i], 'key', key)
  else
    redis.call('XADD', KEYS[1], id, 'event', ARGV[4 + 2 * i], 'chain', ARGV[5 + 2 * i])
  end
end
if key ~= '' then
  redis.call('SET', KEYS[3], epoch .. ':' .. (head + 1), 'EX', ARGV[5])
end
return {'ok', epoch, head + n, ARGV[5 + 2 * n], 0}
"#;

/// The group commit of the server's decider: the events of several commands, each carrying its command's
/// key, stored together or not at all. `ARGV` is the epoch, head and chain they were decided on, then for
/// each event its line, its chain and its command's key. No key is looked up here: the copy decided on a
/// cache that holds every key of the stream up to `head`, and the check of the head and chain refuses the
/// write if anything (a command of the same key, from another copy) was stored since. As in the single
/// append, everything that can refuse is checked before the first `XADD`.
const COMMANDS_LUA: &str = r#"
local epoch = redis.call('GET', KEYS[2])
local head, chain, deleted = log_head(KEYS[1])
chain = chain or ''
if deleted then
  return {'damaged', epoch or '0', head, chain}
end
if epoch ~= ARGV[1] or head ~= tonumber(ARGV[2]) or (chain ~= '' and chain ~= ARGV[3]) then
  return {'stale', epoch or '0', head, chain}
end
local n = math.floor((#ARGV - 3) / 3)
for i = 1, n do
  redis.call('XADD', KEYS[1], (head + i) .. '-0', 'event', ARGV[3 * i + 1], 'chain', ARGV[3 * i + 2], 'key', ARGV[3 * i + 3])
end
return {'ok', epoch, head + n, ARGV[3 * n + 2]}
"#;

/// Stores a snapshot only if it belongs to this epoch, is not past the stream's head, names the same log as
/// the stream's entry at its seq (the chain) and is newer than the stored one: so copies racing each other
/// never move it backwards, and it is never ahead of the stream or of another log. A stored snapshot that
/// does not name the stream's log counts as none.
const SNAPSHOT_LUA: &str = r#"
local epoch = redis.call('GET', KEYS[3])
local head, _, deleted = log_head(KEYS[2])
local stored = 0
local fields = redis.call('HMGET', KEYS[1], 'epoch', 'seq', 'chain')
if fields[1] == epoch and fields[2] and tonumber(fields[2]) <= head and fields[3] == entry_field(KEYS[2], fields[2], 'chain') then
  stored = tonumber(fields[2])
end
local seq = tonumber(ARGV[2])
local at = entry_field(KEYS[2], ARGV[2], 'chain')
if deleted or epoch ~= ARGV[1] or seq > head or (at and at ~= ARGV[4]) then
  return {'refused', stored}
end
if seq <= stored then
  return {'kept', stored}
end
redis.call('HSET', KEYS[1], 'epoch', ARGV[1], 'seq', ARGV[2], 'bytes', ARGV[3], 'chain', ARGV[4])
return {'stored', seq}
"#;

/// A script: the shebang (so that Redis refuses a write script up front when out of memory, and lets a
/// read-only one run whatever happens to writes), the head finder, then the body.
fn script(body: &str) -> Script {
    Script::new(&format!("#!lua\n{HEAD_LUA}{body}"))
}

fn read_only_script(body: &str) -> Script {
    Script::new(&format!("#!lua flags=no-writes\n{HEAD_LUA}{body}"))
}

static READ: LazyLock<Script> = LazyLock::new(|| read_only_script(READ_LUA));
static APPEND: LazyLock<Script> = LazyLock::new(|| script(APPEND_LUA));
static COMMANDS: LazyLock<Script> = LazyLock::new(|| script(COMMANDS_LUA));
static WRITE_SNAPSHOT: LazyLock<Script> = LazyLock::new(|| script(SNAPSHOT_LUA));

/// Where the shared log is: which log (its epoch) and how far it goes (the sequence number of its last event);
/// the wire protocol's version, the same type the page reads.
pub use rewind_protocol::LogVersion as Version;

/// A hash of the whole log up to some event: each entry's chain is the hash of the previous entry's chain
/// and this entry's line. Two logs with equal chains at a sequence number hold the same events up to it, so
/// a cache that names the chain at its head notices a stream that was replaced under the same epoch (a
/// restore from backup, a failover) instead of mixing the two logs. Stored as 32 hex digits (128 bits).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Chain(pub [u8; 16]);

impl Chain {
    /// The chain after `line` (the event's stored JSON Lines text).
    pub fn next(&self, line: &[u8]) -> Chain {
        use sha2::Digest;
        let mut hasher = sha2::Sha256::new();
        hasher.update(self.0);
        hasher.update(line);
        let digest = hasher.finalize();
        let mut chain = [0u8; 16];
        chain.copy_from_slice(digest.get(..16).unwrap_or(&[0u8; 16]));
        Chain(chain)
    }

    pub fn to_hex(self) -> String {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut hex = String::with_capacity(32);
        for byte in self.0 {
            hex.push(char::from(DIGITS[usize::from(byte >> 4)]));
            hex.push(char::from(DIGITS[usize::from(byte & 15)]));
        }
        hex
    }

    /// The chain written as [`Chain::to_hex`] writes it; `None` for anything else.
    pub fn from_hex(text: &str) -> Option<Chain> {
        Self::from_hex_bytes(text.as_bytes())
    }

    /// As [`Chain::from_hex`], from the bytes Redis answers with (a million of them on a start: no text made).
    pub fn from_hex_bytes(text: &[u8]) -> Option<Chain> {
        fn nibble(digit: u8) -> Option<u8> {
            match digit {
                b'0'..=b'9' => Some(digit - b'0'),
                b'a'..=b'f' => Some(digit - b'a' + 10),
                _ => None,
            }
        }
        if text.len() != 32 {
            return None;
        }
        let mut chain = [0u8; 16];
        for (byte, pair) in chain.iter_mut().zip(text.chunks_exact(2)) {
            let [high, low] = *pair else { return None };
            *byte = nibble(high)? << 4 | nibble(low)?;
        }
        Some(Chain(chain))
    }
}

/// What went wrong talking to Redis.
#[derive(Debug, thiserror::Error)]
pub enum RedisLogError {
    #[error("Redis cannot be reached ({0})")]
    Unreachable(#[source] RedisError),
    #[error("Redis refused the request ({0})")]
    Refused(#[source] RedisError),
    #[error("Redis answered in a shape this server does not expect: {0}; is the shop's stream written by something else?")]
    Unexpected(String),
    #[error("{0}")]
    NotDurable(#[from] NotDurable),
}

impl From<RedisError> for RedisLogError {
    fn from(error: RedisError) -> Self {
        let transient = error.is_io_error()
            || error.is_timeout()
            || error.is_connection_dropped()
            || error.is_connection_refusal()
            || error.is_unrecoverable_error();
        if transient {
            RedisLogError::Unreachable(error)
        } else {
            RedisLogError::Refused(error)
        }
    }
}

/// A Redis setting without which an acknowledged event could be lost: the server will not run on it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "Redis runs with {setting} {found}, so an event it acknowledged could be lost (a crash, or eviction): \
     run it with {setting} {wanted} (redis-cli CONFIG SET {setting} {wanted}, and in redis.conf)"
)]
pub struct NotDurable {
    pub setting: &'static str,
    pub found: String,
    pub wanted: &'static str,
}

/// The settings the server insists on, and their values.
pub const DURABLE_SETTINGS: [(&str, &str); 3] =
    [("appendonly", "yes"), ("appendfsync", "always"), ("maxmemory-policy", "noeviction")];

/// Why there is no connection to Redis at all.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("{url:?} is not a Redis URL such as redis://127.0.0.1:6379 ({source})")]
    BadUrl { url: String, source: RedisError },
    #[error("cannot reach Redis at {url} ({source}): start Redis first (cargo xtask serve --shared starts one)")]
    Unreachable { url: String, source: RedisError },
    #[error("Redis at {url}: {source}")]
    NotDurable { url: String, source: RedisLogError },
}

/// One stream entry as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub id: String,
    /// The `event` field; `None` if the entry has none (it was not written by Rewind).
    pub line: Option<Vec<u8>>,
    /// The `chain` field, if the entry has one (entries written before chains were kept have none).
    pub chain: Option<Vec<u8>>,
    /// The `key` field: the key of the command this event is the first of, if a page sent one.
    pub key: Option<Vec<u8>>,
}

impl Entry {
    /// The sequence number the entry's id carries, if the id has Rewind's shape `<seq>-0`.
    pub fn seq(&self) -> Option<u64> {
        let (seq, rest) = self.id.split_once('-')?;
        (rest == "0").then_some(())?;
        seq.parse().ok()
    }
}

/// Where the stream ends, read in one atomic step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Head {
    pub version: Version,
    /// The last entry's chain, if it has one.
    pub chain: Option<Chain>,
    /// Entries were deleted from the stream (by something other than Rewind): nothing may follow them.
    pub deleted: bool,
}

/// Entries of the stream from some sequence number on, read in one atomic step with where it ends.
#[derive(Clone, Debug)]
pub struct Page {
    pub head: Head,
    pub entries: Vec<Entry>,
}

/// What the checked append answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Appended {
    /// Every event is stored; the log is now at this version.
    Stored(Version),
    /// Nothing is stored: the log was not at the version the events were decided on, but at this one.
    Stale(Version),
    /// Nothing is stored: the command's key was stored before, with its first event at this seq; the log is
    /// now at this version.
    Seen { first: u64, version: Version },
    /// Nothing is stored: entries were deleted from the stream.
    Damaged(Version),
}

/// The settings of one node.
async fn check_node_durable(conn: &mut impl redis::aio::ConnectionLike) -> Result<(), RedisLogError> {
    let mut pipe = redis::pipe();
    for (setting, _) in DURABLE_SETTINGS {
        pipe.cmd("CONFIG").arg("GET").arg(setting);
    }
    let answers: Vec<Vec<String>> = pipe.query_async(conn).await?;
    first_not_durable(answers, None)
}

/// The settings of one node of a cluster, asked through the cluster connection.
async fn check_routed_durable(cluster: &mut ClusterConnection, route: SingleNodeRoutingInfo, node: &str) -> Result<(), RedisLogError> {
    let mut answers = Vec::with_capacity(DURABLE_SETTINGS.len());
    for (setting, _) in DURABLE_SETTINGS {
        let mut ask = redis::cmd("CONFIG");
        ask.arg("GET").arg(setting);
        let answer = cluster.route_command(ask, RoutingInfo::SingleNode(route.clone())).await?;
        answers.push(redis::from_redis_value::<Vec<String>>(answer).map_err(RedisError::from)?);
    }
    first_not_durable(answers, Some(node))
}

/// The first setting of [`DURABLE_SETTINGS`] that `CONFIG GET`'s answers (one per setting, in order) lack;
/// `node` names the cluster node they came from.
fn first_not_durable(answers: Vec<Vec<String>>, node: Option<&str>) -> Result<(), RedisLogError> {
    for ((setting, wanted), answer) in DURABLE_SETTINGS.into_iter().zip(answers) {
        let found = answer.get(1).cloned().unwrap_or_else(|| "(not reported)".into());
        if found != wanted {
            let found = match node {
                Some(node) => format!("{found} (on cluster node {node})"),
                None => found,
            };
            return Err(NotDurable { setting, found, wanted }.into());
        }
    }
    Ok(())
}

/// The feed's own connection to a shop's stream.
pub struct Follower {
    conn: Metered,
    keys: Arc<ShopKeys>,
    block: Duration,
}

impl Follower {
    pub async fn head(&mut self) -> Result<Head, RedisLogError> {
        head_on(&mut self.conn, &self.keys).await
    }

    /// Returns once the stream holds an entry past `head`, or after the follower's `block`.
    pub async fn wait_past(&mut self, head: u64) -> Result<(), RedisLogError> {
        // COUNT 1: the entry is only a wake-up call; the version is read afterwards, however many came.
        let _: Value = redis::cmd("XREAD")
            .arg("COUNT")
            .arg(1)
            .arg("BLOCK")
            .arg(u64::try_from(self.block.as_millis()).unwrap_or(5_000))
            .arg("STREAMS")
            .arg(&self.keys.stream)
            .arg(format!("{head}-0"))
            .query_async(&mut self.conn)
            .await?;
        Ok(())
    }
}

/// What the group commit answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Committed {
    /// Every event is stored; the log is now at this version.
    Stored(Version),
    /// Nothing is stored: the log was not at the version the events were decided on, but at this one.
    Stale(Version),
    /// Nothing is stored: entries were deleted from the stream.
    Damaged(Version),
}

/// A command's key, chosen by the page: 16 to 64 characters of `A-Z a-z 0-9 _ -`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CommandKey(String);

impl CommandKey {
    pub fn parse(text: &str) -> Option<CommandKey> {
        let fits = (16..=64).contains(&text.len())
            && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        fits.then(|| CommandKey(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for CommandKey {
    fn borrow(&self) -> &str {
        &self.0
    }
}

/// The newest snapshot, as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredSnapshot {
    pub epoch: u64,
    pub seq: u64,
    pub bytes: Vec<u8>,
    /// The chain of the log at `seq` it was taken on.
    pub chain: Option<Chain>,
}

/// The snapshot hash's fields, each absent when there is no snapshot.
type SnapshotFields = (Option<String>, Option<u64>, Option<Vec<u8>>, Option<String>);

/// Where Redis is: one node, or a Redis Cluster (its nodes as given, any of which tells the others).
#[derive(Clone)]
enum Source {
    Node(Client),
    Cluster(Vec<String>),
}

/// A connection to either: every command of a shop names keys of the shop's one slot, so on a cluster it
/// goes to the node that holds the shop.
#[derive(Clone)]
enum Conn {
    Node(ConnectionManager),
    Dedicated(MultiplexedConnection),
    Cluster(ClusterConnection),
}

impl redis::aio::ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a redis::Cmd) -> redis::RedisFuture<'a, Value> {
        match self {
            Conn::Node(conn) => conn.req_packed_command(cmd),
            Conn::Dedicated(conn) => conn.req_packed_command(cmd),
            Conn::Cluster(conn) => conn.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> redis::RedisFuture<'a, Vec<Value>> {
        match self {
            Conn::Node(conn) => conn.req_packed_commands(cmd, offset, count),
            Conn::Dedicated(conn) => conn.req_packed_commands(cmd, offset, count),
            Conn::Cluster(conn) => conn.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Node(conn) => conn.get_db(),
            Conn::Dedicated(conn) => conn.get_db(),
            Conn::Cluster(conn) => conn.get_db(),
        }
    }
}

/// A connection that counts its round trips (and their failures) in the shop's metrics.
struct Metered {
    conn: Conn,
    meter: Option<RedisMeter>,
}

impl redis::aio::ConnectionLike for Metered {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a redis::Cmd) -> redis::RedisFuture<'a, Value> {
        let meter = self.meter.clone();
        let answer = self.conn.req_packed_command(cmd);
        Box::pin(async move { counted(meter, answer.await) })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> redis::RedisFuture<'a, Vec<Value>> {
        let meter = self.meter.clone();
        let answer = self.conn.req_packed_commands(cmd, offset, count);
        Box::pin(async move { counted(meter, answer.await) })
    }

    fn get_db(&self) -> i64 {
        self.conn.get_db()
    }
}

fn counted<T>(meter: Option<RedisMeter>, answer: redis::RedisResult<T>) -> redis::RedisResult<T> {
    if let Some(meter) = meter {
        meter.requests.inc();
        // A script Redis does not have yet is loaded and run again: no failure of Redis's.
        if answer.as_ref().is_err_and(|e| e.kind() != redis::ErrorKind::Server(redis::ServerErrorKind::NoScript)) {
            meter.errors.inc();
        }
    }
    answer
}

/// A connection to the Redis Cluster whose nodes (some of them) are `urls`.
async fn cluster_connection(urls: &[String], response_timeout: Duration) -> Result<ClusterConnection, RedisError> {
    let client = ClusterClient::builder(urls.iter().map(String::as_str))
        .response_timeout(response_timeout)
        .connection_timeout(CONNECTION_TIMEOUT)
        .retries(2)
        .build()?;
    client.get_async_connection().await
}

/// One shop's log in Redis, through one connection (shared by every shop of the copy) that reconnects by
/// itself after Redis restarts.
#[derive(Clone)]
pub struct RedisLog {
    source: Source,
    conn: Conn,
    keys: Arc<ShopKeys>,
    metrics: Option<ShopMetrics>,
}

impl RedisLog {
    /// Connects to the Redis at `url` (`redis://host:port`) and checks that it keeps what it acknowledges.
    /// A node of a Redis Cluster is taken for the cluster: each shop then lives on the node of its hash tag.
    pub async fn connect(url: &str) -> Result<Self, ConnectError> {
        let client = Client::open(url).map_err(|source| ConnectError::BadUrl { url: url.to_owned(), source })?;
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_connection_timeout(Some(CONNECTION_TIMEOUT))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_millis(500));
        let mut conn = ConnectionManager::new_with_config(client.clone(), config)
            .await
            .map_err(|source| ConnectError::Unreachable { url: url.to_owned(), source })?;
        let info: String = redis::cmd("INFO")
            .arg("cluster")
            .query_async(&mut conn)
            .await
            .map_err(|source| ConnectError::Unreachable { url: url.to_owned(), source })?;
        if info.lines().any(|line| line.trim() == "cluster_enabled:1") {
            return Self::connect_cluster(&[url.to_owned()]).await;
        }
        let redis = Self {
            source: Source::Node(client),
            conn: Conn::Node(conn),
            keys: Arc::new(ShopKeys::of(&ShopName::main())),
            metrics: None,
        };
        redis.check_durable().await.map_err(|source| ConnectError::NotDurable { url: url.to_owned(), source })?;
        Ok(redis)
    }

    /// Connects to the Redis Cluster of which `urls` are nodes, and checks that every master keeps what it
    /// acknowledges.
    pub async fn connect_cluster(urls: &[String]) -> Result<Self, ConnectError> {
        let named = urls.join(", ");
        for url in urls {
            redis::IntoConnectionInfo::into_connection_info(url.as_str())
                .map_err(|source| ConnectError::BadUrl { url: url.clone(), source })?;
        }
        let conn = cluster_connection(urls, RESPONSE_TIMEOUT)
            .await
            .map_err(|source| ConnectError::Unreachable { url: named.clone(), source })?;
        let redis = Self {
            source: Source::Cluster(urls.to_vec()),
            conn: Conn::Cluster(conn),
            keys: Arc::new(ShopKeys::of(&ShopName::main())),
            metrics: None,
        };
        redis.check_every_master().await.map_err(|source| ConnectError::NotDurable { url: named, source })?;
        Ok(redis)
    }

    /// Whether this is a Redis Cluster.
    pub fn is_cluster(&self) -> bool {
        matches!(self.source, Source::Cluster(_))
    }

    /// Whether the shop has a log in Redis (its first event named it).
    pub async fn exists(&self) -> Result<bool, RedisLogError> {
        let named: bool = redis::cmd("EXISTS").arg(&self.keys.epoch).query_async(&mut self.conn()).await?;
        Ok(named)
    }

    /// The same Redis, for shop `shop`'s log.
    pub fn shop(&self, shop: &ShopName) -> RedisLog {
        Self { source: self.source.clone(), conn: self.conn.clone(), keys: Arc::new(ShopKeys::of(shop)), metrics: None }
    }

    /// The same, counting what it does in `metrics`.
    pub fn with_metrics(self, metrics: ShopMetrics) -> RedisLog {
        Self { metrics: Some(metrics), ..self }
    }

    pub fn metrics(&self) -> Option<&ShopMetrics> {
        self.metrics.as_ref()
    }

    fn conn(&self) -> Metered {
        Metered { conn: self.conn.clone(), meter: self.metrics.as_ref().map(|m| m.redis.clone()) }
    }

    pub fn keys(&self) -> &ShopKeys {
        &self.keys
    }

    /// Names the shop's log (its epoch), unless it has a name: once, before its first event is written.
    pub async fn name_log(&self) -> Result<(), RedisLogError> {
        let _: Value = redis::cmd("SET").arg(&self.keys.epoch).arg(now_ms()).arg("NX").query_async(&mut self.conn()).await?;
        Ok(())
    }

    /// Whether Redis runs with every setting of [`DURABLE_SETTINGS`]; the first one it lacks otherwise. On a
    /// cluster, the master that holds this shop (every master when connecting: [`RedisLog::connect_cluster`]),
    /// asked through the cluster connection, so its credentials hold and shops on other masters are not held
    /// up by one that does not answer.
    pub async fn check_durable(&self) -> Result<(), RedisLogError> {
        let Conn::Cluster(cluster) = &self.conn else { return check_node_durable(&mut self.conn()).await };
        let slot: u16 = redis::cmd("CLUSTER").arg("KEYSLOT").arg(&self.keys.stream).query_async(&mut self.conn()).await?;
        let route = SingleNodeRoutingInfo::SpecificNode(Route::new(slot, SlotAddr::Master));
        check_routed_durable(&mut cluster.clone(), route, &format!("the master of slot {slot}")).await
    }

    /// Every master of the cluster, as `CLUSTER NODES` names them, checked for the durable settings.
    async fn check_every_master(&self) -> Result<(), RedisLogError> {
        let Conn::Cluster(cluster) = &self.conn else { return check_node_durable(&mut self.conn()).await };
        for node in self.cluster_masters().await? {
            let (host, port) = node.rsplit_once(':').unwrap_or((node.as_str(), ""));
            let port = port.parse().map_err(|_| RedisLogError::Unexpected(format!("CLUSTER NODES names {node:?}, not host:port")))?;
            let route = SingleNodeRoutingInfo::ByAddress { host: host.to_owned(), port };
            check_routed_durable(&mut cluster.clone(), route, &node).await?;
        }
        Ok(())
    }

    /// The addresses (`host:port`) of the cluster's masters, as `CLUSTER NODES` tells them.
    pub async fn cluster_masters(&self) -> Result<Vec<String>, RedisLogError> {
        let nodes: String = redis::cmd("CLUSTER").arg("NODES").query_async(&mut self.conn()).await?;
        Ok(nodes
            .lines()
            .filter_map(|line| {
                let mut fields = line.split(' ');
                let (_, address, flags) = (fields.next()?, fields.next()?, fields.next()?);
                let flags: Vec<&str> = flags.split(',').collect();
                let serving = flags.contains(&"master") && !flags.contains(&"fail") && !flags.contains(&"noaddr");
                serving.then(|| address.split('@').next().unwrap_or(address).to_owned())
            })
            .collect())
    }

    /// A connection of its own, for a command that blocks (the feed's `XREAD BLOCK`), which would hold up
    /// everything else on the shared one.
    async fn dedicated(&self, response_timeout: Duration) -> Result<Conn, RedisError> {
        match &self.source {
            Source::Node(client) => {
                let config = AsyncConnectionConfig::new()
                    .set_response_timeout(Some(response_timeout))
                    .set_connection_timeout(Some(CONNECTION_TIMEOUT));
                Ok(Conn::Dedicated(client.get_multiplexed_async_connection_with_config(&config).await?))
            }
            Source::Cluster(urls) => Ok(Conn::Cluster(cluster_connection(urls, response_timeout).await?)),
        }
    }

    /// The feed's own connection to the shop's stream, whose waits last at most `block`.
    pub async fn follower(&self, block: Duration) -> Result<Follower, RedisLogError> {
        let conn = Metered { conn: self.dedicated(block * 2).await?, meter: self.metrics.as_ref().map(|m| m.redis.clone()) };
        Ok(Follower { conn, keys: Arc::clone(&self.keys), block })
    }

    /// The log's version (epoch 0 while the shop has no name).
    pub async fn version(&self) -> Result<Version, RedisLogError> {
        Ok(head_on(&mut self.conn(), &self.keys).await?.version)
    }

    /// Where the stream ends.
    pub async fn head(&self) -> Result<Head, RedisLogError> {
        head_on(&mut self.conn(), &self.keys).await
    }

    /// Up to `count` entries from sequence number `from` on, with where the stream ended as they were read.
    pub async fn read_from(&self, from: u64, count: usize) -> Result<Page, RedisLogError> {
        read_on(&mut self.conn(), &self.keys, from, count).await
    }

    /// The checked append: stores `lines` (each with its chain) as events `head + 1, …` if the log is still
    /// at `decided_on` with chain `chain`, and, with `key`, only if no command of that key was stored before.
    pub async fn append(
        &self,
        decided_on: Version,
        chain: Chain,
        key: Option<&CommandKey>,
        lines: &[(String, Chain)],
    ) -> Result<Appended, RedisLogError> {
        let key_text = key.map_or("", CommandKey::as_str);
        let mut invocation = APPEND.key(&self.keys.stream);
        invocation.key(&self.keys.epoch).key(format!("{}{key_text}", self.keys.key_prefix));
        invocation.arg(decided_on.epoch).arg(decided_on.head).arg(chain.to_hex()).arg(key_text).arg(KEY_TTL_SECS);
        for (line, chain) in lines {
            invocation.arg(line).arg(chain.to_hex());
        }
        let (answer, epoch, head, _chain, first): (String, String, u64, String, u64) =
            invocation.invoke_async(&mut self.conn()).await?;
        let version = Version { epoch: parse_epoch(&epoch)?, head };
        match answer.as_str() {
            "ok" => Ok(Appended::Stored(version)),
            "stale" => Ok(Appended::Stale(version)),
            "seen" => Ok(Appended::Seen { first, version }),
            "damaged" => Ok(Appended::Damaged(version)),
            other => Err(RedisLogError::Unexpected(format!("the append script answered {other:?}"))),
        }
    }

    /// The group commit: stores `events` (each its line, its chain and its command's key) as events
    /// `head + 1, …` if the log is still at `decided_on` with chain `chain`.
    pub async fn commit(
        &self,
        decided_on: Version,
        chain: Chain,
        events: &[(String, Chain, &CommandKey)],
    ) -> Result<Committed, RedisLogError> {
        let mut invocation = COMMANDS.key(&self.keys.stream);
        invocation.key(&self.keys.epoch);
        invocation.arg(decided_on.epoch).arg(decided_on.head).arg(chain.to_hex());
        for (line, chain, key) in events {
            invocation.arg(line).arg(chain.to_hex()).arg(key.as_str());
        }
        let started = std::time::Instant::now();
        let (answer, epoch, head, _chain): (String, String, u64, String) = invocation.invoke_async(&mut self.conn()).await?;
        if let Some(metrics) = &self.metrics {
            metrics.commits.observe(started.elapsed().as_secs_f64());
            if answer == "ok" {
                metrics.groups.observe(events.len() as f64);
            }
        }
        let version = Version { epoch: parse_epoch(&epoch)?, head };
        match answer.as_str() {
            "ok" => Ok(Committed::Stored(version)),
            "stale" => Ok(Committed::Stale(version)),
            "damaged" => Ok(Committed::Damaged(version)),
            other => Err(RedisLogError::Unexpected(format!("the commit script answered {other:?}"))),
        }
    }

    /// The newest snapshot as stored (the caller checks that it belongs to its log).
    pub async fn snapshot(&self) -> Result<Option<StoredSnapshot>, RedisLogError> {
        let fields: SnapshotFields = redis::cmd("HMGET")
            .arg(&self.keys.snapshot)
            .arg("epoch")
            .arg("seq")
            .arg("bytes")
            .arg("chain")
            .query_async(&mut self.conn())
            .await?;
        let (Some(epoch), Some(seq), Some(bytes), chain) = fields else { return Ok(None) };
        let Ok(epoch) = parse_epoch(&epoch) else { return Ok(None) };
        Ok(Some(StoredSnapshot { epoch, seq, bytes, chain: chain.as_deref().and_then(Chain::from_hex) }))
    }

    /// Stores `bytes` as the snapshot at `seq` (chain `chain`) of log `epoch`, unless one as new is stored
    /// already or the stream is not that log up to `seq` (another epoch, another chain there, `seq` past its
    /// head, entries deleted): the script says which, with the snapshot stored afterwards.
    pub async fn write_snapshot(&self, epoch: u64, seq: u64, chain: Chain, bytes: &[u8]) -> Result<SnapshotAnswer, RedisLogError> {
        let mut invocation = WRITE_SNAPSHOT.key(&self.keys.snapshot);
        invocation.key(&self.keys.stream).key(&self.keys.epoch).arg(epoch).arg(seq).arg(bytes).arg(chain.to_hex());
        let (outcome, kept): (String, u64) = invocation.invoke_async(&mut self.conn()).await?;
        match outcome.as_str() {
            "stored" => Ok(SnapshotAnswer::Stored { seq: kept }),
            "kept" => Ok(SnapshotAnswer::AlreadyKept { seq: kept }),
            "refused" => Ok(SnapshotAnswer::Refused { asked: seq, kept }),
            other => Err(RedisLogError::Unexpected(format!("the snapshot script answered {other:?}"))),
        }
    }
}

/// What became of a snapshot a copy asked Redis to store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SnapshotAnswer {
    /// Stored: the newest snapshot is the one asked for.
    Stored { seq: u64 },
    /// Another copy had stored one of the same log at `seq` or later, which is kept.
    AlreadyKept { seq: u64 },
    /// Refused: the stream is not the log the snapshot was taken of (replaced, regrown under the same epoch,
    /// entries deleted, or shorter than the snapshot). `kept` is the snapshot still stored (0 for none).
    Refused { asked: u64, kept: u64 },
}

/// Where the shop's stream ends, read on `conn`.
pub async fn head_on(conn: &mut impl redis::aio::ConnectionLike, keys: &ShopKeys) -> Result<Head, RedisLogError> {
    Ok(read_on(conn, keys, 1, 0).await?.head)
}

/// The epoch, the head, its chain, whether entries were deleted, as the read script answers them.
type HeadFields = (String, u64, String, u8);

async fn read_on(
    conn: &mut impl redis::aio::ConnectionLike,
    keys: &ShopKeys,
    from: u64,
    count: usize,
) -> Result<Page, RedisLogError> {
    let ((epoch, head, chain, deleted), entries) = read_once(conn, keys, from, count).await?;
    // A shop without a name has no event either: it is named by its first write, not by a read.
    let epoch = if epoch.is_empty() { 0 } else { parse_epoch(&epoch)? };
    let version = Version { epoch, head };
    let chain = match chain.as_str() {
        "" => None,
        text => Some(Chain::from_hex(text).ok_or_else(|| {
            RedisLogError::Unexpected(format!("entry {head}'s chain {text:?} is not 32 hex digits"))
        })?),
    };
    Ok(Page { head: Head { version, chain, deleted: deleted != 0 }, entries: parse_entries(entries)? })
}

/// The head, and with `count` > 0 up to that many entries from `from` on, in one transaction.
async fn read_once(
    conn: &mut impl redis::aio::ConnectionLike,
    keys: &ShopKeys,
    from: u64,
    count: usize,
) -> Result<(HeadFields, Value), RedisLogError> {
    if count == 0 {
        let fields: HeadFields = READ.key(&keys.stream).key(&keys.epoch).invoke_async(conn).await?;
        return Ok((fields, Value::Nil));
    }
    let mut pipe = redis::pipe();
    pipe.atomic()
        .cmd("EVALSHA")
        .arg(READ.get_hash())
        .arg(2)
        .arg(&keys.stream)
        .arg(&keys.epoch)
        .cmd("XRANGE")
        .arg(&keys.stream)
        .arg(format!("{from}-0"))
        .arg("+")
        .arg("COUNT")
        .arg(count);
    match pipe.query_async(conn).await {
        Err(error) if error.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript) => {
            // Redis restarted (or flushed its scripts): load the script, then ask again.
            READ.load_async(conn).await?;
            Ok(pipe.query_async(conn).await?)
        }
        answer => Ok(answer?),
    }
}

fn parse_epoch(text: &str) -> Result<u64, RedisLogError> {
    text.parse().map_err(|_| RedisLogError::Unexpected(format!("the shop's epoch is {text:?}, not a number")))
}

/// Entries of an `XRANGE`/`XREVRANGE` answer, taken apart by hand: a million of them must not cost a map each.
fn parse_entries(value: Value) -> Result<Vec<Entry>, RedisLogError> {
    let shape = |what: &str| RedisLogError::Unexpected(format!("a stream entry is malformed ({what})"));
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
            let (mut line, mut chain, mut key) = (None, None, None);
            let mut fields = fields.into_iter();
            while let (Some(name), Some(value)) = (fields.next(), fields.next()) {
                if let (Value::BulkString(name), Value::BulkString(value)) = (name, value) {
                    if name == EVENT_FIELD.as_bytes() {
                        line = Some(value);
                    } else if name == CHAIN_FIELD.as_bytes() {
                        chain = Some(value);
                    } else if name == KEY_FIELD.as_bytes() {
                        key = Some(value);
                    }
                }
            }
            Ok(Entry { id, line, chain, key })
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
        let entry = |id: &str| Entry { id: id.to_owned(), line: None, chain: None, key: None };
        assert_eq!(entry("17-0").seq(), Some(17));
        assert_eq!(entry("17-1").seq(), None);
        assert_eq!(entry("x-0").seq(), None);
        assert_eq!(entry("17").seq(), None);
    }

    #[test]
    fn chains_name_the_whole_log_and_read_back_from_hex() {
        let one = Chain::default().next(b"a");
        assert_ne!(one, Chain::default().next(b"b"));
        assert_ne!(one.next(b"b"), Chain::default().next(b"b"));
        assert_eq!(Chain::from_hex(&one.to_hex()), Some(one));
        assert_eq!(Chain::from_hex("zz"), None);
        assert_eq!(Chain::from_hex(&"g".repeat(32)), None);
    }

    #[test]
    fn command_keys_are_16_to_64_url_safe_characters() {
        assert!(CommandKey::parse("0123456789abcdef").is_some());
        assert!(CommandKey::parse(&"a-_Z".repeat(16)).is_some());
        assert!(CommandKey::parse("short").is_none());
        assert!(CommandKey::parse(&"a".repeat(65)).is_none());
        assert!(CommandKey::parse("0123456789abcdef:").is_none());
    }
}
