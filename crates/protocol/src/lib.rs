//! The shared log's wire protocol (CONTRACT §7 and §9), written once for both of its sides: the page's client
//! in `crates/store` and the sync server in `crates/server`. What one side sends, the other reads by the same
//! names here, so that a renamed header or endpoint is a compile error on both sides, not a silent mismatch.

use serde::{Deserialize, Serialize};

/// Which log (its `epoch`, changed whenever the whole log is replaced or cleared) and how far it goes (`head`,
/// the sequence number of its last event). A write names the version it was decided on; a page that read
/// another log cannot append to this one. Sent as JSON `{"epoch": …, "head": …}`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct LogVersion {
    pub epoch: u64,
    pub head: u64,
}

/// Where the API lives on the server's origin; every endpoint below is under it.
pub const API: &str = "/api";

/// The endpoints, relative to [`API`].
pub mod endpoint {
    /// `GET`: the log's version (and, by its status, whether the server and its Redis answer).
    pub const VERSION: &str = "/version";
    /// `GET ?after=N`: the events after N, as frames of chunks.
    pub const EVENTS: &str = "/events";
    /// `POST ?epoch=E&after=N&chain=C&key=K`: a checked append decided on version (E, N).
    pub const APPEND: &str = "/append";
    /// `POST` (JSON [`crate::CommandRequest`]): a command, decided by the server on the log as it is, answered
    /// with [`crate::CommandStored`] once its event is stored, or refused in the page's own words (`422`).
    pub const COMMAND: &str = "/command";
    /// `POST` (JSON): commands a page kept while the server was away, decided in their order, together.
    pub const COMMANDS: &str = "/commands";
    /// `GET`: the newest snapshot of the log.
    pub const SNAPSHOT: &str = "/snapshot";
    /// WebSocket: the log's version each time it changes.
    pub const FEED: &str = "/feed";
    /// `POST` (a form with `key`): the access key, answered with its cookie.
    pub const SESSION: &str = "/session";
}

/// Response headers that describe what an answer holds.
pub mod header {
    /// The log's epoch.
    pub const EPOCH: &str = "x-rewind-epoch";
    /// The log's head when the answer was made.
    pub const HEAD: &str = "x-rewind-head";
    /// The last event in a page of events.
    pub const LAST: &str = "x-rewind-last";
    /// The chain of the log up to the last event sent (or up to the snapshot's seq).
    pub const CHAIN: &str = "x-rewind-chain";
    /// The sequence number of a snapshot.
    pub const SEQ: &str = "x-rewind-seq";
    /// The access key, for clients that are not a browser (request header).
    pub const KEY: &str = "x-rewind-key";
}

/// The cookie that carries the access key once the page gave it (`HttpOnly; SameSite=Strict`).
pub const KEY_COOKIE: &str = "rewind_key";

/// How many events past the last snapshot make the next one due: the page's store and the server's default
/// `--snapshot-every` both snapshot at this cadence.
pub const SNAPSHOT_EVERY: u64 = 10_000;

/// A command a page sends for the server to decide: the body of `POST /api/command`. `key` (16 to 64 of
/// `A-Z a-z 0-9 _ -`, chosen by the page) makes it stored at most once however often it is sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandRequest {
    pub key: String,
    pub command: rewind_domain::Command,
}

/// Commands sent together at most: the body of `POST /api/commands`.
pub const MAX_COMMANDS_PER_REQUEST: usize = 64;

/// Commands a page kept in its outbox, in the order they were made: the body of `POST /api/commands`. The
/// server decides them in that order, each on the log after the ones before it, and stores them in as few
/// writes as it can; it tries none after one that it could not decide.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandsRequest {
    pub commands: Vec<CommandRequest>,
}

/// What became of one command of a `POST /api/commands`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum CommandOutcome {
    /// Its event is at `seq` (stored by this request, or by an earlier one of the same key).
    Stored {
        seq: u64,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        stored_before: bool,
    },
    /// The shop's rules refuse it, in these words, on the log at `epoch` and `head`.
    Refused { message: String, epoch: u64, head: u64 },
}

/// The answer to `POST /api/commands`: one outcome per command, in order, for as many as were decided; when
/// fewer than were sent, `stopped` says why the rest were not (send them again, same keys).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandsAnswered {
    pub outcomes: Vec<CommandOutcome>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
}

/// The answer to a stored command: the sequence number of its event, and the log as it was right after.
/// `stored_before` says an earlier request of the same key stored it (this one stored nothing).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandStored {
    pub seq: u64,
    pub epoch: u64,
    pub head: u64,
    pub chain: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stored_before: bool,
}

/// The shop that `/` serves; every other shop is at `/shop/NAME/`, its API at `/shop/NAME/api`.
pub const MAIN_SHOP: &str = "main";
const SHOP_PREFIX: &str = "/shop/";

/// A shop's name: the rules of user ids (1 to 32 of `A-Z a-z 0-9 _ -`), so it is safe in a URL, in a
/// Redis key and inside a Redis Cluster hash tag.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ShopName(String);

impl ShopName {
    pub fn parse(text: &str) -> Result<ShopName, rewind_domain::IdError> {
        rewind_domain::validate_id(text).map(|()| ShopName(text.to_owned()))
    }

    pub fn main() -> ShopName {
        ShopName(MAIN_SHOP.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Where the shop's API is on the server: `/api` for the main shop, `/shop/NAME/api` for the others.
    pub fn api(&self) -> String {
        if self.0 == MAIN_SHOP {
            API.to_owned()
        } else {
            format!("{SHOP_PREFIX}{}{API}", self.0)
        }
    }

    /// The shop a page at `path` is on: `/shop/NAME/…` names shop NAME (`Err` when NAME is not a shop's
    /// name), any other path the main shop.
    pub fn of_page(path: &str) -> Result<ShopName, rewind_domain::IdError> {
        match path.strip_prefix(SHOP_PREFIX) {
            Some(rest) => ShopName::parse(rest.split('/').next().unwrap_or_default()),
            None => Ok(ShopName::main()),
        }
    }
}

impl std::fmt::Display for ShopName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// When `path` is a path of the API, the shop it is about (as written, not checked) and the endpoint's part
/// of the path: `/api/version` is (`main`, `/version`), `/shop/NAME/api/version` is (`NAME`, `/version`).
pub fn api_of_path(path: &str) -> Option<(&str, &str)> {
    let (shop, rest) = match path.strip_prefix(SHOP_PREFIX) {
        Some(rest) => rest.split_once('/')?,
        None => (MAIN_SHOP, path.strip_prefix('/')?),
    };
    let endpoint = rest.strip_prefix(API.trim_start_matches('/'))?;
    (endpoint.is_empty() || endpoint.starts_with('/')).then_some((shop, endpoint))
}

/// The full path of `endpoint` (one of [`endpoint`]'s) on the server.
pub fn api_path(endpoint: &str) -> String {
    format!("{API}{endpoint}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shops_have_their_own_api_and_pages() {
        assert_eq!(api_of_path("/api/version"), Some((MAIN_SHOP, "/version")));
        assert_eq!(api_of_path("/api"), Some((MAIN_SHOP, "")));
        assert_eq!(api_of_path("/shop/north-1/api/command"), Some(("north-1", "/command")));
        assert_eq!(api_of_path("/apix"), None);
        assert_eq!(api_of_path("/shop/north-1/"), None);
        assert_eq!(api_of_path("/index.html"), None);
        let north = ShopName::parse("north-1").unwrap_or_else(|_| ShopName::main());
        assert_eq!(north.api(), "/shop/north-1/api");
        assert_eq!(ShopName::main().api(), "/api");
        assert_eq!(ShopName::of_page("/shop/north-1/"), Ok(north));
        assert_eq!(ShopName::of_page("/"), Ok(ShopName::main()));
        assert!(ShopName::of_page("/shop/{x}/").is_err());
        assert!(ShopName::parse(&"a".repeat(33)).is_err());
    }

    #[test]
    fn paths_are_under_the_api_and_headers_are_lower_case_for_both_sides() {
        assert_eq!(api_path(endpoint::APPEND), "/api/append");
        for name in [header::EPOCH, header::HEAD, header::LAST, header::CHAIN, header::SEQ, header::KEY] {
            assert_eq!(name, name.to_ascii_lowercase(), "HTTP/2 and the fetch API see header names in lower case");
        }
    }
}
