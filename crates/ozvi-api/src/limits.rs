//! Page sizes and body limits: what a client can expect of one answer, and
//! the most one request may carry.

/// Most messages one person listing returns (`GET /api/v1/mailbox/messages`).
pub const PERSON_PAGE: usize = 100;
/// Most threads one inbox listing returns (`GET /api/v1/staff/threads`).
pub const INBOX_PAGE: usize = 500;
/// Most messages one staff thread read returns (`POST /api/v1/staff/thread`).
pub const THREAD_PAGE: usize = 200;

/// Body limit for person and ordinary staff requests: the largest envelope
/// (76,587 bytes) in base64url with room for the JSON around it.
pub const BODY_LIMIT: usize = 128 * 1024;
/// Body limit for a transfer, which carries a whole re-sealed thread.
pub const TRANSFER_BODY_LIMIT: usize = 32 * 1024 * 1024;
/// Body limit for a directory.
pub const DIRECTORY_BODY_LIMIT: usize = 1024 * 1024;
/// Body limit for a proof-of-work challenge request.
pub const CHALLENGE_BODY_LIMIT: usize = 1024;

#[cfg(test)]
mod tests {
    use super::*;
    use ozvi_crypto::format::envelope::MAX_ENVELOPE_LEN;

    #[test]
    fn the_largest_envelope_fits_an_ordinary_body() {
        // base64url without padding, plus the JSON around it and a mailbox id.
        let encoded = MAX_ENVELOPE_LEN.div_ceil(3) * 4;
        assert!(encoded + 1024 < BODY_LIMIT, "{encoded}");
    }
}
