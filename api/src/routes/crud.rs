//! The five configuration operations, written once for every resource: create, list, get,
//! update (PATCH) and delete, admin only. Each resource module says how its request bodies
//! become domain values; everything else (auth, paging, errors, `Location`) is here.

use actix_web::http::header::LOCATION;
use actix_web::{HttpRequest, HttpResponse, web};
use engine::catalog::{ConfigResource, Stored};
use engine::domain::ValidationError;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::auth::Admin;
use crate::error::{ApiError, ErrorCode};
use crate::extract::{ListQuery, ValidJson, encode_cursor};
use crate::state::AppState;

/// How a configuration resource meets HTTP.
pub trait ResourceApi: ConfigResource + utoipa::ToSchema {
    /// The collection path, e.g. `/v1/teams`.
    const PATH: &'static str;
    /// The OpenAPI tag and the word in messages, e.g. `teams`.
    const TAG: &'static str;
    /// The body of `POST` to the collection.
    type Create: DeserializeOwned + utoipa::ToSchema + 'static;
    /// The body of `PATCH` to one resource: every field optional.
    type Patch: DeserializeOwned + utoipa::ToSchema + 'static;

    /// Whether writing one changes which campaigns exist or which numbers they have (a
    /// number's label, a campaign's name): then a write answers only once the campaigns
    /// follow it (`Engine::adopt_campaign_labels`), so that what it answers holds.
    const MOVES_CAMPAIGNS: bool = false;

    /// Why this one may not be deleted now, beyond the catalog's references (a campaign
    /// whose name numbers still carry).
    fn refuse_delete(&self) -> Option<ApiError> {
        None
    }

    /// A new resource from a create body (making an id when none is given).
    fn create(input: Self::Create) -> Result<Self, ValidationError>;

    /// The resource with a patch applied. Called again if a concurrent writer won a race, so
    /// it takes the patch by reference.
    fn patch(self, input: &Self::Patch) -> Result<Self, ValidationError>;

    /// The resource as answered (its fields, timestamps, revision); a resource holding
    /// secrets leaves them out.
    fn answer(stored: &Stored<Self>) -> serde_json::Value
    where
        Self: Sized,
    {
        serde_json::to_value(View::from(stored)).expect("resources serialise")
    }

    /// The `GET` of one resource: the admin's configuration view, unless the resource shows
    /// more (an agent shows its routing state too).
    fn get_route() -> actix_web::Route
    where
        Self: Sized,
    {
        web::get().to(get::<Self>)
    }

    /// The `GET` of the collection: the admin's configuration list, unless the resource's
    /// list serves others too (supervisors list their teams' agents).
    fn list_route() -> actix_web::Route
    where
        Self: Sized,
    {
        web::get().to(list::<Self>)
    }
}

/// A resource as answered: its fields plus timestamps and revision.
#[derive(Debug, Serialize)]
pub struct View<'a, R> {
    #[serde(flatten)]
    resource: &'a R,
    created_at: protocol::Time,
    updated_at: protocol::Time,
    revision: u64,
}

/// Checks an id from the path (see [`path_id`]) for resource `R`.
pub fn checked_path_id<R: ResourceApi>(raw: &str) -> Result<String, ApiError> {
    path_id::<R>(raw)
}

impl<'a, R> From<&'a Stored<R>> for View<'a, R> {
    fn from(stored: &'a Stored<R>) -> Self {
        Self {
            resource: &stored.resource,
            created_at: stored.created_at.into(),
            updated_at: stored.updated_at.into(),
            revision: stored.revision,
        }
    }
}

/// One page of a list, as answered.
#[derive(Debug, Serialize)]
pub struct ListView<T> {
    items: Vec<T>,
    next_cursor: Option<String>,
}

/// An id from the path: one that cannot be valid cannot exist either, so it is a 404.
fn path_id<R: ResourceApi>(raw: &str) -> Result<String, ApiError> {
    let valid = !raw.is_empty()
        && raw.len() <= 64
        && raw
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c));
    if valid {
        Ok(raw.to_owned())
    } else {
        Err(ApiError::not_found(R::KIND.as_str(), raw))
    }
}

async fn create<R: ResourceApi>(
    _: Admin,
    state: web::Data<AppState>,
    body: ValidJson<R::Create>,
) -> Result<HttpResponse, ApiError> {
    let resource = R::create(body.0)?;
    let stored = state.catalog.create(resource).await?;
    let stored = follow_campaigns(&state, stored).await?;
    tracing::info!(
        kind = R::KIND.as_str(),
        id = stored.resource.id(),
        "created"
    );
    Ok(HttpResponse::Created()
        .insert_header((LOCATION, format!("{}/{}", R::PATH, stored.resource.id())))
        .json(R::answer(&stored)))
}

async fn list<R: ResourceApi>(
    _: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    list_page::<R>(&state, &ListQuery::from_request(&req)?).await
}

/// A page of the admin's configuration list.
pub async fn list_page<R: ResourceApi>(
    state: &AppState,
    query: &ListQuery,
) -> Result<HttpResponse, ApiError> {
    let page = state
        .catalog
        .list::<R>(query.after()?.as_deref(), query.limit())
        .await?;
    Ok(HttpResponse::Ok().json(ListView {
        items: page.items.iter().map(R::answer).collect(),
        next_cursor: page.next_after.as_deref().map(encode_cursor),
    }))
}

async fn get<R: ResourceApi>(
    _: Admin,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let stored = state.catalog.get::<R>(&path_id::<R>(&id)?).await?;
    Ok(HttpResponse::Ok().json(R::answer(&stored)))
}

async fn update<R: ResourceApi>(
    _: Admin,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: ValidJson<R::Patch>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id::<R>(&id)?;
    let stored = state
        .catalog
        .update::<R>(&id, |current| current.patch(&body.0))
        .await?;
    let stored = follow_campaigns(&state, stored).await?;
    tracing::info!(kind = R::KIND.as_str(), id = %id, revision = stored.revision, "updated");
    Ok(HttpResponse::Ok().json(R::answer(&stored)))
}

async fn delete<R: ResourceApi>(
    _: Admin,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id::<R>(&id)?;
    if R::MOVES_CAMPAIGNS
        && let Some(refused) = state.catalog.get::<R>(&id).await?.resource.refuse_delete()
    {
        return Err(refused);
    }
    state.catalog.delete::<R>(&id).await?;
    if R::MOVES_CAMPAIGNS {
        keep_campaigns(&state).await;
    }
    tracing::info!(kind = R::KIND.as_str(), id = %id, "deleted");
    Ok(HttpResponse::NoContent().finish())
}

/// After a write of a resource that moves campaigns, keeps them up to date and answers the
/// resource as stored then (a campaign's numbers filled in).
async fn follow_campaigns<R: ResourceApi>(
    state: &AppState,
    stored: Stored<R>,
) -> Result<Stored<R>, ApiError> {
    if !R::MOVES_CAMPAIGNS {
        return Ok(stored);
    }
    keep_campaigns(state).await;
    Ok(state.catalog.get::<R>(stored.resource.id()).await?)
}

/// Keeps campaigns following numbers' labels. The write it follows is stored whatever
/// happens here; a failure is retried by the engine's own follow-up of the change.
async fn keep_campaigns(state: &AppState) {
    if let Err(e) = state.engine.adopt_campaign_labels().await {
        tracing::warn!(error = %e, "campaigns not updated after a write; retried in the background");
    }
}

/// A handler answering a known path's unsupported methods with 405 and the `Allow` header
/// listing the ones it takes (RFC 9110).
pub fn method_not_allowed(allow: &'static str) -> actix_web::Route {
    web::to(move |req: HttpRequest| async move {
        let mut response = actix_web::ResponseError::error_response(
            &ApiError::new(
                ErrorCode::MethodNotAllowed,
                format!(
                    "{} is not allowed on {}; use {allow}",
                    req.method(),
                    req.path()
                ),
            )
            .with_details(serde_json::json!({"allow": allow})),
        );
        response.headers_mut().insert(
            actix_web::http::header::ALLOW,
            actix_web::http::header::HeaderValue::from_static(allow),
        );
        response
    })
}

/// The scope of `R`'s collection inside `/v1` (`/teams`): `PATH` is the full path, for links
/// and documentation.
pub fn collection<R: ResourceApi>() -> &'static str {
    R::PATH
        .strip_prefix("/v1")
        .expect("resource paths start with /v1")
}

/// Registers the five operations of `R` (inside its [`collection`] scope).
pub fn configure<R: ResourceApi>(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("")
            .route(web::post().to(create::<R>))
            .route(R::list_route())
            .default_service(method_not_allowed("GET, POST")),
    )
    .service(
        web::resource("/{id}")
            .route(R::get_route())
            .route(web::patch().to(update::<R>))
            .route(web::delete().to(delete::<R>))
            .default_service(method_not_allowed("GET, PATCH, DELETE")),
    );
}

/// Reads an optional client-chosen id, or makes one.
pub fn id_or_generate<T>(
    given: Option<String>,
    parse: impl FnOnce(String) -> Result<T, ValidationError>,
    generate: impl FnOnce() -> T,
) -> Result<T, ValidationError> {
    given.map_or_else(|| Ok(generate()), parse)
}

/// Deserialises a field that may be absent (leave as is), `null` (clear) or a value (set):
/// `Option<Option<T>>` with `#[serde(default, deserialize_with = "double_option")]`.
pub fn double_option<'de, T, D>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    T: serde::Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    serde::Deserialize::deserialize(de).map(Some)
}

/// Every resource of type `R`, all pages (configuration is small: a few pages at most).
pub async fn every<R: ConfigResource>(state: &AppState) -> Result<Vec<R>, ApiError> {
    Ok(every_stored::<R>(state)
        .await?
        .into_iter()
        .map(|s| s.resource)
        .collect())
}

/// Every resource of a kind as stored (with timestamps and revision), in id order.
pub async fn every_stored<R: ConfigResource>(
    state: &AppState,
) -> Result<Vec<engine::catalog::Stored<R>>, ApiError> {
    let mut all = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = state
            .catalog
            .list::<R>(after.as_deref(), engine::catalog::MAX_PAGE_SIZE)
            .await?;
        all.extend(page.items);
        match page.next_after {
            Some(next) => after = Some(next),
            None => return Ok(all),
        }
    }
}
