//! A real `redis-server` for one test (or the benchmark), on a free loopback port with its data in a
//! temporary folder, configured as the project runs it: every write on disk before Redis answers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // helpers of tests stop at the first surprise

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const STREAM_KEY: &str = "rewind:{main}:events";

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("no free loopback port");
    listener.local_addr().expect("a bound socket has an address").port()
}

/// How the project runs Redis: every write on disk before Redis answers, nothing ever evicted.
pub const DURABLE: [&str; 6] = ["--appendonly", "yes", "--appendfsync", "always", "--maxmemory-policy", "noeviction"];

pub struct RedisProcess {
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
    settings: Vec<String>,
}

impl RedisProcess {
    pub fn start() -> Self {
        Self::start_with(&DURABLE)
    }

    /// Redis with other settings than the project's (`--appendonly no`, …).
    pub fn start_with(settings: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("cannot make a folder for Redis's data");
        let port = free_port();
        let settings: Vec<String> = settings.iter().map(|s| (*s).to_owned()).collect();
        let child = spawn(port, dir.path(), &settings);
        let mut redis = Self { port, child: Some(child), dir, settings };
        redis.wait_until_ready();
        redis
    }

    /// Starts Redis again on the same port and data with other settings.
    pub fn restart_with(&mut self, settings: &[&str]) {
        self.settings = settings.iter().map(|s| (*s).to_owned()).collect();
        self.restart();
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Stops Redis at once, as a crash would: whatever it had not written to disk is lost.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts Redis again on the same port with the same data folder.
    pub fn restart(&mut self) {
        self.kill();
        self.child = Some(spawn(self.port, self.dir.path(), &self.settings));
        self.wait_until_ready();
    }

    pub async fn connection(&self) -> redis::aio::MultiplexedConnection {
        let client = redis::Client::open(self.url()).expect("a valid Redis URL");
        // Patient: tests run side by side, each Redis fsyncing every write on two cores.
        let config = redis::AsyncConnectionConfig::new().set_response_timeout(Some(Duration::from_secs(30)));
        client.get_multiplexed_async_connection_with_config(&config).await.expect("Redis answers")
    }

    /// Every `event` line of the stream, in order, with its entry id.
    pub async fn stream(&self) -> Vec<(String, String)> {
        let reply: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
            .arg(STREAM_KEY)
            .arg("-")
            .arg("+")
            .query_async(&mut self.connection().await)
            .await
            .expect("XRANGE answers");
        reply
            .ids
            .into_iter()
            .map(|entry| {
                let line = entry.get::<String>("event").expect("every entry has an event field");
                (entry.id, line)
            })
            .collect()
    }

    pub async fn stream_len(&self) -> u64 {
        redis::cmd("XLEN").arg(STREAM_KEY).query_async(&mut self.connection().await).await.expect("XLEN answers")
    }

    fn wait_until_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if ping(self.port) {
                return;
            }
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                panic!("redis-server stopped at once ({status}); is port {} taken?", self.port);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("redis-server on port {} did not answer PING within 10 s", self.port);
    }
}

impl Drop for RedisProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

fn spawn(port: u16, dir: &Path, settings: &[String]) -> Child {
    Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--dir"])
        .arg(dir)
        .args(["--save", ""])
        .args(settings)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot start redis-server ({e}): install it with `cargo xtask setup` (or apt-get install redis-server)")
        })
}

fn ping(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect((Ipv4Addr::LOCALHOST, port)) else { return false };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    let mut answer = [0u8; 64];
    stream.write_all(b"PING\r\n").is_ok()
        && stream.read(&mut answer).is_ok_and(|n| answer.get(..n).is_some_and(|a| a.starts_with(b"+PONG")))
}

/// A Redis Cluster of `masters` real `redis-server` processes (no replicas), each on a free loopback port
/// with its own data folder and the project's durable settings, joined by `redis-cli --cluster create`.
pub struct RedisCluster {
    nodes: Vec<RedisProcess>,
}

impl RedisCluster {
    pub fn start(masters: usize) -> Self {
        let settings: Vec<&str> =
            DURABLE.iter().copied().chain(["--cluster-enabled", "yes", "--cluster-node-timeout", "5000"]).collect();
        let nodes: Vec<RedisProcess> = (0..masters).map(|_| RedisProcess::start_with(&settings)).collect();
        let addresses: Vec<String> = nodes.iter().map(|n| format!("127.0.0.1:{}", n.port())).collect();
        let created = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&addresses)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .status()
            .expect("cannot run redis-cli (cargo xtask setup installs redis-tools)");
        assert!(created.success(), "redis-cli --cluster create failed");
        let cluster = Self { nodes };
        let deadline = Instant::now() + Duration::from_secs(20);
        while !cluster.nodes.iter().all(|n| info(n.port(), "CLUSTER INFO").contains("cluster_state:ok")) {
            assert!(Instant::now() < deadline, "the cluster did not reach cluster_state:ok within 20 s");
            std::thread::sleep(Duration::from_millis(50));
        }
        cluster
    }

    /// The nodes' process ids.
    pub fn pids(&self) -> Vec<u32> {
        self.nodes.iter().filter_map(RedisProcess::pid).collect()
    }

    /// The nodes' URLs.
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(RedisProcess::url).collect()
    }

    pub async fn connection(&self) -> redis::cluster_async::ClusterConnection {
        redis::cluster::ClusterClient::builder(self.urls())
            .response_timeout(Duration::from_secs(30))
            .build()
            .expect("a cluster client")
            .get_async_connection()
            .await
            .expect("the cluster answers")
    }

    /// The keys matching `pattern` that each node holds itself, by the node's port.
    pub fn keys_by_node(&self, pattern: &str) -> Vec<(u16, Vec<String>)> {
        self.nodes
            .iter()
            .map(|node| (node.port(), info(node.port(), &format!("KEYS {pattern}")).lines().map(str::to_owned).collect()))
            .collect()
    }

    /// The address (`127.0.0.1:PORT`) of the master holding `key`'s slot.
    pub async fn node_of(&self, key: &str) -> String {
        let slot: i64 = redis::cmd("CLUSTER").arg("KEYSLOT").arg(key).query_async(&mut self.connection().await).await.unwrap();
        for node in &self.nodes {
            let owned = info(node.port(), "CLUSTER NODES");
            let myself = owned.lines().find(|l| l.contains("myself")).expect("a CLUSTER NODES line for the node itself");
            for range in myself.split(' ').skip(8) {
                let (from, to) = range.split_once('-').unwrap_or((range, range));
                if let (Ok(from), Ok(to)) = (from.parse::<i64>(), to.parse::<i64>()) {
                    if (from..=to).contains(&slot) {
                        return format!("127.0.0.1:{}", node.port());
                    }
                }
            }
        }
        panic!("no node holds slot {slot}");
    }
}

/// A command's text answer from the node on `port`, through redis-cli.
fn info(port: u16, command: &str) -> String {
    let output = Command::new("redis-cli")
        .args(["-p", &port.to_string()])
        .args(command.split(' '))
        .output()
        .expect("cannot run redis-cli");
    String::from_utf8_lossy(&output.stdout).into_owned()
}
