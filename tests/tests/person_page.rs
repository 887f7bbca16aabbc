//! The person's page (web-client/, built by `cargo xtask web`) in headless
//! Chromium against a real relay that serves it, with the centre's side
//! played by the desk: first contact → code → the desk reads and replies →
//! the reply arrives live and verified → return with the code → write again
//! → delete → the code opens nothing. Then: no traces in the browser, no
//! request to another origin, history not grown, the quick exit, axe-core
//! on every screen in every language, and the relay going down.
//! The browser side is tests/browser/person.mjs.
//!
//! It is also the auditor's end-to-end run (issue 6): the relay is the real
//! `ozvi-relay` binary with its log captured; while it runs, the conversation
//! is exported and `ozvi-audit store` finds every record well shaped and no
//! canary (the person's texts, the reply, the internal note) in any encoding;
//! `ozvi-audit web` finds the served page identical to the build, and not
//! after one byte of a served file changes; at the end `ozvi-audit logs`
//! finds no address, user agent, id, code or canary in the relay's log.

use std::ffi::OsStr;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use ozvi_tests::desk::{Operator, desk_ok, staff_home};
use ozvi_tests::programs::{binary, copy_dir, node_succeeded, repo, run_ok, script_lines, text};
use ozvi_tests::relay::RelayProcess;

const CANARY: &str = "Manžel mi bere peníze a zamyká mě. STRÁNKA-7310";
const REPLY: &str = "Dobrý den, jsme tu pro vás. Můžete psát kdykoli. ODPOVĚĎ-4412";
const MORE: &str = "Děkuji. Napíšu zítra. DALŠÍ-2290";
const NOTE: &str = "Interní: volala sousedka. POZNÁMKA-6120";
const REASON: &str = "Bydlíte nyní v Brně, kolegyně z Brna vám pomohou na místě. DŮVOD-5531";

/// The relay binary serving `web_root` (proof of work at difficulty 10, as
/// her page solves it), its log in `log`.
fn start_relay_process(data: &Path, root_key: &str, web_root: &Path, log: &Path) -> RelayProcess {
    RelayProcess::start(
        [
            OsStr::new("--root-key"),
            OsStr::new(root_key),
            OsStr::new("--data"),
            data.as_os_str(),
            OsStr::new("--web-root"),
            web_root.as_os_str(),
            OsStr::new("--pow-difficulty"),
            OsStr::new("10"),
        ],
        &[],
        log,
    )
}

/// `ozvi-audit ARGS`: its exit code and report.
fn audit(args: &[&OsStr]) -> (Option<i32>, String) {
    let out = Command::new(binary("ozvi-audit"))
        .args(args)
        .output()
        .expect("runs");
    (out.status.code(), text(&out))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_writes_gets_a_reply_returns_and_deletes_in_the_browser() {
    let dist = repo().join("web-client/dist");
    assert!(
        dist.join("pkg/ozvi_web_bg.wasm").is_file()
            && repo().join("tests/browser/node_modules/axe-core").is_dir(),
        "run `cargo xtask test`: it builds web-client/dist and installs the browser packages"
    );
    let tmp = tempfile::tempdir().expect("temp dir");
    let operator = Operator::new(&tmp.path().join("operator")).await;
    // The relay serves a copy of the build, so one byte of it can change.
    let site = tmp.path().join("site");
    copy_dir(&dist, &site);
    let data = tmp.path().join("relay-data");
    let relay_log = tmp.path().join("relay.log");
    let mut relay = start_relay_process(&data, &operator.root_key, &site, &relay_log);
    let base = relay.base.clone();
    let home = staff_home(&tmp.path().join("zlin-a"), &base, &operator.root_key).await;
    operator.sample().await;
    operator.enrol(&home, "ic-zlin", "zlin-a", "Jana").await;
    operator.publish(&base).await;
    let signed = operator.dir.join("signed.json").display().to_string();
    let shown = desk_ok(
        None,
        &["admin", "show", &signed, "--root-key", &operator.root_key],
    )
    .await;
    assert!(
        shown.contains("ic-zlin"),
        "admin show summarizes the directory: {shown}"
    );

    let mut child = Command::new("node")
        .arg(repo().join("tests/browser/person.mjs"))
        .arg(&base)
        .env("OZVI_CANARY", CANARY)
        .env("OZVI_REPLY", REPLY)
        .env("OZVI_MORE", MORE)
        .env("OZVI_REASON", REASON)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node runs");
    let mut to_script = child.stdin.take().expect("piped");
    let mut rx = script_lines(&mut child);
    let mut log = Vec::new();
    let mut audited = false;
    let mut thread = String::new();
    while let Some(line) = tokio::time::timeout(Duration::from_secs(180), rx.recv())
        .await
        .expect("the browser script makes progress")
    {
        match line.as_str() {
            "CREATED" => {
                // The centre's side: the thread is in the inbox with her
                // form answers; the desk replies.
                let inbox: serde_json::Value =
                    serde_json::from_str(&desk_ok(Some(&home), &["inbox", "--json"]).await)
                        .expect("json");
                let threads = inbox.as_array().expect("a list");
                assert_eq!(threads.len(), 1, "{inbox}");
                let id = threads[0]["id"].as_str().expect("id").to_string();
                let view: serde_json::Value =
                    serde_json::from_str(&desk_ok(Some(&home), &["read", &id, "--json"]).await)
                        .expect("json");
                let first = &view["messages"][0];
                assert_eq!(first["text"], CANARY, "{view}");
                assert_eq!(first["intake"]["region"], "CZ-72", "{view}");
                assert_eq!(first["intake"]["danger_now"], true, "{view}");
                assert_eq!(first["intake"]["role"], "self", "{view}");
                assert_eq!(
                    first["intake"]["violence"],
                    serde_json::json!(["psychological", "physical"]),
                    "{view}"
                );
                assert_eq!(first["intake"]["age_band"], "adult", "{view}");
                let safe = &first["intake"]["safe_contact"];
                assert_eq!(safe["times"], "po 17. hodině", "{view}");
                assert_eq!(safe["chat_only"], true, "{view}");
                assert_eq!(safe["voicemail"], false, "{view}");
                desk_ok(Some(&home), &["reply", &id, "--text", REPLY]).await;
                desk_ok(Some(&home), &["note", &id, "--text", NOTE]).await;
                desk_ok(Some(&home), &["status", &id, "in_progress"]).await;
                // What she sees of it: the state, sealed to her like a reply.
                desk_ok(Some(&home), &["state", &id, "in_progress"]).await;
                writeln!(to_script, "REPLIED").expect("write");
                thread = id;
                audit_while_running(
                    &data,
                    &tmp.path().join("export"),
                    &base,
                    &dist,
                    &site,
                    &operator.root_key,
                );
                audited = true;
            }
            "TRANSFER" => {
                // Her case belongs to Brno now; the desk tells her so.
                desk_ok(
                    Some(&home),
                    &[
                        "transfer",
                        &thread,
                        "--to",
                        "ic-jihomoravsky",
                        "--reason",
                        REASON,
                    ],
                )
                .await;
                writeln!(to_script, "TRANSFERRED").expect("write");
            }
            "STOP_RELAY" => {
                let status = relay.terminate();
                assert!(status.success(), "SIGTERM: a clean exit ({status})");
                writeln!(to_script, "STOPPED").expect("write");
            }
            _ => {}
        }
        println!("{line}");
        log.push(line);
    }
    drop(to_script);
    node_succeeded(child, &log, "the person's story").await;
    assert!(
        log.iter().any(|l| l.starts_with("step: relay down")),
        "the script ran to its end:\n{}",
        log.join("\n")
    );
    assert!(audited, "the store and the page were audited");

    // The relay's whole log, from start to SIGTERM: nobody in it.
    let canaries = [CANARY, REPLY, MORE, NOTE, REASON];
    let mut args: Vec<&OsStr> = vec![OsStr::new("logs"), relay_log.as_os_str()];
    for c in &canaries {
        args.extend([OsStr::new("--canary"), OsStr::new(c)]);
    }
    let (code, report) = audit(&args);
    assert_eq!(code, Some(0), "ozvi-audit logs: {report}");
    assert!(report.contains("lines"), "{report}");

    // Restore: a relay started on a copy of the export serves the directory.
    let restored = tmp.path().join("restored");
    copy_dir(&tmp.path().join("export"), &restored);
    let again = start_relay_process(
        &restored,
        &operator.root_key,
        &site,
        &tmp.path().join("again.log"),
    );
    let directory = ozvi_tests::http::client()
        .get(again.url(ozvi_api::routes::paths::DIRECTORY))
        .send()
        .await
        .expect("request");
    assert_eq!(
        directory.status(),
        200,
        "the restored relay serves the directory"
    );
}

/// While the relay runs with her conversation, the reply and the note:
/// export, audit the export, audit the served page, change one byte of it,
/// audit again, put it back.
fn audit_while_running(
    data: &Path,
    export: &Path,
    base: &str,
    dist: &Path,
    site: &Path,
    root_key: &str,
) {
    run_ok(
        Command::new(binary("ozvi-relay"))
            .arg("--data")
            .arg(data)
            .arg("export")
            .arg(export),
    );
    let mut args: Vec<&OsStr> = vec![
        OsStr::new("store"),
        export.as_os_str(),
        OsStr::new("--root-key"),
        OsStr::new(root_key),
    ];
    for c in [CANARY, REPLY, MORE, NOTE] {
        args.extend([OsStr::new("--canary"), OsStr::new(c)]);
    }
    let (code, report) = audit(&args);
    assert_eq!(code, Some(0), "ozvi-audit store: {report}");
    for counted in [
        "messages records",
        "notes records",
        "payloads that look random",
    ] {
        assert!(report.contains(counted), "{report}");
    }

    let manifest = dist.join("SHA256SUMS");
    let web = [
        OsStr::new("web"),
        OsStr::new(base),
        OsStr::new("--manifest"),
        manifest.as_os_str(),
    ];
    let (code, report) = audit(&web);
    assert_eq!(code, Some(0), "ozvi-audit web: {report}");
    let exit = site.join("exit.js");
    let original = std::fs::read(&exit).expect("read");
    let mut changed = original.clone();
    changed[200] ^= 0x01;
    std::fs::write(&exit, &changed).expect("write");
    let (code, report) = audit(&web);
    assert_eq!(code, Some(1), "one changed byte must be caught: {report}");
    assert!(report.contains("/exit.js: SHA-256"), "{report}");
    std::fs::write(&exit, &original).expect("restore");
}

/// Her photos through the page (tests/browser/photos.mjs): a JPEG with GPS,
/// EXIF, XMP, IPTC and a comment and a PNG with text chunks are re-encoded
/// in her browser, sealed, uploaded (the first upload cut off once and sent
/// again under the same id) and claimed by her first message; exiftool finds
/// no metadata in the files her thread holds, which decode at the expected
/// size; a PDF is refused; she sees her pictures again after returning with
/// her code; the quick exit during an upload leaves nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn her_photos_are_stripped_sealed_uploaded_and_shown_again() {
    let dist = repo().join("web-client/dist");
    assert!(
        dist.join("pkg/ozvi_web_files_bg.wasm").is_file()
            && repo()
                .join("tests/browser/node_modules/playwright-core")
                .is_dir(),
        "run `cargo xtask test`: it builds web-client/dist and installs the browser packages"
    );
    assert!(
        Command::new("exiftool")
            .arg("-ver")
            .output()
            .is_ok_and(|o| o.status.success()),
        "Debian's exiftool: apt-get install libimage-exiftool-perl"
    );
    let tmp = tempfile::tempdir().expect("temp dir");
    let operator = Operator::new(&tmp.path().join("operator")).await;
    let relay_log = tmp.path().join("relay.log");
    let relay = start_relay_process(
        &tmp.path().join("relay-data"),
        &operator.root_key,
        &dist,
        &relay_log,
    );
    let home = staff_home(&tmp.path().join("zlin-a"), &relay.base, &operator.root_key).await;
    operator.sample().await;
    operator.enrol(&home, "ic-zlin", "zlin-a", "Jana").await;
    operator.publish(&relay.base).await;

    let work = tmp.path().join("photos");
    let mut child = Command::new("node")
        .arg(repo().join("tests/browser/photos.mjs"))
        .arg(&relay.base)
        .arg(&work)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node runs");
    let mut to_script = child.stdin.take().expect("piped");
    let mut rx = script_lines(&mut child);
    let mut log = Vec::new();
    while let Some(line) = tokio::time::timeout(Duration::from_secs(240), rx.recv())
        .await
        .expect("the browser script makes progress")
    {
        if line == "CREATED" {
            let inbox: serde_json::Value =
                serde_json::from_str(&desk_ok(Some(&home), &["inbox", "--json"]).await)
                    .expect("json");
            let id = inbox[0]["id"].as_str().expect("id").to_string();
            // The centre saves her two pictures with the desk; exiftool
            // finds nothing in them but the picture — and the same check
            // does find what her originals carried.
            for (original, carried) in [
                (
                    "photo.jpg",
                    &["GPS:", "IFD0:Make", "XMP", "IPTC:", "File:Comment"][..],
                ),
                ("screenshot.png", &["PNG:"][..]),
            ] {
                let found = tags_beyond_the_picture(&work.join(original));
                for needed in carried {
                    assert!(
                        found.iter().any(|t| t.contains(needed)),
                        "the check would miss {needed} in {original}: {found:?}"
                    );
                }
            }
            for (n, ext, width, height) in [(1, "jpg", 2250, 3000), (2, "png", 1080, 1920)] {
                let saved = work.join(format!("desk-saved-{n}.{ext}"));
                desk_ok(
                    Some(&home),
                    &[
                        "attachment",
                        &id,
                        &n.to_string(),
                        "--out",
                        &saved.display().to_string(),
                    ],
                )
                .await;
                let shown = saved_photo_is_only_its_picture(&saved, width, height);
                println!("step: the desk saved her picture {n}: {shown}");
            }
            // Staff answer with her screenshot back and a PDF leaflet.
            let png = work.join("screenshot.png").display().to_string();
            let pdf = work.join("zprava.pdf").display().to_string();
            desk_ok(
                Some(&home),
                &[
                    "reply",
                    &id,
                    "--text",
                    "Posíláme leták.",
                    "--attach",
                    &png,
                    "--attach",
                    &pdf,
                ],
            )
            .await;
            writeln!(to_script, "REPLIED").expect("write");
        }
        println!("{line}");
        log.push(line);
    }
    drop(to_script);
    node_succeeded(child, &log, "her photos").await;
    assert!(
        log.iter()
            .any(|l| l.starts_with("step: quick exit during an upload")),
        "the script ran to its end:\n{}",
        log.join("\n")
    );
}

/// What exiftool may find in a picture the desk saved: the file system's
/// facts, the picture's own shape and the container's fixed fields. Any other
/// tag — GPS, EXIF, XMP, IPTC, ICC, a comment, a PNG text chunk of any
/// keyword, a tag exiftool does not even know (`-u`) — fails: an allowlist,
/// so a block no one thought of fails too.
const PICTURE_ONLY: &[&str] = &[
    "File:FileType",
    "File:FileTypeExtension",
    "File:MIMEType",
    "File:ImageWidth",
    "File:ImageHeight",
    "File:EncodingProcess",
    "File:BitsPerSample",
    "File:ColorComponents",
    "File:YCbCrSubSampling",
    "JFIF:JFIFVersion",
    "JFIF:ResolutionUnit",
    "JFIF:XResolution",
    "JFIF:YResolution",
    "PNG:ImageWidth",
    "PNG:ImageHeight",
    "PNG:BitDepth",
    "PNG:ColorType",
    "PNG:Compression",
    "PNG:Filter",
    "PNG:Interlace",
    "Composite:ImageSize",
    "Composite:Megapixels",
];

/// The tags exiftool finds in `path` beyond [`PICTURE_ONLY`].
fn tags_beyond_the_picture(path: &Path) -> Vec<String> {
    let out = Command::new("exiftool")
        .args(["-j", "-a", "-u", "-G1", "-s", "-n"])
        .arg(path)
        .output()
        .expect("exiftool runs");
    assert!(out.status.success(), "exiftool: {}", text(&out));
    let tags: serde_json::Value = serde_json::from_slice(&out.stdout).expect("exiftool's JSON");
    tags[0]
        .as_object()
        .expect("one file")
        .keys()
        .filter(|k| {
            let group = k.split(':').next().unwrap_or_default();
            !matches!(group, "SourceFile" | "ExifTool" | "System")
                && !PICTURE_ONLY.contains(&k.as_str())
        })
        .cloned()
        .collect()
}

/// Checks a picture the desk saved: mode 0600, the expected pixel size, and
/// nothing but [`PICTURE_ONLY`] (Debian's exiftool). Returns what was seen.
fn saved_photo_is_only_its_picture(path: &Path, width: u64, height: u64) -> String {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).expect("saved").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{}: mode {mode:o}", path.display());
    let out = Command::new("exiftool")
        .args(["-j", "-a", "-u", "-G1", "-s", "-n"])
        .arg(path)
        .output()
        .expect("exiftool runs");
    assert!(out.status.success(), "exiftool: {}", text(&out));
    let tags: serde_json::Value = serde_json::from_slice(&out.stdout).expect("exiftool's JSON");
    let tags = tags[0].as_object().expect("one file");
    let extra = tags_beyond_the_picture(path);
    assert!(
        extra.is_empty(),
        "{}: exiftool finds {extra:?}",
        path.display()
    );
    let size = |a: &str, b: &str| tags.get(a).or_else(|| tags.get(b)).and_then(|v| v.as_u64());
    assert_eq!(
        (
            size("File:ImageWidth", "PNG:ImageWidth"),
            size("File:ImageHeight", "PNG:ImageHeight")
        ),
        (Some(width), Some(height)),
        "{}",
        path.display()
    );
    let mut seen: Vec<&String> = tags
        .keys()
        .filter(|k| !k.starts_with("System:") && !k.starts_with("ExifTool:"))
        .collect();
    seen.sort();
    format!("{width}×{height}, mode 0600, exiftool sees only {seen:?}")
}

/// The photo figures of docs/PERFORMANCE.md ("Photos"), run by hand:
/// `cargo test -p ozvi-tests --test person_page photo_figures -- --ignored
/// --nocapture` (tests/browser/photos-bench.mjs against a real relay).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark, run by hand"]
async fn photo_figures() {
    let dist = repo().join("web-client/dist");
    let tmp = tempfile::tempdir().expect("temp dir");
    let operator = Operator::new(&tmp.path().join("operator")).await;
    let relay = start_relay_process(
        &tmp.path().join("relay-data"),
        &operator.root_key,
        &dist,
        &tmp.path().join("relay.log"),
    );
    let home = staff_home(&tmp.path().join("zlin-a"), &relay.base, &operator.root_key).await;
    operator.sample().await;
    operator.enrol(&home, "ic-zlin", "zlin-a", "Jana").await;
    operator.publish(&relay.base).await;
    let runs = std::env::var("OZVI_RUNS").unwrap_or_else(|_| "5".into());
    let status = Command::new("node")
        .arg(repo().join("tests/browser/photos-bench.mjs"))
        .arg(&relay.base)
        .arg(runs)
        .status()
        .expect("node runs");
    assert!(status.success(), "photos-bench.mjs failed");
}
