//! Reviews and ratings: a plugin's reviews (public), the caller's own review (write, edit, delete), a
//! review's history, helpful votes, the publisher's response, reports; and, under /api/admin, the
//! moderators' queue, hiding and restoring, and bans. The rules are `plughub_market::reviews`'.

use crate::auth::{Caller, session_cookies};
use crate::error::{ApiError, ApiResult};
use crate::json::ApiJson;
use crate::openapi::{BadRequest, Forbidden, JsonBody, NotFound, Platform, Public, SignedIn};
use crate::state::AppState;
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::StatusCode;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use plughub_domain::ThingKind;
use plughub_domain::access::{Action, Principal};
use plughub_market::reviews::{
    Draft, QueueItem, Review, ReviewError, ReviewPage, ReviewVersion, Reviewed, ReviewerBan,
    Reviews,
};
use serde::{Deserialize, Serialize};

impl From<ReviewError> for ApiError {
    fn from(e: ReviewError) -> ApiError {
        let (status, code) = match &e {
            ReviewError::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_review"),
            ReviewError::NotEligible { .. } | ReviewError::NotMember { .. } => {
                (StatusCode::FORBIDDEN, "not_eligible_to_review")
            }
            ReviewError::Banned { .. } => (StatusCode::FORBIDDEN, "banned_from_reviewing"),
            ReviewError::NotFound(_) => (StatusCode::NOT_FOUND, "review_not_found"),
            ReviewError::NoReviewOfYours(_) => (StatusCode::NOT_FOUND, "review_not_found"),
            ReviewError::OwnReview | ReviewError::OwnReport => {
                (StatusCode::FORBIDDEN, "own_review")
            }
            ReviewError::SelfBan => (StatusCode::UNPROCESSABLE_ENTITY, "cannot_ban_yourself"),
            ReviewError::NotPublisher { .. } => (StatusCode::FORBIDDEN, "not_the_publisher"),
            ReviewError::Store(_) => {
                let ReviewError::Store(e) = e else {
                    unreachable!()
                };
                return e.into();
            }
        };
        ApiError::new(status, code, e.to_string())
    }
}

/// The caller when the request says who it is (a token or a session); `None` for a visitor. A
/// credential that does not hold is refused, as anywhere.
pub struct MaybeCaller(pub Option<Caller>);

impl FromRequestParts<AppState> for MaybeCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let presented = parts.headers.contains_key(AUTHORIZATION)
            || session_cookies(&parts.headers).next().is_some();
        if !presented {
            return Ok(MaybeCaller(None));
        }
        Ok(MaybeCaller(Some(
            Caller::from_request_parts(parts, state).await?,
        )))
    }
}

impl MaybeCaller {
    fn principal(&self) -> Option<&Principal> {
        self.0.as_ref().map(|c| &c.0)
    }
}

/// The catalogue plugin a name means (any usual spelling): its thing's id and its name.
async fn plugin_of(state: &AppState, name: &str) -> ApiResult<(String, String)> {
    let unknown = || plughub_catalog::CatalogError::UnknownPlugin {
        name: name.to_string(),
        suggestions: state.catalog.index().suggest(name, 5),
    };
    let found = state.catalog.resolve_name(name).ok_or_else(unknown)?;
    let thing = state
        .catalog
        .store()
        .thing_by_name(ThingKind::ElizaosPlugin, None, &found)
        .await?
        .ok_or_else(unknown)?;
    Ok((thing.id, thing.name))
}

fn reviews(state: &AppState) -> Reviews {
    Reviews::new(state.catalog.store().clone())
}

/// Search filters and orders by ratings: after a change to one, the index follows soon, rebuilt in
/// the background (once for a burst of changes) rather than in the request.
fn ratings_changed(state: &AppState) {
    state.catalog.refresh_soon();
}

/// The caller may moderate reviews (a platform owner), or is refused with 403.
fn moderator(caller: &Caller) -> Result<(), ApiError> {
    if Reviews::moderates(&caller.0) {
        return Ok(());
    }
    Err(ApiError {
        details: serde_json::json!({ "role": null, "action": Action::ModerateCatalogue }),
        ..ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "only a platform owner may moderate reviews",
        )
    })
}

/// Query parameters of `GET /api/reviews`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// The plugin, by any usual spelling of its name.
    #[param(example = "@elizaos/plugin-openai")]
    pub plugin: String,
    /// Only the reviews of this version.
    pub version: Option<String>,
    /// From 1; a page past the end is empty.
    #[param(format = Int64, minimum = 1, maximum = 18446744073709551615_u64, default = 1)]
    #[serde(default, deserialize_with = "crate::integers::optional_in_query")]
    pub page: Option<u64>,
    #[param(format = Int64, minimum = 1, maximum = 100, default = 20)]
    #[serde(default, deserialize_with = "crate::integers::optional_in_query")]
    pub per_page: Option<u32>,
}

/// The plugin a request on the caller's own review is about.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PluginParam {
    /// The plugin, by any usual spelling of its name.
    #[param(example = "@elizaos/plugin-openai")]
    pub plugin: String,
}

/// A review, in the path.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ReviewPath {
    /// The review's id.
    pub id: String,
}

/// A person, in the path of a ban.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ReviewerPath {
    /// Their email.
    #[param(example = "bo@acme.test")]
    pub email: String,
}

fn query<T>(params: Result<Query<T>, QueryRejection>) -> ApiResult<T> {
    params
        .map(|Query(p)| p)
        .map_err(|e| ApiError::bad_request(e.body_text()))
}

#[utoipa::path(
    get,
    path = "/api/reviews",
    tag = "reviews",
    operation_id = "list_reviews",
    summary = "A plugin's rating (overall and by version) and a page of its reviews",
    params(ListParams),
    security((), ("token" = []), ("session" = [])),
    responses(
        (status = 200, description = "The rating and the reviews; the reviewer's display name, never their organisation", body = ReviewPage),
        (status = 400, response = BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 429, response = crate::openapi::TooManyRequests),
        (status = 404, response = NotFound),
        Public,
    )
)]
pub async fn list(
    State(state): State<AppState>,
    caller: MaybeCaller,
    params: Result<Query<ListParams>, QueryRejection>,
) -> ApiResult<Json<ReviewPage>> {
    let params = query(params)?;
    let page = usize::try_from(params.page.unwrap_or(1)).unwrap_or(usize::MAX);
    let per_page = params.per_page.unwrap_or(20) as usize;
    if page == 0 || !(1..=100).contains(&per_page) {
        return Err(ApiError::bad_request(
            "page starts at 1, per_page is 1 to 100",
        ));
    }
    let (id, name) = plugin_of(&state, &params.plugin).await?;
    let version = params.version.as_deref().filter(|v| !v.is_empty());
    let page = reviews(&state)
        .list(
            Reviewed {
                id: &id,
                name: &name,
            },
            version,
            caller.principal(),
            page,
            per_page,
        )
        .await?;
    Ok(Json(page))
}

/// A review to write or replace.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "stars": 4, "text": "Works well with our agents.", "org": "acme" }))]
pub struct ReviewBody {
    #[schema(minimum = 1, maximum = 5)]
    #[serde(deserialize_with = "crate::integers::required")]
    pub stars: u8,
    /// At most 2,000 characters; may be empty.
    #[schema(max_length = 2000)]
    pub text: String,
    /// The organisation (yours) that has the plugin installed, or had it in the last 90 days: it gives
    /// the version the review is of.
    pub org: String,
}

#[utoipa::path(
    put,
    path = "/api/reviews/mine",
    tag = "reviews",
    operation_id = "put_my_review",
    summary = "Write your review of a plugin, or replace it (its earlier versions stay in its history)",
    params(PluginParam),
    request_body = ReviewBody,
    responses(
        (status = 200, description = "Replaced", body = Review),
        (status = 201, description = "Written", body = Review),
        (status = 400, response = BadRequest),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = crate::openapi::Conflict),
        SignedIn,
        JsonBody,
    )
)]
pub async fn put_mine(
    State(state): State<AppState>,
    caller: Caller,
    params: Result<Query<PluginParam>, QueryRejection>,
    ApiJson(body): ApiJson<ReviewBody>,
) -> ApiResult<(StatusCode, Json<Review>)> {
    let params = query(params)?;
    let (id, name) = plugin_of(&state, &params.plugin).await?;
    // One of the caller's organisations, whatever their role in it (the rules say which roles review).
    let group = caller
        .0
        .memberships
        .iter()
        .find(|m| m.group == body.org)
        .ok_or_else(|| ApiError::org_not_found(&body.org))?;
    let group = state
        .catalog
        .store()
        .group_by_name(&group.group)
        .await?
        .ok_or_else(|| ApiError::org_not_found(&body.org))?;
    let (review, created) = reviews(&state)
        .put(
            &caller.0,
            Reviewed {
                id: &id,
                name: &name,
            },
            &group,
            Draft {
                stars: body.stars,
                text: &body.text,
            },
        )
        .await?;
    ratings_changed(&state);
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(review)))
}

#[utoipa::path(
    delete,
    path = "/api/reviews/mine",
    tag = "reviews",
    operation_id = "delete_my_review",
    summary = "Delete your review of a plugin (it shows and counts nowhere; writing again restores it)",
    params(PluginParam),
    responses(
        (status = 200, description = "Deleted: the review as it is now (status `deleted`)", body = Review),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 403, response = Forbidden),
        SignedIn,
    )
)]
pub async fn delete_mine(
    State(state): State<AppState>,
    caller: Caller,
    params: Result<Query<PluginParam>, QueryRejection>,
) -> ApiResult<Json<Review>> {
    let params = query(params)?;
    let (_, name) = plugin_of(&state, &params.plugin).await?;
    let review = reviews(&state).delete_mine(&caller.0, &name).await?;
    ratings_changed(&state);
    Ok(Json(review))
}

/// A review's versions, oldest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReviewHistory {
    pub id: String,
    pub versions: Vec<ReviewVersion>,
}

#[utoipa::path(
    get,
    path = "/api/reviews/{id}/history",
    tag = "reviews",
    operation_id = "review_history",
    summary = "Every version of a review, as posted and edited",
    params(ReviewPath),
    security((), ("token" = []), ("session" = [])),
    responses(
        (status = 200, description = "Its versions, oldest first", body = ReviewHistory),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 429, response = crate::openapi::TooManyRequests),
        (status = 404, response = NotFound),
        Public,
    )
)]
pub async fn history(
    State(state): State<AppState>,
    caller: MaybeCaller,
    Path(ReviewPath { id }): Path<ReviewPath>,
) -> ApiResult<Json<ReviewHistory>> {
    let versions = reviews(&state).history(&id, caller.principal()).await?;
    Ok(Json(ReviewHistory { id, versions }))
}

/// A helpful vote, given or withdrawn.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VoteOutcome {
    /// Whether this request changed anything (false: it was so already).
    pub changed: bool,
    pub review: Review,
}

#[utoipa::path(
    put,
    path = "/api/reviews/{id}/vote",
    tag = "reviews",
    operation_id = "vote_review",
    summary = "Find a review helpful (once; not your own)",
    params(ReviewPath),
    responses(
        (status = 200, description = "Voted (or voted already)", body = VoteOutcome),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        SignedIn,
    )
)]
pub async fn vote(
    State(state): State<AppState>,
    caller: Caller,
    Path(ReviewPath { id }): Path<ReviewPath>,
) -> ApiResult<Json<VoteOutcome>> {
    set_vote(&state, &caller, &id, true).await
}

#[utoipa::path(
    delete,
    path = "/api/reviews/{id}/vote",
    tag = "reviews",
    operation_id = "unvote_review",
    summary = "Withdraw your helpful vote",
    params(ReviewPath),
    responses(
        (status = 200, description = "Withdrawn (or there was none)", body = VoteOutcome),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        SignedIn,
    )
)]
pub async fn unvote(
    State(state): State<AppState>,
    caller: Caller,
    Path(ReviewPath { id }): Path<ReviewPath>,
) -> ApiResult<Json<VoteOutcome>> {
    set_vote(&state, &caller, &id, false).await
}

async fn set_vote(
    state: &AppState,
    caller: &Caller,
    id: &str,
    helpful: bool,
) -> ApiResult<Json<VoteOutcome>> {
    let reviews = reviews(state);
    let changed = reviews.vote(&caller.0, id, helpful).await?;
    let review = reviews.one(id, Some(&caller.0)).await?;
    Ok(Json(VoteOutcome { changed, review }))
}

/// The publisher's answer to a review.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "text": "Thanks: 1.2.1 fixes the timeout." }))]
pub struct ResponseBody {
    /// 1 to 2,000 characters.
    #[schema(min_length = 1, max_length = 2000)]
    pub text: String,
}

#[utoipa::path(
    put,
    path = "/api/reviews/{id}/response",
    tag = "reviews",
    operation_id = "respond_to_review",
    summary = "Answer a review, as one of the people of the plugin's publisher (replaces the answer)",
    params(ReviewPath),
    request_body = ResponseBody,
    responses(
        (status = 200, description = "Answered", body = Review),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        SignedIn,
        JsonBody,
    )
)]
pub async fn respond(
    State(state): State<AppState>,
    caller: Caller,
    Path(ReviewPath { id }): Path<ReviewPath>,
    ApiJson(body): ApiJson<ResponseBody>,
) -> ApiResult<Json<Review>> {
    Ok(Json(
        reviews(&state).respond(&caller.0, &id, &body.text).await?,
    ))
}

/// Why a review is reported.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "reason": "Advertises another product." }))]
pub struct ReportBody {
    /// 1 to 500 characters.
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}

/// A report taken.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReportOutcome {
    /// False when you had reported it already (a moderator has not looked yet).
    pub new: bool,
}

#[utoipa::path(
    post,
    path = "/api/reviews/{id}/reports",
    tag = "reviews",
    operation_id = "report_review",
    summary = "Report a review to the moderators",
    params(ReviewPath),
    request_body = ReportBody,
    responses(
        (status = 201, description = "Reported", body = ReportOutcome),
        (status = 200, description = "Reported by you already", body = ReportOutcome),
        (status = 404, response = NotFound),
        (status = 403, response = Forbidden),
        SignedIn,
        JsonBody,
    )
)]
pub async fn report(
    State(state): State<AppState>,
    caller: Caller,
    Path(ReviewPath { id }): Path<ReviewPath>,
    ApiJson(body): ApiJson<ReportBody>,
) -> ApiResult<(StatusCode, Json<ReportOutcome>)> {
    let new = reviews(&state).report(&caller.0, &id, &body.reason).await?;
    let status = if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(ReportOutcome { new })))
}

/// What moderators look at: reported and hidden reviews, and who is banned.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ModerationQueue {
    /// Reviews with open reports (most reported first), then hidden ones.
    pub queue: Vec<QueueItem>,
    pub bans: Vec<ReviewerBan>,
}

#[utoipa::path(
    get,
    path = "/api/admin/reviews",
    tag = "admin",
    operation_id = "moderation_queue",
    summary = "Reported and hidden reviews, and the people banned from reviewing",
    responses(
        (status = 200, description = "The queue", body = ModerationQueue),
        Platform,
    )
)]
pub async fn queue(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<ModerationQueue>> {
    moderator(&caller)?;
    Ok(Json(moderation_queue(&state, &caller.0).await?))
}

async fn moderation_queue(state: &AppState, who: &Principal) -> ApiResult<ModerationQueue> {
    let reviews = reviews(state);
    Ok(ModerationQueue {
        queue: reviews.queue(who).await?,
        bans: reviews.bans().await?,
    })
}

#[utoipa::path(
    post,
    path = "/api/admin/reviews/{id}/hide",
    tag = "admin",
    operation_id = "hide_review",
    summary = "Hide a review from everyone but moderators (and from every rating); resolves its reports",
    params(ReviewPath),
    responses(
        (status = 200, description = "Hidden", body = Review),
        (status = 404, response = NotFound),
        Platform,
    )
)]
pub async fn hide(
    State(state): State<AppState>,
    caller: Caller,
    Path(ReviewPath { id }): Path<ReviewPath>,
) -> ApiResult<Json<Review>> {
    moderator(&caller)?;
    let review = reviews(&state).set_hidden(&caller.0, &id, true).await?;
    ratings_changed(&state);
    Ok(Json(review))
}

#[utoipa::path(
    post,
    path = "/api/admin/reviews/{id}/restore",
    tag = "admin",
    operation_id = "restore_review",
    summary = "Show a hidden review again (or keep a reported one); resolves its reports",
    params(ReviewPath),
    responses(
        (status = 200, description = "Shown", body = Review),
        (status = 404, response = NotFound),
        Platform,
    )
)]
pub async fn restore(
    State(state): State<AppState>,
    caller: Caller,
    Path(ReviewPath { id }): Path<ReviewPath>,
) -> ApiResult<Json<Review>> {
    moderator(&caller)?;
    let review = reviews(&state).set_hidden(&caller.0, &id, false).await?;
    ratings_changed(&state);
    Ok(Json(review))
}

/// Why someone is banned from reviewing.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "reason": "Repeated abusive reviews." }))]
pub struct BanBody {
    /// 1 to 500 characters.
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}

async fn person_id(state: &AppState, email: &str) -> ApiResult<String> {
    state
        .catalog
        .store()
        .person_by_email(email)
        .await?
        .map(|p| p.id)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "person_not_found",
                format!("nobody has the email {email}"),
            )
        })
}

#[utoipa::path(
    put,
    path = "/api/admin/reviewers/{email}/ban",
    tag = "admin",
    operation_id = "ban_reviewer",
    summary = "Ban a person from reviewing (their reviews stay as they are)",
    params(ReviewerPath),
    request_body = BanBody,
    responses(
        (status = 200, description = "Banned (or banned already): the queue and bans now", body = ModerationQueue),
        (status = 404, response = NotFound),
        Platform,
        JsonBody,
    )
)]
pub async fn ban(
    State(state): State<AppState>,
    caller: Caller,
    Path(ReviewerPath { email }): Path<ReviewerPath>,
    ApiJson(body): ApiJson<BanBody>,
) -> ApiResult<Json<ModerationQueue>> {
    moderator(&caller)?;
    let person = person_id(&state, &email).await?;
    reviews(&state)
        .ban(&caller.0, &person, &body.reason)
        .await?;
    Ok(Json(moderation_queue(&state, &caller.0).await?))
}

#[utoipa::path(
    delete,
    path = "/api/admin/reviewers/{email}/ban",
    tag = "admin",
    operation_id = "unban_reviewer",
    summary = "Lift a ban from reviewing",
    params(ReviewerPath),
    responses(
        (status = 200, description = "Lifted (or there was none): the queue and bans now", body = ModerationQueue),
        (status = 404, response = NotFound),
        Platform,
    )
)]
pub async fn unban(
    State(state): State<AppState>,
    caller: Caller,
    Path(ReviewerPath { email }): Path<ReviewerPath>,
) -> ApiResult<Json<ModerationQueue>> {
    moderator(&caller)?;
    let person = person_id(&state, &email).await?;
    reviews(&state).unban(&caller.0, &person).await?;
    Ok(Json(moderation_queue(&state, &caller.0).await?))
}
