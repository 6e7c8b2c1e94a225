//! The path and query parameters operations share, defined once for the handlers that read them and for
//! the document that describes them.

use crate::error::ApiError;
use axum::extract::Query;
use axum::extract::rejection::QueryRejection;
use serde::Deserialize;

/// An organisation, in the path of the operations on it.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct OrgPath {
    /// The organisation's name.
    #[param(example = "acme")]
    pub org: String,
}

/// An installed plugin of an organisation, in the path of the operations on it.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct PluginPath {
    /// The organisation's name.
    #[param(example = "acme")]
    pub org: String,
    /// The plugin's package name, percent-encoded (`@acme%2Fplugin-x`); an update also takes a name the
    /// catalogue resolves to it (`solana`).
    #[param(example = "@elizaos/plugin-bootstrap")]
    pub plugin: String,
}

/// A page of an organisation's events or executions, newest first.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct Page {
    /// From 1; a page past the end is empty.
    #[param(format = Int64, minimum = 1, maximum = 18446744073709551615_u64, default = 1)]
    #[serde(default, deserialize_with = "crate::integers::optional_in_query")]
    pub page: Option<u64>,
    #[param(format = Int64, minimum = 1, maximum = 200, default = 50)]
    #[serde(default, deserialize_with = "crate::integers::optional_in_query")]
    pub per_page: Option<u32>,
    /// Only the events of this type (`plugin_network_request`: the plugins' network requests).
    #[serde(default, rename = "type")]
    #[param(inline)]
    pub event_type: Option<plughub_domain::EventType>,
}

impl Page {
    pub const MAX_PER_PAGE: u32 = 200;

    /// The page and its size, within the bounds the document gives.
    pub fn bounds(&self) -> Result<(u64, u32), ApiError> {
        let page = self.page.unwrap_or(1);
        let per_page = self.per_page.unwrap_or(50);
        if page == 0 || per_page == 0 || per_page > Self::MAX_PER_PAGE {
            return Err(ApiError::bad_request(format!(
                "page starts at 1, per_page is 1 to {}",
                Self::MAX_PER_PAGE
            )));
        }
        Ok((page, per_page))
    }
}

/// Query parameters, or 400 saying which one is not understood.
pub fn query<T>(query: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    query
        .map(|Query(q)| q)
        .map_err(|e| ApiError::bad_request(e.body_text()))
}

/// A member of an organisation, in the path of the operations on them.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct MemberPath {
    /// The organisation's name.
    #[param(example = "acme")]
    pub org: String,
    /// The member's email.
    #[param(example = "ada@acme.test")]
    pub email: String,
}

/// An invitation of an organisation, by its id.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct InvitationPath {
    /// The organisation's name.
    #[param(example = "acme")]
    pub org: String,
    /// The invitation's id (from the list of invitations).
    pub id: String,
}

/// An invitation by the secret of its link.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct SecretPath {
    /// The secret of the invitation's link (`phi_…`, the last part of `/invitations/{secret}`).
    pub secret: String,
}

/// An API token, by its id.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct TokenPath {
    /// The token's id (from a list of tokens; never its secret).
    pub id: String,
}

/// A person's role in an organisation, as the platform's administration changes it.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct PersonRolePath {
    /// The person's email.
    #[param(example = "ada@acme.test")]
    pub email: String,
    /// The organisation's name (`platform` for platform owners).
    #[param(example = "acme")]
    pub org: String,
}
