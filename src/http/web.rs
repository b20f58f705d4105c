//! The web app (built from `frontend/` into `web_dir`): its files under
//! `/app/`, and its page for every app path (`/`, `/join/{code}`,
//! `/room/{code}`, `/display/{code}`, `/venues`, `/venues/{id}`,
//! `/venues/{id}/dashboard`, `/invitations/{id}`), so links and QR codes open it
//! directly. The app is a single page: it routes on the path itself.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::state::AppState;

pub fn router(state: &AppState) -> Router<AppState> {
    let files = ServeDir::new(&state.settings.web_dir).append_index_html_on_directories(false);
    // File names are stable (no content hash): browsers revalidate each
    // time; the service worker keeps the app usable offline.
    let cache = SetResponseHeaderLayer::overriding(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // The service worker lives under /app/ but controls the whole origin.
    let worker_scope = SetResponseHeaderLayer::overriding(
        header::HeaderName::from_static("service-worker-allowed"),
        HeaderValue::from_static("/"),
    );
    Router::new()
        .route("/", get(page))
        .route("/join/{code}", get(page))
        .route("/room/{code}", get(page))
        .route("/display/{code}", get(page))
        .route("/venues", get(page))
        .route("/venues/{id}", get(page))
        .route("/venues/{id}/dashboard", get(page))
        .route("/invitations/{id}", get(page))
        .route("/me/taste", get(page))
        .nest_service("/app", files)
        .layer(cache)
        .layer(worker_scope)
}

/// What the app's pages may load: its own scripts, styles, workers and
/// API (Socket.IO included: `'self'` covers `ws:`/`wss:` of the same host),
/// images from anywhere over HTTPS (album art from music services) and
/// its own audio, and read the blobs it made itself (`connect-src blob:`). No inline script or style, no plugins, no `<base>`, no
/// framing by another site (the host's moderation buttons must not be
/// clickjacked).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data: blob: https:; media-src 'self' blob:; connect-src 'self' blob:; worker-src 'self'; \
     manifest-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// `index.html` of the built app, or a plain page saying how to build it,
/// under `CONTENT_SECURITY_POLICY`.
async fn page(State(app): State<AppState>) -> Response {
    let index = app.settings.web_dir.join("index.html");
    let mut response = match tokio::fs::read_to_string(&index).await {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::warn!(path = %index.display(), error = %e, "the web app is not built");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Html(
                    "<!doctype html><meta name=viewport content='width=device-width'><title>crowdjuke</title>\
                 <h1>crowdjuke</h1><p>The web app is not built. Build it with \
                 <code>npm ci && npm run build</code> in <code>frontend/</code> (a <code>cargo build</code> \
                 does it when npm is installed), or point <code>web_dir</code> at a built copy.</p>",
                ),
            )
                .into_response()
        }
    };
    let headers = response.headers_mut();
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    response
}
