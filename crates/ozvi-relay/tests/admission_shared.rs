//! Admission shared by two relays on one real PostgreSQL database (issue
//! 16, src/admission/shared.rs): two `Limits::shared`, each with its own
//! connection pool as two relay processes would have, on one throw-away
//! server (tests/src/postgres.rs).
//!
//! A challenge is spent once across both; one address is one client on both;
//! creations on both raise the price on both; the address never reaches the
//! database, and with the relays' secret the database's keys alone neither
//! link a tag to an address nor mint a challenge; an hour's address key and
//! counters are gone after the hour; an unreachable database refuses (the
//! request limit alone counts on each relay) and recovers.

use std::net::IpAddr;

use ozvi_crypto::format::b64;
use ozvi_crypto::protocol::pow;
use ozvi_relay::admission::{Admission, Limits, Purpose, Reservation};
use ozvi_relay::store::StoreError;
use ozvi_relay::store::postgres::{self, Pool};
use ozvi_tests::postgres::TestPostgres;

/// A clock hour's start (divisible by 3600 and by 600).
const HOUR: u64 = 1_800_000_000;

/// Relay A, relay B, and a pool for the test's own queries.
async fn two_relays(server: &TestPostgres, now: u64) -> (Limits, Limits, Pool) {
    let url = server.url();
    let a = postgres::connect(&url).await.expect("A's pool");
    let b = postgres::connect(&url).await.expect("B's pool");
    let own = postgres::connect(&url).await.expect("the test's pool");
    let a = Limits::shared(a, now).await.expect("A's admission");
    let b = Limits::shared(b, now).await.expect("B's admission");
    (a, b, own)
}

fn ip(text: &str) -> IpAddr {
    text.parse().expect("an address")
}

/// Solves a challenge as the page would.
fn solve(challenge: &str, difficulty: u8) -> u64 {
    let raw = b64::decode(challenge).expect("canonical");
    pow::solve(&raw, difficulty).expect("solvable")
}

async fn count(pool: &Pool, sql: &str) -> i64 {
    let client = pool.get().await.expect("a connection");
    client.query_one(sql, &[]).await.expect(sql).get(0)
}

const ADMISSION: Admission = Admission {
    base: 10,
    max: 20,
    quiet_per_centre_per_hour: 100,
    per_address_per_hour: 4,
};

#[tokio::test]
async fn a_challenge_is_spent_once_across_relays() {
    let server = TestPostgres::start();
    let now = HOUR + 100;
    let (a, b, _) = two_relays(&server, now).await;
    let spend = async |limits: &Limits, challenge: String, nonce, at| {
        limits
            .spend_challenge(&challenge, nonce, Purpose::Post, 8, at)
            .await
            .expect("the database answers")
    };
    let issued = a
        .issue_challenge(Purpose::Post, 8, now)
        .await
        .expect("issued");
    let nonce = solve(&issued, 8);
    assert!(
        !b.spend_challenge(&issued, nonce, Purpose::Create, 8, now + 1)
            .await
            .expect("answers"),
        "only for its purpose"
    );
    assert!(
        spend(&b, issued.clone(), nonce, now + 1).await,
        "issued by A, accepted by B"
    );
    assert!(
        !spend(&a, issued.clone(), nonce, now + 2).await,
        "then refused on A"
    );
    assert!(!spend(&b, issued.clone(), nonce, now + 3).await, "and on B");

    // The other way round, and across a generation's edge: issued by B in
    // the last second of a generation, spent on A in the next.
    let late = HOUR + 599;
    let issued = b
        .issue_challenge(Purpose::Post, 8, late)
        .await
        .expect("issued");
    let nonce = solve(&issued, 8);
    assert!(spend(&a, issued.clone(), nonce, late + 300).await);
    assert!(!spend(&b, issued.clone(), nonce, late + 301).await);
    assert!(
        !spend(&a, issued.clone(), nonce, late + 599).await,
        "spent for its whole life"
    );

    // Not ours: a challenge of a relay with its own key (in memory).
    let stranger = Limits::new(now);
    let foreign = stranger
        .issue_challenge(Purpose::Post, 8, now)
        .await
        .expect("issued");
    let nonce = solve(&foreign, 8);
    assert!(!spend(&a, foreign.clone(), nonce, now + 1).await);
    assert!(!spend(&b, foreign, nonce, now + 1).await);

    // Expired: refused although never spent.
    let issued = a
        .issue_challenge(Purpose::Post, 8, now)
        .await
        .expect("issued");
    let nonce = solve(&issued, 8);
    assert!(!spend(&b, issued, nonce, now + 601).await);
}

#[tokio::test]
async fn one_address_is_one_client_on_both_relays() {
    let server = TestPostgres::start();
    let now = HOUR + 60;
    let (a, b, _) = two_relays(&server, now).await;
    let her = ip("198.51.100.7");
    let other = ip("2001:db8:5::");
    assert!(allowed(&a, her, now).await);
    assert!(allowed(&b, her, now + 1).await);
    assert!(allowed(&a, her, now + 2).await);
    assert!(
        !allowed(&b, her, now + 3).await,
        "3 a minute, counted on both"
    );
    assert!(!allowed(&a, her, now + 4).await);
    assert!(allowed(&b, other, now + 5).await, "another address is not");
    assert!(allowed(&a, her, now + 60).await, "a new minute");

    // Her creations: two an hour, reserved on either relay.
    let reserve = async |limits: &Limits, at| {
        limits
            .reserve_creation(her, at, 2)
            .await
            .expect("the database answers")
    };
    assert_eq!(reserve(&a, now).await, Reservation::Counted);
    let given_back = reserve(&b, now).await;
    assert_eq!(given_back, Reservation::Counted);
    assert_eq!(reserve(&a, now).await, Reservation::Refused);
    assert_eq!(reserve(&b, now).await, Reservation::Refused);
    b.release_creation(her, now, given_back).await;
    assert_eq!(
        reserve(&a, now).await,
        Reservation::Counted,
        "a release on B frees a place on A"
    );
    assert_eq!(
        b.reserve_creation(other, now, 2).await.expect("answers"),
        Reservation::Counted
    );
    assert_eq!(
        reserve(&b, now + 3600).await,
        Reservation::Counted,
        "next hour"
    );

    // Her creation challenges, asked of A and B in turn: the same prices as
    // one in-memory relay gives (src/admission/memory.rs).
    let mut seen = Vec::new();
    for i in 0..64 {
        let relay = if i % 2 == 0 { &a } else { &b };
        seen.push(
            relay
                .create_difficulty(her, now + 7200, ADMISSION)
                .await
                .expect("answers"),
        );
    }
    assert_eq!(&seen[..4], &[10, 10, 10, 10], "{seen:?}");
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
    assert_eq!(
        seen[63], 14,
        "one bit per doubling, counted on both: {seen:?}"
    );
    assert_eq!(
        b.create_difficulty(other, now + 7200, ADMISSION)
            .await
            .expect("answers"),
        10,
        "another client pays for nothing of hers"
    );
}

async fn allowed(limits: &Limits, address: IpAddr, now: u64) -> bool {
    limits
        .allow_address(address, now, 3)
        .await
        .expect("the database answers")
}

#[tokio::test]
async fn creations_on_both_relays_raise_the_price_on_both() {
    let server = TestPostgres::start();
    let now = HOUR + 1800;
    let (a, b, _) = two_relays(&server, now).await;
    let price = async |limits: &Limits, client: &str, at| {
        limits
            .create_difficulty(ip(client), at, ADMISSION)
            .await
            .expect("the database answers")
    };
    for _ in 0..50 {
        a.record_creation("ic-zlin", now).await;
    }
    for _ in 0..49 {
        b.record_creation("ic-zlin", now).await;
    }
    for _ in 0..80 {
        b.record_creation("ic-praha", now).await;
    }
    assert_eq!(price(&a, "192.0.2.1", now).await, 10, "99 an hour is quiet");
    assert_eq!(price(&b, "192.0.2.2", now).await, 10);
    b.record_creation("ic-zlin", now).await;
    assert_eq!(price(&a, "192.0.2.3", now).await, 11, "100 counted on both");
    assert_eq!(price(&b, "192.0.2.4", now).await, 11);
    for _ in 0..100 {
        a.record_creation("ic-zlin", now).await;
    }
    assert_eq!(price(&b, "192.0.2.5", now).await, 12, "200: two doublings");
    // An hour later the last hour's 200 count for the part of it still
    // within the last hour: 200 × 1800 / 3600 = 100.
    assert_eq!(price(&a, "192.0.2.6", now + 3600).await, 11);
    assert_eq!(
        price(&b, "192.0.2.7", now + 2 * 3600).await,
        10,
        "pressure passes"
    );
    let off = Admission {
        base: 0,
        ..ADMISSION
    };
    assert_eq!(
        a.create_difficulty(ip("192.0.2.8"), now, off)
            .await
            .expect("answers"),
        0,
        "proof of work off stays off"
    );
}

/// `needle` occurs in `haystack`.
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Every file under `dir` (the cluster's data folder).
fn files_under(dir: &std::path::Path, found: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_under(&path, found);
        } else {
            found.push(path);
        }
    }
}

#[tokio::test]
async fn the_address_never_reaches_the_database() {
    let server = TestPostgres::start();
    let now = HOUR + 240;
    let (a, b, own) = two_relays(&server, now).await;
    let v4 = ip("203.0.113.77");
    let v6 = ip("2001:db8:77:4242::");
    for address in [v4, v6] {
        for (i, relay) in [&a, &b].into_iter().enumerate() {
            let at = now + i as u64;
            relay
                .allow_address(address, at, 100)
                .await
                .expect("answers");
            relay
                .create_difficulty(address, at, ADMISSION)
                .await
                .expect("answers");
            let reserved = relay
                .reserve_creation(address, at, 10)
                .await
                .expect("answers");
            assert_eq!(reserved, Reservation::Counted);
            relay.release_creation(address, at, reserved).await;
            relay
                .reserve_creation(address, at, 10)
                .await
                .expect("answers");
            relay.record_creation("ic-zlin", at).await;
        }
    }
    assert!(
        count(&own, "SELECT count(*) FROM rate_counters").await >= 6,
        "the counters are there"
    );

    let mapped = match v4 {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(_) => unreachable!(),
    };
    let v6_octets = match v6 {
        IpAddr::V6(v6) => v6.octets(),
        IpAddr::V4(_) => unreachable!(),
    };
    let hex = |bytes: &[u8]| -> String { bytes.iter().map(|b| format!("{b:02x}")).collect() };
    // Anywhere in the cluster: long patterns (a 4-byte one would turn up
    // by chance in tens of megabytes).
    let long: Vec<Vec<u8>> = vec![
        mapped.to_vec(),
        v6_octets.to_vec(),
        v6_octets[..8].to_vec(),
        b"203.0.113.77".to_vec(),
        b"2001:db8:77:4242".to_vec(),
        hex(&mapped).into_bytes(),
        hex(&v6_octets[..8]).into_bytes(),
    ];

    // The rows, as text.
    let client = own.get().await.expect("a connection");
    for table in [
        "admission_keys",
        "spent_challenges",
        "rate_counters",
        "centre_creations",
    ] {
        let sql = format!("SELECT coalesce(string_agg(t::text, ' '), '') FROM {table} t");
        let rows: String = client.query_one(&sql, &[]).await.expect(&sql).get(0);
        assert!(
            !rows.is_empty() || table == "spent_challenges",
            "{table} has rows"
        );
        for needle in &long {
            assert!(
                !contains(rows.as_bytes(), needle),
                "{table} shows the address: {rows}"
            );
        }
        assert!(!rows.contains(&hex(&[203, 0, 113, 77])), "{table}: {rows}");
    }

    // The files: every relation's pages written out, then every file of
    // the cluster searched, and the admission tables' own files for the
    // 4-byte IPv4 address too.
    client
        .batch_execute("CHECKPOINT")
        .await
        .expect("checkpoint");
    let data: String = client
        .query_one("SHOW data_directory", &[])
        .await
        .expect("data_directory")
        .get(0);
    let data = std::path::PathBuf::from(data);
    let mut files = Vec::new();
    files_under(&data, &mut files);
    assert!(files.len() > 100, "the cluster's files are readable");
    for file in &files {
        let Ok(bytes) = std::fs::read(file) else {
            continue;
        };
        for needle in &long {
            assert!(
                !contains(&bytes, needle),
                "{} holds the address",
                file.display()
            );
        }
    }
    let relations = client
        .query(
            "SELECT c.relname::text, pg_relation_filepath(c.oid) FROM pg_class c \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = 'public' AND pg_relation_filepath(c.oid) IS NOT NULL",
            &[],
        )
        .await
        .expect("relations");
    let mut searched = 0;
    for row in &relations {
        let (name, path): (String, String) = (row.get(0), row.get(1));
        let bytes = std::fs::read(data.join(&path)).unwrap_or_default();
        if name.contains("rate_counters") || name.contains("admission_keys") {
            searched += bytes.len();
        }
        assert!(
            !contains(&bytes, &[203, 0, 113, 77]),
            "{name} ({path}) holds the IPv4 address"
        );
    }
    assert!(searched > 0, "the admission tables have pages on disk");
    for needle in &long {
        assert!(
            !contains(server.log().as_bytes(), needle),
            "the server's log"
        );
    }
}

#[tokio::test]
async fn after_the_hour_its_address_key_and_counters_are_gone() {
    let server = TestPostgres::start();
    let now = HOUR + 300;
    let (a, b, own) = two_relays(&server, now).await;
    let her = ip("198.51.100.9");
    assert!(allowed(&a, her, now).await);
    a.create_difficulty(her, now, ADMISSION)
        .await
        .expect("answers");
    b.reserve_creation(her, now, 10).await.expect("answers");
    b.record_creation("ic-zlin", now).await;
    let issued = a
        .issue_challenge(Purpose::Create, 4, now)
        .await
        .expect("issued");
    assert!(
        b.spend_challenge(&issued, solve(&issued, 4), Purpose::Create, 4, now)
            .await
            .expect("answers")
    );
    let old_hour = HOUR / 3600;
    let keys_of = |period: u64| {
        format!("SELECT count(*) FROM admission_keys WHERE kind = 2 AND period = {period}")
    };
    assert_eq!(count(&own, &keys_of(old_hour)).await, 1, "one key for both");
    assert_eq!(count(&own, "SELECT count(*) FROM rate_counters").await, 3);
    assert_eq!(
        count(&own, "SELECT count(*) FROM spent_challenges").await,
        1
    );

    // The first request of the next hour, on either relay, deletes them.
    let next = HOUR + 3600 + 5;
    assert!(allowed(&b, ip("192.0.2.200"), next).await);
    assert_eq!(
        count(&own, &keys_of(old_hour)).await,
        0,
        "the old key is gone"
    );
    assert_eq!(
        count(
            &own,
            &format!(
                "SELECT count(*) FROM rate_counters WHERE window_start < {}",
                HOUR + 3600
            )
        )
        .await,
        0,
        "the old hour's counters are gone"
    );
    assert_eq!(
        count(&own, "SELECT count(*) FROM spent_challenges").await,
        0,
        "a dead challenge's id is gone"
    );
    assert_eq!(
        count(
            &own,
            &format!("SELECT count(*) FROM admission_keys WHERE kind = 1 AND forget_at <= {next}")
        )
        .await,
        0,
        "dead challenges' keys are gone"
    );
    assert_eq!(
        count(&own, "SELECT count(*) FROM centre_creations").await,
        1,
        "the last hour's creations still price the next"
    );
    // She is a stranger in the new hour: A (which held the old key) and B
    // now share the new one.
    assert!(allowed(&a, her, next).await);
    assert_eq!(count(&own, &keys_of(old_hour + 1)).await, 1);
    assert_eq!(
        count(&own, "SELECT count(*) FROM admission_keys WHERE kind = 2").await,
        1
    );

    // An explicit sweep (the relay's periodic one) two hours on, with no
    // request in between: nothing of the first hour is left.
    a.sweep(HOUR + 2 * 3600).await.expect("swept");
    for table in ["rate_counters", "centre_creations"] {
        assert_eq!(
            count(&own, &format!("SELECT count(*) FROM {table}")).await,
            0,
            "{table}"
        );
    }
    assert_eq!(
        count(&own, "SELECT count(*) FROM admission_keys WHERE kind = 2").await,
        0
    );
}

#[tokio::test]
async fn an_unreachable_database_refuses_until_it_is_back() {
    let mut server = TestPostgres::start();
    let now = HOUR + 900;
    let (a, b, _) = two_relays(&server, now).await;
    let her = ip("198.51.100.10");
    let spent_before = a
        .issue_challenge(Purpose::Post, 4, now)
        .await
        .expect("issued");
    let nonce_spent = solve(&spent_before, 4);
    let spend = async |limits: &Limits, challenge: &str, nonce, at| {
        limits
            .spend_challenge(challenge, nonce, Purpose::Post, 4, at)
            .await
            .expect("the database answers")
    };
    assert!(spend(&b, &spent_before, nonce_spent, now).await);
    let unspent = b
        .issue_challenge(Purpose::Post, 4, now)
        .await
        .expect("issued");
    let nonce_unspent = solve(&unspent, 4);

    // Down (a crash: pg_ctl stop -m immediate).
    server.stop();
    // The per-address request limit alone falls back to the relay's own
    // count (the page and the directory stay served), and still limits.
    let down = a.allow_address(her, now + 1, 2).await;
    assert!(matches!(down, Ok(true)), "counted by A alone: {down:?}");
    assert!(matches!(a.allow_address(her, now + 1, 2).await, Ok(true)));
    let over = a.allow_address(her, now + 1, 2).await;
    assert!(matches!(over, Ok(false)), "A's own limit holds: {over:?}");
    let down = b
        .spend_challenge(&unspent, nonce_unspent, Purpose::Post, 4, now + 1)
        .await;
    assert!(matches!(down, Err(StoreError::Unavailable(_))), "{down:?}");
    assert!(matches!(
        a.issue_challenge(Purpose::Post, 4, now + 1).await,
        Err(StoreError::Unavailable(_))
    ));
    assert!(matches!(
        b.reserve_creation(her, now + 1, 10).await,
        Err(StoreError::Unavailable(_))
    ));
    // What follows a decision is logged, not returned.
    a.record_creation("ic-zlin", now + 1).await;

    // Back: the same relays answer again, without a restart of theirs.
    server.start_again();
    assert!(allowed(&a, her, now + 2).await);
    assert!(allowed(&b, her, now + 2).await);
    // The crash emptied the UNLOGGED tables, keys and spent ids together:
    // no challenge from before it is accepted, spent or not.
    assert!(!spend(&a, &spent_before, nonce_spent, now + 3).await);
    assert!(!spend(&a, &unspent, nonce_unspent, now + 3).await);
    // New challenges work across both relays.
    let fresh = a
        .issue_challenge(Purpose::Post, 4, now + 3)
        .await
        .expect("issued");
    let nonce = solve(&fresh, 4);
    assert!(spend(&b, &fresh, nonce, now + 4).await);
    assert!(!spend(&a, &fresh, nonce, now + 5).await);
}

/// Whether the tag of `address` under the database's own address key of
/// `now`'s hour (what anyone holding only the database could compute for
/// every IPv4 address) is among the stored request counters.
async fn tag_computable_from_the_database(pool: &Pool, address: IpAddr, now: u64) -> bool {
    use hmac::{KeyInit as _, Mac as _};
    let client = pool.get().await.expect("a connection");
    let key: Vec<u8> = client
        .query_one(
            "SELECT key FROM admission_keys WHERE kind = 2 AND period = $1",
            &[&i64::try_from(now / 3600).expect("small")],
        )
        .await
        .expect("the hour's key")
        .get(0);
    let octets = match address {
        IpAddr::V4(a) => a.to_ipv6_mapped().octets(),
        IpAddr::V6(a) => a.octets(),
    };
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).expect("any key");
    mac.update(&octets);
    let tag = &mac.finalize().into_bytes()[..16];
    let rows = client
        .query("SELECT subject FROM rate_counters WHERE scope = 1", &[])
        .await
        .expect("counters");
    rows.iter().any(|row| row.get::<_, &[u8]>(0) == tag)
}

#[tokio::test]
async fn with_the_relays_secret_the_database_alone_cannot_link_a_tag_or_mint_a_challenge() {
    let server = TestPostgres::start();
    let now = HOUR + 100;
    let url = server.url();
    let own = postgres::connect(&url).await.expect("the test's pool");
    let secret = || Some(zeroize::Zeroizing::new([7u8; 32]));
    let a = Limits::shared_keyed(postgres::connect(&url).await.expect("pool"), secret(), now)
        .await
        .expect("A");
    let b = Limits::shared_keyed(postgres::connect(&url).await.expect("pool"), secret(), now)
        .await
        .expect("B");
    // The two relays still agree: one address, one client, one challenge.
    let address = ip("198.51.100.23");
    assert!(a.allow_address(address, now, 2).await.expect("A counts"));
    assert!(b.allow_address(address, now, 2).await.expect("B counts"));
    assert!(!a.allow_address(address, now, 2).await.expect("A refuses"));
    let challenge = a
        .issue_challenge(Purpose::Post, 1, now)
        .await
        .expect("issued");
    let nonce = solve(&challenge, 1);
    assert!(
        b.spend_challenge(&challenge, nonce, Purpose::Post, 1, now)
            .await
            .expect("spent on B")
    );
    // The database's own key does not give the stored tag …
    assert!(!tag_computable_from_the_database(&own, address, now).await);
    // … nor a challenge the relays accept: one MACed under the stored key.
    let client = own.get().await.expect("a connection");
    let stored: Vec<u8> = client
        .query_one(
            "SELECT key FROM admission_keys WHERE kind = 1 AND period = $1",
            &[&i64::try_from(now / 600).expect("small")],
        )
        .await
        .expect("the generation's key")
        .get(0);
    let unkeyed = Limits::shared(postgres::connect(&url).await.expect("pool"), now)
        .await
        .expect("a relay without the secret");
    let minted = unkeyed
        .issue_challenge(Purpose::Post, 0, now)
        .await
        .expect("minted under the stored key");
    assert_eq!(stored.len(), 32);
    assert!(
        !a.spend_challenge(&minted, 0, Purpose::Post, 0, now)
            .await
            .expect("checked"),
        "a challenge made from the database's key alone is refused"
    );
    // Without the secret the tag is computable: what the secret prevents.
    let address = ip("198.51.100.24");
    assert!(
        unkeyed
            .allow_address(address, now, 2)
            .await
            .expect("counted")
    );
    assert!(tag_computable_from_the_database(&own, address, now).await);
}
