//! How long a staff member waits: opening an inbox of 1,000 threads (each
//! with a staff-only note to decrypt) and opening a thread of 200 messages,
//! against a real relay (sled, loopback) in this process.
//!
//!     cargo bench -p ozvi-desk --bench desk
//!
//! Prints the median and worst of several runs of each, beside the relay's
//! `/healthz` round trip measured in the same run. Target: under 1 second.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ozvi_crypto::format::envelope::Kind;
use ozvi_crypto::primitives::rng::os_rng;
use ozvi_crypto::protocol::envelope::{Message, Signer, seal};
use ozvi_crypto::{Directory, PersonKeys, StaffKeys};
use ozvi_desk::relay::RelayClient;
use ozvi_desk::session::{Listing, Session};
use ozvi_tests::cast::Cast;
use ozvi_tests::relay::store::{Author, CentreId, Quota, SledStore, Store};
use ozvi_tests::relay::{self as relay, Relay, SystemClock, unlimited};

const THREADS: usize = 1000;
const LONG_THREAD: usize = 200;
const RUNS: usize = 7;

fn median(mut v: Vec<Duration>) -> (Duration, Duration) {
    v.sort();
    (v[v.len() / 2], v[v.len() - 1])
}

fn main() {
    // `cargo test --benches` passes no `--bench`: run a small smoke version.
    let full = std::env::args().any(|a| a == "--bench");
    let (threads, long) = if full {
        (THREADS, LONG_THREAD)
    } else {
        (20, 10)
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(bench(threads, long, if full { RUNS } else { 1 }));
}

async fn bench(threads: usize, long: usize, runs: usize) {
    let mut rng = os_rng();
    let (cast, staff) = Cast::zlin(4, 3);
    let directory = cast.directory.clone();
    let dir = tempfile::tempdir().expect("temp dir");
    let config = unlimited(relay::config(&cast, dir.path()));
    let store = Arc::new(SledStore::open(&config.data).expect("sled"));

    // Seed: `threads` threads with a first message and a note each, and one
    // thread of `long` messages alternating person and staff.
    let centre = &directory.centres[0];
    let staff_only = centre.staff_x25519();
    let centre_id = CentreId::parse("ic-zlin").expect("id");
    let now = ozvi_desk::relay::now();
    let quota = Quota {
        max_messages: 10_000,
        max_bytes: 1 << 30,
    };
    let started = Instant::now();
    for i in 0..threads + 1 {
        let mut seed = [0u8; 32];
        seed[..8].copy_from_slice(&(i as u64).to_be_bytes());
        let person = PersonKeys::from_root(&seed);
        let mailbox = person.mailbox_id();
        let mut everyone = staff_only.clone();
        everyone.push(person.public().x25519);
        let person_message = |text: &str, rng: &mut _| {
            let body = serde_json::json!({"text": text, "intake": {"role": "self", "region": "CZ-72", "violence": ["physical"], "danger_now": false}}).to_string();
            seal(
                rng,
                Signer::Person(&person),
                Message {
                    kind: Kind::PersonMessage,
                    mailbox: &mailbox,
                    body: body.as_bytes(),
                    sent_at: now,
                },
                &everyone,
            )
            .expect("seals")
        };
        let first = person_message("Potřebuji pomoc, prosím ozvěte se.", &mut rng);
        store
            .create_thread(
                &mailbox,
                person.auth_secret().verifier().0,
                &centre_id,
                &first,
                now,
            )
            .expect("creates");
        let note = serde_json::json!({"status": "in_progress", "assignee": "zlin-2", "notes": [{"at": now, "by": "zlin-1", "text": "Volat po 17."}]}).to_string();
        let note = seal(
            &mut rng,
            Signer::Staff(&staff[0]),
            Message {
                kind: Kind::StaffNote,
                mailbox: &mailbox,
                body: note.as_bytes(),
                sent_at: now,
            },
            &staff_only,
        )
        .expect("seals");
        store.put_note(&mailbox, &note, now).expect("note");
        if i == threads {
            for m in 1..long {
                let envelope = if m % 2 == 0 {
                    person_message(&format!("Zpráva číslo {m}. ").repeat(20), &mut rng)
                } else {
                    let body = serde_json::json!({"text": format!("Odpověď {m}. ").repeat(20)})
                        .to_string();
                    seal(
                        &mut rng,
                        Signer::Staff(&staff[1]),
                        Message {
                            kind: Kind::StaffReply,
                            mailbox: &mailbox,
                            body: body.as_bytes(),
                            sent_at: now,
                        },
                        &everyone,
                    )
                    .expect("seals")
                };
                let author = if m % 2 == 0 {
                    Author::Person
                } else {
                    Author::Staff
                };
                store
                    .append(&mailbox, author, &envelope, now, quota)
                    .expect("appends");
            }
        }
    }
    store.flush().expect("flush");
    println!(
        "seeded {threads} threads + one of {long} messages in {:.1?}",
        started.elapsed()
    );

    let relay = Relay::start_on(config, store, Arc::new(SystemClock)).await;
    let base = relay.base.clone();

    // A fresh session for every run: the figures are those of a desk that
    // has opened nothing yet (a session remembers what it opened).
    let fresh = || {
        let keys = StaffKeys::from_bytes(*staff[2].to_bytes().0, &staff[2].to_bytes().1);
        Session::new(
            RelayClient::new(&base).expect("relay"),
            keys,
            directory.clone(),
            Vec::new(),
        )
        .expect("enrolled")
    };
    let http = ozvi_tests::http::client();

    let (mut health, mut inbox, mut thread) = (Vec::new(), Vec::new(), Vec::new());
    let long_mailbox = {
        let mut seed = [0u8; 32];
        seed[..8].copy_from_slice(&(threads as u64).to_be_bytes());
        PersonKeys::from_root(&seed).mailbox_id()
    };
    for _ in 0..runs {
        let t = Instant::now();
        let r = http
            .get(format!("{base}/healthz"))
            .send()
            .await
            .expect("healthz");
        assert!(r.status().is_success());
        health.push(t.elapsed());

        let session = fresh();
        let t = Instant::now();
        let entries = session.inbox().await.expect("inbox");
        inbox.push(t.elapsed());
        assert_eq!(entries.len(), threads + 1);
        assert!(entries.iter().all(|e| e.note_problem.is_none()));

        let t = Instant::now();
        let view = session.thread(&long_mailbox).await.expect("thread");
        thread.push(t.elapsed());
        assert_eq!(view.messages.len(), long);
        assert!(view.messages.iter().all(|m| m.problem.is_none()));
    }
    let (health, _) = median(health);
    let (inbox_median, inbox_worst) = median(inbox);
    let (thread_median, thread_worst) = median(thread);
    println!(
        "\n{:<44} {:>10} {:>10}",
        format!("desk operation ({runs} runs)"),
        "median",
        "worst"
    );
    println!(
        "{:<44} {:>10.1?} {:>10}",
        "relay /healthz round trip (baseline)", health, ""
    );
    println!(
        "{:<44} {:>10.1?} {:>10.1?}   target < 1 s: {}",
        format!("open inbox of {} threads (notes, previews)", threads + 1),
        inbox_median,
        inbox_worst,
        if inbox_worst < Duration::from_secs(1) {
            "met"
        } else {
            "MISSED"
        }
    );
    println!(
        "{:<44} {:>10.1?} {:>10.1?}   target < 1 s: {}",
        format!("open a thread of {long} messages (decrypt all)"),
        thread_median,
        thread_worst,
        if thread_worst < Duration::from_secs(1) {
            "met"
        } else {
            "MISSED"
        }
    );
    traffic(&base, &directory, &staff[2], &long_mailbox, long).await;
    relay.handle.stop(true).await;
}

/// What one action of the web UI asks of the relay: requests, bytes of
/// answers and envelopes opened, on a fresh session (so nothing is cached
/// from the timing runs above) that has the inbox and the thread open, as
/// a social worker does when she answers.
async fn traffic(
    base: &str,
    directory: &Directory,
    staff: &StaffKeys,
    mailbox: &ozvi_crypto::MailboxId,
    long: usize,
) {
    let keys = StaffKeys::from_bytes(*staff.to_bytes().0, &staff.to_bytes().1);
    let session = Session::new(
        RelayClient::new(base).expect("relay"),
        keys,
        directory.clone(),
        Vec::new(),
    )
    .expect("enrolled");
    let measure = |session: &Session| (session.relay().traffic(), session.envelopes_opened());
    let report = |what: &str,
                  before: (ozvi_desk::relay::Traffic, u64),
                  after: (ozvi_desk::relay::Traffic, u64)| {
        let t = after.0 - before.0;
        println!(
            "{what:<52} {:>4} requests {:>9} bytes {:>5} envelopes opened",
            t.requests,
            t.bytes,
            after.1 - before.1
        );
    };
    println!("\nrelay traffic per web UI action (thread of {long} messages, inbox of all threads)");
    let start = measure(&session);
    session.inbox().await.expect("inbox");
    report("open the inbox", start, measure(&session));
    let start = measure(&session);
    let view = session.thread(mailbox).await.expect("thread");
    let last = view.messages.last().map_or(0, |m| m.seq);
    session.mark_read(mailbox, last).await.expect("read");
    report(
        "open the thread (and mark it read)",
        start,
        measure(&session),
    );
    // A reply as the page sends it: /api/reply, then the page reloads the
    // thread and marks what it shows read; the relay's event for the reply
    // makes the page reload the open thread once more.
    let start = measure(&session);
    let seq = session
        .reply(mailbox, "Dobrý den, ozveme se vám dnes odpoledne.")
        .await
        .expect("reply");
    session.thread(mailbox).await.expect("thread");
    session.mark_read(mailbox, seq).await.expect("read");
    session.thread(mailbox).await.expect("thread");
    report(
        "reply (send, reload, mark read, live reload)",
        start,
        measure(&session),
    );
    let start = measure(&session);
    session
        .inbox_listing(Listing::Changes)
        .await
        .expect("inbox");
    report(
        "live inbox refresh (one thread changed)",
        start,
        measure(&session),
    );
    let start = measure(&session);
    session
        .inbox_listing(Listing::Changes)
        .await
        .expect("inbox");
    report(
        "live inbox refresh (nothing changed)",
        start,
        measure(&session),
    );
    let start = measure(&session);
    session.inbox().await.expect("inbox");
    report(
        "open the inbox again (every thread listed)",
        start,
        measure(&session),
    );
}
