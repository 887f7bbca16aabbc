//! Verifying any bytes as a signed directory never panics, and a directory
//! document that validates serializes back to the same document.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use ozvi_crypto::format::directory::DirectoryDoc;
use ozvi_crypto::primitives::sig::{Ed25519Public, Ed25519Secret};
use ozvi_crypto::{Directory, SignedDirectory};

fn root_public() -> &'static Ed25519Public {
    static ROOT: OnceLock<Ed25519Public> = OnceLock::new();
    ROOT.get_or_init(|| Ed25519Secret::from_seed(&[5; 32]).public())
}

fuzz_target!(|data: &[u8]| {
    let _ = SignedDirectory::verify(data, root_public(), None);
    if let Ok(doc) = serde_json::from_slice::<DirectoryDoc>(data)
        && let Ok(directory) = Directory::from_doc(doc.clone())
    {
        assert_eq!(
            directory.to_doc(),
            doc,
            "validated directory changed on the way back"
        );
    }
});
