//! Measures `PhoneNumber::parse` as requests call it: every inbound text parses its `From`
//! (a returning customer, mostly) and `To` (one of a few business numbers). Run with
//! `cargo bench -p switchboard-engine --bench phone`; numbers go into BENCHMARKS.md.
//!
//! Three cases: the same few numbers again and again (business numbers), 10,000 customers in
//! rotation, and numbers never seen before (the worst case, every parse a first one).

use std::hint::black_box;
use std::time::Instant;

use engine::domain::PhoneNumber;

fn rounds() -> usize {
    if std::env::args().any(|a| a == "--bench") {
        400_000
    } else {
        4_000
    }
}

fn run(name: &str, numbers: &[String]) {
    let n = rounds();
    // Warm up (and fill whatever the parser keeps).
    for number in numbers.iter().cycle().take(numbers.len().min(n)) {
        black_box(PhoneNumber::parse("from", number).unwrap());
    }
    let start = Instant::now();
    for number in numbers.iter().cycle().take(n) {
        black_box(PhoneNumber::parse("from", number).unwrap());
    }
    let per = start.elapsed() / n as u32;
    println!(
        "{name:<36} {:>8.2} µs per parse",
        per.as_nanos() as f64 / 1000.0
    );
}

fn main() {
    let business: Vec<String> = (0..10).map(|i| format!("+1555010{i:04}")).collect();
    run("10 business numbers", &business);
    let customers: Vec<String> = (0..10_000).map(|i| format!("+1555200{i:04}")).collect();
    run("10,000 returning customers", &customers);
    let fresh: Vec<String> = (0..rounds())
        .map(|i| format!("+44{:010}", 7_000_000_000usize + i))
        .collect();
    run("never seen before", &fresh);
}
