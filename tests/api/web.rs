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
