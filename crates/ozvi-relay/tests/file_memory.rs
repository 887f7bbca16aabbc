//! Issue 15's memory acceptance, on the real `ozvi-relay` binary: 20
//! concurrent uploads of a 10 MiB file (its blob is of the 16 MiB bucket,
//! 16,781,332 bytes) raise the relay's resident memory by less than 32 MiB.
//! Uploads are streamed to disk a piece at a time (docs/API.md, "Files").

use std::ffi::OsStr;
use std::time::Instant;

use ozvi_crypto::PersonKeys;
use ozvi_crypto::format::b64;
use ozvi_crypto::format::envelope::Kind;
use ozvi_crypto::protocol::file::{BLOB_LENGTHS, FileId};
use ozvi_tests::cast::Cast;
use ozvi_tests::person::text_body;
use ozvi_tests::relay::RelayProcess;
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};
use serde_json::json;

const UPLOADS: usize = 20;
const LIMIT_KIB: u64 = 32 * 1024;

fn person(i: u32) -> PersonKeys {
    let mut root = [0u8; 32];
    root[..4].copy_from_slice(&i.to_be_bytes());
    root[4] = 0x15;
    PersonKeys::from_root(&root)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_10_mib_uploads_raise_the_relays_rss_by_less_than_32_mib() {
    let (cast, _) = Cast::zlin(15, 1);
    let dir = tempfile::tempdir().expect("temp dir");
    cast.write_directory(&dir.path().join("directory.json"));
    std::fs::write(
        dir.path().join("relay.toml"),
        "pow_difficulty = 0\nrequests_per_address_per_minute = 1000000\n\
         posts_per_thread_per_minute = 1000000\nthreads_per_centre_per_hour = 1000000\n\
         threads_per_address_per_hour = 1000000\nuploads_per_address = 1000\n\
         metrics_listen = \"off\"\n",
    )
    .expect("write");
    let relay = RelayProcess::start(
        [
            OsStr::new("--data"),
            dir.path().join("data").as_os_str(),
            OsStr::new("--config"),
            dir.path().join("relay.toml").as_os_str(),
            OsStr::new("--root-key"),
            OsStr::new(&b64::encode(&cast.root.public().to_bytes())),
            OsStr::new("--directory"),
            dir.path().join("directory.json").as_os_str(),
        ],
        &[],
        &dir.path().join("relay.log"),
    );
    let http = ozvi_tests::http::client();
    let mut rng = ChaCha20Rng::seed_from_u64(15);
    let length = BLOB_LENGTHS[8];
    assert_eq!(length, 16_781_332, "a 10 MiB file's bucket");
    let mut blob = vec![0u8; usize::try_from(length).expect("fits")];
    rng.fill_bytes(&mut blob);
    blob[0] = 0x01;
    let blob = actix_web::web::Bytes::from(blob);

    // One thread per upload (her thread, then her photo).
    let people: Vec<PersonKeys> = (0..=UPLOADS as u32).map(person).collect();
    for p in &people {
        let envelope = ozvi_tests::person::envelope(
            &mut rng,
            &cast.directory.centres[0],
            p,
            None,
            Kind::PersonMessage,
            &text_body("fotka"),
            0,
        );
        let body = json!({
            "mailbox_id": p.mailbox_id().to_b64(),
            "verifier": b64::encode(&p.auth_secret().verifier().0),
            "centre": "ic-zlin",
            "envelope": b64::encode(&envelope),
        });
        let created = http
            .post(relay.url("/api/v1/threads"))
            .json(&body)
            .send()
            .await
            .expect("request");
        assert_eq!(created.status(), 201);
    }
    let upload = |p: &PersonKeys, id: u8| {
        http.put(relay.url("/api/v1/mailbox/file"))
            .header("Ozvi-Mailbox", p.mailbox_id().to_b64())
            .header("Ozvi-Auth", b64::encode(p.auth_secret().expose()))
            .header("Ozvi-File", FileId([id; 16]).to_b64())
            .header("content-type", "application/octet-stream")
            .body(blob.clone())
            .send()
    };
    // Warm-up: one upload, so that buffers every upload uses exist.
    let warm = upload(&people[UPLOADS], 0).await.expect("request");
    assert_eq!(warm.status(), 204);
    let before = relay.memory().expect("memory");
    let started = Instant::now();
    let answers =
        futures_util::future::join_all(people[..UPLOADS].iter().map(|p| upload(p, 1))).await;
    let took = started.elapsed();
    for answer in answers {
        assert_eq!(answer.expect("request").status(), 204);
    }
    let after = relay.memory().expect("memory");
    let grew = after.hwm_kib.saturating_sub(before.rss_kib);
    println!(
        "relay RSS: {} KiB before, {} KiB after {UPLOADS} concurrent uploads of {length} bytes \
         ({} MiB in {:.1} s); peak {} KiB, growth to the peak {} KiB (limit {LIMIT_KIB} KiB)",
        before.rss_kib,
        after.rss_kib,
        (UPLOADS as u64 * length) >> 20,
        took.as_secs_f64(),
        after.hwm_kib,
        grew,
    );
    assert!(
        after.rss_kib.saturating_sub(before.rss_kib) < LIMIT_KIB,
        "RSS grew by {} KiB",
        after.rss_kib.saturating_sub(before.rss_kib)
    );
    assert!(grew < LIMIT_KIB, "the peak was {grew} KiB above the start");
}
