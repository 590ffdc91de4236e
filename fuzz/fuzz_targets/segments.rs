//! Segment counting for any text: none for an empty one, enough segments for every unit,
//! one character per scalar value.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let count = engine::sms::segments::count(text);
    assert_eq!(count.characters, text.chars().count());
    assert_eq!(count.segments == 0, text.is_empty());
    assert!(count.segments * count.units_per_segment >= count.units);
});
