//! `/plugins/compatibility`: what compatibility runs found over the whole catalogue, the page of
//! `GET /api/catalog/compatibility`. Open to anyone, as the catalogue is: trials belong to no
//! organisation.

use super::{Page, Viewer};
use crate::state::AppState;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use minijinja::context;
use minijinja::value::Serde;

/// `GET /plugins/compatibility`.
pub async fn page(State(state): State<AppState>, viewer: Viewer, uri: Uri) -> Response {
    let page = Page::new(&viewer, "catalog", &uri);
    match state.catalog.compatibility(None).await {
        Ok(report) => page.render(
            "compatibility.html",
            "Which plugins run on plughub",
            context! { report => Serde(&report) },
        ),
        Err(e) => page.error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Which plugins run on plughub",
            &e.to_string(),
        ),
    }
}
