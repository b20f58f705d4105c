//! `docker-compose.yml`, `deploy/nginx.conf` and the `Dockerfile` cannot run
//! here (no Docker engine); this checks they parse and agree with the
//! server: every node setting is one crowdjuke accepts, the load balancer
//! routes to every node with sticky sessions and WebSocket upgrade.

use std::collections::{BTreeMap, BTreeSet};

use crowdjuke::config::Settings;
use figment::Figment;
use figment::providers::Serialized;
use serde_yaml_ng::Value;

fn repo_file(path: &str) -> String {
    std::fs::read_to_string(format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))).expect(path)
}

fn compose() -> Value {
    let mut doc: Value = serde_yaml_ng::from_str(&repo_file("docker-compose.yml")).expect("valid YAML");
    doc.apply_merge().expect("merge keys resolve");
    doc
}

fn image(services: &Value, name: &str) -> String {
    services[name]["image"].as_str().unwrap_or_else(|| panic!("{name} has an image")).to_string()
}

#[test]
fn compose_has_the_whole_stack() {
    let doc = compose();
    let services = &doc["services"];
    assert!(image(services, "redis").starts_with("redis:7"));
    assert!(image(services, "mongo").starts_with("mongo:7"));
    assert!(image(services, "meilisearch").starts_with("getmeili/meilisearch:v1."));
    assert!(image(services, "lb").starts_with("nginx:"));
    let ports: Vec<&str> =
        services["lb"]["ports"].as_sequence().expect("ports").iter().filter_map(|p| p.as_str()).collect();
    assert_eq!(ports, ["80:80", "443:443"], "HTTPS, and plain HTTP that redirects");
}

fn node_settings(env: &Value) -> Settings {
    let mut values = BTreeMap::new();
    for (key, value) in env.as_mapping().expect("environment is a map") {
        let key = key.as_str().expect("key");
        let setting = key.strip_prefix("CROWDJUKE_").unwrap_or_else(|| panic!("{key} is not a crowdjuke setting"));
        let value = match value {
            Value::String(s) => serde_json::from_str(s).unwrap_or(serde_json::Value::String(s.clone())),
            other => serde_json::to_value(other).expect("value"),
        };
        values.insert(setting.to_lowercase(), value);
    }
    let figment = Figment::from(Serialized::defaults(Settings::default())).merge(Serialized::globals(values));
    figment.extract().unwrap_or_else(|e| panic!("a node setting crowdjuke refuses: {e}"))
}

#[test]
fn every_node_is_configured_for_scale_out_and_behind_the_balancer() {
    let doc = compose();
    let nginx = repo_file("deploy/nginx.conf");
    let nodes: Vec<(&str, &Value)> = doc["services"]
        .as_mapping()
        .expect("services")
        .iter()
        .filter_map(|(name, service)| Some((name.as_str()?, service)))
        .filter(|(_, service)| service["image"].as_str() == Some("crowdjuke:local") && service["profiles"].is_null())
        .collect();
    assert!(nodes.len() >= 2, "at least two crowdjuke nodes");
    let mut ids = Vec::new();
    for (name, service) in nodes {
        let settings = node_settings(&service["environment"]);
        let redis_url = settings.redis_url.as_deref().unwrap_or_default();
        assert!(redis_url.starts_with("redis://:${REDIS_PASSWORD:?") && redis_url.ends_with("}@redis:6379"), "{name}");
        let mongodb_uri = settings.mongodb_uri.as_deref().unwrap_or_default();
        assert!(mongodb_uri.starts_with("mongodb://crowdjuke:${MONGO_APP_PASSWORD:?"), "{name} logs in: {mongodb_uri}");
        assert!(mongodb_uri.contains("}@mongo:27017/crowdjuke?"), "{name}: {mongodb_uri}");
        assert!(mongodb_uri.contains("authSource=crowdjuke"), "{name} is a user of its database: {mongodb_uri}");
        assert_eq!(settings.mongodb_db, "crowdjuke", "{name}: the database mongo-init.js gives it");
        assert!(settings.behind_proxy, "{name} rate-limits by the forwarded client address");
        assert_eq!(settings.meilisearch_url.as_deref(), Some("http://meilisearch:7700"), "{name}");
        let key = settings.meilisearch_api_key.as_ref().map(|k| k.0.clone()).unwrap_or_default();
        assert_eq!(key, "${MEILI_NODE_KEY:-}", "{name} uses the nodes' own Meilisearch key");
        let env = service["environment"].as_mapping().expect("env");
        assert!(!env.keys().any(|k| k.as_str() == Some("MEILI_MASTER_KEY")), "{name} never sees the master key");
        assert_eq!(settings.listen.port(), 8080);
        ids.push(settings.node_id.expect("node id"));
        assert!(nginx.contains(&format!("server {name}:8080")), "nginx routes to {name}");
        let depends = &service["depends_on"];
        assert_eq!(depends["redis"]["condition"].as_str(), Some("service_healthy"));
        assert_eq!(depends["mongo"]["condition"].as_str(), Some("service_healthy"));
        assert_eq!(depends["meilisearch"]["condition"].as_str(), Some("service_healthy"));
    }
    ids.sort();
    ids.dedup();
    assert!(ids.len() >= 2, "node ids are distinct");
    assert!(nginx.contains("hash $remote_addr consistent;"), "sticky sessions for long-polling, consistent");
    assert!(nginx.contains("proxy_set_header Upgrade $http_upgrade;"), "WebSocket upgrade");
    assert!(nginx.contains("proxy_http_version 1.1;"));
    let mounted = doc["services"]["lb"]["volumes"][0].as_str().expect("nginx.conf mounted");
    assert!(mounted.starts_with("./deploy/nginx.conf:"));
}

/// Every secret comes from the operator's uncommitted `.env`: the compose
/// file has none written in, each variable it requires is in
/// deploy/env.example, and `.env` and the certificates are ignored by git.
/// Redis and MongoDB ask for passwords; nginx serves TLS with the
/// certificate mounted from deploy/tls.
#[test]
fn secrets_stay_outside_the_repository_and_every_service_asks_for_one() {
    let text = repo_file("docker-compose.yml");
    let example = repo_file("deploy/env.example");
    let mut required = BTreeSet::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find("${") {
        let name: String = rest[at + 2..].chars().take_while(|c| c.is_ascii_uppercase() || *c == '_').collect();
        rest = &rest[at + 2 + name.len()..];
        required.insert(name);
    }
    for name in [
        "CROWDJUKE_PUBLIC_URL",
        "MEILI_MASTER_KEY",
        "MEILI_NODE_KEY",
        "REDIS_PASSWORD",
        "MONGO_ROOT_PASSWORD",
        "MONGO_APP_PASSWORD",
    ] {
        assert!(required.contains(name), "{name} comes from .env");
    }
    for name in &required {
        assert!(example.lines().any(|l| l.starts_with(&format!("{name}="))), "{name} is in deploy/env.example");
    }
    let ignored = repo_file(".gitignore");
    for path in [".env", "deploy/tls/"] {
        assert!(ignored.lines().any(|l| l == path), "{path} is not committed");
    }

    let doc = compose();
    let services = &doc["services"];
    let redis = services["redis"]["command"].as_sequence().expect("command").last().and_then(|c| c.as_str());
    assert!(redis.is_some_and(|c| c.contains("--requirepass \"$$REDIS_PASSWORD\"")), "{redis:?}");
    let entry = "exec docker-entrypoint.sh redis-server";
    assert!(redis.is_some_and(|c| c.contains(entry)), "through the image's entrypoint, not as root: {redis:?}");
    let mongo = &services["mongo"]["environment"];
    assert_eq!(
        mongo["MONGO_INITDB_ROOT_PASSWORD"].as_str(),
        Some("${MONGO_ROOT_PASSWORD:?set MONGO_ROOT_PASSWORD in .env}")
    );
    let init = services["mongo"]["volumes"].as_sequence().expect("volumes").iter().filter_map(|v| v.as_str());
    assert!(init.clone().any(|v| v == "./deploy/mongo-init.js:/docker-entrypoint-initdb.d/crowdjuke.js:ro"));
    let script = repo_file("deploy/mongo-init.js");
    assert!(script.contains("user: 'crowdjuke'") && script.contains("process.env.MONGO_APP_PASSWORD"));
    assert!(script.contains("roles: [{ role: 'readWrite', db: 'crowdjuke' }]"), "the nodes' user can do no more");

    // The master key goes only to Meilisearch and the one-off search-key run.
    let key_step = &services["search-key"];
    let dockerfile = repo_file("Dockerfile");
    assert!(dockerfile.contains(r#"ENTRYPOINT ["crowdjuke"]"#), "the command below is crowdjuke's argument");
    let command: Vec<&str> =
        key_step["command"].as_sequence().expect("command").iter().filter_map(|c| c.as_str()).collect();
    assert_eq!(command, ["search-key"]);
    assert_eq!(key_step["profiles"][0].as_str(), Some("setup"), "not started by `up`");
    assert!(key_step["environment"]["MEILI_MASTER_KEY"].as_str().is_some());
    let url = key_step["environment"]["CROWDJUKE_MEILISEARCH_URL"].as_str();
    assert_eq!(url, Some("http://meilisearch:7700"));

    let nginx = repo_file("deploy/nginx.conf");
    assert!(nginx.contains("listen 443 ssl;"));
    assert_eq!(directive(&nginx, "ssl_certificate"), "/etc/nginx/tls/fullchain.pem");
    assert_eq!(directive(&nginx, "ssl_certificate_key"), "/etc/nginx/tls/privkey.pem");
    assert!(nginx.contains("return 301 https://$host$request_uri;"), "plain HTTP sends phones to HTTPS");
    let lb = services["lb"]["volumes"].as_sequence().expect("volumes").iter().filter_map(|v| v.as_str());
    assert!(lb.clone().any(|v| v == "./deploy/tls:/etc/nginx/tls:ro"), "the certificate is mounted");
}

/// The value of an nginx directive (the first occurrence).
fn directive<'a>(conf: &'a str, name: &str) -> &'a str {
    let line = conf.lines().map(str::trim).find(|l| l.starts_with(&format!("{name} "))).expect(name);
    line[name.len()..].trim().trim_end_matches(';')
}

/// nginx sizes like `51m`, `64k` or plain bytes.
fn nginx_bytes(size: &str) -> usize {
    let (digits, unit) = size.split_at(size.trim_end_matches(|c: char| c.is_ascii_alphabetic()).len());
    let n: usize = digits.parse().expect("a size");
    match unit.to_ascii_lowercase().as_str() {
        "" => n,
        "k" => n * 1024,
        "m" => n * 1024 * 1024,
        "g" => n * 1024 * 1024 * 1024,
        other => panic!("unit {other}"),
    }
}

/// The load balancer must let through everything the app takes, so the
/// app answers with its own JSON errors; and hold a party's websockets.
#[test]
fn the_balancer_takes_every_upload_the_app_takes_and_thousands_of_sockets() {
    let nginx = repo_file("deploy/nginx.conf");
    let body = nginx_bytes(directive(&nginx, "client_max_body_size"));
    let largest = crowdjuke::music::import::MAX_IMPORT_BYTES.max(crowdjuke::media::pipeline::MAX_PHOTO_BYTES);
    assert!(body > largest, "client_max_body_size {body} must exceed the largest upload, {largest}");
    let connections: usize = directive(&nginx, "worker_connections").parse().expect("a number");
    assert!(connections >= 8192, "worker_connections {connections}: each websocket holds two");
    let files: usize = directive(&nginx, "worker_rlimit_nofile").parse().expect("a number");
    assert!(files >= connections * 2, "worker_rlimit_nofile {files} below the connections' files");
    assert_eq!(directive(&nginx, "worker_processes"), "auto");
    assert!(nginx.contains("resolver "), "node names are resolved again (a recreated node moves)");
}

#[test]
fn dockerfile_is_multi_stage_and_builds_the_binary() {
    let dockerfile = repo_file("Dockerfile");
    let stages = dockerfile.lines().filter(|l| l.starts_with("FROM ")).count();
    assert!(stages >= 2, "multi-stage");
    assert!(dockerfile.contains("cargo build --release --locked --bin crowdjuke"));
    assert!(dockerfile.contains("COPY --from=build /src/target/release/crowdjuke"));
    assert!(dockerfile.contains("COPY search-config ./search-config"), "index settings are compiled in");
    assert!(dockerfile.contains("COPY --from=web /src/frontend/dist"), "the web app is in the image");
    assert!(dockerfile.contains("CROWDJUKE_WEB_DIR=/usr/share/crowdjuke/web"), "and the server finds it");
    let health = dockerfile.lines().find(|l| l.starts_with("HEALTHCHECK ")).expect("a healthcheck");
    assert!(health.contains("--start-period="), "a node connecting to its services is not unhealthy yet");
    assert!(health.ends_with(r#"CMD ["crowdjuke", "ready"]"#), "follows the listen setting: {health}");
}

/// The Grafana dashboard shipped in deploy/ only asks for series the
/// server exports (a histogram's `_bucket`, `_sum` and `_count` too).
#[test]
fn the_grafana_dashboard_asks_for_series_the_server_exports() {
    let dashboard: serde_json::Value =
        serde_json::from_str(&repo_file("deploy/grafana-dashboard.json")).expect("dashboard JSON");
    let mut asked = BTreeSet::new();
    for panel in dashboard["panels"].as_array().expect("panels") {
        for target in panel["targets"].as_array().expect("targets") {
            let expr = target["expr"].as_str().expect("expr");
            let mut rest = expr;
            while let Some(at) = rest.find("crowdjuke_") {
                let name: String = rest[at..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                rest = &rest[at + name.len()..];
                asked.insert(name);
            }
        }
    }
    assert!(asked.len() >= 8, "the dashboard shows the operator's numbers: {asked:?}");
    for name in &asked {
        let base = ["_bucket", "_sum", "_count"].iter().find_map(|s| name.strip_suffix(s)).unwrap_or(name);
        assert!(crowdjuke::telemetry::ALL.contains(&base), "{name} is not exported");
    }
    let exported: BTreeSet<String> = crowdjuke::telemetry::ALL
        .iter()
        .filter(|n| asked.iter().any(|a| a.starts_with(**n)))
        .map(|n| n.to_string())
        .collect();
    assert_eq!(exported.len(), crowdjuke::telemetry::ALL.len(), "every exported series has a panel");
}
