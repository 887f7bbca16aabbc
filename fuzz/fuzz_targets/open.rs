//! Opening any bytes as an envelope of a real thread, with a real staff key
//! and directory, fails cleanly or succeeds; it never panics.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use ozvi_crypto::protocol::directory::{Centre, Directory, Names, StaffMember};
use ozvi_crypto::protocol::envelope::open;
use ozvi_crypto::{DeploymentSalt, MailboxId, PersonKeys, StaffKeys};

struct Fixture {
    directory: Directory,
    staff: StaffKeys,
    mailbox: MailboxId,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let staff = StaffKeys::from_bytes([3; 32], &[4; 32]);
        let directory = Directory {
            version: 1,
            issued_at: 1_795_435_200,
            salt: DeploymentSalt([1; 16]),
            default_centre: "ic-zlin".into(),
            centres: vec![Centre {
                id: "ic-zlin".into(),
                names: Names {
                    cs: "Intervenční centrum Zlín".into(),
                    en: "Intervention Centre Zlín".into(),
                    uk: "Інтервенційний центр Злін".into(),
                },
                regions: vec!["CZ-72".into()],
                staff: vec![StaffMember {
                    id: "staff-1".into(),
                    label: "Staff 1".into(),
                    keys: staff.public(),
                }],
            }],
        };
        Directory::from_doc(directory.to_doc()).expect("the fixture directory is valid");
        let mailbox = PersonKeys::from_root(&[2; 32]).mailbox_id();
        Fixture {
            directory,
            staff,
            mailbox,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let _ = open(data, &f.mailbox, f.staff.x25519(), &f.directory);
});
