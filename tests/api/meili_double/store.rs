//! Indexes, documents and the task queue: tasks are registered by the HTTP
//! handlers and applied one at a time, in uid order, by a background task.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Map, Value, json};

use super::settings::{self, View};
use super::{ApiError, MIN_QUEUE_TIME, Shared, elapsed, filter, index_not_found, iso_duration, rfc3339};

#[derive(Default)]
pub(super) struct State {
    pub indexes: BTreeMap<String, IndexData>,
    /// Task `uid` is at position `uid`.
    pub tasks: Vec<Task>,
    pub fail_next: Option<String>,
    pub next_batch: u32,
    pub requests: Vec<String>,
    pub rejected: Vec<String>,
}

pub(super) struct IndexData {
    pub uid: String,
    pub primary_key: Option<String>,
    pub created_at: SystemTime,
    pub updated_at: SystemTime,
    /// Full settings, defaults included, as `GET /settings` shows them.
    pub settings: Map<String, Value>,
    /// By document id (the primary key value as a string).
    pub docs: BTreeMap<String, Map<String, Value>>,
    /// Field names in first-seen order (the attribute order of `searchableAttributes: ["*"]`).
    pub fields: Vec<String>,
}

impl IndexData {
    fn new(uid: &str, primary_key: Option<String>) -> IndexData {
        let now = SystemTime::now();
        IndexData {
            uid: uid.to_string(),
            primary_key,
            created_at: now,
            updated_at: now,
            settings: settings::defaults(),
            docs: BTreeMap::new(),
            fields: Vec::new(),
        }
    }

    pub fn view(&self) -> Value {
        json!({
            "uid": self.uid,
            "createdAt": rfc3339(self.created_at),
            "updatedAt": rfc3339(self.updated_at),
            "primaryKey": self.primary_key,
        })
    }

    pub fn view_settings(&self) -> View {
        View::new(&self.settings)
    }

    fn note_fields(&mut self, doc: &Map<String, Value>) {
        for key in doc.keys() {
            if !self.fields.contains(key) {
                self.fields.push(key.clone());
            }
        }
    }
}

/// What a task does once processed.
pub(super) enum Op {
    CreateIndex(Option<String>),
    UpdateIndex(Option<String>),
    DeleteIndex,
    AddDocuments { docs: Vec<Map<String, Value>>, primary_key: Option<String>, merge: bool },
    DeleteDocuments(Vec<String>),
    DeleteByFilter(Value),
    ClearDocuments,
    Settings(Map<String, Value>),
}

impl Op {
    fn kind(&self) -> &'static str {
        match self {
            Op::CreateIndex(_) => "indexCreation",
            Op::UpdateIndex(_) => "indexUpdate",
            Op::DeleteIndex => "indexDeletion",
            Op::AddDocuments { .. } => "documentAdditionOrUpdate",
            Op::DeleteDocuments(_) | Op::DeleteByFilter(_) | Op::ClearDocuments => "documentDeletion",
            Op::Settings(_) => "settingsUpdate",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Status {
    Enqueued,
    Processing,
    Succeeded,
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Enqueued => "enqueued",
            Status::Processing => "processing",
            Status::Succeeded => "succeeded",
            Status::Failed => "failed",
        }
    }

    pub fn is_final(self) -> bool {
        matches!(self, Status::Succeeded | Status::Failed)
    }
}

pub(super) struct Task {
    pub uid: u32,
    pub batch_uid: Option<u32>,
    pub index_uid: Option<String>,
    pub status: Status,
    pub kind: &'static str,
    op: Option<Op>,
    details: Map<String, Value>,
    error: Option<Value>,
    enqueued_at: SystemTime,
    started_at: Option<SystemTime>,
    finished_at: Option<SystemTime>,
    enqueued: Instant,
    /// Someone saw this task unfinished: it may be processed right away.
    pub observed: bool,
}

impl Task {
    pub fn new(uid: u32, index_uid: &str, op: Op, details: Map<String, Value>) -> Task {
        Task {
            uid,
            batch_uid: None,
            index_uid: Some(index_uid.to_string()),
            status: Status::Enqueued,
            kind: op.kind(),
            op: Some(op),
            details,
            error: None,
            enqueued_at: SystemTime::now(),
            started_at: None,
            finished_at: None,
            enqueued: Instant::now(),
            observed: false,
        }
    }

    /// The 202 answer: a summarized task.
    pub fn summary(&self) -> Value {
        json!({
            "taskUid": self.uid,
            "indexUid": self.index_uid,
            "status": self.status.as_str(),
            "type": self.kind,
            "enqueuedAt": rfc3339(self.enqueued_at),
        })
    }

    /// The full task object of `GET /tasks/{uid}`.
    pub fn view(&self) -> Value {
        let duration = match (self.started_at, self.finished_at) {
            (Some(start), Some(end)) => Value::String(iso_duration(end.duration_since(start).unwrap_or_default())),
            _ => Value::Null,
        };
        json!({
            "uid": self.uid,
            "batchUid": self.batch_uid,
            "indexUid": self.index_uid,
            "status": self.status.as_str(),
            "type": self.kind,
            "canceledBy": null,
            "details": self.details,
            "error": self.error,
            "duration": duration,
            "enqueuedAt": rfc3339(self.enqueued_at),
            "startedAt": self.started_at.map(rfc3339),
            "finishedAt": self.finished_at.map(rfc3339),
        })
    }
}

/// The task worker: processes enqueued tasks one by one, in uid order.
pub(super) async fn run_tasks(shared: Arc<Shared>) {
    loop {
        let wake = shared.wake.notified();
        let next = {
            let state = shared.lock();
            state
                .tasks
                .iter()
                .position(|t| t.status == Status::Enqueued)
                .map(|i| (i, state.tasks[i].observed || elapsed(state.tasks[i].enqueued) >= MIN_QUEUE_TIME))
        };
        match next {
            None => wake.await,
            Some((_, false)) => tokio::time::sleep(Duration::from_millis(1)).await,
            Some((i, true)) => {
                {
                    let mut state = shared.lock();
                    let batch = state.next_batch;
                    state.next_batch += 1;
                    let task = &mut state.tasks[i];
                    task.status = Status::Processing;
                    task.started_at = Some(SystemTime::now());
                    task.batch_uid = Some(batch);
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
                finish(&mut shared.lock(), i);
            }
        }
    }
}

/// Applies task `i` to the state (all or nothing) and records the outcome.
fn finish(state: &mut State, i: usize) {
    let op = state.tasks[i].op.take();
    let index_uid = state.tasks[i].index_uid.clone().unwrap_or_default();
    let outcome = match (state.fail_next.take(), op) {
        (Some(code), _) => Err(ApiError::new(&code, format!("Simulated failure of task {}.", state.tasks[i].uid))),
        (None, Some(op)) => apply(state, &index_uid, op),
        (None, None) => Err(ApiError::new("internal", "The task has no operation.")),
    };
    let task = &mut state.tasks[i];
    match outcome {
        Ok(updates) => {
            task.details.extend(updates);
            task.status = Status::Succeeded;
        }
        Err(error) => {
            for (key, value) in task.details.iter_mut() {
                if matches!(key.as_str(), "indexedDocuments" | "deletedDocuments") {
                    *value = json!(0);
                }
            }
            task.error = Some(error.body());
            task.status = Status::Failed;
        }
    }
    task.finished_at = Some(SystemTime::now());
}

type Details = Map<String, Value>;

fn details(pairs: &[(&str, Value)]) -> Details {
    pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
}

fn apply(state: &mut State, uid: &str, op: Op) -> Result<Details, ApiError> {
    match op {
        Op::CreateIndex(primary_key) => {
            if state.indexes.contains_key(uid) {
                return Err(ApiError::new("index_already_exists", format!("Index `{uid}` already exists.")));
            }
            state.indexes.insert(uid.to_string(), IndexData::new(uid, primary_key));
            Ok(Details::new())
        }
        Op::UpdateIndex(primary_key) => {
            let index = state.indexes.get_mut(uid).ok_or_else(|| index_not_found(uid))?;
            if let Some(pk) = primary_key {
                if !index.docs.is_empty() && index.primary_key.as_ref() != Some(&pk) {
                    return Err(pk_already_exists(uid, index.primary_key.as_deref().unwrap_or_default()));
                }
                index.primary_key = Some(pk);
            }
            index.updated_at = SystemTime::now();
            Ok(Details::new())
        }
        Op::DeleteIndex => {
            let index = state.indexes.remove(uid).ok_or_else(|| index_not_found(uid))?;
            Ok(details(&[("deletedDocuments", json!(index.docs.len()))]))
        }
        Op::AddDocuments { docs, primary_key, merge } => add_documents(state, uid, docs, primary_key, merge),
        Op::DeleteDocuments(ids) => {
            let index = state.indexes.get_mut(uid).ok_or_else(|| index_not_found(uid))?;
            let deleted = ids.iter().filter(|id| index.docs.remove(id.as_str()).is_some()).count();
            index.updated_at = SystemTime::now();
            Ok(details(&[("deletedDocuments", json!(deleted))]))
        }
        Op::DeleteByFilter(filter_value) => {
            let index = state.indexes.get_mut(uid).ok_or_else(|| index_not_found(uid))?;
            let expr = filter::from_json(&filter_value)
                .map_err(|m| ApiError::new("invalid_document_filter", m))?
                .ok_or_else(|| ApiError::new("invalid_document_filter", "Sending an empty filter is forbidden."))?;
            filter::check_filterable(&expr, &index.view_settings())
                .map_err(|m| ApiError::new("invalid_document_filter", format!("Index `{uid}`: {m}")))?;
            let before = index.docs.len();
            index.docs.retain(|_, doc| !filter::matches(&expr, doc));
            index.updated_at = SystemTime::now();
            Ok(details(&[("deletedDocuments", json!(before - index.docs.len()))]))
        }
        Op::ClearDocuments => {
            let index = state.indexes.get_mut(uid).ok_or_else(|| index_not_found(uid))?;
            let deleted = index.docs.len();
            index.docs.clear();
            index.updated_at = SystemTime::now();
            Ok(details(&[("deletedDocuments", json!(deleted))]))
        }
        Op::Settings(patch) => {
            let mut updated = match state.indexes.get(uid) {
                Some(index) => index.settings.clone(),
                None => settings::defaults(),
            };
            settings::apply(&mut updated, &patch)?;
            let index = state.indexes.entry(uid.to_string()).or_insert_with(|| IndexData::new(uid, None));
            index.settings = updated;
            index.updated_at = SystemTime::now();
            Ok(Details::new())
        }
    }
}

fn pk_already_exists(uid: &str, existing: &str) -> ApiError {
    ApiError::new(
        "index_primary_key_already_exists",
        format!("Index `{uid}`: Index already has a primary key: `{existing}`."),
    )
}

/// The document id: an integer, or a string of `[A-Za-z0-9_-]` of at most 511 bytes.
fn document_id(value: &Value) -> Option<String> {
    match value {
        Value::String(s)
            if !s.is_empty()
                && s.len() <= 511
                && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') =>
        {
            Some(s.clone())
        }
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        _ => None,
    }
}

/// The documented primary key inference: the only field whose name ends in `id`.
fn infer_primary_key(doc: &Map<String, Value>) -> Result<String, ApiError> {
    let candidates: Vec<&String> = doc.keys().filter(|k| k.to_lowercase().ends_with("id")).collect();
    match candidates.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(ApiError::new(
            "index_primary_key_no_candidate_found",
            "The primary key inference failed as the engine did not find any field ending with `id` in its name. Please specify the primary key manually using the `primaryKey` query parameter.",
        )),
        many => Err(ApiError::new(
            "index_primary_key_multiple_candidates_found",
            format!(
                "The primary key inference failed as the engine found {} fields ending with `id` in their names: '{}' and '{}'. Please specify the primary key manually using the `primaryKey` query parameter.",
                many.len(),
                many[0],
                many[1]
            ),
        )),
    }
}

fn geo_number(value: Option<&Value>) -> Option<f64> {
    match value? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
    .filter(|f| f.is_finite())
}

fn check_geo(id: &str, doc: &Map<String, Value>) -> Result<(), ApiError> {
    let invalid = |message: String| ApiError::new("invalid_document_geo_field", message);
    match doc.get("_geo") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::Object(geo)) => {
            if let Some(extra) = geo.keys().find(|k| k.as_str() != "lat" && k.as_str() != "lng") {
                return Err(invalid(format!(
                    "The `_geo` field in the document with the id: `{id}` contains the following unexpected fields: `{extra}`."
                )));
            }
            for (key, name) in [("lat", "latitude"), ("lng", "longitude")] {
                match geo.get(key) {
                    None => {
                        return Err(invalid(format!(
                            "Could not find {name} in the document with the id: `{id}`. Was expecting a `_geo.{key}` field."
                        )));
                    }
                    Some(v) if geo_number(Some(v)).is_none() => {
                        return Err(invalid(format!(
                            "Could not parse {name} in the document with the id: `{id}`. Was expecting a finite number but instead got `{v}`."
                        )));
                    }
                    Some(_) => {}
                }
            }
            Ok(())
        }
        Some(other) => Err(invalid(format!(
            "The `_geo` field in the document with the id: `{id}` is not an object. Was expecting an object with the `_geo.lat` and `_geo.lng` fields but instead got `{other}`."
        ))),
    }
}

fn add_documents(
    state: &mut State,
    uid: &str,
    docs: Vec<Map<String, Value>>,
    query_pk: Option<String>,
    merge: bool,
) -> Result<Details, ApiError> {
    let existing_pk = state.indexes.get(uid).and_then(|i| i.primary_key.clone());
    let primary_key = match (existing_pk, query_pk) {
        (Some(existing), Some(asked)) if existing != asked => return Err(pk_already_exists(uid, &existing)),
        (Some(existing), _) => Some(existing),
        (None, Some(asked)) => Some(asked),
        (None, None) => docs.first().map(infer_primary_key).transpose()?,
    };
    // Validate the whole batch before touching anything.
    let mut keyed = Vec::with_capacity(docs.len());
    if let Some(pk) = &primary_key {
        for doc in docs {
            let id = match doc.get(pk) {
                None => {
                    return Err(ApiError::new(
                        "missing_document_id",
                        format!("Document doesn't have a `{pk}` attribute: `{}`.", Value::Object(doc.clone())),
                    ));
                }
                Some(value) => document_id(value).ok_or_else(|| {
                    ApiError::new(
                        "invalid_document_id",
                        format!(
                            "Document identifier `{value}` is invalid. A document identifier can be of type integer or string, only composed of alphanumeric characters (a-z A-Z 0-9), hyphens (-) and underscores (_), and can not be more than 511 bytes."
                        ),
                    )
                })?,
            };
            check_geo(&id, &doc)?;
            keyed.push((id, doc));
        }
    }
    let count = keyed.len();
    let index = state.indexes.entry(uid.to_string()).or_insert_with(|| IndexData::new(uid, None));
    if index.primary_key.is_none() {
        index.primary_key = primary_key;
    }
    for (id, doc) in keyed {
        index.note_fields(&doc);
        match index.docs.get_mut(&id) {
            Some(stored) if merge => stored.extend(doc),
            _ => {
                index.docs.insert(id, doc);
            }
        }
    }
    index.updated_at = SystemTime::now();
    Ok(details(&[("indexedDocuments", json!(count))]))
}
