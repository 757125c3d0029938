//! Rewind's dev tooling. `cargo xtask serve` and `cargo xtask test` each install whatever is missing on a
//! fresh Debian machine (wasm target, trunk, wasm-bindgen-cli, Chromium and its driver, binaryen, Python
//! Playwright) and then serve the app or run every test. Both are idempotent: with the tools present they
//! only check versions. `cargo xtask fuzz [SECONDS] [TARGET…]` runs the decoders' fuzz targets (fuzz/, nightly and
//! cargo-fuzz, installed if missing); it is not part of `test`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

const TRUNK_VERSION: &str = "^0.21";
const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// Debian's Redis (7.0): the shared log's engine, for `serve --shared` and the sync server's tests.
const REDIS_SERVER: &str = "/usr/bin/redis-server";
const REDIS_BENCHMARK: &str = "/usr/bin/redis-benchmark";
const BROTLI: &str = "/usr/bin/brotli";
/// The page's budget: the WebAssembly a browser downloads, gzipped (issue 26).
const WASM_GZIP_BUDGET: u64 = 300 * 1024;
/// The size profiler `cargo xtask bench size` runs over the app's WebAssembly (installed if missing).
const TWIGGY_VERSION: &str = "0.8.0";
const PY_PACKAGES: [&str; 2] = ["playwright>=1.50,<2", "pytest>=8,<10"];
/// wasm-opt comes from the npm registry's binaryen build: Debian's version 108 breaks the externref table
/// that wasm-bindgen 0.2.130 emits (the optimised page fails at start). Installed under `.tools/`.
const BINARYEN: &str = "binaryen@132.0.0";
const WASM_OPT_VERSION: &str = "wasm-opt version 132";
/// wasm-opt's options for every module of the page: the WebAssembly features Rust's wasm32 target emits.
const WASM_OPT_ARGS: [&str; 7] = [
    "-Oz",
    "--enable-bulk-memory",
    "--enable-nontrapping-float-to-int",
    "--enable-sign-ext",
    "--enable-mutable-globals",
    "--enable-reference-types",
    "--enable-multivalue",
];
/// The splitter that cuts the page's WebAssembly at its split points (`#[wasm_split]`, src/split.rs) into the
/// module the page starts with and the modules it fetches later. 0.2.4 knows wasm-bindgen 0.2.130's imports.
const WASM_SPLIT_VERSION: &str = "0.2.4";
/// axe-core, the accessibility checker the end-to-end tests run over every panel (from npm, under `.tools/`).
const AXE_CORE: &str = "axe-core@4.10.3";
/// The cargo-fuzz targets in fuzz/fuzz_targets/, and how long `cargo xtask fuzz` runs each by default.
const FUZZ_TARGETS: [&str; 4] = ["jsonl_import", "chunk_decode", "snapshot_decode", "server_request"];
const FUZZ_SECONDS: u64 = 60;

type Result<T = ()> = std::result::Result<T, String>;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let task = args.first().map(String::as_str).unwrap_or("help");
    let rest = args.get(1..).unwrap_or_default();
    let outcome = match task {
        "setup" => setup(),
        "serve" => setup().and_then(|()| serve(rest)),
        "test" => setup().and_then(|()| test(rest)),
        "bench" => setup().and_then(|()| bench(rest)),
        "fuzz" => fuzz(rest),
        // Not for people: the step of trunk's build (Trunk.toml's hook) that makes the page's WebAssembly.
        "page" => page(),
        _ => {
            eprintln!(
                "usage: cargo xtask <task>\n\n  serve   install what is missing, then serve the app at http://127.0.0.1:8080\n  \
                 serve --shared [--cluster]\n          \
                 the same, with the log shared through Redis and rewind-server (data under target/redis; with\n          \
                 --cluster a Redis Cluster of three masters, data under target/redis-cluster)\n  \
                 test    install what is missing, then run every test (native, browser, end-to-end)\n  \
                 bench [PART…]\n          install what is missing, then run the benchmarks (native, browser, app, history, scale, query, shared, outbox, size, baseline)\n  \
                 fuzz [SECONDS] [TARGET…]\n          \
                 run each fuzz target of fuzz/ (or those named) for SECONDS (default 60), installing nightly and cargo-fuzz if missing\n  \
                 setup   only install what is missing"
            );
            return ExitCode::from(2);
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask {task}: {message}");
            ExitCode::FAILURE
        }
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."))
}

fn run(cmd: &mut Command) -> Result {
    eprintln!("+ {cmd:?}");
    let status = cmd.status().map_err(|e| format!("could not start {:?}: {e}", cmd.get_program()))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{:?} failed ({status})", cmd.get_program()))
    }
}

/// The first line a tool prints for `--version`, if it runs at all.
fn version_of(program: &str, arg: &str) -> Option<String> {
    let out = Command::new(program).arg(arg).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).lines().next().unwrap_or("").to_owned())
}

fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(root());
    cmd
}

fn setup() -> Result {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("wasm32-unknown-unknown"))
        .unwrap_or(false);
    if !installed {
        run(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))?;
    }

    let debs = [
        ("chromium", CHROMIUM),
        ("chromium-driver", CHROMEDRIVER),
        ("redis-server", REDIS_SERVER),
        ("redis-tools", REDIS_BENCHMARK),
        // The release build's hook writes a brotli copy of the page's files (Trunk.toml).
        ("brotli", BROTLI),
    ];
    let missing_debs: Vec<&str> = debs
        .into_iter()
        .filter(|(_, bin)| version_of(bin, "--version").is_none())
        .map(|(deb, _)| deb)
        .collect();
    if !missing_debs.is_empty() {
        apt_install(&missing_debs)?;
    }

    if !version_of("trunk", "--version").is_some_and(|v| v.starts_with("trunk 0.21")) {
        run(cargo().args(["install", "--locked", "trunk", "--version", TRUNK_VERSION]))?;
    }

    let bindgen = wasm_bindgen_version()?;
    let want = format!("wasm-bindgen {bindgen}");
    let have_cli = version_of("wasm-bindgen", "--version").is_some_and(|v| v == want)
        && version_of("wasm-bindgen-test-runner", "--version").is_some_and(|v| v.ends_with(&bindgen));
    if !have_cli {
        // Not --locked: its lock file names a crate version the registry here lacks.
        run(cargo().args(["install", "--force", "wasm-bindgen-cli", "--version", &bindgen]))?;
    }

    // The splitter says no version of its own: cargo's list of what it installed does.
    let splitter = format!("wasm_split_cli_support v{WASM_SPLIT_VERSION}:");
    let has_splitter = cargo().args(["install", "--list"]).output().is_ok_and(|o| {
        String::from_utf8_lossy(&o.stdout).lines().any(|l| l == splitter)
    }) && Command::new("wasm-split-cli").arg("--help").output().is_ok_and(|o| o.status.success());
    if !has_splitter {
        run(cargo()
            .args(["install", "--locked", "--force", "wasm_split_cli_support", "--features", "build-binary", "--version"])
            .arg(WASM_SPLIT_VERSION))?;
    }

    let wasm_opt = tools_bin().join("wasm-opt");
    if !version_of(&wasm_opt.to_string_lossy(), "--version").is_some_and(|v| v.starts_with(WASM_OPT_VERSION)) {
        let prefix = root().join(".tools");
        run(Command::new("npm").args(["install", "--no-audit", "--no-fund", "--prefix"]).arg(&prefix).arg(BINARYEN))?;
    }
    let axe = root().join(".tools/node_modules/axe-core/package.json");
    let axe_version = AXE_CORE.trim_start_matches("axe-core@");
    if !std::fs::read_to_string(&axe).is_ok_and(|p| p.contains(&format!("\"version\": \"{axe_version}\""))) {
        let prefix = root().join(".tools");
        run(Command::new("npm").args(["install", "--no-audit", "--no-fund", "--prefix"]).arg(&prefix).arg(AXE_CORE))?;
    }

    let has_py = Command::new("python3")
        .args(["-c", "import playwright, pytest"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_py {
        // Only the Python package: it drives Debian's Chromium, it never downloads a browser.
        run(Command::new("python3").args(["-m", "pip", "install", "--quiet"]).args(PY_PACKAGES))?;
    }
    Ok(())
}

fn apt_install(packages: &[&str]) -> Result {
    let is_root = Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let apt = |args: &[&str]| {
        let mut cmd = if is_root { Command::new("apt-get") } else { Command::new("sudo") };
        if !is_root {
            cmd.arg("apt-get");
        }
        cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        cmd
    };
    run(&mut apt(&["update", "-q"]))?;
    run(apt(&["install", "-y", "-q"]).args(packages))
}

/// The wasm-bindgen version in Cargo.lock: the CLI must match it exactly.
fn wasm_bindgen_version() -> Result<String> {
    let lock = root().join("Cargo.lock");
    if !lock.exists() {
        run(cargo().args(["generate-lockfile"]))?;
    }
    let text = std::fs::read_to_string(&lock).map_err(|e| format!("cannot read Cargo.lock: {e}"))?;
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line == "name = \"wasm-bindgen\"" {
            if let Some(v) = lines.next().and_then(|l| l.strip_prefix("version = \"")) {
                return Ok(v.trim_end_matches('"').to_owned());
            }
        }
    }
    Err("Cargo.lock names no wasm-bindgen version".into())
}

fn browser_env(cmd: &mut Command) -> &mut Command {
    cmd.env("CHROMEDRIVER", CHROMEDRIVER)
        .env("WASM_BINDGEN_TEST_WEBDRIVER_JSON", root().join("webdriver.json"))
        .env("WASM_BINDGEN_TEST_TIMEOUT", "300")
}

/// Where the project's own npm tools live (wasm-opt).
fn tools_bin() -> PathBuf {
    root().join(".tools/node_modules/.bin")
}

fn trunk() -> Command {
    let mut cmd = Command::new("trunk");
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs = vec![tools_bin()];
    dirs.extend(std::env::split_paths(&path));
    if let Ok(joined) = std::env::join_paths(dirs) {
        cmd.env("PATH", joined);
    }
    cmd.current_dir(root());
    cmd
}

fn serve(args: &[String]) -> Result {
    if args.iter().any(|a| a == "--shared") {
        return match args.iter().any(|a| a == "--cluster") {
            true => serve_cluster(),
            false => serve_shared(),
        };
    }
    eprintln!("Rewind: open http://127.0.0.1:8080 once trunk says it is serving.");
    run(trunk().args(["serve", "--offline"]))
}

/// The shared log: Redis on 127.0.0.1 (appendonly, fsync on every write, data under target/redis), the app
/// built, and rewind-server in front of both on 127.0.0.1:8080.
fn serve_shared() -> Result {
    const REDIS_PORT: &str = "6390";
    let data = root().join("target/redis");
    std::fs::create_dir_all(&data).map_err(|e| format!("cannot create {}: {e}", data.display()))?;
    run(trunk().args(["build", "--release", "--offline"]))?;
    run(cargo().args(["build", "--release", "-p", "rewind-server"]))?;
    let already = Command::new("redis-cli").args(["-p", REDIS_PORT, "ping"]).output().is_ok_and(|o| o.stdout.starts_with(b"PONG"));
    if !already {
        run(Command::new(REDIS_SERVER)
            .args(["--port", REDIS_PORT, "--bind", "127.0.0.1", "--daemonize", "yes", "--appendonly", "yes"])
            .args(["--appendfsync", "always", "--save", "", "--dir"])
            .arg(&data)
            .arg("--logfile")
            .arg(data.join("redis.log")))?;
    }
    eprintln!("Rewind: Redis on 127.0.0.1:{REDIS_PORT} (stop it with `redis-cli -p {REDIS_PORT} shutdown`).");
    eprintln!("Rewind: open http://127.0.0.1:8080 in as many browsers as you like: they share one log.");
    run(Command::new(root().join("target/release/rewind-server"))
        .args(["--redis", &format!("redis://127.0.0.1:{REDIS_PORT}"), "--listen", "127.0.0.1:8080", "--dist"])
        .arg(root().join("dist")))
}

/// The shared log on a Redis Cluster of three masters (127.0.0.1:6391-6393, data under
/// target/redis-cluster), each shop on the node its hash tag maps to; rewind-server in front on 127.0.0.1:8080.
fn serve_cluster() -> Result {
    const PORTS: [&str; 3] = ["6391", "6392", "6393"];
    run(trunk().args(["build", "--release", "--offline"]))?;
    run(cargo().args(["build", "--release", "-p", "rewind-server"]))?;
    let answers = |port: &str, command: &[&str]| {
        Command::new("redis-cli").args(["-p", port]).args(command).output().map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
    };
    for port in PORTS {
        if answers(port, &["ping"]).is_ok_and(|said| said.starts_with("PONG")) {
            continue;
        }
        let data = root().join("target/redis-cluster").join(port);
        std::fs::create_dir_all(&data).map_err(|e| format!("cannot create {}: {e}", data.display()))?;
        run(Command::new(REDIS_SERVER)
            .args(["--port", port, "--bind", "127.0.0.1", "--daemonize", "yes", "--appendonly", "yes"])
            .args(["--appendfsync", "always", "--maxmemory-policy", "noeviction", "--save", ""])
            .args(["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--dir"])
            .arg(&data)
            .arg("--logfile")
            .arg(data.join("redis.log")))?;
    }
    let nodes: Vec<String> = PORTS.iter().map(|port| format!("127.0.0.1:{port}")).collect();
    let formed = |port: &str| answers(port, &["cluster", "info"]).is_ok_and(|said| said.contains("cluster_state:ok"));
    if !formed(PORTS[0]) {
        // Give the nodes a moment to listen, then join them (once: the nodes keep it in nodes.conf).
        std::thread::sleep(std::time::Duration::from_millis(500));
        run(Command::new("redis-cli").args(["--cluster", "create"]).args(&nodes).args(["--cluster-replicas", "0", "--cluster-yes"]))?;
        let started = Instant::now();
        while !PORTS.iter().all(|port| formed(port)) {
            if started.elapsed().as_secs() > 20 {
                return Err("the Redis Cluster did not reach cluster_state:ok within 20 s (see target/redis-cluster/*/redis.log)".into());
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
    eprintln!(
        "Rewind: a Redis Cluster of three masters on 127.0.0.1:{} (stop each with `redis-cli -p PORT shutdown`).",
        PORTS.join(", ")
    );
    eprintln!("Rewind: open http://127.0.0.1:8080 (shop main) or http://127.0.0.1:8080/shop/NAME/ (shop NAME, on its own node).");
    let mut server = Command::new(root().join("target/release/rewind-server"));
    for node in &nodes {
        server.args(["--redis-cluster", &format!("redis://{node}")]);
    }
    run(server.args(["--listen", "127.0.0.1:8080", "--dist"]).arg(root().join("dist")))
}

fn test(args: &[String]) -> Result {
    let only = |part: &str| args.is_empty() || args.iter().any(|a| a == part);
    if only("lint") {
        // The root crate denies unsafe code instead of forbidding it for the one module that must allow it.
        let mut sources = Vec::new();
        for dir in ["src", "tests"] {
            files_under(&root().join(dir), &format!("{dir}/"), &mut sources)?;
        }
        let allowed: Vec<&String> = sources
            .iter()
            .filter(|path| path.ends_with(".rs"))
            .filter(|path| std::fs::read_to_string(root().join(path)).is_ok_and(|text| text.contains("allow(unsafe_code)")))
            .collect();
        if allowed != [&"src/split.rs".to_owned()] {
            return Err(format!("unsafe code may be allowed in src/split.rs (the split points' glue) and nowhere else; allowed in {allowed:?}"));
        }
        // Tidy checks: no unwrap/expect/panic outside tests, and clippy clean, natively and for the browser.
        run(cargo().args(["clippy", "-p", "rewind-domain", "-p", "rewind-protocol", "-p", "rewind-server", "-p", "xtask", "--all-targets", "--", "-D", "warnings"]))?;
        run(cargo().args(["clippy", "--target", "wasm32-unknown-unknown", "-p", "rewind-store", "-p", "rewind", "--all-targets", "--", "-D", "warnings"]))?;
    }
    if only("native") {
        run(cargo().args(["test", "-p", "rewind-domain", "-p", "rewind-protocol", "-p", "xtask", "--release"]))?;
        // The sync server against real Redis servers that its tests start on free loopback ports.
        run(cargo().args(["test", "-p", "rewind-server", "--release"]))?;
        // The store's pure parts (the snapshot policy) run natively too, and the session over the memory store
        // with a clock of the test's own.
        run(cargo().args(["test", "-p", "rewind-store", "--lib"]))?;
        run(cargo().args(["test", "-p", "rewind", "--test", "session_native"]))?;
    }
    if only("browser") {
        run(browser_env(&mut cargo()).args(["test", "--target", "wasm32-unknown-unknown", "-p", "rewind-domain", "-p", "rewind-store"]))?;
        // The app's session against real IndexedDB, and its pure view helpers (its components are covered
        // end to end).
        run(browser_env(&mut cargo()).args(["test", "--target", "wasm32-unknown-unknown", "-p", "rewind", "--lib", "--test", "session"]))?;
    }
    if only("e2e") {
        run(trunk().args(["build", "--release", "--offline"]))?;
        // The shared-log pages run against the real server binary.
        run(cargo().args(["build", "--release", "-p", "rewind-server"]))?;
        run(Command::new("python3").current_dir(root()).args(["-m", "pytest", "-q", "tests/e2e"]))?;
    }
    Ok(())
}

fn bench(args: &[String]) -> Result {
    let only = |part: &str| args.is_empty() || args.iter().any(|a| a == part);
    if only("native") {
        run(cargo().args(["bench", "-p", "rewind-domain", "--bench", "domain"]))?;
    }
    if only("browser") {
        run(browser_env(&mut cargo()).env("WASM_BINDGEN_TEST_TIMEOUT", "900").args([
            "test", "--release", "--target", "wasm32-unknown-unknown", "-p", "rewind-store", "--features", "bench",
            "--test", "bench", "--", "--nocapture",
        ]))?;
    }
    if only("app") {
        run(trunk().args(["build", "--release", "--offline"]))?;
        run(Command::new("python3").current_dir(root()).args(["tests/e2e/bench_app.py"]))?;
    }
    if only("history") {
        // Diff, blame and a branch at 1,000,000 events and 100,000 users, on screen.
        run(trunk().args(["build", "--release", "--offline"]))?;
        run(Command::new("python3").current_dir(root()).args(["tests/e2e/bench_history.py"]))?;
    }
    if only("scale") {
        // Issue 14's figures at 1,000,000 events and 100,000 users: moves, clicks, import, reload, memory.
        run(trunk().args(["build", "--release", "--offline"]))?;
        run(Command::new("python3").current_dir(root()).args(["tests/e2e/bench_scale.py"]))?;
    }
    if only("query") {
        // The query bar and a read model at 1,000,000 events and 100,000 users, beside the plain-JavaScript
        // filter and Map fold of the yardstick in the same run.
        run(trunk().args(["build", "--release", "--offline"]))?;
        run(Command::new("python3").current_dir(root()).args(["tests/e2e/bench_query.py"]))?;
        let script = root().join("../shared/bench/run-js-baseline.py");
        if script.exists() {
            run(Command::new("python3").arg(script).arg("1000000"))?;
        }
    }
    if only("shared") {
        // The sync server beside raw XADD (redis-benchmark) in the same run.
        // The example starts copies of the release binary in processes of their own: it is built first.
        run(cargo().args(["build", "--release", "-p", "rewind-server"]))?;
        run(cargo().args(["run", "--release", "-p", "rewind-server", "--example", "bench"]))?;
        run(trunk().args(["build", "--release", "--offline"]))?;
        run(Command::new("python3").current_dir(root()).args(["tests/e2e/bench_shared.py"]))?;
    }
    if only("outbox") {
        // 1,000 commands kept while the server was down, sent when it is back, beside the page's timeline moves.
        run(cargo().args(["build", "--release", "-p", "rewind-server"]))?;
        run(trunk().args(["build", "--release", "--offline"]))?;
        run(Command::new("python3").current_dir(root()).args(["tests/e2e/bench_outbox.py"]))?;
    }
    if only("size") {
        size()?;
    }
    if only("baseline") {
        // The yardstick: plain JavaScript and raw IndexedDB in the same browser.
        let script = root().join("../shared/bench/run-js-baseline.py");
        if script.exists() {
            run(Command::new("python3").arg(script).arg("1000000"))?;
        } else {
            eprintln!("../shared/bench is not beside this checkout: no baseline to run");
        }
    }
    Ok(())
}

/// Which split points need each chunk of shared code, from the loader that `wasm-split-cli` writes: every
/// `const __chunk_N` follows a comment naming them (`/* later_parts, shared_log */`).
fn split_modules_needs(loader: &str) -> Vec<(String, Vec<String>)> {
    let mut needs = Vec::new();
    let mut by = Vec::new();
    for line in loader.lines().map(str::trim) {
        if let Some(names) = line.strip_prefix("/*").and_then(|l| l.strip_suffix("*/")) {
            by = names.split(',').map(|n| n.trim().to_owned()).filter(|n| !n.is_empty()).collect();
        } else if let Some(rest) = line.strip_prefix("const __chunk_") {
            let n: String = rest.chars().take_while(char::is_ascii_digit).collect();
            needs.push((format!("chunk_{n}"), std::mem::take(&mut by)));
        }
    }
    needs
}

/// `cargo xtask bench size`: the release page's files raw, gzipped and brotli-compressed (the copies the build's
/// hook wrote, as rewind-server sends them), the WebAssembly the page starts with against its budget, and that
/// module's largest contributors by crate and by function from `twiggy` (as the splitter left it, which still
/// has names: before wasm-bindgen and wasm-opt, so the shares matter more than the bytes).
fn size() -> Result {
    run(trunk().args(["build", "--release", "--offline"]))?;
    let dist = root().join("dist");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dist)
        .map_err(|e| format!("cannot list {}: {e}", dist.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "wasm" || x == "js" || x == "css" || x == "html"))
        .collect();
    files.sort();
    let len = |p: &Path| std::fs::metadata(p).map(|m| m.len()).ok();
    let kb = |n: Option<u64>| n.map_or("-".to_owned(), |n| format!("{:.1} KB", n as f64 / 1024.0));
    println!("\n{:<44} {:>12} {:>12} {:>12}", "file (dist/)", "raw", "gzip -9", "brotli -q 11");
    // The module the page starts with (`rewind-…_bg.wasm`) is what the budget is for. A page on a sync server
    // also fetches the shared log's module (and the chunks it imports) before it opens the log; the later parts
    // come once the shop is on screen (src/split.rs).
    let mut first_gz = None;
    let mut gzipped = Vec::new();
    for file in &files {
        let with = |ext: &str| {
            let mut name = file.as_os_str().to_owned();
            name.push(ext);
            len(Path::new(&name))
        };
        let (gz, br) = (with(".gz"), with(".br"));
        let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if name.ends_with("_bg.wasm") {
            first_gz = gz;
        }
        if name.ends_with(".wasm") {
            gzipped.push((name.clone(), gz.unwrap_or(0)));
        }
        println!("{name:<44} {:>12} {:>12} {:>12}", kb(len(file)), kb(gz), kb(br));
    }
    // Over the budget, the release build above has failed already (`cargo xtask page`).
    match first_gz {
        Some(gz) => println!("WebAssembly the page starts with, gzipped: {} of the {} budget", kb(Some(gz)), kb(Some(WASM_GZIP_BUDGET))),
        None => println!("no gzipped WebAssembly in dist/: the release build's hook did not run (Trunk.toml)"),
    }
    let loader = files.iter().find(|f| f.file_name().is_some_and(|n| n.to_string_lossy().starts_with("__wasm_split")));
    let loader = loader.map(|f| std::fs::read_to_string(f).unwrap_or_default()).unwrap_or_default();
    let needs = split_modules_needs(&loader);
    let before_shared: u64 = gzipped
        .iter()
        .filter(|(name, _)| name.starts_with("split_shared_log") || needs.iter().any(|(chunk, by)| name.starts_with(&format!("{chunk}-")) && by.iter().any(|b| b == "shared_log")))
        .map(|(_, gz)| gz)
        .sum();
    println!(
        "a page on a sync server fetches before it opens the log, gzipped: {} more ({} in all)",
        kb(Some(before_shared)),
        kb(Some(first_gz.unwrap_or(0) + before_shared))
    );
    println!("all the page's WebAssembly, gzipped: {}", kb(Some(gzipped.iter().map(|(_, gz)| gz).sum())));

    if version_of("twiggy", "--version").is_none_or(|v| !v.ends_with(TWIGGY_VERSION)) {
        run(cargo().args(["install", "--locked", "twiggy", "--version", TWIGGY_VERSION]))?;
    }
    // The module the page starts with as the splitter left it: still named, before wasm-bindgen and wasm-opt.
    let target = target_dir();
    let linked = target.join("page/release/split/rewind.wasm");
    let out = Command::new("twiggy")
        .args(["top", "-n", "1000000", "-f", "csv"])
        .arg(&linked)
        .output()
        .map_err(|e| format!("could not start twiggy: {e}"))?;
    if !out.status.success() {
        return Err(format!("twiggy top {} failed: {}", linked.display(), String::from_utf8_lossy(&out.stderr)));
    }
    let items = twiggy_items(&String::from_utf8_lossy(&out.stdout));
    let code: Vec<&(String, u64)> = items.iter().filter(|(name, _)| !is_metadata(name)).collect();
    let total: u64 = code.iter().map(|(_, size)| size).sum();
    let mut by_crate: Vec<(String, u64)> = Vec::new();
    for (name, size) in &code {
        let krate = crate_of(name);
        match by_crate.iter_mut().find(|(k, _)| *k == krate) {
            Some((_, sum)) => *sum += size,
            None => by_crate.push((krate, *size)),
        }
    }
    by_crate.sort_by_key(|(_, size)| std::cmp::Reverse(*size));
    println!("\nlargest contributors to the module the page starts with, by crate (before wasm-bindgen and wasm-opt: {})", kb(Some(total)));
    for (krate, size) in by_crate.iter().take(15) {
        println!("{:>10}  {:>5.1}%  {krate}", kb(Some(*size)), *size as f64 * 100.0 / total.max(1) as f64);
    }
    println!("\nlargest functions");
    for (name, size) in code.iter().take(15) {
        let short: String = name.chars().take(110).collect();
        println!("{:>10}  {short}", kb(Some(*size)));
    }
    Ok(())
}

/// Name and shallow size of each row of `twiggy top -f csv` (the name is quoted when it holds a comma or a
/// quote, with quotes doubled).
fn twiggy_items(csv: &str) -> Vec<(String, u64)> {
    let mut items = Vec::new();
    for line in csv.lines().skip(1) {
        let (name, rest) = match line.strip_prefix('"') {
            Some(quoted) => {
                let mut name = String::new();
                let mut chars = quoted.char_indices().peekable();
                let mut end = None;
                while let Some((i, c)) = chars.next() {
                    if c == '"' {
                        if chars.peek().is_some_and(|(_, next)| *next == '"') {
                            chars.next();
                            name.push('"');
                        } else {
                            end = Some(i + 1);
                            break;
                        }
                    } else {
                        name.push(c);
                    }
                }
                match end.and_then(|e| quoted.get(e..)) {
                    Some(rest) => (name, rest.trim_start_matches(',')),
                    None => continue,
                }
            }
            None => match line.split_once(',') {
                Some((name, rest)) => (name.to_owned(), rest),
                None => continue,
            },
        };
        if let Some(size) = rest.split(',').next().and_then(|s| s.trim().parse::<u64>().ok()) {
            items.push((name, size));
        }
    }
    items
}

/// Sections that wasm-bindgen and wasm-opt remove: names, wasm-bindgen's own descriptions, exports' entries.
fn is_metadata(name: &str) -> bool {
    name.contains("\"function names\" subsection")
        || name.starts_with("custom section")
        || name.starts_with("export ")
        || name.contains("wasm_bindgen::describe")
        || name.starts_with("__wbindgen_describe")
}

/// The crate a symbol's code comes from: the first path segment, looking through `<impl … for …>` and `<T as …>`.
fn crate_of(name: &str) -> String {
    if name.starts_with("data") {
        return "data (strings, tables)".to_owned();
    }
    let trimmed = name.trim_start_matches(['<', '&']).trim_start_matches("impl ").trim_start_matches("mut ");
    let trimmed = trimmed.strip_prefix("T as ").or_else(|| trimmed.strip_prefix("F as ")).unwrap_or(trimmed);
    let head: String = trimmed.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
    if head.is_empty() { "(other)".to_owned() } else { head }
}

/// `cargo xtask page`, trunk's hook (Trunk.toml): the page's WebAssembly, cut at its split points. cargo builds
/// the app (the linker keeps its relocations, .cargo/config.toml), `wasm-split-cli` cuts it into the module the
/// page starts with and the modules it fetches later (with the JavaScript that loads them), wasm-bindgen makes
/// the first one's glue and wasm-opt shrinks each one (release only). trunk has no step between cargo and
/// wasm-bindgen, which is why this is not trunk's own Rust build. The files go into trunk's staging directory
/// named by one hash of them all, as trunk names its own (a module fits only the build it was cut from), and the
/// page gets the script that starts the first module and names the rest for the service worker.
fn page() -> Result {
    let env = |name: &str| std::env::var(name).map_err(|_| format!("{name} is not set: `cargo xtask page` is trunk's hook, run by `trunk build`"));
    let staging = PathBuf::from(env("TRUNK_STAGING_DIR")?);
    let release = env("TRUNK_PROFILE")? == "release";
    let public = std::env::var("TRUNK_PUBLIC_URL").unwrap_or_else(|_| "/".into());
    let profile = if release { "release" } else { "debug" };

    let mut build = cargo();
    build.args(["build", "--target", "wasm32-unknown-unknown", "-p", "rewind", "--bin", "rewind"]);
    if release {
        build.arg("--release");
    }
    run(&mut build)?;
    let target = target_dir();
    let built = target.join("wasm32-unknown-unknown").join(profile).join("rewind.wasm");
    let work = target.join("page").join(profile);
    let (split, bound) = (work.join("split"), work.join("bindgen"));
    let _ = std::fs::remove_dir_all(&work);
    run(Command::new("wasm-split-cli").args(["--target", "web", "--out-name", "rewind"]).arg(&built).arg(&split))?;
    if release {
        let linked = std::fs::read(split.join("rewind.wasm")).map_err(|e| format!("cannot read the split module: {e}"))?;
        if let Some(found) = shared_log_code_in(&linked) {
            return Err(format!(
                "the module the page starts with holds the shared log's code ({found}): a function of the first \
                 module calls it directly; reach it through the store's Remote or the session's Outboxing (issue 26)"
            ));
        }
    }
    run(Command::new("wasm-bindgen")
        .args(["--target", "web", "--keep-lld-exports", "--no-demangle", "--no-typescript", "--out-name", "rewind", "--out-dir"])
        .arg(&bound)
        .arg(split.join("rewind.wasm")))?;

    // The modules fetched later: `split_<name>.wasm` for each split point, `chunk_<n>.wasm` for code several share.
    let mut later: Vec<String> = list(&split)?
        .into_iter()
        .filter(|name| name.ends_with(".wasm") && (name.starts_with("split_") || name.starts_with("chunk_")))
        .collect();
    later.sort();
    let mut modules = vec![bound.join("rewind_bg.wasm")];
    modules.extend(later.iter().map(|name| split.join(name)));
    if release {
        for module in &modules {
            run(Command::new(tools_bin().join("wasm-opt")).args(WASM_OPT_ARGS).arg(module).arg("-o").arg(module))?;
        }
    }

    let read = |path: &Path| std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()));
    let glue = String::from_utf8_lossy(&read(&bound.join("rewind.js"))?).into_owned();
    let loader = String::from_utf8_lossy(&read(&split.join("__wasm_split.js"))?).into_owned();
    let first = read(&bound.join("rewind_bg.wasm"))?;
    let mut later_bytes = Vec::new();
    for name in &later {
        later_bytes.push(read(&split.join(name))?);
    }
    // wasm-bindgen's snippets (the JavaScript of `inline_js`), by their paths under snippets/.
    let mut snippet_paths = Vec::new();
    files_under(&bound.join("snippets"), "", &mut snippet_paths)?;
    snippet_paths.sort();
    let mut snippets = Vec::new();
    for path in snippet_paths {
        let bytes = read(&bound.join("snippets").join(&path))?;
        snippets.push((path, bytes));
    }
    let mut hasher = std::hash::DefaultHasher::new();
    for part in [glue.as_bytes(), loader.as_bytes(), &first].into_iter().chain(later_bytes.iter().map(Vec::as_slice)) {
        std::hash::Hash::hash(part, &mut hasher);
    }
    for (_, bytes) in &snippets {
        std::hash::Hash::hash(bytes, &mut hasher);
    }
    let hash = format!("{:016x}", std::hash::Hasher::finish(&hasher));
    let hashed = |name: &str| match name.rsplit_once('.') {
        Some((stem, ext)) => format!("{stem}-{hash}.{ext}"),
        None => format!("{name}-{hash}"),
    };

    let write = |name: &str, bytes: &[u8]| {
        let path = staging.join(name);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        std::fs::write(&path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))
    };
    let (glue_name, main_name, loader_name) = (hashed("rewind.js"), format!("rewind-{hash}_bg.wasm"), hashed("__wasm_split.js"));
    // Every name one file gives another is rewritten, and each must be found: a tool that words its output
    // differently fails the build here instead of the page in the browser.
    let mut glue = rewrite(&glue, "from \"./__wasm_split.js\"", &format!("from \"./{loader_name}\""))?;
    glue = rewrite(&glue, "'rewind_bg.wasm'", &format!("'{main_name}'"))?;
    let mut snippet_names = Vec::new();
    for (path, bytes) in &snippets {
        let name = format!("snippets/{}", hashed(path));
        glue = rewrite(&glue, &format!("'./snippets/{path}'"), &format!("'./{name}'"))?;
        write(&name, bytes)?;
        snippet_names.push(name);
    }
    write(&glue_name, glue.as_bytes())?;
    write(&main_name, &first)?;
    let mut loader = rewrite(&loader, "\"./rewind.js\"", &format!("\"./{glue_name}\""))?;
    for (name, bytes) in later.iter().zip(&later_bytes) {
        loader = rewrite(&loader, &format!("\"./{name}\""), &format!("\"./{}\"", hashed(name)))?;
        write(&hashed(name), bytes)?;
    }
    write(&loader_name, loader.as_bytes())?;

    let mut named_later = vec![format!("\"{public}{loader_name}\"")];
    named_later.extend(later.iter().map(|name| format!("\"{public}{}\"", hashed(name))));
    // The snippets are imported by the script the page starts with: preloaded, and so named for the worker.
    let preload_snippets: String = snippet_names
        .iter()
        .map(|name| format!("  <link rel=\"modulepreload\" href=\"{public}{name}\" crossorigin=\"anonymous\" />\n"))
        .collect();
    let start = format!(
        "  <link rel=\"modulepreload\" href=\"{public}{glue_name}\" crossorigin=\"anonymous\" />\n{preload_snippets}  \
         <link rel=\"preload\" href=\"{public}{main_name}\" as=\"fetch\" type=\"application/wasm\" crossorigin=\"anonymous\" />\n  \
         <script type=\"module\">\n    \
         import init, * as bindings from '{public}{glue_name}';\n    \
         const wasm = await init({{ module_or_path: '{public}{main_name}' }});\n    \
         window.wasmBindings = bindings;\n    \
         dispatchEvent(new CustomEvent('TrunkApplicationStarted', {{ detail: {{ wasm }} }}));\n  \
         </script>\n  \
         <!-- Fetched later (the later parts once the shop is on screen; the shared log's module, on a sync server, \
         before the log is opened): named here so that the service worker keeps them with the page. -->\n  \
         <script type=\"application/json\" id=\"rewind-later\">[{}]</script>\n",
        named_later.join(", ")
    );
    let html_path = staging.join("index.html");
    let html = String::from_utf8_lossy(&read(&html_path)?).into_owned();
    // trunk leaves the link that kept it from building the app (index.html): the built page has no use for it.
    let html: String = html.lines().filter(|line| !line.contains("data-trunk-skip")).map(|line| format!("{line}\n")).collect();
    let Some(at) = html.find("</head>") else {
        return Err(format!("{} has no </head> to put the page's script before", html_path.display()));
    };
    let html = format!("{}{start}{}", &html[..at], &html[at..]);
    std::fs::write(&html_path, html).map_err(|e| format!("cannot write {}: {e}", html_path.display()))?;

    // The copies rewind-server sends to browsers that accept them (brotli only where Debian's brotli is).
    if release {
        let has_brotli = version_of(BROTLI, "--version").is_some();
        for name in list(&staging)? {
            if [".wasm", ".js", ".css"].iter().any(|ext| name.ends_with(ext)) {
                let file = staging.join(&name);
                run(Command::new("gzip").args(["-9", "-k", "-f"]).arg(&file))?;
                if has_brotli {
                    run(Command::new(BROTLI).args(["-q", "11", "-k", "-f"]).arg(&file))?;
                }
            }
        }
        let gzipped = std::fs::metadata(staging.join(format!("{main_name}.gz"))).map_err(|e| format!("cannot read the gzipped module: {e}"))?;
        if gzipped.len() > WASM_GZIP_BUDGET {
            return Err(format!(
                "the module the page starts with is {:.1} KB gzipped, over its budget of {:.1} KB (issue 26): move what \
                 showing the shop does not need behind a split point (src/split.rs); `cargo xtask bench size` shows what is in it",
                gzipped.len() as f64 / 1024.0,
                WASM_GZIP_BUDGET as f64 / 1024.0
            ));
        }
    }
    Ok(())
}

/// The shared log's code found in the module the page starts with (as the splitter left it, still named), if any:
/// serde_json, or a function of the shared log's client or of the outbox (mangled names, as the linker wrote them).
/// Only the first request to `/api/version` (`SharedLog::find`) belongs there.
fn shared_log_code_in(module: &[u8]) -> Option<String> {
    const SIGNS: [(&[u8], &str); 4] = [
        (b"10serde_json", "serde_json"),
        (b"serde_json..", "serde_json"),
        (b"12rewind_store6outbox6Outbox", "rewind_store::outbox::Outbox"),
        (b"12rewind_store6shared9SharedLog", "rewind_store::shared::SharedLog"),
    ];
    SIGNS.iter().find_map(|(sign, what)| {
        module
            .windows(sign.len())
            .enumerate()
            .filter(|(_, window)| window == sign)
            .map(|(at, _)| &module[at + sign.len()..])
            .find(|after| !after.starts_with(b"4find"))
            .map(|after| {
                let name: String = after.iter().take(40).take_while(|b| b.is_ascii_alphanumeric() || **b == b'_').map(|b| char::from(*b)).collect();
                format!("{what} {name}")
            })
    })
}

/// Where cargo builds: `CARGO_TARGET_DIR`, else target/ in the project.
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root().join("target"), PathBuf::from)
}

/// `text` with every `from` made `to`; an error if there is none.
fn rewrite(text: &str, from: &str, to: &str) -> Result<String> {
    if !text.contains(from) {
        return Err(format!("the page's build expected {from} in wasm-bindgen's or the splitter's JavaScript and found none"));
    }
    Ok(text.replace(from, to))
}

/// The paths of the files under `dir` (`prefix` before each), into `out`; none when `dir` does not exist.
fn files_under(dir: &Path, prefix: &str, out: &mut Vec<String>) -> Result {
    if !dir.exists() {
        return Ok(());
    }
    for name in list(dir)? {
        let path = format!("{prefix}{name}");
        if dir.join(&name).is_dir() {
            files_under(&dir.join(&name), &format!("{path}/"), out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

/// The names of the files in `dir`.
fn list(dir: &Path) -> Result<Vec<String>> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    Ok(entries.filter_map(|entry| entry.ok().map(|e| e.file_name().to_string_lossy().into_owned())).collect())
}

/// `cargo xtask fuzz [SECONDS] [TARGET…]`: seeds the corpora, builds the fuzz targets once, runs each (or each
/// named) for `SECONDS`, and
/// sums up executions and crashes per target. Fails if any target crashed (its input is under fuzz/artifacts/).
fn fuzz(args: &[String]) -> Result {
    let seconds = match args.first() {
        None => FUZZ_SECONDS,
        Some(text) => text
            .parse::<u64>()
            .ok()
            .filter(|s| *s > 0)
            .ok_or_else(|| format!("SECONDS must be a whole number of seconds above 0, not {text:?}"))?,
    };
    let named = args.get(1..).unwrap_or_default();
    if let Some(unknown) = named.iter().find(|n| !FUZZ_TARGETS.contains(&n.as_str())) {
        return Err(format!("no fuzz target {unknown:?}: there are {}", FUZZ_TARGETS.join(", ")));
    }
    let targets: Vec<&'static str> =
        FUZZ_TARGETS.into_iter().filter(|t| named.is_empty() || named.iter().any(|n| n == t)).collect();
    let has_nightly = Command::new("rustup").args(["toolchain", "list"]).output().is_ok_and(|o| {
        // `nightly-<host>`, not a dated `nightly-2025-…`: that is what `+nightly` picks.
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .any(|l| l.strip_prefix("nightly-").is_some_and(|rest| !rest.starts_with(|c: char| c.is_ascii_digit())))
    });
    if !has_nightly {
        run(Command::new("rustup").args(["toolchain", "install", "nightly", "--profile", "minimal"]))?;
    }
    if !cargo().args(["fuzz", "--version"]).output().is_ok_and(|o| o.status.success()) {
        run(cargo().args(["install", "cargo-fuzz", "--locked"]))?;
    }
    let dir = root().join("fuzz");
    write_fuzz_seeds(&dir)?;
    // Without a sanitizer: the domain forbids unsafe code, and the fuzzers run several times faster.
    run(nightly_fuzz(&dir).args(["build", "--sanitizer", "none"]))?;
    let mut outcomes = Vec::new();
    for target in targets {
        outcomes.push(fuzz_target(&dir, target, seconds)?);
    }
    eprintln!("\nfuzzing, {seconds} s per target:");
    for outcome in &outcomes {
        eprintln!("  {outcome}");
    }
    let failed: Vec<&str> = outcomes.iter().filter(|o| o.failure.is_some()).map(|o| o.target).collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("{} failed; a crashing input is kept under fuzz/artifacts/<target>/", failed.join(", ")))
    }
}

/// `cargo +nightly fuzz …` for the project in `dir`, with nothing of this (stable) cargo's environment.
fn nightly_fuzz(dir: &Path) -> Command {
    let mut cmd = Command::new("cargo");
    cmd.args(["+nightly", "fuzz"]).current_dir(dir).env_remove("CARGO").env_remove("RUSTUP_TOOLCHAIN");
    cmd
}

struct FuzzOutcome {
    target: &'static str,
    executions: Option<u64>,
    seconds: u64,
    /// Why the run failed: a crash (with its input file and panic message) or the fuzzer not running at all.
    failure: Option<String>,
}

impl std::fmt::Display for FuzzOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let runs = self.executions.map_or_else(|| "? executions".to_owned(), |n| format!("{n} executions"));
        let rate = self.executions.map(|n| n / self.seconds.max(1)).map_or_else(String::new, |r| format!(", {r}/s"));
        let verdict = self.failure.as_deref().unwrap_or("no crash");
        write!(f, "{:<16} {runs} in {} s{rate}: {verdict}", self.target, self.seconds)
    }
}

/// Runs one target for `seconds`, echoing libFuzzer's output and reading its final stats from it.
fn fuzz_target(dir: &Path, target: &'static str, seconds: u64) -> Result<FuzzOutcome> {
    let mut cmd = nightly_fuzz(dir);
    cmd.args(["run", "--sanitizer", "none", target, "--"])
        .arg(format!("-max_total_time={seconds}"))
        .arg("-print_final_stats=1")
        .stderr(Stdio::piped());
    eprintln!("+ {cmd:?}");
    let started = Instant::now();
    let mut child = cmd.spawn().map_err(|e| format!("could not start cargo +nightly fuzz: {e}"))?;
    let (mut executions, mut done_seconds, mut artifact, mut panic) = (None, None, None, None);
    let mut panic_next = false;
    if let Some(stderr) = child.stderr.take() {
        // By bytes, not `lines()`: a crash report may print the input, which need not be UTF-8.
        for line in BufReader::new(stderr).split(b'\n') {
            let line = line.map_err(|e| format!("reading the fuzzer's output: {e}"))?;
            let line = String::from_utf8_lossy(&line);
            eprintln!("{line}");
            if let Some(n) = line.strip_prefix("stat::number_of_executed_units:") {
                executions = n.trim().parse::<u64>().ok().or(executions);
            } else if let Some(rest) = line.strip_prefix("Done ") {
                // "Done 123 runs in 60 second(s)"
                let words: Vec<&str> = rest.split_whitespace().collect();
                if let [runs, "runs", "in", secs, ..] = words.as_slice() {
                    executions = executions.or_else(|| runs.parse().ok());
                    done_seconds = secs.parse::<u64>().ok();
                }
            } else if let Some((_, path)) = line.split_once("Test unit written to ") {
                artifact = Some(path.trim().to_owned());
            } else if panic_next {
                panic = panic.or_else(|| Some(line.trim().to_owned()));
                panic_next = false;
            } else if line.contains("panicked at") {
                panic_next = panic.is_none();
            }
        }
    }
    let status = child.wait().map_err(|e| format!("waiting for the {target} fuzzer: {e}"))?;
    let seconds = done_seconds.unwrap_or_else(|| started.elapsed().as_secs());
    let failure = match (status.success(), artifact) {
        (true, None) => None,
        (_, Some(path)) => Some(format!("CRASH, input in {path}: {}", panic.as_deref().unwrap_or("see the output above"))),
        (false, None) => Some(format!("the fuzzer failed ({status})")),
    };
    Ok(FuzzOutcome { target, executions, seconds, failure })
}

/// A valid little shop history for the seeds: every user tops up before ordering, every order's total is
/// price × qty, and stock and balances never go below 0.
const SEED_EVENTS: [SeedEvent; 12] = [
    SeedEvent::TopUp("alice", 500),
    SeedEvent::TopUp("bob", 1_000),
    SeedEvent::AddItem("apple", 30, 10),
    SeedEvent::AddItem("pear", 45, 5),
    SeedEvent::Order("alice", "apple", 2, 60),
    SeedEvent::TopUp("carol", 9_007_199_254_740_000),
    SeedEvent::AddItem("fig", 1, 100),
    SeedEvent::Order("bob", "pear", 3, 135),
    SeedEvent::Order("carol", "fig", 100, 100),
    SeedEvent::AddItem("apple", 35, 4),
    SeedEvent::Order("alice", "apple", 3, 105),
    SeedEvent::TopUp("alice", 1),
];
/// The shop after all of [`SEED_EVENTS`]: (user, balance) and (item, price, stock).
const SEED_USERS: [(&str, u64); 3] = [("alice", 336), ("bob", 865), ("carol", 9_007_199_254_739_900)];
const SEED_ITEMS: [(&str, u64, u64); 3] = [("apple", 35, 9), ("pear", 45, 2), ("fig", 1, 0)];
const SEED_TS: u64 = 1_763_800_001_000;

#[derive(Clone, Copy)]
enum SeedEvent {
    TopUp(&'static str, u64),
    AddItem(&'static str, u64, u64),
    Order(&'static str, &'static str, u64, u64),
}

/// Writes a few valid inputs into each target's corpus (fuzz/corpus/<target>/, not kept in git), so the fuzzers
/// start from real files, chunks and snapshots: a long valid input gives a mutation many events to change.
/// The binary ones are encoded here by hand after the layouts in crates/domain/src/chunk.rs and snapshot.rs.
fn write_fuzz_seeds(dir: &Path) -> Result {
    let short = seed_jsonl(&SEED_EVENTS[..5]);
    let crlf = format!("\u{feff}{}", short.replace('\n', "\r\n"));
    let no_final_newline = seed_jsonl(&SEED_EVENTS[..1]).trim_end().to_owned();
    let users: Vec<(&str, u64)> = SEED_USERS.to_vec();
    let items: Vec<(&str, u64, u64)> = SEED_ITEMS.to_vec();
    let append = |after: u64, chunk: Vec<u8>| {
        let mut request = format!("epoch=1&after={after}&key=0123456789abcdef\n").into_bytes();
        request.extend_from_slice(&(chunk.len() as u32).to_le_bytes());
        request.extend(chunk);
        request
    };
    let seeds: [(&str, Vec<Vec<u8>>); 4] = [
        ("server_request", vec![append(0, seed_chunk(&SEED_EVENTS)), b"after=0&limit=100\n".to_vec()]),
        ("jsonl_import", vec![seed_jsonl(&SEED_EVENTS).into(), crlf.into(), no_final_newline.into()]),
        ("chunk_decode", vec![seed_chunk(&SEED_EVENTS), seed_chunk(&SEED_EVENTS[..3])]),
        ("snapshot_decode", vec![seed_snapshot(12, &users, &items), seed_snapshot(0, &[], &[])]),
    ];
    for (target, inputs) in seeds {
        let corpus = dir.join("corpus").join(target);
        std::fs::create_dir_all(&corpus).map_err(|e| format!("cannot create {}: {e}", corpus.display()))?;
        for (n, input) in inputs.iter().enumerate() {
            let path = corpus.join(format!("seed-{n}"));
            std::fs::write(&path, input).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        }
    }
    Ok(())
}

/// The events as JSON Lines (CONTRACT §2), one second apart.
fn seed_jsonl(events: &[SeedEvent]) -> String {
    let mut out = String::new();
    for (ix, event) in events.iter().enumerate() {
        let (seq, ts) = (ix + 1, SEED_TS + 1_000 * ix as u64);
        let fields = match *event {
            SeedEvent::TopUp(user, amount) => format!(r#""type":"ToppedUp","user":"{user}","amount":{amount}"#),
            SeedEvent::AddItem(item, price, qty) => {
                format!(r#""type":"ItemAdded","item":"{item}","price":{price},"qty":{qty}"#)
            }
            SeedEvent::Order(user, item, qty, total) => {
                format!(r#""type":"OrderPlaced","user":"{user}","item":"{item}","qty":{qty},"total":{total}"#)
            }
        };
        out.push_str(&format!("{{\"v\":1,\"seq\":{seq},\"ts\":{ts},{fields}}}\n"));
    }
    out
}

/// The events as a stored chunk from seq 1: version, first seq, count, first ts, the chunk's user and item
/// names (in order of first use), then per event its tag, zigzag ts delta and fields; a CRC-32 closes it.
fn seed_chunk(events: &[SeedEvent]) -> Vec<u8> {
    fn local(names: &mut Vec<&'static str>, name: &'static str) -> u64 {
        let ix = names.iter().position(|n| *n == name).unwrap_or_else(|| {
            names.push(name);
            names.len() - 1
        });
        ix as u64
    }
    let (mut users, mut items, mut body) = (Vec::new(), Vec::new(), Vec::new());
    for (ix, event) in events.iter().enumerate() {
        let delta = if ix == 0 { 0 } else { 2 * 1_000 }; // +1000 ms, zigzag
        let fields = match *event {
            SeedEvent::TopUp(user, amount) => vec![0, delta, local(&mut users, user), amount],
            SeedEvent::AddItem(item, price, qty) => vec![1, delta, local(&mut items, item), price, qty],
            SeedEvent::Order(user, item, qty, total) => {
                vec![2, delta, local(&mut users, user), local(&mut items, item), qty, total]
            }
        };
        fields.into_iter().for_each(|v| varint(&mut body, v));
    }
    let mut chunk = vec![1];
    for v in [1, events.len() as u64, SEED_TS] {
        varint(&mut chunk, v);
    }
    for names in [&users, &items] {
        varint(&mut chunk, names.len() as u64);
        names.iter().for_each(|n| seed_str(&mut chunk, n));
    }
    chunk.extend_from_slice(&body);
    with_crc(chunk)
}

/// A stored snapshot: version, seq, the users with balances, the items with price and stock, a CRC-32.
fn seed_snapshot(seq: u64, users: &[(&str, u64)], items: &[(&str, u64, u64)]) -> Vec<u8> {
    let mut out = vec![1];
    varint(&mut out, seq);
    varint(&mut out, users.len() as u64);
    for (user, balance) in users {
        seed_str(&mut out, user);
        varint(&mut out, *balance);
    }
    varint(&mut out, items.len() as u64);
    for (item, price, stock) in items {
        seed_str(&mut out, item);
        varint(&mut out, *price);
        varint(&mut out, *stock);
    }
    with_crc(out)
}

fn seed_str(out: &mut Vec<u8>, s: &str) {
    varint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// LEB128, as crates/domain/src/wire.rs writes numbers.
fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Appends the CRC-32 (IEEE, little-endian) trailer that stored chunks and snapshots end with.
fn with_crc(mut bytes: Vec<u8>) -> Vec<u8> {
    let mut crc = !0u32;
    for &b in &bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    bytes.extend_from_slice(&(!crc).to_le_bytes());
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_use_the_stored_encodings_number_and_checksum() {
        let mut out = Vec::new();
        varint(&mut out, 300);
        assert_eq!(out, [0xAC, 0x02]);
        // The CRC-32 check value of "123456789".
        assert_eq!(with_crc(b"123456789".to_vec())[9..], 0xCBF4_3926u32.to_le_bytes());
    }

    #[test]
    fn the_first_module_may_hold_the_shared_logs_first_request_and_nothing_else_of_it() {
        let names = |list: &[&str]| list.iter().map(|n| format!("\u{1}_ZN{n}17h0123456789abcdefE")).collect::<String>().into_bytes();
        let first = names(&["12rewind_store6shared9SharedLog4find28_$u7b$$u7b$closure$u7d$$u7d$", "6rewind7session4load"]);
        assert_eq!(shared_log_code_in(&first), None);
        let outbox = names(&["12rewind_store6shared9SharedLog4find", "12rewind_store6outbox6Outbox4list"]);
        assert_eq!(shared_log_code_in(&outbox).as_deref(), Some("rewind_store::outbox::Outbox 4list17h0123456789abcdefE"));
        let client = names(&["12rewind_store6shared9SharedLog6append"]);
        assert!(shared_log_code_in(&client).is_some_and(|found| found.starts_with("rewind_store::shared::SharedLog 6append")));
        let json = names(&["10serde_json2de10from_slice"]);
        assert!(shared_log_code_in(&json).is_some_and(|found| found.starts_with("serde_json")));
    }

    #[test]
    fn the_size_report_knows_which_split_points_need_each_chunk() {
        let loader = "function makeLoad(fetcher, deps) {}\n/* later_parts, shared_log */\nconst __chunk_3 = makeLoad(() => {\n\
                      export const __wasm_split_load_shared_log = wrapAsyncCb(makeLoad(() => {}, [__chunk_3]));\n\
                      /* later_parts */\n  const __chunk_12 = makeLoad(() => {});\n";
        assert_eq!(
            split_modules_needs(loader),
            [
                ("chunk_3".to_owned(), vec!["later_parts".to_owned(), "shared_log".to_owned()]),
                ("chunk_12".to_owned(), vec!["later_parts".to_owned()]),
            ]
        );
    }

    #[test]
    fn the_size_report_reads_twiggys_quoted_names_and_finds_their_crates() {
        let csv = "Name,ShallowSize,ShallowSizePercent,RetainedSize,RetainedSizePercent\n\
                   \"<tachys::view::Foo<(a, \"\"b\"\")> as Render>::build\",120,1.0,120,1.0\n\
                   rewind_domain::chunk::decode_into::h0123,80,0.5,80,0.5\n\
                   \"\"\"function names\"\" subsection\",999,9.0,999,9.0\n";
        let items = twiggy_items(csv);
        assert_eq!(items.len(), 3);
        assert_eq!(items[0], ("<tachys::view::Foo<(a, \"b\")> as Render>::build".to_owned(), 120));
        assert_eq!(crate_of(&items[0].0), "tachys");
        assert_eq!(crate_of(&items[1].0), "rewind_domain");
        assert!(is_metadata(&items[2].0));
        assert_eq!(crate_of("<T as reactive_graph::traits::Get>::get"), "reactive_graph");
    }
}
