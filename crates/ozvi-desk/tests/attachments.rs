//! Attached files at the desk, against a real relay (PROTOCOL.md §12): her
//! photos listed and saved byte for byte (mode 0600), a changed or missing
//! blob refused with nothing written, an invalid reference shown as such
//! beside the message, a reply with files she downloads and opens, the
//! local web UI serving an image only to its page and never caching it,
//! the export carrying the verified files, and a transfer after which the
//! new centre opens them.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::*;
use ozvi_crypto::format::envelope::Kind;
use ozvi_crypto::primitives::rng::os_rng;
use ozvi_crypto::protocol::file::{self, SealedFile};
use serde_json::{Value, json};

fn json(text: &str) -> Value {
    serde_json::from_str(text).expect("JSON output")
}

/// A JPEG's first bytes (SOI, JFIF, a start of frame of 48×32) and filler:
/// what the desk reads of an image is its header.
fn jpeg(fill: u8, len: usize) -> Vec<u8> {
    let mut b = vec![
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0,
        0xFF, 0xC0, 0x00, 0x11, 0x08, 0x00, 0x20, 0x00, 0x30, 0x03, 1, 0x22, 0, 2, 0x11, 1, 3,
        0x11, 1,
    ];
    b.resize(len, fill);
    b
}

/// A PNG's signature and IHDR (640×480) and filler.
fn png(fill: u8, len: usize) -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR".to_vec();
    b.extend_from_slice(&640u32.to_be_bytes());
    b.extend_from_slice(&480u32.to_be_bytes());
    b.extend_from_slice(&[8, 6, 0, 0, 0]);
    b.resize(len, fill);
    b
}

fn pdf(len: usize) -> Vec<u8> {
    let mut b = b"%PDF-1.4\n% letak centra\n".to_vec();
    b.resize(len, b'x');
    b
}

/// The arguments of `ozvi-desk attachment THREAD N --out OUT`.
fn save_args<'a>(id: &'a str, n: &'a str, out: &'a Path) -> [&'a str; 5] {
    ["attachment", id, n, "--out", out.to_str().expect("path")]
}

/// `bytes` sealed as a file of `mailbox` (PROTOCOL.md §12).
fn seal(
    mailbox: &ozvi_crypto::MailboxId,
    bytes: &[u8],
    media_type: &str,
    pixels: Option<(u32, u32)>,
) -> SealedFile {
    file::seal(&mut os_rng(), mailbox, bytes, media_type, pixels, None).expect("seals")
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .expect("exists")
        .permissions()
        .mode()
        & 0o777
}

/// She writes, then sends two photos (uploaded first, then claimed by her
/// message). Returns the two plaintexts and the sealed files.
async fn she_sends_two_photos(person: &Person) -> (Vec<u8>, Vec<u8>, SealedFile, SealedFile) {
    person.write_first("ic-zlin", "Posílám fotky.").await;
    let mailbox = person.mailbox();
    // Over one chunk: the bucket of two chunks.
    let photo = jpeg(0x5A, 70_000);
    let shot = png(0x11, 3000);
    let a = seal(&mailbox, &photo, "image/jpeg", Some((48, 32)));
    let b = seal(&mailbox, &shot, "image/png", Some((640, 480)));
    assert_eq!(person.upload_file(&a).await, 204);
    assert_eq!(person.upload_file(&b).await, 204);
    person
        .write_more_with_files(
            &json!({"text": "Modřina a jeho zpráva.",
                    "files": [a.reference.to_json(), b.reference.to_json()]}),
            &[a.reference.id, b.reference.id],
        )
        .await;
    (photo, shot, a, b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn her_two_photos_are_listed_and_saved_exactly_and_only_for_staff() {
    let deployment = Deployment::new(&[JANA]).await;
    let home = deployment.home();
    let anna = deployment.person(41);
    let (photo, shot, a, _) = she_sends_two_photos(&anna).await;
    let id = anna.mailbox().to_b64();

    // The conversation lists both, numbered, with kind, size and pixels.
    let shown = desk_ok(Some(&home), &["read", &id]).await;
    assert!(shown.contains("Modřina a jeho zpráva."), "{shown}");
    assert!(
        shown.contains("=== Příloha 1 / attachment 1: obrázek JPEG · 70 kB · 48×32 px"),
        "{shown}"
    );
    assert!(
        shown.contains("=== Příloha 2 / attachment 2: obrázek PNG · 3 kB · 640×480 px"),
        "{shown}"
    );
    let view = json(&desk_ok(Some(&home), &["read", &id, "--json"]).await);
    let files = &view["messages"][1]["files"];
    assert_eq!(files[0]["number"], 1, "{view}");
    assert_eq!(files[1]["media_type"], "image/png");
    assert_eq!(files[1]["width"], 640);
    // The key that opens the file never leaves the desk's memory.
    let key = ozvi_crypto::format::b64::encode(a.reference.key.expose());
    assert!(!view.to_string().contains(&key), "{view}");
    assert!(files[0].get("reference").is_none());

    // Saved byte for byte, readable only by her; never over a file.
    let out = deployment.dir.path().join("modrina.jpg");
    let said = desk_ok(Some(&home), &save_args(&id, "1", &out)).await;
    assert!(said.contains("obrázek JPEG"), "{said}");
    assert_eq!(std::fs::read(&out).expect("written"), photo);
    assert_eq!(mode(&out), 0o600);
    let out2 = deployment.dir.path().join("zprava.png");
    desk_ok(
        Some(&home),
        &[
            "attachment",
            &id[..8],
            "2",
            "--out",
            out2.to_str().expect("path"),
        ],
    )
    .await;
    assert_eq!(std::fs::read(&out2).expect("written"), shot);
    desk_fails(Some(&home), &save_args(&id, "2", &out), "already exists").await;
    assert_eq!(std::fs::read(&out).expect("kept"), photo, "not overwritten");
    let out3 = deployment.dir.path().join("none");
    desk_fails(Some(&home), &save_args(&id, "3", &out3), "no attachment 3").await;
    assert!(!out3.exists());

    // An invalid reference beside a good one: the message and the good
    // file are shown, the bad one is said to be unopenable.
    let c = seal(&anna.mailbox(), &shot, "image/png", None);
    assert_eq!(anna.upload_file(&c).await, 204);
    let mut broken = c.reference.to_json();
    broken["size"] = json!(99_999_999);
    anna.write_more_with_files(
        &json!({"text": "Ještě jedna.", "files": [broken, c.reference.to_json()]}),
        &[c.reference.id],
    )
    .await;
    let shown = desk_ok(Some(&home), &["read", &id]).await;
    assert!(shown.contains("Ještě jedna."), "{shown}");
    assert!(
        shown.contains(
            "=== Příloha 3 / attachment 3: příloha, kterou nelze otevřít / an attachment that \
             cannot be opened"
        ),
        "{shown}"
    );
    assert!(
        shown.contains("=== Příloha 4 / attachment 4: obrázek PNG"),
        "{shown}"
    );
    desk_fails(Some(&home), &save_args(&id, "3", &out3), "nelze otevřít").await;
    assert!(!out3.exists());
    desk_ok(Some(&home), &save_args(&id, "4", &out3)).await;
    assert_eq!(std::fs::read(&out3).expect("written"), shot);
    deployment.relay.handle.stop(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_or_missing_file_is_refused_and_nothing_is_written() {
    let deployment = Deployment::new(&[JANA]).await;
    let home = deployment.home();
    let anna = deployment.person(42);
    anna.write_first("ic-zlin", "Dobrý den.").await;
    let mailbox = anna.mailbox();
    let id = mailbox.to_b64();
    let photo = jpeg(0x33, 5000);

    // What the relay hands out is not what the message names: one byte of
    // a chunk changed (the first byte stays the format's).
    let good = seal(&mailbox, &photo, "image/jpeg", None);
    let mut changed = SealedFile {
        blob: good.blob.clone(),
        reference: good.reference.clone(),
    };
    changed.blob[100] ^= 1;
    assert_eq!(anna.upload_file(&changed).await, 204);
    // And a reference to a file that was never uploaded.
    let missing = seal(&mailbox, &photo, "image/jpeg", None);
    anna.write_more_with_files(
        &json!({"text": "Fotky.",
                "files": [good.reference.to_json(), missing.reference.to_json()]}),
        &[good.reference.id],
    )
    .await;

    let out = deployment.dir.path().join("x.jpg");
    let path = out.to_str().expect("path");
    desk_fails(
        Some(&home),
        &["attachment", &id, "1", "--out", path],
        "není ten, na který zpráva odkazuje",
    )
    .await;
    assert!(!out.exists(), "nothing written");
    desk_fails(
        Some(&home),
        &["attachment", &id, "2", "--out", path],
        "relay nemá",
    )
    .await;
    assert!(!out.exists(), "nothing written");
    // The message itself is still shown.
    let shown = desk_ok(Some(&home), &["read", &id]).await;
    assert!(shown.contains("Fotky."), "{shown}");
    deployment.relay.handle.stop(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_with_files_reaches_her_and_she_opens_them() {
    let deployment = Deployment::new(&[JANA]).await;
    let home = deployment.home();
    let anna = deployment.person(43);
    anna.write_first("ic-zlin", "Co mám dělat?").await;
    let id = anna.mailbox().to_b64();
    let dir = deployment.dir.path();
    let leaflet = pdf(150_000);
    std::fs::write(dir.join("Leták centra.pdf"), &leaflet).expect("write");
    // A PNG under a misleading extension and a name §12.3 refuses.
    let map = png(0x22, 2000);
    std::fs::write(dir.join(".mapa.pdf"), &map).expect("write");
    // Text under a PDF's name.
    std::fs::write(dir.join("tajne.pdf"), b"just text").expect("write");

    // Refused by content, before anything is sent.
    desk_fails(
        Some(&home),
        &[
            "reply",
            &id,
            "--text",
            "x",
            "--attach",
            dir.join("tajne.pdf").to_str().expect("path"),
        ],
        "only a JPEG, PNG or PDF",
    )
    .await;
    let six: Vec<String> = (0..6)
        .flat_map(|_| {
            [
                "--attach".to_string(),
                dir.join("Leták centra.pdf").display().to_string(),
            ]
        })
        .collect();
    let mut args = vec!["reply", &id, "--text", "x"];
    args.extend(six.iter().map(String::as_str));
    desk_fails(Some(&home), &args, "at most 5").await;
    assert_eq!(anna.read_bodies().await.len(), 1, "nothing sent");

    let sent = desk_ok(
        Some(&home),
        &[
            "reply",
            &id,
            "--text",
            "Posíláme leták a mapu.",
            "--attach",
            dir.join("Leták centra.pdf").to_str().expect("path"),
            "--attach",
            dir.join(".mapa.pdf").to_str().expect("path"),
        ],
    )
    .await;
    assert!(sent.contains("message 2"), "{sent}");

    // She opens the reply and both files, as her page does.
    let bodies = anna.read_bodies().await;
    let (seq, kind, who, body) = bodies.last().expect("the reply");
    assert_eq!((*seq, *kind), (2, Kind::StaffReply));
    assert_eq!(who, "ic-zlin/zlin-a");
    assert_eq!(body["text"], "Posíláme leták a mapu.");
    let refs = file::FileRef::from_body(body).expect("files");
    assert_eq!(refs.len(), 2);
    let first = refs[0].as_ref().expect("valid");
    assert_eq!(first.media_type, "application/pdf");
    assert_eq!(first.name.as_deref(), Some("Leták centra.pdf"));
    let second = refs[1].as_ref().expect("valid");
    assert_eq!(second.media_type, "image/png", "by content, not by name");
    assert_eq!(second.pixels, Some((640, 480)));
    assert_eq!(second.name.as_deref(), Some("priloha-2.png"));
    for (reference, plain) in [(first, &leaflet), (second, &map)] {
        let (status, blob) = anna.download_file(&reference.id).await;
        assert_eq!(status, 200);
        let opened = file::open(&anna.mailbox(), reference, &blob).expect("opens");
        assert_eq!(&*opened, plain);
    }
    // The desk lists its own reply's files too.
    let shown = desk_ok(Some(&home), &["read", &id]).await;
    assert!(
        shown.contains("=== Příloha 1 / attachment 1: dokument PDF · 150 kB · „Leták centra.pdf“"),
        "{shown}"
    );
    deployment.relay.handle.stop(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_export_carries_the_verified_files_and_a_new_centre_opens_them_after_a_transfer() {
    let deployment = Deployment::new(&[JANA, EVA]).await;
    let (zlin, praha) = (deployment.homes[0].clone(), deployment.homes[1].clone());
    let anna = deployment.person(44);
    let (photo, shot, _, _) = she_sends_two_photos(&anna).await;
    let id = anna.mailbox().to_b64();
    let dir = deployment.dir.path();

    let out = dir.join("spis.txt");
    let said = desk_ok(
        Some(&zlin),
        &["export", &id, "--out", out.to_str().expect("path")],
    )
    .await;
    assert!(said.contains("2 in"), "{said}");
    let text = std::fs::read_to_string(&out).expect("export");
    assert!(
        text.contains("Příloha 2 / attachment 2: obrázek PNG"),
        "{text}"
    );
    let files = dir.join("spis.txt.prilohy");
    assert_eq!(mode(&files), 0o700);
    let jpg = files.join("1-priloha-1.jpg");
    let png = files.join("2-priloha-2.png");
    assert_eq!(std::fs::read(&jpg).expect("exported"), photo);
    assert_eq!(std::fs::read(&png).expect("exported"), shot);
    assert_eq!((mode(&jpg), mode(&png), mode(&out)), (0o600, 0o600, 0o600));
    // A folder for the files that exists already: refused, nothing written.
    std::fs::create_dir(dir.join("jiny.txt.prilohy")).expect("mkdir");
    desk_fails(
        Some(&zlin),
        &[
            "export",
            &id,
            "--out",
            dir.join("jiny.txt").to_str().expect("p"),
        ],
        "already exists",
    )
    .await;
    assert!(!dir.join("jiny.txt").exists());

    // Transferred: Praha opens her photo; the blobs stayed with the thread.
    desk_ok(
        Some(&zlin),
        &[
            "transfer",
            &id,
            "--to",
            "ic-praha",
            "--reason",
            "Bydlí v Praze.",
        ],
    )
    .await;
    let view = json(&desk_ok(Some(&praha), &["read", &id, "--json"]).await);
    assert!(view["entry"]["transfer_unchecked"].is_null(), "{view}");
    let moved = dir.join("praha.jpg");
    desk_ok(Some(&praha), &save_args(&id, "1", &moved)).await;
    assert_eq!(std::fs::read(&moved).expect("written"), photo);
    // Zlín no longer can.
    let gone = dir.join("zlin.jpg");
    let r = desk(Some(&zlin), &save_args(&id, "1", &gone)).await;
    assert!(!r.status.success());
    assert!(!gone.exists());
    deployment.relay.handle.stop(true).await;
}

/// The page's token from a desk UI unlocked with the staff passphrase.
async fn unlocked_page(desk: &Desk) -> String {
    let token = desk.page_token().await;
    let r = ozvi_tests::http::client()
        .post(format!("{}/api/unlock", desk.base))
        .bearer_auth(&token)
        .header("Ozvi-Intent", "user")
        .json(&json!({ "passphrase": STAFF_PASS }))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 200);
    token
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_ui_shows_a_photo_only_to_its_page_uncached_and_saves_it_privately() {
    let deployment = Deployment::new(&[JANA]).await;
    let home = deployment.home();
    let anna = deployment.person(45);
    let (photo, _, _, _) = she_sends_two_photos(&anna).await;
    let id = anna.mailbox().to_b64();
    let desk = start_desk_locking_after(&home, std::time::Duration::from_secs(600));
    let token = unlocked_page(&desk).await;
    let http = ozvi_tests::http::client();
    let post = |path: &str, token: Option<&str>, body: Value| {
        let mut r = http
            .post(format!("{}{path}", desk.base))
            .header("Ozvi-Intent", "user")
            .json(&body);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send()
    };

    let view: Value = post("/api/thread", Some(&token), json!({ "id": id }))
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(view["messages"][1]["files"][0]["media_type"], "image/jpeg");

    let r = post(
        "/api/attachment",
        Some(&token),
        json!({"id": id, "number": 1}),
    )
    .await
    .expect("request");
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/jpeg");
    assert_eq!(r.headers()["cache-control"], "no-store");
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .expect("ascii")
        .to_string();
    assert!(csp.contains("img-src 'self' blob:;"), "{csp}");
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert_eq!(r.bytes().await.expect("body").to_vec(), photo);

    // Without the page's token, or with the spent launch secret: nothing.
    for t in [None, Some(desk.launch()), Some("x".repeat(43))] {
        let r = post(
            "/api/attachment",
            t.as_deref(),
            json!({"id": id, "number": 1}),
        )
        .await
        .expect("request");
        assert_eq!(r.status(), 401);
        let body = r.bytes().await.expect("body");
        assert!(!body.windows(4).any(|w| w == &photo[..4]));
    }

    // "Uložit": into the desk's folder, privately, never over a file.
    let saved: Value = post(
        "/api/attachment/save",
        Some(&token),
        json!({"id": id, "number": 1}),
    )
    .await
    .expect("request")
    .json()
    .await
    .expect("json");
    let path = std::path::PathBuf::from(saved["path"].as_str().expect("path"));
    assert_eq!(path, home.join("prilohy").join("priloha-1.jpg"));
    assert_eq!(std::fs::read(&path).expect("saved"), photo);
    assert_eq!((mode(&path), mode(&home.join("prilohy"))), (0o600, 0o700));
    let again: Value = post(
        "/api/attachment/save",
        Some(&token),
        json!({"id": id, "number": 1}),
    )
    .await
    .expect("request")
    .json()
    .await
    .expect("json");
    assert_eq!(
        again["path"].as_str().expect("path"),
        home.join("prilohy")
            .join("priloha-1 (2).jpg")
            .to_str()
            .expect("p")
    );
    assert_eq!(std::fs::read(&path).expect("kept"), photo);

    // A reply with a file from the page, as base64 in JSON.
    let leaflet = pdf(4000);
    let data = {
        // Standard base64, as FileReader gives it.
        const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut s = String::new();
        for c in leaflet.chunks(3) {
            let n = (u32::from(c[0]) << 16)
                | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
                | u32::from(*c.get(2).unwrap_or(&0));
            for i in 0..4 {
                if i <= c.len() {
                    s.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
                } else {
                    s.push('=');
                }
            }
        }
        s
    };
    let r = post(
        "/api/reply",
        Some(&token),
        json!({"id": id, "text": "Leták.", "files": [{"name": "letak.pdf", "data": data}]}),
    )
    .await
    .expect("request");
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
    let bodies = anna.read_bodies().await;
    let body = &bodies.last().expect("reply").3;
    let refs = file::FileRef::from_body(body).expect("files");
    let reference = refs[0].as_ref().expect("valid");
    assert_eq!(reference.name.as_deref(), Some("letak.pdf"));
    let (_, blob) = anna.download_file(&reference.id).await;
    assert_eq!(
        &*file::open(&anna.mailbox(), reference, &blob).expect("opens"),
        &leaflet
    );
    // A PDF is never served for display, only saved.
    let view: Value = post("/api/thread", Some(&token), json!({ "id": id }))
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    let number = view["messages"][2]["files"][0]["number"].clone();
    assert_eq!(number, 3, "{view}");
    let r = post(
        "/api/attachment",
        Some(&token),
        json!({"id": id, "number": number}),
    )
    .await
    .expect("request");
    assert_eq!(r.status(), 400);
    desk.handle.stop(true).await;
    deployment.relay.handle.stop(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_senders_name_and_type_are_never_trusted_for_what_is_saved() {
    let deployment = Deployment::new(&[JANA]).await;
    let home = deployment.home();
    let anna = deployment.person(46);
    anna.write_first("ic-zlin", "Posílám soubory.").await;
    let mailbox = anna.mailbox();
    let id = mailbox.to_b64();
    let photo = jpeg(0x44, 4000);
    let shot = png(0x55, 3000);
    let html = b"<html><script>alert(1)</script></html>".to_vec();
    // A real JPEG named as a web page.
    let a = file::seal(
        &mut os_rng(),
        &mailbox,
        &photo,
        "image/jpeg",
        None,
        Some("x.html"),
    )
    .expect("seals");
    // A web page that says it is a JPEG.
    let b = file::seal(
        &mut os_rng(),
        &mailbox,
        &html,
        "image/jpeg",
        None,
        Some("foto.jpg"),
    )
    .expect("seals");
    // The longest name §12.3 allows in bytes: 48 four-byte characters.
    let long = format!("{}.png", "\u{20000}".repeat(48));
    let c = file::seal(
        &mut os_rng(),
        &mailbox,
        &shot,
        "image/png",
        None,
        Some(&long),
    )
    .expect("seals");
    for sealed in [&a, &b, &c] {
        assert_eq!(anna.upload_file(sealed).await, 204);
    }
    anna.write_more_with_files(
        &json!({"text": "Tři soubory.",
                "files": [a.reference.to_json(), b.reference.to_json(), c.reference.to_json()]}),
        &[a.reference.id, b.reference.id, c.reference.id],
    )
    .await;

    // Bytes that are not the stated type: refused, nothing written.
    let dir = deployment.dir.path();
    let out = dir.join("foto.jpg");
    desk_fails(
        Some(&home),
        &save_args(&id, "2", &out),
        "její obsah není obrázek JPEG",
    )
    .await;
    assert!(!out.exists(), "nothing written");

    // The same in the local web UI: neither shown nor saved; the real
    // photo is saved under her name with the type's extension.
    let desk = start_desk_locking_after(&home, std::time::Duration::from_secs(600));
    let token = unlocked_page(&desk).await;
    let http = ozvi_tests::http::client();
    let post = |path: &str, number: usize| {
        http.post(format!("{}{path}", desk.base))
            .header("Ozvi-Intent", "user")
            .bearer_auth(&token)
            .json(&json!({"id": id, "number": number}))
            .send()
    };
    for path in ["/api/attachment", "/api/attachment/save"] {
        let r = post(path, 2).await.expect("request");
        assert_eq!(r.status(), 422, "{path}");
        let text = r.text().await.expect("body");
        assert!(text.contains("není obrázek JPEG"), "{text}");
        assert!(!text.contains("<html"), "{text}");
    }
    assert!(!home.join("prilohy").exists(), "nothing saved");
    let saved: Value = post("/api/attachment/save", 1)
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    let path = home.join("prilohy").join("x.jpg");
    assert_eq!(saved["path"].as_str(), path.to_str(), "{saved}");
    assert_eq!(std::fs::read(&path).expect("saved"), photo);
    desk.handle.stop(true).await;

    // The export: the text, the two good files under safe names with the
    // type's extension, and the refused one reported, not an abort.
    let spis = dir.join("spis.txt");
    let said = desk_ok(
        Some(&home),
        &["export", &id, "--out", spis.to_str().expect("path")],
    )
    .await;
    assert!(said.contains("2 in"), "{said}");
    assert!(said.contains("přílohu 2 nelze otevřít"), "{said}");
    assert!(
        std::fs::read_to_string(&spis)
            .expect("text")
            .contains("Tři soubory.")
    );
    let files = dir.join("spis.txt.prilohy");
    let mut names: Vec<String> = std::fs::read_dir(&files)
        .expect("folder")
        .map(|e| e.expect("entry").file_name().into_string().expect("utf-8"))
        .collect();
    names.sort();
    assert_eq!(
        names,
        vec![
            "1-x.jpg".to_string(),
            format!("3-{}.png", "\u{20000}".repeat(30))
        ]
    );
    assert_eq!(std::fs::read(files.join("1-x.jpg")).expect("saved"), photo);
    assert_eq!(std::fs::read(files.join(&names[1])).expect("saved"), shot);
    deployment.relay.handle.stop(true).await;
}
