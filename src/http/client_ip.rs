//! The address a request came from, for per-client rate limits. Behind a
//! load balancer (`behind_proxy = true`) every connection comes from the
//! proxy, so the client is the right-most `X-Forwarded-For` entry: the one
//! our own proxy appended, which a client cannot forge.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

use crate::error::AppError;
use crate::state::AppState;

pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, AppError> {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
        let forwarded = || {
            let header = parts.headers.get_all("x-forwarded-for").iter().next_back()?.to_str().ok()?;
            header.rsplit(',').next()?.trim().parse::<IpAddr>().ok()
        };
        let ip = if app.settings.behind_proxy { forwarded().or(peer) } else { peer };
        ip.map(ClientIp).ok_or_else(|| AppError::Internal(anyhow::anyhow!("no client address")))
    }
}
