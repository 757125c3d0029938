//! What the integration tests share: real Redis processes, server processes, and a page-like client.
#![allow(dead_code)] // each test file uses a part
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // helpers of tests stop at the first surprise

pub mod client;
pub mod redis;

use client::Api;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const SERVER: &str = env!("CARGO_BIN_EXE_rewind-server");

/// A `rewind-server` process with an app folder of its own, killed when dropped.
pub struct ServerProcess {
    child: Option<Child>,
    port: u16,
    redis_url: String,
    extra: Vec<String>,
    dist: tempfile::TempDir,
    key: Option<String>,
}

impl ServerProcess {
    /// Starts a copy in front of `redis_url` on a free port and waits until it answers.
    pub async fn start(redis_url: &str, extra: &[&str]) -> Self {
        Self::start_keyed(redis_url, None, extra).await
    }

    /// A copy started with `--access-key-file` for `key` among `extra`: its [`ServerProcess::api`] sends it.
    pub async fn start_with_key(redis_url: &str, key: &str, extra: &[&str]) -> Self {
        Self::start_keyed(redis_url, Some(key), extra).await
    }

    async fn start_keyed(redis_url: &str, key: Option<&str>, extra: &[&str]) -> Self {
        let dist = tempfile::tempdir().expect("a folder for the app");
        std::fs::write(dist.path().join("index.html"), "<!doctype html><title>Rewind</title>").expect("index.html");
        let mut server = Self {
            child: None,
            port: redis::free_port(),
            redis_url: redis_url.to_owned(),
            extra: extra.iter().map(|s| (*s).to_owned()).collect(),
            dist,
            key: key.map(str::to_owned),
        };
        server.launch().await;
        server
    }

    pub fn api(&self) -> Api {
        match &self.key {
            Some(key) => Api::with_key(self.base(), key),
            None => Api::new(self.base()),
        }
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The copy's resident memory in KiB (Linux), to see what a request leaves behind.
    pub fn rss_kib(&self) -> u64 {
        let pid = self.child.as_ref().expect("a running copy").id();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc/<pid>/status");
        let line = status.lines().find(|l| l.starts_with("VmRSS:")).expect("a VmRSS line");
        line.split_whitespace().nth(1).and_then(|n| n.parse().ok()).expect("VmRSS in kB")
    }

    /// Stops the copy at once (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the copy again on the same port.
    pub async fn restart(&mut self) {
        self.kill();
        self.launch().await;
    }

    async fn launch(&mut self) {
        let child = Command::new(SERVER)
            .args(["--redis", &self.redis_url, "--listen", &format!("127.0.0.1:{}", self.port), "--dist"])
            .arg(self.dist.path())
            .args(&self.extra)
            // Thousands of refusals are the point of some tests: only what goes wrong is worth a line here.
            .env("RUST_LOG", std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("cannot start rewind-server");
        self.child = Some(child);
        let api = self.api();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if api.version().await.is_ok() {
                return;
            }
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                panic!("rewind-server stopped at once ({status})");
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("rewind-server on port {} did not answer /api/version within 20 s", self.port);
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}
