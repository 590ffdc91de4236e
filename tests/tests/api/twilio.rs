//! Twilio's inbound SMS webhook, driven as Twilio drives it: form-encoded, signed with the
//! account's auth token, retried with the same MessageSid.

use engine::sms::twilio_signature::compute;
use harness::{TestApp, spawn_app, spawn_app_with, test_settings};
use serde_json::json;

const TOKEN: &str = "twilio-auth-token-1";

/// Team `support` and `sales` with their numbers; the support number belongs to a Twilio
/// account with `TOKEN`.
async fn floor(app: &TestApp) {
    app.two_teams(&[]).await;
    app.post(
        "/v1/provider_accounts",
        json!({"id": "twilio-main", "name": "Twilio main", "provider": "twilio",
               "account_sid": "AC00000000000000000000000000000001", "auth_token": TOKEN}),
    )
    .await
    .expect_status(201);
    let numbers = app.get("/v1/numbers").await;
    let support = numbers.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["phone"] == "+15550102000")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.patch(
        &format!("/v1/numbers/{support}"),
        json!({"provider_account_id": "twilio-main"}),
    )
    .await
    .expect_status(200);
}

/// A webhook's form parameters, in order.
type Form = Vec<(String, String)>;

fn form(sid: &str, from: &str, to: &str, body: &str) -> Form {
    [
        ("ToCountry", "US"),
        ("SmsMessageSid", sid),
        ("NumMedia", "0"),
        ("SmsSid", sid),
        ("Body", body),
        ("To", to),
        ("From", from),
        ("MessageSid", sid),
        ("AccountSid", "AC00000000000000000000000000000001"),
        ("NumSegments", "1"),
        ("ApiVersion", "2010-04-01"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect()
}

/// Posts a webhook signed over `signed_url` with `token`; returns status, content type, body.
async fn deliver(
    app: &TestApp,
    params: &[(String, String)],
    signed_url: &str,
    token: &str,
) -> (u16, String, String) {
    let signature = compute(token, signed_url, params);
    let response = reqwest::Client::new()
        .post(format!("{}/webhooks/twilio/sms", app.address))
        .header("X-Twilio-Signature", signature)
        .form(params)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let kind = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, kind, response.text().await.unwrap())
}

async fn all_conversations(app: &TestApp) -> serde_json::Value {
    app.get("/v1/conversations?view=all").await.body
}

#[tokio::test]
async fn a_signed_text_is_stored_once_and_answered_with_empty_twiml() {
    let app = spawn_app().await;
    floor(&app).await;
    let url = format!("{}/webhooks/twilio/sms", app.address);
    let params = form(
        "SM0001",
        "+15550001111",
        "+15550102000",
        "Where is my order?",
    );
    let (status, kind, body) = deliver(&app, &params, &url, TOKEN).await;
    assert_eq!((status, kind.as_str()), (200, "text/xml"), "{body}");
    assert_eq!(
        body,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>"
    );
    let listed = all_conversations(&app).await;
    let id = listed["items"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        listed["items"][0]["last_message"]["preview"],
        "Where is my order?"
    );

    // Twilio retries: acknowledged the same, stored once.
    let (status, _, _) = deliver(&app, &params, &url, TOKEN).await;
    assert_eq!(status, 200);
    let thread = app.get(&format!("/v1/conversations/{id}/messages")).await;
    assert_eq!(thread.body["items"].as_array().unwrap().len(), 1);

    // MMS: the media URLs are kept.
    let mut mms = form("SM0002", "+15550001111", "+15550102000", "");
    mms.retain(|(k, _)| k != "NumMedia");
    mms.push(("NumMedia".into(), "2".into()));
    mms.push((
        "MediaUrl0".into(),
        "https://api.twilio.com/media/ME1".into(),
    ));
    mms.push(("MediaContentType0".into(), "image/jpeg".into()));
    mms.push((
        "MediaUrl1".into(),
        "https://api.twilio.com/media/ME2".into(),
    ));
    mms.push(("MediaContentType1".into(), "image/png".into()));
    let (status, _, _) = deliver(&app, &mms, &url, TOKEN).await;
    assert_eq!(status, 200);
    let thread = app.get(&format!("/v1/conversations/{id}/messages")).await;
    assert_eq!(
        thread.body["items"][1]["media_urls"],
        json!([
            "https://api.twilio.com/media/ME1",
            "https://api.twilio.com/media/ME2"
        ])
    );
}

#[tokio::test]
async fn bad_signatures_and_unknown_numbers_store_nothing() {
    let app = spawn_app().await;
    floor(&app).await;
    let url = format!("{}/webhooks/twilio/sms", app.address);
    let params = form("SM0003", "+15550001111", "+15550102000", "Hi");
    let forged = |change: &dyn Fn(&mut Form)| {
        let mut p = params.clone();
        change(&mut p);
        p
    };
    // Signed for other parameters than those sent: a changed body, an added parameter.
    let signature = compute(TOKEN, &url, &params);
    for sent in [
        forged(&|p| p[4].1 = "STOP".into()),
        forged(&|p| p.push(("Extra".into(), "1".into()))),
    ] {
        let response = reqwest::Client::new()
            .post(&url)
            .header("X-Twilio-Signature", &signature)
            .form(&sent)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["code"], "invalid_signature");
    }
    // Signed with another token, or over another URL.
    assert_eq!(deliver(&app, &params, &url, "not-the-token").await.0, 403);
    let elsewhere = format!("{}/webhooks/twilio/sms?x=1", app.address);
    assert_eq!(deliver(&app, &params, &elsewhere, TOKEN).await.0, 403);
    // No signature at all.
    let response = reqwest::Client::new()
        .post(&url)
        .form(&params)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    // A number nobody configured; a number without a Twilio account.
    let unknown = form("SM0004", "+15550001111", "+15550109999", "Hi");
    let (status, _, body) = deliver(&app, &unknown, &url, TOKEN).await;
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("unknown_number"));
    let unsigned_number = form("SM0005", "+15550001111", "+15550103000", "Hi");
    assert_eq!(deliver(&app, &unsigned_number, &url, TOKEN).await.0, 403);
    // Not a form.
    let response = reqwest::Client::new()
        .post(&url)
        .json(&json!({"To": "+15550102000"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 415);
    assert_eq!(all_conversations(&app).await["items"], json!([]));
}

#[tokio::test]
async fn signatures_are_checked_against_the_configured_public_url() {
    let mut settings = test_settings(
        &harness::shared_redis_url(),
        &harness::unique_prefix("twilio"),
    );
    settings.public_url = Some("https://sms.example.com".into());
    let app = spawn_app_with(settings).await;
    floor(&app).await;
    let params = form("SM0006", "+15550001111", "+15550102000", "Hi");
    // Behind a proxy, Twilio signs the public URL, not the one the server sees.
    let local = format!("{}/webhooks/twilio/sms", app.address);
    assert_eq!(deliver(&app, &params, &local, TOKEN).await.0, 403);
    let public = "https://sms.example.com/webhooks/twilio/sms";
    assert_eq!(deliver(&app, &params, public, TOKEN).await.0, 200);
}

/// What an unsigned client can make the webhook do is bounded: an unknown number learns
/// only 403 (as a bad signature does), a parameter flood is refused before it is parsed, an
/// oversized body before it is read, and a signed text over 1,600 characters is refused as
/// on every route; a customer's NUL and escape characters are dropped, not stored.
#[tokio::test]
async fn floods_oversized_forms_and_unsigned_guesses_are_refused_cheaply() {
    let app = spawn_app().await;
    floor(&app).await;
    let url = format!("{}/webhooks/twilio/sms", app.address);
    let client = reqwest::Client::new();
    // Unsigned, for a number nobody configured: the same 403 as any bad signature.
    let unknown = form("SM0101", "+15550001111", "+15550109999", "Hi");
    let response = client.post(&url).form(&unknown).send().await.unwrap();
    assert_eq!(response.status(), 403);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], "invalid_signature");
    // `count` distinct empty parameters, unsigned.
    let flood = |count: usize| {
        let body: String = (0..count).map(|i| format!("p{i}=&")).collect();
        client
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    // 9,000 (~60 KB): refused unread past the limit.
    assert_eq!(flood(9000).await.unwrap().status(), 413);
    // 2,500 in under 32 KB: refused before parsing.
    let response = flood(2500).await.unwrap();
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["details"]["field"], "form");
    // Signed but too long.
    let long = form("SM0102", "+15550001111", "+15550102000", &"a".repeat(1601));
    let (status, _, body) = deliver(&app, &long, &url, TOKEN).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("Body"), "{body}");
    // Signed with control characters: stored without them.
    let noisy = form(
        "SM0103",
        "+15550001111",
        "+15550102000",
        "Hi\0 there\u{1b}!\nBye",
    );
    let (status, _, body) = deliver(&app, &noisy, &url, TOKEN).await;
    assert_eq!(status, 200, "{body}");
    let listed = all_conversations(&app).await;
    let id = listed["items"][0]["id"].as_str().unwrap().to_owned();
    let thread = app.get(&format!("/v1/conversations/{id}/messages")).await;
    assert_eq!(thread.body["items"][0]["body"], "Hi there!\nBye");
    // The server kept answering meanwhile.
    app.get("/healthz").await.expect_status(200);
}
