//! The OpenAPI 3.1 document of the REST API, generated from the router by
//! aide: every `/api` route is added with `api_route`, and each handler's
//! extractors (path, query, JSON body, multipart, which token) and answer
//! type describe its operation. Served at `/api/openapi.json`; the test
//! command checks it against the router and runs schemathesis on it.
//!
//! What the types cannot say is said here, once: the error answers (one
//! per status, listing the codes that status carries, from `crate::codes`),
//! the two bearer tokens, the path parameters (all strings) and the
//! success statuses other than 200 (`Created`, `Accepted`, axum's
//! `NoContent`); and at a route, with `Describe`, what only the handler
//! knows: files, answers without a body, multipart parts, optional tokens.
//!
//! Owns: the document's shared parts (`finish`, `Describe`, `Created`,
//! `Accepted`, the error answers). May use: codes, error, the http
//! extractors. Must not import: services, state, store.

use aide::OperationInput;
use aide::generate::GenContext;
use aide::openapi::{
    self, Components, Info, MediaType, OpenApi, Operation, Parameter, ParameterData, ParameterSchemaOrContent,
    ReferenceOr, RequestBody, Response, SchemaObject, SecurityScheme, StatusCode as SpecStatus,
};
use aide::operation::OperationOutput;
use aide::transform::TransformOperation;
use axum::Json;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use indexmap::IndexMap;
use schemars::{JsonSchema, json_schema};

use super::ApiJson;
use super::auth::Bearer;
use super::client_ip::ClientIp;
use crate::codes::Code;
use crate::error::AppError;

/// The security scheme of a member (or screen) token from a join.
pub const MEMBER_TOKEN: &str = "member_token";
/// The security scheme of an account token from a log-in.
pub const ACCOUNT_TOKEN: &str = "account_token";

/// 201 with a JSON body.
pub struct Created<T>(pub T);

/// 202 with a JSON body: the work goes on in the background.
pub struct Accepted<T>(pub T);

impl<T: serde::Serialize> IntoResponse for Created<T> {
    fn into_response(self) -> axum::response::Response {
        (StatusCode::CREATED, Json(self.0)).into_response()
    }
}

impl<T: serde::Serialize> IntoResponse for Accepted<T> {
    fn into_response(self) -> axum::response::Response {
        (StatusCode::ACCEPTED, Json(self.0)).into_response()
    }
}

fn json_response<T: JsonSchema>(ctx: &mut GenContext, operation: &mut Operation) -> Option<Response> {
    Json::<T>::operation_response(ctx, operation)
}

impl<T: JsonSchema> OperationOutput for Created<T> {
    type Inner = T;

    fn operation_response(ctx: &mut GenContext, operation: &mut Operation) -> Option<Response> {
        json_response::<T>(ctx, operation)
    }

    fn inferred_responses(ctx: &mut GenContext, operation: &mut Operation) -> Vec<(Option<u16>, Response)> {
        json_response::<T>(ctx, operation).map(|r| (Some(201), r)).into_iter().collect()
    }
}

impl<T: JsonSchema> OperationOutput for Accepted<T> {
    type Inner = T;

    fn operation_response(ctx: &mut GenContext, operation: &mut Operation) -> Option<Response> {
        json_response::<T>(ctx, operation)
    }

    fn inferred_responses(ctx: &mut GenContext, operation: &mut Operation) -> Vec<(Option<u16>, Response)> {
        json_response::<T>(ctx, operation).map(|r| (Some(202), r)).into_iter().collect()
    }
}

/// Every error answer: `{error: {code, message}}`, one response per HTTP
/// status, its `code` one of the codes with that status.
impl OperationOutput for AppError {
    type Inner = Self;

    fn inferred_responses(_: &mut GenContext, _: &mut Operation) -> Vec<(Option<u16>, Response)> {
        error_statuses().into_iter().map(|status| (Some(status), error_response(status))).collect()
    }
}

/// Every status an error answer can have.
fn error_statuses() -> Vec<u16> {
    let mut statuses: Vec<u16> = Code::ALL.iter().map(|c| c.status()).collect();
    statuses.sort_unstable();
    statuses.dedup();
    statuses
}

fn error_response(status: u16) -> Response {
    let codes: Vec<&str> = Code::ALL.iter().filter(|c| c.status() == status).map(|c| c.as_str()).collect();
    let schema = json_schema!({
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": { "type": "string", "enum": codes },
                    "message": { "type": "string" },
                },
            },
        },
    });
    let description = format!("Refused: {}", codes.join(", "));
    Response {
        description,
        content: IndexMap::from([("application/json".to_string(), media(schema))]),
        ..Default::default()
    }
}

fn media(json_schema: schemars::Schema) -> MediaType {
    MediaType { schema: Some(SchemaObject { json_schema, example: None, external_docs: None }), ..Default::default() }
}

impl<T: JsonSchema> OperationInput for ApiJson<T> {
    fn operation_input(ctx: &mut GenContext, operation: &mut Operation) {
        Json::<T>::operation_input(ctx, operation);
    }
}

fn require(operation: &mut Operation, scheme: &str) {
    if !operation.security.iter().any(|s| s.contains_key(scheme)) {
        operation.security.push(IndexMap::from([(scheme.to_string(), Vec::new())]));
    }
}

impl OperationInput for Bearer {
    fn operation_input(_: &mut GenContext, operation: &mut Operation) {
        require(operation, MEMBER_TOKEN);
    }
}

impl OperationInput for super::accounts::SignedIn {
    fn operation_input(_: &mut GenContext, operation: &mut Operation) {
        require(operation, ACCOUNT_TOKEN);
    }
}

/// The client's address is no input a client chooses.
impl OperationInput for ClientIp {}

/// What a handler's types cannot say about its operation, said at its
/// route: `get_with(qr, |op| op.file(200, "image/svg+xml", "…"))`.
pub trait Describe: Sized {
    /// An answer with a file of `media_type` (no schema).
    fn file(self, status: u16, media_type: &str, description: &str) -> Self;
    /// An answer without a body.
    fn empty(self, status: u16, description: &str) -> Self;
    /// The request body, one schema per media type it accepts.
    fn body(self, description: &str, content: Vec<(&str, schemars::Schema)>) -> Self;
    /// A `multipart/form-data` body: `(name, is a file, required)` parts.
    fn parts(self, parts: &[(&str, bool, bool)]) -> Self;
    /// The token is optional (`Option<Bearer>`, `Option<SignedIn>`).
    fn token_optional(self) -> Self;
}

impl Describe for TransformOperation<'_> {
    fn file(mut self, status: u16, media_type: &str, description: &str) -> Self {
        answer(self.inner_mut(), status, description, Some(media_type));
        self
    }

    fn empty(mut self, status: u16, description: &str) -> Self {
        answer(self.inner_mut(), status, description, None);
        self
    }

    fn body(mut self, description: &str, content: Vec<(&str, schemars::Schema)>) -> Self {
        let content = content.into_iter().map(|(media_type, schema)| (media_type.to_string(), media(schema)));
        self.inner_mut().request_body = Some(ReferenceOr::Item(RequestBody {
            description: Some(description.to_string()),
            content: content.collect(),
            required: true,
            extensions: IndexMap::new(),
        }));
        self
    }

    fn parts(self, parts: &[(&str, bool, bool)]) -> Self {
        let properties: serde_json::Map<String, serde_json::Value> = parts
            .iter()
            .map(|(name, is_file, _)| {
                let schema = match is_file {
                    true => serde_json::json!({ "type": "string", "format": "binary" }),
                    false => serde_json::json!({ "type": "string" }),
                };
                (name.to_string(), schema)
            })
            .collect();
        let required: Vec<&str> = parts.iter().filter(|(_, _, required)| *required).map(|(name, ..)| *name).collect();
        let schema = json_schema!({ "type": "object", "properties": properties, "required": required });
        self.body("multipart/form-data", vec![("multipart/form-data", schema)])
    }

    fn token_optional(mut self) -> Self {
        self.inner_mut().security.push(IndexMap::new());
        self
    }
}

/// Adds an answer (with `media_type`, if any) to the operation's `status`.
fn answer(operation: &mut Operation, status: u16, description: &str, media_type: Option<&str>) {
    let responses = operation.responses.get_or_insert_with(Default::default);
    let content = media_type.map(|m| (m.to_string(), MediaType::default()));
    match responses.responses.get_mut(&SpecStatus::Code(status)) {
        Some(ReferenceOr::Item(response)) => response.content.extend(content),
        _ => {
            let response = Response {
                description: description.to_string(),
                content: content.into_iter().collect(),
                ..Default::default()
            };
            responses.responses.insert(SpecStatus::Code(status), ReferenceOr::Item(response));
        }
    }
}

/// The finished document: title, the token schemes, and the path
/// parameters of every route (aide describes `Path<String>` as no
/// parameter; ours are all strings, named in the route).
pub fn finish(api: &mut OpenApi) {
    api.info = Info {
        title: "crowdjuke".to_string(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        description: Some("The REST routes of a crowdjuke server. Socket.IO events: docs/protocol.md.".to_string()),
        ..Default::default()
    };
    let components = api.components.get_or_insert_with(Components::default);
    for (name, description) in [
        (MEMBER_TOKEN, "The member (or screen) token a join or screen opening returned."),
        (ACCOUNT_TOKEN, "The account token a log-in or registration returned."),
    ] {
        let scheme = SecurityScheme::Http {
            scheme: "bearer".to_string(),
            bearer_format: None,
            description: Some(description.to_string()),
            extensions: IndexMap::new(),
        };
        components.security_schemes.insert(name.to_string(), ReferenceOr::Item(scheme));
    }
    let Some(paths) = api.paths.as_mut() else { return };
    for (path, item) in paths.paths.iter_mut() {
        let ReferenceOr::Item(item) = item else { continue };
        let names: Vec<&str> = path.split('/').filter_map(|s| s.strip_prefix('{')?.strip_suffix('}')).collect();
        let operations = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
        for operation in operations.into_iter().flatten() {
            for name in &names {
                add_path_parameter(operation, name);
            }
            // The layers in front of every handler (body limit, token
            // checks) answer with the same errors, even where the handler
            // itself cannot fail.
            let responses = operation.responses.get_or_insert_with(Default::default);
            for status in error_statuses() {
                let response = || ReferenceOr::Item(error_response(status));
                responses.responses.entry(SpecStatus::Code(status)).or_insert_with(response);
            }
        }
    }
}

fn add_path_parameter(operation: &mut Operation, name: &str) {
    let known = operation.parameters.iter().any(|p| match p {
        ReferenceOr::Item(Parameter::Path { parameter_data, .. }) => parameter_data.name == name,
        _ => false,
    });
    if known {
        return;
    }
    let parameter_data = ParameterData {
        name: name.to_string(),
        description: None,
        required: true,
        format: ParameterSchemaOrContent::Schema(SchemaObject {
            json_schema: json_schema!({ "type": "string" }),
            example: None,
            external_docs: None,
        }),
        extensions: IndexMap::new(),
        deprecated: None,
        example: None,
        examples: IndexMap::new(),
        explode: None,
    };
    operation.parameters.push(ReferenceOr::Item(Parameter::Path { parameter_data, style: openapi::PathStyle::Simple }));
}
