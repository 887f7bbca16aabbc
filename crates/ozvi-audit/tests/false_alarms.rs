//! False alarms are as bad as misses: every test `ozvi-audit store` runs on
//! a field that should be random stays silent on 10,000 envelopes sealed by
//! the real `ozvi-crypto` (three staff and the person: 90,000 random
//! fields and 10,000 payloads), and the best text score any of them reaches
//! stays far below the threshold (28 bits below it in a measured run).

use ozvi_audit::{random, text};
use ozvi_crypto::format::envelope::{Envelope, Kind};
use ozvi_crypto::primitives::rng::os_rng;
use ozvi_crypto::protocol::envelope::{Message, Signer, seal};
use ozvi_crypto::{PersonKeys, StaffKeys};

const ENVELOPES: usize = 10_000;

#[test]
fn ten_thousand_sealed_envelopes_raise_no_false_alarm() {
    let mut rng = os_rng();
    let staff: Vec<StaffKeys> = (0..3).map(|_| StaffKeys::generate(&mut rng)).collect();
    let mut fields = 0usize;
    let mut alarms: Vec<String> = Vec::new();
    // The highest text score seen, minus the threshold for that length.
    let mut closest = f64::NEG_INFINITY;
    let mut judge = |what: &str, bytes: &[u8], alarms: &mut Vec<String>| {
        for problem in random::problems(bytes) {
            alarms.push(format!("{what}: {problem}"));
        }
        let (_, score) = text::strongest(bytes);
        closest = closest.max(score - text::threshold(bytes.len()));
    };
    for i in 0..ENVELOPES {
        let person = PersonKeys::from_root(&[(i % 251) as u8; 32]);
        let mut recipients: Vec<_> = staff.iter().map(|s| s.public().x25519).collect();
        recipients.push(person.public().x25519);
        let body =
            format!(r#"{{"text":"Zpráva číslo {i}: potřebuji pomoc, manžel mi vyhrožuje."}}"#);
        let bytes = seal(
            &mut rng,
            Signer::Person(&person),
            Message {
                kind: Kind::PersonMessage,
                mailbox: &person.mailbox_id(),
                body: body.as_bytes(),
                sent_at: 1,
            },
            &recipients,
        )
        .expect("seals");
        let envelope = Envelope::parse(&bytes).expect("parses");
        for stanza in &envelope.stanzas {
            judge("ephemeral", stanza.ephemeral.as_bytes(), &mut alarms);
            judge("wrapped key", &stanza.wrapped_key, &mut alarms);
            fields += 2;
        }
        judge("nonce", &envelope.nonce, &mut alarms);
        judge("payload", &envelope.payload, &mut alarms);
        fields += 2;
    }
    println!(
        "{fields} fields: {} alarms; best text score {closest:.1} bits below the threshold",
        alarms.len()
    );
    assert!(alarms.is_empty(), "{alarms:?}");
    assert!(closest < -10.0, "a text score within 10 bits: {closest:.1}");
}
