//! `rewind-server`: Rewind's shared log on Redis Streams (docs/shared-log.md). A thin relay in front of one
//! Redis: it serves the built app and the sync endpoints on one origin, checks every append with the
//! domain's own rules, and keeps nothing that Redis does not also have, so any number of copies can run
//! side by side and any of them can be killed at any moment.

mod cache;
pub mod cli;
mod decider;
mod feed;
mod guard;
mod http;
mod listener;
mod metrics;
mod produce;
pub mod redis_log;
mod refusal;
pub mod request;
mod shared;
mod shops;
mod snapshot;

pub use cache::CacheError;
pub use guard::{AccessKey, AccessKeyError, AccessOptions};
pub use listener::MAX_CONNECTIONS;
pub use produce::{produce, ProduceError, ProduceOptions, Produced};
pub use redis_log::{ConnectError, RedisLog, RedisLogError, ShopKeys, ShopName, SnapshotAnswer, Version};
pub use request::{BODY_LIMIT, MAX_APPEND_EVENTS};
pub use decider::{Decider, MAX_BATCH, MAX_WAITING};
pub use shared::{AppendError, CommandError, Decision, Mark, ReadError, SharedLog};
pub use shops::{Shop, ShopError, Shops, MAX_SHOPS};
pub use snapshot::SnapshotPolicy;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::net::TcpListener;

/// What a serving copy needs to know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServeOptions {
    /// The Redis (or a node of the Redis Cluster) that holds the logs.
    pub redis_url: String,
    /// The nodes of a Redis Cluster, when given as such (`--redis-cluster`); empty otherwise.
    pub redis_cluster: Vec<String>,
    pub listen: SocketAddr,
    pub dist: PathBuf,
    pub snapshots: SnapshotPolicy,
    pub access: AccessOptions,
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
    #[error(
        "--listen {0} is not a loopback address, so anyone who can reach it could write to the shop: give \
         --access-key-file FILE (a file holding a key of 16 or more characters, e.g. `openssl rand -hex 32 > FILE`), \
         or listen on 127.0.0.1"
    )]
    OpenWithoutKey(SocketAddr),
    #[error(
        "--allow-origin/--allow-host {0} is not a name of this machine: pages of that name (through a proxy) could \
         write to the shop; give --access-key-file FILE as well"
    )]
    NamedWithoutKey(String),
    #[error("serving stopped: {0}")]
    Serve(#[source] std::io::Error),
}

/// A copy that has built its cache and is bound to its address, ready to serve.
pub struct Server {
    listener: TcpListener,
    router: axum::Router,
    addr: SocketAddr,
    started_at: redis_log::Version,
    limits: listener::Limits,
}

impl Server {
    /// Connects to Redis (refusing one that does not keep what it acknowledges), builds the cache from the
    /// whole stream, starts the feed and the snapshots, and binds the address (port 0 picks a free one).
    pub async fn start(options: &ServeOptions) -> Result<Self, ServeError> {
        if !options.dist.is_dir() {
            return Err(ServeError::NoDist(options.dist.clone()));
        }
        if !options.listen.ip().is_loopback() && options.access.key.is_none() {
            return Err(ServeError::OpenWithoutKey(options.listen));
        }
        if let (Some(name), None) = (options.access.names_beyond_loopback(), &options.access.key) {
            return Err(ServeError::NamedWithoutKey(name.to_owned()));
        }
        let redis = match options.redis_cluster.as_slice() {
            [] => RedisLog::connect(&options.redis_url).await?,
            nodes => RedisLog::connect_cluster(nodes).await?,
        };
        // The main shop is there from the start (`/` serves it); the others are opened when first asked for.
        redis.name_log().await.map_err(CacheError::Store)?;
        let shops = Shops::new(redis, options.snapshots, metrics::Metrics::new());
        let main = shops.get(&ShopName::main(), true).await.map_err(|e| match e {
            ShopError::Cache(cache) => ServeError::Cache(cache),
            other => ServeError::Cache(CacheError::Store(RedisLogError::Unexpected(other.to_string()))),
        })?;
        let started_at = main.map(|main| main.started_at).unwrap_or_default();
        let listener = TcpListener::bind(options.listen)
            .await
            .map_err(|source| ServeError::Bind { addr: options.listen, source })?;
        let addr = listener.local_addr().map_err(|source| ServeError::Bind { addr: options.listen, source })?;
        let limits = listener::Limits::of_this_process();
        let state = http::AppState {
            appends: Arc::new(tokio::sync::Semaphore::new(http::MAX_APPENDS)),
            shops,
            feeds: Arc::new(tokio::sync::Semaphore::new(limits.feeds)),
            access: Arc::new(guard::Access::new(&options.access, addr)),
        };
        let router = http::router(state, &options.dist);
        Ok(Self { listener, router, addr, started_at, limits })
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
        listener::serve(self.listener, self.router, self.limits.connections, shutdown).await.map_err(ServeError::Serve)
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
    #[error(transparent)]
    AccessKey(#[from] AccessKeyError),
}

/// Runs the command line: serves, or produces.
pub async fn run(cli: cli::Cli) -> Result<(), Error> {
    match cli.command {
        Some(cli::Command::Produce(args)) => {
            let redis = RedisLog::connect(&args.redis).await?.shop(&args.shop);
            // The producer writes to Redis itself: the key only says it may (the same file as the server's).
            if let Some(path) = &args.access_key_file {
                AccessKey::read(path)?;
            }
            let produced = produce(&redis, args.options()).await?;
            println!(
                "appended {} events to shop {}; the log is at event {} (epoch {}); {} batches were decided again after another writer came first",
                produced.appended, args.shop, produced.version.head, produced.version.epoch, produced.retries
            );
            Ok(())
        }
        None => {
            let options = cli.serve.options()?.ok_or(Error::Usage)?;
            let server = Server::start(&options).await?;
            tracing::info!(
                listen = %server.local_addr(),
                head = server.started_at().head,
                "serving"
            );
            println!(
                "rewind-server listens on http://{} (log at event {}, Redis {}, app from {}; at most {} connections and {} feeds)",
                server.local_addr(),
                server.started_at().head,
                match options.redis_cluster.as_slice() {
                    [] => options.redis_url.clone(),
                    nodes => format!("Cluster at {}", nodes.join(", ")),
                },
                options.dist.display(),
                server.limits.connections,
                server.limits.feeds,
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
