//! The shared log: the sync server's endpoints (docs/shared-log.md), seen from a page. The server (and the
//! Redis Stream behind it) holds the truth; this page's own storage keeps a copy as a cache.
//!
//! Every request has a time limit, and every answer (or its absence) tells the page whether the server and its
//! Redis can be reached ([`SyncStatus`]). While they cannot, the page asks again with a capped, jittered
//! backoff, and opens the feed again once the server answers.

use crate::error::StoreError;
use crate::types::EncodedChunk;
use crate::remote::{Decided, Frames, Pending};
use crate::rule::LogVersion;
use rewind_protocol as protocol;
use serde::Deserialize;
use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

// Bound by hand, as the Web Locks in locks.rs: two small calls, without widening the crate's web-sys features.
#[wasm_bindgen]
extern "C" {
    type AbortController;

    #[wasm_bindgen(constructor, catch)]
    fn new() -> Result<AbortController, JsValue>;

    #[wasm_bindgen(method, getter)]
    fn signal(this: &AbortController) -> JsValue;

    #[wasm_bindgen(method)]
    fn abort(this: &AbortController);

    #[wasm_bindgen(js_namespace = crypto, js_name = getRandomValues, catch)]
    fn get_random_values(bytes: &js_sys::Uint8Array) -> Result<JsValue, JsValue>;
}

/// How long the page waits for `/api/version` (also the probe while the server is away).
const VERSION_TIMEOUT_MS: i32 = 10_000;
/// How long the page waits for one page of events, or for the snapshot.
const EVENTS_TIMEOUT_MS: i32 = 20_000;
/// How long the page waits for an append's answer. Without one the outcome is unknown and the same request
/// (same key) is sent again, so a short limit costs a retry, never a second copy.
const APPEND_TIMEOUT_MS: i32 = 30_000;
/// Events asked for per request (the server's maximum): a log of a million events is ten requests.
const EVENTS_PAGE: u64 = 100_000;
/// The feed's reconnection: the first wait and the longest one.
const FEED_RETRY_FIRST_MS: u32 = 500;
const FEED_RETRY_MAX_MS: u32 = 10_000;

/// Why a sync server's log cannot be used right now, for the page to say (`sync-status`'s `data-reason`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unreachable {
    /// No answer at all (the network failed, or none came in time): the sync server is down or out of reach.
    Server,
    /// The sync server answers, but its Redis does not (a `503`).
    Redis,
    /// The sync server asks for its access key again (the key changed, or this browser dropped the cookie).
    AccessKey,
}

impl Unreachable {
    /// The reason as the page names it (`data-reason`).
    pub fn as_str(self) -> &'static str {
        match self {
            Unreachable::Server => "server",
            Unreachable::Redis => "redis",
            Unreachable::AccessKey => "access-key",
        }
    }

    /// What is wrong, in a user's words.
    pub fn explain(self) -> &'static str {
        match self {
            Unreachable::Server => "The sync server cannot be reached (it does not answer).",
            Unreachable::Redis => "The sync server answers, but its Redis cannot be reached.",
            Unreachable::AccessKey => "The sync server asks for its access key again: reload the page to enter it.",
        }
    }
}

/// Whether this page's log is shared, and whether the server answers (CONTRACT §6 `sync-status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncStatus {
    /// The log lives in this browser only.
    Local,
    /// The shared log of a sync server, which answers.
    Connected,
    /// A sync server is this page's log, but it cannot be used now, for this reason.
    Offline(Unreachable),
}

impl SyncStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SyncStatus::Local => "local",
            SyncStatus::Connected => "connected",
            SyncStatus::Offline(_) => "offline",
        }
    }

    pub fn is_offline(self) -> bool {
        matches!(self, SyncStatus::Offline(_))
    }

    /// Why the shared log cannot be used, when it cannot.
    pub fn reason(self) -> Option<Unreachable> {
        match self {
            SyncStatus::Offline(why) => Some(why),
            _ => None,
        }
    }
}

/// Waits that grow: each the double of the last, up to a cap, each shortened by a random part of up to half,
/// so that pages that lost the server together do not all come back in the same instant.
#[derive(Clone, Copy, Debug)]
pub struct Backoff {
    first_ms: u32,
    max_ms: u32,
    step_ms: u32,
}

impl Backoff {
    pub const fn new(first_ms: u32, max_ms: u32) -> Backoff {
        Backoff { first_ms, max_ms, step_ms: first_ms }
    }

    /// The next wait, in milliseconds: between half the current step and the step.
    pub fn next_ms(&mut self) -> u32 {
        let step = self.step_ms;
        self.step_ms = step.saturating_mul(2).min(self.max_ms).max(self.first_ms);
        let jitter = (js_sys::Math::random() * f64::from(step / 2)) as u32;
        step - step / 2 + jitter
    }

    /// Back to the first wait (the server answered).
    pub fn reset(&mut self) {
        self.step_ms = self.first_ms;
    }
}

/// The key of one command's write (docs/shared-log.md, "exactly once"): the server stores it with the events,
/// and a second append that carries it is not stored again. Chosen once per command and sent with every retry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandKey(String);

impl CommandKey {
    /// 128 random bits from the browser's `crypto.getRandomValues`, as 32 hex digits (the server takes 16 to 64
    /// characters of `[A-Za-z0-9_-]`).
    #[cfg(target_arch = "wasm32")]
    pub fn random() -> Result<CommandKey, StoreError> {
        let bytes = js_sys::Uint8Array::new_with_length(16);
        get_random_values(&bytes).map_err(|e| StoreError::Write(format!(
            "this browser gave no random numbers for the command's key (crypto.getRandomValues: {})",
            describe(&e)
        )))?;
        Ok(CommandKey(bytes.to_vec().iter().map(|b| format!("{b:02x}")).collect()))
    }

    /// Natively (the session's native tests, which have no server to be exactly once with): 128 bits from the
    /// standard library's per-process random hash keys and the time, unique within the process.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn random() -> Result<CommandKey, StoreError> {
        use std::hash::{BuildHasher, Hasher};
        let half = |salt: u64| {
            let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
            hasher.write_u64(salt);
            hasher.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos()));
            hasher.finish()
        };
        Ok(CommandKey(format!("{:016x}{:016x}", half(1), half(2))))
    }

    /// A key read back from this browser's outbox: 16 to 64 characters of `[A-Za-z0-9_-]`, as the server takes.
    pub fn parse(text: &str) -> Option<CommandKey> {
        let fits = (16..=64).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        fits.then(|| CommandKey(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What an append stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Appended {
    /// Stored now, exactly as sent: the log's new version.
    Stored(LogVersion),
    /// The command's key was stored already (an earlier send whose answer was lost): nothing was stored now,
    /// and what is stored is read from the log, not taken from this page's events.
    StoredBefore,
}

#[derive(Deserialize)]
struct VersionJson {
    epoch: u64,
    head: u64,
}

#[derive(Deserialize)]
struct AppendedJson {
    epoch: u64,
    head: u64,
    #[serde(default)]
    chain: Option<String>,
    #[serde(default)]
    stored_before: bool,
}

/// The server's name for the log up to some event (docs/shared-log.md, "The chain"): a page that sends it
/// with a read or an append learns that the log was replaced (a restore, a failover) instead of mixing two
/// logs. Kept in localStorage beside the cache (`CHAIN_KEY`), with the version it was learnt at: it is only
/// sent when the page asks from that very version, so a stale entry costs nothing but the check.
#[derive(Clone, Debug, PartialEq, Eq)]
struct ChainMark {
    epoch: u64,
    head: u64,
    chain: String,
}

/// Where the chain is kept for the main shop; another shop's key ends in `-NAME`.
const CHAIN_KEY: &str = "rewind-shared-chain";

fn is_chain(text: &str) -> bool {
    text.len() == 32 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

impl ChainMark {
    fn stored(key: &str) -> Option<ChainMark> {
        let text = web_sys::window()?.local_storage().ok()??.get_item(key).ok()??;
        let mut parts = text.split(':');
        let (epoch, head, chain) = (parts.next()?.parse().ok()?, parts.next()?.parse().ok()?, parts.next()?);
        is_chain(chain).then(|| ChainMark { epoch, head, chain: chain.to_owned() })
    }

    /// Best effort: without it, the page reads and appends as before, by epoch and head alone.
    fn store(&self, key: &str) {
        let storage = web_sys::window().and_then(|w| w.local_storage().ok().flatten());
        if let Some(storage) = storage {
            let _ = storage.set_item(key, &format!("{}:{}:{}", self.epoch, self.head, self.chain));
        }
    }

    /// `&chain=…` for a request made from `head` of log `epoch` (any epoch if `None`), if it is known there.
    fn query_at(key: &str, epoch: Option<u64>, head: u64) -> String {
        match ChainMark::stored(key) {
            Some(mark) if mark.head == head && head > 0 && epoch.is_none_or(|e| e == mark.epoch) => {
                format!("&chain={}", mark.chain)
            }
            _ => String::new(),
        }
    }
}

#[derive(Deserialize)]
struct MessageJson {
    message: String,
}

#[derive(Deserialize)]
struct OutcomeJson {
    outcome: Option<String>,
}

/// One answer of the server: its status, bytes and the headers the endpoints use.
struct Answer {
    status: u16,
    bytes: Vec<u8>,
    epoch: Option<u64>,
    head: Option<u64>,
    seq: Option<u64>,
    /// The last event in a page of events (`x-rewind-last`).
    last: Option<u64>,
    /// The chain of the log up to that event, or the snapshot's seq (`x-rewind-chain`).
    chain: Option<String>,
}

impl Answer {
    fn version_json(&self) -> Result<LogVersion, StoreError> {
        let v: VersionJson = serde_json::from_slice(&self.bytes)
            .map_err(|e| StoreError::Read(format!("the sync server's answer is not a version: {e}")))?;
        Ok(LogVersion { epoch: v.epoch, head: v.head })
    }

    fn message(&self) -> String {
        serde_json::from_slice::<MessageJson>(&self.bytes)
            .map(|m| m.message)
            .unwrap_or_else(|_| format!("the sync server answered {}", self.status))
    }

    /// A `503` that says the server cannot tell whether the append was stored (Redis stopped answering
    /// in the middle of it), unlike a plain `503`, after which nothing was stored.
    fn outcome_unknown(&self) -> bool {
        serde_json::from_slice::<OutcomeJson>(&self.bytes).is_ok_and(|o| o.outcome.as_deref() == Some("unknown"))
    }

    fn version_headers(&self) -> Result<LogVersion, StoreError> {
        match (self.epoch, self.head) {
            (Some(epoch), Some(head)) => Ok(LogVersion { epoch, head }),
            _ => Err(StoreError::Read("the sync server's answer names no version".into())),
        }
    }
}

/// No answer: the request failed on the way, or no answer came in time.
struct NoAnswer {
    detail: String,
}

fn describe(e: &JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| "no answer".into())
}

fn no_answer(e: JsValue) -> NoAnswer {
    NoAnswer { detail: describe(&e) }
}

fn offline(no: NoAnswer) -> StoreError {
    StoreError::Offline { detail: no.detail }
}

fn header(headers: &web_sys::Headers, name: &str) -> Option<u64> {
    headers.get(name).ok().flatten().and_then(|v| v.trim().parse().ok())
}

/// A request's body and its media type.
struct Body<'a> {
    bytes: &'a [u8],
    content_type: &'static str,
}

/// Aborts a request that takes longer than allowed; dropped (and its timer cleared) when the answer is in.
struct Deadline {
    window: web_sys::Window,
    handle: i32,
    fired: Rc<Cell<bool>>,
    _on_time_up: Closure<dyn FnMut()>,
}

impl Deadline {
    /// Sets the limit on the request of `init`; `None` where the browser cannot abort requests.
    fn set(window: &web_sys::Window, init: &web_sys::RequestInit, ms: i32) -> Option<Deadline> {
        let controller = AbortController::new().ok()?;
        js_sys::Reflect::set(init, &JsValue::from_str("signal"), &controller.signal()).ok()?;
        let fired = Rc::new(Cell::new(false));
        let flag = fired.clone();
        let on_time_up = Closure::<dyn FnMut()>::new(move || {
            flag.set(true);
            controller.abort();
        });
        let handle = window
            .set_timeout_with_callback_and_timeout_and_arguments_0(on_time_up.as_ref().unchecked_ref(), ms)
            .ok()?;
        Some(Deadline { window: window.clone(), handle, fired, _on_time_up: on_time_up })
    }

    fn fired(&self) -> bool {
        self.fired.get()
    }
}

impl Drop for Deadline {
    fn drop(&mut self) {
        self.window.clear_timeout_with_handle(self.handle);
    }
}

/// One request to `url`, answered within `timeout_ms` (the body included), or no answer.
async fn fetch(url: &str, method: &str, body: Option<Body<'_>>, timeout_ms: i32) -> Result<Answer, NoAnswer> {
    let window = web_sys::window().ok_or_else(|| NoAnswer { detail: "no window".into() })?;
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    init.set_cache(web_sys::RequestCache::NoStore);
    if let Some(body) = body {
        let headers = web_sys::Headers::new().map_err(no_answer)?;
        headers.set("content-type", body.content_type).map_err(no_answer)?;
        init.set_headers(&headers);
        init.set_body(&js_sys::Uint8Array::from(body.bytes).into());
    }
    let deadline = Deadline::set(&window, &init, timeout_ms);
    let answer = async {
        let response: web_sys::Response =
            JsFuture::from(window.fetch_with_str_and_init(url, &init)).await.map_err(no_answer)?.dyn_into().map_err(no_answer)?;
        let buffer = JsFuture::from(response.array_buffer().map_err(no_answer)?).await.map_err(no_answer)?;
        let headers = response.headers();
        Ok(Answer {
            status: response.status(),
            bytes: js_sys::Uint8Array::new(&buffer).to_vec(),
            epoch: header(&headers, protocol::header::EPOCH),
            head: header(&headers, protocol::header::HEAD),
            seq: header(&headers, protocol::header::SEQ),
            last: header(&headers, protocol::header::LAST),
            chain: headers.get(protocol::header::CHAIN).ok().flatten().filter(|c| is_chain(c)),
        })
    }
    .await;
    answer.map_err(|no| match &deadline {
        Some(d) if d.fired() => NoAnswer { detail: format!("no answer within {} s", timeout_ms / 1000) },
        _ => no,
    })
}

/// What `/api/version` says about the page's origin when the page opens, as far as the page's first module can
/// tell without reading JSON: the rest is told by [`SharedLog::meet`], in the shared log's module.
pub(crate) enum Found {
    /// No sync server (`404`, or a static server's page instead of a version): the log lives in the browser.
    Local,
    /// Something that may be a sync server, reachable or not: its first answer, to be read in full.
    Server(ServerSighting),
}

/// The first answer from `/api/version` of a page's origin that may be a sync server (or no answer at all).
/// Opened with [`crate::Store::open_shared`].
pub struct ServerSighting {
    shop: protocol::ShopName,
    api: String,
    first: Result<Answer, NoAnswer>,
}

/// What the first answer of a possible sync server says once read in full.
pub(crate) enum Met {
    /// Not a version after all: the log lives in the browser.
    Local,
    /// A sync server, reachable or not (its status says which).
    Shared(SharedLog),
    /// A sync server that wants its access key first.
    KeyNeeded(AccessKeyGate),
}

type SubmitKey = fn(String, String) -> Pending<'static, Result<(), StoreError>>;

/// The access-key sign-in of a sync server started with `--access-key-file` (CONTRACT §9).
pub struct AccessKeyGate {
    api: String,
    /// What the server said when it asked for the key.
    pub message: String,
    /// Made in the shared log's module, where the server's answers are read.
    submit: SubmitKey,
}

impl AccessKeyGate {
    /// Sends `key` to the server, which answers with an `HttpOnly` cookie that every later request carries.
    /// [`StoreError::AccessKey`] with the server's words when the key is wrong.
    pub async fn submit(&self, key: &str) -> Result<(), StoreError> {
        (self.submit)(self.api.clone(), key.to_owned()).await
    }
}

async fn submit_key(api: String, key: String) -> Result<(), StoreError> {
    let body = format!("key={}", String::from(js_sys::encode_uri_component(&key)));
    let form = Body { bytes: body.as_bytes(), content_type: "application/x-www-form-urlencoded" };
    let answer = fetch(&format!("{api}{}", protocol::endpoint::SESSION), "POST", Some(form), VERSION_TIMEOUT_MS).await.map_err(offline)?;
    match answer.status {
        200..=299 => Ok(()),
        _ => Err(refused(&answer)),
    }
}

/// Whether the feed's WebSocket is open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SocketState {
    Closed,
    Connecting,
    Open,
}

type Listener = Box<dyn Fn(FeedNews)>;

/// The sync server of this page's origin, what is known of its reach, and its feed once the page listens.
struct Link {
    /// The shop the page is on (its path `/shop/NAME/`; `main` at `/`).
    shop: protocol::ShopName,
    /// Absolute URL of the shop's API on the page's origin (`/api`, or `/shop/NAME/api`).
    api: String,
    /// Where the chain of the shop's log is kept in localStorage.
    chain_key: String,
    status: Cell<SyncStatus>,
    /// Hears the feed's news and every change of status, while the page listens.
    listener: RefCell<Option<Listener>>,
    socket: RefCell<Option<Socket>>,
    socket_state: Cell<SocketState>,
    backoff: Cell<Backoff>,
    /// A try to reach the server again is set to run (one at a time).
    retrying: Cell<bool>,
}

impl Link {
    fn tell(&self, news: FeedNews) {
        if let Some(listener) = self.listener.borrow().as_ref() {
            listener(news);
        }
    }

    fn listening(&self) -> bool {
        self.listener.borrow().is_some()
    }
}

/// The sync server of this page's origin.
pub struct SharedLog(Rc<Link>);

impl SharedLog {
    /// What served this page. Only a server that says it has no such endpoint (`404`), or answers with
    /// something that is not a version (trunk answers `index.html` for every path), means the log is the
    /// browser's: any other answer, and no answer at all, means a sync server that may be back in a moment,
    /// and a browser-only log would be a fork of it that no one else sees. A `200` whose body is not a JSON
    /// object is no version: that much is told here, without a JSON parser; the rest is read by
    /// [`SharedLog::meet`]. (serde would also take `[epoch, head]` for a version; the server never sends one.)
    pub(crate) async fn find() -> Found {
        let Some(location) = web_sys::window().map(|w| w.location()) else { return Found::Local };
        let (Ok(origin), Ok(path)) = (location.origin(), location.pathname()) else { return Found::Local };
        // A path that names no shop (`/shop/a.b/`) has no API behind it: the page keeps its log here.
        let Ok(shop) = protocol::ShopName::of_page(&path) else { return Found::Local };
        let api = format!("{origin}{}", shop.api());
        let first = fetch(&format!("{api}{}", protocol::endpoint::VERSION), "GET", None, VERSION_TIMEOUT_MS).await;
        match &first {
            Ok(answer) if answer.status == 404 => Found::Local,
            Ok(answer) if answer.status == 200 && !answer.bytes.trim_ascii_start().starts_with(b"{") => Found::Local,
            _ => Found::Server(ServerSighting { shop, api, first }),
        }
    }

    /// Reads the first answer of what may be a sync server in full (see [`SharedLog::find`]).
    pub(crate) fn meet(sighting: ServerSighting) -> Met {
        let ServerSighting { shop, api, first } = sighting;
        match &first {
            Ok(answer) if answer.status == 200 && answer.version_json().is_err() => return Met::Local,
            Ok(answer) if answer.status == 401 => {
                let submit: SubmitKey = |api, key| Box::pin(submit_key(api, key));
                return Met::KeyNeeded(AccessKeyGate { api, message: answer.message(), submit });
            }
            _ => {}
        }
        let chain_key = match shop.as_str() {
            protocol::MAIN_SHOP => CHAIN_KEY.to_owned(),
            name => format!("{CHAIN_KEY}-{name}"),
        };
        let link = Rc::new(Link {
            shop,
            chain_key,
            api,
            status: Cell::new(SyncStatus::Offline(Unreachable::Server)),
            listener: RefCell::new(None),
            socket: RefCell::new(None),
            socket_state: Cell::new(SocketState::Closed),
            backoff: Cell::new(Backoff::new(FEED_RETRY_FIRST_MS, FEED_RETRY_MAX_MS)),
            retrying: Cell::new(false),
        });
        heard(&link, &first);
        Met::Shared(SharedLog(link))
    }

    /// The shop the page is on.
    pub fn shop(&self) -> &protocol::ShopName {
        &self.0.shop
    }

    /// Whether the server and its Redis answer, as far as the last answer (or its absence) tells.
    pub fn status(&self) -> SyncStatus {
        self.0.status.get()
    }

    async fn request(&self, method: &str, path: &str, body: Option<Body<'_>>, timeout_ms: i32) -> Result<Answer, NoAnswer> {
        let outcome = fetch(&format!("{}{path}", self.0.api), method, body, timeout_ms).await;
        heard(&self.0, &outcome);
        outcome
    }

    /// The server's version of the log.
    pub async fn version(&self) -> Result<LogVersion, StoreError> {
        let answer = self.request("GET", protocol::endpoint::VERSION, None, VERSION_TIMEOUT_MS).await.map_err(offline)?;
        match answer.status {
            200 => answer.version_json(),
            _ => Err(refused(&answer)),
        }
    }

    /// The events after `after` up to the server's head, as frames of chunks, and the version they reach.
    /// The server answers in pages; this asks until the last page reaches the head it names.
    /// [`StoreError::Replaced`] when the server's log is shorter (it is another log), or was replaced
    /// between two pages.
    pub async fn events_after(&self, after: u64) -> Result<(LogVersion, Vec<u8>), StoreError> {
        let mut body = Vec::new();
        let mut epoch = None;
        let mut from = after;
        let mut chain = ChainMark::query_at(&self.0.chain_key, None, after);
        loop {
            let path = format!("{}?after={from}&limit={EVENTS_PAGE}{}", protocol::endpoint::EVENTS, std::mem::take(&mut chain));
            let answer = self.request("GET", &path, None, EVENTS_TIMEOUT_MS).await.map_err(offline)?;
            match answer.status {
                200 => {}
                409 => return Err(StoreError::Replaced),
                _ => return Err(refused(&answer)),
            }
            let page = answer.version_headers()?;
            if epoch.is_some_and(|e| e != page.epoch) {
                return Err(StoreError::Replaced);
            }
            epoch = Some(page.epoch);
            // A server that sends the whole tail at once names no last event: the body reaches its head.
            let last = answer.last.unwrap_or(page.head);
            if last < from || last > page.head {
                return Err(StoreError::Read(format!(
                    "the sync server sent a page of events ending at {last}, outside {from} to {}",
                    page.head
                )));
            }
            body.extend_from_slice(&answer.bytes);
            if last == page.head {
                if let Some(chain) = answer.chain {
                    ChainMark { epoch: page.epoch, head: last, chain }.store(&self.0.chain_key);
                }
                return Ok((LogVersion { epoch: page.epoch, head: last }, body));
            }
            // The next page is asked for on the log this one ended in: a log replaced in between is refused.
            chain = answer.chain.map(|c| format!("&chain={c}")).unwrap_or_default();
            if last == from {
                return Err(StoreError::Read(format!(
                    "the sync server sent no events after {from}, though its log holds {}",
                    page.head
                )));
            }
            from = last;
        }
    }

    /// Sends `chunks`, decided on `expected`, under the command's `key`. Where the outcome cannot be known (no
    /// answer, or the server's own "may or may not be stored"), [`StoreError::OutcomeUnknown`]: the caller sends
    /// the very same request again, and the key keeps it from being stored twice.
    pub async fn append(&self, expected: LogVersion, chunks: &[EncodedChunk], key: &CommandKey) -> Result<Appended, StoreError> {
        if self.status().is_offline() {
            // Asked first, with a request that changes nothing: while the server is away a command is refused
            // as "nothing was stored" without being sent, rather than sent into a failure whose outcome is
            // unknown.
            self.version().await?;
        }
        let mut body = Vec::with_capacity(chunks.iter().map(|c| c.bytes.len() + 4).sum());
        for chunk in chunks {
            rewind_domain::push_frame(&mut body, &chunk.bytes);
        }
        let chain = ChainMark::query_at(&self.0.chain_key, Some(expected.epoch), expected.head);
        let path = format!("{}?epoch={}&after={}&key={}{chain}", protocol::endpoint::APPEND, expected.epoch, expected.head, key.as_str());
        let frames = Body { bytes: &body, content_type: "application/octet-stream" };
        let answer = match self.request("POST", &path, Some(frames), APPEND_TIMEOUT_MS).await {
            Ok(answer) => answer,
            // The request may have reached the server and been stored before the connection went.
            Err(no) => return Err(StoreError::OutcomeUnknown { detail: no.detail, waited_ms: 0 }),
        };
        match answer.status {
            200 => Ok(match serde_json::from_slice::<AppendedJson>(&answer.bytes) {
                Ok(a) if !a.stored_before => {
                    if let Some(chain) = a.chain.filter(|c| is_chain(c)) {
                        ChainMark { epoch: a.epoch, head: a.head, chain }.store(&self.0.chain_key);
                    }
                    Appended::Stored(LogVersion { epoch: a.epoch, head: a.head })
                }
                // Stored (before, or the answer does not say at which version): the log shows what is stored.
                _ => Appended::StoredBefore,
            }),
            409 => {
                let now = answer.version_json()?;
                if now.epoch != expected.epoch {
                    Err(StoreError::Replaced)
                } else {
                    Err(StoreError::Conflict { expected: expected.head, found: now.head })
                }
            }
            503 if answer.outcome_unknown() => Err(StoreError::OutcomeUnknown { detail: answer.message(), waited_ms: 0 }),
            _ => Err(refused(&answer)),
        }
    }

    /// Sends `command` under its `key` for the server to decide on the log as it is (`POST /api/command`).
    /// Returns once its event is stored (now, or by an earlier send of the key), with its sequence number
    /// when the answer says it; [`StoreError::Rejected`] in the shop's words, with the log it was decided on,
    /// when the rules refuse it; [`StoreError::OutcomeUnknown`] when the answer was lost and
    /// [`StoreError::Busy`] when the server could not take it now (send the same command with the same key
    /// again: it is stored at most once).
    pub async fn send_command(&self, key: &CommandKey, command: &rewind_domain::Command) -> Result<Option<u64>, StoreError> {
        if self.status().is_offline() {
            // As for appends: while the server is away, nothing is sent into a failure of unknown outcome.
            self.version().await?;
        }
        let request = protocol::CommandRequest { key: key.as_str().to_owned(), command: command.clone() };
        let body = serde_json::to_vec(&request).map_err(|e| StoreError::Write(format!("the command could not be written as JSON: {e}")))?;
        let json = Body { bytes: &body, content_type: "application/json" };
        let answer = match self.request("POST", protocol::endpoint::COMMAND, Some(json), APPEND_TIMEOUT_MS).await {
            Ok(answer) => answer,
            Err(no) => return Err(StoreError::OutcomeUnknown { detail: no.detail, waited_ms: 0 }),
        };
        match answer.status {
            // Stored, whatever else the body says: the log shows where.
            200 => Ok(serde_json::from_slice::<protocol::CommandStored>(&answer.bytes).ok().map(|stored| stored.seq)),
            422 => Err(StoreError::Rejected { message: answer.message(), at: answer.version_json()? }),
            503 if answer.outcome_unknown() => Err(StoreError::OutcomeUnknown { detail: answer.message(), waited_ms: 0 }),
            _ => Err(refused(&answer)),
        }
    }

    /// Sends commands kept in the outbox, in their order, for the server to decide together
    /// (`POST /api/commands`, at most [`protocol::MAX_COMMANDS_PER_REQUEST`]). Returns the outcome of each
    /// one decided, in order, and why the rest were not when fewer came back (send those again, same keys).
    /// Fails as [`SharedLog::send_command`] does when none was decided.
    pub async fn send_commands(
        &self,
        commands: &[(CommandKey, rewind_domain::Command)],
    ) -> Result<(Vec<protocol::CommandOutcome>, Option<String>), StoreError> {
        if self.status().is_offline() {
            self.version().await?;
        }
        let request = protocol::CommandsRequest {
            commands: commands
                .iter()
                .map(|(key, command)| protocol::CommandRequest { key: key.as_str().to_owned(), command: command.clone() })
                .collect(),
        };
        let body = serde_json::to_vec(&request).map_err(|e| StoreError::Write(format!("the commands could not be written as JSON: {e}")))?;
        let json = Body { bytes: &body, content_type: "application/json" };
        let answer = match self.request("POST", protocol::endpoint::COMMANDS, Some(json), APPEND_TIMEOUT_MS).await {
            Ok(answer) => answer,
            Err(no) => return Err(StoreError::OutcomeUnknown { detail: no.detail, waited_ms: 0 }),
        };
        match answer.status {
            200 => match serde_json::from_slice::<protocol::CommandsAnswered>(&answer.bytes) {
                Ok(answered) => Ok((answered.outcomes, answered.stopped)),
                // Some may be stored: the same request again says which.
                Err(e) => Err(StoreError::OutcomeUnknown { detail: format!("the server's answer could not be read: {e}"), waited_ms: 0 }),
            },
            503 if answer.outcome_unknown() => Err(StoreError::OutcomeUnknown { detail: answer.message(), waited_ms: 0 }),
            _ => Err(refused(&answer)),
        }
    }

    /// The server's newest snapshot: its sequence number and bytes, if it has one.
    pub async fn snapshot(&self) -> Result<Option<(LogVersion, Vec<u8>)>, StoreError> {
        let answer = self.request("GET", protocol::endpoint::SNAPSHOT, None, EVENTS_TIMEOUT_MS).await.map_err(offline)?;
        match (answer.status, answer.epoch, answer.seq) {
            (200, Some(epoch), Some(seq)) => {
                // The tail after the snapshot is read from its seq: on the log the snapshot was taken of.
                if let Some(chain) = answer.chain {
                    ChainMark { epoch, head: seq, chain }.store(&self.0.chain_key);
                }
                Ok(Some((LogVersion { epoch, head: seq }, answer.bytes)))
            }
            (204, ..) => Ok(None),
            _ => Err(refused(&answer)),
        }
    }

    /// Listens to the server's feed: `on_news` hears the version whenever the shared log grows, and the
    /// status whenever it changes. While the server or its Redis cannot be reached, the page asks again after
    /// a growing wait (0.5 s doubling to 10 s, jittered), and opens the feed again once the server answers.
    pub fn listen(&self, on_news: Listener) -> Feed {
        *self.0.listener.borrow_mut() = Some(on_news);
        // What requests made before anyone listened found out (the server may have gone since the page opened).
        self.0.tell(FeedNews::Status(self.status()));
        connect(&self.0);
        Feed(self.0.clone())
    }
}

fn refused(answer: &Answer) -> StoreError {
    match answer.status {
        401 => StoreError::AccessKey { message: answer.message() },
        429 => StoreError::Busy { message: answer.message() },
        502..=504 => StoreError::Offline { detail: answer.message() },
        _ => StoreError::Refused { message: answer.message() },
    }
}

/// What an answer, or its absence, tells of the server's reach.
fn heard(link: &Rc<Link>, outcome: &Result<Answer, NoAnswer>) {
    let answer = match outcome {
        Err(_) => return set_status(link, SyncStatus::Offline(Unreachable::Server)),
        Ok(answer) => answer,
    };
    match answer.status {
        503 => set_status(link, SyncStatus::Offline(Unreachable::Redis)),
        // A proxy in front of the server says that the server does not answer.
        502 | 504 => set_status(link, SyncStatus::Offline(Unreachable::Server)),
        401 => set_status(link, SyncStatus::Offline(Unreachable::AccessKey)),
        // Answers that the server could give only after asking Redis.
        200..=299 | 409 | 422 => match link.socket_state.get() {
            SocketState::Open => set_status(link, SyncStatus::Connected),
            // The socket's opening says it.
            SocketState::Connecting => {}
            // The server is back before the feed: open it now rather than after the wait.
            SocketState::Closed if link.listening() => connect(link),
            SocketState::Closed => set_status(link, SyncStatus::Connected),
        },
        // Refusals of one request (400, 403, 413, 415, …) say nothing of the server's reach.
        _ => {}
    }
}

fn set_status(link: &Rc<Link>, status: SyncStatus) {
    if link.status.replace(status) != status {
        link.tell(FeedNews::Status(status));
    }
    if status.is_offline() {
        recover_later(link);
    } else {
        link.backoff.set(Backoff::new(FEED_RETRY_FIRST_MS, FEED_RETRY_MAX_MS));
    }
}

/// Sets the next try to reach the server, after the backoff's wait, unless one is set already.
fn recover_later(link: &Rc<Link>) {
    if link.retrying.get() || !link.listening() || !link.status.get().is_offline() {
        return;
    }
    let mut backoff = link.backoff.get();
    let wait = backoff.next_ms();
    link.backoff.set(backoff);
    link.retrying.set(true);
    let weak = Rc::downgrade(link);
    let retry = Closure::once_into_js(move || wasm_bindgen_futures::spawn_local(recover(weak)));
    let set = web_sys::window()
        .map(|w| w.set_timeout_with_callback_and_timeout_and_arguments_0(retry.unchecked_ref(), i32::try_from(wait).unwrap_or(i32::MAX)));
    if !matches!(set, Some(Ok(_))) {
        link.retrying.set(false);
    }
}

/// One try to reach the server: `/api/version` says whether the server (no answer) or its Redis (`503`) is
/// away; once it answers, [`heard`] opens the feed again or says connected.
async fn recover(link: Weak<Link>) {
    let Some(link) = link.upgrade() else { return };
    link.retrying.set(false);
    if !link.listening() || !link.status.get().is_offline() || link.socket_state.get() == SocketState::Connecting {
        return;
    }
    let shared = SharedLog(link.clone());
    let _ = shared.request("GET", protocol::endpoint::VERSION, None, VERSION_TIMEOUT_MS).await;
    // Still away (or an answer that told nothing): try again later.
    if link.socket_state.get() != SocketState::Connecting {
        recover_later(&link);
    }
}

/// What the feed tells the page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FeedNews {
    Status(SyncStatus),
    Grew(LogVersion),
}

/// A live connection to the server's feed (kept open, and reopened, while this value lives).
pub struct Feed(Rc<Link>);

type Handler<T> = Closure<dyn FnMut(T)>;

struct Socket {
    socket: web_sys::WebSocket,
    _on_open: Handler<web_sys::Event>,
    _on_message: Handler<web_sys::MessageEvent>,
    _on_close: Handler<web_sys::CloseEvent>,
}

impl Socket {
    /// Closes the socket without hearing from it again.
    fn close(self) {
        self.socket.set_onopen(None);
        self.socket.set_onmessage(None);
        self.socket.set_onclose(None);
        let _ = self.socket.close();
    }
}

/// Opens the feed's socket (closing the one before, if any). Never called from one of the socket's own
/// handlers, which must not be dropped while they run.
fn connect(link: &Rc<Link>) {
    if let Some(old) = link.socket.borrow_mut().take() {
        old.close();
    }
    let url = link.api.replacen("http", "ws", 1) + protocol::endpoint::FEED;
    let Ok(socket) = web_sys::WebSocket::new(&url) else {
        link.socket_state.set(SocketState::Closed);
        return set_status(link, SyncStatus::Offline(Unreachable::Server));
    };
    link.socket_state.set(SocketState::Connecting);
    let weak = Rc::downgrade(link);
    let on_open = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
        if let Some(link) = weak.upgrade() {
            link.socket_state.set(SocketState::Open);
            // An open socket says the server is there, not that its Redis answers or that it takes the key:
            // then the next try's `/api/version` says when it is connected.
            match link.status.get() {
                SyncStatus::Offline(Unreachable::Redis | Unreachable::AccessKey) => recover_later(&link),
                _ => set_status(&link, SyncStatus::Connected),
            }
        }
    });
    let weak = Rc::downgrade(link);
    let on_message = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |e: web_sys::MessageEvent| {
        let Some(link) = weak.upgrade() else { return };
        let Some(text) = e.data().as_string() else { return };
        if let Ok(v) = serde_json::from_str::<VersionJson>(&text) {
            link.tell(FeedNews::Grew(LogVersion { epoch: v.epoch, head: v.head }));
        }
    });
    let weak = Rc::downgrade(link);
    let on_close = Closure::<dyn FnMut(web_sys::CloseEvent)>::new(move |_| {
        if let Some(link) = weak.upgrade() {
            link.socket_state.set(SocketState::Closed);
            set_status(&link, SyncStatus::Offline(Unreachable::Server));
        }
    });
    socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    *link.socket.borrow_mut() = Some(Socket { socket, _on_open: on_open, _on_message: on_message, _on_close: on_close });
}

impl Drop for Feed {
    fn drop(&mut self) {
        *self.0.listener.borrow_mut() = None;
        if let Some(socket) = self.0.socket.borrow_mut().take() {
            socket.close();
        }
        self.0.socket_state.set(SocketState::Closed);
    }
}

impl crate::remote::Remote for SharedLog {
    fn shop(&self) -> &protocol::ShopName {
        SharedLog::shop(self)
    }

    fn status(&self) -> SyncStatus {
        SharedLog::status(self)
    }

    fn listen(&self, on_news: Box<dyn Fn(FeedNews)>) -> Feed {
        SharedLog::listen(self, on_news)
    }

    fn version(&self) -> Pending<'_, Result<LogVersion, StoreError>> {
        Box::pin(SharedLog::version(self))
    }

    fn events_after(&self, after: u64) -> Pending<'_, Result<Frames, StoreError>> {
        Box::pin(SharedLog::events_after(self, after))
    }

    fn snapshot(&self) -> Pending<'_, Result<Option<Frames>, StoreError>> {
        Box::pin(SharedLog::snapshot(self))
    }

    fn append<'a>(&'a self, expected: LogVersion, chunks: &'a [EncodedChunk], key: &'a CommandKey) -> Pending<'a, Result<Appended, StoreError>> {
        Box::pin(SharedLog::append(self, expected, chunks, key))
    }

    fn send_command<'a>(&'a self, key: &'a CommandKey, command: &'a rewind_domain::Command) -> Pending<'a, Result<Option<u64>, StoreError>> {
        Box::pin(SharedLog::send_command(self, key, command))
    }

    fn send_commands<'a>(&'a self, commands: &'a [(CommandKey, rewind_domain::Command)]) -> Pending<'a, Result<Decided, StoreError>> {
        Box::pin(SharedLog::send_commands(self, commands))
    }
}
