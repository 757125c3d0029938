//! The shared log: the sync server's endpoints (docs/shared-log.md), seen from a page. The server (and the
//! Redis Stream behind it) holds the truth; this page's own storage keeps a copy as a cache.

use crate::error::StoreError;
use crate::records::EncodedChunk;
use crate::rule::LogVersion;
use serde::Deserialize;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// Whether this page's log is shared, and whether the server answers (CONTRACT §6 `sync-status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncStatus {
    /// The log lives in this browser only.
    Local,
    /// The shared log of a sync server, which answers.
    Connected,
    /// A sync server is this page's log, but it cannot be reached.
    Offline,
}

impl SyncStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SyncStatus::Local => "local",
            SyncStatus::Connected => "connected",
            SyncStatus::Offline => "offline",
        }
    }
}

#[derive(Deserialize)]
struct VersionJson {
    epoch: u64,
    head: u64,
}

#[derive(Deserialize)]
struct MessageJson {
    message: String,
}

/// One answer of the server: its status, bytes and the headers the endpoints use.
struct Answer {
    status: u16,
    bytes: Vec<u8>,
    epoch: Option<u64>,
    head: Option<u64>,
    seq: Option<u64>,
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

    fn version_headers(&self) -> Result<LogVersion, StoreError> {
        match (self.epoch, self.head) {
            (Some(epoch), Some(head)) => Ok(LogVersion { epoch, head }),
            _ => Err(StoreError::Read("the sync server's answer names no version".into())),
        }
    }
}

fn offline(e: JsValue) -> StoreError {
    let detail = e
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| "no answer".into());
    StoreError::Offline { detail }
}

fn header(headers: &web_sys::Headers, name: &str) -> Option<u64> {
    headers.get(name).ok().flatten().and_then(|v| v.trim().parse().ok())
}

/// The sync server of this page's origin.
pub struct SharedLog {
    /// Absolute URL of `/api` on the page's origin.
    api: String,
}

impl SharedLog {
    /// The sync server that served this page, if one did: a page served by anything else (trunk) keeps
    /// its log in the browser.
    pub async fn find() -> Option<(SharedLog, LogVersion)> {
        let origin = web_sys::window()?.location().origin().ok()?;
        let shared = SharedLog { api: format!("{origin}/api") };
        let answer = shared.request("GET", "/version", None).await.ok()?;
        let version = (answer.status == 200).then(|| answer.version_json().ok()).flatten()?;
        Some((shared, version))
    }

    async fn request(&self, method: &str, path: &str, body: Option<&[u8]>) -> Result<Answer, StoreError> {
        let window = web_sys::window().ok_or_else(|| StoreError::Offline { detail: "no window".into() })?;
        let init = web_sys::RequestInit::new();
        init.set_method(method);
        init.set_cache(web_sys::RequestCache::NoStore);
        if let Some(body) = body {
            init.set_body(&js_sys::Uint8Array::from(body).into());
        }
        let url = format!("{}{path}", self.api);
        let response: web_sys::Response =
            JsFuture::from(window.fetch_with_str_and_init(&url, &init)).await.map_err(offline)?.dyn_into().map_err(offline)?;
        let buffer = JsFuture::from(response.array_buffer().map_err(offline)?).await.map_err(offline)?;
        let headers = response.headers();
        Ok(Answer {
            status: response.status(),
            bytes: js_sys::Uint8Array::new(&buffer).to_vec(),
            epoch: header(&headers, "x-rewind-epoch"),
            head: header(&headers, "x-rewind-head"),
            seq: header(&headers, "x-rewind-seq"),
        })
    }

    /// The server's version of the log.
    pub async fn version(&self) -> Result<LogVersion, StoreError> {
        let answer = self.request("GET", "/version", None).await?;
        match answer.status {
            200 => answer.version_json(),
            _ => Err(refused(&answer)),
        }
    }

    /// The events after `after`, as frames of chunks, and the version they reach.
    /// [`StoreError::Replaced`] when the server's log is shorter (it is another log).
    pub async fn events_after(&self, after: u64) -> Result<(LogVersion, Vec<u8>), StoreError> {
        let answer = self.request("GET", &format!("/events?after={after}"), None).await?;
        match answer.status {
            200 => Ok((answer.version_headers()?, answer.bytes)),
            409 => Err(StoreError::Replaced),
            _ => Err(refused(&answer)),
        }
    }

    /// Appends `chunks`, decided on `expected`; the new version once the server (and Redis) stored them.
    pub async fn append(&self, expected: LogVersion, chunks: &[EncodedChunk]) -> Result<LogVersion, StoreError> {
        let mut body = Vec::with_capacity(chunks.iter().map(|c| c.bytes.len() + 4).sum());
        for chunk in chunks {
            rewind_domain::push_frame(&mut body, &chunk.bytes);
        }
        let path = format!("/append?epoch={}&after={}", expected.epoch, expected.head);
        let answer = self.request("POST", &path, Some(&body)).await?;
        match answer.status {
            200 => answer.version_json(),
            409 => {
                let now = answer.version_json()?;
                if now.epoch != expected.epoch {
                    Err(StoreError::Replaced)
                } else {
                    Err(StoreError::Conflict { expected: expected.head, found: now.head })
                }
            }
            _ => Err(refused(&answer)),
        }
    }

    /// The server's newest snapshot: its sequence number and bytes, if it has one.
    pub async fn snapshot(&self) -> Result<Option<(LogVersion, Vec<u8>)>, StoreError> {
        let answer = self.request("GET", "/snapshot", None).await?;
        match (answer.status, answer.epoch, answer.seq) {
            (200, Some(epoch), Some(seq)) => Ok(Some((LogVersion { epoch, head: seq }, answer.bytes))),
            (204, ..) => Ok(None),
            _ => Err(refused(&answer)),
        }
    }

    /// Listens to the server's feed: `on_news` hears the version whenever the shared log grows, and the
    /// status whenever the connection opens or drops. A dropped connection is tried again every second.
    pub fn listen(&self, on_news: impl Fn(FeedNews) + 'static) -> Feed {
        let url = self.api.replacen("http", "ws", 1) + "/feed";
        let feed = Feed(Rc::new(FeedInner { url, on_news: Box::new(on_news), socket: RefCell::new(None) }));
        connect(&feed.0);
        feed
    }
}

fn refused(answer: &Answer) -> StoreError {
    match answer.status {
        502..=504 => StoreError::Offline { detail: answer.message() },
        _ => StoreError::Refused { message: answer.message() },
    }
}

/// What the feed tells the page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FeedNews {
    Status(SyncStatus),
    Grew(LogVersion),
}

/// A live connection to the server's feed (kept open, and reopened, while this value lives).
pub struct Feed(Rc<FeedInner>);

type Handler<T> = Closure<dyn FnMut(T)>;

struct Socket {
    socket: web_sys::WebSocket,
    _on_open: Handler<web_sys::Event>,
    _on_message: Handler<web_sys::MessageEvent>,
    _on_close: Handler<web_sys::CloseEvent>,
}

struct FeedInner {
    url: String,
    on_news: Box<dyn Fn(FeedNews)>,
    socket: RefCell<Option<Socket>>,
}

fn connect(inner: &Rc<FeedInner>) {
    let Ok(socket) = web_sys::WebSocket::new(&inner.url) else {
        (inner.on_news)(FeedNews::Status(SyncStatus::Offline));
        retry_later(inner);
        return;
    };
    let weak = Rc::downgrade(inner);
    let on_open = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
        if let Some(inner) = weak.upgrade() {
            (inner.on_news)(FeedNews::Status(SyncStatus::Connected));
        }
    });
    let weak = Rc::downgrade(inner);
    let on_message = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |e: web_sys::MessageEvent| {
        let Some(inner) = weak.upgrade() else { return };
        let Some(text) = e.data().as_string() else { return };
        if let Ok(v) = serde_json::from_str::<VersionJson>(&text) {
            (inner.on_news)(FeedNews::Grew(LogVersion { epoch: v.epoch, head: v.head }));
        }
    });
    let weak = Rc::downgrade(inner);
    let on_close = Closure::<dyn FnMut(web_sys::CloseEvent)>::new(move |_| {
        if let Some(inner) = weak.upgrade() {
            (inner.on_news)(FeedNews::Status(SyncStatus::Offline));
            retry_later(&inner);
        }
    });
    socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    *inner.socket.borrow_mut() = Some(Socket { socket, _on_open: on_open, _on_message: on_message, _on_close: on_close });
}

fn retry_later(inner: &Rc<FeedInner>) {
    let weak = Rc::downgrade(inner);
    let retry = Closure::once_into_js(move || {
        if let Some(inner) = weak.upgrade() {
            connect(&inner);
        }
    });
    if let Some(window) = web_sys::window() {
        let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(retry.unchecked_ref(), 1_000);
    }
}

impl Drop for FeedInner {
    fn drop(&mut self) {
        if let Some(s) = self.socket.get_mut().take() {
            s.socket.set_onclose(None);
            let _ = s.socket.close();
        }
    }
}
