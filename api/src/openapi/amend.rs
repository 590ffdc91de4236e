//! What the served document says beyond what utoipa derives: the JSON document is amended
//! with rules utoipa's types cannot hold (`if`/`then` and "one of these" across fields,
//! closed request schemas), captured examples, the answers every operation may give
//! because of what guards the server (408, 413, 415, 429, 503 `server_busy`), the
//! `Idempotency-Key` header, and descriptions that depend on the caller.

use utoipa::openapi::OpenApi;

/// The document utoipa derived, amended (see the module's description).
pub(super) fn amend(doc: OpenApi) -> serde_json::Value {
    let mut value = serde_json::to_value(&doc).expect("the document serialises");
    cross_field_rules(&mut value);
    close_request_schemas(&mut value);
    require_one_of(
        &mut value,
        "ReplyRequest",
        &[&[
            ("body", "string"),
            ("template_id", "string"),
            ("media_urls", "array"),
        ]],
    );
    require_one_of(
        &mut value,
        "StartRequest",
        // No number or campaign is fine: the agent's default campaign applies.
        &[&[
            ("body", "string"),
            ("template_id", "string"),
            ("media_urls", "array"),
        ]],
    );
    add_idempotency_header(&mut value);
    add_unsupported_media_type(&mut value);
    add_guard_responses(&mut value);
    describe_agent_view(&mut value);
    describe_agent_list(&mut value);
    hide_secrets(&mut value);
    add_examples(&mut value);
    strip_null_from_query_parameters(&mut value);
    state_country_codes(&mut value);
    value
}

/// Request bodies refuse unknown fields (`deny_unknown_fields`); the document says so with
/// `additionalProperties: false` on every request schema, so generated clients and fuzzers
/// know it too. Response schemas stay open: they are composed with `allOf`.
fn close_request_schemas(value: &mut serde_json::Value) {
    fn close(schema: &mut serde_json::Value) {
        if let serde_json::Value::Object(map) = schema {
            let object = map.get("type") == Some(&serde_json::json!("object"));
            if map.contains_key("properties") || object {
                map.insert(
                    "additionalProperties".into(),
                    serde_json::Value::Bool(false),
                );
            }
            for key in ["oneOf", "anyOf", "allOf"] {
                if let Some(serde_json::Value::Array(items)) = map.get_mut(key) {
                    items.iter_mut().for_each(close);
                }
            }
        }
    }
    if let Some(schemas) = value
        .pointer_mut("/components/schemas")
        .and_then(|s| s.as_object_mut())
    {
        for (name, schema) in schemas.iter_mut() {
            let request = name.starts_with("Create")
                || name.starts_with("Patch")
                || [
                    "AlertsInput",
                    "ScopeInput",
                    "IssueTokenRequest",
                    "InboundRequest",
                    "PresenceRequest",
                    "QueuesRequest",
                    "TextRequest",
                    "DispositionRequest",
                    "SnoozeRequest",
                    "TransferRequest",
                    "ReplyRequest",
                    "ReadRequest",
                    "EmptyRequest",
                    "ContactPatchRequest",
                    "ChatRequest",
                    "CreateProviderAccount",
                    "PatchProviderAccount",
                    "StartRequest",
                    "SegmentsRequest",
                    "ConversationPatch",
                ]
                .contains(&name.as_str());
            if request {
                close(schema);
            }
        }
    }
}

/// Rules across fields the derive cannot state.
fn cross_field_rules(value: &mut serde_json::Value) {
    // Rules across fields of a transfer, which the derive cannot state: some target is given
    // (as a string), and a warm transfer names an agent and no queue.
    if let Some(transfer) = value
        .pointer_mut("/components/schemas/TransferRequest")
        .and_then(|s| s.as_object_mut())
    {
        transfer.insert(
            "anyOf".into(),
            serde_json::json!([
                {"required": ["to_agent"], "properties": {"to_agent": {"type": "string"}}},
                {"required": ["to_queue"], "properties": {"to_queue": {"type": "string"}}},
            ]),
        );
        transfer.insert(
            "if".into(),
            serde_json::json!({"required": ["mode"], "properties": {"mode": {"const": "warm"}}}),
        );
        transfer.insert(
            "then".into(),
            serde_json::json!({
                "required": ["to_agent"],
                "properties": {"to_agent": {"type": "string"}},
                "not": {"required": ["to_queue"], "properties": {"to_queue": {"type": "string"}}},
            }),
        );
    }
    // A Twilio account needs its credentials, and takes no simulator settings.
    if let Some(create) = value
        .pointer_mut("/components/schemas/CreateProviderAccount")
        .and_then(|s| s.as_object_mut())
    {
        create.insert(
            "if".into(),
            serde_json::json!({"required": ["provider"], "properties": {"provider": {"const": "twilio"}}}),
        );
        create.insert(
            "then".into(),
            serde_json::json!({"required": ["account_sid", "auth_token"],
                "properties": {"account_sid": {"type": "string"}, "auth_token": {"type": "string"}},
                "not": {"required": ["simulator"]}}),
        );
    }
}

/// States "at least one of these fields" rules on a request schema: one `anyOf` per group,
/// all of them required together (`allOf`).
/// Phone numbers' pattern names the country codes that exist (from the same metadata the
/// parser uses), so a schema-valid number is one the API takes.
fn state_country_codes(doc: &mut serde_json::Value) {
    fn walk(value: &mut serde_json::Value, from: &str, to: &str) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, item) in map.iter_mut() {
                    if key == "pattern" && item.as_str() == Some(from) {
                        *item = serde_json::Value::String(to.to_owned());
                    } else {
                        walk(item, from, to);
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(|i| walk(i, from, to)),
            _ => {}
        }
    }
    walk(
        doc,
        crate::schema::E164_SHAPE,
        &engine::domain::e164_pattern(),
    );
}

fn require_one_of(doc: &mut serde_json::Value, schema: &str, groups: &[&[(&str, &str)]]) {
    let Some(target) = doc
        .pointer_mut(&format!("/components/schemas/{schema}"))
        .and_then(|s| s.as_object_mut())
    else {
        return;
    };
    let rules: Vec<serde_json::Value> = groups
        .iter()
        .map(|group| {
            let options: Vec<serde_json::Value> = group
                .iter()
                .map(|(field, kind)| {
                    let mut shape = serde_json::json!({"type": kind});
                    if *kind == "array" {
                        // Present means at least one item: an empty list says nothing.
                        shape["minItems"] = serde_json::json!(1);
                    }
                    serde_json::json!({"required": [field], "properties": {*field: shape}})
                })
                .collect();
            serde_json::json!({"anyOf": options})
        })
        .collect();
    target.insert("allOf".into(), serde_json::Value::Array(rules));
}

/// A query string cannot carry `null`: optional query parameters are absent or a value.
fn strip_null_from_query_parameters(doc: &mut serde_json::Value) {
    fn without_null(schema: &mut serde_json::Value) {
        let Some(map) = schema.as_object_mut() else {
            return;
        };
        if let Some(serde_json::Value::Array(types)) = map.get("type").cloned() {
            let kept: Vec<serde_json::Value> = types.into_iter().filter(|t| t != "null").collect();
            if kept.len() == 1 {
                map.insert("type".into(), kept[0].clone());
            } else {
                map.insert("type".into(), serde_json::Value::Array(kept));
            }
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(serde_json::Value::Array(options)) = map.get(key).cloned() {
                let kept: Vec<serde_json::Value> = options
                    .into_iter()
                    .filter(|o| o.get("type") != Some(&serde_json::json!("null")))
                    .collect();
                if kept.len() == 1 {
                    map.remove(key);
                    if let serde_json::Value::Object(only) = &kept[0] {
                        for (k, v) in only {
                            map.insert(k.clone(), v.clone());
                        }
                    }
                } else {
                    map.insert(key.into(), serde_json::Value::Array(kept));
                }
            }
        }
    }
    let Some(paths) = doc.get_mut("paths").and_then(|p| p.as_object_mut()) else {
        return;
    };
    for item in paths.values_mut() {
        let Some(operations) = item.as_object_mut() else {
            continue;
        };
        for operation in operations.values_mut() {
            let Some(parameters) = operation
                .get_mut("parameters")
                .and_then(|p| p.as_array_mut())
            else {
                continue;
            };
            for parameter in parameters {
                if parameter.get("in") == Some(&serde_json::json!("query"))
                    && let Some(schema) = parameter.get_mut("schema")
                {
                    without_null(schema);
                }
            }
        }
    }
}

/// Examples of every operation's request and answer, captured from a real server walking the
/// desktop guide's flow (`docs/desktop-guide.md`), so they are what the API really says.
const EXAMPLES: &str = include_str!("openapi_examples.json");

/// Puts the captured examples on their operations: the request body's and the success
/// answer's.
fn add_examples(doc: &mut serde_json::Value) {
    let examples: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(EXAMPLES).expect("the examples are JSON");
    for (operation, example) in examples {
        let Some((method, path)) = operation.split_once(' ') else {
            continue;
        };
        let pointer = format!(
            "/paths/{}/{}",
            path.replace('~', "~0").replace('/', "~1"),
            method.to_lowercase()
        );
        let Some(op) = doc.pointer_mut(&pointer) else {
            continue;
        };
        if let (Some(request), Some(content)) = (
            example.get("request"),
            op.pointer_mut("/requestBody/content/application~1json"),
        ) {
            content["example"] = request.clone();
        }
        let status = example.get("status").and_then(|s| s.as_u64());
        if let (Some(answer), Some(status)) = (example.get("response"), status)
            && let Some(content) =
                op.pointer_mut(&format!("/responses/{status}/content/application~1json"))
        {
            content["example"] = answer.clone();
        }
    }
}

/// A provider account's auth token is write-only: its answer says `auth_token_set` instead.
fn hide_secrets(doc: &mut serde_json::Value) {
    if let Some(properties) = doc
        .pointer_mut("/components/schemas/ProviderAccount/properties")
        .and_then(|p| p.as_object_mut())
    {
        properties.remove("auth_token");
        properties.insert(
            "auth_token_set".into(),
            serde_json::json!({"type": "boolean", "description": "Whether an auth token is stored (it is never shown)."}),
        );
    }
    if let Some(required) = doc
        .pointer_mut("/components/schemas/ProviderAccount/required")
        .and_then(|r| r.as_array_mut())
    {
        required.retain(|r| r != "auth_token");
    }
}

/// `GET /v1/agents/{id}` answers agents and supervisors too, with the routing state.
fn describe_agent_view(doc: &mut serde_json::Value) {
    let Some(get) = doc.pointer_mut("/paths/~1v1~1agents~1{id}/get") else {
        return;
    };
    get["description"] = serde_json::json!(
        "The agent's configuration and, under `state`, its routing state: presence, queue \
         logins, capacity, load, pending offers and owned conversations. The admin, the agent \
         itself and supervisors of its teams may read it; a teammate gets 403, another team 404."
    );
    if let Some(schema) = get.pointer_mut("/responses/200/content/application~1json/schema") {
        let config = schema.take();
        *schema = serde_json::json!({"allOf": [config, {
            "type": "object",
            "required": ["state"],
            "properties": {"state": {"$ref": "#/components/schemas/AgentStateView"}}
        }]});
    }
    if let Some(responses) = get.get_mut("responses").and_then(|r| r.as_object_mut()) {
        responses.insert("403".into(), serde_json::json!({
            "description": "`forbidden`: a teammate's agent view",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
        }));
    }
}

/// `GET /v1/agents` serves supervisors too: their teams' floor, each agent with its state.
fn describe_agent_list(doc: &mut serde_json::Value) {
    let Some(get) = doc.pointer_mut("/paths/~1v1~1agents/get") else {
        return;
    };
    get["description"] = serde_json::json!(
        "The admin: the agents' configuration, paged by id. A supervisor: the agents of its \
         teams (with `team=`, of that one), each with its routing state under `state` \
         (presence and since when, queue logins, capacity, load, pending offers, owned \
         conversations). The admin gets the same floor view with `team=`. An agent gets 403 \
         (its teammates are at `GET /v1/me/teammates`); another team's id answers 404."
    );
    let parameters = get.as_object_mut().map(|g| {
        g.entry("parameters")
            .or_insert_with(|| serde_json::json!([]))
    });
    if let Some(serde_json::Value::Array(parameters)) = parameters {
        // An id's schema, as the list's `cursor` spells it.
        let id_schema = parameters
            .iter()
            .find(|p| p["name"] == "cursor")
            .map(|p| p["schema"].clone())
            .unwrap_or_else(|| serde_json::json!({"type": "string"}));
        parameters.insert(0, serde_json::json!({
            "name": "team", "in": "query", "required": false,
            "description": "Only this team's agents, each with its routing state (a supervisor: one of its teams)",
            "schema": id_schema
        }));
    }
    if let Some(responses) = get.get_mut("responses").and_then(|r| r.as_object_mut()) {
        responses.insert(
            "403".into(),
            error_json("`forbidden`: an agent (not a supervisor)"),
        );
        responses.insert(
            "404".into(),
            error_json("`not_found`: `team` is not one of the caller's teams"),
        );
    }
    // The list's rows carry `state` in the floor view (the schema serves only this list).
    if let Some(items) = doc.pointer_mut("/components/schemas/AgentList/properties/items/items") {
        let config = items.take();
        *items = serde_json::json!({"allOf": [config, {
            "type": "object",
            "properties": {"state": {
                "$ref": "#/components/schemas/AgentStateView",
                "description": "The routing state: in a supervisor's answer, and the admin's with `team=`"
            }}
        }]});
    }
}

/// A documented error answer as JSON (for the document's final touches): the description and
/// the API's one error body, as [`error_response`] builds it for utoipa.
fn error_json(description: &str) -> serde_json::Value {
    serde_json::json!({
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    })
}

/// Every operation of the document (each method of each path).
fn operations_mut(doc: &mut serde_json::Value) -> impl Iterator<Item = &mut serde_json::Value> {
    doc.get_mut("paths")
        .and_then(|p| p.as_object_mut())
        .into_iter()
        .flat_map(|paths| paths.values_mut())
        .filter_map(|item| item.as_object_mut())
        .flat_map(|item| item.values_mut())
}

/// Every operation with a JSON request body answers 415 `unsupported_media_type` to a body of
/// another content type, and 413 `payload_too_large` to one over the limit: say so on each,
/// so that clients generated from the document know it.
fn add_unsupported_media_type(doc: &mut serde_json::Value) {
    let operations = operations_mut(doc);
    for operation in operations {
        if operation
            .pointer("/requestBody/content/application~1json")
            .is_none()
        {
            continue;
        }
        if let Some(responses) = operation
            .get_mut("responses")
            .and_then(|r| r.as_object_mut())
        {
            responses.entry("415").or_insert_with(|| {
                error_json("`unsupported_media_type`: the body is not `application/json`")
            });
            responses.entry("413").or_insert_with(|| {
                error_json("`payload_too_large`: the body is over the route's limit (64 KiB)")
            });
        }
    }
}

/// Answers every operation may give because of what guards the server: 429
/// `too_many_attempts` where a token is checked (too many failed authentications), 408
/// `request_timeout` where a body is read (it did not arrive within the body timeout), 503
/// `server_busy` anywhere (past the connection limit).
fn add_guard_responses(doc: &mut serde_json::Value) {
    let operations = operations_mut(doc);
    for operation in operations {
        let has_body = operation.get("requestBody").is_some();
        let Some(responses) = operation
            .get_mut("responses")
            .and_then(|r| r.as_object_mut())
        else {
            continue;
        };
        if responses.contains_key("401") {
            responses.entry("429").or_insert_with(|| {
                error_json(
                    "`too_many_attempts`: too many failed authentications from this client or for this token; retry after `Retry-After` seconds",
                )
            });
        }
        const BUSY: &str = "`server_busy`: the server has as many connections as it serves; \
            retry after `Retry-After` seconds";
        match responses
            .get_mut("503")
            .and_then(|r| r.get_mut("description"))
        {
            Some(serde_json::Value::String(description)) => {
                description.push_str("; or ");
                description.push_str(BUSY);
            }
            _ => {
                responses.insert("503".to_owned(), error_json(BUSY));
            }
        }
        if has_body {
            responses.entry("408").or_insert_with(|| {
                error_json("`request_timeout`: the body did not arrive within the body timeout")
            });
        }
    }
}

/// Every POST under `/v1` takes an `Idempotency-Key` (see [`crate::idempotency`]).
fn add_idempotency_header(doc: &mut serde_json::Value) {
    let Some(paths) = doc.get_mut("paths").and_then(|p| p.as_object_mut()) else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        if !path.starts_with("/v1/") {
            continue;
        }
        let Some(post) = item.get_mut("post").and_then(|p| p.as_object_mut()) else {
            continue;
        };
        let parameters = post
            .entry("parameters")
            .or_insert_with(|| serde_json::json!([]));
        if let Some(list) = parameters.as_array_mut() {
            list.push(serde_json::json!({
                "name": "Idempotency-Key",
                "in": "header",
                "required": false,
                "description": "Retries with the same key get the first successful answer (kept 24 h, \
                    per caller) and do nothing again; the same key with another request is 422 \
                    `idempotency_key_reused`, a retry while the first runs 409 \
                    `idempotency_in_progress`. Only a request that ran binds its key: a 4xx \
                    refusal (which changed nothing) or a 5xx releases it, so a corrected retry \
                    with the same key runs.",
                "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"}
            }));
        }
        if let Some(responses) = post.get_mut("responses").and_then(|r| r.as_object_mut()) {
            let error = error_json;
            responses
                .entry("422")
                .or_insert_with(|| error("`idempotency_key_reused`"));
            responses.entry("400").or_insert_with(|| {
                error("Bad input, or `invalid_value`: a malformed `Idempotency-Key`")
            });
        }
    }
}
