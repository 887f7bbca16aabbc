//! Padding (PROTOCOL.md §5).

use super::*;

pub(super) fn padding_vectors(out: &mut Writer) -> anyhow::Result<()> {
    let data = b"Ozvi";
    let padded = padding::pad(data).expect("fits");
    let vector = |description: &str, padded: &[u8], expect: &str| {
        let mut v = json!({"type": "padding", "description": description, "padded": b64::encode(padded), "expect": expect});
        if expect == "success" {
            v["data"] = json!(b64::encode(data));
        }
        v
    };
    out.write(
        "padding-valid",
        vector("four bytes in the smallest bucket", &padded, "success"),
    )?;
    out.write(
        "padding-not-a-bucket",
        vector("1024 bytes is not a bucket", &padded[..1024], "malformed"),
    )?;
    let mut nonzero = padded.clone();
    nonzero[1151] = 0x80;
    out.write(
        "padding-nonzero-byte",
        vector("the last padding byte is not zero", &nonzero, "malformed"),
    )?;
    let mut long = padded.clone();
    long[..4].copy_from_slice(&1149u32.to_be_bytes());
    out.write(
        "padding-length-beyond-bucket",
        vector(
            "a length prefix larger than the bucket allows",
            &long,
            "malformed",
        ),
    )?;
    Ok(())
}

// ---------------------------------------------------------------- staff requests
