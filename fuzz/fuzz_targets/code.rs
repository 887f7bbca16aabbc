//! Parsing any text as a code never panics, and a code that parses parses
//! again, to the same code, from the grouped form shown to a person.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ozvi_crypto::Code;

fuzz_target!(|data: &[u8]| {
    if let Ok(code) = Code::parse(&String::from_utf8_lossy(data)) {
        let again = Code::parse(&code.grouped()).expect("the grouped form of a code parses");
        assert!(again == code, "the grouped form parsed to another code");
    }
});
