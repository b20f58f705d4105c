//! The web app is served from the same origin: its page on every app path,
//! its files under /app/, and a clear page when it was not built.

use crate::helpers::{spawn_app, spawn_with};

#[tokio::test]
async fn app_paths_answer_the_page_and_files_are_served_with_their_headers() {
    let app = spawn_app().await;
    for path in ["/", "/join/ABCDEF", "/room/ABCDEF", "/display/ABCDEF", "/venues/v1/dashboard", "/me/taste"] {
        let response = app.http.get(app.url(path)).send().await.expect("get");
        assert_eq!(response.status().as_u16(), 200, "{path}");
        assert!(response.headers()["content-type"].to_str().expect("ascii").starts_with("text/html"));
        assert_eq!(response.headers()["x-frame-options"], "DENY", "never framed (clickjacking)");
        let policy = response.headers()["content-security-policy"].to_str().expect("ascii").to_string();
        for directive in ["script-src 'self'", "style-src 'self'", "object-src 'none'", "frame-ancestors 'none'"] {
            assert!(policy.contains(directive), "{path}: {directive} in {policy}");
        }
        assert!(!policy.contains("unsafe-"), "no inline script or style: {policy}");
        assert_eq!(response.headers()["x-content-type-options"], "nosniff");
        assert!(response.text().await.expect("body").contains("/app/app.js"), "{path} is the app's page");
    }
    let worker = app.http.get(app.url("/app/sw.js")).send().await.expect("get");
    assert_eq!(worker.status().as_u16(), 200);
    assert_eq!(worker.headers()["service-worker-allowed"], "/");
    let script = app.http.get(app.url("/app/app.js")).send().await.expect("get");
    assert!(script.headers()["content-type"].to_str().expect("ascii").contains("javascript"));
    let missing = app.http.get(app.url("/app/nope.js")).send().await.expect("get");
    assert_eq!(missing.status().as_u16(), 404);
    let escape = app.http.get(app.url("/app/..%2F..%2FCargo.toml")).send().await.expect("get");
    assert_eq!(escape.status().as_u16(), 404, "nothing outside the app's directory");
}

/// Any origin may call the API, never with credentials (tokens are bearer
/// tokens, not cookies): a preflight is answered, a request from another
/// origin gets `*` and no `Access-Control-Allow-Credentials`.
#[tokio::test]
async fn other_origins_may_call_the_api_without_credentials() {
    let app = spawn_app().await;
    let preflight = app
        .http
        .request(reqwest::Method::OPTIONS, app.url("/api/rooms"))
        .header("origin", "https://venue.example")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "authorization, content-type")
        .send()
        .await
        .expect("preflight");
    assert_eq!(preflight.status().as_u16(), 200);
    let headers = preflight.headers();
    assert_eq!(headers["access-control-allow-origin"], "*");
    let allowed = headers["access-control-allow-headers"].to_str().expect("ascii").to_lowercase();
    assert!(allowed.contains("authorization") && allowed.contains("content-type"), "{allowed}");
    assert!(headers.get("access-control-allow-credentials").is_none(), "never with credentials");
    let created = app
        .http
        .post(app.url("/api/rooms"))
        .header("origin", "https://venue.example")
        .json(&serde_json::json!({"name": "P", "host_name": "H"}))
        .send()
        .await
        .expect("create");
    assert_eq!(created.status().as_u16(), 201);
    assert_eq!(created.headers()["access-control-allow-origin"], "*");
    assert!(created.headers().get("access-control-allow-credentials").is_none());
}

#[tokio::test]
async fn without_a_built_app_the_pages_say_how_to_build_it() {
    let dir = tempfile::TempDir::new().expect("dir");
    let app = spawn_with(dir, |s| s.web_dir = "/nonexistent/crowdjuke-web".into()).await;
    let response = app.http.get(app.url("/")).send().await.expect("get");
    assert_eq!(response.status().as_u16(), 503);
    assert!(response.text().await.expect("body").contains("npm run build"));
    let (status, _) = app.get("/api/health").await;
    assert_eq!(status, 200, "the API works without the app");
}
