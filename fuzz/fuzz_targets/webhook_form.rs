//! A Twilio webhook body: any bytes parse as a form, and the signature over its parameters
//! does not depend on their order (the signature is checked before anything else).
#![no_main]

use engine::sms::twilio_signature::{compute, is_valid, signed_parameters};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
    let mut reversed = pairs.clone();
    reversed.reverse();
    assert_eq!(signed_parameters(&pairs), signed_parameters(&reversed));
    let url = "https://sms.example.com/webhooks/twilio/sms";
    let signature = compute("token", url, &pairs);
    assert!(is_valid("token", url, &reversed, &signature));
    assert!(!is_valid("other", url, &pairs, &signature));
});
