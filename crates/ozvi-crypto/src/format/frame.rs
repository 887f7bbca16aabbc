//! The signed message frame inside the padding (PROTOCOL.md §4.4).
//!
//! ```text
//! role       u8      1 person, 2 staff
//! signer     [32]    Ed25519 public key
//! reply_key  [32]    person only: the person's X25519 public key
//! msg_id     [16]    random, unique per message
//! sent_at    u64     Unix seconds, big-endian
//! body_len   u32     big-endian
//! body       body_len bytes (UTF-8 JSON, §4.6)
//! signature  [64]    Ed25519 over the signing input of §4.5
//! ```

use crate::error::ParseError;
use crate::format::envelope::Reader;
use crate::primitives::sig::{Ed25519Public, SIGNATURE_LEN};
use crate::primitives::x25519::X25519Public;

/// Length of a message id.
pub const MSG_ID_LEN: usize = 16;

/// Who signed a frame, as written in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameSigner {
    /// The person holding the code: both her public keys, which together
    /// determine the mailbox id (§3.3).
    Person {
        /// Her Ed25519 key.
        ed25519: Ed25519Public,
        /// Her X25519 key, to which replies are sealed.
        x25519: X25519Public,
    },
    /// A staff member, named by the Ed25519 key listed in the directory.
    Staff {
        /// The staff member's Ed25519 key.
        ed25519: Ed25519Public,
    },
}

/// A parsed frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The signer.
    pub signer: FrameSigner,
    /// A random id, unique per message: a repeated id is a replay.
    pub msg_id: [u8; MSG_ID_LEN],
    /// When the sender wrote it (Unix seconds, the sender's clock).
    pub sent_at: u64,
    /// The content (§4.6).
    pub body: Vec<u8>,
    /// Ed25519 signature over the signing input (§4.5).
    pub signature: [u8; SIGNATURE_LEN],
}

impl Frame {
    /// The frame bytes that the signature covers: all but the signature.
    pub fn unsigned_bytes(
        signer: &FrameSigner,
        msg_id: &[u8; MSG_ID_LEN],
        sent_at: u64,
        body: &[u8],
    ) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 + 64 + MSG_ID_LEN + 12 + body.len());
        match signer {
            FrameSigner::Person { ed25519, x25519 } => {
                out.push(1);
                out.extend_from_slice(&ed25519.to_bytes());
                out.extend_from_slice(x25519.as_bytes());
            }
            FrameSigner::Staff { ed25519 } => {
                out.push(2);
                out.extend_from_slice(&ed25519.to_bytes());
            }
        }
        out.extend_from_slice(msg_id);
        out.extend_from_slice(&sent_at.to_be_bytes());
        let len = u32::try_from(body.len()).expect("bodies are bounded by the padding buckets");
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(body);
        out
    }

    /// Parses a frame; the input must end exactly after the signature.
    pub fn parse(bytes: &[u8]) -> Result<Self, ParseError> {
        let mut reader = Reader(bytes);
        let signer = match reader.u8()? {
            1 => FrameSigner::Person {
                ed25519: Ed25519Public::from_bytes(reader.take(32)?)?,
                // Canonical only: a low-order reply key is refused by the
                // all-zero check when someone seals to it (PROTOCOL.md §4.4).
                x25519: X25519Public::from_canonical_bytes(reader.take(32)?)?,
            },
            2 => FrameSigner::Staff {
                ed25519: Ed25519Public::from_bytes(reader.take(32)?)?,
            },
            _ => return Err(ParseError::Invalid),
        };
        let msg_id = reader.array::<MSG_ID_LEN>()?;
        let sent_at = u64::from_be_bytes(reader.array::<8>()?);
        let body_len = u32::from_be_bytes(reader.array::<4>()?) as usize;
        let body = reader.take(body_len)?.to_vec();
        let signature = reader.array::<SIGNATURE_LEN>()?;
        if !reader.rest().is_empty() {
            return Err(ParseError::Length);
        }
        Ok(Self {
            signer,
            msg_id,
            sent_at,
            body,
            signature,
        })
    }

    /// The bytes before the signature.
    pub fn signed_part(&self) -> Vec<u8> {
        Self::unsigned_bytes(&self.signer, &self.msg_id, self.sent_at, &self.body)
    }

    /// The whole frame.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.signed_part();
        out.extend_from_slice(&self.signature);
        out
    }
}
