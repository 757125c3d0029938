//! The command line: `rewind-server` serves, `rewind-server produce` fills the log.

use crate::redis_log::ShopName;
use crate::guard::{AccessKey, AccessKeyError, AccessOptions};
use crate::produce::ProduceOptions;
use crate::request::MAX_APPEND_EVENTS;
use crate::snapshot::SnapshotPolicy;
use crate::ServeOptions;
use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Rewind's shared log: serves the app and the sync endpoints in front of a Redis Stream.
#[derive(Debug, Parser)]
#[command(name = "rewind-server", version, args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Appends valid events to the shared log through the checked append, as a load.
    Produce(ProduceArgs),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The Redis that holds the log, e.g. redis://127.0.0.1:6379; a node of a Redis Cluster stands for the
    /// cluster.
    #[arg(long, required_unless_present = "redis_cluster")]
    pub redis: Option<String>,
    /// A node of the Redis Cluster that holds the logs (repeatable: any of them tells the others); each
    /// shop lives on the node its hash tag maps to.
    #[arg(long = "redis-cluster", value_name = "URL", conflicts_with = "redis")]
    pub redis_cluster: Vec<String>,
    /// Where to listen, e.g. 127.0.0.1:8080.
    #[arg(long, required = true)]
    pub listen: Option<SocketAddr>,
    /// The built app (trunk's output) to serve.
    #[arg(long, required = true)]
    pub dist: Option<PathBuf>,
    /// Take a snapshot as soon as the head is this many events past the last one.
    #[arg(long, default_value_t = rewind_protocol::SNAPSHOT_EVERY, value_parser = clap::value_parser!(u64).range(1..))]
    pub snapshot_every: u64,
    /// Take a snapshot this often (seconds) if the head moved.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    pub snapshot_secs: u64,
    /// A file holding the shop's access key (16 or more characters of A-Z a-z 0-9 _ - . ~ +): every /api
    /// request then needs it. Required to listen on anything but a loopback address.
    #[arg(long, value_name = "FILE")]
    pub access_key_file: Option<PathBuf>,
    /// Another origin whose pages may write (e.g. https://shop.example); the server's own always may.
    #[arg(long = "allow-origin", value_name = "ORIGIN")]
    pub allow_origins: Vec<String>,
    /// Another name the server answers to (a Host such as shop.example:8080), e.g. behind a proxy.
    #[arg(long = "allow-host", value_name = "HOST")]
    pub allow_hosts: Vec<String>,
}

impl ServeArgs {
    /// The options, once clap has made sure the required ones are there (they are only optional so that
    /// `produce` can go without them); an error if the access key file cannot be used.
    pub fn options(&self) -> Result<Option<ServeOptions>, AccessKeyError> {
        let key = self.access_key_file.as_deref().map(AccessKey::read).transpose()?;
        let redis_url = self.redis.clone().or_else(|| self.redis_cluster.first().cloned());
        let (Some(redis_url), Some(listen), Some(dist)) = (redis_url, self.listen, self.dist.clone()) else {
            return Ok(None);
        };
        Ok(Some(ServeOptions {
            redis_url,
            redis_cluster: self.redis_cluster.clone(),
            listen,
            dist,
            snapshots: SnapshotPolicy { every: self.snapshot_every, period: Duration::from_secs(self.snapshot_secs) },
            access: AccessOptions {
                key,
                allow_origins: self.allow_origins.clone(),
                allow_hosts: self.allow_hosts.clone(),
            },
        }))
    }
}

#[derive(Debug, Args)]
pub struct ProduceArgs {
    /// The Redis that holds the log, e.g. redis://127.0.0.1:6379.
    #[arg(long)]
    pub redis: String,
    /// How many events to append.
    #[arg(long)]
    pub count: u64,
    /// The producer's seed: the same seed on the same log gives the same events.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// How many users the events are about.
    #[arg(long, default_value_t = 1_000, value_parser = clap::value_parser!(u32).range(1..))]
    pub users: u32,
    /// How many items the events are about.
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u32).range(1..))]
    pub items: u32,
    /// Events per checked append.
    #[arg(long, default_value_t = 2_000, value_parser = clap::value_parser!(u64).range(1..=MAX_APPEND_EVENTS as u64))]
    pub batch: u64,
    /// The shop's access key file, as the server's; the producer writes to Redis itself.
    #[arg(long, value_name = "FILE")]
    pub access_key_file: Option<PathBuf>,
    /// The shop to append to (1 to 32 of A-Z a-z 0-9 _ -; its pages are at /shop/NAME/).
    #[arg(long, default_value = rewind_protocol::MAIN_SHOP, value_parser = parse_shop)]
    pub shop: ShopName,
}

fn parse_shop(text: &str) -> Result<ShopName, String> {
    ShopName::parse(text).map_err(|e| format!("a shop's name is 1 to 32 of A-Z a-z 0-9 _ -; {text:?} {e}"))
}

impl ProduceArgs {
    pub fn options(&self) -> ProduceOptions {
        ProduceOptions {
            count: self.count,
            seed: self.seed,
            users: self.users,
            items: self.items,
            batch: usize::try_from(self.batch).unwrap_or(2_000),
        }
    }
}
