//! The OpenAPI document served at `/openapi.json` (and browsed at `/docs`).
//!
//! The configuration routes share one generic implementation, so their paths are generated
//! here from each resource's types rather than annotated handler by handler: the document
//! cannot drift from the routes, because both come from the same `ResourceApi` impls.

use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{
    AllOfBuilder, ArrayBuilder, ObjectBuilder, Schema, SchemaType, Type,
};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, Required, ResponseBuilder};
use utoipa::{Modify, OpenApi as _, PartialSchema, ToSchema};

use engine::domain::{Agent, Disposition, Number, ProviderAccount, Queue, Team, Template};

mod amend;

use crate::error::ErrorBody;
use crate::routes::crud::ResourceApi;
use crate::routes::{
    agents, campaign_sends, chat, contacts, conversation_list, conversation_routing, conversations,
    health, inbound, me, metrics, outbound, quick_replies, reports, sms, stats, transcript, twilio,
    work,
};

/// The document, assembled from annotated handlers and the generated configuration paths.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Switchboard",
        description = "Real-time routing engine (ACD) for SMS conversations in contact centers. \
            Every error answers `{\"code\", \"message\", \"details\"}` with a stable `code`.",
        license(name = "Apache-2.0"),
    ),
                paths(health::healthz, health::readyz, metrics::metrics, inbound::inbound,
                work::set_presence, work::get_presence, work::set_queues, work::accept, work::reject, work::queue_stats,
        conversations::get, conversations::patch, conversation_routing::history,
        campaign_sends::create, campaign_sends::list, campaign_sends::get, campaign_sends::recipients, campaign_sends::pause, campaign_sends::resume, campaign_sends::cancel, conversations::thread, conversations::claim, conversations::reply, conversations::note,
        conversations::disposition, conversations::snooze, conversations::transfer, conversations::subscribe, conversations::unsubscribe, conversations::complete, agents::issue_token, agents::list_tokens, agents::revoke_token, crate::live::connect,
        conversations::read, conversation_list::list, contacts::get, contacts::patch, contacts::history, quick_replies::list, chat::send, chat::thread, outbound::start, sms::segments, twilio::inbound_sms, twilio::status_callback,
        me::me, me::queue_dispositions, me::outbound_templates, me::teammates,
        stats::queue_stats, stats::team_stats, stats::agent_stats, reports::conversations, transcript::export),
            components(schemas(ErrorBody, inbound::InboundRequest, inbound::InboundResponse,
                work::PresenceRequest, work::QueuesRequest, work::AgentStateView, work::OfferView, work::QueueStatsView,
        campaign_sends::NewSend, campaign_sends::RecipientInputSchema, campaign_sends::SendView, campaign_sends::RefusedView, campaign_sends::SendMade, campaign_sends::SendList, campaign_sends::RecipientsPage, campaign_sends::RecipientView,
        conversations::ConversationView, conversations::ConversationPatch, conversations::RecordedDisposition, conversations::TextRequest,
        conversations::ReplyRequest, conversations::ReadRequest, conversations::EmptyRequest, conversation_list::ConversationPage, conversation_list::ConversationRow,
        conversation_list::LastMessageView, engine::directory::View, protocol::vocabulary::Follow, contacts::ContactView, contacts::ContactPatchRequest,
        quick_replies::QuickReplyView, quick_replies::QuickReplyList, chat::ChatRequest, chat::ChatThread, outbound::StartRequest, outbound::StartedView, sms::SegmentsRequest, sms::SegmentsView, twilio::TwilioSmsForm, twilio::TwilioStatusForm, crate::routes::provider_accounts::SimulatorInput,
        conversations::DispositionRequest, conversations::SnoozeRequest, conversations::TransferRequest, conversations::TransferMode, health::Health, agents::IssueTokenRequest, agents::TokenView, agents::IssuedTokenView, agents::TokenList,
        me::MeView, me::AgentBrief, me::TeamBrief, me::QueueBrief, me::DispositionChoice, me::DispositionChoices, me::TeammateView, me::TeammateList,
        stats::StatsView, stats::WindowView, stats::Realtime, stats::AgentPresenceView, engine::stats::Cumulative, engine::stats::Counts,
        engine::stats::Timing, engine::stats::Average, engine::stats::ServiceLevel, reports::ReportRow, reports::ReportPage, transcript::Transcript, transcript::TranscriptEntry)),
    modifiers(&ConfigurationPaths, &BearerAuth),
    tags(
        (name = "teams", description = "Groups of agents"),
        (name = "queues", description = "Waiting lines, strategies and timers"),
        (name = "agents", description = "Agents, supervisors and their API tokens"),
        (name = "numbers", description = "Business numbers customers text"),
        (name = "dispositions", description = "Outcome codes"),
        (name = "templates", description = "Quick replies"),
        (name = "provider_accounts", description = "SMS provider accounts (credentials are write-only)"),
                        (name = "messages", description = "Customer messages from SMS providers"),
                (name = "work", description = "Agent work: presence, queue logins, offers, queue stats"),
        (name = "conversations", description = "A conversation's detail, thread and actions"),
        (name = "stats", description = "Statistics: a window's figures and the real-time part, per queue, team and agent"),
        (name = "sms", description = "SMS text rules: segments and encodings"),
        (name = "chat", description = "Internal chat between agents, never sent to customers"),
        (name = "contacts", description = "Contact cards and their conversation history"),
        (name = "live", description = "The websocket: live events, resume, offers, queue stats (docs/websocket.md)"),
        (name = "operations", description = "Health and readiness"),
        (name = "directory", description = "What a desktop reads with an agent's token: the caller, its queues, disposition codes, outbound templates, teammates"),
    ),
)]
pub struct ApiDoc;

/// The whole document, as served at `/openapi.json`. It is JSON rather than utoipa's typed
/// document because it states rules utoipa's types cannot hold (`if`/`then` across fields).
pub fn document() -> serde_json::Value {
    amend::amend(ApiDoc::openapi())
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The admin token, or a token issued by POST /v1/agents/{id}/tokens",
                    ))
                    .build(),
            ),
        );
        openapi.security = Some(vec![SecurityRequirement::new(
            "bearer",
            Vec::<String>::new(),
        )]);
    }
}

struct ConfigurationPaths;

impl Modify for ConfigurationPaths {
    fn modify(&self, openapi: &mut OpenApi) {
        add_meta_schema(openapi);
        add_crud::<Team>(openapi);
        add_crud::<Queue>(openapi);
        add_crud::<Agent>(openapi);
        add_crud::<Number>(openapi);
        add_crud::<Disposition>(openapi);
        add_crud::<Template>(openapi);
        add_crud::<ProviderAccount>(openapi);
        add_crud::<engine::domain::campaign::Campaign>(openapi);
    }
}

fn add_meta_schema(openapi: &mut OpenApi) {
    let meta = ObjectBuilder::new()
        .property(
            "created_at",
            ObjectBuilder::new()
                .schema_type(SchemaType::Type(Type::String))
                .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                    utoipa::openapi::KnownFormat::DateTime,
                ))),
        )
        .required("created_at")
        .property(
            "updated_at",
            ObjectBuilder::new()
                .schema_type(SchemaType::Type(Type::String))
                .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                    utoipa::openapi::KnownFormat::DateTime,
                ))),
        )
        .required("updated_at")
        .property(
            "revision",
            ObjectBuilder::new()
                .schema_type(SchemaType::Type(Type::Integer))
                .description(Some("Grows by one with each change")),
        )
        .required("revision");
    openapi
        .components
        .get_or_insert_with(Default::default)
        .schemas
        .insert("ResourceMeta".into(), meta.into());
}

fn schema_ref(name: &str) -> RefOr<Schema> {
    RefOr::Ref(Ref::from_schema_name(name))
}

fn json_response(description: &str, schema: RefOr<Schema>) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new().schema(Some(schema)).build(),
        )
        .build()
}

fn error_response(description: &str) -> utoipa::openapi::Response {
    json_response(description, schema_ref("ErrorBody"))
}

/// Registers `T` and every schema it refers to.
fn register<T: ToSchema>(openapi: &mut OpenApi) {
    let components = openapi.components.get_or_insert_with(Default::default);
    let mut schemas = vec![(T::name().into_owned(), T::schema())];
    T::schemas(&mut schemas);
    components.schemas.extend(schemas);
}

/// The tag and the answers every configuration operation shares.
///
/// A plain function on purpose: written as a closure calling `OperationBuilder::tag`, the
/// release build (rustc 1.95, opt-level 3) produced a use-after-free in this module — two
/// builders sharing one `tags` buffer — that valgrind showed and debug builds do not have.
/// `scripts/smoke-release` runs the optimised binary so a regression cannot hide.
fn common_responses(op: OperationBuilder, tag: &str) -> OperationBuilder {
    op.tags(Some(vec![tag.to_owned()]))
        .response(
            "401",
            error_response("Missing or unknown token (`unauthorized`)"),
        )
        .response("403", error_response("Not the admin token (`forbidden`)"))
        .response(
            "503",
            error_response("The store cannot be reached (`store_unavailable`)"),
        )
}

fn add_crud<R: ResourceApi>(openapi: &mut OpenApi) {
    register::<R>(openapi);
    register::<R::Create>(openapi);
    register::<R::Patch>(openapi);
    let name = R::name().into_owned();
    let view_name = format!("{name}View");
    let view = AllOfBuilder::new()
        .item(schema_ref(&name))
        .item(schema_ref("ResourceMeta"));
    let list = ObjectBuilder::new()
        .property("items", ArrayBuilder::new().items(schema_ref(&view_name)))
        .required("items")
        .property(
            "next_cursor",
            ObjectBuilder::new()
                .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
                .description(Some(
                    "Pass as `cursor` for the next page; null on the last page",
                )),
        )
        .required("next_cursor");
    let list_name = format!("{name}List");
    {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.schemas.insert(view_name.clone(), view.into());
        components.schemas.insert(list_name.clone(), list.into());
    }

    let kind = R::KIND.as_str();
    let tag = R::TAG;
    let body = |schema: String| {
        RequestBodyBuilder::new()
            .required(Some(Required::True))
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(schema_ref(&schema)))
                    .build(),
            )
            .build()
    };
    let id_param = ParameterBuilder::new()
        .name("id")
        .parameter_in(ParameterIn::Path)
        .required(Required::True)
        .schema(Some(String::schema()))
        .build();
    let common = |op: OperationBuilder| common_responses(op, tag);
    let invalid = "Bad input: `malformed_json`, `unknown_field`, `missing_field`, `invalid_type`, \
                   `invalid_value`, `invalid_phone_number`";

    let create = common(OperationBuilder::new())
        .operation_id(Some(format!("create_{kind}")))
        .summary(Some(format!("Create a {kind}")))
        .request_body(Some(body(R::Create::name().into_owned())))
        .response(
            "201",
            json_response(
                &format!("The new {kind}; `Location` names it"),
                schema_ref(&view_name),
            ),
        )
        .response("400", error_response(invalid))
        .response(
            "409",
            error_response(
                "`already_exists` (the id), `value_taken` (a unique field) or \
                 `reference_not_found` (a referenced resource does not exist)",
            ),
        )
        .response("415", error_response("Not JSON (`unsupported_media_type`)"));
    let mut list_op = common(OperationBuilder::new())
        .operation_id(Some(format!("list_{kind}s")))
        .summary(Some(format!("List {tag}, in id order")))
        .response("200", json_response("One page", schema_ref(&list_name)))
        .response("400", error_response("`invalid_query` or `invalid_cursor`"));
    for param in
        <crate::extract::ListQuery as utoipa::IntoParams>::into_params(|| Some(ParameterIn::Query))
    {
        list_op = list_op.parameter(param);
    }
    let get = common(OperationBuilder::new())
        .operation_id(Some(format!("get_{kind}")))
        .summary(Some(format!("Get a {kind}")))
        .parameter(id_param.clone())
        .response(
            "200",
            json_response(&format!("The {kind}"), schema_ref(&view_name)),
        )
        .response("404", error_response("No such resource (`not_found`)"));
    let patch = common(OperationBuilder::new())
        .operation_id(Some(format!("update_{kind}")))
        .summary(Some(format!(
            "Change a {kind}; absent fields stay as they are"
        )))
        .parameter(id_param.clone())
        .request_body(Some(body(R::Patch::name().into_owned())))
        .response(
            "200",
            json_response(&format!("The changed {kind}"), schema_ref(&view_name)),
        )
        .response("400", error_response(invalid))
        .response("404", error_response("No such resource (`not_found`)"))
        .response(
            "422",
            error_response(
                "`field_not_applicable`: a field that does not apply to the resource as it stands (simulator settings on a Twilio account)",
            ),
        )
        .response(
            "409",
            error_response("`value_taken`, `reference_not_found` or `concurrent_update`"),
        )
        .response("415", error_response("Not JSON (`unsupported_media_type`)"));
    let delete = common(OperationBuilder::new())
        .operation_id(Some(format!("delete_{kind}")))
        .summary(Some(format!("Delete a {kind}")))
        .parameter(id_param)
        .response("204", ResponseBuilder::new().description("Deleted").build())
        .response("404", error_response("No such resource (`not_found`)"))
        .response(
            "409",
            error_response(
                "Still referenced (`resource_in_use`); `details.referenced_by` names them",
            ),
        );

    let item_path = format!("{}/{{id}}", R::PATH);
    openapi
        .paths
        .add_path_operation(R::PATH, vec![HttpMethod::Post], create);
    openapi
        .paths
        .add_path_operation(R::PATH, vec![HttpMethod::Get], list_op);
    openapi
        .paths
        .add_path_operation(&item_path, vec![HttpMethod::Get], get);
    openapi
        .paths
        .add_path_operation(&item_path, vec![HttpMethod::Patch], patch);
    openapi
        .paths
        .add_path_operation(&item_path, vec![HttpMethod::Delete], delete);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every operation answering JSON shows an example of its request or answer (captured in
    /// `openapi_examples.json`); a new route without one fails here.
    #[test]
    fn every_json_operation_has_an_example() {
        let doc = document();
        let mut missing = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let json_success = op["responses"]
                    .as_object()
                    .unwrap()
                    .iter()
                    .any(|(code, r)| {
                        code.starts_with('2') && r.pointer("/content/application~1json").is_some()
                    });
                let has_example = op
                    .pointer("/requestBody/content/application~1json/example")
                    .is_some()
                    || op["responses"]
                        .as_object()
                        .unwrap()
                        .iter()
                        .any(|(code, r)| {
                            code.starts_with('2')
                                && r.pointer("/content/application~1json/example").is_some()
                        });
                if json_success && !has_example {
                    missing.push(format!("{method} {path}"));
                }
            }
        }
        assert!(missing.is_empty(), "no example: {missing:?}");
    }

    #[test]
    fn document_covers_every_configuration_route() {
        let doc = document();
        for resource in [
            "teams",
            "queues",
            "agents",
            "numbers",
            "dispositions",
            "templates",
        ] {
            let collection = &doc["paths"][format!("/v1/{resource}")];
            assert!(
                collection["post"].is_object() && collection["get"].is_object(),
                "{resource}"
            );
            let item = &doc["paths"][format!("/v1/{resource}/{{id}}")];
            for method in ["get", "patch", "delete"] {
                assert!(item[method].is_object(), "{resource} {method}");
            }
        }
        assert!(doc["paths"]["/v1/agents/{id}/tokens"]["post"].is_object());
        let thread = &doc["paths"]["/v1/conversations/{id}/messages"];
        assert!(
            thread["get"].is_object() && thread["post"].is_object(),
            "both methods of one path"
        );
        assert!(doc["paths"]["/readyz"]["get"].is_object());
    }

    #[test]
    fn phone_patterns_name_the_country_codes() {
        let doc = document();
        let phone = &doc["components"]["schemas"]["PhoneNumber"]["pattern"];
        assert_eq!(
            phone.as_str(),
            Some(engine::domain::e164_pattern().as_str())
        );
        let text = doc.to_string();
        let shape = serde_json::to_string(crate::schema::E164_SHAPE).unwrap();
        assert!(
            !text.contains(&shape),
            "a phone pattern was left unnarrowed"
        );
    }

    #[test]
    fn every_schema_reference_resolves() {
        let doc = document();
        let text = doc.to_string();
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        for piece in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
            let name = &piece[..piece.find('"').unwrap()];
            assert!(schemas.contains_key(name), "dangling $ref to {name}");
        }
    }
}
