//! What a desktop shows beside the conversation: the list with its views, filters and
//! search; unread counts and marking read; contact cards and history; rendered templates.

use harness::{ADMIN_TOKEN, TestApp};
use reqwest::Method;
use serde_json::{Value, json};

use super::conversations::{ann_takes_one, call, floor, owned_by, text};

async fn list(app: &TestApp, token: &str, query: &str) -> Value {
    let answer = call(
        app,
        token,
        Method::GET,
        &format!("/v1/conversations{query}"),
        None,
    )
    .await;
    answer.expect_status(200);
    answer.body
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_list_has_views_filters_search_and_pages() {
    let (app, ann, bob, eve) = floor().await;
    let first = text(&app, "+15550001111").await;
    let mine = ann_takes_one(&app, &ann).await;
    assert_eq!(mine, first);
    owned_by(&app, &ann, &mine, "ann").await;
    let second = text(&app, "+15550002222").await;
    let third = text(&app, "+15550003333").await;
    // Ann went available and may be offered more: keep her at one.
    call(
        &app,
        &ann,
        Method::PUT,
        "/v1/agents/ann/presence",
        Some(json!({"presence": "away"})),
    )
    .await
    .expect_status(200);

    let open = list(&app, &bob, "").await;
    let row = &open["items"][0];
    assert_eq!(row["customer"], "+15550003333");
    assert_eq!(row["campaign"], "Spring");
    assert_eq!(row["queue_id"], "inbound");
    assert_eq!(row["team_id"], "support");
    assert_eq!(row["unread"], 1);
    assert_eq!(row["last_message"]["direction"], "inbound");
    assert_eq!(row["last_message"]["preview"], "Where is my order?");
    assert!(ids(&open).contains(&first));
    assert_eq!(ids(&open).len(), 3);

    let mine_view = list(&app, &ann, "?view=mine").await;
    assert_eq!(ids(&mine_view), vec![first.clone()]);
    assert!(ids(&list(&app, &bob, "?view=mine").await).is_empty());
    let unassigned = ids(&list(&app, &bob, "?view=unassigned").await);
    assert!(
        !unassigned.contains(&first) && unassigned.len() == 2,
        "{unassigned:?}"
    );
    assert_eq!(
        ids(&list(&app, &bob, "?view=waiting").await).len(),
        3,
        "nobody answered anyone yet"
    );
    assert_eq!(
        ids(&list(&app, &bob, "?q=0002222").await),
        vec![second.clone()]
    );
    assert_eq!(
        ids(&list(&app, &bob, "?agent=ann").await),
        vec![first.clone()]
    );
    assert_eq!(ids(&list(&app, &bob, "?campaign=spring").await).len(), 3);
    assert!(ids(&list(&app, &bob, "?campaign=Fall").await).is_empty());
    assert!(ids(&list(&app, &bob, "?from=2999-01-01T00:00:00Z").await).is_empty());
    assert_eq!(
        ids(&list(&app, &bob, "?to=2999-01-01T00:00:00Z").await).len(),
        3
    );
    // Pages of one, in order, then the end.
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = list(&app, &bob, &format!("?limit=1{cursor}")).await;
        seen.extend(ids(&page));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(seen, vec![third.clone(), second.clone(), first.clone()]);

    // Another team sees none of it, by any filter.
    assert!(ids(&list(&app, &eve, "").await).is_empty());
    assert!(ids(&list(&app, &eve, "?view=closed&queue=inbound").await).is_empty());
    assert!(ids(&list(&app, &eve, "?q=555").await).is_empty());
    // The admin sees all, and must name an agent instead of `mine`.
    assert_eq!(ids(&list(&app, ADMIN_TOKEN, "").await).len(), 3);
    call(
        &app,
        ADMIN_TOKEN,
        Method::GET,
        "/v1/conversations?view=mine",
        None,
    )
    .await
    .expect_error(403, "forbidden");

    // Closed conversations stay listable and searchable.
    app.dispose_and_complete(&ann, &first, "resolved").await;
    let closed = list(&app, &bob, "?view=closed&q=1111").await;
    assert_eq!(ids(&closed), vec![first.clone()]);
    assert_eq!(closed["items"][0]["status"], "closed");
    assert!(!ids(&list(&app, &bob, "").await).contains(&first));
}

#[tokio::test]
async fn bad_list_queries_are_refused() {
    let (app, ann, ..) = floor().await;
    for (query, code) in [
        ("?view=everything", "invalid_query"),
        ("?unread=maybe", "invalid_query"),
        ("?from=yesterday", "invalid_query"),
        ("?limit=0", "invalid_query"),
        ("?limit=201", "invalid_query"),
        ("?sort=asc", "invalid_query"),
        ("?cursor=", "invalid_cursor"),
        ("?cursor=abc", "invalid_cursor"),
    ] {
        call(
            &app,
            &ann,
            Method::GET,
            &format!("/v1/conversations{query}"),
            None,
        )
        .await
        .expect_error(400, code);
    }
}

#[tokio::test]
async fn unread_counts_until_read_or_answered() {
    let (app, ann, bob, _) = floor().await;
    let conversation = text(&app, "+15550001111").await;
    text(&app, "+15550001111").await;
    let thread = call(
        &app,
        &bob,
        Method::GET,
        &format!("/v1/conversations/{conversation}/messages"),
        None,
    )
    .await;
    let first_message = thread.body["items"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        list(&app, &bob, "?unread=true").await["items"][0]["unread"],
        2
    );

    call(
        &app,
        &bob,
        Method::POST,
        &format!("/v1/conversations/{conversation}/read"),
        Some(json!({"up_to": first_message})),
    )
    .await
    .expect_status(200);
    assert_eq!(list(&app, &bob, "").await["items"][0]["unread"], 1);
    call(
        &app,
        &bob,
        Method::POST,
        &format!("/v1/conversations/{conversation}/read"),
        Some(json!({"up_to": "msg_not_here"})),
    )
    .await
    .expect_error(409, "reference_not_found");
    // No body: everything.
    call(
        &app,
        &bob,
        Method::POST,
        &format!("/v1/conversations/{conversation}/read"),
        None,
    )
    .await
    .expect_status(200);
    assert!(ids(&list(&app, &bob, "?unread=true").await).is_empty());
    // A new text is unread again; the owner's reply reads it.
    text(&app, "+15550001111").await;
    assert_eq!(list(&app, &bob, "").await["items"][0]["unread"], 1);
    let owned = ann_takes_one(&app, &ann).await;
    owned_by(&app, &ann, &owned, "ann").await;
    call(
        &app,
        &ann,
        Method::POST,
        &format!("/v1/conversations/{owned}/messages"),
        Some(json!({"body": "Hi!"})),
    )
    .await
    .expect_status(201);
    let row = &list(&app, &bob, "").await["items"][0];
    assert_eq!(row["unread"], 0);
    assert_eq!(row["last_message"]["direction"], "outbound");
}

#[tokio::test]
async fn contacts_have_a_card_and_a_history_seen_only_by_their_teams() {
    let (app, ann, bob, eve) = floor().await;
    let first = text(&app, "+15550001111").await;
    let taken = ann_takes_one(&app, &ann).await;
    owned_by(&app, &ann, &taken, "ann").await;
    app.dispose_and_complete(&ann, &first, "resolved").await;
    let second = text(&app, "+15550001111").await;
    assert_ne!(
        first, second,
        "a text after closing opens a new conversation"
    );

    let card = call(&app, &bob, Method::GET, "/v1/contacts/+15550001111", None).await;
    card.expect_status(200);
    assert_eq!(card.body["phone"], "+15550001111");
    assert_eq!(card.body["name"], Value::Null);
    let patched = call(
        &app,
        &bob,
        Method::PATCH,
        "/v1/contacts/%2B15550001111",
        Some(json!({
            "name": "Maria Lopez", "email": "maria@example.com", "time_zone": "America/Chicago",
            "date_of_birth": "1990-04-01", "external_ids": {"crm": "0031"},
            "custom_fields": {"order": "A-1042"}
        })),
    )
    .await;
    patched.expect_status(200);
    assert_eq!(patched.body["custom_fields"], json!({"order": "A-1042"}));
    let cleared = call(
        &app,
        &ann,
        Method::PATCH,
        "/v1/contacts/+15550001111",
        Some(json!({"email": null, "custom_fields": {"order": null, "tier": "gold"}})),
    )
    .await;
    cleared.expect_status(200);
    assert_eq!(cleared.body["name"], "Maria Lopez");
    assert_eq!(cleared.body["email"], Value::Null);
    assert_eq!(cleared.body["custom_fields"], json!({"tier": "gold"}));
    // The name is searchable and shown in lists.
    let found = list(&app, &bob, "?view=all&q=maria").await;
    assert_eq!(ids(&found), vec![second.clone(), first.clone()]);
    assert_eq!(found["items"][0]["contact_name"], "Maria Lopez");

    let history = call(
        &app,
        &bob,
        Method::GET,
        "/v1/contacts/+15550001111/conversations",
        None,
    )
    .await;
    history.expect_status(200);
    assert_eq!(ids(&history.body), vec![second.clone(), first.clone()]);
    let none = call(
        &app,
        &bob,
        Method::GET,
        "/v1/contacts/+15550001111/conversations?from=2999-01-01T00:00:00Z",
        None,
    )
    .await;
    assert!(ids(&none.body).is_empty());

    // Another team: as unknown as a number that never texted.
    for path in [
        "/v1/contacts/+15550001111",
        "/v1/contacts/+15550001111/conversations",
        "/v1/contacts/+15559999999",
    ] {
        call(&app, &eve, Method::GET, path, None)
            .await
            .expect_error(404, "not_found");
    }
    call(
        &app,
        &eve,
        Method::PATCH,
        "/v1/contacts/+15550001111",
        Some(json!({"name": "x"})),
    )
    .await
    .expect_error(404, "not_found");
    // Bad input changes nothing.
    for (body, code) in [
        (json!({"email": "not-an-email"}), "invalid_value"),
        (json!({"date_of_birth": "1990-02-30"}), "invalid_value"),
        (json!({"time_zone": "Mars"}), "invalid_value"),
        (json!({"custom_fields": {"bad key": "x"}}), "invalid_value"),
        (json!({"name": ""}), "invalid_value"),
        (json!({"name": 7}), "invalid_type"),
        (json!({"nickname": "M"}), "unknown_field"),
        (json!({"opted_out": {}}), "unknown_field"),
    ] {
        call(
            &app,
            &bob,
            Method::PATCH,
            "/v1/contacts/+15550001111",
            Some(body.clone()),
        )
        .await
        .expect_error(400, code);
    }
    let after = call(&app, &bob, Method::GET, "/v1/contacts/+15550001111", None).await;
    assert_eq!(after.body, cleared.body);
}

#[tokio::test]
async fn templates_render_for_the_conversation_and_name_missing_values() {
    let (app, ann, _, eve) = floor().await;
    for (id, name, scope, body) in [
        (
            "tp_hi",
            "Hello",
            json!({"type": "campaign", "campaign": "Spring"}),
            "Hi {{contact.first_name}}, {{agent.name}} from {{campaign}} here.",
        ),
        (
            "tp_order",
            "Order",
            json!({"type": "team", "team_id": "support"}),
            "Order {{contact.order}} ships today.",
        ),
        (
            "tp_bye",
            "Bye",
            json!({"type": "global"}),
            "Thanks for texting {{queue.name}}!",
        ),
        (
            "tp_sales",
            "Sales",
            json!({"type": "team", "team_id": "sales"}),
            "Deal!",
        ),
    ] {
        app.post(
            "/v1/templates",
            json!({"id": id, "name": name, "scope": scope, "body": body}),
        )
        .await
        .expect_status(201);
    }
    text(&app, "+15550001111").await;
    let conversation = ann_takes_one(&app, &ann).await;
    owned_by(&app, &ann, &conversation, "ann").await;
    let path = format!("/v1/conversations/{conversation}/templates");
    let templates = call(&app, &ann, Method::GET, &path, None).await;
    templates.expect_status(200);
    let items = templates.body["items"].as_array().unwrap();
    let names: Vec<&str> = items.iter().map(|t| t["id"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["tp_hi", "tp_order", "tp_bye"],
        "campaign, team, global; not sales"
    );
    assert_eq!(items[0]["rendered"], Value::Null);
    assert_eq!(
        items[0]["missing_placeholders"],
        json!(["contact.first_name"])
    );
    assert_eq!(items[2]["rendered"], "Thanks for texting inbound!");

    // Sending a template with a missing value is a 422 naming it, and sends nothing.
    let send = format!("/v1/conversations/{conversation}/messages");
    let refused = call(
        &app,
        &ann,
        Method::POST,
        &send,
        Some(json!({"template_id": "tp_order"})),
    )
    .await;
    refused.expect_error(422, "template_placeholder_missing");
    assert_eq!(refused.body["details"]["missing"], json!(["contact.order"]));
    call(
        &app,
        &ann,
        Method::POST,
        &send,
        Some(json!({"template_id": "tp_sales"})),
    )
    .await
    .expect_error(404, "not_found");
    call(&app, &eve, Method::GET, &path, None)
        .await
        .expect_error(404, "not_found");

    call(
        &app,
        &ann,
        Method::PATCH,
        "/v1/contacts/+15550001111",
        Some(json!({"name": "Maria Lopez", "custom_fields": {"order": "A-1042"}})),
    )
    .await
    .expect_status(200);
    let rendered = call(&app, &ann, Method::GET, &path, None).await;
    assert_eq!(
        rendered.body["items"][0]["rendered"],
        "Hi Maria, ann from Spring here."
    );
    let sent = call(
        &app,
        &ann,
        Method::POST,
        &send,
        Some(json!({"template_id": "tp_order"})),
    )
    .await;
    sent.expect_status(201);
    // The first text to a customer from a number carries its opt-out footer.
    assert_eq!(
        sent.body["body"],
        "Order A-1042 ships today.\nReply STOP to unsubscribe."
    );
    assert_eq!(sent.body["template_id"], "tp_order");
    assert_eq!(sent.body["status"], "outbox");
    // Edited before sending: the text as edited, the template recorded.
    let edited = call(&app, &ann, Method::POST, &send,
        Some(json!({"template_id": "tp_hi", "body": "Hi Maria! Ann here.", "media_urls": ["https://example.com/a.png"]}))).await;
    edited.expect_status(201);
    assert_eq!(edited.body["body"], "Hi Maria! Ann here.");
    assert_eq!(
        edited.body["media_urls"],
        json!(["https://example.com/a.png"])
    );
    for (body, status, code) in [
        (json!({}), 400, "missing_field"),
        (
            json!({"body": "x", "media_urls": ["ftp://x"]}),
            400,
            "invalid_value",
        ),
        (
            json!({"body": "x", "template": "tp_hi"}),
            400,
            "unknown_field",
        ),
    ] {
        call(&app, &ann, Method::POST, &send, Some(body))
            .await
            .expect_error(status, code);
    }
}
