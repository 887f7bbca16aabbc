//! The byte-layout parsers accept exactly one encoding of each value:
//! whatever parses serializes back to the same bytes, and nothing panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ozvi_crypto::format::envelope::Envelope;
use ozvi_crypto::format::frame::Frame;
use ozvi_crypto::format::padding;

fuzz_target!(|data: &[u8]| {
    if let Ok(envelope) = Envelope::parse(data) {
        assert_eq!(
            envelope.to_bytes(),
            data,
            "envelope parse→serialize changed the bytes"
        );
    }
    if let Ok(frame) = Frame::parse(data) {
        assert_eq!(
            frame.to_bytes(),
            data,
            "frame parse→serialize changed the bytes"
        );
    }
    let _ = padding::unpad(data);
});
