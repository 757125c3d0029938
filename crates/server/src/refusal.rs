//! A refusal of the API: its status and the JSON body the page reads. Every answer of the API but `200` is
//! JSON with a `message` a person can act on.

use crate::redis_log::Version;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

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
    /// `unknown` when the events may or may not be stored: the page reads the log (or sends the same
    /// command, of the same key, again) before deciding anew.
    #[serde(skip_serializing_if = "Option::is_none")]
    outcome: Option<&'static str>,
    /// `required` or `wrong`, when the server needs its access key.
    #[serde(skip_serializing_if = "Option::is_none")]
    access_key: Option<&'static str>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self { status, body: ErrorBody { message: message.into(), version: None, outcome: None, access_key: None } }
    }

    /// A refusal that tells where the log is, so the page can read on from there.
    pub fn at(status: StatusCode, message: impl Into<String>, version: Version) -> Self {
        let mut error = Self::new(status, message);
        error.body.version = Some(version);
        error
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }

    /// A `503` for a request whose effect nobody can tell yet.
    pub fn outcome_unknown(message: impl Into<String>) -> Self {
        let mut error = Self::new(StatusCode::SERVICE_UNAVAILABLE, message);
        error.body.outcome = Some("unknown");
        error
    }

    /// A `401`: the access key is missing (`required`) or not the server's (`wrong`).
    pub fn needs_key(access_key: &'static str, message: impl Into<String>) -> Self {
        let mut error = Self::new(StatusCode::UNAUTHORIZED, message);
        error.body.access_key = Some(access_key);
        error
    }

    #[cfg(test)]
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // One line per refusal, inside the request's span (its method and path).
        if self.status.is_server_error() {
            tracing::warn!(status = self.status.as_u16(), message = %self.body.message, "refused");
        } else {
            tracing::info!(status = self.status.as_u16(), message = %self.body.message, "refused");
        }
        (self.status, Json(self.body)).into_response()
    }
}
