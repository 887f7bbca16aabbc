//! The `ozvi-desk` binary: staff desks and an operator's folder driven
//! through `ozvi-desk admin`, as a centre and its operator use them.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::person::Person;
use crate::programs;
use crate::relay::Relay;

/// Every test staff member's desk passphrase.
pub const STAFF_PASS: &str = "heslo pro desk 123";
/// The test operator's root-key passphrase.
pub const ROOT_PASS: &str = "kořenové heslo 456";

/// Runs `ozvi-desk` with `args` (and the staff and root passphrases in the
/// environment), off the async runtime.
pub async fn desk(home: Option<&Path>, args: &[&str]) -> Output {
    desk_with(home, args, STAFF_PASS).await
}

/// [`desk`] with another staff passphrase.
pub async fn desk_with(home: Option<&Path>, args: &[&str], passphrase: &str) -> Output {
    let mut cmd = std::process::Command::new(programs::binary("ozvi-desk"));
    if let Some(home) = home {
        cmd.arg("--home").arg(home);
    }
    cmd.args(args)
        .env("OZVI_DESK_PASSPHRASE", passphrase)
        .env("OZVI_ROOT_PASSPHRASE", ROOT_PASS)
        .env_remove("OZVI_DESK_HOME")
        .stdin(std::process::Stdio::null());
    tokio::task::spawn_blocking(move || cmd.output().expect("ozvi-desk runs"))
        .await
        .expect("join")
}

/// Runs `ozvi-desk` and expects success; returns stdout.
pub async fn desk_ok(home: Option<&Path>, args: &[&str]) -> String {
    let out = desk(home, args).await;
    assert!(
        out.status.success(),
        "ozvi-desk {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// Runs `ozvi-desk` and expects failure with `needle` in stderr (and no
/// panic).
pub async fn desk_fails(home: Option<&Path>, args: &[&str], needle: &str) {
    let out = desk(home, args).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "ozvi-desk {args:?} should fail");
    assert!(
        stderr.contains(needle),
        "ozvi-desk {args:?}: expected {needle:?} in: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "no panic: {stderr}");
}

/// The operator's folder: the root key (made by `ozvi-desk admin
/// root-init`) and the directory draft.
pub struct Operator {
    /// The folder.
    pub dir: PathBuf,
    /// The root public key (base64url), as relays and desks take it.
    pub root_key: String,
}

impl Operator {
    /// A new root key in `dir`.
    pub async fn new(dir: &Path) -> Self {
        let root = dir.join("root.ozvi-keys");
        let out = desk_ok(
            None,
            &["admin", "root-init", "--out", root.to_str().expect("utf-8")],
        )
        .await;
        Self {
            dir: dir.to_path_buf(),
            root_key: out.trim().to_string(),
        }
    }

    /// The draft directory's path.
    pub fn draft(&self) -> String {
        self.dir.join("draft.json").display().to_string()
    }

    /// The sample directory (all fourteen regions) as the draft.
    pub async fn sample(&self) {
        let keys = self.dir.join("sample-keys").display().to_string();
        desk_ok(
            None,
            &["admin", "sample", "--draft", &self.draft(), "--keys", &keys],
        )
        .await;
    }

    /// Adds the staff member whose desk is `home` (its enrolment request) to
    /// `centre` as `id`.
    pub async fn enrol(&self, home: &Path, centre: &str, id: &str, label: &str) {
        let request = home.join("enrolment.json").display().to_string();
        desk_ok(
            None,
            &[
                "admin",
                "staff-add",
                "--draft",
                &self.draft(),
                "--centre",
                centre,
                "--id",
                id,
                "--label",
                label,
                "--request",
                &request,
            ],
        )
        .await;
    }

    /// Signs the draft and publishes it to the relay `relay`.
    pub async fn publish(&self, relay: &str) {
        let signed = self.dir.join("signed.json").display().to_string();
        let root = self.dir.join("root.ozvi-keys").display().to_string();
        desk_ok(
            None,
            &[
                "admin",
                "sign",
                "--draft",
                &self.draft(),
                "--root",
                &root,
                "--out",
                &signed,
            ],
        )
        .await;
        desk_ok(None, &["admin", "publish", "--relay", relay, &signed]).await;
    }
}

/// A staff member's desk folder `dir`, initialised for `relay` and
/// `root_key` (its enrolment request written beside it).
pub async fn staff_home(dir: &Path, relay: &str, root_key: &str) -> PathBuf {
    let home = dir.to_path_buf();
    let out = desk_ok(
        Some(&home),
        &["init", "--relay", relay, "--root-key", root_key],
    )
    .await;
    assert!(out.contains("ozvi_enrolment"), "prints the request: {out}");
    home
}

/// A staff member to enrol: (centre, staff id, label). Her desk folder is
/// named by her id.
pub type Member = (&'static str, &'static str, &'static str);

/// Jana, at Zlín.
pub const JANA: Member = ("ic-zlin", "zlin-a", "Jana");
/// Petra, at Zlín.
pub const PETRA: Member = ("ic-zlin", "zlin-b", "Petra");
/// Eva, at Praha.
pub const EVA: Member = ("ic-praha", "praha-a", "Eva");

/// A deployment as an operator sets one up with the desk: a root key
/// (`ozvi-desk admin root-init`), a relay in this process that trusts it,
/// staff desks initialised against it, enrolled into the sample directory
/// (every region) and published.
pub struct Deployment {
    /// The operator's folder.
    pub operator: Operator,
    /// The relay.
    pub relay: Relay,
    /// Each member's desk folder, in the order given.
    pub homes: Vec<PathBuf>,
    /// The folder everything lives in (removed at the end).
    pub dir: tempfile::TempDir,
}

impl Deployment {
    /// Sets it up with `staff` enrolled.
    pub async fn new(staff: &[Member]) -> Self {
        Self::with_relay(staff, |_| {}).await
    }

    /// [`Deployment::new`] with the relay's configuration adjusted first.
    pub async fn with_relay(
        staff: &[Member],
        adjust: impl FnOnce(&mut crate::relay::Config),
    ) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let operator = Operator::new(&dir.path().join("operator")).await;
        let mut config =
            crate::relay::operator_config(&dir.path().join("relay-data"), &operator.root_key);
        adjust(&mut config);
        let relay = Relay::start(config).await;
        let mut homes = Vec::new();
        for (_, id, _) in staff {
            homes.push(staff_home(&dir.path().join(id), &relay.base, &operator.root_key).await);
        }
        operator.sample().await;
        for ((centre, id, label), home) in staff.iter().zip(&homes) {
            operator.enrol(home, centre, id, label).await;
        }
        operator.publish(&relay.base).await;
        Self {
            operator,
            relay,
            homes,
            dir,
        }
    }

    /// The first member's desk folder.
    pub fn home(&self) -> PathBuf {
        self.homes.first().expect("a member").clone()
    }

    /// The person of `seed` writing to this relay.
    pub fn person(&self, seed: u8) -> Person {
        Person::new(seed, &self.relay.base, &self.operator.root_key)
    }
}
