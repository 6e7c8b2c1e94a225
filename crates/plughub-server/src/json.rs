//! Request bodies as JSON, refused in the one error shape when they are not what the route takes:
//! malformed (400 `malformed_json`), the wrong fields or types, or values outside the constraints the
//! body's type declares for the document (422 `invalid_body`, naming the field), not JSON (415), or over
//! the body limit (413).
//!
//! The constraints (`pattern`, lengths, bounds, item counts) are read from the same schema the OpenAPI
//! document publishes, so what the document says a body may hold is what is accepted.

use crate::error::ApiError;
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::any::TypeId;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, RwLock};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{AdditionalProperties, ArrayItems, Schema};

pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned + utoipa::PartialSchema + 'static,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<ApiJson<T>, ApiError> {
        let value = match Json::<Value>::from_request(request, state).await {
            Ok(Json(value)) => value,
            Err(rejection) => return Err(refused(rejection)),
        };
        let body = serde_json::from_value::<T>(value.clone())
            .map_err(|e| invalid(format!("the body is not what this takes: {e}")))?;
        check(&schema_of::<T>(), &value, "").map_err(invalid)?;
        Ok(ApiJson(body))
    }
}

fn invalid(message: String) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body", message)
}

fn refused(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::JsonDataError(e) => invalid(e.body_text()),
        JsonRejection::JsonSyntaxError(e) => {
            ApiError::new(StatusCode::BAD_REQUEST, "malformed_json", e.body_text())
        }
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "not_json",
            "send the body as JSON, with `content-type: application/json`",
        ),
        JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                format!(
                    "the body is over the limit of {} bytes",
                    crate::router::MAX_BODY_BYTES
                ),
            )
        }
        other => ApiError::new(other.status(), "bad_body", other.body_text()),
    }
}

/// A body type's schema, built once.
fn schema_of<T: utoipa::PartialSchema + 'static>() -> Arc<RefOr<Schema>> {
    static SCHEMAS: LazyLock<RwLock<HashMap<TypeId, Arc<RefOr<Schema>>>>> =
        LazyLock::new(Default::default);
    let id = TypeId::of::<T>();
    if let Some(schema) = SCHEMAS.read().expect("never poisoned").get(&id) {
        return schema.clone();
    }
    SCHEMAS
        .write()
        .expect("never poisoned")
        .entry(id)
        .or_insert_with(|| Arc::new(T::schema()))
        .clone()
}

/// Checks `value`, which deserialized already, against the constraints `schema` declares beyond types:
/// patterns, lengths, bounds and item counts, in objects' properties, maps' values and arrays' items.
/// References are to types whose values serde checks (enums), and are not followed.
pub(crate) fn check(schema: &RefOr<Schema>, value: &Value, at: &str) -> Result<(), String> {
    let RefOr::T(schema) = schema else {
        return Ok(());
    };
    let field = || {
        if at.is_empty() {
            "the body".to_string()
        } else {
            format!("`{at}`")
        }
    };
    match schema {
        Schema::Object(object) => {
            if let Value::String(text) = value {
                let length = text.chars().count();
                if object.min_length.is_some_and(|min| length < min) {
                    return Err(format!(
                        "{} is shorter than {} characters",
                        field(),
                        object.min_length.unwrap_or(0)
                    ));
                }
                if object.max_length.is_some_and(|max| length > max) {
                    return Err(format!(
                        "{} is longer than {} characters",
                        field(),
                        object.max_length.unwrap_or(0)
                    ));
                }
                if let Some(pattern) = &object.pattern
                    && !pattern_matches(pattern, text)
                {
                    return Err(format!("{} does not match the pattern {pattern}", field()));
                }
            }
            if let Value::Number(number) = value
                && let Some(n) = number.as_f64()
            {
                if object.minimum.as_ref().is_some_and(|min| n < as_f64(min)) {
                    return Err(format!("{} is below its minimum", field()));
                }
                if object.maximum.as_ref().is_some_and(|max| n > as_f64(max)) {
                    return Err(format!("{} is above its maximum", field()));
                }
            }
            if let Value::Object(map) = value {
                for (key, item) in map {
                    let path = if at.is_empty() {
                        key.clone()
                    } else {
                        format!("{at}.{key}")
                    };
                    match object.properties.get(key) {
                        Some(property) => check(property, item, &path)?,
                        None => {
                            if let Some(extra) = object.additional_properties.as_deref()
                                && let AdditionalProperties::RefOr(extra) = extra
                            {
                                check(extra, item, &path)?;
                            }
                        }
                    }
                }
            }
            Ok(())
        }
        Schema::Array(array) => {
            let Value::Array(items) = value else {
                return Ok(());
            };
            if array.min_items.is_some_and(|min| items.len() < min) {
                return Err(format!(
                    "{} has fewer than {} items",
                    field(),
                    array.min_items.unwrap_or(0)
                ));
            }
            if array.max_items.is_some_and(|max| items.len() > max) {
                return Err(format!(
                    "{} has more than {} items",
                    field(),
                    array.max_items.unwrap_or(0)
                ));
            }
            if let ArrayItems::RefOrSchema(item_schema) = &array.items {
                for (i, item) in items.iter().enumerate() {
                    check(item_schema, item, &format!("{at}[{i}]"))?;
                }
            }
            Ok(())
        }
        Schema::AllOf(all) => all.items.iter().try_for_each(|s| check(s, value, at)),
        _ => Ok(()),
    }
}

fn as_f64(number: &utoipa::Number) -> f64 {
    match number {
        utoipa::Number::Int(n) => *n as f64,
        utoipa::Number::UInt(n) => *n as f64,
        utoipa::Number::Float(n) => *n,
    }
}

/// Whether `text` matches the document's `pattern`, read as JSON Schema reads it: anywhere in the text,
/// unless the pattern anchors itself. Patterns are compiled once.
fn pattern_matches(pattern: &str, text: &str) -> bool {
    static COMPILED: LazyLock<RwLock<HashMap<String, regex::Regex>>> =
        LazyLock::new(Default::default);
    if let Some(regex) = COMPILED.read().expect("never poisoned").get(pattern) {
        return regex.is_match(text);
    }
    let regex =
        regex::Regex::new(pattern).expect("the document's patterns are valid regular expressions");
    let matches = regex.is_match(text);
    COMPILED
        .write()
        .expect("never poisoned")
        .insert(pattern.to_string(), regex);
    matches
}
