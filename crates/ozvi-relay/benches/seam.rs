//! The store seam's own cost (issue 16: "an async trait, or the sled store
//! on the blocking pool behind it — your choice, measured"). The relay's
//! routes call the sled store through `Embedded`, an async trait whose
//! methods call the store inline. This measures one append and one thread
//! read on a temporary sled store, called directly and through the seam
//! (each awaited on a current-thread Tokio runtime, as a route's future is
//! polled), and the same through `spawn_blocking`, the alternative the
//! issue names: `cargo bench -p ozvi-relay --bench seam`.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use ozvi_crypto::MailboxId;
use ozvi_relay::store::{Author, CentreId, Embedded, Quota, SledStore, Storage, Store};

const QUOTA: Quota = Quota {
    max_messages: u32::MAX,
    max_bytes: u64::MAX,
};

/// A person message of a typical size (a short text, padded: 1.3 KB).
fn envelope() -> Vec<u8> {
    let mut e = vec![0x5a; 1300];
    e[0] = 2;
    e[1] = 1;
    e
}

fn seam(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let sled = Arc::new(SledStore::temporary().expect("a temporary store"));
    let embedded = Embedded(Arc::clone(&sled) as Arc<dyn Store>);
    let centre = CentreId::parse("ic-zlin").expect("valid");
    let envelope = envelope();
    // One thread, no quota: every way appends to the same thread.
    let mailbox = MailboxId([7; 16]);
    sled.create_thread(&mailbox, [9; 32], &centre, &envelope, 60)
        .expect("creates");

    let mut group = c.benchmark_group("seam");
    group.bench_function("append: sled called directly", |b| {
        b.iter(|| {
            sled.append(&mailbox, Author::Person, &envelope, 60, QUOTA)
                .expect("appends")
        })
    });
    group.bench_function("append: through Embedded (inline)", |b| {
        b.iter(|| {
            runtime
                .block_on(embedded.append(&mailbox, Author::Person, &envelope, 60, QUOTA))
                .expect("appends")
        })
    });
    group.bench_function("append: on the blocking pool", |b| {
        b.iter(|| {
            let store = Arc::clone(&sled);
            let envelope = envelope.clone();
            runtime
                .block_on(async move {
                    tokio::task::spawn_blocking(move || {
                        store.append(&mailbox, Author::Person, &envelope, 60, QUOTA)
                    })
                    .await
                })
                .expect("joins")
                .expect("appends")
        })
    });
    group.bench_function("thread: sled called directly", |b| {
        b.iter(|| black_box(sled.thread(&mailbox).expect("reads")))
    });
    group.bench_function("thread: through Embedded (inline)", |b| {
        b.iter(|| black_box(runtime.block_on(embedded.thread(&mailbox)).expect("reads")))
    });
    group.bench_function("thread: on the blocking pool", |b| {
        b.iter(|| {
            let store = Arc::clone(&sled);
            black_box(
                runtime
                    .block_on(async move {
                        tokio::task::spawn_blocking(move || store.thread(&mailbox)).await
                    })
                    .expect("joins")
                    .expect("reads"),
            )
        })
    });
    group.finish();
}

criterion_group!(benches, seam);
criterion_main!(benches);
