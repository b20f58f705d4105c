//! An HTTP test double of Meilisearch v1, strict about what it accepts.
//!
//! It answers only requests that match Meilisearch's documented v1 API
//! (routes, methods, headers, body fields and their types) with the
//! documented response shapes and error bodies, so code that passes against
//! it also works against a real Meilisearch. Tasks are queued and processed
//! asynchronously, like the real engine: clients have to poll `/tasks/{uid}`.
//! Search implements the semantics our embedded tantivy engine shares (see
//! `search.rs`), so the same conformance tests run against both.
//!
//! Every 4xx answer is logged in [`MeiliDouble::rejected`]: a conformance test
//! asserts it stays empty.

mod filter;
mod keys;
mod routes;
mod search;
mod settings;
mod store;
mod tests;
mod text;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::http::{HeaderMap, StatusCode, header};
use serde_json::{Map, Value, json};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// Largest accepted body (Meilisearch's default `--http-payload-size-limit`).
const MAX_BODY: usize = 100 * 1024 * 1024;
/// A task nobody has polled yet stays `enqueued` at least this long, so a
/// client polling right after the 202 always sees it unfinished.
const MIN_QUEUE_TIME: Duration = Duration::from_millis(20);
const PKG_VERSION: &str = "1.11.0";

/// A running Meilisearch double on 127.0.0.1; stops when dropped.
pub struct MeiliDouble {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: JoinHandle<()>,
    worker: JoinHandle<()>,
    /// The key nodes use, made by `crowdjuke search-key`'s code (`for_nodes`).
    node_key: Option<String>,
}

impl MeiliDouble {
    /// Starts on 127.0.0.1:0. With a master key every route but `/health`
    /// needs `Authorization: Bearer <key>`; `None` disables auth.
    pub async fn start(master_key: Option<&str>) -> MeiliDouble {
        let shared = Arc::new(Shared {
            master_key: master_key.map(str::to_string),
            down: AtomicBool::new(false),
            state: Mutex::new(store::State::default()),
            wake: Notify::new(),
            keys: Mutex::new(Vec::new()),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the meili double");
        let addr = listener.local_addr().expect("the meili double's address");
        let app = axum::Router::new().fallback(routes::handle).with_state(shared.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let worker = tokio::spawn(store::run_tasks(shared.clone()));
        MeiliDouble { addr, shared, server, worker, node_key: None }
    }

    /// Starts with `master_key` and makes the nodes' API key as an operator
    /// does (`crowdjuke search-key`): nodes given `node_key()` may only do
    /// what that key allows.
    pub async fn for_nodes(master_key: &str) -> MeiliDouble {
        let mut double = Self::start(Some(master_key)).await;
        let key = crowdjuke::search::meili::ensure_node_key(&double.url(), master_key).await;
        double.node_key = Some(key.expect("the nodes' key is made"));
        // Its first look-up found no key (404): not what tests look at.
        double.shared.lock().rejected.clear();
        double
    }

    /// The nodes' key (`for_nodes`).
    pub fn node_key(&self) -> &str {
        self.node_key.as_deref().expect("started with MeiliDouble::for_nodes")
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// While down, every request answers 503 with an `internal` error body.
    pub fn set_down(&self, down: bool) {
        self.shared.down.store(down, Ordering::SeqCst);
    }

    /// The next processed task ends `failed` with an error of this code.
    pub fn fail_next_task(&self, code: &str) {
        self.shared.lock().fail_next = Some(code.to_string());
    }

    /// The stored documents of `index`, sorted by primary key (as a string).
    pub fn documents(&self, index: &str) -> Vec<Value> {
        let state = self.shared.lock();
        state.indexes.get(index).map(|i| i.docs.values().cloned().map(Value::Object).collect()).unwrap_or_default()
    }

    /// The full settings of `index` (defaults included), as `GET /settings` shows them.
    pub fn settings(&self, index: &str) -> Option<Value> {
        self.shared.lock().indexes.get(index).map(|i| Value::Object(i.settings.clone()))
    }

    /// Every 4xx answered so far, as "METHOD /path -> code: message".
    pub fn rejected(&self) -> Vec<String> {
        self.shared.lock().rejected.clone()
    }

    /// Every request received so far, as "METHOD /path".
    pub fn requests(&self) -> Vec<String> {
        self.shared.lock().requests.clone()
    }
}

impl Drop for MeiliDouble {
    fn drop(&mut self) {
        self.server.abort();
        self.worker.abort();
    }
}

struct Shared {
    master_key: Option<String>,
    down: AtomicBool,
    state: Mutex<store::State>,
    /// Signalled when a task is enqueued.
    wake: Notify,
    /// API keys made with the master key (`/keys`).
    keys: Mutex<Vec<keys::ApiKey>>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, store::State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn keys(&self) -> MutexGuard<'_, Vec<keys::ApiKey>> {
        self.keys.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

// ---------------------------------------------------------------------------
// Errors

/// A Meilisearch error: `{message, code, type, link}` with the code's status.
#[derive(Clone, Debug)]
struct ApiError {
    status: StatusCode,
    code: String,
    kind: &'static str,
    message: String,
}

impl ApiError {
    fn new(code: &str, message: impl Into<String>) -> ApiError {
        let (status, kind) = code_info(code);
        ApiError { status, code: code.to_string(), kind, message: message.into() }
    }

    fn body(&self) -> Value {
        json!({
            "message": self.message,
            "code": self.code,
            "type": self.kind,
            "link": format!("https://docs.meilisearch.com/errors#{}", self.code),
        })
    }
}

/// HTTP status and error type of a Meilisearch error code.
fn code_info(code: &str) -> (StatusCode, &'static str) {
    match code {
        "index_not_found" | "document_not_found" | "task_not_found" | "batch_not_found" | "api_key_not_found" => {
            (StatusCode::NOT_FOUND, "invalid_request")
        }
        "index_already_exists" | "api_key_already_exists" | "dump_already_processing" => {
            (StatusCode::CONFLICT, "invalid_request")
        }
        "missing_authorization_header" | "missing_master_key" => (StatusCode::UNAUTHORIZED, "auth"),
        "invalid_api_key" => (StatusCode::FORBIDDEN, "auth"),
        "missing_content_type" | "invalid_content_type" | "unsupported_media_type" => {
            (StatusCode::UNSUPPORTED_MEDIA_TYPE, "invalid_request")
        }
        "payload_too_large" => (StatusCode::PAYLOAD_TOO_LARGE, "invalid_request"),
        "internal"
        | "index_creation_failed"
        | "database_size_limit_reached"
        | "dump_process_failed"
        | "invalid_state"
        | "invalid_store_file" => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        "io_error" | "no_space_left_on_device" | "too_many_open_files" => (StatusCode::UNPROCESSABLE_ENTITY, "system"),
        "too_many_search_requests" => (StatusCode::SERVICE_UNAVAILABLE, "system"),
        _ => (StatusCode::BAD_REQUEST, "invalid_request"),
    }
}

/// How deserr describes a JSON value in its messages.
fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_string(),
        Value::Bool(b) => format!("a boolean: `{b}`"),
        Value::Number(n) if n.is_u64() => format!("a positive integer: `{n}`"),
        Value::Number(n) if n.is_i64() => format!("a negative integer: `{n}`"),
        Value::Number(n) => format!("a float: `{n}`"),
        Value::String(_) => format!("a string: `{value}`"),
        Value::Array(_) => format!("an array: `{value}`"),
        Value::Object(_) => format!("an object: `{value}`"),
    }
}

/// `Invalid value type at `.path`: expected X, but found Y`.
fn type_error(code: &str, path: &str, expected: &str, found: &Value) -> ApiError {
    let at = if path.is_empty() { String::new() } else { format!(" at `{path}`") };
    ApiError::new(code, format!("Invalid value type{at}: expected {expected}, but found {}", describe(found)))
}

/// `Unknown field `key` [inside `.path`]: expected one of ...`.
fn unknown_field(code: &str, path: &str, key: &str, expected: &[&str]) -> ApiError {
    let inside = if path.is_empty() { String::new() } else { format!(" inside `{path}`") };
    ApiError::new(code, format!("Unknown field `{key}`{inside}: expected one of {}", backticked(expected)))
}

fn backticked<S: AsRef<str>>(items: &[S]) -> String {
    items.iter().map(|s| format!("`{}`", s.as_ref())).collect::<Vec<_>>().join(", ")
}

/// Rejects unknown keys of a JSON object body.
fn check_fields(object: &Map<String, Value>, allowed: &[&str]) -> Result<(), ApiError> {
    match object.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(key) => Err(unknown_field("bad_request", "", key, allowed)),
        None => Ok(()),
    }
}

fn as_object<'a>(value: &'a Value, code: &str) -> Result<&'a Map<String, Value>, ApiError> {
    value.as_object().ok_or_else(|| type_error(code, "", "an object", value))
}

/// A failed request: a Meilisearch error, or a bare status (unknown route / method).
enum Reject {
    Api(ApiError),
    Plain(StatusCode),
}

impl From<ApiError> for Reject {
    fn from(e: ApiError) -> Reject {
        Reject::Api(e)
    }
}

type Reply = Result<(StatusCode, Value), Reject>;

// ---------------------------------------------------------------------------
// Dates

/// RFC 3339 in UTC with microseconds, like Meilisearch prints them.
fn rfc3339(t: SystemTime) -> String {
    let since = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let days = i64::try_from(secs / 86_400).unwrap_or_default();
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        since.subsec_micros()
    )
}

/// ISO 8601 duration, e.g. `PT0.001234S`.
fn iso_duration(d: Duration) -> String {
    format!("PT{}.{:06}S", d.as_secs(), d.subsec_micros())
}

// ---------------------------------------------------------------------------
// Query strings and bodies

fn percent_decode(s: &str, plus_is_space: bool) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Query parameters; any name outside `allowed` is a `bad_request`.
fn query_params(query: &str, allowed: &[&str]) -> Result<BTreeMap<String, String>, ApiError> {
    let mut params = BTreeMap::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = percent_decode(name, true);
        if !allowed.contains(&name.as_str()) {
            return Err(ApiError::new(
                "bad_request",
                format!("Unknown parameter `{name}`: expected one of {}", backticked(allowed)),
            ));
        }
        params.insert(name, percent_decode(value, true));
    }
    Ok(params)
}

fn param_usize(params: &BTreeMap<String, String>, name: &str, code: &str) -> Result<Option<usize>, ApiError> {
    params
        .get(name)
        .map(|raw| {
            raw.parse::<usize>().map_err(|_| {
                ApiError::new(
                    code,
                    format!("Invalid value in parameter `{name}`: could not parse `{raw}` as a positive integer"),
                )
            })
        })
        .transpose()
}

fn param_bool(params: &BTreeMap<String, String>, name: &str, code: &str) -> Result<Option<bool>, ApiError> {
    params
        .get(name)
        .map(|raw| match raw.as_str() {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(ApiError::new(
                code,
                format!(
                    "Invalid value in parameter `{name}`: could not parse `{raw}` as a boolean, expected either `true` or `false`"
                ),
            )),
        })
        .transpose()
}

/// The `Content-Type` essence and whether its parameters are acceptable.
fn content_type(headers: &HeaderMap) -> Option<String> {
    headers.get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap_or("unknown").to_string())
}

fn essence(content_type: &str) -> String {
    content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase()
}

/// `application/json`, optionally with `charset=utf-8`.
fn is_plain_json(content_type: &str) -> bool {
    let mut parts = content_type.split(';');
    let essence_ok = parts.next().is_some_and(|e| e.trim().eq_ignore_ascii_case("application/json"));
    essence_ok && parts.all(|p| p.trim().eq_ignore_ascii_case("charset=utf-8"))
}

fn missing_content_type(accepted: &[&str]) -> ApiError {
    ApiError::new(
        "missing_content_type",
        format!(
            "A Content-Type header is missing. Accepted values for the Content-Type header are: {}",
            backticked(accepted)
        ),
    )
}

fn invalid_content_type(found: &str, accepted: &[&str]) -> ApiError {
    ApiError::new(
        "invalid_content_type",
        format!(
            "The Content-Type `{found}` is invalid. Accepted values for the Content-Type header are: {}",
            backticked(accepted)
        ),
    )
}

/// A JSON body as actix + deserr see it: content type first, then presence, then syntax.
fn json_body(headers: &HeaderMap, body: &[u8]) -> Result<Value, ApiError> {
    match content_type(headers) {
        None => return Err(missing_content_type(&["application/json"])),
        Some(ct) if is_plain_json(&ct) => {}
        Some(ct) => return Err(invalid_content_type(&ct, &["application/json"])),
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::new("missing_payload", "A json payload is missing."));
    }
    serde_json::from_slice(body)
        .map_err(|e| ApiError::new("malformed_payload", format!("The json payload provided is malformed. `{e}`.")))
}

/// Index uids: `[A-Za-z0-9_-]{1,400}`.
fn check_index_uid(uid: &str) -> Result<(), ApiError> {
    let valid =
        !uid.is_empty() && uid.len() <= 400 && uid.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if valid {
        Ok(())
    } else {
        Err(ApiError::new(
            "invalid_index_uid",
            format!(
                "`{uid}` is not a valid index uid. Index uid can be an integer or a string containing only alphanumeric characters, hyphens (-) and underscores (_), and can not be more than 400 bytes."
            ),
        ))
    }
}

fn index_not_found(uid: &str) -> ApiError {
    ApiError::new("index_not_found", format!("Index `{uid}` not found."))
}

/// Time since `t` (zero if the clock went backwards).
fn elapsed(t: Instant) -> Duration {
    Instant::now().saturating_duration_since(t)
}

fn split_list(raw: &str) -> Vec<String> {
    raw.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect()
}
