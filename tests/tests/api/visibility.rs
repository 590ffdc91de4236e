//! The visibility matrix: every agent-work route, called by every kind of caller, answers
//! what that caller may know — 403 for what it sees but may not do, 404 for what it may not
//! see, exactly as for an id that does not exist — and another team's refused calls change
//! nothing.

use harness::{ADMIN_TOKEN, TestApp, spawn_app};
use reqwest::Method;
use serde_json::{Value, json};

use super::conversations::{ann_takes_one, call, owned_by};

/// Callers, in the order of every row's expectations (0 in a row: not called).
const CALLERS: [&str; 6] = ["admin", "ann", "bob", "sue", "eve", "sam"];

struct Floor {
    app: TestApp,
    tokens: Vec<String>,
    conversation: String,
}

/// Support: agents Ann (owns a conversation) and Bob, supervisor Sue. Sales: agent Eve,
/// supervisor Sam.
async fn floor() -> Floor {
    let app = spawn_app().await;
    let issued = app
        .two_teams(&[
            ("ann", "support", "agent"),
            ("bob", "support", "agent"),
            ("sue", "support", "supervisor"),
            ("eve", "sales", "agent"),
            ("sam", "sales", "supervisor"),
        ])
        .await;
    app.post(
        "/v1/dispositions",
        json!({"code": "resolved", "label": "Resolved"}),
    )
    .await
    .expect_status(201);
    app.post(
        "/v1/inbound",
        json!({"from": "+15550001111", "to": "+15550102000", "body": "Hi"}),
    )
    .await
    .expect_status(200);
    let conversation = ann_takes_one(&app, &issued[0]).await;
    owned_by(&app, &issued[0], &conversation, "ann").await;
    let mut tokens = vec![ADMIN_TOKEN.to_owned()];
    tokens.extend(issued);
    Floor {
        app,
        tokens,
        conversation,
    }
}

#[tokio::test]
async fn every_route_answers_each_caller_what_it_may_know() {
    let f = floor().await;
    let c = f.conversation.clone();
    let phone = "+15550001111";
    let available = json!({"presence": "available"});
    let logins = json!({"queue_ids": ["inbound"]});
    // (method, path, body, expected status per caller: admin, ann, bob, sue, eve, sam)
    let rows: Vec<(Method, String, Option<Value>, [u16; 6])> = vec![
        (
            Method::GET,
            "/v1/agents/ann".into(),
            None,
            [200, 200, 403, 200, 404, 404],
        ),
        (
            Method::GET,
            "/v1/agents/ann/presence".into(),
            None,
            [200, 200, 403, 200, 404, 404],
        ),
        (
            Method::PUT,
            "/v1/agents/ann/presence".into(),
            Some(available),
            [200, 200, 403, 200, 404, 404],
        ),
        (
            Method::PUT,
            "/v1/agents/ann/queues".into(),
            Some(logins),
            [200, 200, 403, 200, 404, 404],
        ),
        (
            Method::GET,
            "/v1/queues/inbound/stats".into(),
            None,
            [200, 200, 200, 200, 404, 404],
        ),
        (
            Method::GET,
            "/v1/conversations".into(),
            None,
            [200, 200, 200, 200, 200, 200],
        ),
        (
            Method::GET,
            format!("/v1/conversations/{c}"),
            None,
            [200, 200, 200, 200, 404, 404],
        ),
        (
            Method::GET,
            format!("/v1/conversations/{c}/messages"),
            None,
            [200, 200, 200, 200, 404, 404],
        ),
        (
            Method::GET,
            format!("/v1/conversations/{c}/templates"),
            None,
            [200, 200, 200, 200, 404, 404],
        ),
        (
            Method::POST,
            format!("/v1/conversations/{c}/notes"),
            Some(json!({"body": "consult"})),
            [403, 201, 201, 201, 404, 404],
        ),
        (
            Method::POST,
            format!("/v1/conversations/{c}/read"),
            None,
            [403, 200, 200, 200, 404, 404],
        ),
        (
            Method::POST,
            format!("/v1/conversations/{c}/messages"),
            Some(json!({"body": "Hello"})),
            [403, 201, 403, 403, 404, 404],
        ),
        (
            Method::POST,
            format!("/v1/conversations/{c}/dispositions"),
            Some(json!({"code": "resolved"})),
            [403, 200, 403, 403, 404, 404],
        ),
        (
            Method::POST,
            format!("/v1/conversations/{c}/claim"),
            None,
            [403, 409, 409, 409, 404, 404],
        ),
        (
            Method::POST,
            format!("/v1/conversations/{c}/transfer"),
            Some(json!({"to_queue": "deals"})),
            // Ann (0) is left out: her transfer would move it to sales for the rows after.
            [403, 0, 403, 403, 404, 404],
        ),
        (
            Method::GET,
            format!("/v1/contacts/{phone}"),
            None,
            [200, 200, 200, 200, 404, 404],
        ),
        (
            Method::PATCH,
            format!("/v1/contacts/{phone}"),
            Some(json!({"name": "Maria"})),
            [200, 200, 200, 200, 404, 404],
        ),
        (
            Method::GET,
            format!("/v1/contacts/{phone}/conversations"),
            None,
            [200, 200, 200, 200, 404, 404],
        ),
        (
            Method::GET,
            "/v1/chat/bob/messages".into(),
            None,
            [403, 200, 404, 200, 404, 404],
        ),
        (
            Method::POST,
            "/v1/chat/bob/messages".into(),
            Some(json!({"body": "hi"})),
            [403, 201, 404, 201, 404, 404],
        ),
        (
            Method::POST,
            "/v1/offers/of_inbound_999/accept".into(),
            None,
            [403, 409, 409, 409, 409, 409],
        ),
        (
            Method::POST,
            "/v1/conversations".into(),
            Some(json!({"to": "+15550009999", "number": "+15550102000", "body": "Hi"})),
            [403, 201, 201, 201, 404, 404],
        ),
    ];
    let mut wrong = Vec::new();
    for (method, path, body, expected) in &rows {
        for (i, token) in f.tokens.iter().enumerate() {
            if expected[i] == 0 {
                continue;
            }
            let answer = call(&f.app, token, method.clone(), path, body.clone()).await;
            let got = answer.status.as_u16();
            if got != expected[i] {
                wrong.push(format!(
                    "{method} {path} as {}: {got} (expected {}) {}",
                    CALLERS[i], expected[i], answer.body
                ));
            }
            if got == 201 && path == "/v1/conversations" {
                // Close it again so the next caller can start one with the same customer.
                let id = answer.body["conversation"]["id"]
                    .as_str()
                    .unwrap()
                    .to_owned();
                for step in ["dispositions", "complete"] {
                    call(
                        &f.app,
                        token,
                        Method::POST,
                        &format!("/v1/conversations/{id}/{step}"),
                        (step == "dispositions").then(|| json!({"code": "resolved"})),
                    )
                    .await;
                }
            }
            if got >= 400 {
                // Every refusal is the API's error shape with a stable code.
                assert!(
                    answer.body["code"].is_string(),
                    "{method} {path}: {}",
                    answer.body
                );
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "unexpected answers:\n{}",
        wrong.join("\n")
    );
}

#[tokio::test]
async fn another_teams_ids_look_exactly_like_made_up_ones() {
    let f = floor().await;
    let eve = &f.tokens[4];
    let c = &f.conversation;
    for (real, made_up) in [
        (
            format!("/v1/conversations/{c}"),
            "/v1/conversations/cv_01jdzzzzzzzzzzzzzzzzzzzzzz".to_owned(),
        ),
        ("/v1/agents/ann".to_owned(), "/v1/agents/nobody".to_owned()),
        (
            "/v1/queues/inbound/stats".to_owned(),
            "/v1/queues/nothing/stats".to_owned(),
        ),
        (
            "/v1/contacts/+15550001111".to_owned(),
            "/v1/contacts/+15550009999".to_owned(),
        ),
    ] {
        let a = call(&f.app, eve, Method::GET, &real, None).await;
        let b = call(&f.app, eve, Method::GET, &made_up, None).await;
        a.expect_error(404, "not_found");
        b.expect_error(404, "not_found");
        let shape = |v: &Value| {
            (
                v["code"].clone(),
                v["details"]
                    .as_object()
                    .map(|d| d.keys().cloned().collect::<Vec<_>>()),
            )
        };
        assert_eq!(shape(&a.body), shape(&b.body), "{real} vs {made_up}");
    }
    // Lists and searches by another team's ids return nothing rather than an error.
    let list = call(
        &f.app,
        eve,
        Method::GET,
        "/v1/conversations?view=all&queue=inbound&agent=ann&q=1111",
        None,
    )
    .await;
    list.expect_status(200);
    assert_eq!(list.body["items"], json!([]));
}

#[tokio::test]
async fn another_teams_refused_actions_change_nothing() {
    let f = floor().await;
    let c = &f.conversation;
    let before_conversation = f.app.get(&format!("/v1/conversations/{c}")).await.body;
    let before_thread = f
        .app
        .get(&format!("/v1/conversations/{c}/messages"))
        .await
        .body;
    let before_agent = f.app.get("/v1/agents/ann").await.body;
    for token in [&f.tokens[4], &f.tokens[5]] {
        for (method, path, body) in [
            (
                Method::POST,
                format!("/v1/conversations/{c}/messages"),
                Some(json!({"body": "x"})),
            ),
            (
                Method::POST,
                format!("/v1/conversations/{c}/notes"),
                Some(json!({"body": "x"})),
            ),
            (Method::POST, format!("/v1/conversations/{c}/claim"), None),
            (
                Method::POST,
                format!("/v1/conversations/{c}/complete"),
                None,
            ),
            (
                Method::POST,
                format!("/v1/conversations/{c}/snooze"),
                Some(json!({"until": "2999-01-01T00:00:00Z"})),
            ),
            (
                Method::POST,
                format!("/v1/conversations/{c}/transfer"),
                Some(json!({"to_queue": "deals"})),
            ),
            (Method::POST, format!("/v1/conversations/{c}/read"), None),
            (
                Method::PUT,
                "/v1/agents/ann/presence".to_owned(),
                Some(json!({"presence": "away"})),
            ),
            (
                Method::PUT,
                "/v1/agents/ann/queues".to_owned(),
                Some(json!({"queue_ids": []})),
            ),
            (
                Method::PATCH,
                "/v1/contacts/+15550001111".to_owned(),
                Some(json!({"name": "x"})),
            ),
        ] {
            call(&f.app, token, method, &path, body)
                .await
                .expect_error(404, "not_found");
        }
    }
    assert_eq!(
        f.app.get(&format!("/v1/conversations/{c}")).await.body,
        before_conversation
    );
    assert_eq!(
        f.app
            .get(&format!("/v1/conversations/{c}/messages"))
            .await
            .body,
        before_thread
    );
    assert_eq!(f.app.get("/v1/agents/ann").await.body, before_agent);
    assert_eq!(
        f.app.get("/v1/contacts/+15550001111").await.body["name"],
        Value::Null
    );
}

#[tokio::test]
async fn bad_input_to_work_routes_is_refused_with_its_code_and_changes_nothing() {
    let f = floor().await;
    let ann = &f.tokens[1];
    let c = &f.conversation;
    let before = snapshot(&f.app, c).await;
    let cases: Vec<(Method, String, Value, u16, &str)> = vec![
        // Wrong types.
        (
            Method::PUT,
            "/v1/agents/ann/presence".into(),
            json!({"presence": 1}),
            400,
            "invalid_type",
        ),
        (
            Method::PUT,
            "/v1/agents/ann/queues".into(),
            json!({"queue_ids": "inbound"}),
            400,
            "invalid_type",
        ),
        (
            Method::POST,
            format!("/v1/conversations/{c}/messages"),
            json!({"body": ["hi"]}),
            400,
            "invalid_type",
        ),
        (
            Method::POST,
            format!("/v1/conversations/{c}/snooze"),
            json!({"until": 5}),
            400,
            "invalid_type",
        ),
        (
            Method::POST,
            format!("/v1/conversations/{c}/read"),
            json!({"up_to": 3}),
            400,
            "invalid_type",
        ),
        // Unknown fields.
        (
            Method::PUT,
            "/v1/agents/ann/presence".into(),
            json!({"presence": "away", "mood": "x"}),
            400,
            "unknown_field",
        ),
        (
            Method::POST,
            format!("/v1/conversations/{c}/notes"),
            json!({"body": "x", "private": true}),
            400,
            "unknown_field",
        ),
        (
            Method::POST,
            format!("/v1/conversations/{c}/transfer"),
            json!({"to_queue": "deals", "urgent": true}),
            400,
            "unknown_field",
        ),
        (
            Method::POST,
            format!("/v1/conversations/{c}/dispositions"),
            json!({"code": "resolved", "tag": "x"}),
            400,
            "unknown_field",
        ),
        // Missing fields.
        (
            Method::PUT,
            "/v1/agents/ann/presence".into(),
            json!({}),
            400,
            "missing_field",
        ),
        (
            Method::POST,
            format!("/v1/conversations/{c}/notes"),
            json!({}),
            400,
            "missing_field",
        ),
        (
            Method::POST,
            format!("/v1/conversations/{c}/snooze"),
            json!({}),
            400,
            "missing_field",
        ),
        (
            Method::POST,
            format!("/v1/conversations/{c}/dispositions"),
            json!({}),
            400,
            "missing_field",
        ),
        // Values out of range.
        (
            Method::PUT,
            "/v1/agents/ann/presence".into(),
            json!({"presence": "asleep"}),
            400,
            "invalid_value",
        ),
        (
            Method::POST,
            format!("/v1/conversations/{c}/snooze"),
            json!({"until": "2000-01-01T00:00:00Z"}),
            422,
            "snooze_in_past",
        ),
        (
            Method::POST,
            format!("/v1/conversations/{c}/dispositions"),
            json!({"code": "no-such-code"}),
            404,
            "not_found",
        ),
        (
            Method::POST,
            format!("/v1/conversations/{c}/transfer"),
            json!({"mode": "warm", "to_queue": "deals"}),
            400,
            "invalid_value",
        ),
        // Stale offers and other teams' ids.
        (
            Method::POST,
            "/v1/offers/of_inbound_1/accept".into(),
            json!(null),
            409,
            "stale_offer",
        ),
        (
            Method::POST,
            "/v1/offers/of_deals_1/reject".into(),
            json!(null),
            409,
            "stale_offer",
        ),
        (
            Method::PUT,
            "/v1/agents/ann/queues".into(),
            json!({"queue_ids": ["deals"]}),
            404,
            "not_found",
        ),
        (
            Method::PUT,
            "/v1/agents/eve/presence".into(),
            json!({"presence": "away"}),
            404,
            "not_found",
        ),
        (
            Method::POST,
            format!("/v1/conversations/{c}/transfer"),
            json!({"to_agent": "eve"}),
            404,
            "not_found",
        ),
    ];
    let mut wrong = Vec::new();
    for (method, path, body, status, code) in &cases {
        let body = (!body.is_null()).then(|| body.clone());
        let answer = call(&f.app, ann, method.clone(), path, body.clone()).await;
        if answer.status.as_u16() != *status || answer.body["code"] != *code {
            wrong.push(format!(
                "{method} {path} {body:?}: {} {}",
                answer.status, answer.body
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "unexpected answers:\n{}",
        wrong.join("\n")
    );
    assert_eq!(
        snapshot(&f.app, c).await,
        before,
        "a refused request changed something"
    );
}

/// What a refused request must not change: the conversation, its thread, Ann, the list.
async fn snapshot(app: &TestApp, c: &str) -> (Value, Value, Value, Value) {
    (
        app.get(&format!("/v1/conversations/{c}")).await.body,
        app.get(&format!("/v1/conversations/{c}/messages"))
            .await
            .body,
        app.get("/v1/agents/ann").await.body,
        app.get("/v1/conversations?view=all").await.body,
    )
}

/// `GET /v1/agents` for a supervisor is its teams' floor, with each agent's routing state;
/// the admin gets the configuration list, or a team's floor with `team=`; an agent is refused.
#[tokio::test]
async fn a_supervisor_lists_only_its_teams_agents_with_their_state() {
    use reqwest::Method;
    let app = harness::spawn_app().await;
    let tokens = app
        .two_teams(&[
            ("ann", "support", "agent"),
            ("sue", "support", "supervisor"),
            ("eve", "sales", "agent"),
        ])
        .await;
    let (ann, sue) = (&tokens[0], &tokens[1]);
    app.request(
        Method::PUT,
        "/v1/agents/ann/presence",
        Some(ann),
        Some(&serde_json::json!({"presence": "available"})),
    )
    .await
    .expect_status(200);
    let ids = |answer: &harness::Answer| -> Vec<String> {
        answer.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let floor = app
        .request(Method::GET, "/v1/agents", Some(sue), None)
        .await;
    floor.expect_status(200);
    assert_eq!(ids(&floor), ["ann", "sue"]);
    assert_eq!(floor.body["items"][0]["state"]["presence"], "available");
    assert!(floor.body["items"][0]["state"]["presence_since"].is_string());
    assert_eq!(
        floor.body["items"][0]["team_ids"],
        serde_json::json!(["support"])
    );
    let one = app
        .request(Method::GET, "/v1/agents?team=support", Some(sue), None)
        .await;
    assert_eq!(ids(&one), ["ann", "sue"]);
    // Paged like every list.
    let first = app
        .request(Method::GET, "/v1/agents?limit=1", Some(sue), None)
        .await;
    assert_eq!(ids(&first), ["ann"]);
    let cursor = first.body["next_cursor"].as_str().unwrap().to_owned();
    let second = app
        .request(
            Method::GET,
            &format!("/v1/agents?limit=1&cursor={cursor}"),
            Some(sue),
            None,
        )
        .await;
    assert_eq!(ids(&second), ["sue"]);
    assert!(second.body["next_cursor"].is_null());
    // Another team is not there, whether it exists or not.
    app.request(Method::GET, "/v1/agents?team=sales", Some(sue), None)
        .await
        .expect_error(404, "not_found");
    app.request(Method::GET, "/v1/agents?team=nowhere", Some(sue), None)
        .await
        .expect_error(404, "not_found");
    app.request(Method::GET, "/v1/agents", Some(ann), None)
        .await
        .expect_error(403, "forbidden");
    app.request(Method::GET, "/v1/agents?team=no%20id", Some(sue), None)
        .await
        .expect_error(400, "invalid_query");
    app.request(Method::GET, "/v1/agents?teams=support", Some(sue), None)
        .await
        .expect_error(400, "invalid_query");
    // The admin: configuration only, or a team's floor.
    let all = app.get("/v1/agents").await;
    assert_eq!(ids(&all), ["ann", "eve", "sue"]);
    assert!(all.body["items"][0].get("state").is_none());
    let sales = app.get("/v1/agents?team=sales").await;
    assert_eq!(ids(&sales), ["eve"]);
    assert_eq!(sales.body["items"][0]["state"]["presence"], "offline");
}
