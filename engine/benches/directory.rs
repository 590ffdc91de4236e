//! Measures conversation lists over the in-memory directory at contact-center scale: 100,000
//! conversations (a fifth closed) across 20 queues. Run with
//! `cargo bench -p switchboard-engine --bench directory`; numbers go into BENCHMARKS.md.

use std::hint::black_box;
use std::time::Instant;

use engine::conversation::{Conversation, Direction, Opening};
use engine::directory::{Directory, ListQuery, View};
use engine::domain::{AgentId, ConversationId, Name, NumberId, PhoneNumber, QueueId};

/// Full size under `cargo bench`; a small size under `cargo test --all-targets`.
fn scale(full: usize) -> usize {
    if std::env::args().any(|a| a == "--bench") {
        full
    } else {
        full / 100
    }
}

fn conversation(i: usize) -> Conversation {
    let (mut c, _) = Conversation::open(
        Opening {
            id: ConversationId::parse(format!("cv_{i:08}")).unwrap(),
            customer: PhoneNumber::parse("from", &format!("+1555{:07}", i % 10_000_000)).unwrap(),
            number_id: NumberId::parse("n1").unwrap(),
            campaign: Name::parse(
                "campaign",
                if i.is_multiple_of(2) {
                    "Spring"
                } else {
                    "Fall"
                },
            )
            .unwrap(),
            queue_id: QueueId::parse(format!("q{}", i % 20)).unwrap(),
            priority: 0,
            public_minutes: 20,
            required_skills: Vec::new(),
        },
        i as i64,
    );
    c.record_message(
        Direction::Inbound,
        &format!("order {i} where is it"),
        i as i64,
    );
    if i.is_multiple_of(5) {
        let agent = AgentId::parse(format!("a{}", i % 50)).unwrap();
        c.assign(&agent).unwrap();
        c.complete(&agent, false, i as i64 + 1).unwrap();
    }
    c
}

fn time(label: &str, rounds: usize, mut run: impl FnMut()) {
    let start = Instant::now();
    for _ in 0..rounds {
        run();
    }
    let per = start.elapsed() / rounds as u32;
    println!("{label:<60} {:>10.2} ms", per.as_secs_f64() * 1000.0);
}

fn main() {
    let n = scale(100_000);
    let directory = Directory::new();
    let start = Instant::now();
    for i in 0..n {
        directory.upsert(&conversation(i));
    }
    println!("{n} conversations upserted in {:?}", start.elapsed());
    let base = ListQuery {
        limit: 50,
        ..ListQuery::default()
    };
    let rounds = 20;
    // Every stored conversation's numbers are parsed when it is loaded.
    time("PhoneNumber::parse x 1000 (E.164)", rounds, || {
        for i in 0..1000 {
            black_box(PhoneNumber::parse("from", &format!("+1555{:07}", i)).unwrap());
        }
    });
    time("view=open, first page of 50", rounds, || {
        black_box(directory.list(&base));
    });
    let team: std::collections::HashSet<QueueId> = (0..4)
        .map(|q| QueueId::parse(format!("q{q}")).unwrap())
        .collect();
    time("view=open, one team's 4 of 20 queues", rounds, || {
        black_box(directory.list(&ListQuery {
            visible_queues: Some(team.clone()),
            ..base.clone()
        }));
    });
    time("view=closed", rounds, || {
        black_box(directory.list(&ListQuery {
            view: View::Closed,
            ..base.clone()
        }));
    });
    time("q=\"order 4242\" (text search)", rounds, || {
        black_box(directory.list(&ListQuery {
            view: View::All,
            q: Some("order 4242".into()),
            ..base.clone()
        }));
    });
    time("customer history (one number)", rounds, || {
        black_box(directory.list(&ListQuery {
            view: View::All,
            customer: Some(PhoneNumber::parse("c", "+15550004242").unwrap()),
            ..base.clone()
        }));
    });
}
