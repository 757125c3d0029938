//! The HTTP face of a server copy: the `/api` endpoints of docs/shared-log.md and the app's files, on one
//! origin. Every answer of the API but `200` is JSON with a `message` a person can act on.

use crate::cache::CacheError;
use crate::redis_log::Version;
use crate::shared::{AppendError, ReadError, SharedLog};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{DefaultBodyLimit, RawQuery, State};
use axum::http::header::{HeaderName, CONTENT_TYPE};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Json, Router};
use serde::Serialize;
use std::path::Path;
use tokio::sync::watch;
use tower_http::services::{ServeDir, ServeFile};

/// The largest body an append may have: 40,000 events take a few hundred KiB as frames, so this leaves
/// room for far bigger imports while still bounding what one request can make the server hold.
pub const BODY_LIMIT: usize = 64 * 1024 * 1024;

const EPOCH_HEADER: HeaderName = HeaderName::from_static("x-rewind-epoch");
const HEAD_HEADER: HeaderName = HeaderName::from_static("x-rewind-head");
const SEQ_HEADER: HeaderName = HeaderName::from_static("x-rewind-seq");
const FRAMES: &str = "application/octet-stream";

#[derive(Clone)]
pub struct AppState {
    pub shared: SharedLog,
    pub feed: watch::Receiver<Version>,
}

/// The API under `/api`, and the files of `dist` for every other path (`index.html` for unknown ones, so the
/// app's own routes load the app).
pub fn router(state: AppState, dist: &Path) -> Router {
    let files = ServeDir::new(dist).fallback(ServeFile::new(dist.join("index.html")));
    Router::new()
        .route("/api/version", get(version))
        .route("/api/events", get(events))
        .route("/api/append", post(append))
        .route("/api/snapshot", get(snapshot))
        .route("/api/feed", get(feed))
        .route("/api", any(no_such_endpoint))
        .route("/api/{*rest}", any(no_such_endpoint))
        .method_not_allowed_fallback(wrong_method)
        .fallback_service(files)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state)
}

/// A refusal: its status and the JSON body the page reads.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: ErrorBody,
}

#[derive(Debug, Serialize)]
struct ErrorBody {
    message: String,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    version: Option<Version>,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self { status, body: ErrorBody { message: message.into(), version: None } }
    }

    /// A refusal that tells where the log is, so the page can read on from there.
    fn at(status: StatusCode, message: impl Into<String>, version: Version) -> Self {
        Self { status, body: ErrorBody { message: message.into(), version: Some(version) } }
    }

    fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

impl From<CacheError> for ApiError {
    fn from(error: CacheError) -> Self {
        let status = match error {
            CacheError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
            CacheError::Damaged { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        };
        Self::new(status, error.to_string())
    }
}

impl From<ReadError> for ApiError {
    fn from(error: ReadError) -> Self {
        match error {
            ReadError::PastHead { version, .. } => Self::at(StatusCode::CONFLICT, error.to_string(), version),
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
            AppendError::NotStored(_) | AppendError::Unconfirmed(_) => {
                Self::new(StatusCode::SERVICE_UNAVAILABLE, message)
            }
            AppendError::Damaged(_) => Self::new(StatusCode::INTERNAL_SERVER_ERROR, message),
        }
    }
}

async fn version(State(app): State<AppState>) -> Result<Json<Version>, ApiError> {
    Ok(Json(app.shared.version().await?))
}

async fn events(State(app): State<AppState>, RawQuery(query): RawQuery) -> Result<Response, ApiError> {
    let after = query_number(query.as_deref(), "after", "after=0")?;
    let frames = app.shared.events_after(after).await?;
    let headers = [
        (CONTENT_TYPE, FRAMES.to_owned()),
        (EPOCH_HEADER, frames.version.epoch.to_string()),
        (HEAD_HEADER, frames.version.head.to_string()),
    ];
    Ok((headers, frames.bytes).into_response())
}

async fn append(
    State(app): State<AppState>,
    RawQuery(query): RawQuery,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Version>, ApiError> {
    let example = "epoch=1763800000000&after=0";
    let epoch = query_number(query.as_deref(), "epoch", example)?;
    let after = query_number(query.as_deref(), "after", example)?;
    let body = body.map_err(|rejection| match rejection {
        BytesRejection::FailedToBufferBody(_) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body is larger than {} MiB: append the events in several requests", BODY_LIMIT >> 20),
        ),
        other => ApiError::new(other.status(), format!("the body could not be read: {}", other.body_text())),
    })?;
    Ok(Json(app.shared.append(Version { epoch, head: after }, &body).await?))
}

async fn snapshot(State(app): State<AppState>) -> Result<Response, ApiError> {
    let stored = app.shared.redis().snapshot().await.map_err(CacheError::from)?;
    let Some(stored) = stored else { return Ok(StatusCode::NO_CONTENT.into_response()) };
    let headers = [
        (CONTENT_TYPE, FRAMES.to_owned()),
        (EPOCH_HEADER, stored.epoch.to_string()),
        (SEQ_HEADER, stored.seq.to_string()),
    ];
    Ok((headers, stored.bytes).into_response())
}

async fn feed(State(app): State<AppState>, upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>) -> Response {
    match upgrade {
        Ok(upgrade) => upgrade.on_upgrade(move |socket| tell_versions(socket, app.feed)),
        Err(rejection) => ApiError::new(
            rejection.status(),
            format!("/api/feed is a WebSocket: open it with new WebSocket(…) ({})", rejection.body_text()),
        )
        .into_response(),
    }
}

/// Sends the log's version when the socket opens and whenever it changes, until the page goes.
async fn tell_versions(mut socket: WebSocket, mut feed: watch::Receiver<Version>) {
    let mut current = *feed.borrow_and_update();
    loop {
        let Ok(text) = serde_json::to_string(&current) else { return };
        if socket.send(Message::Text(text.into())).await.is_err() {
            return;
        }
        current = tokio::select! {
            changed = feed.changed() => match changed {
                Ok(()) => *feed.borrow_and_update(),
                Err(_) => return, // the server is shutting down
            },
            // The page sends nothing the feed needs; pings are answered underneath. Anything else is the end.
            () = next_close(&mut socket) => return,
        };
    }
}

/// Returns when the page closes the socket or it breaks; reads and drops everything else.
async fn next_close(socket: &mut WebSocket) {
    while let Some(Ok(message)) = socket.recv().await {
        if matches!(message, Message::Close(_)) {
            return;
        }
    }
}

async fn no_such_endpoint() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "no such endpoint: the API has /api/version, /api/events, /api/append, /api/snapshot and /api/feed",
    )
}

async fn wrong_method() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "wrong method: POST /api/append; GET /api/version, /api/events, /api/snapshot and /api/feed",
    )
}

/// The number `name` of a query string such as `epoch=5&after=7`.
fn query_number(query: Option<&str>, name: &str, example: &str) -> Result<u64, ApiError> {
    let value = query
        .unwrap_or_default()
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find_map(|(key, value)| (key == name).then_some(value));
    let Some(value) = value else {
        return Err(ApiError::bad_request(format!("the query needs {name}=<number>, as in ?{example}")));
    };
    value.parse().map_err(|_| ApiError::bad_request(format!("{name} must be a whole number, not {value:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_numbers_are_found_by_name_and_must_be_numbers() {
        assert_eq!(query_number(Some("epoch=5&after=7"), "after", "").ok(), Some(7));
        assert_eq!(query_number(Some("after=7&epoch=5"), "epoch", "").ok(), Some(5));
        assert!(query_number(Some("after=-1"), "after", "").is_err());
        assert!(query_number(Some("epoch=5"), "after", "").is_err());
        assert!(query_number(None, "after", "").is_err());
    }
}
