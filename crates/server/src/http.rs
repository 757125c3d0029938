//! The HTTP face of a server copy: the `/api` endpoints of docs/shared-log.md and the app's files, on one
//! origin, behind the guard (who may ask) and the limits (how much, how long). Every answer of the API but
//! `200`/`204` is JSON with a `message` a person can act on.

use crate::cache::CacheError;
use crate::guard::{guard, Access};
use crate::redis_log::Version;
use crate::refusal::ApiError;
use crate::request::{AppendBody, AppendQuery, EventsQuery, RequestError, BODY_LIMIT, MAX_APPEND_EVENTS};
use crate::redis_log::{Chain, CommandKey, ShopName};
use crate::shared::{AppendError, CommandError, Decision, Frames, Mark, ReadError};
use crate::shops::{Shop, ShopError, Shops};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, FormRejection};
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{close_code, CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{DefaultBodyLimit, RawQuery, Request, State};
use axum::http::header::{HeaderName, CONTENT_LENGTH, CONTENT_TYPE, SET_COOKIE};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Form, Json, Router};
use serde::{Deserialize, Serialize};
use std::any::Any;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use rewind_protocol::{self as protocol, endpoint, API};
use tower_http::catch_panic::CatchPanicLayer;
use tracing::Instrument;
use tower_http::services::{ServeDir, ServeFile};

const EPOCH_HEADER: HeaderName = HeaderName::from_static(protocol::header::EPOCH);
const HEAD_HEADER: HeaderName = HeaderName::from_static(protocol::header::HEAD);
const LAST_HEADER: HeaderName = HeaderName::from_static(protocol::header::LAST);
const CHAIN_HEADER: HeaderName = HeaderName::from_static(protocol::header::CHAIN);
const SEQ_HEADER: HeaderName = HeaderName::from_static(protocol::header::SEQ);
const FRAMES: &str = "application/octet-stream";

/// How long one request may take, body included, before it is answered `503`. A WebSocket's life is not a
/// request: the upgrade is answered at once.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest body of anything but an append (the sign-in form).
const SMALL_BODY_LIMIT: usize = 4 * 1024;
/// A `POST /api/commands` body at most: as many commands as may go together, each well under a KiB.
const COMMANDS_BODY_LIMIT: usize = 64 * 1024;
/// Feed sockets one copy keeps open at most; past them a page is told to try again.
pub const MAX_FEEDS: usize = 4_096;
/// Appends whose bodies are read at once: they wait for the log one after another anyway.
pub const MAX_APPENDS: usize = 16;
/// How long a send to a feed socket may take: a page that stopped reading is gone.
const FEED_SEND: Duration = Duration::from_secs(10);
/// A wrong key costs its sender this long: guessing a key of 16 characters or more stays hopeless.
const WRONG_KEY_PAUSE: Duration = Duration::from_millis(250);
/// The feed's pages send nothing but pings and a close: anything bigger is not a page of the shop.
const FEED_MESSAGE_LIMIT: usize = 1024;
/// How often the feed pings a page, and how long a page may stay silent (no pong, nothing) before it is
/// taken for gone and its socket closed.
const FEED_PING: Duration = Duration::from_secs(20);
const FEED_SILENCE: Duration = Duration::from_secs(60);

#[derive(Clone)]
pub struct AppState {
    pub shops: Shops,
    /// Append bodies held in memory at once.
    pub appends: Arc<Semaphore>,
    pub feeds: Arc<Semaphore>,
    pub access: Arc<Access>,
}

/// The shop a request that writes (or listens) is about: `/api/…` is the main shop, `/shop/NAME/api/…`
/// shop NAME, opened on this copy if it was not yet.
struct ShopOf(Arc<Shop>);

/// The shop a read is about, if it has a log: a read of a shop nobody wrote to opens nothing.
struct ShopIfAny(Option<Arc<Shop>>);

fn shop_name(parts: &Parts) -> Result<ShopName, ApiError> {
    let (name, _) = protocol::api_of_path(parts.uri.path()).unwrap_or((protocol::MAIN_SHOP, ""));
    ShopName::parse(name).map_err(|e| {
        ApiError::new(StatusCode::NOT_FOUND, format!("there is no shop {name:?}: a shop's name is 1 to 32 of A-Z a-z 0-9 _ - (this one {e})"))
    })
}

impl FromRequestParts<AppState> for ShopOf {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, ApiError> {
        let name = shop_name(parts)?;
        match app.shops.get(&name, true).await? {
            Some(shop) => Ok(ShopOf(shop)),
            None => Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "the shop could not be opened: try again")),
        }
    }
}

impl FromRequestParts<AppState> for ShopIfAny {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, ApiError> {
        let name = shop_name(parts)?;
        Ok(ShopIfAny(app.shops.get(&name, false).await?))
    }
}

impl From<ShopError> for ApiError {
    fn from(error: ShopError) -> Self {
        match error {
            ShopError::TooMany | ShopError::Interrupted => Self::new(StatusCode::SERVICE_UNAVAILABLE, error.to_string()),
            ShopError::Cache(cache) => cache.into(),
        }
    }
}

/// The API under `/api`, and the files of `dist` for every other path (`index.html` for unknown ones, so the
/// app's own routes load the app).
pub fn router(state: AppState, dist: &Path) -> Router {
    let files = app_files(dist);
    let access = Arc::clone(&state.access);
    let mut routes = Router::new();
    // The main shop's API at /api, every other shop's at /shop/NAME/api (the handlers read which from the path).
    for api in [API.to_owned(), format!("/shop/{{shop}}{API}")] {
        routes = routes
            .route(&format!("{api}{}", endpoint::VERSION), get(version))
            .route(&format!("{api}{}", endpoint::EVENTS), get(events))
            .route(&format!("{api}{}", endpoint::APPEND), post(append))
            .route(&format!("{api}{}", endpoint::COMMAND), post(command))
            .route(&format!("{api}{}", endpoint::COMMANDS), post(commands).layer(DefaultBodyLimit::max(COMMANDS_BODY_LIMIT)))
            .route(&format!("{api}{}", endpoint::SNAPSHOT), get(snapshot))
            .route(&format!("{api}{}", endpoint::FEED), get(feed))
            .route(&format!("{api}{}", endpoint::SESSION), post(sign_in))
            .route(&api, any(no_such_endpoint))
            .route(&format!("{api}/{{*rest}}"), any(no_such_endpoint));
    }
    routes
        .route("/metrics", get(metrics))
        .method_not_allowed_fallback(wrong_method)
        .fallback_service(files)
        .layer(DefaultBodyLimit::max(SMALL_BODY_LIMIT))
        .with_state(state)
        .layer(middleware::from_fn(time_limit))
        .layer(middleware::from_fn_with_state(access, guard))
        .layer(CatchPanicLayer::custom(panicked))
        .layer(middleware::from_fn(in_span))
}

/// The page's files. A release build leaves `.br` and `.gz` copies beside them (Trunk.toml's hook): a browser
/// that accepts one gets it, a third of the WebAssembly's bytes.
fn app_files(dist: &Path) -> ServeDir<ServeFile> {
    ServeDir::new(dist).precompressed_br().precompressed_gzip().fallback(ServeFile::new(dist.join("index.html")))
}

/// A request that takes too long is answered, and whatever it was doing is dropped. An append cut off so
/// may or may not have reached Redis: the answer says so, and the page asks again with the same key.
async fn time_limit(request: Request, next: Next) -> Response {
    match tokio::time::timeout(REQUEST_TIMEOUT, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::outcome_unknown(format!(
            "the server took longer than {} s to answer; an append may or may not be stored: read the log (or send the same command again) before deciding anew",
            REQUEST_TIMEOUT.as_secs()
        ))
        .into_response(),
    }
}

/// Every line logged while a request is answered (a refusal, above all) says which request it was.
async fn in_span(request: Request, next: Next) -> Response {
    // At the level of warnings, so that a refusal's line names its request whatever level is logged.
    let span = tracing::warn_span!("request", method = %request.method(), path = %request.uri().path());
    next.run(request).instrument(span).await
}

/// `GET /metrics`: every metric of the copy, per shop, in Prometheus's text format (behind the access key
/// where one is set, as the API is).
async fn metrics(State(app): State<AppState>) -> Response {
    ([(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], app.shops.metrics().text()).into_response()
}

/// A panic in one request is that request's `500`; the copy goes on serving the others.
fn panicked(_: Box<dyn Any + Send + 'static>) -> Response {
    tracing::error!("a request panicked (a bug of the server); it was answered 500 and the copy goes on");
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "the server failed on this request (a bug): nothing was stored; try again")
        .into_response()
}

impl From<CacheError> for ApiError {
    fn from(error: CacheError) -> Self {
        let status = match error {
            CacheError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
            CacheError::Damaged { .. } | CacheError::Deleted { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        };
        Self::new(status, error.to_string())
    }
}

impl From<ReadError> for ApiError {
    fn from(error: ReadError) -> Self {
        match error {
            ReadError::PastHead { version, .. } | ReadError::Replaced { version, .. } => {
                Self::at(StatusCode::CONFLICT, error.to_string(), version)
            }
            ReadError::Cache(cache) => cache.into(),
            ReadError::ShuttingDown => Self::new(StatusCode::SERVICE_UNAVAILABLE, error.to_string()),
        }
    }
}

impl From<AppendError> for ApiError {
    fn from(error: AppendError) -> Self {
        let message = error.to_string();
        match error {
            AppendError::Malformed(_) => Self::bad_request(message),
            AppendError::Stale(version) => Self::at(StatusCode::CONFLICT, message, version),
            AppendError::Broken(_) => Self::new(StatusCode::UNPROCESSABLE_ENTITY, message),
            AppendError::NotStored(_) => Self::new(StatusCode::SERVICE_UNAVAILABLE, message),
            AppendError::Unconfirmed(_) => Self::outcome_unknown(message),
            AppendError::Damaged(_) => Self::new(StatusCode::INTERNAL_SERVER_ERROR, message),
        }
    }
}

impl From<CommandError> for ApiError {
    fn from(error: CommandError) -> Self {
        let message = error.to_string();
        match error {
            // The server is busy, not gone: the page sends it again in a moment rather than say Redis is down.
            CommandError::Contended | CommandError::Busy(_) => Self::new(StatusCode::TOO_MANY_REQUESTS, message),
            CommandError::NotStored(_) | CommandError::ShuttingDown => Self::new(StatusCode::SERVICE_UNAVAILABLE, message),
            CommandError::Unconfirmed(_) | CommandError::Failed => Self::outcome_unknown(message),
            CommandError::Damaged(_) => Self::new(StatusCode::INTERNAL_SERVER_ERROR, message),
        }
    }
}

impl From<RequestError> for ApiError {
    fn from(error: RequestError) -> Self {
        Self::bad_request(error.to_string())
    }
}

/// The log's version and the chain that names its content, as `/api/version` and an append answer.
#[derive(Serialize)]
struct MarkJson {
    epoch: u64,
    head: u64,
    chain: String,
    /// Set when the command's key was stored by an earlier request: the page reads the log.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    stored_before: bool,
}

impl MarkJson {
    fn new(mark: Mark, stored_before: bool) -> Json<Self> {
        Json(Self { epoch: mark.version.epoch, head: mark.version.head, chain: mark.chain.to_hex(), stored_before })
    }
}

/// A shop with no log yet: no name (epoch 0), no event.
const NO_LOG: Mark = Mark { version: Version { epoch: 0, head: 0 }, chain: Chain([0; 16]) };

async fn version(ShopIfAny(shop): ShopIfAny) -> Result<Json<MarkJson>, ApiError> {
    let mark = match shop {
        Some(shop) => shop.shared.mark().await?,
        None => NO_LOG,
    };
    Ok(MarkJson::new(mark, false))
}

async fn events(ShopIfAny(shop): ShopIfAny, RawQuery(query): RawQuery) -> Result<Response, ApiError> {
    let query = EventsQuery::parse(query.as_deref())?;
    let frames = match shop {
        Some(shop) => shop.shared.events_after(query).await?,
        None if query.after > 0 => return Err(ReadError::PastHead { after: query.after, version: NO_LOG.version }.into()),
        None => Frames { version: NO_LOG.version, last: 0, chain: NO_LOG.chain, bytes: Vec::new() },
    };
    let headers = [
        (CONTENT_TYPE, FRAMES.to_owned()),
        (EPOCH_HEADER, frames.version.epoch.to_string()),
        (HEAD_HEADER, frames.version.head.to_string()),
        (LAST_HEADER, frames.last.to_string()),
        (CHAIN_HEADER, frames.chain.to_hex()),
    ];
    Ok((headers, frames.bytes).into_response())
}

async fn append(State(app): State<AppState>, ShopOf(shop): ShopOf, request: Request) -> Result<Json<MarkJson>, ApiError> {
    // Everything that can refuse without the body is checked before a byte of it is read.
    let headers = request.headers();
    let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if content_type.split(';').next().map(str::trim) != Some(FRAMES) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("an append's body is frames of events: send it as Content-Type: {FRAMES}"),
        ));
    }
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body is larger than {} MiB: append at most {MAX_APPEND_EVENTS} events at once", BODY_LIMIT >> 20),
        )
    };
    let declared = headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|length| length > BODY_LIMIT) {
        return Err(too_large());
    }
    let query = AppendQuery::parse(request.uri().query())?;
    // Bodies in memory at once are bounded too: appends wait their turn for the log anyway.
    let _permit = Arc::clone(&app.appends).acquire_owned().await.map_err(|_| ReadError::ShuttingDown)?;
    let body = axum::body::to_bytes(request.into_body(), BODY_LIMIT).await.map_err(|error| {
        if declared.is_none() {
            too_large()
        } else {
            ApiError::bad_request(format!("the body could not be read: {error}"))
        }
    })?;
    // In a task of its own: a request cut off by its time limit must not stop the append half-way (between
    // deciding and rolling back what a refusal leaves); the task finishes, and the page asks again.
    let shared = shop.shared.clone();
    let task = tokio::spawn(async move {
        let parsed = AppendBody::parse(&body, query.decided_on.head)?;
        shared.append(&query, &parsed).await.map_err(ApiError::from)
    });
    let stored = match task.await {
        Ok(stored) => stored?,
        Err(join) => match join.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(_) => return Err(ReadError::ShuttingDown.into()),
        },
    };
    Ok(MarkJson::new(stored.mark, stored.before))
}

/// `POST /api/command`: the command is decided by the shop's decider on the log as it is, and answered once
/// its event is stored (with its seq), or refused in the page's own words (`422`).
async fn command(ShopOf(shop): ShopOf, body: Result<Bytes, BytesRejection>) -> Result<Json<protocol::CommandStored>, ApiError> {
    let body = body.map_err(|rejection| {
        ApiError::new(
            rejection.status(),
            format!("the command could not be read ({}): a command's body is at most {} KiB of JSON", rejection.body_text(), SMALL_BODY_LIMIT >> 10),
        )
    })?;
    let request: protocol::CommandRequest = serde_json::from_slice(&body).map_err(|error| {
        ApiError::bad_request(format!(
            "a command is JSON such as {{\"key\": \"<16 to 64 of A-Z a-z 0-9 _ ->\", \"command\": {{\"kind\": \"TopUp\", \"user\": \"ann\", \"amount\": 500}}}}: {error}"
        ))
    })?;
    let key = CommandKey::parse(&request.key).ok_or_else(|| RequestError::Key(request.key.chars().take(80).collect()))?;
    let (seq, mark, stored_before) = match shop.decider.decide(key, request.command).await? {
        Decision::Stored { seq, mark } => (seq, mark, false),
        Decision::StoredBefore { seq, mark } => (seq, mark, true),
        // With the log it was decided on: the page reads on to there before it shows the refusal.
        Decision::Refused { rejection, after } => {
            return Err(ApiError::at(StatusCode::UNPROCESSABLE_ENTITY, rejection.to_string(), after))
        }
        Decision::RefusedBefore { after } => {
            return Err(ApiError::at(StatusCode::UNPROCESSABLE_ENTITY, crate::shared::REFUSED_BEFORE.to_owned(), after))
        }
    };
    Ok(Json(protocol::CommandStored {
        seq,
        epoch: mark.version.epoch,
        head: mark.version.head,
        chain: mark.chain.to_hex(),
        stored_before,
    }))
}

/// `POST /api/commands`: commands a page kept while the server was away, decided in their order. A refund
/// starts a group of its own (it is decided on the log it names); no command is tried after one that could
/// not be decided, so the log never holds a later command without an earlier one.
async fn commands(ShopOf(shop): ShopOf, body: Result<Bytes, BytesRejection>) -> Result<Json<protocol::CommandsAnswered>, ApiError> {
    let body = body.map_err(|rejection| {
        ApiError::new(
            rejection.status(),
            format!("the commands could not be read ({}): their body is at most {} KiB of JSON", rejection.body_text(), COMMANDS_BODY_LIMIT >> 10),
        )
    })?;
    let request: protocol::CommandsRequest = serde_json::from_slice(&body).map_err(|error| {
        ApiError::bad_request(format!("commands are JSON such as {{\"commands\": [<a command as POST /api/command takes it>, …]}}: {error}"))
    })?;
    if request.commands.is_empty() || request.commands.len() > protocol::MAX_COMMANDS_PER_REQUEST {
        return Err(ApiError::bad_request(format!(
            "send 1 to {} commands at a time, not {}",
            protocol::MAX_COMMANDS_PER_REQUEST,
            request.commands.len()
        )));
    }
    let mut keys = Vec::with_capacity(request.commands.len());
    for one in &request.commands {
        keys.push(CommandKey::parse(&one.key).ok_or_else(|| RequestError::Key(one.key.chars().take(80).collect()))?);
    }
    // Each with the keys sent after it: one of those stored means this one was decided (and refused) before.
    let asked: Vec<(CommandKey, rewind_domain::Command, Vec<CommandKey>)> = request
        .commands
        .into_iter()
        .zip(keys.iter().enumerate())
        .map(|(one, (i, key))| (key.clone(), one.command, keys.get(i + 1..).unwrap_or_default().to_vec()))
        .collect();
    let mut outcomes = Vec::with_capacity(asked.len());
    let mut rest = asked.as_slice();
    while !rest.is_empty() {
        // The group: up to (not including) the next refund after the first command.
        let end = rest.iter().skip(1).position(|(_, c, _)| matches!(c, rewind_domain::Command::Refund { .. })).map_or(rest.len(), |i| i + 1);
        let (group, after) = rest.split_at(end);
        rest = after;
        for decided in shop.decider.decide_together(group.to_vec()).await {
            match decided {
                Ok(Decision::Stored { seq, .. }) => outcomes.push(protocol::CommandOutcome::Stored { seq, stored_before: false }),
                Ok(Decision::StoredBefore { seq, .. }) => outcomes.push(protocol::CommandOutcome::Stored { seq, stored_before: true }),
                Ok(Decision::Refused { rejection, after }) => outcomes.push(protocol::CommandOutcome::Refused {
                    message: rejection.to_string(),
                    epoch: after.epoch,
                    head: after.head,
                }),
                Ok(Decision::RefusedBefore { after }) => outcomes.push(protocol::CommandOutcome::Refused {
                    message: crate::shared::REFUSED_BEFORE.to_owned(),
                    epoch: after.epoch,
                    head: after.head,
                }),
                // Nothing decided yet: answered as a lone command's failure would be, the page sends them again.
                Err(error) if outcomes.is_empty() => return Err(error.into()),
                Err(error) => return Ok(Json(protocol::CommandsAnswered { outcomes, stopped: Some(error.to_string()) })),
            }
        }
    }
    Ok(Json(protocol::CommandsAnswered { outcomes, stopped: None }))
}

async fn snapshot(ShopIfAny(shop): ShopIfAny) -> Result<Response, ApiError> {
    let Some(shop) = shop else { return Ok(StatusCode::NO_CONTENT.into_response()) };
    let Some(stored) = shop.shared.snapshot().await? else { return Ok(StatusCode::NO_CONTENT.into_response()) };
    let headers = [
        (CONTENT_TYPE, FRAMES.to_owned()),
        (EPOCH_HEADER, stored.epoch.to_string()),
        (SEQ_HEADER, stored.seq.to_string()),
        (CHAIN_HEADER, stored.chain.map(|c| c.to_hex()).unwrap_or_default()),
    ];
    Ok((headers, stored.bytes).into_response())
}

#[derive(Deserialize)]
struct SignIn {
    key: String,
}

/// The sign-in form's `POST /api/session`: the key once, then a cookie that carries it.
async fn sign_in(State(app): State<AppState>, form: Result<Form<SignIn>, FormRejection>) -> Result<Response, ApiError> {
    let Ok(Form(form)) = form else {
        return Err(ApiError::bad_request("send the key as a form (application/x-www-form-urlencoded): key=<the key>"));
    };
    match app.access.key() {
        None => Ok(StatusCode::NO_CONTENT.into_response()),
        Some(key) if key.matches(&form.key) => {
            Ok((StatusCode::NO_CONTENT, [(SET_COOKIE, key.cookie())]).into_response())
        }
        Some(_) => {
            tokio::time::sleep(WRONG_KEY_PAUSE).await;
            Err(ApiError::needs_key("wrong", "that is not this shop's access key"))
        }
    }
}

async fn feed(
    State(app): State<AppState>,
    ShopOf(shop): ShopOf,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(rejection) => {
            return ApiError::new(
                rejection.status(),
                format!("/api/feed is a WebSocket: open it with new WebSocket(…) ({})", rejection.body_text()),
            )
            .into_response()
        }
    };
    let Ok(permit) = Arc::clone(&app.feeds).try_acquire_owned() else {
        return ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("this copy already feeds {MAX_FEEDS} pages: try again in a moment, or ask another copy"),
        )
        .into_response();
    };
    upgrade
        .max_message_size(FEED_MESSAGE_LIMIT)
        .max_frame_size(FEED_MESSAGE_LIMIT)
        .on_upgrade(move |socket| async move {
            let pages = shop.shared.redis().metrics().map(|m| m.pages.clone());
            if let Some(pages) = &pages {
                pages.inc();
            }
            tell_versions(socket, shop.feed.clone(), shop.redis_up.clone(), permit).await;
            if let Some(pages) = &pages {
                pages.dec();
            }
        })
}

/// Sends the log's version when the socket opens and whenever it changes, until the page goes (it closes,
/// breaks, or stays silent past [`FEED_SILENCE`]) or Redis cannot be reached (the socket is closed, saying so).
async fn tell_versions(
    mut socket: WebSocket,
    mut feed: watch::Receiver<Version>,
    mut redis_up: watch::Receiver<bool>,
    _permit: OwnedSemaphorePermit,
) {
    let lost = CloseFrame { code: close_code::AGAIN, reason: "Redis cannot be reached: ask /api/version".into() };
    if !*redis_up.borrow_and_update() {
        let _ = tokio::time::timeout(FEED_SEND, socket.send(Message::Close(Some(lost)))).await;
        return;
    }
    let mut current = Some(*feed.borrow_and_update());
    let mut ping = tokio::time::interval(FEED_PING);
    ping.tick().await;
    let mut heard = Instant::now();
    loop {
        if let Some(version) = current.take() {
            let Ok(text) = serde_json::to_string(&version) else { return };
            if !matches!(tokio::time::timeout(FEED_SEND, socket.send(Message::Text(text.into()))).await, Ok(Ok(()))) {
                return;
            }
        }
        tokio::select! {
            changed = feed.changed() => match changed {
                Ok(()) => current = Some(*feed.borrow_and_update()),
                Err(_) => return, // the server is shutting down
            },
            changed = redis_up.changed() => {
                if changed.is_err() || !*redis_up.borrow_and_update() {
                    let _ = tokio::time::timeout(FEED_SEND, socket.send(Message::Close(Some(lost)))).await;
                    return;
                }
            }
            _ = ping.tick() => {
                let pinged = tokio::time::timeout(FEED_SEND, socket.send(Message::Ping(Bytes::new()))).await;
                if heard.elapsed() > FEED_SILENCE || !matches!(pinged, Ok(Ok(()))) {
                    return;
                }
            }
            message = socket.recv() => match message {
                // The page sends nothing the feed needs; pongs (and pings) only say it is there.
                Some(Ok(Message::Close(_)) | Err(_)) | None => return,
                Some(Ok(_)) => heard = Instant::now(),
            },
        }
    }
}

async fn no_such_endpoint() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "no such endpoint: the API (/api, or /shop/NAME/api for shop NAME) has /version, /events, /append, /command, /snapshot, /feed and /session",
    )
}

async fn wrong_method() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "wrong method: POST /api/append, /api/command and /api/session; GET /api/version, /api/events, /api/snapshot and /api/feed",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use tower::ServiceExt;

    #[tokio::test]
    async fn a_request_that_panics_is_answered_500_and_the_copy_serves_the_next() {
        // The router's own last layer, around a handler with a bug.
        async fn bug() -> &'static str {
            panic!("a bug")
        }
        let app = Router::new()
            .route("/bug", get(bug))
            .route("/fine", get(|| async { "fine" }))
            .layer(CatchPanicLayer::custom(panicked));
        let answer = app.clone().oneshot(Request::get("/bug").body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(answer.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(answer.into_body(), 4096).await.unwrap();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert!(json["message"].as_str().unwrap().contains("nothing was stored"));
        let answer = app.oneshot(Request::get("/fine").body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(answer.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn the_page_is_sent_compressed_to_a_browser_that_accepts_it() {
        let dist = tempfile::tempdir().unwrap();
        std::fs::write(dist.path().join("index.html"), "<html></html>").unwrap();
        std::fs::write(dist.path().join("app_bg.wasm"), vec![0u8; 4096]).unwrap();
        std::fs::write(dist.path().join("app_bg.wasm.br"), b"brotli bytes").unwrap();
        std::fs::write(dist.path().join("app_bg.wasm.gz"), b"gzip bytes").unwrap();
        let files = Router::new().fallback_service(app_files(dist.path()));
        let fetch = |accept: &'static str| {
            let files = files.clone();
            async move {
                let request = Request::get("/app_bg.wasm").header("accept-encoding", accept).body(Body::empty()).unwrap();
                let answer = files.oneshot(request).await.unwrap();
                let encoding = answer.headers().get("content-encoding").map(|v| v.to_str().unwrap().to_owned());
                let body = axum::body::to_bytes(answer.into_body(), 1 << 20).await.unwrap();
                (encoding, body.len())
            }
        };
        assert_eq!(fetch("gzip, deflate, br, zstd").await, (Some("br".to_owned()), 12));
        assert_eq!(fetch("gzip").await, (Some("gzip".to_owned()), 10));
        assert_eq!(fetch("identity").await, (None, 4096));
    }
}
