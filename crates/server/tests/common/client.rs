//! A client of the API that behaves as a page does: it keeps its own copy of the log, decides a command on
//! it, sends the event with the version it decided on, and on `409` reads the new events and decides again.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // helpers of tests stop at the first surprise

use rewind_domain::{decode_frames, encode_frames, Command, Event, Log, State};
use serde::Deserialize;
use std::time::Duration;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct Version {
    pub epoch: u64,
    pub head: u64,
}

/// An answer of the API: its status and JSON body (`null` when it has none).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: serde_json::Value,
}

impl Reply {
    pub fn message(&self) -> &str {
        self.body["message"].as_str().unwrap_or_default()
    }
}

#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    /// The API of the server at `base`, e.g. `http://127.0.0.1:8080`.
    pub fn new(base: impl Into<String>) -> Self {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("an HTTP client");
        Self { http, base: base.into() }
    }

    /// The API of a server that needs an access key: every request carries it.
    pub fn with_key(base: impl Into<String>, key: &str) -> Self {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("x-rewind-key", key.parse().expect("a key fit for a header"));
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .default_headers(headers)
            .build()
            .expect("an HTTP client");
        Self { http, base: base.into() }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    pub async fn version(&self) -> Result<Version, reqwest::Error> {
        let response = self.http.get(format!("{}/api/version", self.base)).send().await?.error_for_status()?;
        Ok(serde_json::from_slice(&response.bytes().await?).expect("/api/version answers JSON"))
    }

    /// `POST /api/append?{query}` with `body` as it is.
    pub async fn post_append(&self, query: &str, body: Vec<u8>) -> Result<Reply, reqwest::Error> {
        let response = self
            .http
            .post(format!("{}/api/append?{query}", self.base))
            .header("content-type", "application/octet-stream")
            .body(body)
            .send()
            .await?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await?;
        Ok(Reply { status, body: serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null) })
    }

    pub async fn append(&self, decided_on: Version, body: Vec<u8>) -> Result<Reply, reqwest::Error> {
        self.post_append(&format!("epoch={}&after={}", decided_on.epoch, decided_on.head), body).await
    }

    /// `GET /api/events?after=…`, page after page as a page reads it: the version from the headers and the
    /// frames of every event after `after`.
    pub async fn events(&self, after: u64) -> Result<(Version, Vec<u8>), reqwest::Error> {
        let mut frames = Vec::new();
        let mut at = after;
        loop {
            let (version, last, bytes) = self.events_page(&format!("after={at}&limit=100000")).await?;
            frames.extend(bytes);
            if last >= version.head {
                return Ok((version, frames));
            }
            at = last;
        }
    }

    /// One `GET /api/events?{query}`: the version and the last seq from the headers, and the frames.
    pub async fn events_page(&self, query: &str) -> Result<(Version, u64, Vec<u8>), reqwest::Error> {
        let response = self.http.get(format!("{}/api/events?{query}", self.base)).send().await?.error_for_status()?;
        let header = |name: &str| {
            response.headers().get(name).and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok()).expect(name)
        };
        let version = Version { epoch: header("x-rewind-epoch"), head: header("x-rewind-head") };
        let last = header("x-rewind-last");
        Ok((version, last, response.bytes().await?.to_vec()))
    }

    /// `GET /api/snapshot`: the stored snapshot's seq and bytes, if there is one.
    pub async fn snapshot(&self) -> Result<Option<(u64, Vec<u8>)>, reqwest::Error> {
        let response = self.http.get(format!("{}/api/snapshot", self.base)).send().await?.error_for_status()?;
        if response.status() == reqwest::StatusCode::NO_CONTENT {
            return Ok(None);
        }
        let seq = response.headers().get("x-rewind-seq").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
        Ok(Some((seq.expect("x-rewind-seq"), response.bytes().await?.to_vec())))
    }
}

/// What one attempt to append came to.
#[derive(Debug)]
pub enum Attempt {
    /// Stored as this seq.
    Stored(u64),
    /// The log had moved on; the mirror has read the new events.
    Stale,
    /// Any other answer, or none (the server is away).
    Failed(String),
}

/// A page's copy of the shared log.
#[derive(Default)]
pub struct Mirror {
    pub epoch: u64,
    pub log: Log,
    pub live: State,
}

impl Mirror {
    pub fn version(&self) -> Version {
        Version { epoch: self.epoch, head: self.log.len() }
    }

    /// Reads the events past the mirror's head (all of them again if the server holds another log).
    pub async fn sync(&mut self, api: &Api) -> Result<(), reqwest::Error> {
        let (version, bytes) = api.events(self.log.len()).await?;
        if version.epoch != self.epoch {
            *self = Self { epoch: version.epoch, ..Self::default() };
            return Box::pin(self.sync(api)).await;
        }
        for chunk in decode_frames(&bytes).expect("the server sends whole frames") {
            self.log.extend_from_chunk(&mut self.live, chunk).expect("the server sends valid events");
        }
        Ok(())
    }

    /// The event `command` becomes on the mirror, as the frames a page would send.
    pub fn decide(&mut self, command: &Command) -> (Event, u64, Vec<u8>) {
        let event = self.log.decide(&self.live, command).expect("the command is accepted on the mirror");
        let ts = now_ms();
        let frames = encode_frames(self.log.names(), self.log.len() + 1, &[event], &[ts]);
        (event, ts, frames)
    }

    /// Decides `command`, sends it once, and keeps the mirror in step with the answer.
    pub async fn try_append(&mut self, api: &Api, command: &Command) -> Attempt {
        let decided_on = self.version();
        let (event, ts, frames) = self.decide(command);
        let reply = match api.append(decided_on, frames).await {
            Ok(reply) => reply,
            Err(error) => return Attempt::Failed(error.to_string()),
        };
        match reply.status {
            200 => {
                self.log.push(&mut self.live, ts, event).expect("a stored event continues the mirror");
                Attempt::Stored(self.log.len())
            }
            409 => match self.sync(api).await {
                Ok(()) => Attempt::Stale,
                Err(error) => Attempt::Failed(error.to_string()),
            },
            status => Attempt::Failed(format!("{status}: {}", reply.message())),
        }
    }

    /// Appends `command`, deciding again after every `409`, until it is stored; returns its seq.
    pub async fn append(&mut self, api: &Api, command: &Command) -> u64 {
        for _ in 0..10_000 {
            match self.try_append(api, command).await {
                Attempt::Stored(seq) => return seq,
                Attempt::Stale => {}
                Attempt::Failed(why) => panic!("append refused: {why}"),
            }
        }
        panic!("10,000 appends in a row were stale");
    }
}

pub fn top_up(user: &str, amount: u64) -> Command {
    Command::TopUp { user: user.to_owned(), amount }
}

/// The server's own wall clock.
pub use rewind_server::redis_log::now_ms;
