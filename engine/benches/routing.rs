//! Measures the routing decision at contact-center scale: 100,000 waiting conversations and
//! 10,000 agents in one queue. Run with `cargo bench -p switchboard-engine --bench routing`.
//!
//! A plain timing loop rather than criterion: it keeps the workspace's build small, and the
//! numbers go into BENCHMARKS.md with the command that made them.

use std::collections::HashSet;
use std::hint::black_box;
use std::time::Instant;

use engine::domain::{AgentId, ConversationId, QueueId, RoutingStrategy};
use engine::routing::protocol::{AgentNews, EnqueueHint, ToQueue};
use engine::routing::{AgentRoster, QueueCore, RosterEntry, WaitingLine, pick_agents};

/// Full size under `cargo bench`; `cargo test --all-targets` runs this file too (without
/// `--bench`), and then a small size just proves it still works.
fn scale(full: usize) -> usize {
    if std::env::args().any(|a| a == "--bench") {
        full
    } else {
        full / 100
    }
}

fn conversation(i: usize) -> ConversationId {
    ConversationId::parse(format!("cv_{i:08}")).expect("valid id")
}

fn agent(i: usize) -> AgentId {
    AgentId::parse(format!("ag_{i:06}")).expect("valid id")
}

fn report(name: &str, iterations: usize, started: Instant) {
    let nanos = started.elapsed().as_nanos() as f64 / iterations as f64;
    println!("{name:<58} {nanos:>10.0} ns/op  ({iterations} ops)");
}

fn main() {
    let (waiting, agents) = (scale(100_000), scale(10_000));
    // A line of 100k, arrived one millisecond apart, with some priority.
    let mut line = WaitingLine::new();
    let started = Instant::now();
    for i in 0..waiting {
        line.insert(conversation(i), u16::from(i % 3 == 0), i as i64);
    }
    report("waiting line: insert (to 100k)", waiting, started);

    let mut roster = AgentRoster::new();
    for i in 0..agents {
        roster.upsert(RosterEntry {
            agent: agent(i),
            load: (i % 3) as u16,
            capacity: 3 + (i % 2) as u16,
            idle_since: (i * 7 % agents) as i64,
        });
    }
    let declined: HashSet<AgentId> = (0..5).map(agent).collect();

    for strategy in [
        RoutingStrategy::LongestIdle,
        RoutingStrategy::LeastBusy,
        RoutingStrategy::RoundRobin,
    ] {
        let n = scale(200_000);
        let started = Instant::now();
        for _ in 0..n {
            let head = line.head().expect("non-empty");
            black_box(head);
            black_box(pick_agents(strategy, &roster, &declined));
        }
        report(
            &format!("decision: head of 100k + pick of 10k agents ({strategy:?})"),
            n,
            started,
        );
    }

    // Remove the head and put it back with its key (a reject): the re-queue path, at three
    // sizes to show the growth is logarithmic.
    for size in [scale(1_000), scale(10_000), waiting] {
        let mut line = WaitingLine::new();
        for i in 0..size {
            line.insert(conversation(i), 0, i as i64);
        }
        let n = scale(200_000);
        let started = Instant::now();
        for _ in 0..n {
            let key = line.head().expect("non-empty").clone();
            line.remove(&key.conversation);
            line.insert(key.conversation, key.priority, key.waiting_since);
        }
        report(
            &format!("waiting line: take head and re-queue ({size} waiting)"),
            n,
            started,
        );
    }

    // The whole queue core: enqueue into a line of 100k with 10k agents reporting, and the
    // dispatch that follows (reservation requests to agents).
    let queue = QueueId::parse("q_bench").expect("valid id");
    let mut core = QueueCore::new(
        queue.clone(),
        engine::routing::QueueSettings {
            strategy: RoutingStrategy::LongestIdle,
            offer_timeout: 30_000,
            missed_offers_before_away: 3,
        },
    );
    for i in 0..waiting {
        black_box(core.handle(
            ToQueue::Enqueue {
                conversation: conversation(i),
                priority: 0,
                waiting_since: i as i64,
                hint: EnqueueHint::None,
            },
            0,
        ));
    }
    let started = Instant::now();
    for i in 0..agents {
        let news = AgentNews {
            agent: agent(i),
            version: 1,
            eligible: Some(RosterEntry {
                agent: agent(i),
                load: 0,
                capacity: 1,
                idle_since: i as i64,
            }),
        };
        black_box(core.handle(ToQueue::AgentChanged(news), 1));
    }
    report(
        "queue core: agent becomes free -> offer from 100k waiting",
        agents,
        started,
    );
    let n = scale(50_000);
    let started = Instant::now();
    for i in 0..n {
        black_box(core.handle(
            ToQueue::Enqueue {
                conversation: conversation(waiting + i),
                priority: 0,
                waiting_since: (waiting + i) as i64,
                hint: EnqueueHint::None,
            },
            2,
        ));
    }
    report(
        "queue core: inbound enqueue into 90k waiting (no free agent)",
        n,
        started,
    );
}
