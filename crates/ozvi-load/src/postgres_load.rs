//! `ozvi-load relay --only post-pg` (`cargo xtask load --only post-pg`): the
//! release relay on PostgreSQL (issue 16).
//!
//! A throw-away PostgreSQL server (the test harness's `TestPostgres`:
//! Debian's `initdb` and `pg_ctl` in a temporary folder, which `cargo xtask
//! load` makes sure are installed) with production durability: `fsync` and
//! `synchronous_commit` on. Seeding turns `synchronous_commit` off for its
//! own writes (`ALTER SYSTEM`, reloaded) and back on before anything is
//! measured, so that a larger store can be written in seconds.
//!
//! It measures, side by side in one run:
//! 1. durable posting to the baseline server and to one relay on
//!    PostgreSQL, in ABBA rounds (target: ≥ 40 % of the baseline's rate);
//! 2. one relay against two relays on the same database, in ABBA rounds
//!    (one, two, two, one): 64 clients each time, all on one relay or half
//!    on each (the halves writing into different threads);
//! 3. PostgreSQL alone, without the relay: Debian's `pgbench` running the
//!    statements the relay sends for one post ([`pgbench_post`]) and for its
//!    append transaction alone ([`pgbench_append`]), on threads of their
//!    own, so that the relay's rate can be read against what the database
//!    itself allows on the machine;
//! 4. listing latency and the relay's memory on the 10k-message store and on
//!    a larger one.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use ozvi_tests::postgres::{DATABASE, Settings, TestPostgres};
use ozvi_tests::relay::store::postgres::PgStore;

use crate::fixture::{self, Fixture, MESSAGES_PER_THREAD};
use crate::relay;
use crate::relay_load::{
    Plan, Watched, check_setup, durable_posting, print_durable, print_progress, verdict, watched,
};
use crate::scenario::{self, Budget, Op, Posts, Stats, Target};
use crate::{CLIENTS, heading, load_runtime};

/// Seeded threads of the 10k-message store.
const SMALL_THREADS: u64 = 1_000;
/// Messages of the larger store unless `--messages` says (× 10 a thread).
pub const BIG_MESSAGES: u64 = 110_000;
/// Concurrent seeding tasks.
const SEED_WRITERS: u64 = 8;
/// The relay on PostgreSQL against the baseline's durable rate, at least.
const RATE_TARGET: f64 = 0.40;
/// Listings before the relay's memory is read on each store.
const PROBE: u64 = 5_000;
/// Steps printed as headings.
const STEPS: usize = 6;

/// pgbench's threads: 64 of their own, in a centre no desk lists, each
/// client its own (`:client_id`).
const PGBENCH_SETUP: &str = "\
INSERT INTO threads SELECT decode('ffffffffffffffffffffffff' || lpad(to_hex(i), 8, '0'), 'hex'), \
decode(repeat('09', 32), 'hex'), 'pgbench', 60, 60, 0, i, 1, 1, 100, 0, 0 \
FROM generate_series(1, 64) i; \
INSERT INTO messages SELECT mailbox_id, 1, 60, decode('0101' || repeat('ab', 1300), 'hex') \
FROM threads WHERE centre = 'pgbench'";

/// What pgbench leaves is removed before the listings are measured.
const PGBENCH_CLEANUP: &str = "DELETE FROM threads WHERE centre = 'pgbench'; \
DELETE FROM rate_counters WHERE window_start = 0";

/// The mailbox id of pgbench's client `:client_id`, as [`PGBENCH_SETUP`]
/// made it.
const PGBENCH_THREAD: &str =
    "decode('ffffffffffffffffffffffff' || lpad(to_hex(:client_id + 1), 8, '0'), 'hex')";

/// The relay's append transaction (`PgStore::append_claiming`, no files):
/// the thread locked with its change number, the message and the thread's
/// new counters (pipelined by the relay), the commit.
fn pgbench_append() -> String {
    let thread = PGBENCH_THREAD;
    format!(
        "BEGIN;\n\
         WITH locked AS (SELECT * FROM threads WHERE mailbox_id = {thread} FOR UPDATE) \
         SELECT locked.*, pg_current_xact_id()::text::bigint FROM locked;\n\
         INSERT INTO messages (mailbox_id, seq, stored_at, envelope) SELECT mailbox_id, last_seq + 1, 120, \
         decode('0101' || repeat('ab', 1300), 'hex') FROM threads WHERE mailbox_id = {thread};\n\
         UPDATE threads SET last_seq = last_seq + 1, message_count = message_count + 1, \
         change = pg_current_xact_id()::text::bigint, last_activity = 120 WHERE mailbox_id = {thread};\n\
         COMMIT;\n"
    )
}

/// Every statement a post sends (`POST /api/v1/mailbox/messages`): her
/// thread read (authentication), its first message (her key), the
/// per-thread rate counter, the append transaction, one look at the oldest
/// running transaction (the wait until listable).
fn pgbench_post() -> String {
    let thread = PGBENCH_THREAD;
    format!(
        "SELECT * FROM threads WHERE mailbox_id = {thread};\n\
         SELECT seq, stored_at, envelope FROM messages WHERE mailbox_id = {thread} AND seq = 1;\n\
         INSERT INTO rate_counters AS r (scope, subject, window_start, hits) VALUES (1, {thread}, 0, 1) \
         ON CONFLICT (scope, subject, window_start) DO UPDATE SET hits = r.hits + 1 RETURNING hits;\n\
         {}\
         SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint;\n",
        pgbench_append()
    )
}

/// pgbench's rates, transactions per second.
struct Alone {
    post: f64,
    append: f64,
    append_16: f64,
}

/// Runs pgbench for `round` each: a whole post at 64 clients, the append
/// transaction at 64 and at 16 (the relay's pool).
fn database_alone(server: &TestPostgres, work: &Path, round: Duration) -> anyhow::Result<Alone> {
    server
        .psql(DATABASE, PGBENCH_SETUP)
        .map_err(|e| anyhow!("pgbench's threads: {e}"))?;
    let post = work.join("pgbench-post.sql");
    let append = work.join("pgbench-append.sql");
    std::fs::write(&post, pgbench_post()).context("writing pgbench's script")?;
    std::fs::write(&append, pgbench_append()).context("writing pgbench's script")?;
    let seconds = round.as_secs().max(1);
    let run = |script: &Path, clients: usize, label: &str| -> anyhow::Result<f64> {
        let tps = server
            .pgbench(DATABASE, script, clients, seconds)
            .map_err(|e| anyhow!("pgbench ({label}): {e}"))?;
        println!("  pgbench, {label:<44} {tps:>8.0} /s");
        Ok(tps)
    };
    let alone = Alone {
        post: run(&post, CLIENTS, "a post's statements, 64 clients")?,
        append: run(&append, CLIENTS, "the append transaction, 64 clients")?,
        append_16: run(&append, 16, "the append transaction, 16 clients")?,
    };
    server
        .psql(DATABASE, PGBENCH_CLEANUP)
        .map_err(|e| anyhow!("removing pgbench's threads: {e}"))?;
    Ok(alone)
}

fn print_alone(alone: &Alone, durable: &crate::relay_load::Durable) {
    let relay = durable.relay.stats.rate();
    let baseline = durable.baseline.stats.rate();
    println!(
        "\nPostgreSQL alone (pgbench, the relay's statements, no relay, no HTTP; {CLIENTS} clients \
         unless said)\n"
    );
    println!("  what                                         per second  / baseline  relay / it");
    for (label, tps) in [
        ("a post's statements", alone.post),
        ("the append transaction", alone.append),
        ("the append transaction, 16 clients", alone.append_16),
    ] {
        println!(
            "  {label:<44} {tps:>10.0}  {:>10.2}  {:>10.2}",
            tps / baseline,
            relay / tps
        );
    }
}

/// Runs the whole PostgreSQL measurement, `round` measured per round.
/// `big_messages`: the larger store's size (at least 20,000).
pub fn run(binary: &Path, round: Duration, big_messages: u64) -> anyhow::Result<()> {
    let work = tempfile::Builder::new()
        .prefix("ozvi-load-pg-")
        .tempdir()
        .context("cannot create a temporary directory")?;
    let runtime = load_runtime()?;
    let big_threads = (big_messages / MESSAGES_PER_THREAD as u64).saturating_sub(SMALL_THREADS);
    anyhow::ensure!(
        big_threads >= SMALL_THREADS,
        "--messages takes at least 20000"
    );
    let result = runtime.block_on(measure(binary, work.path(), round, big_threads));
    if result.is_err() {
        let kept = work.keep();
        eprintln!(
            "The relay logs are kept in {} for inspection.",
            kept.display()
        );
    }
    result
}

/// `synchronous_commit` for every session from now on (`ALTER SYSTEM`,
/// reloaded): off while seeding, on (the default) for every measurement.
fn synchronous_commit(server: &TestPostgres, on: bool) -> anyhow::Result<()> {
    let sql = if on {
        "ALTER SYSTEM RESET synchronous_commit"
    } else {
        "ALTER SYSTEM SET synchronous_commit = off"
    };
    server
        .psql(DATABASE, sql)
        .map_err(|e| anyhow!("{sql}: {e}"))?;
    server
        .psql(DATABASE, "SELECT pg_reload_conf()")
        .map_err(|e| anyhow!("reloading the configuration: {e}"))?;
    Ok(())
}

/// The settings as the relay's sessions see them, printed with the results.
fn durability(server: &TestPostgres) -> anyhow::Result<String> {
    server
        .psql(
            DATABASE,
            "SELECT 'fsync=' || current_setting('fsync') || ', synchronous_commit=' \
             || current_setting('synchronous_commit') || ', PostgreSQL ' \
             || current_setting('server_version')",
        )
        .map_err(|e| anyhow!("reading the settings: {e}"))
}

async fn measure(
    binary: &Path,
    work: &Path,
    round: Duration,
    big_threads: u64,
) -> anyhow::Result<()> {
    let started = Instant::now();
    heading(
        1,
        STEPS,
        "A throw-away PostgreSQL server, fsync and synchronous_commit on",
    );
    let server = TestPostgres::start_with(Settings::DURABLE);
    // Stopped when it is dropped; and, should this process be killed (its
    // drops never run), by a watchdog once it has exited.
    server.stop_when_this_process_exits();
    let url = server.url();

    heading(
        2,
        STEPS,
        "Keys, sealed envelopes, the 10k-message store in PostgreSQL",
    );
    let fixture = Arc::new(Fixture::new(CLIENTS)?);
    let posts = Arc::new(Posts::new(&fixture)?);
    let config = fixture.write_config(work)?;
    let mut text = std::fs::read_to_string(&config).context("reading the configuration")?;
    text.push_str("store = \"postgres\"\n");
    let config = work.join("relay-pg.toml");
    std::fs::write(&config, text).context("writing the configuration")?;
    synchronous_commit(&server, false)?;
    let store = Arc::new(
        PgStore::open(&url, &work.join("seed"))
            .await
            .map_err(|e| anyhow!("the store opens on PostgreSQL: {e}"))?,
    );
    let small_messages = fixture
        .seed_postgres(&store, true, 0..SMALL_THREADS, SEED_WRITERS)
        .await?;
    synchronous_commit(&server, true)?;
    let settings = durability(&server)?;
    println!("  {settings}");

    heading(
        3,
        STEPS,
        &format!(
            "Durable posting: the baseline and one relay on PostgreSQL, ABBA, {:.0} s a round",
            round.as_secs_f64() / 2.0
        ),
    );
    let readers = Arc::new((0..SMALL_THREADS).map(fixture::reader).collect::<Vec<_>>());
    let baseline = relay::start_baseline(work)?;
    let baseline_target = Target::local(baseline.port, &fixture, Arc::clone(&readers), &posts);
    let relay_a = relay::start_postgres(
        binary,
        &config,
        &work.join("data-a"),
        &work.join("relay-a.log"),
        &url,
    )?;
    let target_a = Target::local(relay_a.port, &fixture, Arc::clone(&readers), &posts);
    check_setup(&target_a).await?;
    let mut plan = Plan::new(true);
    plan.warmup = Duration::from_secs(1);
    plan.window = round * 2;
    let durable = durable_posting(&baseline_target, &baseline, &target_a, &relay_a, &plan).await?;
    relay::stop(baseline)?;

    heading(
        4,
        STEPS,
        "PostgreSQL alone: pgbench sends the relay's statements for a post",
    );
    let alone = database_alone(&server, work, round)?;

    heading(
        5,
        STEPS,
        "One relay against two relays on the same database, ABBA (one, two, two, one)",
    );
    let relay_b = relay::start_postgres(
        binary,
        &config,
        &work.join("data-b"),
        &work.join("relay-b.log"),
        &url,
    )?;
    let posts_b = Arc::new(posts.rotated(CLIENTS / 2));
    let target_b = Target::local(relay_b.port, &fixture, Arc::clone(&readers), &posts_b);
    let budget = Budget::Window {
        warmup: plan.warmup,
        window: round,
    };
    let mut one: Option<Watched> = None;
    let mut two: Option<Stats> = None;
    for n in 0..2u32 {
        if n == 1 {
            two = Some(two_relays(&target_a, &target_b, budget, two).await);
        }
        let single = watched(&target_a, Op::Post, budget, relay_a.pid()).await;
        print_progress("one relay: 64 clients", &single.stats);
        one = Some(match one {
            None => single,
            Some(mut o) => {
                o.combine(single, n);
                o
            }
        });
        if n == 0 {
            two = Some(two_relays(&target_a, &target_b, budget, two).await);
        }
    }
    let one = one.context("a round")?.stats;
    let two = two.context("a round")?;

    heading(
        6,
        STEPS,
        &format!(
            "Listing and memory: the 10k-message store, then {} messages",
            (SMALL_THREADS + big_threads) * MESSAGES_PER_THREAD as u64
        ),
    );
    let list_budget = Budget::Window {
        warmup: plan.warmup,
        window: round,
    };
    let small_probe = scenario::run(&target_a, Op::List, CLIENTS, Budget::Count(PROBE)).await;
    let small_memory = relay_a.memory().map_err(anyhow::Error::msg)?;
    let small_list = scenario::run(&target_a, Op::List, CLIENTS, list_budget).await;
    print_progress("list, 10k-message store", &small_list);
    relay::stop(relay_b)?;
    relay::stop(relay_a)?;
    synchronous_commit(&server, false)?;
    let grown = fixture
        .seed_postgres(
            &store,
            false,
            SMALL_THREADS..SMALL_THREADS + big_threads,
            SEED_WRITERS,
        )
        .await?;
    synchronous_commit(&server, true)?;
    let database_size = server
        .psql(DATABASE, "SELECT pg_database_size(current_database())")
        .map_err(|e| anyhow!("database size: {e}"))?;
    drop(store);
    let big_messages = small_messages + grown;
    let relay_a = relay::start_postgres(
        binary,
        &config,
        &work.join("data-a"),
        &work.join("relay-a.log"),
        &url,
    )?;
    let big_readers = Arc::new(
        (0..SMALL_THREADS + big_threads)
            .map(fixture::reader)
            .collect::<Vec<_>>(),
    );
    let big_target = Target::local(relay_a.port, &fixture, big_readers, &posts);
    let big_probe = scenario::run(&big_target, Op::List, CLIENTS, Budget::Count(PROBE)).await;
    let big_memory = relay_a.memory().map_err(anyhow::Error::msg)?;
    let big_list = scenario::run(&big_target, Op::List, CLIENTS, list_budget).await;
    print_progress("list, larger store", &big_list);
    relay::stop(relay_a)?;

    println!("\n==> Results (PostgreSQL: {settings})");
    print_durable(&durable, &plan, "relay (PostgreSQL), durable", RATE_TARGET);
    print_alone(&alone, &durable);
    print_two(&one, &two, round);
    let scale = Scale {
        small: (small_messages, &small_list, small_memory),
        big: (big_messages, &big_list, big_memory),
        database_bytes: database_size.trim().parse().unwrap_or(0),
    };
    print_scale(&scale, round);
    println!("\nTotal time {:.0} s.", started.elapsed().as_secs_f64());

    let failed: Vec<String> = [
        ("post, one relay", &one),
        ("post, two relays", &two),
        ("list probe, 10k", &small_probe),
        ("list probe, larger", &big_probe),
        ("list, 10k", &small_list),
        ("list, larger", &big_list),
        ("baseline", &durable.baseline.stats),
        ("relay", &durable.relay.stats),
    ]
    .iter()
    .filter(|(_, s)| s.errors > 0)
    .map(|(what, s)| format!("{what} ({} errors)", s.errors))
    .collect();
    anyhow::ensure!(
        failed.is_empty(),
        "requests failed in: {}",
        failed.join(", ")
    );
    Ok(())
}

/// One round on two relays at once: half the clients on each (writing into
/// different threads), their operations in one window.
async fn two_relays(
    a: &Arc<Target>,
    b: &Arc<Target>,
    budget: Budget,
    so_far: Option<Stats>,
) -> Stats {
    let (mut on_a, on_b) = tokio::join!(
        scenario::run(a, Op::Post, CLIENTS / 2, budget),
        scenario::run(b, Op::Post, CLIENTS / 2, budget),
    );
    on_a.concurrent(on_b);
    print_progress("two relays: 32 + 32 clients", &on_a);
    match so_far {
        None => on_a,
        Some(mut two) => {
            two.combine(on_a);
            two
        }
    }
}

fn print_two(one: &Stats, two: &Stats, round: Duration) {
    println!(
        "\nOne relay against two relays on one PostgreSQL database: {CLIENTS} clients (all on \
         one relay, or 32 on each), 2 rounds each in ABBA order of {:.0} s\n",
        round.as_secs_f64()
    );
    println!(
        "  {:<36} {:>9} {:>8} {:>8} {:>7}",
        "relays", "posts/s", "p50 ms", "p99 ms", "errors"
    );
    for (label, s) in [("one relay", one), ("two relays (aggregate)", two)] {
        println!(
            "  {label:<36} {:>9.0} {:>8.2} {:>8.2} {:>7}",
            s.rate(),
            s.ms(50.0),
            s.ms(99.0),
            s.errors
        );
    }
    println!(
        "  {:<36} {:>9.2} {:>8.2} {:>8.2}",
        "two / one",
        two.rate() / one.rate(),
        two.ms(50.0) / one.ms(50.0),
        two.ms(99.0) / one.ms(99.0)
    );
}

/// The listing and memory on each store.
struct Scale<'a> {
    small: (u64, &'a Stats, relay::Memory),
    big: (u64, &'a Stats, relay::Memory),
    database_bytes: u64,
}

fn print_scale(s: &Scale<'_>, round: Duration) {
    println!(
        "\nListing against the store's size (one relay on PostgreSQL, {CLIENTS} clients, {:.0} s \
         measured; memory after {PROBE} listings)\n",
        round.as_secs_f64()
    );
    println!(
        "  {:<12} {:>9} {:>8} {:>8} {:>10} {:>10}",
        "messages", "lists/s", "p50 ms", "p99 ms", "VmRSS MiB", "VmHWM MiB"
    );
    for (messages, stats, memory) in [s.small, s.big] {
        println!(
            "  {messages:<12} {:>9.0} {:>8.2} {:>8.2} {:>10.1} {:>10.1}",
            stats.rate(),
            stats.ms(50.0),
            stats.ms(99.0),
            memory.rss_kib as f64 / 1024.0,
            memory.hwm_kib as f64 / 1024.0
        );
    }
    let p99 = s.big.1.ms(99.0) / s.small.1.ms(99.0);
    println!(
        "  larger / 10k: p99 {p99:.2}× (target ≤ 1.5: {}); database {:.0} MiB",
        verdict(p99 <= 1.5),
        s.database_bytes as f64 / (1024.0 * 1024.0)
    );
    let rss = s.big.2.rss_kib as f64 / 1024.0;
    let small_rss = s.small.2.rss_kib as f64 / 1024.0;
    println!(
        "  relay RSS on the larger store {rss:.1} MiB (issue 16: ≤ the 10k store's + 20 MiB = {:.1} MiB: {}; \
         issue 3: ≤ 150 MiB: {})",
        small_rss + 20.0,
        verdict(rss <= small_rss + 20.0),
        verdict(rss <= 150.0)
    );
}
