//! The keys and the directory a test deployment runs on: an operator's root
//! key, centres with their staff, the signed directory.

use std::path::Path;

use ozvi_crypto::format::b64;
use ozvi_crypto::primitives::sig::Ed25519Secret;
use ozvi_crypto::protocol::directory::{Centre, Names, StaffMember};
use ozvi_crypto::{DeploymentSalt, Directory, PersonKeys, StaffKeys};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

/// 2026-11-23 12:00 UTC: the time of tests that move the clock by hand.
pub const START: u64 = 1_795_435_200;

/// A centre `id` serving `region`, with `staff` as (staff id, keys).
pub fn centre<'a, S: Into<String>>(
    id: &str,
    region: &str,
    staff: impl IntoIterator<Item = (S, &'a StaffKeys)>,
) -> Centre {
    Centre {
        id: id.into(),
        names: Names {
            cs: format!("Centrum {id}"),
            en: format!("Centre {id}"),
            uk: format!("Центр {id}"),
        },
        regions: vec![region.into()],
        contact: None,
        answer_time: None,
        acknowledgement: None,
        staff: staff
            .into_iter()
            .map(|(sid, keys)| StaffMember {
                id: sid.into(),
                label: "Pracovnice".into(),
                keys: keys.public(),
            })
            .collect(),
    }
}

/// The Zlín centre (`ic-zlin`, CZ-72) with `staff` as `zlin-1`, `zlin-2`, …
pub fn zlin(staff: &[StaffKeys]) -> Centre {
    centre("ic-zlin", "CZ-72", numbered("zlin", staff))
}

/// `keys` as staff members `PREFIX-1`, `PREFIX-2`, … (for [`centre`]).
pub fn numbered<'a>(
    prefix: &'a str,
    keys: &'a [StaffKeys],
) -> impl Iterator<Item = (String, &'a StaffKeys)> + 'a {
    keys.iter()
        .enumerate()
        .map(move |(i, k)| (format!("{prefix}-{}", i + 1), k))
}

/// A person whose code-derived keys come from a seed (no Argon2).
pub fn person(seed: u8) -> PersonKeys {
    PersonKeys::from_root(&[seed; 32])
}

/// A deployment: the operator's root key and the directory it signs.
pub struct Cast {
    /// The operator's root signing key.
    pub root: Ed25519Secret,
    /// The directory of centres (fields public: a test may change them
    /// before it signs).
    pub directory: Directory,
}

impl Cast {
    /// `centres` under a root key drawn from `rng`; the first centre is the
    /// default, the salt fixed, version 1, issued at [`START`].
    pub fn new(rng: &mut ChaCha20Rng, centres: Vec<Centre>) -> Self {
        let root = Ed25519Secret::generate(rng);
        let default_centre = centres.first().map(|c| c.id.clone()).unwrap_or_default();
        Self {
            root,
            directory: Directory {
                version: 1,
                issued_at: START,
                salt: DeploymentSalt([3; 16]),
                default_centre,
                centres,
            },
        }
    }

    /// One centre, Zlín, with `staff` members drawn from a seeded RNG:
    /// the deployment of most tests.
    pub fn zlin(seed: u64, staff: usize) -> (Self, Vec<StaffKeys>) {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let keys: Vec<StaffKeys> = (0..staff).map(|_| StaffKeys::generate(&mut rng)).collect();
        (Self::new(&mut rng, vec![zlin(&keys)]), keys)
    }

    /// Zlín (two staff, `zlin-1` and `zlin-2`) and Praha (one, `praha-1`,
    /// the default centre): the deployment of the relay's API tests.
    pub fn zlin_and_praha(seed: u64) -> ZlinAndPraha {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let root = Ed25519Secret::generate(&mut rng);
        let zlin_staff = vec![StaffKeys::generate(&mut rng), StaffKeys::generate(&mut rng)];
        let praha = StaffKeys::generate(&mut rng);
        let mut cast = Self {
            root,
            directory: Directory {
                version: 1,
                issued_at: START,
                salt: DeploymentSalt([3; 16]),
                default_centre: String::new(),
                centres: vec![
                    zlin(&zlin_staff),
                    centre("ic-praha", "CZ-10", [("praha-1", &praha)]),
                ],
            },
        };
        cast.directory.default_centre = "ic-praha".into();
        ZlinAndPraha {
            cast,
            zlin: zlin_staff,
            praha,
            rng,
        }
    }

    /// The root public key as the relay's `--root-key` takes it.
    pub fn root_key(&self) -> String {
        b64::encode(&self.root.public().to_bytes())
    }

    /// The directory signed by the root key, as JSON.
    pub fn signed_json(&self) -> String {
        self.directory
            .sign(&self.root)
            .expect("a valid directory")
            .to_json()
    }

    /// Writes the signed directory to `path` (the relay's `--directory`).
    pub fn write_directory(&self, path: &Path) {
        std::fs::write(path, self.signed_json()).expect("writes the directory");
    }
}

/// [`Cast::zlin_and_praha`]: the deployment, its staff, and the RNG that
/// drew them (for more keys from the same seed).
pub struct ZlinAndPraha {
    /// Root key and directory.
    pub cast: Cast,
    /// Zlín's two staff members.
    pub zlin: Vec<StaffKeys>,
    /// Praha's staff member.
    pub praha: StaffKeys,
    /// The seeded RNG, after the keys above.
    pub rng: ChaCha20Rng,
}
