//! `/v1/campaigns` through HTTP against Redis: campaign labels on numbers are campaigns (made
//! for a label that had none, their numbers kept as labels move), a campaign's settings are
//! validated field by field, its name is unique and fixed, it cannot be deleted while numbers
//! carry it, and its skills apply to the conversations its numbers open.

use harness::spawn_app;
use serde_json::{Value, json};

use super::crud::lifecycle;

fn named<'a>(list: &'a Value, name: &str) -> &'a Value {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no campaign {name} in {list}"))
}

#[tokio::test]
async fn number_labels_are_campaigns_and_follow_the_numbers() {
    let app = spawn_app().await;
    // Two numbers under the label "Spring": one campaign, replies to the first one's queue.
    app.two_teams(&[]).await;
    let numbers = app.get("/v1/numbers").await.body;
    let ids: Vec<Value> = numbers["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].clone())
        .collect();
    let campaigns = app.get("/v1/campaigns").await;
    campaigns.expect_status(200);
    assert_eq!(campaigns.body["items"].as_array().unwrap().len(), 1);
    let spring = named(&campaigns.body, "Spring");
    assert_eq!(spring["queue_id"], "inbound");
    let mut senders = spring["number_ids"].as_array().unwrap().clone();
    senders.sort_by_key(|v| v.to_string());
    let mut expected = ids.clone();
    expected.sort_by_key(|v| v.to_string());
    assert_eq!(senders, expected);
    // The defaults: the TCPA window, New York time, one text a second.
    assert_eq!(
        spring["quiet_hours"],
        json!({"start": "08:00", "end": "21:00"})
    );
    assert_eq!(spring["time_zone"], "America/New_York");
    assert_eq!(spring["sends_per_second"], 1);

    // A campaign of its own for the sales number.
    let fall = app
        .post(
            "/v1/campaigns",
            json!({"id": "fall", "name": "Fall", "queue_id": "deals",
                   "quiet_hours": {"start": "09:00", "end": "20:00"}, "time_zone": "America/Chicago",
                   "sends_per_second": 5, "opt_out_footer": "Text STOP to opt out.",
                   "required_skills": [{"skill": "spanish"}]}),
        )
        .await;
    fall.expect_status(201);
    assert_eq!(fall.body["number_ids"], json!([]));
    let sales_number = numbers["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["queue_id"] == "deals")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.patch(
        &format!("/v1/numbers/{sales_number}"),
        json!({"campaign": "fall"}),
    )
    .await
    .expect_status(200);
    // The label matches ignoring case: the number moved to Fall.
    let campaigns = app.get("/v1/campaigns").await.body;
    assert_eq!(
        named(&campaigns, "Fall")["number_ids"],
        json!([sales_number])
    );
    assert!(
        !named(&campaigns, "Spring")["number_ids"]
            .as_array()
            .unwrap()
            .contains(&json!(sales_number))
    );

    // Fall's skills apply to the conversations its number opens.
    let opened = app
        .post(
            "/v1/inbound",
            json!({"from": "+15550001111", "to": "+15550103000", "body": "hello"}),
        )
        .await;
    opened.expect_status(200);
    let conversation = app
        .get(&format!(
            "/v1/conversations/{}",
            opened.body["conversation_id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(
        conversation.body["required_skills"],
        json!([{"skill": "spanish", "min_level": 1}])
    );

    // Not deleted while a number carries it; deleted once none does.
    let held = app.delete("/v1/campaigns/fall").await;
    held.expect_error(409, "resource_in_use");
    assert_eq!(
        held.body["details"]["referenced_by"],
        json!([{"kind": "number", "id": sales_number}])
    );
    app.patch(
        &format!("/v1/numbers/{sales_number}"),
        json!({"campaign": "Spring"}),
    )
    .await
    .expect_status(200);
    app.delete("/v1/campaigns/fall").await.expect_status(204);
}

#[tokio::test]
async fn campaign_settings_are_validated_and_bad_ones_change_nothing() {
    let app = spawn_app().await;
    app.two_teams(&[]).await;
    let before = app.snapshot().await;
    let refused = |answer: harness::Answer, status: u16, field: &str| {
        assert_eq!(answer.status.as_u16(), status, "{}", answer.body);
        if !field.is_empty() {
            assert_eq!(answer.body["details"]["field"], field, "{}", answer.body);
        }
    };
    let base = |extra: Value| {
        let mut body = json!({"name": "Winter", "queue_id": "inbound"});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body
    };
    for (extra, field) in [
        (
            json!({"quiet_hours": {"start": "21:00", "end": "08:00"}}),
            "quiet_hours.end",
        ),
        (
            json!({"quiet_hours": {"start": "8am"}}),
            "quiet_hours.start",
        ),
        (json!({"time_zone": "Mars/Olympus_Mons"}), "time_zone"),
        (json!({"sends_per_second": 0}), "sends_per_second"),
        (
            json!({"required_skills": [{"skill": "x", "min_level": 0}]}),
            "required_skills[0].min_level",
        ),
        (json!({"template_ids": ["bad id"]}), "template_ids[0]"),
    ] {
        refused(app.post("/v1/campaigns", base(extra)).await, 400, field);
    }
    // A missing queue, a name taken (ignoring case), a name change.
    refused(
        app.post(
            "/v1/campaigns",
            json!({"name": "Winter", "queue_id": "ghost"}),
        )
        .await,
        409,
        "",
    );
    refused(
        app.post(
            "/v1/campaigns",
            json!({"name": "spring", "queue_id": "inbound"}),
        )
        .await,
        409,
        "",
    );
    let spring = app.get("/v1/campaigns").await.body["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    refused(
        app.patch(
            &format!("/v1/campaigns/{spring}"),
            json!({"name": "Summer"}),
        )
        .await,
        400,
        "",
    );
    assert_eq!(app.snapshot().await, before);
}

#[tokio::test]
async fn campaign_lifecycle() {
    let app = spawn_app().await;
    app.two_teams(&[]).await;
    lifecycle(
        &app,
        "campaigns",
        json!({"name": "Renewals", "queue_id": "inbound", "time_zone": "America/Denver"}),
        json!({"sends_per_second": 10}),
        ("sends_per_second", json!(10)),
    )
    .await;
}
