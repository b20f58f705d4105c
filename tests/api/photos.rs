//! The photo wall over real HTTP and Socket.IO: share, render, `photo:new`,
//! serve, like, report, remove, ban, page, and every bad upload refused
//! with nothing stored.

use std::io::Cursor;

use crowdjuke::clock::Clock;
use image::{DynamicImage, ImageFormat, Rgb, RgbImage};
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::helpers::{Guest, SioClient, TestApp, spawn_app};

pub fn encoded(width: u32, height: u32, format: ImageFormat) -> Vec<u8> {
    let picture = RgbImage::from_fn(width, height, |x, y| Rgb([(x % 256) as u8, (y % 256) as u8, 90]));
    let mut out = Cursor::new(Vec::new());
    DynamicImage::ImageRgb8(picture).write_to(&mut out, format).expect("encodes");
    out.into_inner()
}

/// A phone-camera JPEG: an EXIF segment with a GPS marker right after SOI.
fn jpeg_with_gps(width: u32, height: u32) -> Vec<u8> {
    let plain = encoded(width, height, ImageFormat::Jpeg);
    let mut app1 = b"Exif\0\0II*\0\x08\0\0\0\0\0\0\0\0\0".to_vec();
    app1.extend_from_slice(b"GPSLatitude 48.8566 N, home address");
    let mut out = vec![0xFF, 0xD8, 0xFF, 0xE1];
    out.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&plain[2..]);
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn photo_form(bytes: Vec<u8>, file_name: &str, comment: Option<&str>) -> Form {
    let part = Part::bytes(bytes).file_name(file_name.to_string()).mime_str("image/jpeg").expect("mime");
    let form = Form::new().part("photo", part);
    match comment {
        Some(c) => form.text("comment", c.to_string()),
        None => form,
    }
}

/// Posts a multipart upload to `code`'s wall; (status, body).
pub async fn upload(app: &TestApp, code: &str, token: Option<&str>, form: Form) -> (u16, Value) {
    let mut request = app.http.post(app.url(&format!("/api/rooms/{code}/photos"))).multipart(form);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("upload");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Shares a JPEG and waits until `watcher` sees it announced; the photo.
async fn share(app: &TestApp, member: &Guest, watcher: &SioClient, comment: &str) -> Value {
    let (status, body) =
        upload(app, &member.code, Some(&member.token), photo_form(jpeg_with_gps(640, 480), "p.jpg", Some(comment)))
            .await;
    assert_eq!(status, 202, "{body}");
    let id = body["photo"]["id"].clone();
    watcher.wait_for("photo:new", |p| p["photo"]["id"] == id).await["photo"].clone()
}

async fn photo_keys(app: &TestApp) -> Vec<String> {
    app.state.blobs.keys("photos/").await.expect("keys")
}

struct Party {
    app: TestApp,
    host: Guest,
    guest: Guest,
    hs: SioClient,
    gs: SioClient,
}

async fn party() -> Party {
    let app = spawn_app().await;
    let host = app.create_room(json!({})).await;
    let guest = app.join(&host.code, "Gus").await;
    let hs = app.connect(&host.token).await;
    let gs = app.connect(&guest.token).await;
    Party { app, host, guest, hs, gs }
}

#[tokio::test]
async fn a_shared_photo_is_announced_ready_served_cached_and_stripped_of_its_metadata() {
    let p = party().await;
    let form = photo_form(jpeg_with_gps(3000, 2000), "IMG_0001.JPG", Some("  the dance floor  "));
    let (status, body) = upload(&p.app, &p.guest.code, Some(&p.guest.token), form).await;
    assert_eq!(status, 202, "{body}");
    let id = body["photo"]["id"].as_str().expect("id").to_string();
    assert_eq!(body["photo"]["status"], "processing");
    assert!(body["photo"].get("urls").is_none(), "no files before rendering: {body}");

    let announced = p.hs.wait_for("photo:new", |v| v["photo"]["id"] == id).await["photo"].clone();
    assert_eq!(announced["status"], "ready");
    assert_eq!((announced["width"].as_u64(), announced["height"].as_u64()), (Some(2560), Some(1707)));
    assert_eq!(
        (announced["member_name"].as_str(), announced["comment"].as_str()),
        (Some("Gus"), Some("the dance floor"))
    );
    assert_eq!(announced["likes"], 0);
    p.gs.wait_for("photo:new", |v| v["photo"]["id"] == id).await;

    for (url, side) in [("full", 2560), ("preview", 1280), ("thumb", 320)] {
        let path = announced["urls"][url].as_str().expect("url");
        let response = p.app.http.get(p.app.url(path)).send().await.expect("get");
        assert_eq!(response.status().as_u16(), 200);
        let headers = response.headers().clone();
        assert_eq!(headers["content-type"], "image/jpeg");
        assert!(headers["cache-control"].to_str().expect("ascii").contains("immutable"));
        let bytes = response.bytes().await.expect("bytes");
        assert!(!contains(&bytes, b"GPSLatitude") && !contains(&bytes, b"Exif"), "{url} keeps metadata");
        let decoded = image::load_from_memory(&bytes).expect("a JPEG");
        assert_eq!(decoded.width(), side, "{url}");
        let again = p.app.http.get(p.app.url(path)).header("if-none-match", &headers["etag"]).send().await;
        assert_eq!(again.expect("get").status().as_u16(), 304, "a cached copy is still good");
    }
    let (status, body) = p.app.get(&format!("/api/photos/{id}/original")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")), "the original is never served");
    let mut keys = photo_keys(&p.app).await;
    keys.sort();
    let expected: Vec<String> =
        ["full.jpg", "preview.jpg", "thumb.jpg"].iter().map(|f| format!("photos/{id}.{f}")).collect();
    assert_eq!(keys, expected, "the original (with its GPS data) is deleted once rendered");

    let snapshot = p.gs.snapshot().await;
    assert_eq!(snapshot["photos"][0]["id"], id.as_str(), "the snapshot carries the latest photos");
    assert_eq!(snapshot["photos"][0]["liked"], false);
    let (status, wall) = p.app.get(&format!("/api/rooms/{}/photos", p.host.code)).await;
    assert_eq!((status, wall["photos"][0]["id"].as_str()), (200, Some(id.as_str())));
}

#[tokio::test]
async fn likes_count_once_per_member_and_carry_the_likers_names() {
    let p = party().await;
    let photo = share(&p.app, &p.host, &p.gs, "cheers").await;
    let id = photo["id"].as_str().expect("id");
    let liked = p.gs.ok("photo:like", json!({"photo_id": id})).await;
    assert_eq!((liked["likes"].as_u64(), liked["liked"].as_bool()), (Some(1), Some(true)));
    p.gs.ok("photo:like", json!({"photo_id": id})).await;
    let both = p.hs.ok("photo:like", json!({"photo_id": id})).await;
    assert_eq!(both["likes"], 2, "a second like by the same member does not count: {both}");
    let names: Vec<&str> =
        both["liked_by"].as_array().expect("likers").iter().filter_map(|l| l["name"].as_str()).collect();
    assert_eq!(names, vec!["Hana", "Gus"], "newest liker first");
    p.gs.wait_for("photo:likes", |v| v["photo_id"] == id && v["likes"] == 2).await;
    let unliked = p.gs.ok("photo:unlike", json!({"photo_id": id})).await;
    assert_eq!((unliked["likes"].as_u64(), unliked["liked"].as_bool()), (Some(1), Some(false)));
    p.hs.wait_for("photo:likes", |v| v["photo_id"] == id && v["likes"] == 1).await;
    let snapshot = p.hs.snapshot().await;
    assert_eq!(
        (snapshot["photos"][0]["likes"].as_u64(), snapshot["photos"][0]["liked"].as_bool()),
        (Some(1), Some(true))
    );

    // A photo of another room is as unknown as a made-up id.
    let other = p.app.create_room(json!({})).await;
    let os = p.app.connect(&other.token).await;
    let foreign = share(&p.app, &other, &os, "elsewhere").await;
    for payload in [json!({"photo_id": "nope"}), json!({"photo_id": foreign["id"]})] {
        assert_eq!(p.gs.refused("photo:like", payload).await, "photo_not_found");
    }
    for payload in [json!({}), json!({"photo_id": 7}), json!("x"), json!({"photo_id": [id]})] {
        assert_eq!(p.gs.refused("photo:like", payload).await, "invalid_payload");
    }
    let after = p.app.state.store.photo(foreign["id"].as_str().expect("id")).await.expect("get").expect("photo");
    assert!(after.likes.is_empty(), "refused likes change nothing");
}

#[tokio::test]
async fn hosts_remove_any_photo_members_only_their_own_and_reports_reach_the_hosts() {
    let p = party().await;
    let hosts_photo = share(&p.app, &p.host, &p.gs, "host's").await;
    let guests_photo = share(&p.app, &p.guest, &p.hs, "guest's").await;
    let (host_id, guest_id) = (hosts_photo["id"].as_str().expect("id"), guests_photo["id"].as_str().expect("id"));

    let reported = p.gs.ok("photo:report", json!({"photo_id": host_id})).await;
    assert_eq!(reported["reports"], 1);
    assert_eq!(p.gs.ok("photo:report", json!({"photo_id": host_id})).await["reports"], 1, "once per member");
    let notice = p.hs.wait_for("photo:reported", |v| v["photo"]["id"] == host_id).await;
    assert_eq!(notice["reports"], 1);
    assert!(p.gs.events("photo:reported").is_empty(), "reports go to hosts only");
    assert_eq!(p.gs.refused("photo:report", json!({"photo_id": "nope"})).await, "photo_not_found");
    for payload in [json!({}), json!({"photo_id": 1}), json!(null)] {
        assert_eq!(p.gs.refused("photo:report", payload.clone()).await, "invalid_payload");
        assert_eq!(p.gs.refused("photo:remove", payload).await, "invalid_payload");
    }
    p.hs.ok("room:sync", json!({})).await;
    assert_eq!(p.hs.events("photo:reported").len(), 1, "a repeated report does not notify again");

    assert_eq!(p.gs.refused("photo:remove", json!({"photo_id": host_id})).await, "forbidden");
    p.gs.ok("photo:remove", json!({"photo_id": guest_id})).await;
    p.hs.wait_for("photo:removed", |v| v["photo_id"] == guest_id).await;
    p.hs.ok("photo:remove", json!({"photo_id": host_id})).await;
    p.gs.wait_for("photo:removed", |v| v["photo_id"] == host_id).await;
    assert_eq!(p.hs.refused("photo:remove", json!({"photo_id": host_id})).await, "photo_not_found");
    let (status, body) = p.app.get(&format!("/api/photos/{host_id}/thumb.jpg")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("photo_not_found")));
    assert!(photo_keys(&p.app).await.is_empty(), "a removed photo leaves no file behind");
    assert_eq!(p.hs.snapshot().await["photos"], json!([]));
}

#[tokio::test]
async fn a_banned_guests_photos_disappear_from_every_wall() {
    let p = party().await;
    let photo = share(&p.app, &p.guest, &p.hs, "mine").await;
    let id = photo["id"].as_str().expect("id");
    let thumb = photo["urls"]["thumb"].as_str().expect("url").to_string();
    assert_eq!(p.app.http.get(p.app.url(&thumb)).send().await.expect("get").status().as_u16(), 200);
    p.hs.ok("member:ban", json!({"member_id": p.guest.member_id})).await;
    p.hs.wait_for("photos:hidden", |v| v["member_id"] == p.guest.member_id.as_str()).await;
    assert_eq!(p.hs.snapshot().await["photos"], json!([]));
    let (_, wall) = p.app.get(&format!("/api/rooms/{}/photos", p.host.code)).await;
    assert_eq!(wall["photos"], json!([]));
    assert_eq!(p.app.http.get(p.app.url(&thumb)).send().await.expect("get").status().as_u16(), 404);
    assert_eq!(p.hs.refused("photo:like", json!({"photo_id": id})).await, "photo_not_found");
    let (status, body) = upload(
        &p.app,
        &p.guest.code,
        Some(&p.guest.token),
        photo_form(encoded(50, 50, ImageFormat::Png), "a.png", None),
    )
    .await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("banned")));
}

#[tokio::test]
async fn the_wall_pages_newest_first_with_a_cursor() {
    let p = party().await;
    let mut shared = Vec::new();
    for n in 0..5 {
        p.app.clock.advance(1_000);
        shared
            .push(share(&p.app, &p.guest, &p.hs, &format!("photo {n}")).await["id"].as_str().expect("id").to_string());
    }
    let (mut seen, mut path) = (Vec::new(), format!("/api/rooms/{}/photos?limit=2", p.host.code));
    loop {
        let (status, page) = p.app.get(&path).await;
        assert_eq!(status, 200, "{page}");
        seen.extend(
            page["photos"].as_array().expect("photos").iter().map(|ph| ph["id"].as_str().expect("id").to_string()),
        );
        match page["next"].as_str() {
            Some(next) => path = format!("/api/rooms/{}/photos?limit=2&before={next}", p.host.code),
            None => break,
        }
    }
    shared.reverse();
    assert_eq!(seen, shared, "every photo once, newest first");
    for query in ["limit=0", "limit=101", "limit=x", "before=nonsense", "before=12-../x", "colour=red"] {
        let (status, body) = p.app.get(&format!("/api/rooms/{}/photos?{query}", p.host.code)).await;
        assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid_payload")), "{query}");
    }
    let (status, body) = p.app.get("/api/rooms/ZZZZZZ/photos").await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("room_not_found")));
}

#[tokio::test]
async fn bad_uploads_get_clear_errors_and_store_nothing() {
    let p = party().await;
    let other = p.app.create_room(json!({})).await;
    let code = p.host.code.clone();
    let token = Some(p.guest.token.as_str());
    let jpeg = encoded(600, 400, ImageFormat::Jpeg);
    let bomb = {
        let mut out = Cursor::new(Vec::new());
        // 52.5 megapixels of one grey: tiny on disk, just over the limit.
        DynamicImage::ImageLuma8(image::GrayImage::new(7_500, 7_000))
            .write_to(&mut out, ImageFormat::Png)
            .expect("png");
        out.into_inner()
    };
    let gif = b"GIF89a\x01\0\x01\0\0\0\0;".to_vec();
    let cut = |format| {
        let whole = encoded(300, 200, format);
        whole[..whole.len() / 2].to_vec()
    };
    let cases: Vec<(&str, Option<&str>, Form, u16, &str)> = vec![
        ("no token", None, photo_form(jpeg.clone(), "a.jpg", None), 401, "unauthorized"),
        ("forged token", Some("eyJyIjoieCJ9.Zm9yZ2Vk"), photo_form(jpeg.clone(), "a.jpg", None), 401, "unauthorized"),
        (
            "another room's token",
            Some(other.token.as_str()),
            photo_form(jpeg.clone(), "a.jpg", None),
            403,
            "not_a_member",
        ),
        (
            "HTML renamed .jpg",
            token,
            photo_form(b"<html><script>alert(1)</script></html>".to_vec(), "cat.jpg", None),
            415,
            "not_an_image",
        ),
        ("a GIF", token, photo_form(gif, "anim.jpg", None), 415, "not_an_image"),
        ("empty file", token, photo_form(Vec::new(), "a.jpg", None), 415, "not_an_image"),
        ("truncated JPEG", token, photo_form(jpeg[..jpeg.len() / 2].to_vec(), "a.jpg", None), 400, "image_damaged"),
        ("truncated PNG", token, photo_form(cut(ImageFormat::Png), "a.png", None), 400, "image_damaged"),
        ("truncated WebP", token, photo_form(cut(ImageFormat::WebP), "a.webp", None), 400, "image_damaged"),
        (
            "a 20000 px strip",
            token,
            photo_form(encoded(20_000, 2, ImageFormat::Png), "a.png", None),
            400,
            "image_too_large",
        ),
        ("decompression bomb", token, photo_form(bomb, "a.png", None), 400, "image_too_large"),
        ("16 MB body", token, photo_form(vec![0xFF; 16 * 1024 * 1024], "a.jpg", None), 413, "payload_too_large"),
        ("no photo part", token, Form::new().text("comment", "hi"), 400, "invalid_payload"),
        ("unknown part", token, photo_form(jpeg.clone(), "a.jpg", None).text("gps", "48.85"), 400, "invalid_payload"),
        (
            "two photos",
            token,
            photo_form(jpeg.clone(), "a.jpg", None).part("photo", Part::bytes(jpeg.clone())),
            400,
            "invalid_payload",
        ),
        ("long comment", token, photo_form(jpeg.clone(), "a.jpg", Some(&"x".repeat(281))), 400, "invalid_payload"),
        ("control characters", token, photo_form(jpeg.clone(), "a.jpg", Some("hi\u{7}")), 400, "invalid_payload"),
    ];
    for (case, token, form, status, code_expected) in cases {
        let (got, body) = upload(&p.app, &code, token, form).await;
        assert_eq!((got, body["error"]["code"].as_str()), (status, Some(code_expected)), "{case}: {body}");
    }
    let json_body = p
        .app
        .http
        .post(p.app.url(&format!("/api/rooms/{code}/photos")))
        .bearer_auth(&p.guest.token)
        .json(&json!({"photo": "x"}))
        .send()
        .await
        .expect("post");
    assert_eq!(json_body.status().as_u16(), 400, "not multipart");
    let (status, body) = upload(&p.app, "ZZZZZZ", token, photo_form(jpeg.clone(), "a.jpg", None)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("room_not_found")));

    assert!(
        p.app.state.store.room_photos(&p.host.room_id, None, 10).await.expect("wall").is_empty(),
        "no record stored"
    );
    assert!(photo_keys(&p.app).await.is_empty(), "no file stored");
    assert!(p.hs.events("photo:new").is_empty());
    // The server is unharmed: a good upload still works.
    share(&p.app, &p.guest, &p.hs, "finally").await;
}

#[tokio::test]
async fn a_photo_that_fails_to_decode_is_deleted_and_its_sharer_told() {
    let p = party().await;
    // A PNG whose header and end are intact but whose pixel data is garbage:
    // it passes the upload checks and fails in the render job.
    let mut png = encoded(400, 300, ImageFormat::Png);
    let middle = png.len() / 2;
    for byte in &mut png[middle - 40..middle + 40] {
        *byte = !*byte;
    }
    let (status, body) = upload(&p.app, &p.guest.code, Some(&p.guest.token), photo_form(png, "a.png", None)).await;
    assert_eq!(status, 202, "{body}");
    let id = body["photo"]["id"].clone();
    let failed = p.gs.wait_for("photo:failed", |v| v["photo_id"] == id).await;
    assert_eq!(failed["error"]["code"], "image_damaged");
    assert!(p.hs.events("photo:failed").is_empty(), "only the sharer is told");
    assert!(p.app.state.store.photo(id.as_str().expect("id")).await.expect("get").is_none());
    assert!(photo_keys(&p.app).await.is_empty());
    assert!(p.hs.events("photo:new").is_empty());
}

#[tokio::test]
async fn lost_render_jobs_resume_orphan_files_are_swept_and_a_deleted_room_takes_its_photos() {
    let p = party().await;
    let kept = share(&p.app, &p.guest, &p.hs, "kept").await;
    // A crash right after an upload was stored: the record says processing,
    // the original is there, no job runs.
    let stuck = crowdjuke::domain::Photo {
        id: "stuckphoto0001".into(),
        room_id: p.host.room_id.clone(),
        member_id: p.guest.member_id.clone(),
        member_name: "Gus".into(),
        comment: None,
        created_at: p.app.clock.now(),
        status: crowdjuke::domain::PhotoStatus::Processing,
        width: 640,
        height: 480,
        likes: vec![],
        reports: vec![],
        user_id: None,
        public: false,
        // The lease of the worker that crashed, not over yet.
        render_lease_until: p.app.clock.now() + 60_000,
    };
    p.app.state.store.insert_photo(&stuck).await.expect("insert");
    let original =
        crowdjuke::media::Blob { bytes: encoded(640, 480, ImageFormat::Jpeg), content_type: "image/jpeg".into() };
    p.app.state.blobs.put("photos/stuckphoto0001.original", original).await.expect("put");
    // A crash between deleting a record and its files.
    let orphan = crowdjuke::media::Blob { bytes: vec![1, 2, 3], content_type: "image/jpeg".into() };
    p.app.state.blobs.put("photos/gonephoto0001.thumb.jpg", orphan).await.expect("put");

    p.app.state.photos.resume_rendering().await;
    p.app.clock.advance(61_000);
    p.app.state.photos.resume_rendering().await;
    p.app.state.photos.resume_rendering().await;
    p.hs.wait_for("photo:new", |v| v["photo"]["id"] == "stuckphoto0001").await;
    assert_eq!(p.hs.events("photo:new").iter().filter(|v| v["photo"]["id"] == "stuckphoto0001").count(), 1);
    assert_eq!(p.app.state.photos.sweep_orphan_blobs().await.expect("sweep"), 1);
    let keys = photo_keys(&p.app).await;
    assert_eq!(keys.len(), 6, "two photos of three files each: {keys:?}");
    assert!(keys.iter().any(|k| k.starts_with(&format!("photos/{}", kept["id"].as_str().expect("id")))));

    p.app.state.delete_room(&p.host.room_id).await.expect("delete room");
    assert!(photo_keys(&p.app).await.is_empty(), "a deleted room leaves no photo files");
    assert!(p.app.state.store.photo("stuckphoto0001").await.expect("get").is_none());
}

#[tokio::test]
async fn webp_uploads_work_and_the_wall_and_files_refuse_bad_tokens_and_ids() {
    let p = party().await;
    let form = photo_form(encoded(500, 300, ImageFormat::WebP), "a.webp", None);
    let (status, body) = upload(&p.app, &p.guest.code, Some(&p.guest.token), form).await;
    assert_eq!(status, 202, "{body}");
    let id = body["photo"]["id"].as_str().expect("id").to_string();
    p.hs.wait_for("photo:new", |v| v["photo"]["id"] == id.as_str()).await;

    let wall = format!("/api/rooms/{}/photos", p.host.code);
    let other = p.app.create_room(json!({})).await;
    for (token, status, code) in
        [("Bearer forged.token", 401, "unauthorized"), (&*format!("bearer {}", other.token), 403, "not_a_member")]
    {
        let response = p.app.http.get(p.app.url(&wall)).header("authorization", token).send().await.expect("get");
        assert_eq!(response.status().as_u16(), status);
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["error"]["code"], code);
    }
    let mine = p
        .app
        .http
        .get(p.app.url(&wall))
        .header("authorization", format!("BEARER {}", p.guest.token))
        .send()
        .await
        .expect("get");
    let mine: Value = mine.json().await.expect("json");
    assert_eq!(mine["photos"][0]["liked"], false, "a member's page says what they liked");

    for bad in ["nope", "..%2F..%2Fsecret.key", "a.b", &"x".repeat(65)] {
        let response = p.app.http.get(p.app.url(&format!("/api/photos/{bad}/thumb.jpg"))).send().await.expect("get");
        assert_eq!(response.status().as_u16(), 404, "{bad}");
        assert_eq!(response.headers()["cache-control"], "no-store", "a refusal is never cached");
    }
    let thumb = p.app.http.get(p.app.url(&format!("/api/photos/{id}/thumb.jpg"))).send().await.expect("get");
    assert!(thumb.headers()["cache-control"].to_str().expect("ascii").starts_with("private"), "no shared caches");
    let etag = thumb.headers()["etag"].to_str().expect("ascii").to_string();
    let listed = format!("\"other\", W/{etag}");
    let again =
        p.app.http.get(p.app.url(&format!("/api/photos/{id}/thumb.jpg"))).header("if-none-match", listed).send().await;
    assert_eq!(again.expect("get").status().as_u16(), 304);

    // A member removed while their socket is still open cannot act on the wall.
    p.hs.ok("member:kick", json!({"member_id": p.guest.member_id})).await;
    let refused = p.app.state.photos.like_photo(&p.host.room_id, &p.guest.member_id, &id, true).await;
    assert_eq!(refused.err().map(|e| e.code().as_str()), Some("not_a_member"));
    let refused = p.app.state.photos.remove_photo(&p.host.room_id, &p.guest.member_id, &id).await;
    assert_eq!(refused.err().map(|e| e.code().as_str()), Some("not_a_member"));
}

#[tokio::test]
async fn uploads_are_rate_limited_per_member_before_anything_is_stored() {
    let app = crate::helpers::spawn_with(tempfile::TempDir::new().expect("dir"), |s| s.photos_per_minute = 2).await;
    let host = app.create_room(json!({})).await;
    let guest = app.join(&host.code, "Gus").await;
    for _ in 0..2 {
        let (status, body) =
            upload(&app, &host.code, Some(&guest.token), photo_form(b"junk".to_vec(), "a.jpg", None)).await;
        assert_eq!((status, body["error"]["code"].as_str()), (415, Some("not_an_image")), "refused uploads count too");
    }
    let form = photo_form(encoded(64, 64, ImageFormat::Jpeg), "a.jpg", None);
    let mut request = app.http.post(app.url(&format!("/api/rooms/{}/photos", host.code))).multipart(form);
    request = request.bearer_auth(&guest.token);
    let response = request.send().await.expect("upload");
    assert_eq!(response.status().as_u16(), 429);
    assert!(response.headers().contains_key("retry-after"));
    let (status, _) =
        upload(&app, &host.code, Some(&host.token), photo_form(encoded(64, 64, ImageFormat::Jpeg), "a.jpg", None))
            .await;
    assert_eq!(status, 202, "another member has their own quota");
    assert_eq!(app.state.store.room_photos(&host.room_id, None, 10).await.expect("wall").len(), 1);
}
