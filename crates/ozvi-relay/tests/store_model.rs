//! Model test: the sled store behaves exactly like the in-memory model for
//! random sequences of operations, including after reopening the database.

use ozvi_crypto::MailboxId;
use ozvi_crypto::protocol::file::{BLOB_LENGTHS, FileId};
use ozvi_relay::store::{
    Author, CentreId, FileQuota, FileState, MemoryStore, Moved, Quota, SledStore, Store, StoreError,
};
use proptest::prelude::*;

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
    /// `complete`.
    Upload {
        mailbox: u8,
        file: u8,
        bigger: bool,
        bound: bool,
        complete: bool,
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
            prop::bool::weighted(0.8)
        )
            .prop_map(|(mailbox, file, bigger, bound, complete)| Op::Upload {
                mailbox,
                file,
                bigger,
                bound,
                complete
            }),
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
fn apply(store: &dyn Store, op: &Op, now: u64, step: u8) -> Result<String, String> {
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
                [*mailbox; 32],
                &centre(*c),
                &envelope(1, *len, step),
                now,
                &file_ids(files),
                FILE_QUOTA,
            )
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
                .map(|s| s.to_string())
                .map_err(class)
        }
        Op::MarkRead { mailbox, seq } => store
            .mark_read(&id(*mailbox), *seq)
            .map(|()| String::new())
            .map_err(class),
        Op::Note { mailbox, len } => store
            .put_note(&id(*mailbox), &envelope(3, *len, step), now)
            .map(|()| String::new())
            .map_err(class),
        Op::Delete { mailbox } => store
            .delete_thread(&id(*mailbox))
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
                .map(|()| String::new())
                .map_err(class)
        }
        Op::Upload {
            mailbox,
            file,
            bigger,
            bound,
            complete,
        } => {
            let length = BLOB_LENGTHS[usize::from(*bigger)];
            let binding = if *bound { [*mailbox; 32] } else { [0; 32] };
            let mut writer = store
                .begin_upload(
                    &id(*mailbox),
                    &FileId([*file; 16]),
                    length,
                    binding,
                    now,
                    FILE_QUOTA,
                )
                .map_err(class)?;
            let blob = vec![step; usize::try_from(length).expect("small")];
            for part in blob.chunks(65536) {
                writer.write(part).map_err(class)?;
            }
            if *complete {
                writer.finish().map(|()| String::new()).map_err(class)
            } else {
                Ok("interrupted".into())
            }
        }
        Op::RemoveFile { mailbox, file } => store
            .remove_file(&id(*mailbox), &FileId([*file; 16]))
            .map(|b| b.to_string())
            .map_err(class),
        Op::Tick { .. } => Ok(String::new()),
    }
}

/// Everything observable, with change numbers reduced to their order (the
/// two stores number changes differently, but must order them the same).
fn observe(store: &dyn Store) -> String {
    let mut out = String::new();
    for m in 0..4u8 {
        let thread = store.thread(&id(m)).expect("reads");
        let messages = store.messages(&id(m), 0, usize::MAX).expect("reads");
        let note = store.note(&id(m)).expect("reads");
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
            .expect("reads")
            .iter()
            .map(|(m, _)| m.0)
            .collect();
        out += &format!("inbox {c}: {order:?}\n");
    }
    for (mailbox, file, record) in store.all_files().expect("reads") {
        let blob = if record.state == FileState::Partial {
            None
        } else {
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(
                &mut store.read_blob(&mailbox, &file).expect("a complete blob"),
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

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

    #[test]
    fn sled_matches_the_model(ops in proptest::collection::vec(op(), 1..40)) {
        let dir = tempfile::tempdir().expect("temp dir");
        let model = MemoryStore::new();
        let mut now = 1_795_435_200u64;
        {
            let sled = SledStore::open(dir.path()).expect("opens");
            for (step, op) in ops.iter().enumerate() {
                if let Op::Tick { minutes } = op {
                    now += minutes * 60 + 7;
                }
                let step = u8::try_from(step).expect("few ops");
                let expected = apply(&model, op, now, step);
                let got = apply(&sled, op, now, step);
                prop_assert_eq!(&got, &expected, "op {:?}", op);
                prop_assert_eq!(observe(&sled), observe(&model));
            }
            sled.flush().expect("flushes");
        }
        let reopened = SledStore::open_released(dir.path(), std::time::Duration::from_secs(5))
            .expect("reopens");
        prop_assert_eq!(observe(&reopened), observe(&model), "durable across reopening");
        let cutoff = now - 86_400;
        let mut old: Vec<[u8; 16]> = reopened.inactive_since(cutoff).expect("reads").iter().map(|(m, _)| m.0).collect();
        let mut old_model: Vec<[u8; 16]> = model.inactive_since(cutoff).expect("reads").iter().map(|(m, _)| m.0).collect();
        old.sort();
        old_model.sort();
        prop_assert_eq!(old, old_model);
    }
}
