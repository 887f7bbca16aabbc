//! Run 11 (docs/PERFORMANCE.md): what sled 0.34 writes per append of the
//! relay's shape, without the relay. Measuring only; not part of the build.
//!
//! To repeat: `cargo new sledamp`, add `sled = { path = "<repo>/vendor/sled" }`
//! to its [dependencies], put this file in src/main.rs, `cargo run --release`.
//! `WHAT=msg|thr|act|all` (default all), `BATCH` (appends per transaction and
//! flush, default 18), `N` (appends measured, default 50,000). With
//! run11-sled-constants.patch applied to a copy of vendor/sled, `CONS` and
//! `SPLIT` replace sled's page consolidation threshold (10) and its leaf
//! split threshold (16).
use sled::Transactional;
use std::time::Instant;

/// `wchar` (bytes given to write calls) and `write_bytes` (bytes sent toward
/// the disk) of this process so far.
fn io() -> (u64, u64) {
    let s = std::fs::read_to_string("/proc/self/io").expect("/proc/self/io");
    let get = |k: &str| {
        s.lines()
            .find_map(|l| l.strip_prefix(k))
            .and_then(|v| v.trim().parse().ok())
            .expect("a field of /proc/self/io")
    };
    (get("wchar:"), get("write_bytes:"))
}

fn main() {
    let what = std::env::var("WHAT").unwrap_or_else(|_| "all".into());
    let env_num = |k: &str, d: usize| std::env::var(k).ok().and_then(|s| s.parse().ok()).unwrap_or(d);
    let (batch, total) = (env_num("BATCH", 18), env_num("N", 50_000));
    let dir = format!("/tmp/sledamp-db-{}", std::process::id());
    let db = sled::Config::new()
        .path(&dir)
        .cache_capacity(32 << 20)
        .flush_every_ms(None)
        .open()
        .expect("open");
    let threads = db.open_tree("threads").expect("tree");
    let messages = db.open_tree("messages").expect("tree");
    let activity = db.open_tree("activity").expect("tree");
    // The relay's shapes (crates/ozvi-relay/src/store/records.rs): a message
    // key is mailbox (16) ‖ seq, an activity key centre (33) ‖ change ‖
    // mailbox (16) with an empty value, a thread record 138 bytes; the
    // envelope is the load tool's, about 1.3 KB.
    let mailbox = |m: u64| {
        let mut id = [0u8; 16];
        id[..8].copy_from_slice(&m.wrapping_mul(0x9E37_79B9_7F4A_7C15).to_be_bytes());
        id[8..].copy_from_slice(&m.wrapping_mul(0xC2B2_AE3D_27D4_EB4F).to_be_bytes());
        id
    };
    let message_key = |m: u64, seq: u64| [&mailbox(m)[..], &seq.to_be_bytes()].concat();
    let activity_key = |change: u64, m: u64| [&[3u8; 33][..], &change.to_be_bytes(), &mailbox(m)].concat();
    let record = |seq: u64| [&[1u8; 130][..], &seq.to_be_bytes()].concat();
    let envelope = vec![7u8; 1300];
    let n_threads = 1000u64;
    let (mut last, mut changed, mut change) = (vec![0u64; 1000], vec![0u64; 1000], 0u64);
    for m in 0..n_threads {
        for seq in 1..=10 {
            messages.insert(message_key(m, seq), envelope.clone()).expect("seed");
        }
        change += 1;
        threads.insert(mailbox(m), record(10)).expect("seed");
        activity.insert(activity_key(change, m), &[]).expect("seed");
        (last[m as usize], changed[m as usize]) = (10, change);
    }
    db.flush().expect("flush");
    let (w0, d0) = io();
    let started = Instant::now();
    let mut x: u64 = 12345;
    let mut done = 0;
    while done < total {
        let mut jobs = Vec::with_capacity(batch);
        for _ in 0..batch {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let m = x % n_threads;
            last[m as usize] += 1;
            change += 1;
            jobs.push((m, last[m as usize], change, changed[m as usize]));
            changed[m as usize] = change;
        }
        (&threads, &messages, &activity)
            .transaction(|(t, ms, a)| {
                for &(m, seq, change, old) in &jobs {
                    if what == "all" || what == "msg" {
                        ms.insert(message_key(m, seq), envelope.clone())?;
                    }
                    if what == "all" || what == "thr" {
                        t.insert(&mailbox(m)[..], record(seq))?;
                    }
                    if what == "all" || what == "act" {
                        a.remove(activity_key(old, m))?;
                        a.insert(activity_key(change, m), &[][..])?;
                    }
                }
                Ok::<_, sled::transaction::ConflictableTransactionError<()>>(())
            })
            .expect("transaction");
        db.flush().expect("flush");
        done += batch;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let (w1, d1) = io();
    println!(
        "{what:<4} batch {batch}: {:>6.0} appends/s, written {:>6.0} B/append, to disk {:>6.0} B/append",
        done as f64 / elapsed,
        (w1 - w0) as f64 / done as f64,
        (d1 - d0) as f64 / done as f64
    );
    drop((threads, messages, activity, db));
    let _ = std::fs::remove_dir_all(&dir);
}
