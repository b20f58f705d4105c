//! REST routes, one module per resource, merged here. Every error is a JSON
//! body `{error: {code, message}}` with the status the code documents.
//!
//! Owns: the REST router and its handlers. May use: state (and through it
//! every service), the services' types, domain, error, store, media, qr,
//! realtime (its delivery counters for `/metrics`). Must not import: app.
//! No service imports this module.

mod accounts;
mod analytics;
mod audio;
mod auth;
mod client_ip;
mod health;
mod json;
mod openapi;
mod photos;
mod providers;
mod rooms;
mod search;
mod tracks;
mod venues;
mod web;

use std::sync::Arc;

use aide::axum::ApiRouter;
use aide::axum::routing::get;
use aide::openapi::OpenApi;
use axum::extract::Extension;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::HeaderValue;
use axum::http::header::{CONNECTION, CONTENT_LENGTH, TRANSFER_ENCODING};
use axum::middleware::Next;
use axum::response::Response;
use axum::{Json, Router};
use serde_json::Value;

pub use json::ApiJson;
pub use photos::{Upload, read_upload};

use crate::error::AppError;
use crate::state::AppState;

/// Largest request body accepted by the JSON routes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

pub fn router(state: &AppState) -> Router<AppState> {
    let (api, spec) = rest();
    api.merge(web::router(state))
        .layer(Extension(Arc::new(spec)))
        .fallback(async || AppError::NotFound)
        .method_not_allowed_fallback(async || AppError::MethodNotAllowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(close_after_refusal))
}

/// The REST routes and their OpenAPI document (`openapi`).
fn rest() -> (Router<AppState>, Value) {
    let mut spec = OpenApi::default();
    let router = ApiRouter::new()
        .merge(health::router())
        .merge(rooms::router())
        .merge(tracks::router())
        .merge(audio::router())
        .merge(search::router())
        .merge(photos::router())
        .merge(accounts::router())
        .merge(providers::router())
        .merge(venues::router())
        .merge(analytics::router())
        .api_route("/api/openapi.json", get(openapi_document))
        .finish_api(&mut spec);
    openapi::finish(&mut spec);
    (router, serde_json::to_value(&spec).expect("the OpenAPI document serializes"))
}

/// `GET /api/openapi.json`: the OpenAPI 3.1 document of these routes.
async fn openapi_document(Extension(spec): Extension<Arc<Value>>) -> Json<Value> {
    Json(Value::clone(&spec))
}

/// A request refused with a body (a wrong multipart part, a bad token, too
/// large, rate limited) may leave that body unread, and hyper then closes
/// the connection. Saying so (`Connection: close`) makes a client with a
/// kept-alive connection open a new one for its next request, instead of
/// writing into a closed socket (EPIPE). Refusals are rare; the cost is one
/// new connection.
async fn close_after_refusal(request: Request, next: Next) -> Response {
    let headers = request.headers();
    let has_body =
        headers.get(CONTENT_LENGTH).is_some_and(|v| v.as_bytes() != b"0") || headers.contains_key(TRANSFER_ENCODING);
    let mut response = next.run(request).await;
    let refused = response.status().is_client_error() || response.status().is_server_error();
    if has_body && refused {
        response.headers_mut().insert(CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    /// `METHOD /path` of every route of a router, read from its `Debug`
    /// (axum lists no routes otherwise): each `RouteId(n)` has a method
    /// router with an `Allow` header and a path.
    fn routes_of(router: &str) -> BTreeSet<String> {
        let router = &router[..router.find("fallback_router").expect("a path router, then the fallback")];
        let (mut methods, mut paths) = (BTreeMap::new(), BTreeMap::new());
        for part in router.split("RouteId(").skip(1) {
            let (id, rest) = part.split_once("): ").expect("RouteId(n): …");
            if let Some(path) = rest.strip_prefix('"') {
                paths.insert(id, path.split('"').next().expect("a quoted path"));
            } else if let Some((_, allow)) = rest.split_once("allow_header: Bytes(b\"") {
                methods.insert(id, allow.split('"').next().expect("a quoted Allow header"));
            }
        }
        assert_eq!(
            methods.keys().collect::<Vec<_>>(),
            paths.keys().collect::<Vec<_>>(),
            "each route has methods and a path"
        );
        let mut routes = BTreeSet::new();
        for (id, path) in paths {
            for method in methods[id].split(',').filter(|m| *m != "HEAD") {
                routes.insert(format!("{method} {path}"));
            }
        }
        routes
    }

    #[test]
    fn the_openapi_document_describes_every_route_of_the_router_and_no_other() {
        let (router, spec) = super::rest();
        let routes = routes_of(&format!("{router:?}"));
        // The Debug format is axum's: a change there must not make this
        // test compare two empty sets.
        assert!(routes.len() > 60, "read only {} routes from the router's Debug", routes.len());
        let mut documented = BTreeSet::new();
        for (path, item) in spec["paths"].as_object().expect("paths") {
            for (method, operation) in item.as_object().expect("a path item") {
                documented.insert(format!("{} {path}", method.to_uppercase()));
                let answers = operation["responses"].as_object().expect("responses");
                let success = answers.keys().filter(|s| s.starts_with('2') || s.starts_with('3')).count();
                assert!(success > 0, "{method} {path} documents no success answer");
                assert!(answers.contains_key("400") && answers.contains_key("503"), "{method} {path}: error answers");
                let parameters = operation["parameters"].as_array().cloned().unwrap_or_default();
                for name in path.split('/').filter_map(|s| s.strip_prefix('{')?.strip_suffix('}')) {
                    let described = parameters.iter().any(|p| p["in"] == "path" && p["name"] == name);
                    assert!(described, "{method} {path}: the path parameter {name}");
                }
            }
        }
        assert_eq!(routes, documented);
        assert_eq!(spec["openapi"], "3.1.0");
    }
}
