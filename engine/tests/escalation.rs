//! Routing by skill with escalation, end to end in process on paused tokio time: a
//! conversation needing a skill waits for a skilled agent, relaxes to any agent of its queue
//! when its queue's step says so, and overflows to another queue at the last step — each
//! exactly when the customer's wait reaches the step, and each offer's routing history says
//! which step was in force.

use std::time::Duration;

use engine::catalog::Catalog;
use engine::domain::skills::{EscalationStep, RelaxTo, SkillRequirement};
use engine::domain::{EscalationSecs, Name, Queue, QueueId, SkillLevel, Slug, Team, TeamId};
use engine::runtime::{Clock, Engine, EngineConfig};
use engine::store::{AnyStore, MemoryStore};

mod common;
use common::{Setup, configure, queue_id, settle};

const START: i64 = 1_800_000_000_000;

fn step(after: i64, relax: Option<RelaxTo>, overflow: Option<&str>) -> EscalationStep {
    EscalationStep {
        after_secs: EscalationSecs::new(after).unwrap(),
        relax,
        overflow_to: overflow.map(|q| QueueId::parse(q).unwrap()),
    }
}

/// `q1` needs `spanish>=3` and relaxes to any level after 60 s, to any skill after 120 s;
/// `q1`'s overflow goes to `q2` after 300 s when `overflow` is set. Ann has no skills.
async fn escalating_engine(overflow: bool) -> (AnyStore, Engine) {
    tokio::time::pause();
    let store = AnyStore::Memory(MemoryStore::new());
    configure(
        &store,
        Setup {
            agents: &[("ann", 2), ("bob", 2)],
            offer_timeout_secs: 600,
            disposition_required: false,
        },
    )
    .await;
    let catalog = Catalog::new(store.clone());
    let team = TeamId::parse("t1").unwrap();
    let _ = catalog.get::<Team>(team.as_str()).await.unwrap();
    let q1 = catalog.get::<Queue>("q1").await.unwrap().resource;
    catalog
        .create(Queue {
            id: QueueId::parse("q2").unwrap(),
            name: Name::parse("name", "Overflow").unwrap(),
            ..q1
        })
        .await
        .unwrap();
    catalog
        .update::<Queue>("q1", |mut q| {
            q.required_skills = vec![SkillRequirement {
                skill: Slug::parse("skill", "spanish").unwrap(),
                min_level: SkillLevel::new(3).unwrap(),
            }];
            q.escalation = vec![
                step(60, Some(RelaxTo::AnyLevel), None),
                step(120, Some(RelaxTo::AnySkill), None),
            ];
            if overflow {
                q.escalation = vec![step(300, None, Some("q2"))];
            }
            Ok(q)
        })
        .await
        .unwrap();
    let engine = Engine::start(
        store.clone(),
        Clock::starting_at(START),
        EngineConfig::default(),
    );
    (store, engine)
}

async fn ready(engine: &Engine, name: &str, queue: &str) {
    common::ready_in(engine, name, &QueueId::parse(queue).unwrap()).await;
}

async fn offered_to(engine: &Engine, queue: &str) -> Vec<String> {
    engine
        .queue_snapshot(&QueueId::parse(queue).unwrap())
        .await
        .unwrap()
        .offers
        .into_iter()
        .map(|(_, _, agent)| agent.to_string())
        .collect()
}

#[actix_rt::test]
async fn a_skilled_conversation_relaxes_step_by_step_as_the_customer_waits() {
    let (_store, engine) = escalating_engine(false).await;
    ready(&engine, "ann", "q1").await;
    let opened = engine
        .inbound(common::text("+15550001111", Some("SM1")))
        .await
        .unwrap();
    settle().await;
    // Ann lacks spanish: nothing is offered, at 59 s still nothing.
    assert!(offered_to(&engine, "q1").await.is_empty());
    tokio::time::sleep(Duration::from_secs(59)).await;
    settle().await;
    assert!(offered_to(&engine, "q1").await.is_empty());
    // At 60 s any level of spanish would do; Ann has none, so still nothing.
    tokio::time::sleep(Duration::from_secs(1)).await;
    settle().await;
    assert!(offered_to(&engine, "q1").await.is_empty());
    // At 120 s any agent of the queue: Ann.
    tokio::time::sleep(Duration::from_secs(60)).await;
    settle().await;
    assert_eq!(offered_to(&engine, "q1").await, vec!["ann"]);
    let history = engine
        .routing_history(&opened.conversation_id)
        .await
        .unwrap();
    assert_eq!(history.len(), 1);
    let decision = &history[0];
    assert_eq!(decision.agent_id, "ann");
    assert_eq!(decision.escalation_step, 2);
    assert_eq!(decision.relaxed, "any_skill");
    assert_eq!(decision.needed_skills[0].skill, "spanish");
    assert!(decision.required_skills.is_empty());
    assert_eq!(decision.waited_secs, 120);
    assert!(
        decision.reason.contains("step 2: any_skill"),
        "{}",
        decision.reason
    );
}

#[actix_rt::test]
async fn a_skilled_agent_gets_it_at_once_and_the_others_are_traced_as_unskilled() {
    let (_store, engine) = escalating_engine(false).await;
    ready(&engine, "ann", "q1").await;
    ready(&engine, "bob", "q1").await;
    // Bob learns spanish while logged in: routing follows without a restart.
    engine
        .catalog()
        .update::<engine::domain::Agent>("bob", |mut bob| {
            bob.skills.insert(
                Slug::parse("skill", "spanish").unwrap(),
                SkillLevel::new(4).unwrap(),
            );
            Ok(bob)
        })
        .await
        .unwrap();
    settle().await;
    let opened = engine
        .inbound(common::text("+15550001111", Some("SM1")))
        .await
        .unwrap();
    settle().await;
    // Ann has waited longer, but only Bob has spanish.
    assert_eq!(offered_to(&engine, "q1").await, vec!["bob"]);
    let decision = &engine
        .routing_history(&opened.conversation_id)
        .await
        .unwrap()[0];
    assert_eq!(decision.selection, "longest_idle");
    assert_eq!((decision.ready_agents, decision.qualified_agents), (2, 1));
    let ann = decision
        .excluded
        .iter()
        .find(|e| e.agent_id == "ann")
        .expect("ann is listed");
    assert_eq!(ann.rule, "missing_skill");
    assert_eq!(
        (ann.skill.as_deref(), ann.required_level, ann.level),
        (Some("spanish"), Some(3), Some(0))
    );
}

#[actix_rt::test]
async fn a_conversation_overflows_to_the_next_queue_keeping_its_place_in_time() {
    let (_store, engine) = escalating_engine(true).await;
    ready(&engine, "ann", "q2").await;
    let opened = engine
        .inbound(common::text("+15550001111", Some("SM1")))
        .await
        .unwrap();
    settle().await;
    let arrived = engine
        .conversation(&opened.conversation_id)
        .await
        .unwrap()
        .waiting_since();
    tokio::time::sleep(Duration::from_secs(299)).await;
    settle().await;
    assert!(offered_to(&engine, "q2").await.is_empty());
    tokio::time::sleep(Duration::from_secs(1)).await;
    settle().await;
    assert_eq!(offered_to(&engine, "q2").await, vec!["ann"]);
    let conversation = engine.conversation(&opened.conversation_id).await.unwrap();
    assert_eq!(conversation.queue_id().as_str(), "q2");
    assert_eq!(conversation.waiting_since(), arrived);
    assert!(
        engine
            .queue_snapshot(&queue_id())
            .await
            .unwrap()
            .line
            .is_empty()
    );
    // q2's own skills (none) apply there: Ann took it as the queue's strategy chose.
    let decision = &engine
        .routing_history(&opened.conversation_id)
        .await
        .unwrap()[0];
    assert_eq!(decision.queue_id, "q2");
    assert_eq!(decision.waited_secs, 300);
}
