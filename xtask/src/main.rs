//! Rewind's dev tooling. `cargo xtask serve` and `cargo xtask test` each install whatever is missing on a
//! fresh Debian machine (wasm target, trunk, wasm-bindgen-cli, Chromium and its driver, binaryen, Python
//! Playwright) and then serve the app or run every test. Both are idempotent: with the tools present they
//! only check versions.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const TRUNK_VERSION: &str = "^0.21";
const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const PY_PACKAGES: [&str; 2] = ["playwright>=1.50,<2", "pytest>=8,<10"];
/// wasm-opt comes from the npm registry's binaryen build: Debian's version 108 breaks the externref table
/// that wasm-bindgen 0.2.130 emits (the optimised page fails at start). Installed under `.tools/`.
const BINARYEN: &str = "binaryen@132.0.0";
const WASM_OPT_VERSION: &str = "wasm-opt version 132";

type Result<T = ()> = std::result::Result<T, String>;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let task = args.first().map(String::as_str).unwrap_or("help");
    let rest = args.get(1..).unwrap_or_default();
    let outcome = match task {
        "setup" => setup(),
        "serve" => setup().and_then(|()| serve()),
        "test" => setup().and_then(|()| test(rest)),
        "bench" => setup().and_then(|()| bench(rest)),
        _ => {
            eprintln!(
                "usage: cargo xtask <task>\n\n  serve   install what is missing, then serve the app at http://127.0.0.1:8080\n  \
                 test    install what is missing, then run every test (native, browser, end-to-end)\n  \
                 bench   install what is missing, then run the benchmarks (native and in Chromium)\n  \
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

    let missing_debs: Vec<&str> = [("chromium", CHROMIUM), ("chromium-driver", CHROMEDRIVER)]
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

    let wasm_opt = tools_bin().join("wasm-opt");
    if !version_of(&wasm_opt.to_string_lossy(), "--version").is_some_and(|v| v.starts_with(WASM_OPT_VERSION)) {
        let prefix = root().join(".tools");
        run(Command::new("npm").args(["install", "--no-audit", "--no-fund", "--prefix"]).arg(&prefix).arg(BINARYEN))?;
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

fn serve() -> Result {
    eprintln!("Rewind: open http://127.0.0.1:8080 once trunk says it is serving.");
    run(trunk().args(["serve", "--offline"]))
}

fn test(args: &[String]) -> Result {
    let only = |part: &str| args.is_empty() || args.iter().any(|a| a == part);
    if only("lint") {
        // Tidy checks: no unwrap/expect/panic outside tests, and clippy clean, natively and for the browser.
        run(cargo().args(["clippy", "-p", "rewind-domain", "-p", "xtask", "--all-targets", "--", "-D", "warnings"]))?;
        run(cargo().args(["clippy", "--target", "wasm32-unknown-unknown", "-p", "rewind-store", "-p", "rewind", "--all-targets", "--", "-D", "warnings"]))?;
    }
    if only("native") {
        run(cargo().args(["test", "-p", "rewind-domain", "-p", "xtask", "--release"]))?;
        // The store's pure parts (the snapshot policy) run natively too.
        run(cargo().args(["test", "-p", "rewind-store", "--lib"]))?;
    }
    if only("browser") {
        run(browser_env(&mut cargo()).args(["test", "--target", "wasm32-unknown-unknown", "-p", "rewind-domain", "-p", "rewind-store"]))?;
    }
    if only("e2e") {
        run(trunk().args(["build", "--release", "--offline"]))?;
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
