//! Any text a websocket client sends is a client frame or a refusal; what parses reads the
//! same once written back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use protocol::frame::ClientFrame;

fuzz_target!(|text: &str| {
    if let Ok(frame) = serde_json::from_str::<ClientFrame>(text) {
        let written = serde_json::to_string(&frame).expect("frames serialise");
        let again: ClientFrame = serde_json::from_str(&written).expect("written frames parse");
        assert_eq!(again, frame);
    }
});
