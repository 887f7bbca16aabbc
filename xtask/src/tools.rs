//! Installing the tools the tests and fuzzing need, with the project's own
//! commands, so a fresh machine needs nothing but rustup (and Node for the
//! WebAssembly tests).

use std::fs;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail};
use serde::Deserialize;

use crate::process::{run, stdout_of};

/// The WebAssembly target the browser client is built for.
pub const WASM_TARGET: &str = "wasm32-unknown-unknown";

/// Adds the wasm32 target to the active toolchain unless it is there.
pub fn ensure_wasm_target() -> anyhow::Result<()> {
    let installed = stdout_of(Command::new("rustup").args(["target", "list", "--installed"]))
        .context("`rustup target list --installed` failed: is rustup installed and on PATH?")?;
    if installed.lines().any(|l| l.trim() == WASM_TARGET) {
        println!("{WASM_TARGET} is installed");
        return Ok(());
    }
    run(Command::new("rustup").args(["target", "add", WASM_TARGET]))
        .with_context(|| format!("could not install the {WASM_TARGET} target with rustup"))
}

/// Installs `wasm-bindgen-cli` (which provides `wasm-bindgen-test-runner`)
/// at exactly the version of `wasm-bindgen` in `Cargo.lock`: the CLI refuses
/// test binaries built by any other version.
pub fn ensure_wasm_bindgen_cli(root: &Path) -> anyhow::Result<()> {
    let wanted = locked_version(&root.join("Cargo.lock"), "wasm-bindgen")?;
    let have = [
        tool_version("wasm-bindgen"),
        tool_version("wasm-bindgen-test-runner"),
    ];
    if have.iter().all(|v| v.as_deref() == Some(wanted.as_str())) {
        println!("wasm-bindgen-cli {wanted} is installed (matches Cargo.lock)");
        return Ok(());
    }
    let found = have[0].as_deref().unwrap_or("none");
    println!("Cargo.lock needs wasm-bindgen-cli {wanted}, found {found}; installing it");
    // Not `--locked`: a dependency in wasm-bindgen-cli's own lock file was
    // yanked, so the locked build fails. `--force` replaces binaries that
    // cargo did not install itself.
    let mut install = Command::new("cargo");
    install.args([
        "install",
        "wasm-bindgen-cli",
        "--force",
        "--version",
        &wanted,
    ]);
    run(&mut install).with_context(|| {
        format!("could not install wasm-bindgen-cli {wanted}; see cargo's message above")
    })?;
    let now = tool_version("wasm-bindgen-test-runner");
    if now.as_deref() != Some(wanted.as_str()) {
        bail!(
            "installed wasm-bindgen-cli {wanted}, but the wasm-bindgen-test-runner on PATH \
             reports {}; put cargo's bin directory (usually ~/.cargo/bin) first on PATH",
            now.as_deref().unwrap_or("nothing")
        );
    }
    Ok(())
}

/// The cargo-deny release `cargo xtask test` uses (`deny.toml` is written for
/// it): the newest on crates.io in December 2026. It needs rustc 1.88; the
/// workspace needs 1.95.
pub const CARGO_DENY: &str = "0.20.2";

/// Installs cargo-deny at exactly [`CARGO_DENY`] unless `cargo deny` reports
/// that version: other releases read `deny.toml` differently.
pub fn ensure_cargo_deny() -> anyhow::Result<()> {
    let version = || {
        stdout_of(Command::new("cargo").args(["deny", "--version"]))
            .and_then(|output| parse_tool_version(&output))
    };
    let have = version();
    if have.as_deref() == Some(CARGO_DENY) {
        println!("cargo-deny {CARGO_DENY} is installed");
        return Ok(());
    }
    println!(
        "cargo-deny {CARGO_DENY} is needed, found {}; installing it with `cargo install`.\n\
         It is compiled from source: this takes about 5 minutes on a 2-core machine.",
        have.as_deref().unwrap_or("none")
    );
    // `--locked`: cargo-deny's own lock file, as its release was tested.
    // `--force` replaces a binary that cargo did not install itself.
    let mut install = Command::new("cargo");
    install.args([
        "install",
        "--locked",
        "--force",
        "cargo-deny",
        "--version",
        CARGO_DENY,
    ]);
    run(&mut install).with_context(|| {
        format!("could not install cargo-deny {CARGO_DENY}; see cargo's message above")
    })?;
    let now = version();
    if now.as_deref() != Some(CARGO_DENY) {
        bail!(
            "installed cargo-deny {CARGO_DENY}, but `cargo deny --version` reports {}; put \
             cargo's bin directory (usually ~/.cargo/bin) first on PATH",
            now.as_deref().unwrap_or("nothing")
        );
    }
    Ok(())
}

/// Installs `cargo-fuzz` unless `cargo fuzz` already works.
pub fn ensure_cargo_fuzz() -> anyhow::Result<()> {
    if let Some(version) = stdout_of(Command::new("cargo").args(["fuzz", "--version"])) {
        println!("{} is installed", version.trim());
        return Ok(());
    }
    run(Command::new("cargo").args(["install", "cargo-fuzz"]))
        .context("could not install cargo-fuzz; try `cargo install cargo-fuzz` by hand to see why")
}

/// The version a tool reports with `--version` (`name 1.2.3` → `1.2.3`), or
/// `None` if it is not installed.
fn tool_version(tool: &str) -> Option<String> {
    let output = stdout_of(Command::new(tool).arg("--version"))?;
    parse_tool_version(&output)
}

fn parse_tool_version(output: &str) -> Option<String> {
    output.split_whitespace().nth(1).map(str::to_owned)
}

#[derive(Deserialize)]
struct LockFile {
    #[serde(default)]
    package: Vec<LockedPackage>,
}

#[derive(Deserialize)]
struct LockedPackage {
    name: String,
    version: String,
}

/// The single version of `package` recorded in the lock file at `path`.
fn locked_version(path: &Path, package: &str) -> anyhow::Result<String> {
    let text = fs::read_to_string(path)
        .with_context(|| format!("reading {}; run `cargo generate-lockfile`", path.display()))?;
    let lock: LockFile =
        toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let mut versions = lock
        .package
        .into_iter()
        .filter(|p| p.name == package)
        .map(|p| p.version);
    match (versions.next(), versions.next()) {
        (Some(version), None) => Ok(version),
        (None, _) => bail!("{} does not list `{package}`", path.display()),
        (Some(a), Some(b)) => bail!(
            "{} lists `{package}` at several versions ({a}, {b}, …); \
             unify them so one wasm-bindgen-cli fits all",
            path.display()
        ),
    }
}

/// Where the browser tests' Node project lives.
pub const BROWSER_TESTS: &str = "tests/browser";

/// Debian's Chromium, which the browser tests drive (never a downloaded one).
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// Installs Debian's `chromium` package unless it is there.
pub fn ensure_chromium() -> anyhow::Result<()> {
    if Path::new(CHROMIUM).exists() {
        println!("{CHROMIUM} is installed");
        return Ok(());
    }
    apt_install("chromium")
}

/// Debian's nginx, which runs the documented reverse-proxy configuration in
/// front of the relay (`crates/ozvi-relay/tests/nginx.rs`).
pub const NGINX: &str = "/usr/sbin/nginx";

/// Installs Debian's `nginx` package unless it is there. (On bookworm
/// `nginx-light` is only a transitional package for `nginx`.) The package's
/// own service is not needed: the test runs nginx in a temporary directory.
pub fn ensure_nginx() -> anyhow::Result<()> {
    if Path::new(NGINX).exists() {
        println!("{NGINX} is installed");
        return Ok(());
    }
    apt_install("nginx")
}

/// Installs Debian's `make` and `gcc` unless both are there: the relay's
/// allocator, jemalloc, is built from its C sources by `tikv-jemalloc-sys`
/// (crates/ozvi-relay/Cargo.toml), which runs jemalloc's `configure` and
/// `make`.
pub fn ensure_c_build_tools() -> anyhow::Result<()> {
    for (program, package) in [("/usr/bin/make", "make"), ("/usr/bin/cc", "gcc")] {
        if Path::new(program).exists() {
            println!("{program} is installed");
        } else {
            apt_install(package)?;
        }
    }
    Ok(())
}

/// Debian's exiftool, which the photo tests run on the files the desk saves
/// to find any metadata left (`libimage-exiftool-perl`).
pub const EXIFTOOL: &str = "/usr/bin/exiftool";

/// Installs Debian's `libimage-exiftool-perl` unless `exiftool` is there.
pub fn ensure_exiftool() -> anyhow::Result<()> {
    if Path::new(EXIFTOOL).exists() {
        println!("{EXIFTOOL} is installed");
        return Ok(());
    }
    apt_install("libimage-exiftool-perl")
}

/// Where Debian's `postgresql` package puts each major version's server
/// programs (`N/bin/initdb`, `pg_ctl`, `postgres`).
pub const POSTGRESQL_LIB: &str = "/usr/lib/postgresql";

/// The newest `/usr/lib/postgresql/N/bin` that has `initdb`, as the test
/// harness looks for it (tests/src/postgres.rs).
fn postgres_bin() -> Option<std::path::PathBuf> {
    fs::read_dir(POSTGRESQL_LIB)
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .max()
        .map(|(_, bin)| bin)
}

/// Installs Debian's `postgresql` package unless its `initdb` is there. The
/// tests of the relay's PostgreSQL store start a throw-away server of their
/// own in a temporary folder (`initdb` and `pg_ctl`, as the `postgres` user
/// the package creates when they run as root); the package's own cluster
/// and service are not used.
pub fn ensure_postgres() -> anyhow::Result<()> {
    if let Some(bin) = postgres_bin() {
        println!("{} is installed", bin.join("initdb").display());
        return Ok(());
    }
    apt_install("postgresql")?;
    match postgres_bin() {
        Some(bin) => {
            println!("installed {}", bin.join("initdb").display());
            Ok(())
        }
        None => bail!(
            "installed Debian's postgresql package, but there is no \
             {POSTGRESQL_LIB}/*/bin/initdb"
        ),
    }
}

/// Debian's aiosmtpd, the real SMTP server the notification tests send to
/// (tests/smtp/server.py runs it with /usr/bin/python3, Debian's Python).
pub fn ensure_smtp_server() -> anyhow::Result<()> {
    let found = Command::new("/usr/bin/python3")
        .args(["-c", "import aiosmtpd"])
        .status()
        .is_ok_and(|s| s.success());
    if found {
        println!("python3-aiosmtpd is installed");
        return Ok(());
    }
    apt_install("python3-aiosmtpd")
}

/// `apt-get install -y --no-install-recommends PACKAGE` (through sudo unless
/// root), after `apt-get update` if the first try fails.
fn apt_install(package: &str) -> anyhow::Result<()> {
    let root = stdout_of(Command::new("id").arg("-u")).is_some_and(|id| id.trim() == "0");
    let apt = |args: &[&str]| {
        let mut cmd = if root {
            Command::new("apt-get")
        } else {
            let mut sudo = Command::new("sudo");
            sudo.arg("apt-get");
            sudo
        };
        cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        cmd
    };
    let install = ["install", "-y", "--no-install-recommends", package];
    if run(&mut apt(&install)).is_err() {
        run(&mut apt(&["update"])).context("`apt-get update` failed")?;
        run(&mut apt(&install))
            .with_context(|| format!("could not install Debian's {package} package"))?;
    }
    Ok(())
}

/// Installs the browser tests' npm packages (playwright-core) exactly as
/// `package-lock.json` pins them.
pub fn ensure_browser_packages(root: &Path) -> anyhow::Result<()> {
    let dir = root.join(BROWSER_TESTS);
    let installed = fs::read_to_string(dir.join("node_modules/.package-lock.json")).ok();
    let wanted = fs::read_to_string(dir.join("package-lock.json"))
        .context("tests/browser/package-lock.json is missing")?;
    let same = installed.is_some_and(|i| {
        // npm's record of what it installed lists the same packages.
        let names = |text: &str| {
            text.lines()
                .filter(|l| l.contains("\"node_modules/") || l.contains("\"version\""))
                .map(str::trim)
                .map(str::to_string)
                .collect::<Vec<_>>()
        };
        names(&i) == names(&wanted)
    });
    if same {
        println!("{BROWSER_TESTS}: npm packages are installed");
        return Ok(());
    }
    run(Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(&dir))
    .context("`npm ci` in tests/browser failed; is npm installed?")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_tool_versions() {
        assert_eq!(
            parse_tool_version("wasm-bindgen 0.2.130\n").as_deref(),
            Some("0.2.130")
        );
        assert_eq!(parse_tool_version(""), None);
    }

    #[test]
    fn the_workspace_lock_file_pins_one_wasm_bindgen() {
        let root = crate::workspace_root();
        let version = locked_version(&root.join("Cargo.lock"), "wasm-bindgen").unwrap();
        assert!(version.starts_with("0.2."), "{version}");
    }
}
