//! A search request as the engines receive it: the query and the filter
//! planned against the index, facets, sort keys and the page, all checked.
//! Built from the raw parameters of `GET /api/search/{index}`.

use serde::Deserialize;

use super::config::{IndexConfig, Kind};
use super::plan::{Node, plan};
use super::{SearchError, query};

pub const DEFAULT_LIMIT: usize = 20;
pub const MAX_LIMIT: usize = 100;
/// Most sort keys (including distance) in one request.
pub const MAX_SORT_KEYS: usize = 2;
/// Largest radius, metres (half the Earth's circumference).
const MAX_RADIUS_M: f64 = 20_000_000.0;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct SearchRequest {
    pub query: Option<Node>,
    /// Only filters (exact values, ranges); never affects ranking.
    pub filter: Option<Node>,
    pub facets: Vec<String>,
    pub sort: Vec<SortKey>,
    pub offset: usize,
    pub limit: usize,
    /// Only documents within this many metres of the `Distance` sort point.
    pub radius_m: Option<f64>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum SortKey {
    Field {
        field: String,
        descending: bool,
    },
    /// Nearest first from this point (indexes with `_geo`).
    Distance(GeoPoint),
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GeoPoint {
    pub lat: f64,
    pub lng: f64,
}

impl GeoPoint {
    /// Great-circle distance in metres (haversine, as Meilisearch computes it).
    pub fn distance_m(&self, other: &GeoPoint) -> f64 {
        const EARTH_RADIUS_M: f64 = 6_371_000.0;
        let (lat1, lat2) = (self.lat.to_radians(), other.lat.to_radians());
        let d_lat = lat2 - lat1;
        let d_lng = (other.lng - self.lng).to_radians();
        let a = (d_lat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (d_lng / 2.0).sin().powi(2);
        2.0 * EARTH_RADIUS_M * a.sqrt().asin()
    }
}

/// The query-string parameters of a search, as sent by a client.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchParams {
    #[serde(default)]
    pub q: String,
    pub filter: Option<String>,
    /// Comma-separated facet fields.
    pub facets: Option<String>,
    /// Comma-separated `field:asc|desc`.
    pub sort: Option<String>,
    pub limit: Option<usize>,
    pub offset: Option<usize>,
    /// `lat,lng`: nearest first.
    pub near: Option<String>,
    /// Metres around `near`.
    pub radius: Option<f64>,
}

impl SearchRequest {
    pub fn build(config: &IndexConfig, params: &SearchParams) -> Result<Self, SearchError> {
        let query = match query::parse(&params.q)? {
            Some(q) => plan(&q, config)?,
            None => None,
        };
        let filter = match params.filter.as_deref().map(query::parse).transpose()?.flatten() {
            Some(f) => plan(&f, config)?,
            None => None,
        };
        if filter.as_ref().is_some_and(|f| !f.is_filter_only()) {
            return Err(SearchError::InvalidQuery(format!(
                "filter takes only filterable fields: {}",
                config.filterable.iter().filter(|f| *f != "_geo").cloned().collect::<Vec<_>>().join(", ")
            )));
        }
        let limit = params.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(SearchError::InvalidQuery(format!("limit must be between 1 and {MAX_LIMIT}")));
        }
        let offset = params.offset.unwrap_or(0);
        if offset > config.max_total_hits {
            return Err(SearchError::InvalidQuery(format!("offset must be at most {}", config.max_total_hits)));
        }
        let mut sort = sort_keys(config, params.sort.as_deref())?;
        if let Some(near) = &params.near {
            if !config.is_sortable("_geo") {
                return Err(SearchError::InvalidQuery(format!("{} has no location to search near", config.name)));
            }
            sort.push(SortKey::Distance(geo_point(near)?));
        }
        if sort.len() > MAX_SORT_KEYS {
            return Err(SearchError::InvalidQuery(format!("at most {MAX_SORT_KEYS} sort keys (near counts as one)")));
        }
        let radius_m = match params.radius {
            None => None,
            Some(_) if params.near.is_none() => {
                return Err(SearchError::InvalidQuery("radius needs near=lat,lng".into()));
            }
            Some(r) if r.is_finite() && r > 0.0 && r <= MAX_RADIUS_M => Some(r),
            Some(_) => return Err(SearchError::InvalidQuery("radius is metres, above 0".into())),
        };
        Ok(Self { query, filter, facets: facets(config, params.facets.as_deref())?, sort, offset, limit, radius_m })
    }

    /// The point of the distance sort, if any.
    pub fn near(&self) -> Option<GeoPoint> {
        self.sort.iter().find_map(|k| match k {
            SortKey::Distance(p) => Some(*p),
            SortKey::Field { .. } => None,
        })
    }
}

fn list(text: Option<&str>) -> impl Iterator<Item = &str> {
    text.unwrap_or_default().split(',').map(str::trim).filter(|s| !s.is_empty())
}

fn facets(config: &IndexConfig, text: Option<&str>) -> Result<Vec<String>, SearchError> {
    let mut out: Vec<String> = Vec::new();
    for field in list(text) {
        if !config.is_filterable(field) || config.kind(field) == Some(Kind::Geo) {
            return Err(SearchError::InvalidQuery(format!(
                "`{field}` is not a facet of {}; facets: {}",
                config.name,
                config.filterable.iter().filter(|f| *f != "_geo").cloned().collect::<Vec<_>>().join(", ")
            )));
        }
        if !out.iter().any(|f| f == field) {
            out.push(field.to_string());
        }
    }
    Ok(out)
}

fn sort_keys(config: &IndexConfig, text: Option<&str>) -> Result<Vec<SortKey>, SearchError> {
    list(text)
        .map(|key| {
            let (field, order) = key.split_once(':').unwrap_or((key, "asc"));
            if !config.is_sortable(field) || field == "_geo" {
                let fields: Vec<_> = config.sortable.iter().filter(|f| *f != "_geo").cloned().collect();
                return Err(SearchError::InvalidQuery(format!(
                    "cannot sort {} by `{field}`; sort by: {} (or near=lat,lng)",
                    config.name,
                    fields.join(", ")
                )));
            }
            let descending = match order {
                "asc" => false,
                "desc" => true,
                _ => return Err(SearchError::InvalidQuery(format!("sort order is asc or desc, not `{order}`"))),
            };
            Ok(SortKey::Field { field: field.to_string(), descending })
        })
        .collect()
}

fn geo_point(text: &str) -> Result<GeoPoint, SearchError> {
    let bad = || SearchError::InvalidQuery(format!("near is `lat,lng` in degrees, not `{text}`"));
    let (lat, lng) = text.split_once(',').ok_or_else(bad)?;
    let lat: f64 = lat.trim().parse().map_err(|_| bad())?;
    let lng: f64 = lng.trim().parse().map_err(|_| bad())?;
    if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lng) {
        return Err(bad());
    }
    Ok(GeoPoint { lat, lng })
}
