//! Padding to fixed size buckets (PROTOCOL.md §5).
//!
//! `padded = len (u32, big-endian) ‖ data ‖ zeros`, where the total is the
//! smallest bucket that fits. The relay learns only the bucket.
//!
//! The buckets are powers of four plus an eighth, so that a message body of
//! 4, 16 or 64 KiB together with its frame (up to 161 bytes with the length)
//! fits the bucket of its own size instead of spilling into the next one.

use crate::error::ParseError;

/// The padded plaintext sizes, in bytes.
pub const BUCKETS: [usize; 4] = [1152, 4608, 18432, 73728];

/// The largest `data` that fits the largest bucket.
pub const MAX_DATA_LEN: usize = BUCKETS[BUCKETS.len() - 1] - 4;

/// The bucket for `len` bytes of data, if any fits.
pub fn bucket_for(len: usize) -> Option<usize> {
    BUCKETS.iter().copied().find(|&bucket| len + 4 <= bucket)
}

/// Pads `data` to the smallest bucket that fits; `None` if it is too long.
pub fn pad(data: &[u8]) -> Option<Vec<u8>> {
    let bucket = bucket_for(data.len())?;
    let len = u32::try_from(data.len()).ok()?;
    let mut out = Vec::with_capacity(bucket);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(data);
    out.resize(bucket, 0);
    Some(out)
}

/// Removes padding. The input must be exactly a bucket long, the length must
/// fit, and every padding byte must be zero (checked without early exit).
pub fn unpad(padded: &[u8]) -> Result<&[u8], ParseError> {
    if !BUCKETS.contains(&padded.len()) {
        return Err(ParseError::Length);
    }
    let (len, rest) = padded.split_at(4);
    let len = u32::from_be_bytes(len.try_into().map_err(|_| ParseError::Length)?) as usize;
    if len > rest.len() {
        return Err(ParseError::Length);
    }
    let (data, zeros) = rest.split_at(len);
    if zeros.iter().fold(0u8, |acc, &b| acc | b) != 0 {
        return Err(ParseError::Invalid);
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pads_to_the_smallest_bucket() {
        assert_eq!(pad(b"").expect("fits").len(), 1152);
        assert_eq!(pad(&[1; 1148]).expect("fits").len(), 1152);
        assert_eq!(pad(&[1; 1149]).expect("fits").len(), 4608);
        assert_eq!(pad(&[1; 16384 + 200]).expect("fits").len(), 18432);
        assert_eq!(pad(&[1; MAX_DATA_LEN]).expect("fits").len(), 73728);
        assert!(pad(&[1; MAX_DATA_LEN + 1]).is_none());
    }

    #[test]
    fn unpad_rejects_bad_padding() {
        let mut padded = pad(b"hello").expect("fits");
        assert_eq!(unpad(&padded).expect("valid"), b"hello");
        padded[100] = 1;
        assert_eq!(unpad(&padded), Err(ParseError::Invalid));
        let padded = pad(b"hello").expect("fits");
        assert_eq!(unpad(&padded[..1024]), Err(ParseError::Length));
        let mut long = padded.clone();
        long[..4].copy_from_slice(&2000u32.to_be_bytes());
        assert_eq!(unpad(&long), Err(ParseError::Length));
    }
}
