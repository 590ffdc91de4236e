//! Response-schema conformance: every answer the black-box tests receive through the harness
//! is checked against the OpenAPI document the server serves — the status must be documented
//! for the operation, and a JSON body must validate against its schema. So the document
//! cannot drift from the answers without a test failing, whichever test made the call.
//!
//! The validator covers the JSON Schema the document uses: `$ref`, `type` (one or several,
//! `integer` included), `enum`, `const`, `properties`, `required`, `additionalProperties`,
//! `items`, `allOf`, `anyOf`, `oneOf`, `nullable`, `minimum`/`maximum`,
//! `minLength`/`maxLength` and `minItems`/`maxItems`. `pattern` and `format` are not checked
//! (the server's own parsers are tested directly).

use std::sync::OnceLock;

use serde_json::Value;

/// The document, built once: the same function serves `/openapi.json`.
fn document() -> &'static Value {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    DOCUMENT.get_or_init(api::openapi::document)
}

/// Panics, naming every problem, unless `status` and `body` are what the document promises
/// for `method` on `path` (query included or not).
pub fn conform(method: &str, path: &str, status: u16, body: &Value) {
    let problems = problems(document(), method, path, status, body);
    assert!(
        problems.is_empty(),
        "{method} {path} answered {status} against the OpenAPI document:\n  {}\nbody: {body}",
        problems.join("\n  ")
    );
}

/// What is wrong with an answer, per the document; empty when it conforms.
pub fn problems(doc: &Value, method: &str, path: &str, status: u16, body: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let path = path.split('?').next().unwrap_or(path);
    let operation = template_of(doc, path)
        .and_then(|template| doc["paths"][template].get(method.to_lowercase()));
    let Some(operation) = operation else {
        // A path or method the API does not serve: it must still answer the error body.
        if status >= 400 {
            check(
                doc,
                &serde_json::json!({"$ref": "#/components/schemas/ErrorBody"}),
                body,
                "$",
                &mut problems,
            );
        }
        return problems;
    };
    let responses = &operation["responses"];
    let Some(response) = responses
        .get(status.to_string())
        .or_else(|| responses.get("default"))
    else {
        problems.push(format!(
            "status {status} is not documented for this operation"
        ));
        return problems;
    };
    match response.pointer("/content/application~1json/schema") {
        Some(schema) => check(doc, schema, body, "$", &mut problems),
        None if body.is_null() => {}
        None if response.get("content").is_some() => {}
        None => problems.push("a JSON body where the document promises none".into()),
    }
    problems
}

/// The path template of `path`: the one matching with the most literal segments.
fn template_of<'a>(doc: &'a Value, path: &str) -> Option<&'a str> {
    let segments: Vec<&str> = path.split('/').collect();
    doc["paths"]
        .as_object()?
        .keys()
        .filter_map(|template| {
            let parts: Vec<&str> = template.split('/').collect();
            if parts.len() != segments.len() {
                return None;
            }
            let mut literal = 0;
            for (part, segment) in parts.iter().zip(&segments) {
                if part.starts_with('{') && part.ends_with('}') {
                    if segment.is_empty() {
                        return None;
                    }
                } else if part == segment {
                    literal += 1;
                } else {
                    return None;
                }
            }
            Some((literal, template.as_str()))
        })
        .max_by_key(|(literal, _)| *literal)
        .map(|(_, template)| template)
}

fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => reference
            .strip_prefix('#')
            .and_then(|pointer| doc.pointer(pointer))
            .map_or(schema, |target| resolve(doc, target)),
        None => schema,
    }
}

fn type_matches(kind: &str, value: &Value) -> bool {
    match kind {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "number" => value.is_number(),
        "integer" => value.as_f64().is_some_and(|n| n.fract() == 0.0),
        _ => true,
    }
}

/// Checks `value` against `schema`, adding a problem (with its JSON path) for each rule broken.
fn check(doc: &Value, schema: &Value, value: &Value, at: &str, problems: &mut Vec<String>) {
    let schema = resolve(doc, schema);
    if value.is_null() && schema.get("nullable") == Some(&Value::Bool(true)) {
        return;
    }
    let failed = |problems: &mut Vec<String>, rule: String| problems.push(format!("{at}: {rule}"));
    if let Some(kind) = schema.get("type") {
        let ok = match kind {
            Value::String(kind) => type_matches(kind, value),
            Value::Array(kinds) => kinds
                .iter()
                .filter_map(Value::as_str)
                .any(|kind| type_matches(kind, value)),
            _ => true,
        };
        if !ok {
            failed(problems, format!("expected type {kind}, got {value}"));
            return;
        }
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array)
        && !options.contains(value)
    {
        failed(problems, format!("{value} is not one of {options:?}"));
    }
    if let Some(expected) = schema.get("const")
        && expected != value
    {
        failed(problems, format!("expected {expected}, got {value}"));
    }
    if let Some(n) = value.as_f64() {
        if let Some(min) = schema.get("minimum").and_then(Value::as_f64)
            && n < min
        {
            failed(problems, format!("{n} is under the minimum {min}"));
        }
        if let Some(max) = schema.get("maximum").and_then(Value::as_f64)
            && n > max
        {
            failed(problems, format!("{n} is over the maximum {max}"));
        }
    }
    if let Some(text) = value.as_str() {
        let chars = text.chars().count() as u64;
        if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
            && chars < min
        {
            failed(problems, format!("shorter than {min} characters"));
        }
        if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
            && chars > max
        {
            failed(problems, format!("longer than {max} characters"));
        }
    }
    if let Some(items) = value.as_array() {
        let len = items.len() as u64;
        if let Some(min) = schema.get("minItems").and_then(Value::as_u64)
            && len < min
        {
            failed(problems, format!("fewer than {min} items"));
        }
        if let Some(max) = schema.get("maxItems").and_then(Value::as_u64)
            && len > max
        {
            failed(problems, format!("more than {max} items"));
        }
        if let Some(item_schema) = schema.get("items") {
            for (i, item) in items.iter().enumerate() {
                check(doc, item_schema, item, &format!("{at}[{i}]"), problems);
            }
        }
    }
    if let Some(fields) = value.as_object() {
        if let Some(required) = schema.get("required").and_then(Value::as_array) {
            for name in required.iter().filter_map(Value::as_str) {
                if !fields.contains_key(name) {
                    failed(problems, format!("missing required field `{name}`"));
                }
            }
        }
        let properties = schema.get("properties").and_then(Value::as_object);
        for (name, field) in fields {
            match properties.and_then(|p| p.get(name)) {
                Some(field_schema) => {
                    check(doc, field_schema, field, &format!("{at}.{name}"), problems);
                }
                None => match schema.get("additionalProperties") {
                    Some(Value::Bool(false)) => {
                        failed(problems, format!("field `{name}` is not in the schema"));
                    }
                    Some(extra) if extra.is_object() => {
                        check(doc, extra, field, &format!("{at}.{name}"), problems);
                    }
                    _ => {}
                },
            }
        }
    }
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        for part in all {
            check(doc, part, value, at, problems);
        }
    }
    let matching = |options: &Vec<Value>| {
        options
            .iter()
            .filter(|option| {
                let mut found = Vec::new();
                check(doc, option, value, at, &mut found);
                found.is_empty()
            })
            .count()
    };
    if let Some(any) = schema.get("anyOf").and_then(Value::as_array)
        && matching(any) == 0
    {
        failed(problems, format!("matches none of anyOf: {value}"));
    }
    if let Some(one) = schema.get("oneOf").and_then(Value::as_array) {
        let n = matching(one);
        if n != 1 {
            failed(
                problems,
                format!("matches {n} of oneOf, not exactly one: {value}"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc() -> Value {
        json!({
            "paths": {
                "/v1/things/{id}": {"get": {"responses": {
                    "200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}},
                    "404": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}}
                }}},
                "/v1/things/special": {"get": {"responses": {"204": {"description": "none"}}}}
            },
            "components": {"schemas": {
                "Thing": {"type": "object", "required": ["id", "size"], "additionalProperties": false,
                    "properties": {"id": {"type": "string", "minLength": 1},
                                   "size": {"type": "integer", "minimum": 0},
                                   "owner": {"oneOf": [{"type": "null"}, {"type": "string"}]},
                                   "tags": {"type": "array", "items": {"type": "string"}}}},
                "ErrorBody": {"type": "object", "required": ["code", "message", "details"],
                    "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "details": {"type": "object"}}}
            }}
        })
    }

    #[test]
    fn conforming_answers_pass_and_each_breach_is_named() {
        let doc = doc();
        let good = json!({"id": "t1", "size": 3, "owner": null, "tags": ["a"]});
        assert!(problems(&doc, "GET", "/v1/things/t1?x=1", 200, &good).is_empty());
        let bad = json!({"id": "", "size": -1.5, "owner": 7, "tags": [1], "extra": true});
        let found = problems(&doc, "GET", "/v1/things/t1", 200, &bad);
        assert_eq!(found.len(), 5, "{found:?}");
        assert!(
            problems(&doc, "GET", "/v1/things/t1", 200, &json!({"id": "t"}))[0]
                .contains("missing required field `size`")
        );
        // Undocumented status; the more literal template wins; an unknown path's error body.
        assert!(problems(&doc, "GET", "/v1/things/t1", 500, &json!({}))[0].contains("500"));
        assert!(problems(&doc, "GET", "/v1/things/special", 204, &Value::Null).is_empty());
        assert!(!problems(&doc, "GET", "/v1/nothing", 404, &json!({"code": 1})).is_empty());
    }
}
