//! A local fake of the Spotify accounts service and Web API endpoints the
//! server uses, following Spotify's documented shapes: `GET /authorize`
//! (checks client id, redirect URI, S256 challenge), `POST /api/token`
//! (authorization code with the PKCE verifier checked against the
//! challenge, single-use codes; refresh tokens rotated on every refresh;
//! client credentials with Basic auth), and under `/v1`: `me/`,
//! `me/playlists`, `playlists/{id}/items`, `me/tracks`, `search`,
//! `me/player/devices`, `me/player/play`, `me/player/pause`, and
//! `POST me/playlists` / `playlists/{id}/items`. Paging follows
//! `limit`/`offset` (at most 50), and knobs inject failures (any status
//! with a body and `Retry-After`), expire access tokens and revoke users.

// Handlers answer `Result<_, Response>`: the error is the reply itself.
#![allow(clippy::result_large_err)]

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub const CLIENT_ID: &str = "crowdjuke-test-client";
pub const CLIENT_SECRET: &str = "crowdjuke-test-secret";
const MAX_LIMIT: usize = 50;

#[derive(Default)]
pub struct FakeUser {
    pub name: String,
    /// Playlist id → (name, items as `item` JSON: tracks or anything else).
    pub playlists: Vec<(String, String, Vec<Value>)>,
    pub liked: Vec<Value>,
    pub devices: Vec<Value>,
}

/// A canned answer for requests whose path and query contain `path`.
pub struct Failure {
    pub path: String,
    pub status: u16,
    pub retry_after: Option<u64>,
    pub body: Value,
    pub times: usize,
}

#[derive(Default)]
pub struct Inner {
    /// The Spotify user who approves the next `/authorize`.
    pub approving: String,
    pub users: HashMap<String, FakeUser>,
    pub catalogue: Vec<Value>,
    pub failures: Vec<Failure>,
    /// Failures answered after the request was carried out (a service that
    /// did the work and then failed or timed out).
    pub failures_after: Vec<Failure>,
    /// `METHOD path?query` of every request, in order.
    pub requests: Vec<String>,
    /// (device, uri, position_ms) of every play.
    pub plays: Vec<(String, String, u64)>,
    pub pauses: Vec<String>,
    /// id, name, description, uris added.
    pub created: Vec<(String, String, String, Vec<String>)>,
    /// Users whose grants Spotify no longer accepts.
    pub revoked: HashSet<String>,
    codes: HashMap<String, (String, String, String)>,
    /// access token → user (`None`: the app's client-credentials token).
    access: HashMap<String, Option<String>>,
    expired: HashSet<String>,
    refresh: HashMap<String, String>,
    next_id: u64,
}

impl Inner {
    fn id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}{:06}", self.next_id)
    }

    /// Requests matching `needle` so far.
    pub fn count(&self, needle: &str) -> usize {
        self.requests.iter().filter(|r| r.contains(needle)).count()
    }

    /// Every access and refresh token handed out so far.
    pub fn issued_tokens(&self) -> Vec<String> {
        self.access.keys().chain(self.refresh.keys()).cloned().collect()
    }

    /// Makes every access token issued so far answer 401.
    pub fn expire_access_tokens(&mut self) {
        let tokens: Vec<String> = self.access.keys().cloned().collect();
        self.expired.extend(tokens);
    }

    pub fn fail(&mut self, path: &str, status: u16, retry_after: Option<u64>, body: Value, times: usize) {
        self.failures.push(Failure { path: path.to_string(), status, retry_after, body, times });
    }
}

pub struct FakeSpotify {
    pub addr: SocketAddr,
    state: Arc<Mutex<Inner>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeSpotify {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeSpotify {
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(Inner::default()));
        let app = Router::new().fallback(handle).with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind fake spotify");
        let addr = listener.local_addr().expect("addr");
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.ok();
        });
        Self { addr, state, task }
    }

    pub fn accounts_url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    pub fn api_url(&self) -> String {
        format!("http://{}/v1/", self.addr)
    }

    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.state.lock().expect("fake spotify lock")
    }

    /// Adds a user (who approves the next authorization) with a device.
    pub fn add_user(&self, id: &str, name: &str) {
        let mut inner = self.lock();
        inner.approving = id.to_string();
        let device = json!({
            "id": format!("dev-{id}"), "is_active": true, "is_private_session": false, "is_restricted": false,
            "name": format!("{name}'s speaker"), "type": "Speaker", "volume_percent": 60
        });
        inner
            .users
            .insert(id.to_string(), FakeUser { name: name.to_string(), devices: vec![device], ..Default::default() });
    }
}

/// A track object as the Web API sends it.
pub fn track(n: usize, title: &str, artist: &str) -> Value {
    json!({
        "album": {
            "album_type": "album", "artists": [{"external_urls": {}, "href": null, "id": null, "name": artist, "type": "artist", "uri": "spotify:artist:x"}],
            "external_urls": {}, "href": null, "id": format!("album{n:08}"),
            "images": [{"height": 640, "url": format!("https://i.scdn.co/image/{n}"), "width": 640}],
            "name": format!("{title} (album)"), "release_date": "1999-05-01", "release_date_precision": "day",
            "type": "album", "uri": format!("spotify:album:album{n:08}")
        },
        "artists": [{"external_urls": {}, "href": null, "id": format!("artist{n:08}"), "name": artist, "type": "artist", "uri": format!("spotify:artist:artist{n:08}")}],
        "disc_number": 1, "duration_ms": 180_000 + n as u64, "explicit": false,
        "external_ids": {"isrc": format!("QZ{:010}", n)}, "external_urls": {"spotify": format!("https://open.spotify.com/track/tr{n:020}")},
        "href": null, "id": format!("tr{n:020}"), "is_local": false, "is_playable": true,
        "name": title, "popularity": 40, "preview_url": null, "track_number": 1,
        "type": "track", "uri": format!("spotify:track:tr{n:020}")
    })
}

/// The URI of `track(n, …)`.
pub fn track_uri(n: usize) -> String {
    format!("spotify:track:tr{n:020}")
}

/// The library id the server gives `track(n, …)` (from its ISRC).
pub fn track_id(n: usize) -> String {
    format!("isrc-QZ{:010}", n)
}

fn error(status: u16, message: &str) -> Response {
    let status = StatusCode::from_u16(status).expect("status");
    (status, axum::Json(json!({"error": {"status": status.as_u16(), "message": message}}))).into_response()
}

fn oauth_error(error: &str) -> Response {
    (StatusCode::BAD_REQUEST, axum::Json(json!({"error": error, "error_description": error}))).into_response()
}

fn query(uri: &Uri) -> HashMap<String, String> {
    url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes()).into_owned().collect()
}

/// One page of `items`, each shaped by `wrap` (only the page's items are).
fn page_of(
    base: &str,
    items: &[Value],
    q: &HashMap<String, String>,
    wrap: impl Fn(&Value) -> Value,
) -> Result<Value, Response> {
    let limit: usize = q.get("limit").map_or(Ok(20), |l| l.parse()).map_err(|_| error(400, "Invalid limit"))?;
    let offset: usize = q.get("offset").map_or(Ok(0), |o| o.parse()).map_err(|_| error(400, "Invalid offset"))?;
    if limit == 0 || limit > MAX_LIMIT {
        return Err(error(400, "Invalid limit"));
    }
    let slice: Vec<Value> = items.iter().skip(offset).take(limit).map(wrap).collect();
    let next = (offset + limit < items.len()).then(|| format!("{base}?offset={}&limit={limit}", offset + limit));
    Ok(json!({
        "href": format!("{base}?offset={offset}&limit={limit}"), "items": slice, "limit": limit, "next": next,
        "offset": offset, "previous": null, "total": items.len()
    }))
}

fn page(base: &str, items: &[Value], q: &HashMap<String, String>) -> Result<Value, Response> {
    page_of(base, items, q, Value::clone)
}

fn user_json(id: &str, name: &str) -> Value {
    json!({"display_name": name, "external_urls": {"spotify": format!("https://open.spotify.com/user/{id}")},
           "href": format!("https://api.spotify.com/v1/users/{id}"), "id": id, "images": [], "type": "user",
           "uri": format!("spotify:user:{id}")})
}

fn playlist_json(id: &str, name: &str, owner: &Value, total: usize) -> Value {
    json!({"collaborative": false, "description": "", "external_urls": {"spotify": format!("https://open.spotify.com/playlist/{id}")},
           "href": format!("https://api.spotify.com/v1/playlists/{id}"), "id": id, "images": [], "name": name,
           "owner": owner, "public": false, "snapshot_id": "snap", "type": "playlist", "uri": format!("spotify:playlist:{id}"),
           "items": {"href": format!("https://api.spotify.com/v1/playlists/{id}/items"), "total": total}})
}

async fn handle(
    State(state): State<Arc<Mutex<Inner>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut inner = state.lock().expect("fake spotify lock");
    let path = uri.path().to_string();
    let target = uri.path_and_query().map(|p| p.as_str().to_string()).unwrap_or_default();
    inner.requests.push(format!("{method} {target}"));
    if let Some(failure) = inner.failures.iter_mut().find(|f| f.times > 0 && target.contains(&f.path)) {
        failure.times -= 1;
        let mut response =
            (StatusCode::from_u16(failure.status).expect("status"), axum::Json(failure.body.clone())).into_response();
        if let Some(seconds) = failure.retry_after {
            response.headers_mut().insert("retry-after", seconds.to_string().parse().expect("header"));
        }
        return response;
    }
    let q = query(&uri);
    let method_target = format!("{method} {target}");
    let response = match (method.clone(), path.as_str()) {
        (Method::GET, "/authorize") => authorize(&mut inner, &q),
        (Method::POST, "/api/token") => token(&mut inner, &headers, &body),
        (_, p) if p.starts_with("/v1/") => api(&mut inner, method, p.trim_start_matches("/v1"), &q, &headers, &body),
        _ => error(404, "Service not found"),
    };
    if let Some(failure) = inner.failures_after.iter_mut().find(|f| f.times > 0 && method_target.contains(&f.path)) {
        failure.times -= 1;
        return (StatusCode::from_u16(failure.status).expect("status"), axum::Json(failure.body.clone()))
            .into_response();
    }
    response
}

fn authorize(inner: &mut Inner, q: &HashMap<String, String>) -> Response {
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    if get("client_id") != CLIENT_ID {
        return error(400, "INVALID_CLIENT: Invalid client");
    }
    if get("response_type") != "code" || get("code_challenge_method") != "S256" || get("code_challenge").len() != 43 {
        return error(400, "invalid PKCE request");
    }
    let redirect = get("redirect_uri");
    if !redirect.starts_with("http://127.0.0.1:") || get("state").is_empty() {
        return error(400, "INVALID_CLIENT: Invalid redirect URI");
    }
    for scope in ["playlist-read-private", "user-library-read", "user-modify-playback-state", "playlist-modify-private"]
    {
        if !get("scope").split(' ').any(|s| s == scope) {
            return error(400, &format!("missing scope {scope}"));
        }
    }
    let code = inner.id("code");
    let user = inner.approving.clone();
    inner.codes.insert(code.clone(), (get("code_challenge"), redirect.clone(), user));
    let location = format!("{redirect}?code={code}&state={}", get("state"));
    (StatusCode::SEE_OTHER, [("location", location)]).into_response()
}

fn issue(inner: &mut Inner, user: &str) -> Response {
    let access = inner.id("access");
    let refresh = inner.id("refresh");
    inner.access.insert(access.clone(), Some(user.to_string()));
    inner.refresh.insert(refresh.clone(), user.to_string());
    axum::Json(json!({
        "access_token": access, "token_type": "Bearer", "expires_in": 3600, "refresh_token": refresh,
        "scope": "playlist-read-private user-library-read user-modify-playback-state"
    }))
    .into_response()
}

fn token(inner: &mut Inner, headers: &HeaderMap, body: &Bytes) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(body).into_owned().collect();
    let get = |k: &str| form.get(k).cloned().unwrap_or_default();
    match get("grant_type").as_str() {
        "authorization_code" => {
            if get("client_id") != CLIENT_ID {
                return oauth_error("invalid_client");
            }
            let Some((challenge, redirect, user)) = inner.codes.remove(&get("code")) else {
                return oauth_error("invalid_grant");
            };
            let verifier_challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(get("code_verifier").as_bytes()));
            if verifier_challenge != challenge || redirect != get("redirect_uri") {
                return oauth_error("invalid_grant");
            }
            issue(inner, &user)
        }
        "refresh_token" => {
            if get("client_id") != CLIENT_ID {
                return oauth_error("invalid_client");
            }
            // Rotated: a refresh token works once.
            match inner.refresh.remove(&get("refresh_token")) {
                Some(user) if !inner.revoked.contains(&user) => issue(inner, &user),
                _ => oauth_error("invalid_grant"),
            }
        }
        "client_credentials" => {
            let expected = format!("Basic {}", STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}")));
            if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
                return oauth_error("invalid_client");
            }
            let access = inner.id("app");
            inner.access.insert(access.clone(), None);
            axum::Json(json!({"access_token": access, "token_type": "Bearer", "expires_in": 3600})).into_response()
        }
        _ => oauth_error("unsupported_grant_type"),
    }
}

fn api(
    inner: &mut Inner,
    method: Method,
    path: &str,
    q: &HashMap<String, String>,
    headers: &HeaderMap,
    body: &Bytes,
) -> Response {
    let token = headers.get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    let Some(holder) = token.and_then(|t| inner.access.get(t).cloned()) else {
        return error(401, "Invalid access token");
    };
    if token.is_some_and(|t| inner.expired.contains(t)) {
        return error(401, "The access token expired");
    }
    if path == "/search" {
        return search(inner, q);
    }
    let Some(user) = holder else { return error(401, "This endpoint needs a user token") };
    if inner.revoked.contains(&user) {
        return error(403, "User not registered in the Developer Dashboard");
    }
    let json_body: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let base = format!("https://api.spotify.com/v1{path}");
    let me = inner.users.get(&user).map(|u| user_json(&user, &u.name)).unwrap_or(Value::Null);
    if !inner.users.contains_key(&user) {
        return error(404, "No such user");
    }
    fn account<'i>(inner: &'i Inner, user: &str) -> &'i FakeUser {
        &inner.users[user]
    }
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let result: Result<Response, Response> = match (method, segments.as_slice()) {
        (Method::GET, ["me"]) => Ok(axum::Json(me).into_response()),
        (Method::GET, ["me", "playlists"]) => {
            // Playlists made through the API come first, newest first, as on Spotify.
            let made = inner.created.iter().rev().map(|(id, name, _, uris)| playlist_json(id, name, &me, uris.len()));
            let own = account(inner, &user).playlists.iter().map(|(id, name, items)| playlist_json(id, name, &me, items.len()));
            let items: Vec<Value> = made.chain(own).collect();
            page(&base, &items, q).map(|p| axum::Json(p).into_response())
        }
        (Method::GET, ["playlists", id, "items"]) if inner.created.iter().any(|c| c.0 == *id) => {
            // A playlist made through the API holds the tracks added by URI.
            let uris = inner.created.iter().find(|c| c.0 == *id).map(|c| c.3.clone()).unwrap_or_default();
            let items: Vec<Value> = uris
                .iter()
                .filter_map(|u| u.strip_prefix("spotify:track:tr").and_then(|n| n.parse::<usize>().ok()))
                .map(|n| track(n, &format!("Song {n}"), &format!("Artist {n}")))
                .collect();
            page_of(&base, &items, q, |item| json!({"added_at": "2024-01-01T00:00:00Z", "added_by": null, "is_local": false, "item": item}))
                .map(|p| axum::Json(p).into_response())
        }
        (Method::GET, ["playlists", id, "items"]) => match account(inner, &user).playlists.iter().find(|(pid, _, _)| pid == id) {
            Some((_, _, items)) => page_of(&base, items, q, |item| {
                json!({"added_at": "2024-01-01T00:00:00Z", "added_by": null, "is_local": item["is_local"] == true, "item": item})
            })
            .map(|p| axum::Json(p).into_response()),
            None => Err(error(404, "Resource not found")),
        },
        (Method::GET, ["me", "tracks"]) => {
            let liked = &account(inner, &user).liked;
            page_of(&base, liked, q, |t| json!({"added_at": "2024-01-01T00:00:00Z", "track": t})).map(|p| axum::Json(p).into_response())
        }
        (Method::GET, ["me", "player", "devices"]) => Ok(axum::Json(json!({"devices": account(inner, &user).devices})).into_response()),
        (Method::PUT, ["me", "player", "play"]) => {
            let device = q.get("device_id").cloned().unwrap_or_default();
            if !account(inner, &user).devices.iter().any(|d| d["id"] == device.as_str()) {
                Err(error(404, "Device not found"))
            } else {
                let uris = json_body["uris"].as_array().cloned().unwrap_or_default();
                match (uris.as_slice(), json_body["position_ms"].as_u64()) {
                    ([uri], position) if uri.as_str().is_some_and(|u| u.starts_with("spotify:track:")) => {
                        let uri = uri.as_str().unwrap_or_default().to_string();
                        inner.plays.push((device, uri, position.unwrap_or(0)));
                        Ok(StatusCode::NO_CONTENT.into_response())
                    }
                    _ => Err(error(400, "Bad uris")),
                }
            }
        }
        (Method::PUT, ["me", "player", "pause"]) => {
            let device = q.get("device_id").cloned().unwrap_or_default();
            inner.pauses.push(device);
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        (Method::POST, ["me", "playlists"]) => match json_body["name"].as_str() {
            Some(name) if !name.is_empty() => {
                let id = inner.id("pl");
                let description = json_body["description"].as_str().unwrap_or_default().to_string();
                inner.created.push((id.clone(), name.to_string(), description, Vec::new()));
                let mut full = playlist_json(&id, name, &me, 0);
                full["followers"] = json!({"href": null, "total": 0});
                full["items"] = json!({"href": base, "items": [], "limit": 100, "next": null, "offset": 0, "previous": null, "total": 0});
                Ok((StatusCode::CREATED, axum::Json(full)).into_response())
            }
            _ => Err(error(400, "Missing name")),
        },
        (Method::POST, ["playlists", id, "items"]) => {
            let uris: Vec<String> =
                json_body["uris"].as_array().map(|a| a.iter().filter_map(|u| u.as_str().map(str::to_string)).collect()).unwrap_or_default();
            match inner.created.iter_mut().find(|c| c.0 == *id) {
                Some(_) if uris.is_empty() || uris.len() > 100 => Err(error(400, "Too many or no uris")),
                Some(created) => {
                    created.3.extend(uris);
                    Ok((StatusCode::CREATED, axum::Json(json!({"snapshot_id": "snap2"}))).into_response())
                }
                None => Err(error(404, "Resource not found")),
            }
        }
        _ => Err(error(404, "Service not found")),
    };
    result.unwrap_or_else(|e| e)
}

fn search(inner: &Inner, q: &HashMap<String, String>) -> Response {
    if q.get("type").map(String::as_str) != Some("track") {
        return error(400, "Bad search type");
    }
    let words: Vec<String> =
        q.get("q").map(|q| q.split_whitespace().map(str::to_lowercase).collect()).unwrap_or_default();
    if words.is_empty() {
        return error(400, "No search query");
    }
    let found: Vec<Value> = inner
        .catalogue
        .iter()
        .filter(|t| {
            let text = format!("{} {}", t["name"], t["artists"][0]["name"]).to_lowercase();
            words.iter().all(|w| text.contains(w.as_str()))
        })
        .cloned()
        .collect();
    match page("https://api.spotify.com/v1/search", &found, q) {
        Ok(tracks) => axum::Json(json!({ "tracks": tracks })).into_response(),
        Err(e) => e,
    }
}
