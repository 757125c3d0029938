//! `rewind-server`: Rewind's shared log on Redis Streams (docs/shared-log.md). A thin relay in front of one
//! Redis: it serves the built app and the sync endpoints on one origin, checks every append with the
//! domain's own rules, and keeps nothing that Redis does not also have, so any number of copies can run
//! side by side and any of them can be killed at any moment.

mod cache;
pub mod cli;
mod feed;
mod http;
mod produce;
pub mod redis_log;
mod shared;
mod snapshot;

pub use cache::CacheError;
pub use http::BODY_LIMIT;
pub use produce::{produce, ProduceError, ProduceOptions, Produced};
pub use redis_log::{ConnectError, RedisLog, StoreError, Version};
pub use shared::{AppendError, ReadError, SharedLog};
pub use snapshot::SnapshotPolicy;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// What a serving copy needs to know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServeOptions {
    pub redis_url: String,
    pub listen: SocketAddr,
    pub dist: PathBuf,
    pub snapshots: SnapshotPolicy,
}

/// Why a copy could not start or stopped serving.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("--dist {0}: there is no such folder; build the app first (trunk build) or point --dist at its output")]
    NoDist(PathBuf),
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error("cannot read the shared log: {0}")]
    Cache(#[from] CacheError),
    #[error("cannot listen on {addr} ({source}); is something else listening there already?")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("serving stopped: {0}")]
    Serve(#[source] std::io::Error),
}

/// A copy that has built its cache and is bound to its address, ready to serve.
pub struct Server {
    listener: TcpListener,
    router: axum::Router,
    addr: SocketAddr,
    started_at: redis_log::Version,
    _tasks: Tasks,
}

impl Server {
    /// Connects to Redis, builds the cache from the whole stream, starts the feed and the snapshots, and
    /// binds the address (port 0 picks a free one).
    pub async fn start(options: &ServeOptions) -> Result<Self, ServeError> {
        if !options.dist.is_dir() {
            return Err(ServeError::NoDist(options.dist.clone()));
        }
        let redis = RedisLog::connect(&options.redis_url).await?;
        let shared = SharedLog::open(redis.clone()).await?;
        let started_at = shared.version().await?;
        let (feed, feed_task) = feed::spawn(redis, started_at);
        let snapshot_task = snapshot::spawn(shared.clone(), feed.clone(), options.snapshots);
        let router = http::router(http::AppState { shared, feed }, &options.dist);
        let listener = TcpListener::bind(options.listen)
            .await
            .map_err(|source| ServeError::Bind { addr: options.listen, source })?;
        let addr = listener.local_addr().map_err(|source| ServeError::Bind { addr: options.listen, source })?;
        Ok(Self { listener, router, addr, started_at, _tasks: Tasks(vec![feed_task, snapshot_task]) })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The log as the cache was built.
    pub fn started_at(&self) -> Version {
        self.started_at
    }

    /// Serves until `shutdown` completes; then stops the background tasks too.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), ServeError> {
        axum::serve(self.listener, self.router).with_graceful_shutdown(shutdown).await.map_err(ServeError::Serve)
    }
}

/// The copy's background tasks, which end with it (an in-process copy must not leave them behind).
struct Tasks(Vec<JoinHandle<()>>);

impl Drop for Tasks {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

/// Why the command line failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("rewind-server needs --redis, --listen and --dist (see --help)")]
    Usage,
    #[error(transparent)]
    Serve(#[from] ServeError),
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error(transparent)]
    Produce(#[from] ProduceError),
}

/// Runs the command line: serves, or produces.
pub async fn run(cli: cli::Cli) -> Result<(), Error> {
    match cli.command {
        Some(cli::Command::Produce(args)) => {
            let redis = RedisLog::connect(&args.redis).await?;
            let produced = produce(&redis, args.options()).await?;
            println!(
                "appended {} events; the log is at event {} (epoch {}); {} batches were decided again after another writer came first",
                produced.appended, produced.version.head, produced.version.epoch, produced.retries
            );
            Ok(())
        }
        None => {
            let options = cli.serve.options().ok_or(Error::Usage)?;
            let server = Server::start(&options).await?;
            println!(
                "rewind-server listens on http://{} (log at event {}, Redis {}, app from {})",
                server.local_addr(),
                server.started_at().head,
                options.redis_url,
                options.dist.display()
            );
            server.run_until(shutdown_signal()).await?;
            Ok(())
        }
    }
}

/// Ctrl-C, or SIGTERM from a supervisor.
async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}
