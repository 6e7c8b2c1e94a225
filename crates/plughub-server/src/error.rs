//! The one error shape of the API: `{"error": {"code", "message", "details"}}` with the right status.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use plughub_catalog::CatalogError;
use serde_json::{Value, json};

/// The one error shape of every route: `{"error": {"code", "message", "details"}}`.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable, for scripts: `org_not_found`, `forbidden`, `invalid_body`, …
    #[schema(example = "org_not_found")]
    pub code: String,
    /// For people: what went wrong and what to do.
    pub message: String,
    /// More, where there is more (suggestions, the role that was refused); `null` otherwise.
    #[schema(value_type = Option<Object>)]
    pub details: Value,
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Value,
    /// Seconds to wait before trying again, sent as `Retry-After`.
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: "bad_request",
            message: message.into(),
            details: Value::Null,
            retry_after: None,
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
            retry_after: None,
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
        match e {
            // A name taken already (an agent), or a change another request made first.
            plughub_store::StoreError::Conflict(message) => {
                ApiError::new(StatusCode::CONFLICT, "conflict", message)
            }
            e => ApiError::internal(&e),
        }
    }
}

impl From<plughub_accounts::AccountError> for ApiError {
    fn from(e: plughub_accounts::AccountError) -> ApiError {
        use plughub_accounts::AccountError as E;
        let (status, code) = match &e {
            E::UnknownToken => return ApiError::unauthenticated("token_unknown", e.to_string()),
            E::RevokedToken(_) => return ApiError::unauthenticated("token_revoked", e.to_string()),
            E::ExpiredToken(_) => return ApiError::unauthenticated("token_expired", e.to_string()),
            E::SessionEnded => return ApiError::unauthenticated("session_ended", e.to_string()),
            E::BadLogin => return ApiError::unauthenticated("bad_login", e.to_string()),
            E::Throttled { retry_after, until } => {
                return ApiError {
                    details: json!({ "retry_after": retry_after, "until": until }),
                    retry_after: Some(*retry_after),
                    ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, "throttled", e.to_string())
                };
            }
            E::WeakPassword => (StatusCode::UNPROCESSABLE_ENTITY, "weak_password"),
            E::BadEmail(_)
            | E::BadExpiry
            | E::BadInvitationExpiry
            | E::BadOrgName(_)
            | E::RoleNotHere(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
            E::WrongPassword => (StatusCode::FORBIDDEN, "wrong_password"),
            E::InvitationNotYours(_) => (StatusCode::FORBIDDEN, "invitation_not_yours"),
            E::UnknownPerson(_) => (StatusCode::NOT_FOUND, "person_not_found"),
            E::UnknownOrg(_) => (StatusCode::NOT_FOUND, "org_not_found"),
            E::NotMember { .. } => (StatusCode::NOT_FOUND, "member_not_found"),
            E::NoSuchToken(_) => (StatusCode::NOT_FOUND, "token_not_found"),
            E::UnknownInvitation | E::NoSuchInvitation { .. } => {
                (StatusCode::NOT_FOUND, "invitation_not_found")
            }
            E::InvitationExpired(_) => (StatusCode::GONE, "invitation_expired"),
            E::LastOwner { .. } => (StatusCode::CONFLICT, "last_owner"),
            E::EmailTaken(_) => (StatusCode::CONFLICT, "email_taken"),
            E::Store(_) => {
                let E::Store(store) = e else { unreachable!() };
                return store.into();
            }
            E::Random(_) => return ApiError::internal(&e),
        };
        ApiError::new(status, code, e.to_string())
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
                retry_after: None,
            };
        }
        // Each bad value by its setting's name, for a form to show beside its field.
        if let E::InvalidConfig { problems, .. } = &e {
            return ApiError {
                details: json!({ "problems": problems }),
                ..ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", e.to_string())
            };
        }
        if let E::Store(store) = e {
            return store.into();
        }
        let (status, code) = match &e {
            E::UnknownOrg(_) => (StatusCode::NOT_FOUND, "org_not_found"),
            E::NotInstalled { .. } => (StatusCode::NOT_FOUND, "plugin_not_installed"),
            E::UnknownAgent { .. } => (StatusCode::NOT_FOUND, "agent_not_found"),
            // A name (or version) the registry does not have: not found, as for the catalogue.
            E::Install(
                plughub_install::InstallError::NotOnNpm { .. }
                | plughub_install::InstallError::NotPublished { .. }
                | plughub_install::InstallError::NoTarget { .. },
            ) => (StatusCode::NOT_FOUND, "plugin_not_found"),
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
            | E::UngrantableProgram { .. }
            | E::BadName { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
            E::Dependencies(_) | E::DependencyFailed { .. } => {
                (StatusCode::UNPROCESSABLE_ENTITY, "dependencies")
            }
            E::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            E::Secrets(_) | E::Analyze(_) | E::Store(_) | E::Io { .. } => {
                return ApiError::internal(&e);
            }
        };
        ApiError::new(status, code, e.to_string())
    }
}

impl From<plughub_runner::RunError> for ApiError {
    fn from(e: plughub_runner::RunError) -> ApiError {
        use plughub_runner::RunError as E;
        let (status, code) = match &e {
            E::Lifecycle(_) => {
                let E::Lifecycle(e) = e else { unreachable!() };
                return e.into();
            }
            E::QuotaExceeded { .. } | E::ExecutionRate { .. } => {
                // When to try again: the quota resets at midnight UTC, the rate counts one minute.
                let retry_after = match &e {
                    E::QuotaExceeded { .. } => {
                        let now = time::OffsetDateTime::now_utc();
                        let midnight =
                            (now + time::Duration::days(1)).replace_time(time::Time::MIDNIGHT);
                        (midnight - now).whole_seconds().max(1) as u64
                    }
                    _ => 60,
                };
                let mut error =
                    ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", e.to_string());
                error.retry_after = Some(retry_after);
                return error;
            }
            E::BreakerOpen {
                half_opens_at,
                half_opens_in,
                ..
            } => {
                return ApiError {
                    status: StatusCode::SERVICE_UNAVAILABLE,
                    code: "circuit_open",
                    details: json!({ "half_opens_at": half_opens_at }),
                    message: e.to_string(),
                    retry_after: Some(half_opens_in.as_secs().max(1)),
                };
            }
            // Recorded as failed executions all the same, but the caller's to change: a name the
            // plugin lacks, or a message its action declines.
            E::ComponentFailed {
                cause: plughub_runner::FailureCause::NoComponent,
                ..
            } => (StatusCode::NOT_FOUND, "component_not_found"),
            E::ComponentFailed {
                cause: plughub_runner::FailureCause::Declined,
                ..
            } => (StatusCode::UNPROCESSABLE_ENTITY, "declined"),
            E::DidNotStart { .. } | E::NoModel { .. } | E::ComponentFailed { .. } => {
                (StatusCode::BAD_GATEWAY, "plugin_failed")
            }
            E::Store(_) => return ApiError::internal(&e),
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
                retry_after: None,
            },
            CatalogError::SyncElsewhere | CatalogError::TooSoon { .. } => {
                ApiError::new(StatusCode::CONFLICT, "sync_refused", e.to_string())
            }
            other => {
                tracing::error!(error = %other, "request failed");
                ApiError {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    code: "internal",
                    message: "the server failed to answer; the error is in its log".into(),
                    details: Value::Null,
                    retry_after: None,
                }
            }
        }
    }
}

impl ApiError {
    /// The body every error answer has.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: self.code.to_string(),
                message: self.message.clone(),
                details: self.details.clone(),
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body())).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

impl From<plughub_market::MarketError> for ApiError {
    fn from(e: plughub_market::MarketError) -> ApiError {
        use plughub_market::MarketError as E;
        match e {
            E::NotFound(message) => ApiError::new(StatusCode::NOT_FOUND, "not_found", message),
            E::Conflict(message) => ApiError::new(StatusCode::CONFLICT, "conflict", message),
            E::Invalid(message) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message)
            }
            E::Store(e) => e.into(),
            E::Internal(message) => ApiError::internal(&message),
        }
    }
}

impl From<plughub_registry::RegistryError> for ApiError {
    fn from(e: plughub_registry::RegistryError) -> ApiError {
        use plughub_registry::RegistryError as E;
        match e {
            E::Store(e) => e.into(),
            E::Market(e) => e.into(),
            E::Internal(_) => ApiError::internal(&e),
            e => ApiError::new(
                StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                e.code(),
                e.to_string(),
            ),
        }
    }
}
