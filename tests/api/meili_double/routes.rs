//! The HTTP side: routing like actix does it (404 / 405), auth, strict
//! request parsing, and one handler per documented route.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::settings::{self, SettingSpec};
use super::store::{IndexData, Op, Task};
use super::{
    ApiError, MAX_BODY, PKG_VERSION, Reject, Reply, Shared, as_object, check_fields, check_index_uid, content_type,
    describe, essence, filter, index_not_found, invalid_content_type, json_body, missing_content_type, param_bool,
    param_usize, percent_decode, query_params, search, split_list, type_error,
};

pub(super) async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let method = parts.method.as_str().to_string();
    let path = parts.uri.path().to_string();
    shared.lock().requests.push(format!("{method} {path}"));

    if shared.down.load(Ordering::SeqCst) {
        let mut error = ApiError::new("internal", "Meilisearch is unavailable (simulated outage).");
        error.status = StatusCode::SERVICE_UNAVAILABLE;
        let mut response = json_response(error.status, &error.body());
        response.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from_static("10"));
        return response;
    }

    let reply = match to_bytes(body, MAX_BODY).await {
        Ok(bytes) => dispatch(&shared, &method, &path, parts.uri.query().unwrap_or_default(), &parts.headers, &bytes),
        Err(_) => Err(Reject::Api(ApiError::new(
            "payload_too_large",
            "The provided payload reached the size limit. The maximum accepted payload size is 100 MiB.",
        ))),
    };
    match reply {
        Ok((status, value)) => json_response(status, &value),
        Err(Reject::Api(error)) => {
            if error.status.is_client_error() {
                shared.lock().rejected.push(format!("{method} {path} -> {}: {}", error.code, error.message));
            }
            json_response(error.status, &error.body())
        }
        Err(Reject::Plain(status)) => {
            shared.lock().rejected.push(format!(
                "{method} {path} -> {}: {}",
                status.as_u16(),
                status.canonical_reason().unwrap_or_default()
            ));
            let mut response = Response::new(Body::empty());
            *response.status_mut() = status;
            response
        }
    }
}

fn json_response(status: StatusCode, value: &Value) -> Response {
    if status == StatusCode::NO_CONTENT {
        let mut response = Response::new(Body::empty());
        *response.status_mut() = status;
        return response;
    }
    let mut response = Response::new(Body::from(value.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static("application/json"));
    response
}

/// What a (method, path) pair addresses.
enum Endpoint {
    Health,
    Version,
    ListTasks,
    GetTask(String),
    ListIndexes,
    CreateIndex,
    GetIndex(String),
    UpdateIndex(String),
    DeleteIndex(String),
    Stats(String),
    Search(String, bool),
    GetSettings(String),
    UpdateSettings(String),
    ResetSettings(String),
    GetSetting(String, &'static SettingSpec),
    UpdateSetting(String, &'static SettingSpec),
    ResetSetting(String, &'static SettingSpec),
    GetDocuments(String),
    FetchDocuments(String),
    AddDocuments(String, bool),
    ClearDocuments(String),
    DeleteBatch(String),
    DeleteByFilter(String),
    GetDocument(String, String),
    DeleteDocument(String, String),
    ListKeys,
    CreateKey,
    GetKey(String),
    DeleteKey(String),
}

impl Endpoint {
    /// The key action a route needs, and the index it works on (if any).
    fn needs(&self) -> (&'static str, Option<&str>) {
        use Endpoint::*;
        match self {
            Health => ("", None),
            Version => ("version", None),
            ListTasks | GetTask(_) => ("tasks.get", None),
            ListIndexes => ("indexes.get", None),
            CreateIndex => ("indexes.create", None),
            GetIndex(uid) => ("indexes.get", Some(uid)),
            UpdateIndex(uid) => ("indexes.update", Some(uid)),
            DeleteIndex(uid) => ("indexes.delete", Some(uid)),
            Stats(uid) => ("stats.get", Some(uid)),
            Search(uid, _) => ("search", Some(uid)),
            GetSettings(uid) | GetSetting(uid, _) => ("settings.get", Some(uid)),
            UpdateSettings(uid) | ResetSettings(uid) | UpdateSetting(uid, _) | ResetSetting(uid, _) => {
                ("settings.update", Some(uid))
            }
            GetDocuments(uid) | FetchDocuments(uid) | GetDocument(uid, _) => ("documents.get", Some(uid)),
            AddDocuments(uid, _) => ("documents.add", Some(uid)),
            ClearDocuments(uid) | DeleteBatch(uid) | DeleteByFilter(uid) | DeleteDocument(uid, _) => {
                ("documents.delete", Some(uid))
            }
            ListKeys | GetKey(_) => ("keys.get", None),
            CreateKey => ("keys.create", None),
            DeleteKey(_) => ("keys.delete", None),
        }
    }
}

/// Routes like actix does: unknown path → 404, known path but wrong method → 405.
fn resolve(method: &str, segments: &[&str]) -> Result<Endpoint, Reject> {
    use Endpoint::*;
    let s = |x: &str| x.to_string();
    let found = match (segments, method) {
        (["health"], "GET") => Health,
        (["version"], "GET") => Version,
        (["tasks"], "GET") => ListTasks,
        (["tasks", id], "GET") => GetTask(s(id)),
        (["indexes"], "GET") => ListIndexes,
        (["indexes"], "POST") => CreateIndex,
        (["indexes", uid], "GET") => GetIndex(s(uid)),
        (["indexes", uid], "PATCH") => UpdateIndex(s(uid)),
        (["indexes", uid], "DELETE") => DeleteIndex(s(uid)),
        (["indexes", uid, "stats"], "GET") => Stats(s(uid)),
        (["indexes", uid, "search"], "GET") => Search(s(uid), false),
        (["indexes", uid, "search"], "POST") => Search(s(uid), true),
        (["indexes", uid, "settings"], "GET") => GetSettings(s(uid)),
        (["indexes", uid, "settings"], "PATCH") => UpdateSettings(s(uid)),
        (["indexes", uid, "settings"], "DELETE") => ResetSettings(s(uid)),
        (["indexes", uid, "settings", name], m) => {
            let spec = settings::spec_by_route(name).ok_or(Reject::Plain(StatusCode::NOT_FOUND))?;
            match m {
                "GET" => GetSetting(s(uid), spec),
                "DELETE" => ResetSetting(s(uid), spec),
                "PATCH" if spec.patch => UpdateSetting(s(uid), spec),
                "PUT" if !spec.patch => UpdateSetting(s(uid), spec),
                _ => return Err(Reject::Plain(StatusCode::METHOD_NOT_ALLOWED)),
            }
        }
        (["indexes", uid, "documents"], "GET") => GetDocuments(s(uid)),
        (["indexes", uid, "documents"], "POST") => AddDocuments(s(uid), false),
        (["indexes", uid, "documents"], "PUT") => AddDocuments(s(uid), true),
        (["indexes", uid, "documents"], "DELETE") => ClearDocuments(s(uid)),
        (["indexes", uid, "documents", "fetch"], "POST") => FetchDocuments(s(uid)),
        (["indexes", uid, "documents", "delete-batch"], "POST") => DeleteBatch(s(uid)),
        (["indexes", uid, "documents", "delete"], "POST") => DeleteByFilter(s(uid)),
        (["indexes", uid, "documents", id], "GET") => GetDocument(s(uid), s(id)),
        (["indexes", uid, "documents", id], "DELETE") => DeleteDocument(s(uid), s(id)),
        (["keys"], "GET") => ListKeys,
        (["keys"], "POST") => CreateKey,
        (["keys", key], "GET") => GetKey(s(key)),
        (["keys", key], "DELETE") => DeleteKey(s(key)),
        (
            ["health"]
            | ["version"]
            | ["tasks"]
            | ["tasks", _]
            | ["indexes"]
            | ["indexes", _]
            | ["indexes", _, "stats" | "search" | "settings" | "documents"]
            | ["indexes", _, "documents", _]
            | ["keys"]
            | ["keys", _],
            _,
        ) => return Err(Reject::Plain(StatusCode::METHOD_NOT_ALLOWED)),
        _ => return Err(Reject::Plain(StatusCode::NOT_FOUND)),
    };
    Ok(found)
}

/// The master key may do anything; an API key what its actions allow on
/// its indexes (the index of `POST /indexes` is the body's `uid`).
fn authorize(shared: &Shared, headers: &HeaderMap, endpoint: &Endpoint, body: &[u8]) -> Result<(), ApiError> {
    let Some(master) = &shared.master_key else { return Ok(()) };
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(ApiError::new(
            "missing_authorization_header",
            "The Authorization header is missing. It must use the bearer authorization method.",
        ));
    };
    let invalid = || ApiError::new("invalid_api_key", "The provided API key is invalid.");
    let Some(("Bearer", token)) = value.to_str().unwrap_or_default().split_once(' ') else { return Err(invalid()) };
    if token == master {
        return Ok(());
    }
    let (action, index) = endpoint.needs();
    let created: Option<String> = match endpoint {
        Endpoint::CreateIndex => serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|b| b.get("uid").and_then(Value::as_str).map(str::to_string)),
        _ => None,
    };
    let index = index.or(created.as_deref());
    let keys = shared.keys();
    match keys.iter().find(|k| k.key_is(token)) {
        Some(key) if key.allows(action, index) => Ok(()),
        _ => Err(invalid()),
    }
}

fn dispatch(shared: &Shared, method: &str, path: &str, query: &str, headers: &HeaderMap, body: &[u8]) -> Reply {
    let trimmed = path.trim_end_matches('/');
    let decoded: Vec<String> = trimmed.split('/').skip(1).map(|s| percent_decode(s, false)).collect();
    let segments: Vec<&str> = decoded.iter().map(String::as_str).collect();
    let endpoint = resolve(method, &segments)?;
    if !matches!(endpoint, Endpoint::Health) {
        authorize(shared, headers, &endpoint, body)?;
    }
    let ctx = Ctx { shared, query, headers, body };
    ctx.run(endpoint)
}

struct Ctx<'a> {
    shared: &'a Shared,
    query: &'a str,
    headers: &'a HeaderMap,
    body: &'a [u8],
}

fn ok(value: Value) -> Reply {
    Ok((StatusCode::OK, value))
}

impl Ctx<'_> {
    fn run(&self, endpoint: Endpoint) -> Reply {
        use Endpoint::*;
        match endpoint {
            Health => {
                query_params(self.query, &[])?;
                ok(json!({"status": "available"}))
            }
            Version => {
                query_params(self.query, &[])?;
                ok(json!({
                    "commitSha": "b5bc8ab4bd0b5a5d0cc2e0b5f7b4bb2c51d9c2cd",
                    "commitDate": "2024-11-04T11:01:10.000000000Z",
                    "pkgVersion": PKG_VERSION,
                }))
            }
            ListTasks => self.list_tasks(),
            GetTask(id) => self.get_task(&id),
            ListIndexes => self.list_indexes(),
            CreateIndex => self.create_index(),
            ListKeys => super::keys::list(self.shared, self.query),
            CreateKey => {
                query_params(self.query, &[])?;
                super::keys::create(self.shared, &json_body(self.headers, self.body)?)
            }
            GetKey(key) => {
                query_params(self.query, &[])?;
                super::keys::get(self.shared, &key)
            }
            DeleteKey(key) => {
                query_params(self.query, &[])?;
                super::keys::delete(self.shared, &key)
            }
            GetIndex(uid) => {
                query_params(self.query, &[])?;
                check_index_uid(&uid)?;
                let state = self.shared.lock();
                let index = state.indexes.get(&uid).ok_or_else(|| index_not_found(&uid))?;
                ok(index.view())
            }
            UpdateIndex(uid) => self.update_index(&uid),
            DeleteIndex(uid) => {
                query_params(self.query, &[])?;
                check_index_uid(&uid)?;
                Ok(self.enqueue(&uid, Op::DeleteIndex, json!({"deletedDocuments": null})))
            }
            Stats(uid) => self.stats(&uid),
            Search(uid, post) => self.search(&uid, post),
            GetSettings(uid) => {
                query_params(self.query, &[])?;
                check_index_uid(&uid)?;
                let state = self.shared.lock();
                let index = state.indexes.get(&uid).ok_or_else(|| index_not_found(&uid))?;
                ok(Value::Object(index.settings.clone()))
            }
            UpdateSettings(uid) => {
                query_params(self.query, &[])?;
                let body = json_body(self.headers, self.body)?;
                let patch = settings::validate_patch(&body)?;
                check_index_uid(&uid)?;
                Ok(self.enqueue(&uid, Op::Settings(patch.clone()), Value::Object(patch)))
            }
            ResetSettings(uid) => {
                query_params(self.query, &[])?;
                check_index_uid(&uid)?;
                let patch = settings::reset_all();
                Ok(self.enqueue(&uid, Op::Settings(patch.clone()), Value::Object(patch)))
            }
            GetSetting(uid, spec) => {
                query_params(self.query, &[])?;
                check_index_uid(&uid)?;
                let state = self.shared.lock();
                let index = state.indexes.get(&uid).ok_or_else(|| index_not_found(&uid))?;
                ok(index.settings.get(spec.key).cloned().unwrap_or(Value::Null))
            }
            UpdateSetting(uid, spec) => {
                query_params(self.query, &[])?;
                let body = json_body(self.headers, self.body)?;
                settings::validate_one(spec.key, &body, "")?;
                check_index_uid(&uid)?;
                let mut patch = Map::new();
                patch.insert(spec.key.to_string(), body);
                Ok(self.enqueue(&uid, Op::Settings(patch.clone()), Value::Object(patch)))
            }
            ResetSetting(uid, spec) => {
                query_params(self.query, &[])?;
                check_index_uid(&uid)?;
                let mut patch = Map::new();
                patch.insert(spec.key.to_string(), Value::Null);
                Ok(self.enqueue(&uid, Op::Settings(patch.clone()), Value::Object(patch)))
            }
            GetDocuments(uid) => self.get_documents(&uid),
            FetchDocuments(uid) => self.fetch_documents(&uid),
            AddDocuments(uid, merge) => self.add_documents(&uid, merge),
            ClearDocuments(uid) => {
                query_params(self.query, &[])?;
                check_index_uid(&uid)?;
                Ok(self.enqueue(&uid, Op::ClearDocuments, json!({"deletedDocuments": null})))
            }
            DeleteBatch(uid) => self.delete_batch(&uid),
            DeleteByFilter(uid) => self.delete_by_filter(&uid),
            GetDocument(uid, id) => self.get_document(&uid, &id),
            DeleteDocument(uid, id) => {
                query_params(self.query, &[])?;
                check_index_uid(&uid)?;
                let details = json!({"providedIds": 1, "deletedDocuments": null, "originalFilter": null});
                Ok(self.enqueue(&uid, Op::DeleteDocuments(vec![id]), details))
            }
        }
    }

    /// Registers a task and answers with its summarized view (202).
    fn enqueue(&self, index_uid: &str, op: Op, details: Value) -> (StatusCode, Value) {
        let mut state = self.shared.lock();
        let uid = u32::try_from(state.tasks.len()).unwrap_or(u32::MAX);
        let details = match details {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        let task = Task::new(uid, index_uid, op, details);
        let summary = task.summary();
        state.tasks.push(task);
        drop(state);
        self.shared.wake.notify_one();
        (StatusCode::ACCEPTED, summary)
    }

    fn get_task(&self, id: &str) -> Reply {
        query_params(self.query, &[])?;
        let uid: u32 = id.parse().map_err(|_| {
            ApiError::new(
                "invalid_task_uids",
                format!("Invalid value in parameter `taskUid`: could not parse `{id}` as a positive integer"),
            )
        })?;
        let mut state = self.shared.lock();
        let task = state
            .tasks
            .get_mut(uid as usize)
            .ok_or_else(|| ApiError::new("task_not_found", format!("Task `{uid}` not found.")))?;
        task.observed = true;
        ok(task.view())
    }

    fn list_tasks(&self) -> Reply {
        const ALLOWED: &[&str] = &[
            "limit",
            "from",
            "reverse",
            "uids",
            "batchUids",
            "indexUids",
            "statuses",
            "types",
            "canceledBy",
            "beforeEnqueuedAt",
            "afterEnqueuedAt",
            "beforeStartedAt",
            "afterStartedAt",
            "beforeFinishedAt",
            "afterFinishedAt",
        ];
        let params = query_params(self.query, ALLOWED)?;
        let limit = param_usize(&params, "limit", "invalid_task_limit")?.unwrap_or(20);
        let from = param_usize(&params, "from", "invalid_task_from")?;
        let reverse = param_bool(&params, "reverse", "invalid_task_reverse")?.unwrap_or(false);
        let list = |name: &str| -> Option<Vec<String>> {
            params.get(name).filter(|v| v.as_str() != "*").map(|v| v.split(',').map(|s| s.trim().to_string()).collect())
        };
        let (uids, index_uids, statuses, types) = (list("uids"), list("indexUids"), list("statuses"), list("types"));
        let mut state = self.shared.lock();
        let mut matching: Vec<usize> = (0..state.tasks.len())
            .filter(|&i| {
                let t = &state.tasks[i];
                uids.as_ref().is_none_or(|u| u.contains(&t.uid.to_string()))
                    && index_uids.as_ref().is_none_or(|u| t.index_uid.as_ref().is_some_and(|x| u.contains(x)))
                    && statuses.as_ref().is_none_or(|s| s.iter().any(|x| x == t.status.as_str()))
                    && types.as_ref().is_none_or(|s| s.iter().any(|x| x == t.kind))
            })
            .collect();
        let total = matching.len();
        if !reverse {
            matching.reverse();
        }
        let from_ok = |i: &usize| {
            from.is_none_or(
                |f| if reverse { state.tasks[*i].uid as usize >= f } else { state.tasks[*i].uid as usize <= f },
            )
        };
        let page: Vec<usize> = matching.iter().copied().filter(from_ok).take(limit.saturating_add(1)).collect();
        let next = page.get(limit).map(|&i| state.tasks[i].uid);
        let shown: Vec<usize> = page.into_iter().take(limit).collect();
        let results: Vec<Value> = shown
            .iter()
            .map(|&i| {
                state.tasks[i].observed = true;
                state.tasks[i].view()
            })
            .collect();
        let first = shown.first().map(|&i| state.tasks[i].uid);
        ok(json!({"results": results, "total": total, "limit": limit, "from": first, "next": next}))
    }

    fn list_indexes(&self) -> Reply {
        let params = query_params(self.query, &["offset", "limit"])?;
        let offset = param_usize(&params, "offset", "invalid_index_offset")?.unwrap_or(0);
        let limit = param_usize(&params, "limit", "invalid_index_limit")?.unwrap_or(20);
        let state = self.shared.lock();
        let results: Vec<Value> = state.indexes.values().skip(offset).take(limit).map(IndexData::view).collect();
        ok(json!({"results": results, "offset": offset, "limit": limit, "total": state.indexes.len()}))
    }

    fn create_index(&self) -> Reply {
        query_params(self.query, &[])?;
        let body = json_body(self.headers, self.body)?;
        let object = as_object(&body, "bad_request")?;
        check_fields(object, &["uid", "primaryKey"])?;
        let uid = match object.get("uid") {
            None => return Err(ApiError::new("missing_index_uid", "Missing field `uid`").into()),
            Some(Value::String(uid)) => uid.clone(),
            Some(other) => return Err(type_error("invalid_index_uid", ".uid", "a string", other).into()),
        };
        check_index_uid(&uid)?;
        let primary_key = primary_key_field(object)?;
        let details = json!({"primaryKey": primary_key});
        Ok(self.enqueue(&uid, Op::CreateIndex(primary_key), details))
    }

    fn update_index(&self, uid: &str) -> Reply {
        query_params(self.query, &[])?;
        let body = json_body(self.headers, self.body)?;
        let object = as_object(&body, "bad_request")?;
        check_fields(object, &["primaryKey"])?;
        check_index_uid(uid)?;
        let primary_key = primary_key_field(object)?;
        let details = json!({"primaryKey": primary_key});
        Ok(self.enqueue(uid, Op::UpdateIndex(primary_key), details))
    }

    fn stats(&self, uid: &str) -> Reply {
        query_params(self.query, &[])?;
        check_index_uid(uid)?;
        let state = self.shared.lock();
        let index = state.indexes.get(uid).ok_or_else(|| index_not_found(uid))?;
        let mut distribution = Map::new();
        for field in &index.fields {
            let count = index.docs.values().filter(|d| d.contains_key(field)).count();
            distribution.insert(field.clone(), json!(count));
        }
        let indexing = state.tasks.iter().any(|t| t.index_uid.as_deref() == Some(uid) && !t.status.is_final());
        ok(json!({
            "numberOfDocuments": index.docs.len(),
            "isIndexing": indexing,
            "fieldDistribution": distribution,
        }))
    }

    fn search(&self, uid: &str, post: bool) -> Reply {
        let body = if post {
            query_params(self.query, &[])?;
            json_body(self.headers, self.body)?
        } else {
            search::body_from_query(self.query)?
        };
        let params = search::parse_params(&body)?;
        check_index_uid(uid)?;
        let state = self.shared.lock();
        let index = state.indexes.get(uid).ok_or_else(|| index_not_found(uid))?;
        ok(search::run(index, &params)?)
    }

    fn add_documents(&self, uid: &str, merge: bool) -> Reply {
        let params = query_params(self.query, &["primaryKey", "csvDelimiter"])?;
        const ACCEPTED: &[&str] = &["application/json", "application/x-ndjson", "text/csv"];
        let ct = content_type(self.headers).ok_or_else(|| missing_content_type(ACCEPTED))?;
        let kind = essence(&ct);
        if params.contains_key("csvDelimiter") && kind != "text/csv" {
            return Err(ApiError::new(
                "invalid_content_type",
                format!(
                    "The Content-Type `{ct}` does not support the use of a csv delimiter. The csv delimiter can only be used with the Content-Type `text/csv`."
                ),
            )
            .into());
        }
        let docs = match kind.as_str() {
            "application/json" => parse_json_documents(self.body)?,
            "application/x-ndjson" => parse_ndjson_documents(self.body)?,
            // CSV is part of the API but not of this double.
            _ => return Err(invalid_content_type(&ct, ACCEPTED).into()),
        };
        check_index_uid(uid)?;
        let details = json!({"receivedDocuments": docs.len(), "indexedDocuments": null});
        let primary_key = params.get("primaryKey").cloned();
        Ok(self.enqueue(uid, Op::AddDocuments { docs, primary_key, merge }, details))
    }

    fn delete_batch(&self, uid: &str) -> Reply {
        query_params(self.query, &[])?;
        let body = json_body(self.headers, self.body)?;
        let Value::Array(items) = &body else {
            return Err(type_error("bad_request", "", "an array", &body).into());
        };
        let ids: Vec<String> = items
            .iter()
            .map(|v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect();
        check_index_uid(uid)?;
        let details = json!({"providedIds": ids.len(), "deletedDocuments": null, "originalFilter": null});
        Ok(self.enqueue(uid, Op::DeleteDocuments(ids), details))
    }

    fn delete_by_filter(&self, uid: &str) -> Reply {
        query_params(self.query, &[])?;
        let body = json_body(self.headers, self.body)?;
        let object = as_object(&body, "bad_request")?;
        check_fields(object, &["filter"])?;
        let filter = object
            .get("filter")
            .ok_or_else(|| ApiError::new("missing_document_filter", "Missing field `filter`"))?
            .clone();
        let parsed = filter::from_json(&filter).map_err(|m| ApiError::new("invalid_document_filter", m))?;
        if parsed.is_none() {
            return Err(ApiError::new("invalid_document_filter", "Sending an empty filter is forbidden.").into());
        }
        check_index_uid(uid)?;
        let details = json!({"providedIds": 0, "deletedDocuments": null, "originalFilter": filter.to_string()});
        Ok(self.enqueue(uid, Op::DeleteByFilter(filter), details))
    }

    fn get_document(&self, uid: &str, id: &str) -> Reply {
        let params = query_params(self.query, &["fields", "retrieveVectors"])?;
        param_bool(&params, "retrieveVectors", "invalid_document_retrieve_vectors")?;
        check_index_uid(uid)?;
        let fields = params.get("fields").map(|f| split_list(f));
        let state = self.shared.lock();
        let index = state.indexes.get(uid).ok_or_else(|| index_not_found(uid))?;
        let doc = index
            .docs
            .get(id)
            .ok_or_else(|| ApiError::new("document_not_found", format!("Document `{id}` not found.")))?;
        ok(Value::Object(select_fields(doc, fields.as_deref())))
    }

    fn get_documents(&self, uid: &str) -> Reply {
        let params = query_params(self.query, &["offset", "limit", "fields", "retrieveVectors", "filter"])?;
        let offset = param_usize(&params, "offset", "invalid_document_offset")?.unwrap_or(0);
        let limit = param_usize(&params, "limit", "invalid_document_limit")?.unwrap_or(20);
        param_bool(&params, "retrieveVectors", "invalid_document_retrieve_vectors")?;
        let fields = params.get("fields").map(|f| split_list(f));
        let filter = params.get("filter").map(|f| Value::String(f.clone()));
        check_index_uid(uid)?;
        self.list_documents(uid, offset, limit, fields.as_deref(), filter.as_ref())
    }

    fn fetch_documents(&self, uid: &str) -> Reply {
        query_params(self.query, &[])?;
        let body = json_body(self.headers, self.body)?;
        let object = as_object(&body, "bad_request")?;
        check_fields(object, &["offset", "limit", "fields", "filter", "retrieveVectors"])?;
        let number = |key: &str, code: &str, default: usize| -> Result<usize, ApiError> {
            match object.get(key) {
                None => Ok(default),
                Some(Value::Number(n)) if n.is_u64() => {
                    Ok(usize::try_from(n.as_u64().unwrap_or_default()).unwrap_or(usize::MAX))
                }
                Some(other) => Err(type_error(code, &format!(".{key}"), "a positive integer", other)),
            }
        };
        let offset = number("offset", "invalid_document_offset", 0)?;
        let limit = number("limit", "invalid_document_limit", 20)?;
        let fields = match object.get("fields") {
            None | Some(Value::Null) => None,
            Some(Value::Array(items)) if items.iter().all(Value::is_string) => {
                Some(items.iter().filter_map(Value::as_str).map(str::to_string).collect::<Vec<_>>())
            }
            Some(other) => return Err(type_error("invalid_document_fields", ".fields", "an array", other).into()),
        };
        if let Some(v) = object.get("retrieveVectors")
            && !v.is_boolean()
        {
            return Err(type_error("invalid_document_retrieve_vectors", ".retrieveVectors", "a boolean", v).into());
        }
        check_index_uid(uid)?;
        self.list_documents(uid, offset, limit, fields.as_deref(), object.get("filter").filter(|f| !f.is_null()))
    }

    fn list_documents(
        &self,
        uid: &str,
        offset: usize,
        limit: usize,
        fields: Option<&[String]>,
        filter: Option<&Value>,
    ) -> Reply {
        let expr = match filter {
            Some(f) => filter::from_json(f).map_err(|m| ApiError::new("invalid_document_filter", m))?,
            None => None,
        };
        let state = self.shared.lock();
        let index = state.indexes.get(uid).ok_or_else(|| index_not_found(uid))?;
        if let Some(expr) = &expr {
            filter::check_filterable(expr, &index.view_settings())
                .map_err(|m| ApiError::new("invalid_document_filter", format!("Index `{uid}`: {m}")))?;
        }
        let matching: Vec<&Map<String, Value>> =
            index.docs.values().filter(|d| expr.as_ref().is_none_or(|e| filter::matches(e, d))).collect();
        let results: Vec<Value> =
            matching.iter().skip(offset).take(limit).map(|d| Value::Object(select_fields(d, fields))).collect();
        ok(json!({"results": results, "offset": offset, "limit": limit, "total": matching.len()}))
    }
}

fn primary_key_field(object: &Map<String, Value>) -> Result<Option<String>, ApiError> {
    match object.get("primaryKey") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(pk)) => Ok(Some(pk.clone())),
        Some(other) => Err(type_error("invalid_index_primary_key", ".primaryKey", "a string", other)),
    }
}

/// `fields` selection of a document (`None` or `*` = everything).
fn select_fields(doc: &Map<String, Value>, fields: Option<&[String]>) -> Map<String, Value> {
    match fields {
        Some(fields) if !fields.iter().any(|f| f == "*") => {
            doc.iter().filter(|(k, _)| fields.contains(k)).map(|(k, v)| (k.clone(), v.clone())).collect()
        }
        _ => doc.clone(),
    }
}

fn malformed_documents(kind: &str, detail: impl std::fmt::Display) -> ApiError {
    ApiError::new("malformed_payload", format!("The `{kind}` payload provided is malformed. `{detail}`."))
}

/// A JSON payload: an array of objects, or a single object.
fn parse_json_documents(body: &[u8]) -> Result<Vec<Map<String, Value>>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::new("missing_payload", "A json payload is missing."));
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| malformed_documents("json", format!("Couldn't serialize document value: {e}")))?;
    let items = match value {
        Value::Array(items) => items,
        Value::Object(map) => return Ok(vec![map]),
        other => {
            return Err(malformed_documents(
                "json",
                format!("Couldn't serialize document value: invalid type: {}, expected a map", describe(&other)),
            ));
        }
    };
    items
        .into_iter()
        .map(|item| match item {
            Value::Object(map) => Ok(map),
            other => Err(malformed_documents(
                "json",
                format!("Couldn't serialize document value: invalid type: {}, expected a map", describe(&other)),
            )),
        })
        .collect()
}

fn parse_ndjson_documents(body: &[u8]) -> Result<Vec<Map<String, Value>>, ApiError> {
    let text = std::str::from_utf8(body).map_err(|e| malformed_documents("ndjson", e))?;
    if text.trim().is_empty() {
        return Err(ApiError::new("missing_payload", "A ndjson payload is missing."));
    }
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| match serde_json::from_str::<Value>(line) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(other) => Err(malformed_documents("ndjson", format!("expected a map, found {}", describe(&other)))),
            Err(e) => Err(malformed_documents("ndjson", e)),
        })
        .collect()
}
