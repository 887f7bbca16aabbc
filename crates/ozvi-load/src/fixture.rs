//! What the load test prepares before a relay starts: keys, a signed
//! directory, the relay's configuration file, pre-sealed envelopes, and data
//! directories seeded straight through the relay's store.
//!
//! Everything is built with `ozvi-crypto` the way the relay's integration
//! tests build it (`crates/ozvi-relay/tests/api/helpers.rs`), so every
//! envelope is really sealed and addressed as the relay requires: to every
//! staff key of the thread's centre plus the person's.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, anyhow};
use ozvi_crypto::format::b64;
use ozvi_crypto::format::envelope::Kind;
use ozvi_crypto::primitives::hash::sha256;
use ozvi_crypto::primitives::rng::os_rng;
use ozvi_crypto::primitives::sig::Ed25519Secret;
use ozvi_crypto::{AuthSecret, DeploymentSalt, Directory, MailboxId, PersonKeys, StaffKeys};
use ozvi_tests::cast::{centre, numbered};
use ozvi_tests::person::{envelope, text_body};
use ozvi_tests::relay::store::postgres::PgStore;
use ozvi_tests::relay::store::{Author, CentreId, Quota, SledStore, Storage as _, Store};

/// The directory's centres. Every seeded thread belongs to one of them, in turn.
pub const CENTRES: [&str; 2] = ["ic-zlin", "ic-praha"];
/// Staff members per centre: a person's message is sealed to them and to her.
const STAFF_PER_CENTRE: usize = 2;
/// Messages in every seeded thread.
pub const MESSAGES_PER_THREAD: usize = 10;
/// Envelopes each poster cycles through (sealing one per post would spend the
/// load generator's CPU during the run).
pub const ENVELOPES_PER_POSTER: usize = 16;

/// A person who posts into her own thread during the posting scenario.
pub struct Poster {
    /// The `Ozvi-Mailbox` header value.
    pub mailbox: String,
    /// The `Ozvi-Auth` header value.
    pub auth: String,
    /// Pre-sealed person messages, base64url, used in turn.
    pub envelopes: Vec<String>,
    mailbox_id: MailboxId,
    verifier: [u8; 32],
    centre: &'static str,
    /// The thread's first message.
    first: Vec<u8>,
}

/// The headers that open one seeded thread.
pub struct Reader {
    /// The `Ozvi-Mailbox` header value.
    pub mailbox: String,
    /// The `Ozvi-Auth` header value.
    pub auth: String,
}

/// Keys, directory and envelopes shared by every relay the load test starts.
pub struct Fixture {
    root: Ed25519Secret,
    pub directory: Directory,
    /// Every staff member's keys, for signing inbox requests.
    pub staff: Vec<StaffKeys>,
    pub posters: Vec<Poster>,
    /// Per centre, the envelopes every seeded thread of that centre holds
    /// (the store does not look inside them, so a few serve every thread).
    filler: Vec<Vec<Vec<u8>>>,
}

/// What seeding a data directory wrote.
pub struct Seeded {
    pub threads: u64,
    pub messages: u64,
    /// Sum of the stored envelopes' lengths (padded ciphertext).
    pub envelope_bytes: u64,
    /// `SledStore::size_on_disk` after the flush.
    pub size_on_disk: u64,
}

impl Fixture {
    /// Fresh keys, a directory of two centres with two staff members each,
    /// `posters` persons with their envelopes, and the seeding envelopes.
    pub fn new(posters: usize) -> anyhow::Result<Self> {
        let mut rng = os_rng();
        let root = Ed25519Secret::generate(&mut rng);
        let staff: Vec<Vec<StaffKeys>> = CENTRES
            .iter()
            .map(|_| {
                (0..STAFF_PER_CENTRE)
                    .map(|_| StaffKeys::generate(&mut rng))
                    .collect()
            })
            .collect();
        let now = unix_now();
        let directory = Directory {
            version: 1,
            issued_at: now,
            salt: DeploymentSalt::generate(&mut rng),
            default_centre: CENTRES[0].into(),
            centres: CENTRES
                .iter()
                .zip(&staff)
                .map(|(id, keys)| centre(id, "CZ-72", numbered(id, keys)))
                .collect(),
        };
        let filler = CENTRES
            .iter()
            .enumerate()
            .map(|(c, id)| {
                let person = PersonKeys::from_root(&sha256(&[b"ozvi-load/filler", &[c as u8]]));
                (0..MESSAGES_PER_THREAD)
                    .map(|n| seal_person(&directory, id, &person, n))
                    .collect::<anyhow::Result<Vec<_>>>()
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let posters = (0..posters)
            .map(|i| Poster::new(&directory, i))
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Self {
            root,
            directory,
            staff: staff.into_iter().flatten().collect(),
            posters,
            filler,
        })
    }

    /// Writes the signed directory and the relay's TOML configuration into
    /// `dir`; returns the configuration's path. Proof of work is off and
    /// every limit is far above what the load test reaches, so that no
    /// request is refused for anything but a bug.
    pub fn write_config(&self, dir: &Path) -> anyhow::Result<PathBuf> {
        self.write_config_with(dir, 0, None)
    }

    /// The signed directory and a configuration with the relay's default
    /// limits and proof of work (`cargo xtask load --only flood`).
    pub fn write_default_config(&self, dir: &Path) -> anyhow::Result<PathBuf> {
        let directory_file = self.write_directory(dir)?;
        let quote = |s: &str| serde_json::Value::from(s).to_string();
        let config = format!(
            "root_key = {root}\ndirectory = {directory}\n",
            root = quote(&b64::encode(&self.root.public().to_bytes())),
            directory = quote(&directory_file.to_string_lossy()),
        );
        let path = dir.join("relay.toml");
        std::fs::write(&path, config)
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(path)
    }

    fn write_directory(&self, dir: &Path) -> anyhow::Result<PathBuf> {
        let directory_file = dir.join("directory.json");
        let signed = self
            .directory
            .sign(&self.root)
            .map_err(|e| anyhow!("signing the directory failed: {e:?}"))?;
        std::fs::write(&directory_file, signed.to_json())
            .with_context(|| format!("cannot write {}", directory_file.display()))?;
        Ok(directory_file)
    }

    /// [`Self::write_config`] with a proof-of-work difficulty and the web
    /// client's folder to serve.
    pub fn write_config_with(
        &self,
        dir: &Path,
        pow_difficulty: u8,
        web_root: Option<&Path>,
    ) -> anyhow::Result<PathBuf> {
        let directory_file = self.write_directory(dir)?;
        // JSON strings are valid TOML basic strings.
        let quote = |s: &str| serde_json::Value::from(s).to_string();
        let mut config = format!(
            "root_key = {root}\n\
             directory = {directory}\n\
             pow_difficulty = {pow_difficulty}\n\
             requests_per_address_per_minute = 4000000000\n\
             posts_per_thread_per_minute = 4000000000\n\
             threads_per_centre_per_hour = 4000000000\n\
             threads_per_address_per_hour = 4000000000\n\
             max_messages_per_thread = 4000000000\n\
             max_bytes_per_thread = 1000000000000000\n\
             sweep_interval_secs = 86400\n",
            root = quote(&b64::encode(&self.root.public().to_bytes())),
            directory = quote(&directory_file.to_string_lossy()),
        );
        if let Some(web_root) = web_root {
            config.push_str(&format!(
                "web_root = {}\n",
                quote(&web_root.to_string_lossy())
            ));
        }
        let path = dir.join("relay.toml");
        std::fs::write(&path, config)
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(path)
    }

    /// Seeds a new data directory `dir` through [`SledStore`]: the posters'
    /// threads (one message each), then `threads` threads of
    /// [`MESSAGES_PER_THREAD`] messages, alternating between the centres.
    /// Two writer threads; progress every few seconds. Flushes before it
    /// returns and closes the store, so a relay can open `dir`.
    pub fn seed(&self, dir: &Path, threads: u64) -> anyhow::Result<Seeded> {
        let store =
            SledStore::open(dir).map_err(|e| anyhow!("cannot open {}: {e}", dir.display()))?;
        let centres = CENTRES
            .iter()
            .map(|id| CentreId::parse(id).context("a valid centre id"))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let now = unix_now();
        let mut envelope_bytes = 0u64;
        for poster in &self.posters {
            let centre = CentreId::parse(poster.centre).context("a valid centre id")?;
            store
                .create_thread(
                    &poster.mailbox_id,
                    poster.verifier,
                    &centre,
                    &poster.first,
                    now,
                )
                .map_err(|e| anyhow!("seeding a poster's thread failed: {e}"))?;
            envelope_bytes += poster.first.len() as u64;
        }
        let quota = Quota {
            max_messages: u32::MAX,
            max_bytes: u64::MAX,
        };
        let done = AtomicU64::new(0);
        let finished = AtomicBool::new(false);
        let started = Instant::now();
        const WRITERS: u64 = 2;
        let written = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..WRITERS)
                .map(|w| {
                    let (store, centres, done) = (&store, &centres, &done);
                    scope.spawn(move || -> anyhow::Result<u64> {
                        let mut bytes = 0u64;
                        for i in (w..threads).step_by(WRITERS as usize) {
                            let c = (i % CENTRES.len() as u64) as usize;
                            let envelopes = &self.filler[c];
                            let (mailbox, auth) = seeded_thread(i);
                            store
                                .create_thread(
                                    &mailbox,
                                    auth.verifier().0,
                                    &centres[c],
                                    &envelopes[0],
                                    now,
                                )
                                .map_err(|e| anyhow!("seeding thread {i} failed: {e}"))?;
                            for envelope in &envelopes[1..] {
                                store
                                    .append(&mailbox, Author::Person, envelope, now, quota)
                                    .map_err(|e| anyhow!("seeding thread {i} failed: {e}"))?;
                            }
                            bytes += envelopes.iter().map(|e| e.len() as u64).sum::<u64>();
                            done.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(bytes)
                    })
                })
                .collect();
            let progress = scope.spawn(|| {
                let mut last = Instant::now();
                while !finished.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(200));
                    if last.elapsed() >= Duration::from_secs(10) {
                        last = Instant::now();
                        let n = done.load(Ordering::Relaxed);
                        println!(
                            "  {n} of {threads} threads ({:.0} s, {:.0} threads/s)",
                            started.elapsed().as_secs_f64(),
                            n as f64 / started.elapsed().as_secs_f64()
                        );
                    }
                }
            });
            let results: Vec<_> = workers
                .into_iter()
                .map(|w| {
                    w.join()
                        .unwrap_or_else(|_| Err(anyhow!("a seeding thread panicked")))
                })
                .collect();
            finished.store(true, Ordering::Relaxed);
            let _ = progress.join();
            results.into_iter().sum::<anyhow::Result<u64>>()
        })?;
        envelope_bytes += written;
        store
            .flush()
            .map_err(|e| anyhow!("flushing the seeded store failed: {e}"))?;
        let size_on_disk = store
            .size_on_disk()
            .map_err(|e| anyhow!("size_on_disk failed: {e}"))?;
        let posters = self.posters.len() as u64;
        println!(
            "  seeded {threads} threads × {MESSAGES_PER_THREAD} messages and {posters} poster \
             threads in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        Ok(Seeded {
            threads: threads + posters,
            messages: threads * MESSAGES_PER_THREAD as u64 + posters,
            envelope_bytes,
            size_on_disk,
        })
    }
}

impl Fixture {
    /// Seeds a PostgreSQL database through the relay's [`PgStore`] (the
    /// store a relay with `store = "postgres"` opens): with `posters`, the
    /// posters' threads (one message each); then seeded threads
    /// `threads` (an index range, so that a store can be grown) of
    /// [`MESSAGES_PER_THREAD`] messages, alternating between the centres,
    /// from `writers` concurrent tasks. Returns the messages written.
    pub async fn seed_postgres(
        &self,
        store: &std::sync::Arc<PgStore>,
        posters: bool,
        threads: std::ops::Range<u64>,
        writers: u64,
    ) -> anyhow::Result<u64> {
        let now = unix_now();
        if posters {
            for poster in &self.posters {
                let centre = CentreId::parse(poster.centre).context("a valid centre id")?;
                store
                    .create_thread(
                        &poster.mailbox_id,
                        poster.verifier,
                        &centre,
                        &poster.first,
                        now,
                    )
                    .await
                    .map_err(|e| anyhow!("seeding a poster's thread failed: {e}"))?;
            }
        }
        let started = Instant::now();
        let mut tasks = Vec::new();
        for w in 0..writers {
            let store = std::sync::Arc::clone(store);
            let filler = self.filler.clone();
            let range = (threads.start + w..threads.end).step_by(writers as usize);
            tasks.push(tokio::spawn(async move {
                let quota = Quota {
                    max_messages: u32::MAX,
                    max_bytes: u64::MAX,
                };
                for i in range {
                    let c = (i % CENTRES.len() as u64) as usize;
                    let centre = CentreId::parse(CENTRES[c]).context("a valid centre id")?;
                    let (mailbox, auth) = seeded_thread(i);
                    store
                        .create_thread(&mailbox, auth.verifier().0, &centre, &filler[c][0], now)
                        .await
                        .map_err(|e| anyhow!("seeding thread {i} failed: {e}"))?;
                    for envelope in &filler[c][1..] {
                        store
                            .append(&mailbox, Author::Person, envelope, now, quota)
                            .await
                            .map_err(|e| anyhow!("seeding thread {i} failed: {e}"))?;
                    }
                }
                anyhow::Ok(())
            }));
        }
        for task in tasks {
            task.await.context("a seeding task panicked")??;
        }
        let messages = (threads.end - threads.start) * MESSAGES_PER_THREAD as u64;
        println!(
            "  seeded {} threads × {MESSAGES_PER_THREAD} messages into PostgreSQL in {:.1} s",
            threads.end - threads.start,
            started.elapsed().as_secs_f64()
        );
        Ok(messages)
    }
}

impl Poster {
    /// Its thread's mailbox id.
    pub fn mailbox_id(&self) -> ozvi_crypto::MailboxId {
        self.mailbox_id
    }

    /// Poster `i`: keys from a fixed root (the HKDF half of the derivation;
    /// Argon2id from a code would add ~25 ms each and nothing the relay sees),
    /// a thread at centre `i mod 2`, and [`ENVELOPES_PER_POSTER`] envelopes.
    fn new(directory: &Directory, i: usize) -> anyhow::Result<Self> {
        let keys =
            PersonKeys::from_root(&sha256(&[b"ozvi-load/poster", &(i as u64).to_be_bytes()]));
        let centre = CENTRES[i % CENTRES.len()];
        let envelopes = (0..ENVELOPES_PER_POSTER)
            .map(|n| seal_person(directory, centre, &keys, n).map(|e| b64::encode(&e)))
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Self {
            mailbox: keys.mailbox_id().to_b64(),
            auth: b64::encode(keys.auth_secret().expose()),
            envelopes,
            mailbox_id: keys.mailbox_id(),
            verifier: keys.auth_secret().verifier().0,
            centre,
            first: seal_person(directory, centre, &keys, usize::MAX)?,
        })
    }
}

/// The mailbox id and auth secret of seeded thread `i`, from SHA-256 of the
/// index: cheap enough for 100,000 threads, and the relay only ever sees
/// the id and the verifier.
fn seeded_thread(i: u64) -> (MailboxId, AuthSecret) {
    let index = i.to_be_bytes();
    let digest = sha256(&[b"ozvi-load/mailbox", &index]);
    let mut mailbox = [0u8; 16];
    mailbox.copy_from_slice(&digest[..16]);
    let auth = AuthSecret::from_bytes(sha256(&[b"ozvi-load/auth", &index]));
    (MailboxId(mailbox), auth)
}

/// The request headers for seeded thread `i`.
pub fn reader(i: u64) -> Reader {
    let (mailbox, auth) = seeded_thread(i);
    Reader {
        mailbox: mailbox.to_b64(),
        auth: b64::encode(auth.expose()),
    }
}

/// A short person message (the smallest padding bucket) of `person` to the
/// staff of `centre_id`.
pub(crate) fn seal_person(
    directory: &Directory,
    centre_id: &str,
    person: &PersonKeys,
    n: usize,
) -> anyhow::Result<Vec<u8>> {
    let centre = directory
        .centre(centre_id)
        .context("the centre is in the directory")?;
    Ok(envelope(
        &mut os_rng(),
        centre,
        person,
        None,
        Kind::PersonMessage,
        &text_body(&format!("load test message {n}")),
        unix_now(),
    ))
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
