//! What a desktop reads with an agent's token: itself, its queues, disposition codes,
//! outbound templates and teammates — scoped by team like the rest of the API.

use harness::{TestApp, spawn_app};
use reqwest::Method;
use serde_json::{Value, json};

/// Support (queue `inbound`): Ann, Bob, supervisor Sue; sales (queue `deals`): Eve. The code
/// `resolved`, a retired code, and templates of several scopes.
async fn floor() -> (TestApp, [String; 4]) {
    let app = spawn_app().await;
    let tokens = app
        .two_teams(&[
            ("ann", "support", "agent"),
            ("bob", "support", "agent"),
            ("sue", "support", "supervisor"),
            ("eve", "sales", "agent"),
        ])
        .await;
    for (code, label, active) in [
        ("resolved", "Resolved", true),
        ("callback", "Call back", true),
        ("old", "Retired", false),
    ] {
        app.post(
            "/v1/dispositions",
            json!({"code": code, "label": label, "active": active}),
        )
        .await
        .expect_status(201);
    }
    for (id, scope, body) in [
        (
            "tp_spring",
            json!({"type": "campaign", "campaign": "Spring"}),
            "Hi {{contact.first_name}}, {{agent.name}} here about {{campaign}}",
        ),
        ("tp_all", json!({"type": "global"}), "Thanks for texting us"),
        (
            "tp_sales",
            json!({"type": "team", "team_id": "sales"}),
            "A sales offer",
        ),
    ] {
        app.post(
            "/v1/templates",
            json!({"id": id, "name": id, "scope": scope, "body": body}),
        )
        .await
        .expect_status(201);
    }
    (app, <[String; 4]>::try_from(tokens).expect("four tokens"))
}

async fn get(app: &TestApp, token: &str, path: &str) -> harness::Answer {
    app.request(Method::GET, path, Some(token), None).await
}

fn ids(list: &Value, field: &str) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|item| item[field].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn an_agent_reads_itself_its_queues_and_codes() {
    let (app, [ann, _, _, eve]) = floor().await;
    let me = get(&app, &ann, "/v1/me").await;
    me.expect_status(200);
    assert_eq!(me.body["role"], "agent");
    assert_eq!(me.body["agent"]["id"], "ann");
    assert_eq!(me.body["agent"]["team_ids"], json!(["support"]));
    assert_eq!(ids(&me.body["teams"], "id"), ["support"]);
    assert_eq!(ids(&me.body["queues"], "id"), ["inbound"]);
    assert_eq!(me.body["state"]["presence"], "offline");

    let admin = app.get("/v1/me").await;
    admin.expect_status(200);
    assert_eq!(admin.body["role"], "admin");
    assert_eq!(admin.body["agent"], Value::Null);
    assert_eq!(ids(&admin.body["queues"], "id"), ["deals", "inbound"]);

    let codes = get(&app, &ann, "/v1/queues/inbound/dispositions").await;
    codes.expect_status(200);
    assert_eq!(codes.body["required"], true);
    assert_eq!(ids(&codes.body["items"], "code"), ["callback", "resolved"]);
    // Another team's queue does not exist for Eve.
    get(&app, &eve, "/v1/queues/inbound/dispositions")
        .await
        .expect_error(404, "not_found");
}

#[tokio::test]
async fn an_agent_lists_the_templates_an_outbound_start_may_use() {
    let (app, [ann, ..]) = floor().await;
    app.patch("/v1/contacts/+15550001111", json!({"name": "Maria Lopez"}))
        .await
        .expect_status(200);
    let listed = get(
        &app,
        &ann,
        "/v1/me/templates?campaign=Spring&to=%2B15550001111",
    )
    .await;
    listed.expect_status(200);
    assert_eq!(ids(&listed.body["items"], "id"), ["tp_spring", "tp_all"]);
    assert_eq!(
        listed.body["items"][0]["rendered"],
        "Hi Maria, ann here about Spring"
    );
    // For no customer in particular, contact placeholders are listed as missing.
    let blank = get(&app, &ann, "/v1/me/templates?number=%2B15550102000").await;
    blank.expect_status(200);
    assert_eq!(blank.body["items"][0]["rendered"], Value::Null);
    assert_eq!(
        blank.body["items"][0]["missing_placeholders"],
        json!(["contact.first_name"])
    );
    // Another team's number is unknown; no campaign and no default is 422.
    get(&app, &ann, "/v1/me/templates?number=%2B15550103000")
        .await
        .expect_error(404, "not_found");
    get(&app, &ann, "/v1/me/templates")
        .await
        .expect_error(422, "sending_number_required");
    get(&app, &ann, "/v1/me/templates?colour=red")
        .await
        .expect_error(400, "invalid_query");
}

#[tokio::test]
async fn teammates_show_presence_and_load_and_supervisors_see_more() {
    let (app, [ann, bob, sue, _]) = floor().await;
    app.request(
        Method::PUT,
        "/v1/agents/bob/presence",
        Some(&bob),
        Some(&json!({"presence": "available"})),
    )
    .await
    .expect_status(200);
    let mates = get(&app, &ann, "/v1/me/teammates").await;
    mates.expect_status(200);
    assert_eq!(ids(&mates.body["items"], "id"), ["bob", "sue"]);
    let bob_row = &mates.body["items"][0];
    assert_eq!(bob_row["presence"], "available");
    assert_eq!(bob_row["load"], 0);
    assert_eq!(bob_row["capacity"], 3);
    assert_eq!(
        bob_row["state"],
        Value::Null,
        "agents see presence and load"
    );

    let supervised = get(&app, &sue, "/v1/me/teammates").await;
    supervised.expect_status(200);
    assert_eq!(ids(&supervised.body["items"], "id"), ["ann", "bob"]);
    let bob_state = &supervised.body["items"][1]["state"];
    assert_eq!(bob_state["presence"], "available");
    let since = bob_state["presence_since"].as_str().unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(since).is_ok(),
        "{since}"
    );
}
