//! Fuzzing the parsers that face the outside, as CI runs it: property tests fed arbitrary
//! input (bytes, strings, chunkings) that must never panic and must keep each parser's
//! invariants — a fixed number of cases in CI and as many as asked for with `FUZZ_CASES`
//! (six targets, so a run tries six times that many inputs). The coverage-guided runs of
//! the same properties are `cargo fuzz` targets in `fuzz/`, run by `scripts/fuzz` (see
//! `docs/operations.md`):
//!
//!     FUZZ_CASES=200000 cargo test --release -p switchboard-tests --test fuzz
//!
//! Targets: the Twilio webhook form and its signature, phone numbers, segment counting,
//! websocket client frames (JSON and the frame guard's byte stream), template rendering.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use engine::domain::{PhoneNumber, TemplateBody};
use engine::sms::twilio_signature::{compute, is_valid, signed_parameters};
use futures_util::StreamExt;
use proptest::prelude::*;

/// Cases per target: `FUZZ_CASES`, or 2,000 (a few seconds in CI).
fn cases() -> u32 {
    std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2_000)
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    /// Any body a client posts to the webhook parses, and its signature is the same
    /// whatever the order of its parameters.
    #[test]
    fn webhook_forms_and_signatures(body in proptest::collection::vec(any::<u8>(), 0..2048), seed in any::<u64>()) {
        let pairs: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
        let mut shuffled = pairs.clone();
        let len = shuffled.len().max(1);
        shuffled.rotate_left((seed as usize) % len);
        prop_assert_eq!(signed_parameters(&pairs), signed_parameters(&shuffled));
        let url = "https://sms.example.com/webhooks/twilio/sms";
        let signature = compute("token", url, &pairs);
        prop_assert!(is_valid("token", url, &shuffled, &signature));
        prop_assert!(!is_valid("other", url, &pairs, &signature));
    }

    /// Any text given as a phone number is parsed or refused, never a panic; what parses is
    /// E.164 and parses again to itself.
    #[test]
    fn phone_numbers(text in ".{0,40}", digits in "\\+?[0-9 ()-]{0,24}") {
        for candidate in [text.as_str(), digits.as_str()] {
            if let Ok(phone) = PhoneNumber::parse("from", candidate) {
                prop_assert!(phone.as_str().starts_with('+'));
                let again = PhoneNumber::parse("from", phone.as_str()).unwrap();
                prop_assert_eq!(again.as_str(), phone.as_str());
            }
        }
    }

    /// Segment counting holds for any text: none for an empty one, enough segments for every
    /// unit, one character per scalar value.
    #[test]
    fn segment_counting(text in any::<String>()) {
        let count = engine::sms::segments::count(&text);
        prop_assert_eq!(count.characters, text.chars().count());
        prop_assert_eq!(count.segments == 0, text.is_empty());
        prop_assert!(count.segments * count.units_per_segment >= count.units);
    }

    /// Any text a websocket client sends is a client frame or a refusal, never a panic; what
    /// parses says the same once written back and read again.
    #[test]
    fn websocket_client_frames(text in any::<String>(), kind in "(resume|ping|accept|reject|x)", field in any::<String>(), after in any::<u64>()) {
        let shaped = [
            text,
            serde_json::json!({"type": kind, "offer_id": field, "ref": field}).to_string(),
            serde_json::json!({"type": kind, "after": after}).to_string(),
        ];
        for candidate in shaped {
            if let Ok(frame) = serde_json::from_str::<protocol::frame::ClientFrame>(&candidate) {
                let written = serde_json::to_string(&frame).unwrap();
                let again: protocol::frame::ClientFrame = serde_json::from_str(&written).unwrap();
                prop_assert_eq!(again, frame);
            }
        }
    }

    /// Any bytes, cut anywhere, pass the frame guard or trip it — never a panic; a stream of
    /// frames under the limit always passes, however it is chunked.
    #[test]
    fn websocket_frame_guard(noise in proptest::collection::vec(any::<u8>(), 0..4096), sizes in proptest::collection::vec(0usize..70_000, 0..6), cut in 1usize..5000) {
        let run = |bytes: Vec<u8>| {
            let chunks: Vec<Result<actix_web::web::Bytes, actix_web::error::PayloadError>> = bytes
                .chunks(cut)
                .map(|c| Ok(actix_web::web::Bytes::copy_from_slice(c)))
                .collect();
            let guard = api::live::frame_guard::FrameGuard::new(
                futures_util::stream::iter(chunks),
                64 * 1024,
                Arc::new(AtomicBool::new(false)),
            );
            futures_executor_block_on(guard.collect::<Vec<_>>())
        };
        let _ = run(noise);
        let mut frames = Vec::new();
        for size in &sizes {
            let size = (*size).min(64 * 1024);
            frames.push(0x81u8);
            match size {
                0..=125 => frames.push(0x80 | size as u8),
                126..=65_535 => {
                    frames.push(0x80 | 126);
                    frames.extend_from_slice(&(size as u16).to_be_bytes());
                }
                _ => {
                    frames.push(0x80 | 127);
                    frames.extend_from_slice(&(size as u64).to_be_bytes());
                }
            }
            frames.extend_from_slice(&[1, 2, 3, 4]);
            frames.extend(std::iter::repeat_n(b'a', size));
        }
        let results = run(frames);
        prop_assert!(results.iter().all(Result::is_ok));
    }

    /// Any template an admin writes is accepted or refused, never a panic; an accepted one
    /// renders once every placeholder has a value.
    #[test]
    fn templates(text in ".{0,300}", braces in "(\\{\\{[a-z._]{0,12}\\}\\}|[a-z ]{0,8}){0,8}") {
        for candidate in [text.as_str(), braces.as_str()] {
            if let Ok(template) = TemplateBody::parse("body", candidate) {
                prop_assert!(template.render(|_| Some("x".into())).is_ok());
            }
        }
    }
}

/// Runs a future to completion on this thread (the frame guard needs no runtime).
fn futures_executor_block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime")
        .block_on(future)
}
