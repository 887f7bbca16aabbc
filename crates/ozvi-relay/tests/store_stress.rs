//! The sled store under concurrent writers, the way the relay's HTTP
//! workers and the load tool's seeding write: fresh stores filled from
//! several OS threads at once while the CPU is busy, so that sled's I/O
//! tasks queue up while it frees segments and shrinks its file.
//!
//! sled 0.34.7 as released deadlocks here (vendor/README.md): a writer waits,
//! holding the segment accountant's lock, for a file truncation queued
//! behind I/O tasks that wait for that lock. Unpatched, about one fresh
//! store in ten hung this way on this machine. The test fails if no write
//! completes for `STALL`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use ozvi_crypto::MailboxId;
use ozvi_relay::store::{Author, CentreId, Quota, SledStore, Store};

/// Writer threads per store (the relay runs two HTTP workers).
const WRITERS: u64 = 2;
/// Threads spinning meanwhile, so sled's I/O threads fall behind.
const BUSY: usize = 2;
/// Threads per fresh store, 10 messages each.
const THREADS: u64 = 1_000;
/// How long fresh stores keep being filled.
const RUN: Duration = Duration::from_secs(10);
/// No completed write in this long means the store is stuck.
const STALL: Duration = Duration::from_secs(20);

#[test]
fn sled_survives_concurrent_writers_on_fresh_stores() {
    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let rounds = Arc::new(AtomicU64::new(0));

    let busy: Vec<_> = (0..BUSY)
        .map(|_| {
            let stop = Arc::clone(&stop);
            thread::spawn(move || {
                let mut x = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
                }
            })
        })
        .collect();
    let filler = {
        let (done, stop, rounds) = (Arc::clone(&done), Arc::clone(&stop), Arc::clone(&rounds));
        thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                fill_a_fresh_store(&done, &stop);
                rounds.fetch_add(1, Ordering::Relaxed);
            }
        })
    };

    let started = Instant::now();
    let mut last = (0, Instant::now());
    while started.elapsed() < RUN {
        thread::sleep(Duration::from_millis(100));
        let now = done.load(Ordering::Relaxed);
        if now != last.0 {
            last = (now, Instant::now());
        }
        if last.1.elapsed() >= STALL {
            stop.store(true, Ordering::Relaxed);
            panic!(
                "no write completed for {STALL:?} after {now} writes in round {}: \
                 the store is deadlocked",
                rounds.load(Ordering::Relaxed) + 1
            );
        }
    }
    stop.store(true, Ordering::Relaxed);
    let deadline = Instant::now() + STALL;
    while !filler.is_finished() {
        assert!(
            Instant::now() < deadline,
            "the last store did not finish: deadlocked"
        );
        thread::sleep(Duration::from_millis(50));
    }
    filler.join().expect("the filler ran without panicking");
    for b in busy {
        b.join().expect("spinner");
    }
    let rounds = rounds.load(Ordering::Relaxed);
    eprintln!("{rounds} stores filled");
    assert!(rounds >= 2, "only {rounds} stores filled in {RUN:?}");
}

/// One fresh store, filled by `WRITERS` threads the way the load tool seeds.
fn fill_a_fresh_store(done: &AtomicU64, stop: &AtomicBool) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = SledStore::open(dir.path()).expect("store opens");
    let centre = CentreId::parse("ic-zlin").expect("centre id");
    let envelope = vec![0x5au8; 1459];
    let quota = Quota {
        max_messages: u32::MAX,
        max_bytes: u64::MAX,
    };
    thread::scope(|scope| {
        for w in 0..WRITERS {
            let (store, centre, envelope) = (&store, &centre, &envelope);
            scope.spawn(move || {
                for n in (w..THREADS).step_by(WRITERS as usize) {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    // Scattered ids, like real mailbox ids: writes land all
                    // over the tree, so sled rewrites pages everywhere and
                    // frees segments.
                    let mut id = [0u8; 16];
                    id[..8].copy_from_slice(&mix(n).to_be_bytes());
                    id[8..].copy_from_slice(&mix(!n).to_be_bytes());
                    let mailbox = MailboxId(id);
                    store
                        .create_thread(&mailbox, [7; 32], centre, envelope, 1_800_000_000)
                        .expect("create");
                    for _ in 1..10 {
                        store
                            .append(&mailbox, Author::Person, envelope, 1_800_000_000, quota)
                            .expect("append");
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
    });
}

/// splitmix64's finaliser: distinct inputs give scattered distinct outputs.
fn mix(n: u64) -> u64 {
    let mut z = n.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
