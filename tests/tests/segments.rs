//! The segment counter against a plain reference written here, separately: encode the text
//! to the septets (GSM-7, escape included) or UTF-16 code units (UCS-2) a carrier would
//! send, then cut them into parts without splitting an escape pair or a surrogate pair.

use engine::sms::segments::{Encoding, count};
use proptest::prelude::*;

/// GSM 03.38 default alphabet by septet value (0x1B, the escape, is not a character).
const TABLE: [char; 128] = [
    '@', '£', '$', '¥', 'è', 'é', 'ù', 'ì', 'ò', 'Ç', '\n', 'Ø', 'ø', '\r', 'Å', 'å', 'Δ', '_',
    'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ', 'Θ', 'Ξ', '\u{1b}', 'Æ', 'æ', 'ß', 'É', ' ', '!', '"', '#',
    '¤', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/', '0', '1', '2', '3', '4', '5', '6',
    '7', '8', '9', ':', ';', '<', '=', '>', '?', '¡', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I',
    'J', 'K', 'L', 'M', 'N', 'O', 'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'Ä', 'Ö',
    'Ñ', 'Ü', '§', '¿', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o',
    'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 'ä', 'ö', 'ñ', 'ü', 'à',
];

/// The extension table: character and its septet after the escape.
const EXTENSION: [(char, u8); 10] = [
    ('\u{0c}', 0x0A),
    ('^', 0x14),
    ('{', 0x28),
    ('}', 0x29),
    ('\\', 0x2F),
    ('[', 0x3C),
    ('~', 0x3D),
    (']', 0x3E),
    ('|', 0x40),
    ('€', 0x65),
];
const ESCAPE: u16 = 0x1B;

/// The septets of `text`, or `None` when a character has none.
fn septets(text: &str) -> Option<Vec<u16>> {
    let mut out = Vec::new();
    for c in text.chars() {
        if c == '\u{1b}' {
            return None;
        }
        if let Some(code) = TABLE.iter().position(|t| *t == c) {
            out.push(code as u16);
        } else if let Some((_, code)) = EXTENSION.iter().find(|(e, _)| *e == c) {
            out.push(ESCAPE);
            out.push(u16::from(*code));
        } else {
            return None;
        }
    }
    Some(out)
}

/// Parts of at most `size` units; a unit that must stay with the next (an escape, a high
/// surrogate) never ends a part.
fn split(units: &[u16], size: usize, binds_next: impl Fn(u16) -> bool) -> usize {
    let mut parts = 0;
    let mut start = 0;
    while start < units.len() {
        let mut end = (start + size).min(units.len());
        if end < units.len() && binds_next(units[end - 1]) {
            end -= 1;
        }
        parts += 1;
        start = end;
    }
    parts
}

fn reference(text: &str) -> (Encoding, usize, usize) {
    match septets(text) {
        Some(s) => {
            let segments = match s.len() {
                0 => 0,
                n if n <= 160 => 1,
                _ => split(&s, 153, |u| u == ESCAPE),
            };
            (Encoding::Gsm7, s.len(), segments)
        }
        None => {
            let u: Vec<u16> = text.encode_utf16().collect();
            let segments = match u.len() {
                0 => 0,
                n if n <= 70 => 1,
                _ => split(&u, 67, |unit| (0xD800..0xDC00).contains(&unit)),
            };
            (Encoding::Ucs2, u.len(), segments)
        }
    }
}

/// Characters mixing the default alphabet, the extension table, accented letters outside
/// GSM-7 and emoji, weighted so that both encodings and long texts come up often.
fn text() -> impl Strategy<Value = String> {
    let gsm = proptest::sample::select(
        TABLE
            .iter()
            .copied()
            .filter(|c| *c != '\u{1b}')
            .collect::<Vec<_>>(),
    );
    let ext = proptest::sample::select(EXTENSION.iter().map(|(c, _)| *c).collect::<Vec<_>>());
    let other = proptest::sample::select(vec![
        'ç',
        'ú',
        'ł',
        'Ж',
        '中',
        '’',
        '“',
        'ß',
        '😀',
        '🇺',
        '👍',
        '🎉',
        '\u{1F9D1}',
    ]);
    let one = prop_oneof![20 => gsm, 4 => ext, 1 => other];
    prop_oneof![
        proptest::collection::vec(one.clone(), 0..40),
        proptest::collection::vec(one.clone(), 140..340),
        proptest::collection::vec(one, 60..800),
    ]
    .prop_map(|chars| chars.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(10_000)
    ))]

    #[test]
    fn the_counter_agrees_with_the_reference(text in text()) {
        let got = count(&text);
        let (encoding, units, segments) = reference(&text);
        prop_assert_eq!((got.encoding, got.units, got.segments), (encoding, units, segments), "{:?}", text);
        prop_assert_eq!(got.characters, text.chars().count());
    }
}
