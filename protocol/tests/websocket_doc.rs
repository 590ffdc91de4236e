//! Holds `docs/websocket.md` to the protocol types: every frame type the document names is a
//! type of the code and the other way round; every server frame example reads into the
//! types and writes back unchanged (so its times are the wire's format and it has no field
//! the code would not send); every type has an example; every client frame example reads.

use std::collections::BTreeSet;

use protocol::frame::FRAME_KINDS;
use protocol::{ClientFrame, Event, ServerFrame};
use serde_json::Value;

fn document() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/websocket.md");
    std::fs::read_to_string(path).expect("docs/websocket.md is readable")
}

/// The part of the document from the heading `from` up to the heading `to`.
fn section<'a>(doc: &'a str, from: &str, to: &str) -> &'a str {
    let start = doc
        .find(from)
        .unwrap_or_else(|| panic!("no section {from:?}"));
    let end = doc[start..].find(to).map_or(doc.len(), |i| start + i);
    &doc[start..end]
}

/// Every JSON value in the section's ```json blocks.
fn json_examples(text: &str) -> Vec<Value> {
    let mut values = Vec::new();
    for block in text.split("```json").skip(1) {
        let body = block.split("```").next().unwrap_or_default();
        for value in serde_json::Deserializer::from_str(body).into_iter::<Value>() {
            values.push(value.unwrap_or_else(|e| panic!("an example is not JSON ({e}): {body}")));
        }
    }
    values
}

/// The backticked types in the first column of a table's rows (`a` / `b` names two), and the
/// backticked name of each `###` heading of a frame type.
fn documented_types(text: &str) -> BTreeSet<String> {
    let mut types = BTreeSet::new();
    for line in text.lines() {
        let first_cell = if let Some(row) = line.strip_prefix("| `") {
            format!("`{}", row.split(" |").next().unwrap_or_default())
        } else if let Some(heading) = line.strip_prefix("### `") {
            format!("`{}", heading.split(" —").next().unwrap_or_default())
        } else {
            continue;
        };
        for name in first_cell.split('/') {
            let name = name.trim().trim_matches('`');
            if !name.is_empty() && name != "type" {
                types.insert(name.to_owned());
            }
        }
    }
    types
}

#[test]
fn every_documented_frame_type_is_a_type_of_the_code_and_back() {
    let doc = document();
    let documented = documented_types(section(&doc, "## Server frames", "## Client frames"));
    let code: BTreeSet<String> = Event::KINDS
        .iter()
        .chain(FRAME_KINDS)
        .map(|k| (*k).to_owned())
        .collect();
    let undocumented: Vec<_> = code.difference(&documented).collect();
    let unknown: Vec<_> = documented.difference(&code).collect();
    assert!(
        undocumented.is_empty(),
        "types the document leaves out: {undocumented:?}"
    );
    assert!(
        unknown.is_empty(),
        "documented types the code lacks: {unknown:?}"
    );
}

#[test]
fn every_server_frame_example_reads_and_writes_back_unchanged() {
    let doc = document();
    let examples = json_examples(section(&doc, "## Server frames", "## Client frames"));
    let mut shown = BTreeSet::new();
    for example in examples {
        let text = example.to_string();
        let frame = ServerFrame::parse(&text)
            .unwrap_or_else(|e| panic!("example outside the contract ({e}): {text}"));
        let rewritten: Value = serde_json::from_str(&frame.to_json()).unwrap();
        assert_eq!(
            rewritten, example,
            "the types do not write this example back the same"
        );
        shown.insert(frame.body.kind().to_owned());
    }
    let missing: Vec<_> = Event::KINDS
        .iter()
        .chain(FRAME_KINDS)
        .filter(|k| !shown.contains(**k))
        .collect();
    assert!(
        missing.is_empty(),
        "frame types without an example: {missing:?}"
    );
}

#[test]
fn every_client_frame_example_reads() {
    let doc = document();
    let examples = json_examples(section(&doc, "## Client frames", "## Resume"));
    assert!(examples.len() >= 4, "the client frames have examples");
    for example in examples {
        let frame: ClientFrame = serde_json::from_value(example.clone())
            .unwrap_or_else(|e| panic!("client frame example does not read ({e}): {example}"));
        assert_eq!(serde_json::to_value(&frame).unwrap(), example);
    }
}
