//! Accounts over REST: register, log in and out, the own profile, other
//! people's profiles, follows, the timeline, the public photo feed and
//! avatars. Account routes take `Authorization: Bearer <account token>`.

use super::openapi::Created;
use aide::axum::ApiRouter;
use aide::axum::routing::{delete, get, get_with, post, put, put_with};
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, FromRequestParts, OptionalFromRequestParts, Path, Query, State};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::response::NoContent;
use axum::response::{IntoResponse, Response};

use super::openapi::Describe;
use axum::Json;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use super::ApiJson;
use super::client_ip::ClientIp;
use crate::accounts::{Account, FEED_PAGE, MAX_FEED_PAGE, Registration, avatar_key};
use crate::activities::shown_to;
use crate::domain::Millis;
use crate::domain::photo;
use crate::domain::view::PhotoView;
use crate::error::{AppError, Result};
use crate::media::pipeline::MAX_PHOTO_BYTES;
use crate::state::AppState;
use crate::store::FollowSide;

pub fn router() -> ApiRouter<AppState> {
    ApiRouter::new()
        .api_route("/api/accounts", post(register))
        .api_route("/api/accounts/link", post(link))
        .api_route("/api/sessions", post(log_in))
        .api_route("/api/sessions/current", delete(log_out))
        .api_route("/api/me", get(me).patch(update_me).delete(delete_me))
        .api_route(
            "/api/me/avatar",
            put_with(set_avatar, |op| op.parts(&[("photo", true, true)]))
                .layer(DefaultBodyLimit::max(MAX_PHOTO_BYTES + 64 * 1024)),
        )
        .api_route("/api/me/timeline", get(timeline))
        .api_route("/api/me/taste", get(taste).put(set_taste).delete(forget_taste))
        .api_route("/api/users/{username}", get_with(profile, |op| op.token_optional()))
        .api_route("/api/users/{username}/follow", put(follow).delete(unfollow))
        .api_route("/api/users/{username}/followers", get(followers))
        .api_route("/api/users/{username}/following", get(following))
        .api_route("/api/users/{username}/photos", get_with(user_photos, |op| op.token_optional()))
        .api_route("/api/avatars/{user_id}/{file}", get_with(avatar, |op| op.file(200, "image/jpeg", "the avatar")))
        .api_route("/api/photos/latest", get(latest_photos))
}

fn bearer(parts: &Parts) -> Option<Result<String>> {
    let header = parts.headers.get(AUTHORIZATION)?;
    let token = header.to_str().ok().and_then(|v| v.split_once(' ')).filter(|(s, _)| s.eq_ignore_ascii_case("bearer"));
    Some(token.map(|(_, t)| t.trim().to_string()).ok_or(AppError::Unauthorized))
}

/// A logged-in account (a valid account token of an open session).
pub struct SignedIn(pub Account);

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self> {
        let token = bearer(parts).unwrap_or(Err(AppError::Unauthorized))?;
        Ok(Self(app.accounts.account(&token).await?))
    }
}

impl OptionalFromRequestParts<AppState> for SignedIn {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Option<Self>> {
        match bearer(parts) {
            Some(token) => Ok(Some(Self(app.accounts.account(&token?).await?))),
            None => Ok(None),
        }
    }
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RegisterBody {
    username: String,
    password: String,
    display_name: Option<String>,
    /// A guest's member token: the guest turns into this account.
    member_token: Option<String>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct LinkBody {
    member_token: String,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct LogInBody {
    username: String,
    password: String,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct UpdateMe {
    display_name: String,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct DeleteMe {
    password: String,
}

/// The room and member of a member token, if the member may still act and
/// is not linked to another account than `account` (`None`: a new one).
async fn member_of_token(app: &AppState, token: &str, account: Option<&str>) -> Result<(String, String)> {
    let claims = app.tokens.verify(token).ok_or(AppError::Unauthorized)?;
    let room = app.rooms.room(&claims.r).await?;
    match room.member(&claims.m) {
        None => Err(AppError::Unauthorized),
        Some(m) if m.banned => Err(AppError::Banned),
        Some(m) if m.user_id.is_some() && m.user_id.as_deref() != account => {
            Err(crate::domain::DomainError::AlreadyLinked.into())
        }
        Some(_) => Ok((claims.r, claims.m)),
    }
}

/// `POST /api/accounts`: `201 {user, token}`.
async fn register(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<RegisterBody>,
) -> Result<Created<Value>> {
    app.login_limiter.check(&ip.to_string()).await?;
    let guest = match &body.member_token {
        Some(token) => Some(member_of_token(&app, token, None).await?),
        None => None,
    };
    let registration =
        Registration { username: body.username, password: body.password, display_name: body.display_name };
    let (user, token) = app.accounts.register(registration).await?;
    let account = Account { user, session_id: String::new() };
    if let Some((room_id, member_id)) = guest
        && let Err(e) = app.accounts.link_member(&account, &room_id, &member_id).await
    {
        // All or nothing: the username is not burnt by a failed link.
        app.store.accounts().delete_user(&account.user.id).await.ok();
        return Err(e);
    }
    let profile = app.accounts.profile(&account.user, None).await?;
    Ok(Created(json!({ "user": profile, "token": token })))
}

/// `POST /api/accounts/link`: the signed-in account takes over a guest.
async fn link(
    SignedIn(account): SignedIn,
    State(app): State<AppState>,
    ApiJson(body): ApiJson<LinkBody>,
) -> Result<Json<Value>> {
    let (room_id, member_id) = member_of_token(&app, &body.member_token, Some(&account.user.id)).await?;
    app.accounts.link_member(&account, &room_id, &member_id).await?;
    Ok(Json(json!({ "room_id": room_id, "member_id": member_id, "username": account.user.username })))
}

/// `POST /api/sessions`: `{user, token}`.
async fn log_in(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<LogInBody>,
) -> Result<Json<Value>> {
    let (user, token) = app.accounts.log_in(&ip.to_string(), &body.username, &body.password).await?;
    let profile = app.accounts.profile(&user, None).await?;
    Ok(Json(json!({ "user": profile, "token": token })))
}

async fn log_out(SignedIn(account): SignedIn, State(app): State<AppState>) -> Result<NoContent> {
    app.accounts.log_out(&account).await?;
    Ok(NoContent)
}

async fn me(SignedIn(account): SignedIn, State(app): State<AppState>) -> Result<Json<Value>> {
    Ok(Json(json!({ "user": app.accounts.profile(&account.user, None).await? })))
}

async fn update_me(
    SignedIn(account): SignedIn,
    State(app): State<AppState>,
    ApiJson(body): ApiJson<UpdateMe>,
) -> Result<Json<Value>> {
    let user = app.accounts.rename(&account, &body.display_name).await?;
    Ok(Json(json!({ "user": app.accounts.profile(&user, None).await? })))
}

/// The account's taste profile: what the autopilot counts.
async fn taste(SignedIn(account): SignedIn, State(app): State<AppState>) -> Result<Json<Value>> {
    Ok(Json(json!({ "taste": app.accounts.taste(&account.user).await? })))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct SetTaste {
    enabled: bool,
}

/// Turns the taste profile on or off.
async fn set_taste(
    SignedIn(account): SignedIn,
    State(app): State<AppState>,
    ApiJson(body): ApiJson<SetTaste>,
) -> Result<Json<Value>> {
    let user = app.accounts.set_taste(&account, Some(body.enabled), false).await?;
    Ok(Json(json!({ "taste": app.accounts.taste(&user).await? })))
}

/// Deletes the taste profile: only what the account does from now counts.
async fn forget_taste(SignedIn(account): SignedIn, State(app): State<AppState>) -> Result<NoContent> {
    app.accounts.set_taste(&account, None, true).await?;
    Ok(NoContent)
}

async fn delete_me(
    SignedIn(account): SignedIn,
    State(app): State<AppState>,
    ApiJson(body): ApiJson<DeleteMe>,
) -> Result<NoContent> {
    app.accounts.delete_account(&account, &body.password).await?;
    Ok(NoContent)
}

async fn set_avatar(
    SignedIn(account): SignedIn,
    State(app): State<AppState>,
    form: std::result::Result<Multipart, MultipartRejection>,
) -> Result<Json<Value>> {
    app.photo_limiter.check(&format!("user:{}", account.user.id)).await?;
    let mut form = form.map_err(|e| AppError::InvalidPayload(e.body_text()))?;
    let mut photo = None;
    while let Some(field) = form.next_field().await.map_err(super::photos::multipart_error)? {
        match field.name() {
            Some("photo") if photo.is_none() => {
                photo = Some(field.bytes().await.map_err(super::photos::multipart_error)?.to_vec());
            }
            _ => return Err(AppError::InvalidPayload("send exactly one 'photo' part".into())),
        }
    }
    let photo = photo.ok_or_else(|| AppError::InvalidPayload("the 'photo' part is missing".into()))?;
    let user = app.accounts.set_avatar(&account, photo).await?;
    Ok(Json(json!({ "user": app.accounts.profile(&user, None).await? })))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct TimePage {
    before: Option<String>,
    #[schemars(range(min = 1, max = crate::accounts::MAX_FEED_PAGE))]
    limit: Option<usize>,
}

fn time_page(page: std::result::Result<Query<TimePage>, QueryRejection>) -> Result<(Option<(Millis, String)>, usize)> {
    let Query(page) = page.map_err(|e| AppError::InvalidPayload(e.body_text()))?;
    let limit = page.limit.unwrap_or(FEED_PAGE);
    if !(1..=MAX_FEED_PAGE).contains(&limit) {
        return Err(AppError::InvalidPayload(format!("limit must be between 1 and {MAX_FEED_PAGE}")));
    }
    let before = match page.before.as_deref() {
        Some(raw) => Some(photo::parse_cursor(raw).ok_or_else(|| AppError::InvalidPayload("bad cursor".into()))?),
        None => None,
    };
    Ok((before, limit))
}

/// `GET /api/me/timeline`: `{items, next}`.
async fn timeline(
    SignedIn(account): SignedIn,
    State(app): State<AppState>,
    page: std::result::Result<Query<TimePage>, QueryRejection>,
) -> Result<Json<Value>> {
    let (before, limit) = time_page(page)?;
    let (items, next) = app.accounts.timeline(&account, before, limit).await?;
    Ok(Json(json!({ "items": items, "next": next })))
}

/// `GET /api/photos/latest`: photos shared in public rooms, `{photos, next}`.
async fn latest_photos(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    page: std::result::Result<Query<TimePage>, QueryRejection>,
) -> Result<Json<Value>> {
    app.join_limiter.check(&ip.to_string()).await?;
    let (before, limit) = time_page(page)?;
    let (photos, next) = app.accounts.latest_public_photos(before, limit).await?;
    Ok(Json(json!({ "photos": photos, "next": next })))
}

async fn profile(
    viewer: Option<SignedIn>,
    State(app): State<AppState>,
    Path(username): Path<String>,
) -> Result<Json<Value>> {
    let user = app.accounts.user_named(&username).await?;
    let viewer = viewer.map(|SignedIn(a)| a.user.id);
    Ok(Json(json!({ "user": app.accounts.profile(&user, viewer.as_deref()).await? })))
}

async fn follow(
    SignedIn(account): SignedIn,
    State(app): State<AppState>,
    Path(username): Path<String>,
) -> Result<Json<Value>> {
    Ok(Json(json!({ "user": app.accounts.follow(&account, &username, true).await? })))
}

async fn unfollow(
    SignedIn(account): SignedIn,
    State(app): State<AppState>,
    Path(username): Path<String>,
) -> Result<Json<Value>> {
    Ok(Json(json!({ "user": app.accounts.follow(&account, &username, false).await? })))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct PeoplePage {
    after: Option<String>,
    #[schemars(range(min = 1, max = crate::accounts::MAX_FEED_PAGE))]
    limit: Option<usize>,
}

async fn people(
    app: AppState,
    username: String,
    side: FollowSide,
    page: std::result::Result<Query<PeoplePage>, QueryRejection>,
) -> Result<Json<Value>> {
    let Query(page) = page.map_err(|e| AppError::InvalidPayload(e.body_text()))?;
    let limit = page.limit.unwrap_or(50);
    if !(1..=MAX_FEED_PAGE).contains(&limit) {
        return Err(AppError::InvalidPayload(format!("limit must be between 1 and {MAX_FEED_PAGE}")));
    }
    if page.after.as_ref().is_some_and(|a| a.len() > 64 || !a.chars().all(|c| c.is_ascii_alphanumeric())) {
        return Err(AppError::InvalidPayload("bad cursor".into()));
    }
    let (users, next) = app.accounts.follow_page(&username, side, page.after.as_deref(), limit).await?;
    Ok(Json(json!({ "users": users, "next": next })))
}

async fn followers(
    State(app): State<AppState>,
    Path(username): Path<String>,
    page: std::result::Result<Query<PeoplePage>, QueryRejection>,
) -> Result<Json<Value>> {
    people(app, username, FollowSide::Followers, page).await
}

async fn following(
    State(app): State<AppState>,
    Path(username): Path<String>,
    page: std::result::Result<Query<PeoplePage>, QueryRejection>,
) -> Result<Json<Value>> {
    people(app, username, FollowSide::Following, page).await
}

/// `GET /api/users/{username}/photos`: the account's photos that are on a
/// wall now and that the asker may see (public rooms, or rooms the asker's
/// account is in), newest first.
async fn user_photos(
    viewer: Option<SignedIn>,
    State(app): State<AppState>,
    Path(username): Path<String>,
    page: std::result::Result<Query<TimePage>, QueryRejection>,
) -> Result<Json<Value>> {
    let (before, limit) = time_page(page)?;
    let user = app.accounts.user_named(&username).await?;
    let before = before.as_ref().map(|(at, id)| (*at, id.as_str()));
    let page = app.store.accounts().user_photos(&user.id, before, limit).await?;
    let next = (page.len() == limit).then(|| page.last().map(photo::cursor)).flatten();
    let viewer = viewer.map(|SignedIn(a)| a.user.id).unwrap_or_default();
    let mut shown: Vec<PhotoView> = Vec::with_capacity(page.len());
    for photo in &page {
        if let Ok(room) = app.rooms.room(&photo.room_id).await
            && photo.visible_in(&room)
            && shown_to(&room, &viewer)
        {
            shown.push(PhotoView::new(photo, &room, None));
        }
    }
    Ok(Json(json!({ "photos": shown, "next": next })))
}

/// `GET /api/avatars/{user_id}/{version}.jpg`: cached for good (a new
/// avatar gets a new version, so a new URL).
async fn avatar(State(app): State<AppState>, Path((user_id, file)): Path<(String, String)>) -> Result<Response> {
    if user_id.len() > 64 || !user_id.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(AppError::NotFound);
    }
    let user = app.store.accounts().user(&user_id).await?.ok_or(AppError::NotFound)?;
    let version = file.strip_suffix(".jpg").and_then(|v| v.parse::<u32>().ok());
    if version.is_none() || version != user.avatar_version {
        return Err(AppError::NotFound);
    }
    let key = avatar_key(&user.id, version.unwrap_or_default());
    let blob = app.blobs.get(&key).await.map_err(|_| AppError::Unavailable)?.ok_or(AppError::NotFound)?;
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg")),
        (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable")),
        (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
    ];
    Ok((headers, blob.bytes).into_response())
}
