//! Staff request authentication to the relay (PROTOCOL.md §7).
//!
//! Each staff request carries four headers — `Ozvi-Key`, `Ozvi-Timestamp`,
//! `Ozvi-Nonce`, `Ozvi-Signature` — where the signature is Ed25519 over
//!
//! ```text
//! "ozvi/v1/staff-request" ‖ deployment salt [16] ‖ u8 len(method) ‖ method
//!   ‖ u16 len(target) ‖ target ‖ SHA-256(body) ‖ timestamp (u64) ‖ nonce [16]
//! ```
//!
//! The relay accepts a timestamp within [`REPLAY_WINDOW_SECS`] of its clock
//! and remembers each (key, nonce) for twice that long, so a captured request
//! cannot be replayed. The deployment salt names the deployment, so a request
//! for one relay is worthless at another that lists the same key.

use rand_core::CryptoRng;

use crate::error::RequestError;
use crate::format::b64;
use crate::primitives::hash::sha256;
use crate::primitives::sig::{Ed25519Public, SIGNATURE_LEN};
use crate::protocol::keys::{DeploymentSalt, StaffKeys};
use crate::protocol::labels;

/// How far a request's timestamp may be from the relay's clock, in seconds.
pub const REPLAY_WINDOW_SECS: u64 = 60;
/// Length of a request nonce.
pub const NONCE_LEN: usize = 16;
/// The longest request target (path and query) that can be signed.
pub const MAX_TARGET_LEN: usize = 2048;

/// Header names, lower case as HTTP/2 sends them.
pub mod headers {
    /// Base64url Ed25519 public key of the staff member.
    pub const KEY: &str = "ozvi-key";
    /// Unix seconds, decimal without leading zeros.
    pub const TIMESTAMP: &str = "ozvi-timestamp";
    /// Base64url of 16 random bytes.
    pub const NONCE: &str = "ozvi-nonce";
    /// Base64url Ed25519 signature.
    pub const SIGNATURE: &str = "ozvi-signature";
}

/// The authentication of one staff request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestAuth {
    /// The signer's Ed25519 key; the relay looks it up in the directory.
    pub key: Ed25519Public,
    /// Unix seconds when the request was signed.
    pub timestamp: u64,
    /// Random, unique per request.
    pub nonce: [u8; NONCE_LEN],
    /// The signature over the signing input.
    pub signature: [u8; SIGNATURE_LEN],
}

impl RequestAuth {
    /// Signs a request. `target` is the path and query exactly as sent.
    pub fn sign(
        rng: &mut impl CryptoRng,
        keys: &StaffKeys,
        deployment: &DeploymentSalt,
        method: &str,
        target: &str,
        body: &[u8],
        timestamp: u64,
    ) -> Result<Self, RequestError> {
        let mut nonce = [0u8; NONCE_LEN];
        rng.fill_bytes(&mut nonce);
        let input = signing_input(
            deployment,
            method,
            target,
            &sha256(&[body]),
            timestamp,
            &nonce,
        )?;
        Ok(Self {
            key: keys.public().ed25519,
            timestamp,
            nonce,
            signature: keys.ed25519().sign(&input),
        })
    }

    /// The four header values, in the order of [`headers`].
    pub fn to_headers(&self) -> [(&'static str, String); 4] {
        [
            (headers::KEY, b64::encode(&self.key.to_bytes())),
            (headers::TIMESTAMP, self.timestamp.to_string()),
            (headers::NONCE, b64::encode(&self.nonce)),
            (headers::SIGNATURE, b64::encode(&self.signature)),
        ]
    }

    /// Parses the four header values; each must be in canonical form.
    pub fn from_headers(
        key: &str,
        timestamp: &str,
        nonce: &str,
        signature: &str,
    ) -> Result<Self, RequestError> {
        use RequestError::Malformed;
        let key = Ed25519Public::from_bytes(&b64::decode(key).map_err(|_| Malformed)?)
            .map_err(|_| Malformed)?;
        let canonical_decimal = !timestamp.is_empty()
            && timestamp.len() <= 20
            && timestamp.bytes().all(|b| b.is_ascii_digit())
            && (timestamp == "0" || !timestamp.starts_with('0'));
        if !canonical_decimal {
            return Err(Malformed);
        }
        let timestamp = timestamp.parse::<u64>().map_err(|_| Malformed)?;
        Ok(Self {
            key,
            timestamp,
            nonce: b64::decode_array(nonce).map_err(|_| Malformed)?,
            signature: b64::decode_array(signature).map_err(|_| Malformed)?,
        })
    }

    /// Checks the timestamp against `now` and the signature over the
    /// request. Whether the key is a listed staff member, and whether the
    /// nonce is fresh, are for the relay to decide.
    pub fn verify(
        &self,
        deployment: &DeploymentSalt,
        method: &str,
        target: &str,
        body: &[u8],
        now: u64,
    ) -> Result<(), RequestError> {
        self.verify_digest(deployment, method, target, &sha256(&[body]), now)
    }

    /// Whether the timestamp is within [`REPLAY_WINDOW_SECS`] of `now`: the
    /// part of [`verify`](Self::verify) that needs no body, so a relay can
    /// refuse a stale request before it reads one.
    pub fn check_fresh(&self, now: u64) -> Result<(), RequestError> {
        if self.timestamp.abs_diff(now) > REPLAY_WINDOW_SECS {
            return Err(RequestError::Stale);
        }
        Ok(())
    }

    /// [`verify`](Self::verify) with the body given as its SHA-256, for a
    /// relay that hashes the body while it streams in rather than holding
    /// it twice.
    pub fn verify_digest(
        &self,
        deployment: &DeploymentSalt,
        method: &str,
        target: &str,
        body_sha256: &[u8; 32],
        now: u64,
    ) -> Result<(), RequestError> {
        self.check_fresh(now)?;
        let input = signing_input(
            deployment,
            method,
            target,
            body_sha256,
            self.timestamp,
            &self.nonce,
        )?;
        if !self.key.verify(&input, &self.signature) {
            return Err(RequestError::BadSignature);
        }
        Ok(())
    }
}

/// The body's digest as §7.1 signs it, fed chunk by chunk as the body
/// arrives (for [`RequestAuth::verify_digest`]).
#[derive(Default, Clone)]
pub struct BodyDigest(sha2::Sha256);

impl BodyDigest {
    /// An empty digest.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the next bytes of the body.
    pub fn update(&mut self, chunk: &[u8]) {
        sha2::Digest::update(&mut self.0, chunk);
    }

    /// The digest of everything added.
    pub fn finish(self) -> [u8; 32] {
        sha2::Digest::finalize(self.0).into()
    }
}

/// The signing input of §7.1. Methods are 1..=16 upper-case ASCII letters;
/// targets start with `/`, are printable ASCII and at most 2048 bytes.
fn signing_input(
    deployment: &DeploymentSalt,
    method: &str,
    target: &str,
    body_sha256: &[u8; 32],
    timestamp: u64,
    nonce: &[u8; NONCE_LEN],
) -> Result<Vec<u8>, RequestError> {
    let method_ok =
        (1..=16).contains(&method.len()) && method.bytes().all(|b| b.is_ascii_uppercase());
    let target_ok = target.starts_with('/')
        && target.len() <= MAX_TARGET_LEN
        && target.bytes().all(|b| b.is_ascii_graphic());
    if !method_ok || !target_ok {
        return Err(RequestError::Malformed);
    }
    let method_len = u8::try_from(method.len()).map_err(|_| RequestError::Malformed)?;
    let target_len = u16::try_from(target.len()).map_err(|_| RequestError::Malformed)?;
    Ok([
        labels::STAFF_REQUEST,
        &deployment.0,
        &[method_len],
        method.as_bytes(),
        &target_len.to_be_bytes(),
        target.as_bytes(),
        body_sha256,
        &timestamp.to_be_bytes(),
        nonce,
    ]
    .concat())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    /// The streamed digest verifies exactly what the whole-body check does,
    /// whatever the chunking; a changed body or a stale time fails either way.
    #[test]
    fn a_streamed_body_digest_verifies_like_the_whole_body() {
        let mut rng = ChaCha20Rng::seed_from_u64(11);
        let keys = StaffKeys::generate(&mut rng);
        let salt = DeploymentSalt([9; 16]);
        let body = b"{\"mailbox_id\":\"AAAAAAAAAAAAAAAAAAAAAA\"}".repeat(100);
        let auth =
            RequestAuth::sign(&mut rng, &keys, &salt, "POST", "/x", &body, 1000).expect("signs");
        let mut digest = BodyDigest::new();
        for chunk in body.chunks(7) {
            digest.update(chunk);
        }
        let digest = digest.finish();
        assert_eq!(auth.verify(&salt, "POST", "/x", &body, 1000), Ok(()));
        assert_eq!(
            auth.verify_digest(&salt, "POST", "/x", &digest, 1030),
            Ok(())
        );
        let mut other = BodyDigest::new();
        other.update(&body[1..]);
        assert_eq!(
            auth.verify_digest(&salt, "POST", "/x", &other.finish(), 1000),
            Err(RequestError::BadSignature)
        );
        assert_eq!(auth.check_fresh(1060), Ok(()));
        assert_eq!(auth.check_fresh(1061), Err(RequestError::Stale));
        assert_eq!(auth.check_fresh(939), Err(RequestError::Stale));
        assert_eq!(
            auth.verify_digest(&salt, "POST", "/x", &digest, 1061),
            Err(RequestError::Stale)
        );
    }
}
