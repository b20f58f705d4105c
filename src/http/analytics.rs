//! A venue's dashboard figures over REST (protocol.md §3.19): the report
//! as JSON and its tables as CSV, for owners and managers.

use aide::axum::ApiRouter;
use aide::axum::routing::{get, get_with};
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::openapi::Describe;
use axum::Json;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::accounts::SignedIn;
use crate::domain::analytics::{Report, TOP};
use crate::error::{AppError, Result};
use crate::state::AppState;

pub fn router() -> ApiRouter<AppState> {
    ApiRouter::new().api_route("/api/venues/{id}/analytics", get(report)).api_route(
        "/api/venues/{id}/analytics/export",
        get_with(export, |op| op.file(200, "text/csv", "one table of the report")),
    )
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ReportQuery {
    from: Option<String>,
    to: Option<String>,
    zone: Option<String>,
    /// Only for the export: `days` (default), `hours`, `tracks`, `artists`
    /// or `genres`.
    table: Option<String>,
}

type QueryResult = std::result::Result<Query<ReportQuery>, axum::extract::rejection::QueryRejection>;

async fn load(app: &AppState, account: &crate::accounts::Account, id: &str, query: &ReportQuery) -> Result<Report> {
    app.analytics.report(&account.user, id, query.zone.as_deref(), query.from.as_deref(), query.to.as_deref()).await
}

/// The report: totals, every day, 24 hours, and the top 20 tracks,
/// artists and genres.
async fn report(
    State(app): State<AppState>,
    SignedIn(account): SignedIn,
    Path(id): Path<String>,
    query: QueryResult,
) -> Result<Json<Report>> {
    let Query(query) = query.map_err(|e| AppError::InvalidPayload(e.body_text()))?;
    if query.table.is_some() {
        return Err(AppError::InvalidPayload("table is for /analytics/export".into()));
    }
    Ok(Json(load(&app, &account, &id, &query).await?.top(TOP)))
}

/// One table of the report as CSV, every row (all played tracks).
async fn export(
    State(app): State<AppState>,
    SignedIn(account): SignedIn,
    Path(id): Path<String>,
    query: QueryResult,
) -> Result<Response> {
    let Query(query) = query.map_err(|e| AppError::InvalidPayload(e.body_text()))?;
    let table = query.table.clone().unwrap_or_else(|| "days".into());
    if !["days", "hours", "tracks", "artists", "genres"].contains(&table.as_str()) {
        return Err(AppError::InvalidPayload("table must be days, hours, tracks, artists or genres".into()));
    }
    let report = load(&app, &account, &id, &query).await?;
    let csv = match table.as_str() {
        "hours" => to_csv(&report.hours),
        "tracks" => to_csv(&report.tracks),
        "artists" => to_csv(&report.artists),
        "genres" => to_csv(&report.genres),
        _ => to_csv(&report.days),
    }?;
    let filename = format!("attachment; filename=\"{table}-{}-{}.csv\"", report.from, report.to);
    Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()), (header::CONTENT_DISPOSITION, filename)], csv)
        .into_response())
}

/// The rows under a header line; an empty table is its header alone.
fn to_csv<T: Serialize + Default>(rows: &[T]) -> Result<String> {
    let mut out = csv::Writer::from_writer(Vec::new());
    let blank = [T::default()];
    for row in if rows.is_empty() { &blank[..] } else { rows } {
        out.serialize(row).map_err(|e| AppError::Internal(e.into()))?;
    }
    let bytes = out.into_inner().map_err(|e| AppError::Internal(anyhow::anyhow!(e.to_string())))?;
    let text = String::from_utf8(bytes).map_err(|e| AppError::Internal(e.into()))?;
    match rows.is_empty() {
        true => Ok(text.lines().next().map(|header| format!("{header}\n")).unwrap_or_default()),
        false => Ok(text),
    }
}
