//! Routing faults found from outside, each driven through HTTP and the websocket against
//! Redis: configuration edits reach routing without a restart, leaving `available` rescinds
//! offers, longest-idle spreads work, the missed-offer policy is the queue's, stale offers say why, a snooze in the past is a
//! validation error, and a conversation's own priority puts it ahead in line.

use std::time::{Duration, Instant};

use harness::{TestApp, spawn_app};
use reqwest::Method;
use serde_json::{Value, json};

use super::conversations::{ann_takes_one, call, owned_by, text};

/// Team `support` (queue `inbound`) with Ann, Bob and Cat; team `sales` with Eve; the code
/// `resolved`. Returns the app and the tokens of Ann, Bob, Cat and Eve.
pub(crate) async fn floor() -> (TestApp, [String; 4]) {
    let app = spawn_app().await;
    let tokens = app
        .two_teams(&[
            ("ann", "support", "agent"),
            ("bob", "support", "agent"),
            ("cat", "support", "agent"),
            ("eve", "sales", "agent"),
        ])
        .await;
    app.post(
        "/v1/dispositions",
        json!({"code": "resolved", "label": "Resolved"}),
    )
    .await
    .expect_status(201);
    (app, <[String; 4]>::try_from(tokens).expect("four tokens"))
}

pub(crate) async fn presence(app: &TestApp, token: &str, agent: &str, presence: &str) {
    call(
        app,
        token,
        Method::PUT,
        &format!("/v1/agents/{agent}/presence"),
        Some(json!({"presence": presence})),
    )
    .await
    .expect_status(200);
}

pub(crate) async fn log_in(app: &TestApp, token: &str, agent: &str, queues: &[&str]) {
    call(
        app,
        token,
        Method::PUT,
        &format!("/v1/agents/{agent}/queues"),
        Some(json!({"queue_ids": queues})),
    )
    .await
    .expect_status(200);
}

/// Logs `agent` into `inbound` and makes it available.
pub(crate) async fn ready(app: &TestApp, token: &str, agent: &str) {
    log_in(app, token, agent, &["inbound"]).await;
    presence(app, token, agent, "available").await;
}

pub(crate) async fn state(app: &TestApp, token: &str, agent: &str) -> Value {
    let answer = call(
        app,
        token,
        Method::GET,
        &format!("/v1/agents/{agent}/presence"),
        None,
    )
    .await;
    answer.expect_status(200);
    answer.body
}

/// Waits until `agent`'s state satisfies `done`; returns it.
pub(crate) async fn wait_state(
    app: &TestApp,
    token: &str,
    agent: &str,
    what: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let now = state(app, token, agent).await;
        if done(&now) {
            return now;
        }
        assert!(Instant::now() < deadline, "{agent} never {what}: {now}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub(crate) fn offers(state: &Value) -> Vec<(String, String)> {
    state["offers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["offer_id"].as_str().unwrap().to_owned(),
                o["conversation_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

pub(crate) async fn wait_offers(
    app: &TestApp,
    token: &str,
    agent: &str,
    n: usize,
) -> Vec<(String, String)> {
    offers(
        &wait_state(app, token, agent, &format!("had {n} offers"), |s| {
            offers(s).len() == n
        })
        .await,
    )
}

pub(crate) async fn answer(app: &TestApp, token: &str, offer: &str, verb: &str) -> harness::Answer {
    call(
        app,
        token,
        Method::POST,
        &format!("/v1/offers/{offer}/{verb}"),
        None,
    )
    .await
}

/// Lets in-flight routing messages land, so that "nothing more happened" is meaningful.
pub(crate) async fn settle() {
    tokio::time::sleep(Duration::from_millis(300)).await;
}

#[tokio::test]
async fn capacity_edits_apply_to_the_next_decision_without_a_restart() {
    let (app, [ann, ..]) = floor().await;
    ready(&app, &ann, "ann").await;
    app.patch("/v1/agents/ann", json!({"capacity": 1}))
        .await
        .expect_status(200);
    for from in ["+15550001111", "+15550002222", "+15550003333"] {
        text(&app, from).await;
    }
    let first = wait_offers(&app, &ann, "ann", 1).await;
    settle().await;
    let now = state(&app, &ann, "ann").await;
    assert_eq!(now["capacity"], 1);
    assert_eq!(
        offers(&now).len(),
        1,
        "capacity 1 means one at a time: {now}"
    );

    // Raised to 3: two more offers at once.
    app.patch("/v1/agents/ann", json!({"capacity": 3}))
        .await
        .expect_status(200);
    wait_offers(&app, &ann, "ann", 3).await;

    // Lowered below the load: nothing is taken away, nothing new is offered.
    answer(&app, &ann, &first[0].0, "accept")
        .await
        .expect_status(204);
    app.patch("/v1/agents/ann", json!({"capacity": 1}))
        .await
        .expect_status(200);
    text(&app, "+15550004444").await;
    settle().await;
    let now = state(&app, &ann, "ann").await;
    assert_eq!(now["load"], 3, "{now}");
    assert_eq!(offers(&now).len(), 2, "{now}");

    // The same holds across away and back.
    presence(&app, &ann, "ann", "away").await;
    presence(&app, &ann, "ann", "available").await;
    settle().await;
    let now = state(&app, &ann, "ann").await;
    assert_eq!(now["capacity"], 1);
    assert_eq!(now["load"], 1, "only the owned one is left: {now}");
    assert!(offers(&now).is_empty(), "{now}");
}

#[tokio::test]
async fn queue_setting_edits_apply_without_a_restart() {
    let (app, [ann, bob, ..]) = floor().await;
    // The queue is running (agents logged in) before its settings change.
    ready(&app, &ann, "ann").await;
    ready(&app, &bob, "bob").await;
    app.patch(
        "/v1/queues/inbound",
        json!({"strategy": "broadcast", "offer_timeout_secs": 1, "missed_offers_before_away": 0}),
    )
    .await
    .expect_status(200);
    let conversation = text(&app, "+15550001111").await;
    // Broadcast: both are offered it at once.
    let ann_offer = wait_offers(&app, &ann, "ann", 1).await;
    let bob_offer = wait_offers(&app, &bob, "bob", 1).await;
    assert_eq!(ann_offer[0].1, conversation);
    assert_eq!(bob_offer[0].1, conversation);
    // The offers expire after the new timeout: `wait_state` gives up after 5 s, well before
    // the default 30 s would have let them go.
    wait_state(&app, &ann, "ann", "saw the offer expire", |s| {
        !offers(s).iter().any(|(o, _)| *o == ann_offer[0].0)
    })
    .await;
    // Missed offers never set an agent away with the queue's policy at 0.
    assert_eq!(state(&app, &ann, "ann").await["presence"], "available");
}

#[tokio::test]
async fn going_away_or_offline_rescinds_pending_offers_and_reoffers_them() {
    let (app, [ann, bob, ..]) = floor().await;
    let mut ann_ws = app.ws(&ann).await;
    ready(&app, &ann, "ann").await;
    let conversation = text(&app, "+15550001111").await;
    let offer = wait_offers(&app, &ann, "ann", 1).await[0].0.clone();
    ready(&app, &bob, "bob").await;

    presence(&app, &ann, "ann", "away").await;
    let rescinded = ann_ws.next_of("offer.rescinded").await;
    assert_eq!(rescinded["data"]["offer_id"], offer.as_str());
    assert_eq!(rescinded["data"]["reason"], "agent_away");
    // An offer taken back cannot be accepted, and says why.
    let late = answer(&app, &ann, &offer, "accept").await;
    late.expect_error(409, "stale_offer");
    assert_eq!(late.body["details"]["reason"], "rescinded");
    // Bob gets it instead.
    let bob_offer = wait_offers(&app, &bob, "bob", 1).await;
    assert_eq!(bob_offer[0].1, conversation);
    let ann_now = state(&app, &ann, "ann").await;
    assert_eq!(ann_now["load"], 0, "{ann_now}");

    // Offline too: Bob's offer goes back in line (nobody else is available).
    let mut bob_ws = app.ws(&bob).await;
    presence(&app, &bob, "bob", "offline").await;
    let rescinded = bob_ws.next_of("offer.rescinded").await;
    assert_eq!(rescinded["data"]["reason"], "agent_offline");
    answer(&app, &bob, &bob_offer[0].0, "accept")
        .await
        .expect_error(409, "stale_offer");
    let stats = call(&app, &ann, Method::GET, "/v1/queues/inbound/stats", None).await;
    assert_eq!(stats.body["waiting"], 1, "{}", stats.body);
    // Ann comes back and is offered it again.
    presence(&app, &ann, "ann", "available").await;
    let again = wait_offers(&app, &ann, "ann", 1).await;
    assert_eq!(again[0].1, conversation);
}

#[tokio::test]
async fn longest_idle_spreads_work_across_free_agents() {
    let (app, [ann, bob, cat, _]) = floor().await;
    for (token, agent) in [(&ann, "ann"), (&bob, "bob"), (&cat, "cat")] {
        ready(&app, token, agent).await;
        // Distinct idle times: Ann has been idle longest.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut order = Vec::new();
    for from in [
        "+15550001111",
        "+15550002222",
        "+15550003333",
        "+15550004444",
    ] {
        let conversation = text(&app, from).await;
        // Each text is offered before the next arrives, as on a floor at normal pace.
        let deadline = Instant::now() + Duration::from_secs(5);
        let agent = loop {
            let mut found = None;
            for (token, agent) in [(&ann, "ann"), (&bob, "bob"), (&cat, "cat")] {
                if offers(&state(&app, token, agent).await)
                    .iter()
                    .any(|(_, c)| *c == conversation)
                {
                    found = Some(agent);
                }
            }
            if let Some(agent) = found {
                break agent;
            }
            assert!(Instant::now() < deadline, "{conversation} never offered");
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        order.push(agent);
    }
    assert_eq!(order, ["ann", "bob", "cat", "ann"]);
}

#[tokio::test]
async fn the_missed_offer_policy_is_the_queues() {
    let (app, [ann, ..]) = floor().await;
    app.patch(
        "/v1/queues/inbound",
        json!({"offer_timeout_secs": 1, "missed_offers_before_away": 1}),
    )
    .await
    .expect_status(200);
    let queue = app.get("/v1/queues/inbound").await;
    assert_eq!(queue.body["missed_offers_before_away"], 1);
    ready(&app, &ann, "ann").await;
    let mut ann_ws = app.ws(&ann).await;
    text(&app, "+15550001111").await;
    let expired = ann_ws.next_of("offer.expired").await;
    let offer = expired["data"]["offer_id"].as_str().unwrap().to_owned();
    wait_state(&app, &ann, "ann", "was set away", |s| {
        s["presence"] == "away"
    })
    .await;
    let late = answer(&app, &ann, &offer, "accept").await;
    late.expect_error(409, "stale_offer");
    assert_eq!(late.body["details"]["reason"], "expired");
    app.patch(
        "/v1/queues/inbound",
        json!({"missed_offers_before_away": 101}),
    )
    .await
    .expect_error(400, "invalid_value");
}

#[tokio::test]
async fn stale_offers_say_why() {
    let (app, [ann, bob, ..]) = floor().await;
    ready(&app, &ann, "ann").await;
    text(&app, "+15550001111").await;
    let offer = wait_offers(&app, &ann, "ann", 1).await[0].0.clone();
    // Another agent's offer answers exactly as an unknown one: nothing says it exists.
    let theirs = answer(&app, &bob, &offer, "accept").await;
    theirs.expect_error(409, "stale_offer");
    assert_eq!(theirs.body["details"]["reason"], "unknown");
    let made_up = answer(&app, &bob, "of_inbound_999999", "accept").await;
    assert_eq!(
        theirs.body["message"]
            .as_str()
            .unwrap()
            .replace(&offer, "X"),
        made_up.body["message"]
            .as_str()
            .unwrap()
            .replace("of_inbound_999999", "X")
    );
    answer(&app, &ann, &offer, "accept")
        .await
        .expect_status(204);
    let again = answer(&app, &ann, &offer, "accept").await;
    again.expect_error(409, "stale_offer");
    assert_eq!(again.body["details"]["reason"], "taken");
    let never = answer(&app, &ann, "of_inbound_999999", "accept").await;
    never.expect_error(409, "stale_offer");
    assert_eq!(never.body["details"]["reason"], "unknown");
}

#[tokio::test]
async fn a_snooze_in_the_past_is_a_validation_error() {
    let (app, [ann, ..]) = floor().await;
    text(&app, "+15550001111").await;
    let conversation = ann_takes_one(&app, &ann).await;
    owned_by(&app, &ann, &conversation, "ann").await;
    let past = chrono::Utc::now() - chrono::Duration::minutes(5);
    let refused = call(
        &app,
        &ann,
        Method::POST,
        &format!("/v1/conversations/{conversation}/snooze"),
        Some(json!({"until": past.to_rfc3339()})),
    )
    .await;
    refused.expect_error(422, "snooze_in_past");
    assert_eq!(refused.body["details"]["field"], "until");
    owned_by(&app, &ann, &conversation, "ann").await;
}

#[tokio::test]
async fn a_conversations_own_priority_puts_it_ahead_of_older_ones() {
    let (app, [ann, bob, ..]) = floor().await;
    app.post(
        "/v1/agents",
        json!({"id": "sue", "name": "Sue", "team_ids": ["support"], "role": "supervisor"}),
    )
    .await
    .expect_status(201);
    let sue = app.issue_token("sue").await;
    app.patch("/v1/agents/ann", json!({"capacity": 1}))
        .await
        .expect_status(200);
    let oldest = text(&app, "+15550001111").await;
    let raised = text(&app, "+15550002222").await;
    // An urgent one arrives with its priority from the provider's side.
    let urgent = app
        .post(
            "/v1/inbound",
            json!({"from": "+15550003333", "to": "+15550102000", "body": "Urgent", "priority": 90}),
        )
        .await;
    urgent.expect_status(200);
    let urgent = urgent.body["conversation_id"].as_str().unwrap().to_owned();
    let path = format!("/v1/conversations/{raised}");
    // An agent who does not own it may not; a supervisor of the team may.
    call(
        &app,
        &bob,
        Method::PATCH,
        &path,
        Some(json!({"priority": 50})),
    )
    .await
    .expect_error(403, "forbidden");
    call(
        &app,
        &sue,
        Method::PATCH,
        &path,
        Some(json!({"priority": 101})),
    )
    .await
    .expect_error(400, "invalid_value");
    let patched = call(
        &app,
        &sue,
        Method::PATCH,
        &path,
        Some(json!({"priority": 50})),
    )
    .await;
    patched.expect_status(200);
    assert_eq!(patched.body["priority"], 50);
    let before = patched.body["waiting_since"].clone();

    // Served by priority, then by waiting since: urgent, raised, oldest.
    ready(&app, &ann, "ann").await;
    let mut served = Vec::new();
    for _ in 0..3 {
        let offer = wait_offers(&app, &ann, "ann", 1).await.remove(0);
        served.push(offer.1.clone());
        answer(&app, &ann, &offer.0, "accept")
            .await
            .expect_status(204);
        owned_by(&app, &ann, &offer.1, "ann").await;
        app.dispose_and_complete(&ann, &offer.1, "resolved").await;
    }
    assert_eq!(served, [urgent, raised.clone(), oldest]);
    let after = call(&app, &ann, Method::GET, &path, None).await;
    assert_eq!(
        after.body["waiting_since"], before,
        "its place in time is kept"
    );
}
