//! Model test: each store behaves exactly like the in-memory model for
//! random sequences of operations, driven through the store seam
//! ([`Storage`]) as the relay drives it, and again after reopening: the
//! sled store (through [`Embedded`]) and the PostgreSQL store ([`PgStore`],
//! on a throw-away server shared by every case and emptied between them).

use std::sync::Arc;

use ozvi_crypto::MailboxId;
use ozvi_crypto::protocol::file::{BLOB_LENGTHS, FileId};
use ozvi_relay::store::postgres::{self, PgStore};
use ozvi_relay::store::{
    Author, CentreId, Embedded, FileQuota, FileState, MemoryStore, Moved, Quota, SledStore,
    Storage, Store, StoreError,
};
use ozvi_tests::postgres::TestPostgres;
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, TestCaseError, TestRunner};

#[derive(Debug, Clone)]
enum Op {
    Create {
        mailbox: u8,
        centre: u8,
        len: usize,
        files: Vec<u8>,
    },
    Append {
        mailbox: u8,
        staff: bool,
        len: usize,
        files: Vec<u8>,
    },
    /// An upload of file `file`, of the smallest or the next bucket,
    /// bound to the mailbox's verifier or to none; interrupted unless
    /// `complete`; with its file removed or its thread deleted while it is
    /// received, or neither.
    Upload {
        mailbox: u8,
        file: u8,
        bigger: bool,
        bound: bool,
        complete: bool,
        meanwhile: Meanwhile,
    },
    RemoveFile {
        mailbox: u8,
        file: u8,
    },
    MarkRead {
        mailbox: u8,
        seq: u64,
    },
    Note {
        mailbox: u8,
        len: usize,
    },
    Delete {
        mailbox: u8,
    },
    Transfer {
        mailbox: u8,
        centre: u8,
        /// With a transfer notice of this length.
        notice: Option<usize>,
    },
    Tick {
        minutes: u64,
    },
}

/// What happens while an upload is received.
#[derive(Debug, Clone, Copy)]
enum Meanwhile {
    Nothing,
    FileRemoved,
    ThreadDeleted,
}

fn op() -> impl Strategy<Value = Op> {
    let mailbox = 0u8..4;
    let centre = 0u8..2;
    let files = proptest::collection::vec(0u8..4, 0..3);
    prop_oneof![
        (mailbox.clone(), centre.clone(), 10usize..200, files.clone()).prop_map(
            |(mailbox, centre, len, files)| {
                Op::Create {
                    mailbox,
                    centre,
                    len,
                    files,
                }
            }
        ),
        (mailbox.clone(), any::<bool>(), 10usize..200, files).prop_map(
            |(mailbox, staff, len, files)| {
                Op::Append {
                    mailbox,
                    staff,
                    len,
                    files,
                }
            }
        ),
        (
            mailbox.clone(),
            0u8..4,
            any::<bool>(),
            any::<bool>(),
            prop::bool::weighted(0.8),
            prop_oneof![
                8 => Just(Meanwhile::Nothing),
                1 => Just(Meanwhile::FileRemoved),
                1 => Just(Meanwhile::ThreadDeleted),
            ]
        )
            .prop_map(
                |(mailbox, file, bigger, bound, complete, meanwhile)| Op::Upload {
                    mailbox,
                    file,
                    bigger,
                    bound,
                    complete,
                    meanwhile,
                }
            ),
        (mailbox.clone(), 0u8..4).prop_map(|(mailbox, file)| Op::RemoveFile { mailbox, file }),
        (mailbox.clone(), 0u64..8).prop_map(|(mailbox, seq)| Op::MarkRead { mailbox, seq }),
        (mailbox.clone(), 10usize..100).prop_map(|(mailbox, len)| Op::Note { mailbox, len }),
        mailbox.clone().prop_map(|mailbox| Op::Delete { mailbox }),
        (mailbox, centre, proptest::option::of(10usize..100)).prop_map(
            |(mailbox, centre, notice)| Op::Transfer {
                mailbox,
                centre,
                notice
            }
        ),
        (1u64..5000).prop_map(|minutes| Op::Tick { minutes }),
    ]
}

fn id(m: u8) -> MailboxId {
    MailboxId([m; 16])
}

/// A person's verifier for the mailbox (never the 32 zero bytes of a
/// staff-only case, whose messages would be kind 4 and counted as none).
fn verifier(m: u8) -> [u8; 32] {
    [m + 1; 32]
}

fn centre(c: u8) -> CentreId {
    CentreId::parse(if c == 0 { "ic-zlin" } else { "ic-praha" }).expect("valid")
}

/// A fake envelope whose kind byte is right (the store reads only that).
fn envelope(kind: u8, len: usize, fill: u8) -> Vec<u8> {
    let mut e = vec![fill; len];
    e[0] = 1;
    e[1] = kind;
    e
}

const QUOTA: Quota = Quota {
    max_messages: 6,
    max_bytes: 900,
};

const FILE_QUOTA: FileQuota = FileQuota {
    files: 3,
    bytes: 5 * BLOB_LENGTHS[0],
    pending: 2,
};

fn file_ids(files: &[u8]) -> Vec<FileId> {
    files.iter().map(|f| FileId([*f; 16])).collect()
}

/// Applies an op to a store; errors are compared by their class.
async fn apply(store: &dyn Storage, op: &Op, now: u64, step: u8) -> Result<String, String> {
    let class = |e: StoreError| format!("{e}");
    match op {
        Op::Create {
            mailbox,
            centre: c,
            len,
            files,
        } => store
            .create_thread_claiming(
                &id(*mailbox),
                verifier(*mailbox),
                &centre(*c),
                &envelope(1, *len, step),
                now,
                &file_ids(files),
                FILE_QUOTA,
            )
            .await
            .map(|r| format!("{}", r.last_seq))
            .map_err(class),
        Op::Append {
            mailbox,
            staff,
            len,
            files,
        } => {
            let (author, kind) = if *staff {
                (Author::Staff, 2)
            } else {
                (Author::Person, 1)
            };
            store
                .append_claiming(
                    &id(*mailbox),
                    author,
                    &envelope(kind, *len, step),
                    now,
                    QUOTA,
                    &file_ids(files),
                    FILE_QUOTA,
                )
                .await
                .map(|s| s.to_string())
                .map_err(class)
        }
        Op::MarkRead { mailbox, seq } => store
            .mark_read(&id(*mailbox), *seq)
            .await
            .map(|()| String::new())
            .map_err(class),
        Op::Note { mailbox, len } => store
            .put_note(&id(*mailbox), &envelope(3, *len, step), now)
            .await
            .map(|()| String::new())
            .map_err(class),
        Op::Delete { mailbox } => store
            .delete_thread(&id(*mailbox))
            .await
            .map(|b| b.to_string())
            .map_err(class),
        Op::Transfer {
            mailbox,
            centre: c,
            notice,
        } => {
            let notice = notice.map(|len| envelope(2, len, step));
            let messages = store
                .messages(&id(*mailbox), 0, usize::MAX)
                .await
                .map_err(class)?;
            let resealed: Vec<(u64, Vec<u8>)> = messages
                .iter()
                .map(|m| (m.seq, envelope(m.envelope[1], m.envelope.len() + 8, step)))
                .collect();
            store
                .transfer(
                    &id(*mailbox),
                    &centre(*c),
                    Moved {
                        resealed: &resealed,
                        note: None,
                        notice: notice.as_deref(),
                    },
                    now,
                )
                .await
                .map(|()| String::new())
                .map_err(class)
        }
        Op::Upload {
            mailbox,
            file,
            bigger,
            bound,
            complete,
            meanwhile,
        } => {
            let length = BLOB_LENGTHS[usize::from(*bigger)];
            let binding = if *bound { verifier(*mailbox) } else { [0; 32] };
            let mut writer = store
                .begin_upload(
                    &id(*mailbox),
                    &FileId([*file; 16]),
                    length,
                    binding,
                    now,
                    FILE_QUOTA,
                )
                .await
                .map_err(class)?;
            let blob = vec![step; usize::try_from(length).expect("small")];
            for part in blob.chunks(65536) {
                writer.write(part).map_err(class)?;
            }
            let meanwhile = match meanwhile {
                Meanwhile::Nothing => String::new(),
                Meanwhile::FileRemoved => store
                    .remove_file(&id(*mailbox), &FileId([*file; 16]))
                    .await
                    .map_err(class)?
                    .to_string(),
                Meanwhile::ThreadDeleted => store
                    .delete_thread(&id(*mailbox))
                    .await
                    .map_err(class)?
                    .to_string(),
            };
            if *complete {
                let finished = writer.finish().await.map_err(class);
                Ok(format!("{meanwhile} {finished:?}"))
            } else {
                Ok(format!("{meanwhile} interrupted"))
            }
        }
        Op::RemoveFile { mailbox, file } => store
            .remove_file(&id(*mailbox), &FileId([*file; 16]))
            .await
            .map(|b| b.to_string())
            .map_err(class),
        Op::Tick { .. } => Ok(String::new()),
    }
}

/// Everything observable, with change numbers reduced to their order (the
/// stores number changes differently, but must order them the same).
async fn observe(store: &dyn Storage) -> String {
    let mut out = String::new();
    for m in 0..4u8 {
        let thread = store.thread(&id(m)).await.expect("reads");
        let messages = store.messages(&id(m), 0, usize::MAX).await.expect("reads");
        let note = store.note(&id(m)).await.expect("reads");
        if let Some(mut t) = thread {
            t.change = 0;
            out += &format!("{m}: {t:?} {messages:?} {note:?}\n");
        } else {
            assert!(
                messages.is_empty() && note.is_none(),
                "no orphans of a deleted thread"
            );
        }
    }
    for c in 0..2u8 {
        let order: Vec<[u8; 16]> = store
            .changed_threads(&centre(c), 0, u64::MAX, 100)
            .await
            .expect("reads")
            .iter()
            .map(|(m, _)| m.0)
            .collect();
        out += &format!("inbox {c}: {order:?}\n");
    }
    for (mailbox, file, record) in store.all_files().await.expect("reads") {
        let blob = if record.state == FileState::Partial {
            None
        } else {
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(
                &mut store
                    .read_blob(&mailbox, &file)
                    .await
                    .expect("a complete blob"),
                &mut bytes,
            )
            .expect("reads");
            Some((bytes.len(), bytes.first().copied()))
        };
        out += &format!(
            "file {:?} {:?} {record:?} {blob:?}\n",
            mailbox.0[0], file.0[0]
        );
    }
    out
}

/// The model and the store under test, after the same ops.
struct Case {
    model: Embedded,
    now: u64,
}

/// Applies every op to the model and to `subject`, comparing each answer
/// and everything observable after each.
async fn run(subject: &dyn Storage, ops: &[Op]) -> Result<Case, TestCaseError> {
    let model = Embedded(Arc::new(MemoryStore::new()));
    let mut now = 1_795_435_200u64;
    for (step, op) in ops.iter().enumerate() {
        if let Op::Tick { minutes } = op {
            now += minutes * 60 + 7;
        }
        let step = u8::try_from(step).expect("few ops");
        let expected = apply(&model, op, now, step).await;
        let got = apply(subject, op, now, step).await;
        prop_assert_eq!(&got, &expected, "op {:?}", op);
        prop_assert_eq!(observe(subject).await, observe(&model).await);
    }
    Ok(Case { model, now })
}

/// The store reopened holds what the model holds.
async fn check_reopened(reopened: &dyn Storage, case: &Case) -> Result<(), TestCaseError> {
    prop_assert_eq!(
        observe(reopened).await,
        observe(&case.model).await,
        "durable across reopening"
    );
    let cutoff = case.now - 86_400;
    prop_assert_eq!(
        inactive(reopened, cutoff).await,
        inactive(&case.model, cutoff).await
    );
    Ok(())
}

/// The threads inactive since `cutoff`, sorted.
async fn inactive(store: &dyn Storage, cutoff: u64) -> Vec<[u8; 16]> {
    let mut old: Vec<[u8; 16]> = store
        .inactive_since(cutoff)
        .await
        .expect("reads")
        .iter()
        .map(|(m, _)| m.0)
        .collect();
    old.sort();
    old
}

/// A runtime for one case's awaits (and the uploads' blocking work).
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

const CASES: u32 = 48;
/// PostgreSQL cases are cheap (one server, emptied between them): more of them.
const PG_CASES: u32 = 256;

proptest! {
    #![proptest_config(ProptestConfig { cases: CASES, .. ProptestConfig::default() })]

    #[test]
    fn sled_matches_the_model(ops in proptest::collection::vec(op(), 1..40)) {
        let dir = tempfile::tempdir().expect("temp dir");
        runtime().block_on(async {
            let case = {
                let sled = SledStore::open(dir.path()).expect("opens");
                let case = run(&Embedded(Arc::new(sled.clone())), &ops).await?;
                sled.flush().expect("flushes");
                case
            };
            let reopened =
                SledStore::open_released(dir.path(), std::time::Duration::from_secs(5))
                    .expect("reopens");
            check_reopened(&Embedded(Arc::new(reopened)), &case).await
        })?;
    }
}

/// Every table the store writes, emptied between cases.
const TABLES: &str = "threads, messages, notes, centre_records, directory, \
     files, staff_nonces";

#[test]
fn postgres_matches_the_model() {
    let server = TestPostgres::start();
    let url = server.url();
    let rt = runtime();
    let pool = rt
        .block_on(postgres::connect(&url))
        .expect("connects and migrates");
    let mut runner = TestRunner::new(Config {
        cases: PG_CASES,
        source_file: Some(file!()),
        failure_persistence: Some(Box::new(FileFailurePersistence::SourceParallel(
            "proptest-regressions",
        ))),
        ..Config::default()
    });
    let started = std::time::Instant::now();
    let outcome = runner.run(&proptest::collection::vec(op(), 1..40), |ops| {
        let dir = tempfile::tempdir().expect("temp dir");
        rt.block_on(async {
            let client = pool.get().await.expect("a connection");
            client
                .batch_execute(&format!("TRUNCATE {TABLES}"))
                .await
                .expect("empties the tables");
            drop(client);
            let store = PgStore::on(pool.clone(), dir.path()).expect("opens");
            let case = run(&store, &ops).await?;
            drop(store);
            // Another relay's connections and its own handle of the blobs.
            let reopened = PgStore::open(&url, dir.path()).await.expect("reopens");
            check_reopened(&reopened, &case).await
        })
    });
    eprintln!("{PG_CASES} cases on PostgreSQL in {:?}", started.elapsed());
    if let Err(failure) = outcome {
        panic!("{failure}\nserver log:\n{}", server.log());
    }
}
