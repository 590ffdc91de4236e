//! Bad input: every refusal is a 4xx with a stable code and a JSON body naming the problem,
//! and leaves the store exactly as it was.

use harness::{TestApp, spawn_app};
use reqwest::Method;
use serde_json::json;

/// A populated app: team `support`, queue `inbound` on it, number on the queue, agent in the
/// team, a disposition and a template.
async fn populated() -> TestApp {
    let app = spawn_app().await;
    app.post("/v1/teams", json!({"id": "support", "name": "Support"}))
        .await
        .expect_status(201);
    app.post(
        "/v1/queues",
        json!({"id": "inbound", "name": "Inbound", "team_id": "support"}),
    )
    .await
    .expect_status(201);
    app.post(
        "/v1/numbers",
        json!({"id": "main", "phone": "+15550100000", "campaign": "Main", "queue_id": "inbound"}),
    )
    .await
    .expect_status(201);
    app.post(
        "/v1/agents",
        json!({"id": "ann", "name": "Ann", "team_ids": ["support"]}),
    )
    .await
    .expect_status(201);
    app.post(
        "/v1/dispositions",
        json!({"id": "resolved", "code": "resolved", "label": "Resolved"}),
    )
    .await
    .expect_status(201);
    app.post("/v1/templates", json!({"id": "hello", "name": "Hello", "body": "Hi {{contact.name}}", "scope": {"type": "queue", "queue_id": "inbound"}}))
        .await
        .expect_status(201);
    app
}

/// One refused request: method, path, body, then the status, code and `details.field` it
/// must answer with.
type Case<'a> = (
    Method,
    &'a str,
    serde_json::Value,
    u16,
    &'a str,
    Option<&'a str>,
);

/// Sends each request, checks its status, code and `details.field`, and that nothing changed.
async fn refused(app: &TestApp, cases: &[Case<'_>]) {
    let before = app.snapshot().await;
    for (method, path, body, status, code, field) in cases {
        let answer = app
            .request(method.clone(), path, Some(harness::ADMIN_TOKEN), Some(body))
            .await;
        answer.expect_error(*status, code);
        if let Some(field) = field {
            assert_eq!(
                answer.body["details"]["field"], *field,
                "{method} {path} {body}: {}",
                answer.body
            );
        }
    }
    assert_eq!(
        app.snapshot().await,
        before,
        "a refused request changed something"
    );
}

#[tokio::test]
async fn unknown_fields_are_refused() {
    let app = populated().await;
    refused(
        &app,
        &[
            (Method::POST, "/v1/teams", json!({"name": "X", "colour": "red"}), 400, "unknown_field", Some("colour")),
            (Method::POST, "/v1/queues", json!({"name": "X", "team_id": "support", "alerts": {"unclaimed_secs": 5, "loud": true}}), 400, "unknown_field", Some("alerts.loud")),
            (Method::PATCH, "/v1/agents/ann", json!({"nickname": "A"}), 400, "unknown_field", Some("nickname")),
            (Method::POST, "/v1/templates", json!({"name": "X", "body": "b", "scope": {"type": "global", "team_id": "support"}}), 400, "unknown_field", None),
            (Method::POST, "/v1/agents/ann/tokens", json!({"label": "x", "role": "admin"}), 400, "unknown_field", Some("role")),
        ],
    )
    .await;
}

#[tokio::test]
async fn invalid_values_are_refused() {
    let app = populated().await;
    refused(
        &app,
        &[
            (
                Method::POST,
                "/v1/numbers",
                json!({"phone": "5550100001", "campaign": "C", "queue_id": "inbound"}),
                400,
                "invalid_phone_number",
                Some("phone"),
            ),
            (
                Method::POST,
                "/v1/numbers",
                json!({"phone": "+1555abc", "campaign": "C", "queue_id": "inbound"}),
                400,
                "invalid_phone_number",
                Some("phone"),
            ),
            (
                Method::PATCH,
                "/v1/numbers/main",
                json!({"phone": "+0123"}),
                400,
                "invalid_phone_number",
                Some("phone"),
            ),
            (
                Method::POST,
                "/v1/queues",
                json!({"name": "X", "team_id": "support", "offer_timeout_secs": -5}),
                400,
                "invalid_value",
                Some("offer_timeout_secs"),
            ),
            (
                Method::POST,
                "/v1/queues",
                json!({"name": "X", "team_id": "support", "offer_timeout_secs": 0}),
                400,
                "invalid_value",
                Some("offer_timeout_secs"),
            ),
            (
                Method::PATCH,
                "/v1/queues/inbound",
                json!({"alerts": {"awaiting_reply_secs": -1}}),
                400,
                "invalid_value",
                Some("alerts.awaiting_reply_secs"),
            ),
            (
                Method::PATCH,
                "/v1/queues/inbound",
                json!({"priority": 101}),
                400,
                "invalid_value",
                Some("priority"),
            ),
            (
                Method::POST,
                "/v1/queues",
                json!({"name": "X", "team_id": "support", "strategy": "fastest"}),
                400,
                "invalid_value",
                Some("strategy"),
            ),
            (
                Method::POST,
                "/v1/teams",
                json!({"name": ""}),
                400,
                "invalid_value",
                Some("name"),
            ),
            (
                Method::POST,
                "/v1/teams",
                json!({"name": "   "}),
                400,
                "invalid_value",
                Some("name"),
            ),
            (
                Method::PATCH,
                "/v1/teams/support",
                json!({"name": ""}),
                400,
                "invalid_value",
                Some("name"),
            ),
            (
                Method::POST,
                "/v1/teams",
                json!({"id": "has space", "name": "X"}),
                400,
                "invalid_value",
                Some("id"),
            ),
            (
                Method::POST,
                "/v1/agents",
                json!({"name": "B", "capacity": 0}),
                400,
                "invalid_value",
                Some("capacity"),
            ),
            (
                Method::POST,
                "/v1/agents",
                json!({"name": "B", "team_ids": (0..51).map(|i| format!("t{i}")).collect::<Vec<_>>()}),
                400,
                "invalid_value",
                Some("team_ids"),
            ),
            (
                Method::POST,
                "/v1/agents",
                json!({"name": "B", "team_ids": ["bad id"]}),
                400,
                "invalid_value",
                Some("team_ids[0]"),
            ),
            (
                Method::POST,
                "/v1/agents",
                json!({"name": "B", "role": "admin"}),
                400,
                "invalid_value",
                Some("role"),
            ),
            (
                Method::POST,
                "/v1/dispositions",
                json!({"code": "Not A Slug", "label": "L"}),
                400,
                "invalid_value",
                Some("code"),
            ),
            (
                Method::POST,
                "/v1/templates",
                json!({"name": "X", "body": "Hi {{name"}),
                400,
                "invalid_value",
                Some("body"),
            ),
            (
                Method::POST,
                "/v1/templates",
                json!({"name": "X", "body": "b", "scope": {"type": "planet"}}),
                400,
                "invalid_value",
                None,
            ),
        ],
    )
    .await;
}

#[tokio::test]
async fn wrong_types_and_missing_fields_are_refused() {
    let app = populated().await;
    refused(
        &app,
        &[
            (
                Method::POST,
                "/v1/teams",
                json!({"name": 5}),
                400,
                "invalid_type",
                Some("name"),
            ),
            (
                Method::POST,
                "/v1/queues",
                json!({"name": "X", "team_id": "support", "offer_timeout_secs": "30"}),
                400,
                "invalid_type",
                Some("offer_timeout_secs"),
            ),
            (
                Method::POST,
                "/v1/queues",
                json!({"name": "X", "team_id": "support", "offer_timeout_secs": 2.5}),
                400,
                "invalid_type",
                Some("offer_timeout_secs"),
            ),
            (
                Method::PATCH,
                "/v1/queues/inbound",
                json!({"disposition_required": "yes"}),
                400,
                "invalid_type",
                Some("disposition_required"),
            ),
            (
                Method::POST,
                "/v1/teams",
                json!([]),
                400,
                "invalid_type",
                None,
            ),
            (
                Method::POST,
                "/v1/teams",
                json!({}),
                400,
                "missing_field",
                Some("name"),
            ),
            (
                Method::POST,
                "/v1/queues",
                json!({"name": "X"}),
                400,
                "missing_field",
                Some("team_id"),
            ),
            (
                Method::POST,
                "/v1/numbers",
                json!({"phone": "+15550100002", "queue_id": "inbound"}),
                400,
                "missing_field",
                Some("campaign"),
            ),
        ],
    )
    .await;
}

#[tokio::test]
async fn malformed_bodies_are_refused() {
    let app = populated().await;
    let before = app.snapshot().await;
    app.send_raw(Method::POST, "/v1/teams", "application/json", "{\"name\": ")
        .await
        .expect_error(400, "malformed_json");
    app.send_raw(Method::POST, "/v1/teams", "application/json", "")
        .await
        .expect_error(400, "malformed_json");
    app.send_raw(
        Method::POST,
        "/v1/teams",
        "application/json",
        "{\"name\":\"A\"} {}",
    )
    .await
    .expect_error(400, "malformed_json");
    app.send_raw(Method::POST, "/v1/teams", "text/plain", "{\"name\":\"A\"}")
        .await
        .expect_error(415, "unsupported_media_type");
    app.send_raw(
        Method::POST,
        "/v1/teams",
        "application/x-www-form-urlencoded",
        "name=A",
    )
    .await
    .expect_error(415, "unsupported_media_type");
    let huge: &'static str =
        Box::leak(format!("{{\"name\":\"{}\"}}", "a".repeat(70_000)).into_boxed_str());
    app.send_raw(Method::POST, "/v1/teams", "application/json", huge)
        .await
        .expect_error(413, "payload_too_large");
    assert_eq!(app.snapshot().await, before);
}

#[tokio::test]
async fn unknown_ids_are_404() {
    let app = populated().await;
    for collection in harness::COLLECTIONS {
        app.get(&format!("/v1/{collection}/missing"))
            .await
            .expect_error(404, "not_found");
        app.get(&format!("/v1/{collection}/not%20valid"))
            .await
            .expect_error(404, "not_found");
        app.patch(&format!("/v1/{collection}/missing"), json!({}))
            .await
            .expect_error(404, "not_found");
        app.delete(&format!("/v1/{collection}/missing"))
            .await
            .expect_error(404, "not_found");
    }
}

#[tokio::test]
async fn duplicates_are_409() {
    let app = populated().await;
    refused(
        &app,
        &[
            (Method::POST, "/v1/teams", json!({"id": "support", "name": "Another"}), 409, "already_exists", None),
            (Method::POST, "/v1/teams", json!({"name": "SUPPORT"}), 409, "value_taken", Some("name")),
            (Method::POST, "/v1/queues", json!({"name": "inbound", "team_id": "support"}), 409, "value_taken", Some("name")),
            (Method::POST, "/v1/numbers", json!({"phone": "+1 555 010 0000", "campaign": "C", "queue_id": "inbound"}), 409, "value_taken", Some("phone")),
            (Method::POST, "/v1/dispositions", json!({"code": "resolved", "label": "Again"}), 409, "value_taken", Some("code")),
            (Method::POST, "/v1/templates", json!({"name": "hello", "body": "b", "scope": {"type": "queue", "queue_id": "inbound"}}), 409, "value_taken", Some("scope_name")),
        ],
    )
    .await;
    let taken = app.post("/v1/teams", json!({"name": "Support"})).await;
    assert_eq!(taken.body["details"]["held_by"], "support");
}

#[tokio::test]
async fn references_must_exist() {
    let app = populated().await;
    refused(
        &app,
        &[
            (
                Method::POST,
                "/v1/queues",
                json!({"name": "Q", "team_id": "ghost"}),
                409,
                "reference_not_found",
                None,
            ),
            (
                Method::PATCH,
                "/v1/queues/inbound",
                json!({"team_id": "ghost"}),
                409,
                "reference_not_found",
                None,
            ),
            (
                Method::POST,
                "/v1/agents",
                json!({"name": "B", "team_ids": ["support", "ghost"]}),
                409,
                "reference_not_found",
                None,
            ),
            (
                Method::POST,
                "/v1/numbers",
                json!({"phone": "+15550100003", "campaign": "C", "queue_id": "ghost"}),
                409,
                "reference_not_found",
                None,
            ),
            (
                Method::POST,
                "/v1/templates",
                json!({"name": "X", "body": "b", "scope": {"type": "team", "team_id": "ghost"}}),
                409,
                "reference_not_found",
                None,
            ),
        ],
    )
    .await;
    let answer = app
        .post("/v1/queues", json!({"name": "Q", "team_id": "ghost"}))
        .await;
    assert_eq!(
        answer.body["details"]["reference"],
        json!({"kind": "team", "id": "ghost"})
    );
}

#[tokio::test]
async fn deleting_referenced_resources_is_409_naming_the_references() {
    let app = populated().await;
    let before = app.snapshot().await;
    let team = app.delete("/v1/teams/support").await;
    team.expect_error(409, "resource_in_use");
    assert_eq!(
        team.body["details"]["referenced_by"],
        json!([{"kind": "agent", "id": "ann"}, {"kind": "queue", "id": "inbound"}])
    );
    // The number's campaign label became a campaign, whose replies go to the queue.
    let campaigns = app.get("/v1/campaigns").await;
    let campaign = campaigns.body["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(campaigns.body["items"][0]["number_ids"], json!(["main"]));
    let queue = app.delete("/v1/queues/inbound").await;
    queue.expect_error(409, "resource_in_use");
    assert_eq!(
        queue.body["details"]["referenced_by"],
        json!([{"kind": "campaign", "id": campaign}, {"kind": "number", "id": "main"}, {"kind": "template", "id": "hello"}])
    );
    assert_eq!(app.snapshot().await, before);

    // Once the references are gone, the deletes go through.
    for path in [
        "/v1/numbers/main",
        "/v1/templates/hello",
        &format!("/v1/campaigns/{campaign}"),
        "/v1/queues/inbound",
        "/v1/agents/ann",
        "/v1/teams/support",
    ] {
        app.delete(path).await.expect_status(204);
    }
}

#[tokio::test]
async fn bad_list_queries_are_refused() {
    let app = populated().await;
    app.get("/v1/teams?limit=0")
        .await
        .expect_error(400, "invalid_query");
    app.get("/v1/teams?limit=201")
        .await
        .expect_error(400, "invalid_query");
    app.get("/v1/teams?limit=ten")
        .await
        .expect_error(400, "invalid_query");
    app.get("/v1/teams?colour=red")
        .await
        .expect_error(400, "invalid_query");
    app.get("/v1/teams?cursor=")
        .await
        .expect_error(400, "invalid_cursor");
    app.get("/v1/teams?cursor=not%20a%20cursor")
        .await
        .expect_error(400, "invalid_cursor");
}

/// What an OpenAPI fuzzer found: the document and the answers now agree.
#[tokio::test]
async fn contract_corners_found_by_fuzzing_hold() {
    let app = populated().await;
    // A nested object given as an array is a wrong type, not two absent fields.
    app.patch("/v1/queues/inbound", json!({"alerts": [null, null]}))
        .await
        .expect_error(400, "invalid_type");
    let queue = app.get("/v1/queues/inbound").await;
    assert_eq!(queue.body["alerts"]["unclaimed_secs"], 300);
    // Known operational paths answer a wrong method with 405 and Allow.
    for path in ["/healthz", "/readyz", "/metrics"] {
        let answer = app.request(Method::POST, path, None, None).await;
        answer.expect_error(405, "method_not_allowed");
        assert_eq!(answer.allow.as_deref(), Some("GET"), "{path}");
    }
    // Every route sits in its collection's scope: paths beside, under and past the
    // collections' own answer the API's 404, and known ones a wrong method with 405.
    for path in [
        "/v1/teamsx",
        "/v1/teams/inbound/extra",
        "/v1/conversations/cv_1/unknown",
        "/v1/me/nothing",
        "/v1/offers",
        "/v1/inbound/x",
        "/v1/nothing",
    ] {
        app.get(path).await.expect_error(404, "not_found");
    }
    let wrong = app.request(Method::DELETE, "/v1/inbound", None, None).await;
    wrong.expect_error(405, "method_not_allowed");
    assert_eq!(wrong.allow.as_deref(), Some("POST"));
    app.get("/v1/queues/inbound/stats").await.expect_status(200);
    app.get("/v1/queues/inbound/dispositions")
        .await
        .expect_status(200);
    // The websocket route answers a bad query in JSON, and ignores parameters it does not
    // know (a plain GET is then refused only for not being a handshake).
    let bad = app
        .request(Method::GET, "/v1/ws?token=x&after=soon", None, None)
        .await;
    bad.expect_error(400, "invalid_query");
    let ignored = app
        .request(
            Method::GET,
            &format!("/v1/ws?token={}&cachebust=1", harness::ADMIN_TOKEN),
            None,
            None,
        )
        .await;
    ignored.expect_error(400, "websocket_required");
    // The document: recorded dispositions have their own schema, and every JSON body may
    // be answered 415.
    let doc = app.get("/openapi.json").await.body;
    assert_eq!(
        doc["components"]["schemas"]["ConversationView"]["properties"]["dispositions"]["items"]["$ref"],
        "#/components/schemas/RecordedDisposition"
    );
    let mut without_415 = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if op
                .pointer("/requestBody/content/application~1json")
                .is_some()
                && op["responses"].get("415").is_none()
            {
                without_415.push(format!("{method} {path}"));
            }
        }
    }
    assert!(without_415.is_empty(), "{without_415:?}");
}

/// One rule for control characters: line breaks and tabs are text; a NUL or an escape in
/// what an agent writes (a reply, a note, a chat message, a contact field) is refused and
/// changes nothing.
#[tokio::test]
async fn control_characters_other_than_line_breaks_and_tabs_are_refused() {
    use super::conversations::{ann_takes_one, call, floor, text};
    let (app, ann, bob, _) = floor().await;
    text(&app, "+15550008888").await;
    let id = ann_takes_one(&app, &ann).await;
    for (path, body) in [
        (
            format!("/v1/conversations/{id}/messages"),
            json!({"body": "Hi\u{0}"}),
        ),
        (
            format!("/v1/conversations/{id}/notes"),
            json!({"body": "esc \u{1b}[31m"}),
        ),
        (
            "/v1/chat/bob/messages".to_owned(),
            json!({"body": "bell \u{7}"}),
        ),
    ] {
        let answer = call(&app, &ann, reqwest::Method::POST, &path, Some(body)).await;
        assert_eq!(answer.status, 400, "{path}: {:?}", answer.body);
        assert_eq!(answer.body["code"], "invalid_value", "{path}");
    }
    let note = call(
        &app,
        &ann,
        reqwest::Method::POST,
        &format!("/v1/conversations/{id}/notes"),
        Some(json!({"body": "line one\nline two\tend"})),
    )
    .await;
    assert_eq!(note.status, 201, "{:?}", note.body);
    let contact = call(
        &app,
        &ann,
        reqwest::Method::PATCH,
        "/v1/contacts/+15550008888",
        Some(json!({"name": "Ann\u{0}ie"})),
    )
    .await;
    assert_eq!(contact.status, 400, "{:?}", contact.body);
    assert!(
        contact.body["message"]
            .as_str()
            .unwrap()
            .contains("control characters"),
        "{:?}",
        contact.body
    );
    let _ = bob;
}
