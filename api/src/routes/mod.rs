//! The HTTP routes, one module per resource; `configure` mounts them all.

pub mod agents;
pub mod campaign_sends;
pub mod campaigns;
pub mod chat;
pub mod contacts;
pub mod conversation_list;
pub mod conversation_routing;
pub mod conversations;
pub mod crud;
pub mod dispositions;
pub mod health;
pub mod inbound;
pub mod me;
pub mod metrics;
pub mod numbers;
pub mod outbound;
pub mod provider_accounts;
pub mod queues;
pub mod quick_replies;
pub mod reports;
pub mod skills_input;
pub mod sms;
pub mod stats;
pub mod team_agents;
pub mod teams;
pub mod templates;
pub mod transcript;
pub mod twilio;
pub mod work;

use actix_web::middleware::from_fn;
use actix_web::{HttpRequest, web};
use engine::domain::{Agent, Disposition, Number, ProviderAccount, Queue, Team, Template};

use crate::auth::authenticate;
use crate::error::{ApiError, ErrorCode};

/// Mounts every route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    // Known paths answer an unsupported method with 405 and `Allow`, not 404.
    let get_only = |path: &str, route: actix_web::Route| {
        web::resource(path)
            .route(route)
            .default_service(crud::method_not_allowed("GET"))
    };
    cfg.service(get_only("/healthz", web::get().to(health::healthz)))
        .service(get_only("/readyz", web::get().to(health::readyz)))
        .service(get_only("/metrics", web::get().to(metrics::metrics)))
        .configure(twilio::configure)
        .service(
            web::scope("/v1")
                // Outermost last: authentication runs first, then idempotency (per caller).
                .wrap(from_fn(crate::idempotency::idempotent))
                .wrap(from_fn(authenticate))
                // One scope per first segment: a request is matched against its collection's
                // few patterns, not against every dynamic pattern of the API in turn (each a
                // regular expression: 6 % of the server's CPU under load before).
                .service(
                    web::scope("/conversations")
                        .configure(conversations::configure)
                        .configure(transcript::configure)
                        .configure(quick_replies::configure),
                )
                .service(web::scope("/offers").configure(work::configure_offers))
                .service(
                    web::scope(crud::collection::<Agent>())
                        .configure(crud::configure::<Agent>)
                        .configure(agents::configure_tokens)
                        .configure(work::configure_agents),
                )
                .service(web::scope("/inbound").configure(inbound::configure))
                .service(web::scope("/ws").configure(crate::live::configure))
                .service(web::scope("/me").configure(me::configure))
                .service(
                    web::scope(crud::collection::<Queue>())
                        .configure(crud::configure::<Queue>)
                        .configure(work::configure_queues)
                        .configure(me::configure_queues),
                )
                .service(collection::<Team>())
                .service(collection::<Number>())
                .service(collection::<Disposition>())
                .service(collection::<Template>())
                .service(collection::<ProviderAccount>())
                .service(
                    web::scope(crud::collection::<engine::domain::campaign::Campaign>())
                        .configure(crud::configure::<engine::domain::campaign::Campaign>)
                        .configure(campaign_sends::configure),
                )
                .service(web::scope("/contacts").configure(contacts::configure))
                .service(web::scope("/chat").configure(chat::configure))
                .service(web::scope("/stats").configure(stats::configure))
                .service(web::scope("/reports").configure(reports::configure))
                .service(web::scope("/sms").configure(sms::configure)),
        );
}

/// The scope of a resource with nothing but its five operations.
fn collection<R: crud::ResourceApi>() -> actix_web::Scope {
    web::scope(crud::collection::<R>()).configure(crud::configure::<R>)
}

/// Answers paths no route serves.
pub async fn not_found(req: HttpRequest) -> actix_web::HttpResponse {
    actix_web::ResponseError::error_response(&ApiError::new(
        ErrorCode::NotFound,
        format!("no route serves {}", req.path()),
    ))
}
