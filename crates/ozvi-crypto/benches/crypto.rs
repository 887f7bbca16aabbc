//! Benchmarks of ozvi-crypto (docs/PERFORMANCE.md, "Crypto (ozvi-crypto)").
//!
//! Run with `cargo bench -p ozvi-crypto --bench crypto` (or `cargo xtask
//! bench`). Criterion measures each operation; then a side-by-side timing
//! loop in this same binary measures the envelope and the bare AEAD
//! interleaved, and prints the ratios the performance targets are stated in.
//!
//! What is measured:
//! - `envelope_seal` / `envelope_open`: a *person message* (signed by the
//!   person, `Kind::PersonMessage`) with a body of 1 KiB or 16 KiB, sealed
//!   to 1 or 8 staff X25519 keys, with the OS CSPRNG; opened by the first
//!   staff recipient (unwrap, decrypt, unpad, Ed25519 verify, mailbox check).
//! - `bare_xchacha20poly1305`: `xchacha_seal` / `xchacha_open` of the raw
//!   body sizes and of the padded sizes an envelope actually encrypts (a
//!   1 KiB body plus its frame lands in the 1152 bucket, a 16 KiB body in
//!   the 18432 bucket), with associated data as long as a 1-recipient
//!   envelope's.
//! - `person_keys_derive`: Argon2id (19 MiB, 2 passes, 1 lane) and HKDF.
//! - `primitives`: the public-key work inside an envelope: X25519 key
//!   generation and exchange (each stanza), the low-order probe when a
//!   long-term X25519 key is parsed, Ed25519 sign and verify of a frame.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput};
use ozvi_crypto::format::envelope::{Envelope, STANZA_LEN};
use ozvi_crypto::primitives::aead::{XNONCE_LEN, xchacha_open, xchacha_seal};
use ozvi_crypto::primitives::kdf::ARGON2_V1;
use ozvi_crypto::primitives::rng::os_rng;
use ozvi_crypto::primitives::sig::Ed25519Secret;
use ozvi_crypto::primitives::x25519::{X25519Public, X25519Secret};
use ozvi_crypto::protocol::directory::{Names, REGIONS};
use ozvi_crypto::protocol::envelope::{Message, Signer, open, seal};
use ozvi_crypto::protocol::labels;
use ozvi_crypto::{
    Centre, Code, DeploymentSalt, Directory, Kind, MailboxId, PersonKeys, StaffKeys, StaffMember,
};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

/// Body sizes: (name, bytes).
const BODIES: [(&str, usize); 2] = [("1k", 1024), ("16k", 16 * 1024)];
/// Recipient counts.
const RECIPIENTS: [usize; 2] = [1, 8];
const SENT_AT: u64 = 1_700_000_000;
/// Bytes a person's signed frame adds to the body (PROTOCOL.md §4.4): role,
/// Ed25519 key, X25519 key, msg_id, sent_at, body_len, signature.
const PERSON_FRAME_OVERHEAD: usize = 1 + 32 + 32 + 16 + 8 + 4 + 64;

/// A person, a centre of eight staff members and its directory.
struct Fixture {
    person: PersonKeys,
    staff: Vec<StaffKeys>,
    recipients: Vec<X25519Public>,
    directory: Directory,
    mailbox: MailboxId,
}

impl Fixture {
    fn new() -> Self {
        let mut rng = ChaCha20Rng::seed_from_u64(0x6f7a_7669);
        let staff: Vec<StaffKeys> = (0..8).map(|_| StaffKeys::generate(&mut rng)).collect();
        let directory = Directory {
            version: 1,
            issued_at: SENT_AT,
            salt: DeploymentSalt::generate(&mut rng),
            default_centre: "centre".into(),
            centres: vec![Centre {
                id: "centre".into(),
                names: Names {
                    cs: "Centrum".into(),
                    en: "Centre".into(),
                    uk: "Центр".into(),
                },
                regions: REGIONS.iter().map(|r| (*r).to_owned()).collect(),
                contact: None,
                answer_time: None,
                acknowledgement: None,
                staff: staff
                    .iter()
                    .enumerate()
                    .map(|(i, keys)| StaffMember {
                        id: format!("staff-{i}"),
                        label: format!("Staff {i}"),
                        keys: keys.public(),
                    })
                    .collect(),
            }],
        };
        let person = PersonKeys::from_root(&[0x42; 32]);
        let mailbox = person.mailbox_id();
        let recipients = directory.centres[0].staff_x25519();
        Self {
            person,
            staff,
            recipients,
            directory,
            mailbox,
        }
    }

    /// A person message with `body` to the first `n` staff members.
    fn seal(&self, body: &[u8], n: usize) -> Vec<u8> {
        let message = Message {
            kind: Kind::PersonMessage,
            mailbox: &self.mailbox,
            body,
            sent_at: SENT_AT,
        };
        seal(
            &mut os_rng(),
            Signer::Person(&self.person),
            message,
            &self.recipients[..n],
        )
        .expect("seals")
    }

    /// Opens as the first staff recipient.
    fn open(&self, envelope: &[u8]) -> usize {
        open(
            envelope,
            &self.mailbox,
            self.staff[0].x25519(),
            &self.directory,
        )
        .expect("opens")
        .body
        .len()
    }
}

/// The padded length an envelope with this body encrypts (its bucket).
fn padded_len(fixture: &Fixture, body: usize) -> usize {
    Envelope::parse(&fixture.seal(&vec![0x61; body], 1))
        .expect("parses")
        .bucket()
}

/// Associated data as long as a one-recipient envelope's (§4.3).
fn aad() -> Vec<u8> {
    vec![0x5a; labels::PAYLOAD.len() + 16 + 3 + STANZA_LEN + XNONCE_LEN]
}

const AEAD_KEY: [u8; 32] = [0x11; 32];
const AEAD_NONCE: [u8; XNONCE_LEN] = [0x22; XNONCE_LEN];

/// The bare AEAD sizes: each raw body size and each padded size.
fn bare_sizes(fixture: &Fixture) -> Vec<usize> {
    let mut sizes: Vec<usize> = BODIES
        .iter()
        .flat_map(|&(_, len)| [len, padded_len(fixture, len)])
        .collect();
    sizes.sort_unstable();
    sizes.dedup();
    sizes
}

fn bench_envelope(c: &mut Criterion) {
    let fixture = Fixture::new();
    let mut group = c.benchmark_group("envelope_seal");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for (name, len) in BODIES {
        let body = vec![0x61; len];
        group.throughput(Throughput::Bytes(len as u64));
        for n in RECIPIENTS {
            group.bench_with_input(BenchmarkId::new(name, format!("{n}r")), &n, |b, &n| {
                b.iter(|| fixture.seal(black_box(&body), n));
            });
        }
    }
    group.finish();

    let mut group = c.benchmark_group("envelope_open");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for (name, len) in BODIES {
        group.throughput(Throughput::Bytes(len as u64));
        for n in RECIPIENTS {
            let envelope = fixture.seal(&vec![0x61; len], n);
            group.bench_with_input(
                BenchmarkId::new(name, format!("{n}r")),
                &envelope,
                |b, envelope| b.iter(|| fixture.open(black_box(envelope))),
            );
        }
    }
    group.finish();
}

fn bench_bare_aead(c: &mut Criterion) {
    let fixture = Fixture::new();
    let aad = aad();
    let mut group = c.benchmark_group("bare_xchacha20poly1305");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for len in bare_sizes(&fixture) {
        let msg = vec![0x61; len];
        let sealed = xchacha_seal(&AEAD_KEY, &AEAD_NONCE, &aad, &msg);
        group.throughput(Throughput::Bytes(len as u64));
        group.bench_with_input(BenchmarkId::new("seal", len), &msg, |b, msg| {
            b.iter(|| xchacha_seal(&AEAD_KEY, &AEAD_NONCE, &aad, black_box(msg)));
        });
        group.bench_with_input(BenchmarkId::new("open", len), &sealed, |b, sealed| {
            b.iter(|| xchacha_open(&AEAD_KEY, &AEAD_NONCE, &aad, black_box(sealed)).is_some());
        });
    }
    group.finish();
}

/// A 10 MiB file (PROTOCOL.md §12) sealed and opened, beside bare
/// XChaCha20-Poly1305 over the same 10 MiB in one call: the price of the
/// chunking, the padding to the 16 MiB bucket and the hash.
fn bench_file(c: &mut Criterion) {
    use ozvi_crypto::protocol::file;
    let mailbox = ozvi_crypto::MailboxId([7; 16]);
    let plain: Vec<u8> = (0..10 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
    let mut rng = ozvi_crypto::primitives::rng::os_rng();
    let sealed = file::seal(&mut rng, &mailbox, &plain, "image/jpeg", None, None).expect("fits");
    let aad = aad();
    let mut group = c.benchmark_group("file_10MiB");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .throughput(Throughput::Bytes(plain.len() as u64));
    group.bench_function("seal", |b| {
        b.iter(|| {
            file::seal(
                &mut rng,
                &mailbox,
                black_box(&plain),
                "image/jpeg",
                None,
                None,
            )
        });
    });
    group.bench_function("open", |b| {
        b.iter(|| file::open(&mailbox, &sealed.reference, black_box(&sealed.blob)).is_ok());
    });
    group.bench_function("bare_xchacha_seal", |b| {
        b.iter(|| xchacha_seal(&AEAD_KEY, &AEAD_NONCE, &aad, black_box(&plain)));
    });
    group.finish();
}

fn bench_derive(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let code = Code::generate(&mut rng);
    let salt = DeploymentSalt::generate(&mut rng);
    let mut group = c.benchmark_group("person_keys_derive");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    group.bench_function(
        format!(
            "argon2id_{}kib_{}p_{}l",
            ARGON2_V1.memory_kib, ARGON2_V1.passes, ARGON2_V1.lanes
        ),
        |b| b.iter(|| PersonKeys::derive(black_box(&code), &salt).mailbox_id()),
    );
    group.finish();
}

fn bench_primitives(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::seed_from_u64(8);
    let secret = X25519Secret::generate(&mut rng);
    let recipient = X25519Secret::generate(&mut rng).public();
    let signer = Ed25519Secret::generate(&mut rng);
    let public = signer.public();
    let mut group = c.benchmark_group("primitives");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    // One stanza: a fresh ephemeral key pair and one exchange.
    group.bench_function("x25519_keygen", |b| {
        b.iter(|| X25519Secret::generate(&mut rng).public());
    });
    group.bench_function("x25519_dh", |b| {
        b.iter(|| secret.diffie_hellman(black_box(&recipient)).is_some());
    });
    // Parsing a long-term key runs the low-order probe (one X25519).
    group.bench_function("x25519_public_from_bytes", |b| {
        b.iter(|| X25519Public::from_bytes(black_box(recipient.as_bytes())).is_ok());
    });
    // The signed frames of a 1 KiB and a 16 KiB person message.
    for len in BODIES.map(|(_, body)| body + PERSON_FRAME_OVERHEAD) {
        let msg = vec![0x61; len];
        let signature = signer.sign(&msg);
        group.bench_with_input(BenchmarkId::new("ed25519_sign", len), &msg, |b, msg| {
            b.iter(|| signer.sign(black_box(msg)));
        });
        group.bench_with_input(BenchmarkId::new("ed25519_verify", len), &msg, |b, msg| {
            b.iter(|| public.verify(black_box(msg), &signature));
        });
    }
    group.finish();
}

/// One operation of the side-by-side timing.
struct Op<'a> {
    name: String,
    run: Box<dyn FnMut() + 'a>,
    iters: u32,
    samples: Vec<f64>,
}

impl<'a> Op<'a> {
    fn new(name: String, run: impl FnMut() + 'a) -> Self {
        Self {
            name,
            run: Box::new(run),
            iters: 1,
            samples: Vec::new(),
        }
    }

    fn median_ns(&self) -> f64 {
        let mut sorted = self.samples.clone();
        sorted.sort_by(f64::total_cmp);
        sorted[sorted.len() / 2]
    }
}

/// Times the envelope against the bare AEAD, interleaved: each round runs
/// one batch (about `batch` long) of every operation in turn, so the machine's
/// noise falls on all of them alike; each figure is the median over rounds
/// of the per-operation time of a batch. Prints the times and the ratios,
/// unless `smoke` (test mode: one tiny round, only to exercise this code).
fn side_by_side(rounds: usize, batch: Duration, smoke: bool) {
    let fixture = Fixture::new();
    let aad = aad();
    let mut ops: Vec<Op<'_>> = Vec::new();
    for (name, len) in BODIES {
        for n in RECIPIENTS {
            let body = vec![0x61; len];
            let fixture = &fixture;
            ops.push(Op::new(format!("envelope_seal_{name}_{n}r"), move || {
                black_box(fixture.seal(black_box(&body), n));
            }));
            let envelope = fixture.seal(&vec![0x61; len], n);
            ops.push(Op::new(format!("envelope_open_{name}_{n}r"), move || {
                black_box(fixture.open(black_box(&envelope)));
            }));
        }
    }
    for len in bare_sizes(&fixture) {
        let msg = vec![0x61; len];
        let sealed = xchacha_seal(&AEAD_KEY, &AEAD_NONCE, &aad, &msg);
        let aad_seal = aad.clone();
        let aad_open = aad.clone();
        ops.push(Op::new(format!("bare_xchacha_seal_{len}"), move || {
            black_box(xchacha_seal(
                &AEAD_KEY,
                &AEAD_NONCE,
                &aad_seal,
                black_box(&msg),
            ));
        }));
        ops.push(Op::new(format!("bare_xchacha_open_{len}"), move || {
            black_box(xchacha_open(
                &AEAD_KEY,
                &AEAD_NONCE,
                &aad_open,
                black_box(&sealed),
            ));
        }));
    }

    // Calibrate each operation's batch to about `batch`.
    for op in &mut ops {
        (op.run)();
        let start = Instant::now();
        let mut n = 0u32;
        while start.elapsed() < batch / 4 {
            (op.run)();
            n += 1;
        }
        let per_iter = start.elapsed().as_secs_f64() / f64::from(n.max(1));
        op.iters = ((batch.as_secs_f64() / per_iter) as u32).max(1);
    }
    for _ in 0..rounds {
        for op in &mut ops {
            let start = Instant::now();
            for _ in 0..op.iters {
                (op.run)();
            }
            let ns = start.elapsed().as_secs_f64() * 1e9 / f64::from(op.iters);
            op.samples.push(ns);
        }
    }

    if smoke {
        println!(
            "test mode: the side-by-side timing ran {} operations once; no figures",
            ops.len()
        );
        return;
    }
    let time = |name: &str| -> f64 {
        ops.iter()
            .find(|op| op.name == name)
            .unwrap_or_else(|| panic!("no operation {name}"))
            .median_ns()
    };
    println!();
    println!(
        "side-by-side timing: median of {rounds} interleaved batches of ~{} ms each",
        batch.as_millis()
    );
    for op in &ops {
        println!("  {:<30} {:>12.1} µs", op.name, op.median_ns() / 1e3);
    }
    let padded_1k = padded_len(&fixture, BODIES[0].1);
    let padded_16k = padded_len(&fixture, BODIES[1].1);
    println!();
    let ratios = [
        (
            "envelope_seal_16k_1r",
            format!("bare_xchacha_seal_{padded_16k}"),
            "same padded length",
        ),
        (
            "envelope_seal_16k_1r",
            "bare_xchacha_seal_16384".to_owned(),
            "raw 16 KiB body",
        ),
        (
            "envelope_open_16k_1r",
            format!("bare_xchacha_open_{padded_16k}"),
            "same padded length",
        ),
        (
            "envelope_open_16k_1r",
            "bare_xchacha_open_16384".to_owned(),
            "raw 16 KiB body",
        ),
        (
            "envelope_seal_1k_1r",
            format!("bare_xchacha_seal_{padded_1k}"),
            "same padded length",
        ),
        (
            "envelope_seal_1k_1r",
            "bare_xchacha_seal_1024".to_owned(),
            "raw 1 KiB body",
        ),
        (
            "envelope_seal_16k_8r",
            format!("bare_xchacha_seal_{padded_16k}"),
            "same padded length",
        ),
    ];
    for (envelope, bare, note) in &ratios {
        println!(
            "ratio {envelope} / {bare} = {:.2}   ({note})",
            time(envelope) / time(bare)
        );
    }
    println!();
    let seal_1k_8r = time("envelope_seal_1k_8r") / 1e3;
    let verdict = |met: bool| if met { "met" } else { "NOT met" };
    println!(
        "target: envelope_seal_1k_8r ≤ 1000 µs: {seal_1k_8r:.1} µs, {}",
        verdict(seal_1k_8r <= 1000.0)
    );
    for bare in [
        format!("bare_xchacha_seal_{padded_16k}"),
        "bare_xchacha_seal_16384".to_owned(),
    ] {
        let ratio = time("envelope_seal_16k_1r") / time(&bare);
        println!(
            "target: envelope_seal_16k_1r / {bare} ≤ 1.5: {ratio:.2}, {}",
            verdict(ratio <= 1.5)
        );
    }
}

criterion::criterion_group!(
    benches,
    bench_envelope,
    bench_bare_aead,
    bench_primitives,
    bench_derive,
    bench_file
);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();

    // The same decision criterion makes: `cargo bench` passes `--bench`;
    // `cargo test --benches` does not, and then each benchmark ran once.
    let args: Vec<String> = std::env::args().collect();
    let flag = |f: &str| args.iter().any(|a| a == f);
    if flag("--list") {
        return;
    }
    if flag("--bench") && !flag("--test") && !flag("--profile-time") {
        side_by_side(21, Duration::from_millis(20), false);
    } else {
        // Smoke-test the timing code; figures from a debug build mean nothing.
        side_by_side(1, Duration::from_micros(1), true);
    }
}
