//! The marketplace's pages: a publisher (its people, its plugins, a claim on it), collections, plugins
//! side by side, and the platform owners' page for claims, verification, collections and deprecations.
//! They read through the same functions as the API, and change things through the API.

use super::{Page, Viewer};
use crate::handlers::publishers::publisher_page;
use crate::state::AppState;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use minijinja::context;
use minijinja::value::Serde;
use plughub_market::MarketError;
use plughub_market::collections::Collections;
use plughub_market::comparison::{self, MAX_COMPARED};
use plughub_market::deprecation::Deprecations;
use plughub_market::publishers::Publishers;

/// `GET /publishers/{name}`.
pub async fn publisher(
    State(state): State<AppState>,
    viewer: Viewer,
    uri: Uri,
    Path(name): Path<String>,
) -> Response {
    let page = Page::new(&viewer, "catalog", &uri);
    let found = match publisher_page(&state, &name).await {
        Ok(found) => found,
        Err(e) if e.status == StatusCode::NOT_FOUND => {
            return page.error(StatusCode::NOT_FOUND, "No such publisher", &e.message);
        }
        Err(e) => return page.error(e.status, "Publisher", &e.message),
    };
    let publishers = Publishers::new(state.catalog.store().clone());
    // The viewer's own standing: whether they hold it, and their claims on it.
    let (holds, my_claims): (bool, Vec<plughub_market::publishers::Claim>) = match &viewer.principal
    {
        Some(p) => (
            publishers.holds(&p.person_id, &name).await.unwrap_or(false),
            publishers
                .claims_of(&p.person_id)
                .await
                .unwrap_or_default()
                .into_iter()
                .filter(|c| c.namespace == name)
                .collect(),
        ),
        None => (false, Vec::new()),
    };
    // Its packages published to plughub (the catalogue lists them among its plugins, marked).
    let published = state
        .catalog
        .store()
        .registry_packages_of(&name)
        .await
        .unwrap_or_default();
    page.render(
        "publisher.html",
        &format!("Publisher {name}"),
        context! {
            publisher => Serde(&found),
            published => published,
            holds => holds,
            waiting => my_claims.iter().any(|c| c.status == "pending"),
            my_claims => Serde(&my_claims),
        },
    )
}

/// `GET /admin/registry`: quarantined versions to release or reject, the blocklist, namespace
/// decisions.
pub async fn admin_registry(State(state): State<AppState>, viewer: Viewer, uri: Uri) -> Response {
    let page = Page::new(&viewer, "admin", &uri);
    if let Some(sign_in) = page.sign_in_first(&uri) {
        return sign_in;
    }
    if !viewer.is_platform_owner() {
        return page.error(
            StatusCode::FORBIDDEN,
            "Registry moderation",
            "Only platform owners release or reject quarantined versions and keep the blocklist.",
        );
    }
    let quarantined = match crate::handlers::registry::quarantined(&state).await {
        Ok(q) => q,
        Err(e) => return page.error(e.status, "Registry moderation", &e.message),
    };
    let blocked = state
        .catalog
        .store()
        .blocked_hashes()
        .await
        .unwrap_or_default()
        .into_iter()
        .map(crate::handlers::registry::BlockedHash::from)
        .collect::<Vec<_>>();
    let decisions = state
        .catalog
        .store()
        .namespace_decisions()
        .await
        .unwrap_or_default()
        .into_iter()
        .map(crate::handlers::registry::NamespaceDecision::from)
        .collect::<Vec<_>>();
    page.render(
        "admin_registry.html",
        "Registry moderation",
        context! {
            quarantined => Serde(&quarantined),
            blocked => Serde(&blocked),
            decisions => Serde(&decisions),
        },
    )
}

/// `GET /collections`.
pub async fn collections(State(state): State<AppState>, viewer: Viewer, uri: Uri) -> Response {
    let page = Page::new(&viewer, "collections", &uri);
    match Collections::new(&state.catalog)
        .visible_to(viewer.principal.as_ref())
        .await
    {
        Ok(list) => page.render(
            "collections.html",
            "Collections",
            context! { collections => Serde(&list) },
        ),
        Err(e) => page.error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Collections",
            &e.to_string(),
        ),
    }
}

/// `GET /collections/{slug}`.
pub async fn collection(
    State(state): State<AppState>,
    viewer: Viewer,
    uri: Uri,
    Path(slug): Path<String>,
) -> Response {
    let page = Page::new(&viewer, "collections", &uri);
    match Collections::new(&state.catalog)
        .get(&slug, viewer.principal.as_ref())
        .await
    {
        Ok(collection) => {
            let compare: Vec<&str> = collection
                .plugins
                .iter()
                .filter(|p| p.in_catalogue)
                .take(MAX_COMPARED)
                .map(|p| p.name.as_str())
                .collect();
            page.render(
                "collection.html",
                &collection.title.clone(),
                context! { collection => Serde(&collection), compare => compare.join(",") },
            )
        }
        Err(MarketError::NotFound(message)) => {
            page.error(StatusCode::NOT_FOUND, "No such collection", &message)
        }
        Err(e) => page.error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Collection",
            &e.to_string(),
        ),
    }
}

/// `GET /compare?plugins=a,b,c` (or `plugins` repeated, as the search results' boxes send it).
pub async fn compare(
    State(state): State<AppState>,
    viewer: Viewer,
    uri: Uri,
    RawQuery(raw): RawQuery,
) -> Response {
    let page = Page::new(&viewer, "catalog", &uri);
    let asked: Vec<String> = form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .filter(|(k, v)| k == "plugins" && !v.trim().is_empty())
        .map(|(_, v)| v.into_owned())
        .collect();
    if asked.is_empty() {
        return page.render(
            "compare.html",
            "Compare plugins",
            context! { plugins => Serde(Vec::<()>::new()), asked => "" },
        );
    }
    let joined = asked.join(",");
    let Some(names) = comparison::plugin_list(&joined) else {
        return page.error(
            StatusCode::BAD_REQUEST,
            "Compare plugins",
            &format!(
                "Compare 1 to {MAX_COMPARED} plugins at once: you asked for more. Untick some and try again."
            ),
        );
    };
    match comparison::compare(&state.catalog, &names).await {
        Ok(found) => page.render(
            "compare.html",
            "Compare plugins",
            context! { plugins => Serde(&found.plugins), asked => joined },
        ),
        Err(MarketError::NotFound(message)) => {
            page.error(StatusCode::NOT_FOUND, "Compare plugins", &message)
        }
        Err(MarketError::Invalid(message)) => {
            page.error(StatusCode::BAD_REQUEST, "Compare plugins", &message)
        }
        Err(e) => page.error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Compare plugins",
            &e.to_string(),
        ),
    }
}

/// `GET /admin/publishers`: claims to decide, publishers to verify, collections, deprecations.
pub async fn admin(State(state): State<AppState>, viewer: Viewer, uri: Uri) -> Response {
    let page = Page::new(&viewer, "admin", &uri);
    if let Some(sign_in) = page.sign_in_first(&uri) {
        return sign_in;
    }
    if !viewer.is_platform_owner() {
        return page.error(
            StatusCode::FORBIDDEN,
            "Publishers and collections",
            "Only platform owners decide claims, verify publishers, curate collections and deprecate plugins.",
        );
    }
    let publishers = Publishers::new(state.catalog.store().clone());
    let loaded = async {
        let claims = publishers.claims(None).await?;
        let held: Vec<_> = publishers
            .claimed()
            .await?
            .into_iter()
            .filter(|p| p.status == plughub_store::PUBLISHER_HELD)
            .collect();
        let collections = Collections::new(&state.catalog)
            .visible_to(viewer.principal.as_ref())
            .await?;
        let deprecations = Deprecations::new(&state.catalog).list().await?;
        Ok::<_, MarketError>((claims, held, collections, deprecations))
    };
    let (claims, held, collections, deprecations) = match loaded.await {
        Ok(all) => all,
        Err(e) => {
            return page.error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Publishers and collections",
                &e.to_string(),
            );
        }
    };
    let (pending, decided): (Vec<_>, Vec<_>) =
        claims.into_iter().partition(|c| c.status == "pending");
    let orgs: Vec<String> = state
        .accounts
        .orgs()
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|g| g.name)
        .filter(|n| n != plughub_accounts::PLATFORM_GROUP)
        .collect();
    page.render(
        "admin_publishers.html",
        "Publishers, collections and deprecations",
        context! {
            pending => Serde(&pending),
            decided => Serde(&decided),
            held => Serde(&held),
            collections => Serde(&collections),
            deprecations => Serde(&deprecations),
            orgs => Serde(&orgs),
        },
    )
}
