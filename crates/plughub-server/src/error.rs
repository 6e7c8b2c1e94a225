//! The one error shape of the API: `{"error": {"code", "message", "details"}}` with the right status.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use plughub_catalog::CatalogError;
use serde_json::{Value, json};

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Value,
}

impl ApiError {
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: "bad_request",
            message: message.into(),
            details: Value::Null,
        }
    }
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            details: Value::Null,
        }
    }

    /// A request without a way to say who it comes from, or with one that no longer holds.
    pub fn unauthenticated(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, code, message)
    }

    /// What the caller may not see, or that does not exist: the same answer for both.
    pub fn org_not_found(org: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "org_not_found",
            format!("no organisation named '{org}' that you belong to"),
        )
    }

    pub fn internal(error: &dyn std::fmt::Display) -> ApiError {
        tracing::error!(error = %error, "request failed");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the server failed to answer; the error is in its log",
        )
    }
}

impl From<plughub_store::StoreError> for ApiError {
    fn from(e: plughub_store::StoreError) -> ApiError {
        ApiError::internal(&e)
    }
}

impl From<plughub_accounts::AccountError> for ApiError {
    fn from(e: plughub_accounts::AccountError) -> ApiError {
        use plughub_accounts::AccountError as E;
        match e {
            E::UnknownToken => ApiError::unauthenticated("token_unknown", e.to_string()),
            E::RevokedToken(_) => ApiError::unauthenticated("token_revoked", e.to_string()),
            E::ExpiredToken(_) => ApiError::unauthenticated("token_expired", e.to_string()),
            E::SessionEnded => ApiError::unauthenticated("session_ended", e.to_string()),
            E::BadLogin => ApiError::unauthenticated("bad_login", e.to_string()),
            E::BadEmail(_) | E::WeakPassword | E::BadExpiry => ApiError::bad_request(e.to_string()),
            E::UnknownPerson(_) | E::UnknownOrg(_) => {
                ApiError::new(StatusCode::NOT_FOUND, "not_found", e.to_string())
            }
            E::Store(_) | E::Random(_) => ApiError::internal(&e),
        }
    }
}

impl From<plughub_lifecycle::LifecycleError> for ApiError {
    fn from(e: plughub_lifecycle::LifecycleError) -> ApiError {
        use plughub_lifecycle::LifecycleError as E;
        if let E::Install(plughub_install::InstallError::NotAPlugin {
            name,
            version,
            suggestions,
        }) = &e
        {
            return ApiError {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                code: "not_a_plugin",
                details: json!({ "package": name, "version": version, "suggestions": suggestions }),
                message: e.to_string(),
            };
        }
        let (status, code) = match &e {
            E::UnknownOrg(_) => (StatusCode::NOT_FOUND, "org_not_found"),
            E::NotInstalled { .. } => (StatusCode::NOT_FOUND, "plugin_not_installed"),
            E::UnknownAgent { .. } => (StatusCode::NOT_FOUND, "agent_not_found"),
            E::Install(_) | E::DependencyUnavailable { .. } => {
                (StatusCode::UNPROCESSABLE_ENTITY, "cannot_install")
            }
            E::AlreadyInstalled { .. } | E::AlreadyActive { .. } | E::NotActive { .. } => {
                (StatusCode::CONFLICT, "conflict")
            }
            E::HasDependents { .. } | E::NothingToRollBack { .. } | E::RollbackNeeds { .. } => {
                (StatusCode::CONFLICT, "conflict")
            }
            E::NeedsGrant { .. } => (StatusCode::CONFLICT, "needs_grant"),
            E::NeedsConfig { .. } => (StatusCode::CONFLICT, "needs_config"),
            E::NotRunnable { .. } | E::Transition(_) | E::PackageElsewhere { .. } => {
                (StatusCode::CONFLICT, "not_runnable")
            }
            E::TooRisky { .. } => (StatusCode::CONFLICT, "too_risky"),
            E::InvalidConfig { .. }
            | E::BadEnvFile(_)
            | E::BadPermissions { .. }
            | E::BadName { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
            E::Dependencies(_) | E::DependencyFailed { .. } => {
                (StatusCode::UNPROCESSABLE_ENTITY, "dependencies")
            }
            E::RateLimited { .. } | E::QuotaExceeded { .. } | E::ExecutionRate { .. } => {
                (StatusCode::TOO_MANY_REQUESTS, "rate_limited")
            }
            E::DidNotStart { .. } | E::NoModel { .. } | E::ComponentFailed { .. } => {
                (StatusCode::BAD_GATEWAY, "plugin_failed")
            }
            E::Secrets(_) | E::Analyze(_) | E::Store(_) | E::Io { .. } => {
                return ApiError::internal(&e);
            }
        };
        ApiError::new(status, code, e.to_string())
    }
}

impl From<CatalogError> for ApiError {
    fn from(e: CatalogError) -> ApiError {
        match e {
            CatalogError::UnknownPlugin {
                ref suggestions, ..
            } => ApiError {
                status: StatusCode::NOT_FOUND,
                code: "plugin_not_found",
                details: json!({ "suggestions": suggestions }),
                message: e.to_string(),
            },
            other => {
                tracing::error!(error = %other, "request failed");
                ApiError {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    code: "internal",
                    message: "the server failed to answer; the error is in its log".into(),
                    details: Value::Null,
                }
            }
        }
    }
}

impl ApiError {
    /// The body every error answer has.
    pub fn body(&self) -> Value {
        json!({ "error": { "code": self.code, "message": self.message, "details": self.details } })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body())).into_response()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
