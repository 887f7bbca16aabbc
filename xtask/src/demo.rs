//! `cargo xtask demo`: the whole product on its embedded default — the relay
//! on sled under `.demo-data/`, the sample directory (15 centres) signed by a
//! demo root key, and the desk of the Zlín centre — until Ctrl-C stops them.
//!
//! `--smoke` starts everything on free ports in a temporary folder, checks
//! that each part answers, and stops: `cargo xtask test` runs it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::process;

/// The demo's passphrase for every key (desk keystores and the root key).
pub const PASSPHRASE: &str = "ozvi-demo-heslo";
/// The demo desk's centre and staff member.
const DEMO_STAFF: &str = "zlin-1";

/// What the user asked for.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// Start, check, stop.
    pub smoke: bool,
}

impl Options {
    pub fn parse(args: &[String]) -> anyhow::Result<Self> {
        let mut options = Self::default();
        for arg in args {
            match arg.as_str() {
                "--smoke" => options.smoke = true,
                other => bail!("unknown option `{other}` for demo; the only one is --smoke"),
            }
        }
        Ok(options)
    }
}

/// A started child that is stopped with SIGTERM when dropped.
struct Running {
    name: &'static str,
    child: Child,
    stopped: bool,
}

impl Running {
    fn stop(&mut self) {
        if std::mem::replace(&mut self.stopped, true) {
            return;
        }
        if let Ok(Some(status)) = self.child.try_wait() {
            println!("{} stopped ({status})", self.name);
            return;
        }
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                println!("{} stopped ({status})", self.name);
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        println!("{} did not stop in time and was killed", self.name);
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop();
    }
}

pub fn run(root: &Path, options: &Options) -> anyhow::Result<()> {
    crate::tools::ensure_c_build_tools()?;
    process::run(Command::new("cargo").current_dir(root).args([
        "build",
        "--locked",
        "-p",
        "ozvi-relay",
        "-p",
        "ozvi-desk",
    ]))
    .context("building the relay and the desk failed")?;
    crate::web::build(root).context("building the web client failed")?;
    let bin = target_dir(root).join("debug");
    let temporary = options.smoke.then(|| tempfile_dir(root)).transpose()?;
    let data = temporary.clone().unwrap_or_else(|| root.join(".demo-data"));
    let (relay_port, desk_port) = if options.smoke {
        (free_port()?, free_port()?)
    } else {
        (8080, 8090)
    };
    let root_key = prepare(&bin, &data, relay_port)?;

    let web_root = root.join("web-client/dist");
    let mut relay = Command::new(bin.join("ozvi-relay"));
    relay
        .arg("--listen")
        .arg(format!("127.0.0.1:{relay_port}"))
        .arg("--data")
        .arg(data.join("relay"))
        .arg("--root-key")
        .arg(&root_key)
        .arg("--directory")
        .arg(data.join("directory.json"))
        .arg("--pow-difficulty")
        .arg("12")
        .stdout(Stdio::null())
        .stderr(log_file(&data.join("relay.log"))?);
    relay.arg("--web-root").arg(&web_root);
    let mut relay = Running {
        name: "relay",
        child: relay.spawn().context("cannot start ozvi-relay")?,
        stopped: false,
    };
    wait_http(relay_port, "/healthz", &mut relay)?;

    let mut desk_child = Command::new(bin.join("ozvi-desk"))
        .arg("--home")
        .arg(data.join("desk-zlin"))
        .arg("serve")
        .arg("--port")
        .arg(desk_port.to_string())
        .env("OZVI_DESK_HOME", data.join("desk-zlin"))
        .stdout(Stdio::piped())
        .stderr(log_file(&data.join("desk.log"))?)
        .spawn()
        .context("cannot start ozvi-desk")?;
    let desk_url = read_desk_url(&mut desk_child)?;
    let mut desk = Running {
        name: "desk",
        child: desk_child,
        stopped: false,
    };
    wait_http(desk_port, "/", &mut desk)?;

    println!("\nOzvi demo is running.\n");
    println!("  A person writes at:        http://127.0.0.1:{relay_port}/");
    println!("  The relay's API:           http://127.0.0.1:{relay_port}/api/v1/openapi.json");
    println!("  Staff of IC Zlín work at:  {desk_url}");
    println!("  (the desk's address opens it once: press Enter here for a new one)");
    println!("  Demo passphrase (desk and root key): {PASSPHRASE}");
    println!(
        "  Data and logs: {} (delete it to start over)",
        data.display()
    );

    if options.smoke {
        http_get(relay_port, "/api/v1/directory").context("the relay serves no directory")?;
        let page = http_get(relay_port, "/").context("the relay serves no web client")?;
        if !page.contains("quick-exit") {
            bail!("the relay's / is not the person's page");
        }
        let secret = desk_url
            .split("#k=")
            .nth(1)
            .context("no secret in the desk's URL")?;
        // The URL's secret is single-use: spent, as the page does, for the
        // page's token.
        let session = http_post(desk_port, "/session", secret, "{}")?;
        let token = session
            .split(r#""token":""#)
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .context("the desk gave no page token")?
            .to_string();
        let unlock = format!(r#"{{"passphrase":"{PASSPHRASE}"}}"#);
        let answer = http_post(desk_port, "/api/unlock", &token, &unlock)?;
        if !answer.contains(r#""unlocked":true"#) {
            bail!("the demo desk did not unlock: {answer}");
        }
        http_post(desk_port, "/api/lock", &token, "{}")?;
        println!(
            "\nSmoke check passed: the relay serves the directory; the desk unlocks with the demo keys."
        );
        desk.stop();
        relay.stop();
        if let Some(dir) = temporary {
            let _ = std::fs::remove_dir_all(dir);
        }
        return Ok(());
    }
    println!("\nStop with Ctrl-C.");
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst))
        .context("cannot catch Ctrl-C")?;
    while !stop.load(Ordering::SeqCst) {
        for part in [&mut relay, &mut desk] {
            if let Ok(Some(status)) = part.child.try_wait() {
                bail!(
                    "the {} exited ({status}); see its log in {}",
                    part.name,
                    data.display()
                );
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    println!("\nStopping…");
    desk.stop();
    relay.stop();
    Ok(())
}

/// Creates the demo's keys, directory and desk folder once; returns the
/// root public key.
fn prepare(bin: &Path, data: &Path, relay_port: u16) -> anyhow::Result<String> {
    let root_key_file = data.join("root-key.txt");
    std::fs::create_dir_all(data)?;
    if !root_key_file.exists() {
        println!(
            "Creating the demo keys and the sample directory in {}",
            data.display()
        );
        let desk = |args: &[&str]| -> anyhow::Result<String> {
            let out = Command::new(bin.join("ozvi-desk"))
                .args(args)
                .env("OZVI_DESK_PASSPHRASE", PASSPHRASE)
                .env("OZVI_ROOT_PASSPHRASE", PASSPHRASE)
                .stdin(Stdio::null())
                .output()
                .context("cannot run ozvi-desk")?;
            if !out.status.success() {
                bail!(
                    "ozvi-desk {} failed: {}",
                    args.join(" "),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
        };
        let path = |name: &str| data.join(name).display().to_string();
        let root = desk(&["admin", "root-init", "--out", &path("root.ozvi-keys")])?;
        desk(&[
            "admin",
            "sample",
            "--draft",
            &path("draft.json"),
            "--keys",
            &path("staff-keys"),
        ])?;
        desk(&[
            "admin",
            "sign",
            "--draft",
            &path("draft.json"),
            "--root",
            &path("root.ozvi-keys"),
            "--out",
            &path("directory.json"),
        ])?;
        let home = data.join("desk-zlin");
        std::fs::create_dir_all(&home)?;
        std::fs::copy(
            data.join("staff-keys")
                .join(format!("{DEMO_STAFF}.ozvi-keys")),
            home.join("staff.ozvi-keys"),
        )?;
        std::fs::write(&root_key_file, &root)?;
        std::fs::write(home.join("desk.toml"), desk_toml(relay_port, &root))?;
    }
    let root = std::fs::read_to_string(&root_key_file)?.trim().to_string();
    // The relay's port may differ between runs (smoke runs use free ports).
    std::fs::write(
        data.join("desk-zlin/desk.toml"),
        desk_toml(relay_port, &root),
    )?;
    Ok(root)
}

fn desk_toml(relay_port: u16, root: &str) -> String {
    format!("relay = \"http://127.0.0.1:{relay_port}\"\nroot_key = \"{root}\"\n")
}

fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
}

fn tempfile_dir(root: &Path) -> anyhow::Result<PathBuf> {
    let dir = target_dir(root).join(format!("demo-smoke-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn log_file(path: &Path) -> anyhow::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot open {}", path.display()))
}

/// The desk prints `Ozvi desk: open URL` when it is ready.
fn read_desk_url(child: &mut Child) -> anyhow::Result<String> {
    let stdout = child.stdout.take().context("no desk output")?;
    let mut lines = BufReader::new(stdout).lines();
    let line = lines
        .next()
        .context("the desk exited at start; see desk.log")??;
    let url = line
        .strip_prefix("Ozvi desk: open ")
        .context("the desk did not print its address")?
        .to_string();
    // Its later lines are the new addresses it prints when Enter is pressed
    // (each address opens the desk once): show them.
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            println!("  {line}");
        }
    });
    Ok(url)
}

/// A plain HTTP/1.1 GET on 127.0.0.1; the status line must say 200.
/// Returns the whole response.
fn http_get(port: u16, path: &str) -> anyhow::Result<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    if !response.starts_with("HTTP/1.1 200") {
        bail!(
            "GET {path} answered {}",
            response.lines().next().unwrap_or("nothing")
        );
    }
    Ok(response)
}

/// A JSON POST to the desk with its secret; returns the body of a 200.
fn http_post(port: u16, path: &str, secret: &str, body: &str) -> anyhow::Result<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {secret}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    if !response.starts_with("HTTP/1.1 200") {
        bail!(
            "POST {path} answered {}",
            response.lines().next().unwrap_or("nothing")
        );
    }
    Ok(response)
}

fn wait_http(port: u16, path: &str, part: &mut Running) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if http_get(port, path).is_ok() {
            return Ok(());
        }
        if let Ok(Some(status)) = part.child.try_wait() {
            bail!("the {} exited at start ({status}); see its log", part.name);
        }
        if Instant::now() > deadline {
            bail!(
                "the {} did not answer on port {port} within 30 s",
                part.name
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_parse() {
        assert_eq!(Options::parse(&[]).unwrap(), Options { smoke: false });
        assert_eq!(
            Options::parse(&["--smoke".into()]).unwrap(),
            Options { smoke: true }
        );
        assert!(Options::parse(&["--fast".into()]).is_err());
    }
}
