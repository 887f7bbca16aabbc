//! What the audit's test files share: the operator, the Zlín directory
//! and one staff member, the canary, and an envelope of a person's thread.

use ozvi_crypto::format::envelope::Kind;
use ozvi_crypto::primitives::rng::os_rng;
use ozvi_crypto::primitives::sig::Ed25519Secret;
use ozvi_crypto::{Directory, PersonKeys, StaffKeys};
use ozvi_tests::cast::Cast;
use ozvi_tests::person::text_body;

/// The text the tests plant and the audit must find.
pub const CANARY: &str = "Tajná zpráva KANÁR-5511";

/// The operator's root key, the directory it signs, one Zlín staff member.
pub struct World {
    pub root: Ed25519Secret,
    pub directory: Directory,
    pub staff: StaffKeys,
}

/// The world of every test.
pub fn world() -> World {
    let (cast, staff) = Cast::zlin(69, 1);
    let Cast {
        root,
        mut directory,
    } = cast;
    directory.version = 2;
    directory.issued_at = 1_700_000_000;
    World {
        root,
        directory,
        staff: staff.into_iter().next().expect("one"),
    }
}

/// A `kind` envelope of `person`'s thread with `text` (staff-signed unless
/// it is hers).
pub fn envelope(w: &World, person: &PersonKeys, kind: Kind, text: &str) -> Vec<u8> {
    let staff = (kind != Kind::PersonMessage).then_some(&w.staff);
    ozvi_tests::person::envelope(
        &mut os_rng(),
        &w.directory.centres[0],
        person,
        staff,
        kind,
        &text_body(text),
        1,
    )
}
