//! API keys (`/keys`) as Meilisearch documents them: only the master key
//! manages them; each key has actions and indexes, and a request made with
//! a key may only do what its actions allow, on the indexes it names
//! (`403 invalid_api_key` otherwise). A key's value is HMAC-SHA256 of its
//! uid under the master key, so one uid always gives one key.

use std::time::SystemTime;

use axum::http::StatusCode;
use hmac::{Hmac, Mac};
use serde_json::{Map, Value, json};
use sha2::Sha256;

use super::{
    ApiError, Reply, Shared, as_object, backticked, check_fields, param_usize, query_params, rfc3339, type_error,
};

/// The actions Meilisearch v1 knows (`*` and `family.*` included).
const ACTIONS: &[&str] = &[
    "*",
    "search",
    "documents.*",
    "documents.add",
    "documents.get",
    "documents.delete",
    "indexes.*",
    "indexes.create",
    "indexes.get",
    "indexes.update",
    "indexes.delete",
    "indexes.swap",
    "tasks.*",
    "tasks.cancel",
    "tasks.delete",
    "tasks.get",
    "settings.*",
    "settings.get",
    "settings.update",
    "stats.*",
    "stats.get",
    "metrics.*",
    "metrics.get",
    "dumps.*",
    "dumps.create",
    "snapshots.*",
    "snapshots.create",
    "version",
    "keys.create",
    "keys.get",
    "keys.update",
    "keys.delete",
];

const FIELDS: &[&str] = &["description", "name", "uid", "actions", "indexes", "expiresAt"];

pub(super) struct ApiKey {
    uid: String,
    key: String,
    name: Value,
    description: Value,
    actions: Vec<String>,
    indexes: Vec<String>,
    expires_at: Value,
    created_at: SystemTime,
}

impl ApiKey {
    fn view(&self) -> Value {
        json!({
            "name": self.name,
            "description": self.description,
            "key": self.key,
            "uid": self.uid,
            "actions": self.actions,
            "indexes": self.indexes,
            "expiresAt": self.expires_at,
            "createdAt": rfc3339(self.created_at),
            "updatedAt": rfc3339(self.created_at),
        })
    }

    pub(super) fn key_is(&self, token: &str) -> bool {
        self.key == token
    }

    /// Whether this key may do `action` (on `index`, when the route has one).
    pub(super) fn allows(&self, action: &str, index: Option<&str>) -> bool {
        let family = action.split_once('.').map(|(f, _)| format!("{f}.*"));
        let acts = self.actions.iter().any(|a| a == "*" || a == action || Some(a) == family.as_ref());
        let on_index = index.is_none_or(|index| {
            self.indexes.iter().any(|pattern| match pattern.strip_suffix('*') {
                Some(prefix) => index.starts_with(prefix),
                None => pattern == index,
            })
        });
        acts && on_index
    }
}

/// The value of the key with this uid under `master`.
fn key_of(uid: &str, master: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(master.as_bytes()).expect("any key length");
    mac.update(uid.as_bytes());
    mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

/// A UUID v4 in its hyphenated form.
fn is_uuid_v4(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    let lengths = groups.iter().map(|g| g.len()).collect::<Vec<_>>();
    lengths == [8, 4, 4, 4, 12]
        && groups.iter().all(|g| g.chars().all(|c| c.is_ascii_hexdigit()))
        && groups[2].starts_with('4')
        && groups[3].starts_with(['8', '9', 'a', 'b', 'A', 'B'])
}

fn missing(field: &str, code: &str) -> ApiError {
    ApiError::new(code, format!("Missing field `{field}`"))
}

fn strings(object: &Map<String, Value>, field: &str, code: &str) -> Result<Vec<String>, ApiError> {
    let value = object.get(field).ok_or_else(|| missing(field, &format!("missing_api_key_{code}")))?;
    let code = format!("invalid_api_key_{code}");
    let items = value.as_array().ok_or_else(|| type_error(&code, field, "an array", value))?;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            item.as_str()
                .map(str::to_string)
                .ok_or_else(|| type_error(&code, &format!("{field}[{i}]"), "a string", item))
        })
        .collect()
}

fn optional_string(object: &Map<String, Value>, field: &str, code: &str) -> Result<Value, ApiError> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(Value::Null),
        Some(Value::String(s)) => Ok(Value::String(s.clone())),
        Some(other) => Err(type_error(code, field, "a string", other)),
    }
}

/// `POST /keys`.
pub(super) fn create(shared: &Shared, body: &Value) -> Reply {
    let object = as_object(body, "bad_request")?;
    check_fields(object, FIELDS)?;
    let actions = strings(object, "actions", "actions")?;
    if let Some((i, unknown)) = actions.iter().enumerate().find(|(_, a)| !ACTIONS.contains(&a.as_str())) {
        return Err(ApiError::new(
            "invalid_api_key_actions",
            format!("Unknown value `{unknown}` at `.actions[{i}]`: expected one of {}", backticked(ACTIONS)),
        )
        .into());
    }
    let indexes = strings(object, "indexes", "indexes")?;
    let expires_at = match object.get("expiresAt") {
        None => return Err(missing("expiresAt", "missing_api_key_expires_at").into()),
        Some(Value::Null) => Value::Null,
        Some(Value::String(s)) => Value::String(s.clone()),
        Some(other) => return Err(type_error("invalid_api_key_expires_at", "expiresAt", "a string", other).into()),
    };
    let name = optional_string(object, "name", "invalid_api_key_name")?;
    let description = optional_string(object, "description", "invalid_api_key_description")?;
    let uid = match object.get("uid") {
        None => {
            let n = rand::random::<u128>();
            let hex = format!("{n:032x}");
            format!("{}-{}-4{}-a{}-{}", &hex[..8], &hex[8..12], &hex[13..16], &hex[17..20], &hex[20..32])
        }
        Some(Value::String(uid)) if is_uuid_v4(uid) => uid.to_lowercase(),
        Some(other) => {
            return Err(ApiError::new(
                "invalid_api_key_uid",
                format!("Invalid value at `.uid`: invalid character: expected an optional prefix of `urn:uuid:` followed by [0-9a-fA-F-], found `{}`", other.as_str().unwrap_or_default()),
            )
            .into());
        }
    };
    let master = shared.master_key.as_deref().unwrap_or_default();
    let mut keys = shared.keys();
    if keys.iter().any(|k| k.uid == uid) {
        return Err(ApiError::new("api_key_already_exists", format!("API key `{uid}` already exists.")).into());
    }
    let key = ApiKey {
        key: key_of(&uid, master),
        uid,
        name,
        description,
        actions,
        indexes,
        expires_at,
        created_at: SystemTime::now(),
    };
    let view = key.view();
    keys.push(key);
    Ok((StatusCode::CREATED, view))
}

/// `GET /keys/{uid_or_key}`.
pub(super) fn get(shared: &Shared, uid_or_key: &str) -> Reply {
    let keys = shared.keys();
    match keys.iter().find(|k| k.uid == uid_or_key || k.key == uid_or_key) {
        Some(key) => Ok((StatusCode::OK, key.view())),
        None => Err(ApiError::new("api_key_not_found", format!("API key `{uid_or_key}` not found.")).into()),
    }
}

/// `DELETE /keys/{uid_or_key}`.
pub(super) fn delete(shared: &Shared, uid_or_key: &str) -> Reply {
    let mut keys = shared.keys();
    let before = keys.len();
    keys.retain(|k| k.uid != uid_or_key && k.key != uid_or_key);
    if keys.len() == before {
        return Err(ApiError::new("api_key_not_found", format!("API key `{uid_or_key}` not found.")).into());
    }
    Ok((StatusCode::NO_CONTENT, Value::Null))
}

/// `GET /keys?offset=&limit=`.
pub(super) fn list(shared: &Shared, query: &str) -> Reply {
    let params = query_params(query, &["offset", "limit"])?;
    let offset = param_usize(&params, "offset", "invalid_api_key_offset")?.unwrap_or(0);
    let limit = param_usize(&params, "limit", "invalid_api_key_limit")?.unwrap_or(20);
    let keys = shared.keys();
    let results: Vec<Value> = keys.iter().rev().skip(offset).take(limit).map(ApiKey::view).collect();
    Ok((StatusCode::OK, json!({"results": results, "offset": offset, "limit": limit, "total": keys.len()})))
}
