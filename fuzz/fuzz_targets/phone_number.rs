//! Any text given as a phone number parses or is refused; what parses is E.164 and parses
//! again to itself.
#![no_main]

use engine::domain::PhoneNumber;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(phone) = PhoneNumber::parse("from", text) {
        assert!(phone.as_str().starts_with('+'));
        let again = PhoneNumber::parse("from", phone.as_str()).expect("E.164 parses");
        assert_eq!(again.as_str(), phone.as_str());
    }
});
