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
use engine::routing::skills::{
    Escalation, EscalationStep, Needs, Relax, Requirement, Skills, StepAction,
};
use engine::routing::{
    AgentRoster, Millis, QueueCore, QueueSettings, RosterEntry, WaitingLine, pick_agents,
};

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
        QueueSettings::plain(RoutingStrategy::LongestIdle, 30_000, 3),
    );
    for i in 0..waiting {
        black_box(core.handle(
            ToQueue::Enqueue {
                conversation: conversation(i),
                priority: 0,
                waiting_since: i as i64,
                needs: Needs::default(),
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
            eligible: Ok(RosterEntry {
                agent: agent(i),
                load: 0,
                capacity: 1,
                idle_since: i as i64,
            }),
            skills: Skills::none(),
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
                needs: Needs::default(),
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
    with_skills(waiting, agents);
}

/// The skill each conversation `i` needs: a quarter need nothing, the rest one of seven
/// requirements over three skills (so the line splits into eight classes).
fn need_of(i: usize) -> Requirement {
    let needs: [&[(&str, u8)]; 8] = [
        &[],
        &[("spanish", 1)],
        &[("spanish", 3)],
        &[("billing", 2)],
        &[("billing", 4)],
        &[("tech", 2)],
        &[("spanish", 2), ("billing", 1)],
        &[("tech", 3), ("billing", 3)],
    ];
    Requirement::new(needs[i % 8].iter().copied())
}

/// Agent `i`'s skills: levels spread so that each class has some agents, few the rarest.
fn skills_of(i: usize) -> Skills {
    Skills::new([
        ("spanish", (i % 4) as u8),
        ("billing", ((i / 4) % 5) as u8),
        ("tech", ((i / 20) % 4) as u8),
    ])
}

/// The same decisions with skills and escalation: 100k waiting in eight skill classes, 10k
/// agents with three skills each, and steps relaxing to any level after 60 s and to any
/// skill after 180 s.
fn with_skills(waiting: usize, agents: usize) {
    let queue = QueueId::parse("q_skills").expect("valid id");
    let settings = QueueSettings {
        escalation: Escalation::new([
            EscalationStep {
                after: 60_000,
                action: StepAction::Relax(Relax::AnyLevel),
            },
            EscalationStep {
                after: 180_000,
                action: StepAction::Relax(Relax::AnySkill),
            },
        ]),
        ..QueueSettings::plain(RoutingStrategy::LongestIdle, 30_000, 3)
    };
    let mut core = QueueCore::new(queue, settings);
    // Arrived 1 ms apart over the last 100 s: at `now` the older ones are past step 1.
    let now: Millis = waiting as Millis;
    let enqueue = |core: &mut QueueCore, i: usize, at: Millis| {
        black_box(core.handle(
            ToQueue::Enqueue {
                conversation: conversation(i),
                priority: 0,
                waiting_since: i as Millis,
                needs: Needs::skills(need_of(i)),
                hint: EnqueueHint::None,
            },
            at,
        ));
    };
    let started = Instant::now();
    for i in 0..waiting {
        enqueue(&mut core, i, now);
    }
    report("skills: enqueue into 8 classes (to 100k)", waiting, started);
    let started = Instant::now();
    for i in 0..agents {
        let news = AgentNews {
            agent: agent(i),
            version: 1,
            eligible: Ok(RosterEntry {
                agent: agent(i),
                load: 0,
                capacity: 1,
                idle_since: i as i64,
            }),
            skills: skills_of(i),
        };
        black_box(core.handle(ToQueue::AgentChanged(news), now));
    }
    report(
        "skills: agent becomes free -> offer from 100k in 8 classes",
        agents,
        started,
    );
    // Every agent now holds an offer; the next ones find nobody and wait.
    let n = scale(50_000);
    let started = Instant::now();
    for i in 0..n {
        enqueue(&mut core, waiting + i, now);
    }
    report(
        "skills: inbound enqueue, 8 classes, no free agent",
        n,
        started,
    );
    // Time passes: every conversation reaches the any-level step, then any skill.
    for (label, at) in [
        (
            "skills: escalate to any level (per conversation moved)",
            60_000 + now,
        ),
        (
            "skills: escalate to any skill (per conversation moved)",
            180_000 + now,
        ),
    ] {
        let moving = core.line().len();
        let started = Instant::now();
        black_box(core.escalate(at));
        report(label, moving, started);
    }
}
