//! `ozvi-desk admin show` reads a signed directory with the one strict
//! parser of `ozvi-crypto` (PROTOCOL.md §1.3, §6.1): a member name given
//! twice, at any level, is refused — a second `staff` list does not quietly
//! replace the first.

mod common;

use common::*;
use ozvi_crypto::StaffKeys;
use ozvi_crypto::format::b64;
use ozvi_crypto::primitives::rng::os_rng;
use ozvi_crypto::protocol::labels;
use ozvi_tests::cast::Cast;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_show_refuses_a_repeated_member_at_every_level() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let (cast, _) = Cast::zlin(26, 1);
    let Cast {
        root,
        mut directory,
    } = cast;
    directory.version = 2;
    let root_key = b64::encode(&root.public().to_bytes());
    let intruder = StaffKeys::generate(&mut os_rng());
    let text = serde_json::to_string(&directory.to_doc()).expect("serializes");
    let show = |payload: &str, name: &str| {
        let sig = root.sign(&[labels::DIRECTORY_SIGNATURE, payload.as_bytes()].concat());
        let signed =
            json!({"directory": b64::encode(payload.as_bytes()), "signature": b64::encode(&sig)});
        let path = tmp.path().join(name);
        std::fs::write(&path, signed.to_string()).expect("write");
        path.display().to_string()
    };
    let good = show(&text, "good.json");
    let shown = desk_ok(None, &["admin", "show", &good, "--root-key", &root_key]).await;
    assert!(shown.contains("Valid directory, version 2"), "{shown}");

    let second_staff = json!([{"id": "intruder", "label": "Vetřelec",
        "x25519": b64::encode(intruder.public().x25519.as_bytes()),
        "ed25519": b64::encode(&intruder.public().ed25519.to_bytes())}]);
    let body = text.strip_suffix("}]}").expect("ends with the centre");
    let cases = [
        format!("{body},\"staff\":{second_staff}}}]}}"),
        format!(
            "{},\"version\":9}}",
            text.strip_suffix('}').expect("object")
        ),
        text.replacen(
            "\"cs\":\"Centrum ic-zlin\"",
            "\"cs\":\"Centrum ic-zlin\",\"cs\":\"Jinde\"",
            1,
        ),
        text.replacen(
            "\"label\":\"Pracovnice\"",
            "\"label\":\"Pracovnice\",\"\\u006cabel\":\"Eva\"",
            1,
        ),
    ];
    for (i, payload) in cases.iter().enumerate() {
        assert_ne!(payload, &text, "case {i} changes the directory");
        assert!(
            serde_json::from_str::<serde_json::Value>(payload).is_ok(),
            "case {i} is JSON a lax parser reads"
        );
        let file = show(payload, &format!("dup-{i}.json"));
        desk_fails(
            None,
            &["admin", "show", &file, "--root-key", &root_key],
            "malformed",
        )
        .await;
    }
}
