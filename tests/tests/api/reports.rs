//! The conversations report and transcripts over HTTP: JSON pages and a CSV of the same
//! rows, only the caller's teams, agents refused; a transcript as JSON, text and a PDF that
//! `pdftotext` reads back with every text of the thread.

use harness::{ADMIN_TOKEN, spawn_app};
use reqwest::Method;
use serde_json::json;

use super::conversations::{call, takes_one, text};

#[tokio::test]
async fn reports_list_the_callers_conversations_as_json_pages_and_csv() {
    let (app, [ann, sue, eve], handled) = super::stats::supervised_floor().await;
    for phone in ["+15550005555", "+15550006666"] {
        text(&app, phone).await;
    }

    // JSON, a page of two then the rest.
    let first = call(
        &app,
        &sue,
        Method::GET,
        "/v1/reports/conversations?limit=2",
        None,
    )
    .await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    let items = first.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    let row = &items[0];
    assert_eq!(row["conversation_id"], handled.as_str());
    assert_eq!(row["customer"], "+15550004444");
    assert_eq!(row["number"], "+15550102000");
    assert_eq!(row["team_id"], "support");
    assert_eq!(row["accepted_by"], "ann");
    assert_eq!(row["handled_by"], "ann");
    assert_eq!(row["dispositions"], json!(["resolved"]));
    assert_eq!(row["outcome"], "handled");
    assert_eq!(row["texts_in"], 1);
    assert!(row["first_offered_at"].is_string(), "{row}");
    let cursor = first.body["next_cursor"]
        .as_str()
        .expect("a next page")
        .to_owned();
    let rest = call(
        &app,
        &sue,
        Method::GET,
        &format!("/v1/reports/conversations?limit=2&cursor={cursor}"),
        None,
    )
    .await;
    assert_eq!(
        rest.body["items"].as_array().unwrap().len(),
        1,
        "{:?}",
        rest.body
    );
    assert!(rest.body["next_cursor"].is_null());
    let open = call(
        &app,
        &sue,
        Method::GET,
        "/v1/reports/conversations?outcome=open",
        None,
    )
    .await;
    assert_eq!(open.body["items"].as_array().unwrap().len(), 2);

    // CSV: a header and the same three rows.
    let csv = reqwest::Client::new()
        .get(format!("{}/v1/reports/conversations", app.address))
        .bearer_auth(&sue)
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv"),
        "{:?}",
        csv.headers()
    );
    let body = csv.text().await.unwrap();
    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(lines.len(), 4, "{body}");
    assert!(lines[0].starts_with("conversation_id,customer,number,campaign,queue_id,team_id"));
    assert!(lines[1].starts_with(&format!(
        "{handled},+15550004444,+15550102000,Spring,inbound,support,"
    )));
    assert!(lines[1].ends_with(",resolved,1,0,handled"), "{}", lines[1]);

    // Another team's supervisor sees none of them; an agent is refused; bad input is 400.
    let other = call(&app, &eve, Method::GET, "/v1/reports/conversations", None).await;
    assert_eq!(other.body["items"].as_array().unwrap().len(), 0);
    let refused = call(&app, &ann, Method::GET, "/v1/reports/conversations", None).await;
    assert_eq!(refused.status, 403);
    for query in [
        "outcome=won",
        "from=yesterday",
        "limit=0",
        "cursor=zzz",
        "format=xml",
    ] {
        let answer = call(
            &app,
            &sue,
            Method::GET,
            &format!("/v1/reports/conversations?{query}"),
            None,
        )
        .await;
        assert_eq!(answer.status, 400, "{query}: {:?}", answer.body);
    }
    let admin = app
        .request(
            Method::GET,
            "/v1/reports/conversations?team=support",
            Some(ADMIN_TOKEN),
            None,
        )
        .await;
    assert_eq!(admin.body["items"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn a_transcript_holds_every_text_as_json_text_and_pdf() {
    let app = spawn_app().await;
    let tokens = app
        .two_teams(&[("ann", "support", "agent"), ("eve", "sales", "agent")])
        .await;
    let [ann, eve] = <[String; 2]>::try_from(tokens).expect("two tokens");
    app.post(
        "/v1/dispositions",
        json!({"code": "resolved", "label": "Resolved"}),
    )
    .await
    .expect_status(201);
    text(&app, "+15550007777").await;
    let id = takes_one(&app, &ann, "ann", "inbound").await;
    let path = |p: &str| format!("/v1/conversations/{id}/{p}");
    let mut reply;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        reply = call(
            &app,
            &ann,
            Method::POST,
            &path("messages"),
            Some(json!({"body": "Your parcel left the depot (tracking 42)."})),
        )
        .await;
        if reply.status == 201 || std::time::Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    call(
        &app,
        &ann,
        Method::POST,
        &path("notes"),
        Some(json!({"body": "Customer is polite"})),
    )
    .await;
    app.dispose_and_complete(&ann, &id, "resolved").await;

    let json_record = call(&app, &ann, Method::GET, &path("transcript"), None).await;
    assert_eq!(json_record.status, 200, "{:?}", json_record.body);
    let kinds: Vec<&str> = json_record.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    for kind in [
        "inbound",
        "accepted",
        "outbound",
        "note",
        "disposition",
        "closed",
    ] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
    assert_eq!(
        call(&app, &eve, Method::GET, &path("transcript"), None)
            .await
            .status,
        404
    );

    let get = |format: &str| {
        reqwest::Client::new()
            .get(format!(
                "{}{}?format={format}",
                app.address,
                path("transcript")
            ))
            .bearer_auth(&ann)
            .send()
    };
    let text_record = get("text").await.unwrap().text().await.unwrap();
    for expected in [
        "Where is my order?",
        "Your parcel left the depot (tracking 42).",
        "Customer is polite",
        "disposition resolved",
    ] {
        assert!(
            text_record.contains(expected),
            "{expected} in:\n{text_record}"
        );
    }
    let pdf = get("pdf").await.unwrap();
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    let bytes = pdf.bytes().await.unwrap();
    let file = std::env::temp_dir().join(format!("{}.pdf", testkit::unique_prefix("transcript")));
    std::fs::write(&file, &bytes).unwrap();
    let out = std::process::Command::new("pdftotext")
        .arg(&file)
        .arg("-")
        .output();
    let _ = std::fs::remove_file(&file);
    match out {
        Ok(out) => {
            assert!(
                out.status.success(),
                "pdftotext: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let read = String::from_utf8_lossy(&out.stdout);
            for expected in [
                "Where is my order?",
                "Your parcel left the depot (tracking 42).",
                "Customer is polite",
            ] {
                assert!(read.contains(expected), "{expected} in the PDF:\n{read}");
            }
        }
        Err(e) => {
            // scripts/test installs poppler-utils; a bare `cargo test` may not have it.
            assert!(
                std::env::var("SWITCHBOARD_REQUIRE_TOOLS").as_deref() != Ok("1"),
                "pdftotext is required: {e}"
            );
            eprintln!("pdftotext missing ({e}): the PDF was not read back");
        }
    }
}
