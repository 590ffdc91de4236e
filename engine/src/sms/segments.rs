//! How many SMS segments a text costs, as carriers count them (3GPP TS 23.038 / 23.040).
//!
//! A text whose every character is in the GSM 03.38 default alphabet is sent as GSM-7:
//! one septet per character, two for the extension table (`^ { } \ [ ~ ] | €` and form feed,
//! sent as escape + character). One segment holds 160 septets; a longer text is split into
//! parts of 153 (7 septets go to the concatenation header), and an escape pair is never split
//! across parts. Any other character makes the whole text UCS-2: counted in UTF-16 code units
//! (an emoji outside the Basic Multilingual Plane is 2), 70 in one segment, 67 per part, and a
//! surrogate pair is never split. No crate does this; the property test in
//! `tests/tests/segments.rs` checks it against a plain reference written separately.

use serde::Serialize;

/// The GSM 03.38 default alphabet, in code order (`\u{1b}`, the escape, is left out: it is
/// not a character of text).
const GSM7_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";

/// The extension table: each costs an escape septet plus its own.
const GSM7_EXTENSION: &str = "\u{0c}^{}\\[~]|€";

pub use ::protocol::vocabulary::Encoding;

/// A text's cost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SegmentCount {
    /// How it is sent.
    pub encoding: Encoding,
    /// Characters (Unicode scalar values).
    pub characters: usize,
    /// Septets (GSM-7) or UTF-16 code units (UCS-2).
    pub units: usize,
    /// Segments billed: 0 for an empty text.
    pub segments: usize,
    /// Units a segment holds at this length: 160 or 153 (GSM-7), 70 or 67 (UCS-2).
    pub units_per_segment: usize,
    /// The characters that forced UCS-2, each once, in order of appearance.
    pub non_gsm_characters: Vec<char>,
}

/// The septets a character costs in GSM-7, or `None` when it has none.
pub fn gsm7_septets(c: char) -> Option<usize> {
    if GSM7_BASIC.contains(c) {
        Some(1)
    } else if GSM7_EXTENSION.contains(c) {
        Some(2)
    } else {
        None
    }
}

/// Counts the segments of `text`.
pub fn count(text: &str) -> SegmentCount {
    let mut non_gsm: Vec<char> = Vec::new();
    for c in text.chars() {
        if gsm7_septets(c).is_none() && !non_gsm.contains(&c) {
            non_gsm.push(c);
        }
    }
    let (encoding, widths, single, part): (Encoding, Vec<usize>, usize, usize) =
        if non_gsm.is_empty() {
            let widths = text.chars().map(|c| gsm7_septets(c).unwrap_or(1)).collect();
            (Encoding::Gsm7, widths, 160, 153)
        } else {
            let widths = text.chars().map(char::len_utf16).collect();
            (Encoding::Ucs2, widths, 70, 67)
        };
    let units: usize = widths.iter().sum();
    let (segments, units_per_segment) = match units {
        0 => (0, single),
        n if n <= single => (1, single),
        _ => (parts(&widths, part), part),
    };
    SegmentCount {
        encoding,
        characters: widths.len(),
        units,
        segments,
        units_per_segment,
        non_gsm_characters: non_gsm,
    }
}

/// Parts of at most `capacity` units, filled in order, no character split between two.
fn parts(widths: &[usize], capacity: usize) -> usize {
    let mut parts = 1;
    let mut used = 0;
    for &w in widths {
        if used + w > capacity {
            parts += 1;
            used = 0;
        }
        used += w;
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_alphabet_has_its_128_characters_less_the_escape() {
        assert_eq!(GSM7_BASIC.chars().count(), 127);
        assert_eq!(GSM7_EXTENSION.chars().count(), 10);
    }

    #[test]
    fn known_lengths() {
        let cases: &[(&str, Encoding, usize, usize)] = &[
            ("", Encoding::Gsm7, 0, 0),
            ("Hello", Encoding::Gsm7, 5, 1),
            (&"a".repeat(160), Encoding::Gsm7, 160, 1),
            (&"a".repeat(161), Encoding::Gsm7, 161, 2),
            (&"a".repeat(306), Encoding::Gsm7, 306, 2),
            (&"a".repeat(307), Encoding::Gsm7, 307, 3),
            // 80 euro signs: 160 septets, one segment; 81: two.
            (&"€".repeat(80), Encoding::Gsm7, 160, 1),
            (&"€".repeat(81), Encoding::Gsm7, 162, 2),
            (&"é".repeat(160), Encoding::Gsm7, 160, 1),
            ("Olá", Encoding::Ucs2, 3, 1),
            (&"ç".repeat(70), Encoding::Ucs2, 70, 1),
            (&"ç".repeat(71), Encoding::Ucs2, 71, 2),
            // An emoji is two UTF-16 units.
            (&"😀".repeat(35), Encoding::Ucs2, 70, 1),
            (&"😀".repeat(36), Encoding::Ucs2, 72, 2),
        ];
        for (text, encoding, units, segments) in cases {
            let got = count(text);
            assert_eq!(
                (got.encoding, got.units, got.segments),
                (*encoding, *units, *segments),
                "{text:?}"
            );
        }
    }

    #[test]
    fn an_escape_pair_is_not_split_between_parts() {
        // 152 plain septets then a euro sign: 154 septets, the euro does not fit in the
        // first part's last septet, so it starts the second.
        let text = format!("{}€{}", "a".repeat(152), "a".repeat(152));
        let got = count(&text);
        assert_eq!(got.units, 306);
        assert_eq!(got.segments, 3, "152 | € + 151 | 1");
    }

    #[test]
    fn a_surrogate_pair_is_not_split_between_parts() {
        let text = format!("{}😀{}", "ç".repeat(66), "ç".repeat(66));
        let got = count(&text);
        assert_eq!(got.units, 134);
        assert_eq!(got.segments, 3, "66 | 😀 + 65 | 1");
    }

    #[test]
    fn the_characters_forcing_ucs2_are_named_once() {
        let got = count("Hi 😀 😀 ç");
        assert_eq!(got.non_gsm_characters, vec!['😀', 'ç']);
    }
}
