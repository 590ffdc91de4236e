//! Routing by skill, through HTTP and the websocket against Redis: agents' skills and a
//! queue's keyword rules decide who is offered a conversation, a supervisor changes what a
//! waiting conversation needs, the routing history says why each offer went where it went
//! (for supervisors only), `offer.created` carries the short reason, and bad skill settings
//! are refused with the field to fix, changing nothing. The escalation steps' timing is
//! tested on paused time in `engine/tests/escalation.rs`.

use harness::{TestApp, spawn_app};
use reqwest::Method;
use serde_json::{Value, json};

use super::conversations::{call, text_saying as text};
use super::routing_faults::{ready, settle, wait_offers};

/// Team `support` (queue `inbound`) with agents Ann and Bob and supervisor Sue; Bob speaks
/// Spanish at level 3; the queue sends texts saying "español" to Spanish speakers (level 2).
async fn bilingual_floor() -> (TestApp, String, String, String) {
    let app = spawn_app().await;
    let tokens = app
        .two_teams(&[
            ("ann", "support", "agent"),
            ("bob", "support", "agent"),
            ("sue", "support", "supervisor"),
        ])
        .await;
    app.patch("/v1/agents/bob", json!({"skills": {"spanish": 3}}))
        .await
        .expect_status(200);
    let queue = app
        .patch(
            "/v1/queues/inbound",
            json!({"keyword_skills": [{"keyword": "español", "skill": "spanish", "min_level": 2}]}),
        )
        .await;
    queue.expect_status(200);
    assert_eq!(queue.body["keyword_skills"][0]["skill"], "spanish");
    let [ann, bob, sue] = <[String; 3]>::try_from(tokens).expect("three tokens");
    (app, ann, bob, sue)
}

async fn routing(app: &TestApp, token: &str, conversation: &str) -> harness::Answer {
    call(
        app,
        token,
        Method::GET,
        &format!("/v1/conversations/{conversation}/routing"),
        None,
    )
    .await
}

#[tokio::test]
async fn a_conversation_asking_for_spanish_goes_to_the_spanish_speaker_and_the_trace_says_why() {
    let (app, ann, bob, sue) = bilingual_floor().await;
    // Ann is ready first, so longest idle would pick her.
    ready(&app, &ann, "ann").await;
    ready(&app, &bob, "bob").await;
    let mut sue_ws = app.ws(&sue).await;

    let spanish = text(&app, "+15550001111", "Hola, ¿hablan ESPAÑOL?").await;
    let offered = wait_offers(&app, &bob, "bob", 1).await;
    assert_eq!(offered[0].1, spanish);
    let conversation = app.get(&format!("/v1/conversations/{spanish}")).await;
    assert_eq!(
        conversation.body["required_skills"],
        json!([{"skill": "spanish", "min_level": 2}])
    );

    // offer.created carries the short reason.
    let created = sue_ws.next_of("offer.created").await;
    let reason = created["data"]["reason"].as_str().unwrap();
    assert_eq!(
        reason, "longest_idle among 1 of 2 ready agents with spanish>=2",
        "{created}"
    );

    // The supervisor reads the whole decision; Ann was kept out for want of spanish.
    let history = routing(&app, &sue, &spanish).await;
    history.expect_status(200);
    let decision: &Value = &history.body["items"][0];
    assert_eq!(decision["agent_id"], "bob");
    assert_eq!(decision["selection"], "longest_idle");
    assert_eq!(decision["reason"], reason);
    assert_eq!(
        decision["required_skills"],
        json!([{"skill": "spanish", "min_level": 2}])
    );
    assert_eq!(decision["escalation_step"], 0);
    assert_eq!(
        (
            decision["ready_agents"].as_u64(),
            decision["qualified_agents"].as_u64()
        ),
        (Some(2), Some(1))
    );
    let ann_excluded = decision["excluded"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["agent_id"] == "ann")
        .expect("ann is listed")
        .clone();
    assert_eq!(
        ann_excluded,
        json!({"agent_id": "ann", "rule": "missing_skill", "skill": "spanish", "required_level": 2, "level": 0})
    );
    assert_eq!(decision["excluded_counts"]["missing_skill"], 1);
    // The chosen agent is never listed as excluded.
    assert!(
        decision["excluded"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["agent_id"] != "bob")
    );

    // Agents do not read routing histories; strangers get 404.
    routing(&app, &ann, &spanish)
        .await
        .expect_error(403, "forbidden");
    routing(&app, &sue, "cv_nope")
        .await
        .expect_error(404, "not_found");

    // A text without the keyword needs nothing: Ann (idle longest) gets it.
    let plain = text(&app, "+15550002222", "Where is my order?").await;
    let offered = wait_offers(&app, &ann, "ann", 1).await;
    assert_eq!(offered[0].1, plain);
    let plain_history = routing(&app, &sue, &plain).await;
    assert_eq!(plain_history.body["items"][0]["required_skills"], json!([]));
}

#[tokio::test]
async fn a_supervisor_changes_what_a_waiting_conversation_needs_and_it_is_rerouted() {
    let (app, ann, _bob, sue) = bilingual_floor().await;
    ready(&app, &ann, "ann").await;
    // Bob is not here: a Spanish-speaking customer waits, though Ann is free.
    let waiting = text(&app, "+15550001111", "español por favor").await;
    settle().await;
    assert!(wait_offers(&app, &ann, "ann", 0).await.is_empty());

    // Ann may not change a conversation she does not own.
    let path = format!("/v1/conversations/{waiting}");
    call(
        &app,
        &ann,
        Method::PATCH,
        &path,
        Some(json!({"required_skills": []})),
    )
    .await
    .expect_error(403, "forbidden");
    // Bad skills are refused with the field, changing nothing.
    let bad = call(
        &app,
        &sue,
        Method::PATCH,
        &path,
        Some(json!({"required_skills": [{"skill": "spanish", "min_level": 9}]})),
    )
    .await;
    bad.expect_status(400);
    assert_eq!(
        bad.body["details"]["field"], "required_skills[0].min_level",
        "{}",
        bad.body
    );
    // The supervisor drops the requirement: Ann is offered it at once.
    let changed = call(
        &app,
        &sue,
        Method::PATCH,
        &path,
        Some(json!({"required_skills": []})),
    )
    .await;
    changed.expect_status(200);
    assert_eq!(changed.body["required_skills"], json!([]));
    let offered = wait_offers(&app, &ann, "ann", 1).await;
    assert_eq!(offered[0].1, waiting);
}

#[tokio::test]
async fn skill_settings_are_validated_field_by_field_and_bad_ones_change_nothing() {
    let app = spawn_app().await;
    app.two_teams(&[("ann", "support", "agent")]).await;
    let refused = |answer: harness::Answer, field: &str| {
        answer.expect_status(400);
        assert_eq!(answer.body["details"]["field"], field, "{}", answer.body);
    };
    refused(
        app.patch("/v1/agents/ann", json!({"skills": {"spanish": 6}}))
            .await,
        "skills.spanish",
    );
    refused(
        app.patch("/v1/agents/ann", json!({"skills": {"Spanish": 2}}))
            .await,
        "skills.Spanish",
    );
    refused(
        app.patch(
            "/v1/queues/inbound",
            json!({"escalation": [{"after_secs": 60, "overflow_to": "deals"}, {"after_secs": 120, "relax": "any_skill"}]}),
        )
        .await,
        "escalation[0].overflow_to",
    );
    refused(
        app.patch(
            "/v1/queues/inbound",
            json!({"escalation": [{"after_secs": 60, "relax": "any_level"}, {"after_secs": 60, "relax": "any_skill"}]}),
        )
        .await,
        "escalation[1].after_secs",
    );
    refused(
        app.patch(
            "/v1/queues/inbound",
            json!({"escalation": [{"after_secs": 60, "relax": "any_level", "overflow_to": "deals"}]}),
        )
        .await,
        "escalation[0]",
    );
    refused(
        app.patch(
            "/v1/queues/inbound",
            json!({"required_skills": [{"skill": "a"}, {"skill": "a"}]}),
        )
        .await,
        "required_skills[1]",
    );
    // An overflow to a queue that does not exist is refused; to one that does, kept — and
    // that queue cannot be deleted while it is the overflow.
    let missing = app
        .patch(
            "/v1/queues/inbound",
            json!({"escalation": [{"after_secs": 180, "overflow_to": "nowhere"}]}),
        )
        .await;
    assert!(missing.status.is_client_error(), "{}", missing.body);
    let kept = app
        .patch(
            "/v1/queues/inbound",
            json!({"escalation": [{"after_secs": 60, "relax": "any_level"}, {"after_secs": 180, "overflow_to": "deals"}]}),
        )
        .await;
    kept.expect_status(200);
    assert_eq!(
        kept.body["escalation"],
        json!([{"after_secs": 60, "relax": "any_level"}, {"after_secs": 180, "overflow_to": "deals"}])
    );
    let held = app.delete("/v1/queues/deals").await;
    assert_eq!(held.status.as_u16(), 409, "{}", held.body);
    // Nothing refused above changed the agent.
    let ann = app.get("/v1/agents/ann").await;
    assert_eq!(ann.body["skills"], json!({}));
}
