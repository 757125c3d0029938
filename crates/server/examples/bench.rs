//! Figures of the shared log, printed, never asserted: appends through one server copy and through two,
//! commands decided by the server (group commit) with 1, 8 and 64 clients, raw `XADD` from redis-benchmark
//! against the same Redis with the same clients for comparison, and what a copy costs to start on a million
//! events. Run with `cargo run --release -p rewind-server --example bench`.

// The tests' own Redis process and page-like client; the tests use the rest of them.
#[allow(dead_code)]
#[path = "../tests/common/client.rs"]
mod client;
#[allow(dead_code)]
#[path = "../tests/common/redis.rs"]
mod redis_process;

use client::{top_up, Api, Attempt, Mirror};
use redis_process::{RedisCluster, RedisProcess};
use rewind_server::{produce, AccessOptions, ProduceOptions, RedisLog, ServeOptions, Server, SnapshotPolicy};
use std::error::Error;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

type Result<T> = std::result::Result<T, Box<dyn Error + Send + Sync>>;

const CLIENTS: usize = 8;
const COMMAND_SECONDS: u64 = 5;
const APPENDS: u64 = 4_000;
const BIG_LOG: u64 = 1_000_000;

#[tokio::main]
async fn main() -> Result<()> {
    let redis = RedisProcess::start();
    let dist = tempfile::tempdir()?;
    std::fs::write(dist.path().join("index.html"), "<!doctype html><title>Rewind</title>")?;
    println!(
        "redis-server on port {} (appendonly yes, appendfsync always); {CLIENTS} clients, single-event appends",
        redis.port()
    );

    let one = Copy::start(&redis, dist.path()).await?;
    let figures = append_run(&[one.api()]).await?;
    figures.print("one server");
    let two = Copy::start(&redis, dist.path()).await?;
    let figures = append_run(&[one.api(), two.api()]).await?;
    figures.print("two copies");

    one.stop().await;
    two.stop().await;

    // Commands through a copy in a process of its own, so that the CPU each process spends (the copy, Redis,
    // the clients in this process) is told apart: that is the profile of what bounds each row.
    println!(
        "commands decided by the server (POST /api/command, one top-up each, a key each; the copy in its own \
         process), {COMMAND_SECONDS} s per row; CPU of {} cores:",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let copy = ServerChild::start(&redis.url(), dist.path())?;
    let mut pids = vec![("server", copy.pid()), ("redis", redis.pid().unwrap_or(0))];
    for clients in [1, 8, 64] {
        let cpu = CpuMeter::start(&pids);
        let figures = command_run(&["main"], &[copy.base()], clients).await?;
        figures.print(&format!("one shop, {clients:>2} clients"));
        cpu.print_per(figures.stored as u64);
    }
    drop(copy);
    for clients in [8, 1, 64] {
        let cpu = CpuMeter::start_without_clients(&[("redis", redis.pid().unwrap_or(0))]);
        let sent = redis_benchmark(redis.port(), clients)?;
        cpu.print_per(sent);
    }

    let shops: Vec<String> = (0..8).map(|n| format!("shop{n}")).collect();
    let shops: Vec<&str> = shops.iter().map(String::as_str).collect();
    let copy = ServerChild::start(&redis.url(), dist.path())?;
    pids[0].1 = copy.pid();
    let cpu = CpuMeter::start(&pids);
    command_run(&shops, &[copy.base()], 64).await?.print("8 shops × 8 clients, one Redis");
    cpu.print();
    drop(copy);
    let cluster = RedisCluster::start(3);
    let copy = ServerChild::start(&cluster.urls()[0], dist.path())?;
    let mut pids = vec![("server", copy.pid())];
    pids.extend(cluster.pids().into_iter().map(|pid| ("redis node", pid)));
    let cpu = CpuMeter::start(&pids);
    command_run(&shops, &[copy.base()], 64).await?.print("8 shops × 8 clients, three-master cluster");
    cpu.print();
    drop(copy);
    drop(cluster);

    let redis_log = RedisLog::connect(&redis.url()).await?;
    let head = redis_log.version().await?.head;
    let started = Instant::now();
    let options = ProduceOptions { count: BIG_LOG.saturating_sub(head), batch: 20_000, ..ProduceOptions::default() };
    let produced = produce(&redis_log, options).await?;
    let took = started.elapsed();
    println!(
        "fill: {} events through the checked append in batches of 20,000: {:.1} s ({:.0} events/s); head {}",
        produced.appended,
        took.as_secs_f64(),
        produced.appended as f64 / took.as_secs_f64(),
        produced.version.head
    );

    let started = Instant::now();
    let big = Copy::start(&redis, dist.path()).await?;
    println!(
        "server start (cache built) at {} events: {:.2} s",
        produced.version.head,
        started.elapsed().as_secs_f64()
    );
    let api = big.api();
    let started = Instant::now();
    let (version, bytes) = api.events(0).await?;
    println!(
        "GET /api/events?after=0 at {} events: {:.0} ms, {} bytes ({:.1} bytes/event)",
        version.head,
        started.elapsed().as_secs_f64() * 1e3,
        bytes.len(),
        bytes.len() as f64 / version.head.max(1) as f64
    );
    big.stop().await;
    Ok(())
}

/// A server copy running in this process.
struct Copy {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl Copy {
    async fn start(redis: &RedisProcess, dist: &Path) -> Result<Self> {
        let options = ServeOptions {
            redis_url: redis.url(),
            redis_cluster: Vec::new(),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            dist: dist.to_owned(),
            snapshots: SnapshotPolicy::default(),
            access: AccessOptions::default(),
        };
        let server = Server::start(&options).await?;
        let addr = server.local_addr();
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(async move {
            if let Err(error) = server.run_until(async { stopped.await.unwrap_or(()) }).await {
                eprintln!("bench: a server copy stopped: {error}");
            }
        });
        Ok(Self { addr, stop, task })
    }

    fn api(&self) -> Api {
        Api::new(self.base())
    }

    fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

struct Figures {
    appended: u64,
    elapsed: Duration,
    /// Milliseconds from the first try of an append to its acknowledgement, retries included.
    latencies: Vec<f64>,
    stale: u64,
}

impl Figures {
    fn print(&self, through: &str) {
        let pct = |p: f64| {
            let at = ((self.latencies.len().saturating_sub(1)) as f64 * p).round() as usize;
            self.latencies.get(at).copied().unwrap_or(f64::NAN)
        };
        println!(
            "appends through {through}: {:.0} appends/s ({} in {:.2} s; {} answered 409 and were decided again)",
            self.appended as f64 / self.elapsed.as_secs_f64(),
            self.appended,
            self.elapsed.as_secs_f64(),
            self.stale
        );
        let mean = self.latencies.iter().sum::<f64>() / self.latencies.len().max(1) as f64;
        println!("acknowledged append latency through {through}: p50 {:.2} ms, p95 {:.2} ms", pct(0.50), pct(0.95));
        println!(
            "  (same run: mean {mean:.2} ms, p99 {:.2} ms, max {:.2} ms: a client that just won decides on the newest log and tends to win again)",
            pct(0.99),
            pct(1.0)
        );
    }
}

/// `APPENDS` top-ups by `CLIENTS` concurrent page-like clients, spread over `copies`.
async fn append_run(copies: &[Api]) -> Result<Figures> {
    let tickets = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut clients = Vec::new();
    for c in 0..CLIENTS {
        let api = copies[c % copies.len()].clone();
        let tickets = Arc::clone(&tickets);
        clients.push(tokio::spawn(async move {
            let mut page = Mirror::default();
            page.sync(&api).await.map_err(|e| e.to_string())?;
            let (mut latencies, mut stale) = (Vec::new(), 0);
            let user = format!("b{c}");
            while tickets.fetch_add(1, Ordering::Relaxed) < APPENDS {
                let first_try = Instant::now();
                loop {
                    match page.try_append(&api, &top_up(&user, 1)).await {
                        Attempt::Stored(_) => break,
                        Attempt::Stale => stale += 1,
                        Attempt::Failed(why) => return Err(why),
                    }
                }
                latencies.push(first_try.elapsed().as_secs_f64() * 1e3);
            }
            Ok::<_, String>((latencies, stale))
        }));
    }
    let mut figures = Figures { appended: 0, elapsed: Duration::ZERO, latencies: Vec::new(), stale: 0 };
    for client in clients {
        let (latencies, stale) = client.await??;
        figures.appended += latencies.len() as u64;
        figures.latencies.extend(latencies);
        figures.stale += stale;
    }
    figures.elapsed = started.elapsed();
    figures.latencies.sort_by(f64::total_cmp);
    Ok(figures)
}

/// Commands decided and acknowledged by the server in one run.
struct CommandFigures {
    stored: usize,
    elapsed: Duration,
    /// Milliseconds from sending a command to its acknowledgement.
    latencies: Vec<f64>,
}

impl CommandFigures {
    fn print(&self, through: &str) {
        let pct = |p: f64| {
            let at = ((self.latencies.len().saturating_sub(1)) as f64 * p).round() as usize;
            self.latencies.get(at).copied().unwrap_or(f64::NAN)
        };
        println!(
            "  {through}: {:.0} commands/s ({} in {:.1} s); acknowledged p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            self.stored as f64 / self.elapsed.as_secs_f64(),
            self.stored,
            self.elapsed.as_secs_f64(),
            pct(0.50),
            pct(0.99),
            pct(1.0)
        );
    }
}

/// `clients` clients, each sending one top-up after another (a key each) for [`COMMAND_SECONDS`], spread
/// over `shops` and `copies`.
async fn command_run(shops: &[&str], copies: &[String], clients: usize) -> Result<CommandFigures> {
    static RUN: AtomicU64 = AtomicU64::new(0);
    let run = RUN.fetch_add(1, Ordering::Relaxed);
    let started = Instant::now();
    let until = started + Duration::from_secs(COMMAND_SECONDS);
    let mut tasks = Vec::new();
    for c in 0..clients {
        let url = match shops[c % shops.len()] {
            "main" => format!("{}/api/command", copies[c % copies.len()]),
            shop => format!("{}/shop/{shop}/api/command", copies[c % copies.len()]),
        };
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().map_err(|e| e.to_string())?;
            let mut latencies = Vec::new();
            let mut n = 0u64;
            while Instant::now() < until {
                let body = format!(
                    r#"{{"key":"bench-{run}-{c}-command-{n:08}","command":{{"kind":"TopUp","user":"c{c}","amount":1}}}}"#
                );
                let sent = Instant::now();
                let answer = http.post(&url).header("content-type", "application/json").body(body).send().await;
                match answer {
                    Ok(response) if response.status().is_success() => {}
                    Ok(response) => return Err(format!("a command was answered {}", response.status())),
                    Err(error) => return Err(error.to_string()),
                }
                latencies.push(sent.elapsed().as_secs_f64() * 1e3);
                n += 1;
            }
            Ok::<_, String>(latencies)
        }));
    }
    let mut figures = CommandFigures { stored: 0, elapsed: Duration::ZERO, latencies: Vec::new() };
    for task in tasks {
        figures.latencies.extend(task.await??);
    }
    figures.elapsed = started.elapsed();
    figures.stored = figures.latencies.len();
    figures.latencies.sort_by(f64::total_cmp);
    Ok(figures)
}

/// Raw `XADD`s against the same Redis, for scale: what Redis does without the checks and the script. Returns
/// how many were sent.
fn redis_benchmark(port: u16, clients: usize) -> Result<u64> {
    let output = std::process::Command::new("redis-benchmark")
        .args(["-p", &port.to_string(), "-n", "20000", "-c", &clients.to_string(), "-q", "XADD", "bench", "*", "f", "v"])
        .output()?;
    let text = String::from_utf8_lossy(&output.stdout);
    // -q rewrites its progress line with carriage returns; the last piece of each line is the result.
    let said: Vec<&str> =
        text.lines().filter_map(|line| line.rsplit('\r').map(str::trim).find(|piece| !piece.is_empty())).collect();
    for line in &said {
        println!("redis-benchmark said: {line}");
    }
    let number_after = |marker: &str| {
        said.iter().find_map(|line| {
            let (_, after) = line.split_once(marker)?;
            after.split(|c: char| !(c.is_ascii_digit() || c == '.')).next()?.parse::<f64>().ok()
        })
    };
    let rps = said.iter().find_map(|line| {
        let (before, _) = line.split_once(" requests per second")?;
        before.rsplit(' ').next()?.parse::<f64>().ok()
    });
    match (rps, number_after("p50=")) {
        (Some(rps), Some(p50)) => {
            println!("raw XADD (redis-benchmark, {clients} clients): {rps:.0} requests/s, p50 {p50:.3} ms")
        }
        (Some(rps), None) => println!("raw XADD (redis-benchmark, {clients} clients): {rps:.0} requests/s"),
        _ => println!("raw XADD: could not read redis-benchmark's figures (status {})", output.status),
    }
    Ok(20_000)
}

/// A server copy in a process of its own (the release binary beside this example), killed when dropped.
struct ServerChild {
    child: std::process::Child,
    port: u16,
}

impl ServerChild {
    fn start(redis_url: &str, dist: &Path) -> Result<Self> {
        let binary = std::env::var("REWIND_SERVER").map(std::path::PathBuf::from).unwrap_or_else(|_| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/release/rewind-server")
        });
        let port = redis_process::free_port();
        let child = std::process::Command::new(&binary)
            .args(["--redis", redis_url, "--listen", &format!("127.0.0.1:{port}"), "--dist"])
            .arg(dist)
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {} ({e}): cargo build --release -p rewind-server first", binary.display()))?;
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if started.elapsed() > Duration::from_secs(20) {
                return Err("the server copy did not listen within 20 s".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(Self { child, port })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for ServerChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// CPU time each process (and this one, the clients) spends over a run, from /proc: what the run was
/// bound by, measured rather than guessed.
struct CpuMeter {
    started: Instant,
    processes: Vec<(&'static str, u32, f64)>,
    /// This process's CPU time at the start, when the clients run in it.
    clients: Option<f64>,
}

impl CpuMeter {
    fn start(processes: &[(&'static str, u32)]) -> Self {
        let processes = processes.iter().map(|&(name, pid)| (name, pid, cpu_seconds(&pid.to_string()))).collect();
        Self { started: Instant::now(), processes, clients: Some(cpu_seconds("self")) }
    }

    /// For a run whose clients are another program (redis-benchmark).
    fn start_without_clients(processes: &[(&'static str, u32)]) -> Self {
        Self { clients: None, ..Self::start(processes) }
    }

    /// As [`CpuMeter::print`], with what the first process (the server, or Redis) spent per request.
    fn print_per(&self, requests: u64) {
        self.print();
        let wall = self.started.elapsed().as_secs_f64();
        if let Some((name, pid, before)) = self.processes.iter().find(|(name, ..)| *name == "redis") {
            let spent = cpu_seconds(&pid.to_string()) - before;
            println!("    {name}: {:.1} µs of CPU per request ({requests} in {wall:.1} s)", spent / requests.max(1) as f64 * 1e6);
        }
    }

    fn print(&self) {
        let wall = self.started.elapsed().as_secs_f64();
        let mut parts: Vec<String> = self
            .processes
            .iter()
            .map(|(name, pid, before)| format!("{name} {:.0}%", (cpu_seconds(&pid.to_string()) - before) / wall * 100.0))
            .collect();
        if let Some(clients) = self.clients {
            parts.push(format!("clients {:.0}%", (cpu_seconds("self") - clients) / wall * 100.0));
        }
        println!("    CPU (100% = one core busy): {}", parts.join(", "));
    }
}

/// User and system CPU seconds of process `pid` (`self` for this one) so far; 0 if it cannot be read.
fn cpu_seconds(pid: &str) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return 0.0 };
    // The command name, in parentheses, may hold spaces: the fields are counted after it.
    let Some((_, after)) = stat.rsplit_once(')') else { return 0.0 };
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |ix: usize| fields.get(ix).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name and state.
    (ticks(11) + ticks(12)) / 100.0
}
