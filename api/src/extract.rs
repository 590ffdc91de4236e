//! Request extractors that answer bad input with the API's own errors: JSON bodies that
//! reject unknown fields and name the offending field, and list paging parameters.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::web::{Bytes, BytesMut};
use actix_web::{FromRequest, HttpRequest};
use futures_util::StreamExt;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::error::{ApiError, ErrorCode};

/// The largest JSON body accepted.
pub const MAX_JSON_BYTES: usize = 64 * 1024;

/// A JSON body deserialised into `T`, whose types decide what is accepted; configuration
/// DTOs carry `deny_unknown_fields`, so an unknown field is a 400, never silently dropped.
#[derive(Debug)]
pub struct ValidJson<T>(pub T);

/// Turns a serde error into the API's words, naming the field it is about.
fn json_error(err: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = err.path().to_string();
    let inner = err.into_inner();
    let text = inner.to_string();
    // serde_json appends the position; the field path says more to a client.
    let message = text
        .rfind(" at line ")
        .map_or(text.as_str(), |at| &text[..at])
        .to_owned();
    let quoted = message.split('`').nth(1).map(str::to_owned);
    let field_in = |name: Option<String>| {
        let name = name.unwrap_or_default();
        if path == "." {
            name
        } else {
            format!("{path}.{name}")
        }
    };
    match inner.classify() {
        serde_json::error::Category::Syntax
        | serde_json::error::Category::Eof
        | serde_json::error::Category::Io => ApiError::new(
            ErrorCode::MalformedJson,
            format!("the body is not valid JSON: {message}"),
        ),
        serde_json::error::Category::Data if message.starts_with("unknown field") => {
            // The path usually ends at the unknown key already; inside a nested object read
            // on its own (`schema::Obj`) it ends at the object.
            let name = quoted.unwrap_or_default();
            let field = if path == "." {
                name
            } else if path.ends_with(&name) {
                path
            } else {
                format!("{path}.{name}")
            };
            ApiError::new(ErrorCode::UnknownField, format!("{field}: {message}"))
                .with_details(json!({"field": field}))
        }
        serde_json::error::Category::Data if message.starts_with("missing field") => {
            let field = field_in(quoted);
            ApiError::new(ErrorCode::MissingField, format!("{field}: {message}"))
                .with_details(json!({"field": field}))
        }
        serde_json::error::Category::Data if message.starts_with("invalid type") => {
            ApiError::new(ErrorCode::InvalidType, format!("{path}: {message}"))
                .with_details(json!({"field": path}))
        }
        serde_json::error::Category::Data => {
            ApiError::new(ErrorCode::InvalidValue, format!("{path}: {message}"))
                .with_details(json!({"field": path}))
        }
    }
}

/// Parses a JSON body (the checks of [`ValidJson`], usable on bytes already read).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // serde's derived structs also accept a JSON array (fields by position); request bodies
    // are objects, and a positional body is a client bug to point out, not to guess at.
    if bytes
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'[')
    {
        return Err(ApiError::new(
            ErrorCode::InvalidType,
            "the body must be a JSON object, not an array",
        )
        .with_details(json!({"field": "."})));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|err| {
        // serde_json reports a number or `true` where an enum's string belongs as a syntax
        // error ("expected value"); when the body is well-formed JSON it is a wrong type.
        let syntax = err.inner().classify() == serde_json::error::Category::Syntax;
        if syntax && serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok() {
            let path = err.path().to_string();
            return ApiError::new(
                ErrorCode::InvalidType,
                format!("{path}: invalid type: expected one of the documented values"),
            )
            .with_details(json!({"field": path}));
        }
        json_error(err)
    })?;
    de.end().map_err(|e| {
        ApiError::new(
            ErrorCode::MalformedJson,
            format!("the body is not valid JSON: {e}"),
        )
    })?;
    Ok(value)
}

fn is_json(req: &HttpRequest) -> bool {
    let Some(value) = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

impl<T: DeserializeOwned + 'static> FromRequest for ValidJson<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let json = is_json(req);
        let mut payload = payload.take();
        Box::pin(async move {
            if !json {
                return Err(not_json());
            }
            parse_json(&read_body(&mut payload).await?).map(ValidJson)
        })
    }
}

/// A JSON body like [`ValidJson`], except that no body at all means `T::default()` (actions
/// whose fields are all optional, such as `read`).
#[derive(Debug)]
pub struct OptionalJson<T>(pub T);

impl<T: DeserializeOwned + Default + 'static> FromRequest for OptionalJson<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let json = is_json(req);
        let mut payload = payload.take();
        Box::pin(async move {
            let body = read_body(&mut payload).await?;
            // No body, or JSON `null`: nothing was said.
            if body.is_empty() || body.trim_ascii() == b"null" {
                return Ok(OptionalJson(T::default()));
            }
            if !json {
                return Err(not_json());
            }
            parse_json(&body).map(OptionalJson)
        })
    }
}

fn not_json() -> ApiError {
    ApiError::new(
        ErrorCode::UnsupportedMediaType,
        "send the body as JSON with Content-Type: application/json",
    )
}

/// The largest body of a campaign's bulk send (`POST /v1/campaigns/{id}/sends`): 100,000
/// recipients with a few fields each.
pub const MAX_SEND_BYTES: usize = 32 * 1024 * 1024;

/// The largest body a `POST` to `path` may have: a bulk send's upload, or any other JSON.
pub fn body_limit(path: &str) -> usize {
    if path.starts_with("/v1/campaigns/") && path.ends_with("/sends") {
        MAX_SEND_BYTES
    } else {
        MAX_JSON_BYTES
    }
}

/// Reads a whole request body, refusing more than [`MAX_JSON_BYTES`].
pub async fn read_body<S>(payload: &mut S) -> Result<BytesMut, ApiError>
where
    S: futures_util::Stream<Item = Result<Bytes, actix_web::error::PayloadError>> + Unpin,
{
    read_body_within(payload, MAX_JSON_BYTES).await
}

/// Reads a whole request body, refusing (413) as soon as it passes `limit` bytes.
pub async fn read_body_within<S>(payload: &mut S, limit: usize) -> Result<BytesMut, ApiError>
where
    S: futures_util::Stream<Item = Result<Bytes, actix_web::error::PayloadError>> + Unpin,
{
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk: Bytes = chunk.map_err(|e| match e {
            actix_web::error::PayloadError::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => {
                ApiError::new(
                    ErrorCode::RequestTimeout,
                    "the request body did not arrive in time",
                )
            }
            e => ApiError::new(
                ErrorCode::MalformedJson,
                format!("the body could not be read: {e}"),
            ),
        })?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!("the body must be at most {limit} bytes"),
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The default page size of lists.
pub const DEFAULT_PAGE_SIZE: usize = 50;

/// `?limit=&cursor=` of every list.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Items per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    #[param(value_type = Option<crate::schema::IdText>)]
    pub cursor: Option<String>,
}

impl ListQuery {
    /// Reads the query string, refusing unknown parameters and out-of-range values.
    pub fn from_request(req: &HttpRequest) -> Result<Self, ApiError> {
        Self::from_query(req.query_string())
    }

    /// [`Self::from_request`] for a query string.
    pub fn from_query(query_string: &str) -> Result<Self, ApiError> {
        let mut query: Self = serde_urlencoded_from(query_string)?;
        // The form decoder reads `cursor=` as absent; it is a malformed cursor.
        let empty_cursor = query_string
            .split('&')
            .any(|pair| pair == "cursor" || pair == "cursor=");
        if empty_cursor {
            query.cursor = Some(String::new());
        }
        if let Some(limit) = query.limit
            && !(1..=engine::catalog::MAX_PAGE_SIZE as i64).contains(&limit)
        {
            return Err(
                ApiError::new(ErrorCode::InvalidQuery, "limit must be between 1 and 200")
                    .with_details(json!({"field": "limit"})),
            );
        }
        Ok(query)
    }

    /// The page size asked for.
    pub fn limit(&self) -> usize {
        self.limit.map_or(DEFAULT_PAGE_SIZE, |l| l as usize)
    }

    /// The id to continue after, decoded from the cursor.
    pub fn after(&self) -> Result<Option<String>, ApiError> {
        self.cursor.as_deref().map(decode_cursor).transpose()
    }
}

/// Reads a query string into `T`, answering `invalid_query` when it does not fit.
pub fn serde_urlencoded_from<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    actix_web::web::Query::<T>::from_query(query)
        .map(actix_web::web::Query::into_inner)
        .map_err(|e| ApiError::new(ErrorCode::InvalidQuery, format!("bad query string: {e}")))
}

/// Cursors are opaque to clients; today a cursor is the last id of the page, and the next
/// page starts after it in id order — so any id-shaped cursor names a valid position, even
/// one whose resource was deleted meanwhile. Ids never contain `:`, which leaves room for a
/// versioned format (`v2:...`) later.
pub fn encode_cursor(after_id: &str) -> String {
    after_id.to_owned()
}

fn decode_cursor(cursor: &str) -> Result<String, ApiError> {
    let valid = cursor.len() <= 64
        && cursor
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && cursor
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c));
    if valid {
        Ok(cursor.to_owned())
    } else {
        Err(ApiError::new(
            ErrorCode::InvalidCursor,
            "cursor is not one this API issued",
        )
        .with_details(json!({"field": "cursor"})))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Sample {
        name: String,
        inner: Option<Inner>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        count: u32,
    }

    fn code_of(body: &str) -> (ErrorCode, serde_json::Value) {
        let err = parse_json::<Sample>(body.as_bytes()).unwrap_err();
        (err.code, err.details)
    }

    #[test]
    fn json_errors_name_the_field() {
        assert_eq!(code_of("{"), (ErrorCode::MalformedJson, json!({})));
        assert_eq!(
            code_of(r#"{"name":"a","x":1}"#),
            (ErrorCode::UnknownField, json!({"field": "x"}))
        );
        assert_eq!(
            code_of(r#"{"name":"a","inner":{"count":1,"y":2}}"#),
            (ErrorCode::UnknownField, json!({"field": "inner.y"}))
        );
        assert_eq!(
            code_of(r#"{}"#),
            (ErrorCode::MissingField, json!({"field": "name"}))
        );
        assert_eq!(
            code_of(r#"{"name":5}"#),
            (ErrorCode::InvalidType, json!({"field": "name"}))
        );
        assert_eq!(
            code_of(r#"{"name":"a","inner":{"count":-1}}"#),
            (ErrorCode::InvalidValue, json!({"field": "inner.count"}))
        );
        assert_eq!(
            code_of(r#"{"name":"a"} trailing"#).0,
            ErrorCode::MalformedJson
        );
    }

    #[test]
    fn cursor_round_trips_and_rejects_malformed_ones() {
        assert_eq!(decode_cursor(&encode_cursor("q_1")).unwrap(), "q_1");
        assert_eq!(
            decode_cursor("not a cursor!").unwrap_err().code,
            ErrorCode::InvalidCursor
        );
        assert_eq!(
            decode_cursor("v2:later").unwrap_err().code,
            ErrorCode::InvalidCursor
        );
    }
}
