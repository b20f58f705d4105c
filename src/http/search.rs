//! `GET /api/search/{index}`: the query language over the tracks, rooms and
//! users indexes, with filters, facets, sorting and pages.

use aide::axum::ApiRouter;
use aide::axum::routing::get;
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use serde_json::{Value, json};

use crate::error::{AppError, Result};
use crate::search::request::SearchParams;
use crate::search::{IndexConfig, IndexName, SearchRequest};
use crate::state::AppState;

pub fn router() -> ApiRouter<AppState> {
    ApiRouter::new().api_route("/api/search/{index}", get(search))
}

async fn search(
    State(app): State<AppState>,
    Path(index): Path<String>,
    params: std::result::Result<Query<SearchParams>, QueryRejection>,
) -> Result<Json<Value>> {
    let index = IndexName::parse(&index).ok_or(AppError::IndexNotFound(index))?;
    let Query(params) = params.map_err(|e| AppError::InvalidPayload(e.body_text()))?;
    let request = SearchRequest::build(&IndexConfig::shipped(index), &params)?;
    let results = app.search.search(index, &request).await?;
    Ok(Json(json!({
        "hits": results.hits,
        "total": results.total,
        "offset": request.offset,
        "limit": request.limit,
        "facets": results.facets,
    })))
}
