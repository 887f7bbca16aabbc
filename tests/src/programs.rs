//! The workspace's binaries, Node.js browser scripts, the repository.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output};
use std::time::{Duration, Instant};

/// The repository's root folder.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is in the repository")
        .to_path_buf()
}

/// A binary of the workspace (`ozvi-relay`, `ozvi-desk`, `ozvi-audit`),
/// beside the running test's own folder: `cargo test --workspace` (and so
/// `cargo xtask test`) builds them all; a crate's own tests build its own.
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test knows where it is");
    // target/<profile>/deps/<test> or target/<profile>/<bench>.
    let mut dir = exe.parent().expect("a folder").to_path_buf();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let path = dir.join(name);
    assert!(
        path.is_file(),
        "{} is missing: run `cargo test --workspace` (or `cargo build -p {name}`)",
        path.display()
    );
    path
}

/// Runs `command`; fails the test with its output unless it succeeds;
/// returns its stdout.
pub fn run_ok(command: &mut Command) -> String {
    let out = command.output().expect("runs");
    assert!(
        out.status.success(),
        "{command:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Sends SIGTERM to `child` and waits for it to exit; fails the test if it
/// has not exited within `limit`.
pub fn terminate(child: &mut Child, limit: Duration) -> ExitStatus {
    let status = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .expect("kill runs");
    assert!(status.success(), "SIGTERM delivered");
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "{child:?} did not stop within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// stdout then stderr of `out`, as text.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Copies the folder `from` to `to`, recursively.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

/// Waits for a browser script (node) to exit and fails the test, with
/// everything it printed, unless it succeeded.
pub async fn node_succeeded(child: Child, log: &[String], story: &str) {
    let output = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .expect("join")
        .expect("node exits");
    assert!(
        output.status.success(),
        "{story} failed:\n{}\n{}",
        log.join("\n"),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The lines a browser script prints, as they come.
pub fn script_lines(child: &mut Child) -> tokio::sync::mpsc::UnboundedReceiver<String> {
    use std::io::{BufRead, BufReader};
    let stdout = child.stdout.take().expect("piped");
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    rx
}
