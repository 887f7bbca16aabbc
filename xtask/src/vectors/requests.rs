//! Signed staff requests (PROTOCOL.md §7).

use super::*;

pub(super) fn request_vectors(w: &World, out: &mut Writer) -> anyhow::Result<()> {
    let body = br#"{"text":"..."}"#;
    let target = "/api/v1/staff/threads?since=0";
    let auth = RequestAuth::sign(
        &mut rng(500),
        &w.zlin1,
        &w.directory.salt,
        "POST",
        target,
        body,
        NOW,
    )?;
    let headers = auth.to_headers();
    let header_map = |h: &[(&str, String); 4]| json!({"key": h[0].1, "timestamp": h[1].1, "nonce": h[2].1, "signature": h[3].1});
    let vector = |description: &str,
                  method: &str,
                  target: &str,
                  body: &[u8],
                  h: Value,
                  now: u64,
                  expect: &str| {
        json!({"type": "staff_request", "description": description, "salt": b64::encode(&w.directory.salt.0), "method": method, "target": target,
               "body": b64::encode(body), "headers": h, "now": now, "expect": expect})
    };
    out.write(
        "request-valid",
        vector(
            "a signed staff request",
            "POST",
            target,
            body,
            header_map(&headers),
            NOW + 5,
            "success",
        ),
    )?;
    out.write(
        "request-edge-of-window",
        vector(
            "60 s late is still accepted",
            "POST",
            target,
            body,
            header_map(&headers),
            NOW + 60,
            "success",
        ),
    )?;
    out.write(
        "request-stale",
        vector(
            "61 s late",
            "POST",
            target,
            body,
            header_map(&headers),
            NOW + 61,
            "stale",
        ),
    )?;
    out.write(
        "request-from-the-future",
        vector(
            "61 s early",
            "POST",
            target,
            body,
            header_map(&headers),
            NOW - 61,
            "stale",
        ),
    )?;
    out.write(
        "request-other-body",
        vector(
            "the body changed",
            "POST",
            target,
            br#"{"text":"!!!"}"#,
            header_map(&headers),
            NOW,
            "bad_signature",
        ),
    )?;
    out.write(
        "request-other-target",
        vector(
            "the query changed",
            "POST",
            "/api/v1/staff/threads?since=1",
            body,
            header_map(&headers),
            NOW,
            "bad_signature",
        ),
    )?;
    let mut other_deployment = vector(
        "signed for another deployment",
        "POST",
        target,
        body,
        header_map(&headers),
        NOW,
        "bad_signature",
    );
    other_deployment["salt"] = json!(b64::encode(&[0x44; 16]));
    out.write("request-other-deployment", other_deployment)?;
    out.write(
        "request-other-method",
        vector(
            "the method changed",
            "PUT",
            target,
            body,
            header_map(&headers),
            NOW,
            "bad_signature",
        ),
    )?;
    let mut h = header_map(&headers);
    h["timestamp"] = json!(format!("0{}", NOW));
    out.write(
        "request-timestamp-leading-zero",
        vector(
            "a timestamp with a leading zero",
            "POST",
            target,
            body,
            h,
            NOW,
            "malformed",
        ),
    )?;
    let mut h = header_map(&headers);
    h["nonce"] = json!(with_trailing_bits(&headers[2].1));
    out.write(
        "request-nonce-non-canonical",
        vector(
            "the nonce in non-canonical base64url",
            "POST",
            target,
            body,
            h,
            NOW,
            "malformed",
        ),
    )?;
    Ok(())
}
