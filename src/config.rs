//! Typed settings, layered: built-in defaults < config file (TOML) <
//! `CROWDJUKE_*` environment variables < command-line flags.
//!
//! Owns: `Settings` and how they are read. A leaf: imports nothing.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// No `Debug`: `redis_url` and `mongodb_uri` may hold passwords, and a
/// printed `Settings` would put them in a log.
#[derive(Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Address to listen on; all interfaces by default so phones on the same
    /// network can reach a laptop.
    pub listen: SocketAddr,
    /// Where the embedded store and the signing secret live.
    pub data_dir: PathBuf,
    /// Base URL of join links; guessed from the LAN address when unset.
    pub public_url: Option<String>,
    /// `pretty` for people, `json` for log collectors.
    pub log_format: LogFormat,
    /// Let `RUST_LOG` turn on the debug logs of the libraries that print
    /// secrets there (socketioxide prints member tokens, the MongoDB driver
    /// stored documents): for hunting a bug on a test machine, never in
    /// production.
    pub log_unredacted: bool,
    /// Party rooms idle for this long are deleted; venue rooms never are.
    pub room_idle_hours: u64,
    /// Different room codes a client address may look up per minute (join,
    /// preview, QR code, photo wall): trying many codes is guessing.
    pub join_attempts_per_minute: u32,
    /// Look-ups of one room per client address per minute once its code
    /// was let in: a venue's guests behind one address join one room.
    pub room_requests_per_minute: u32,
    /// Socket.IO events allowed per member per minute (all their sockets).
    pub events_per_minute: u32,
    /// Photos a member may share per minute.
    pub photos_per_minute: u32,
    /// Login attempts per client address per minute.
    pub login_attempts_per_minute: u32,
    /// Accounts one account may follow (1 to 5,000).
    pub max_following: usize,
    /// Largest Socket.IO event payload handled (bigger → `payload_too_large`).
    pub max_event_bytes: usize,
    /// On `serve`, create (or reuse) a party room and print how to join it.
    pub default_room: bool,
    /// Scale-out: Redis for cross-node Socket.IO, presence, rate limits and
    /// the room cache, e.g. `redis://127.0.0.1:6379`.
    pub redis_url: Option<String>,
    /// Scale-out: MongoDB (or a MongoDB-compatible service) instead of the
    /// embedded store, e.g. `mongodb://127.0.0.1:27017`.
    pub mongodb_uri: Option<String>,
    /// Database name used with `mongodb_uri`.
    pub mongodb_db: String,
    /// Behind a load balancer: take the client address from the last
    /// `X-Forwarded-For` entry (for rate limits).
    pub behind_proxy: bool,
    /// Name of this node in logs and presence entries; random when unset.
    pub node_id: Option<String>,
    /// Scale-out: Meilisearch instead of the embedded tantivy index, e.g.
    /// `http://127.0.0.1:7700`.
    pub meilisearch_url: Option<String>,
    /// The Meilisearch API key: the nodes' own key (`crowdjuke search-key`),
    /// or any key allowed the same (the master key works, but should not be
    /// handed to every node).
    pub meilisearch_api_key: Option<ApiKey>,
    /// A bearer token `GET /metrics` asks for. Unset, `/metrics` answers
    /// only clients on this machine (loopback).
    pub metrics_token: Option<ApiKey>,
    /// The built web app (`frontend/dist`, made by `cargo build` or
    /// `npm run build` in `frontend/`).
    pub web_dir: PathBuf,
    /// Spotify app client id (from the Spotify developer dashboard); the
    /// Spotify features are off while it is unset.
    pub spotify_client_id: Option<String>,
    /// Spotify app client secret: turns on the catalogue fallback of the
    /// search box (client credentials; linking needs no secret, it uses PKCE).
    pub spotify_client_secret: Option<ApiKey>,
    /// The redirect URL registered with the Spotify app; by default
    /// `{public_url}/api/providers/spotify/callback`.
    pub spotify_redirect_url: Option<String>,
    /// Spotify Web API base (change only for testing).
    pub spotify_api_url: String,
    /// Spotify accounts service base (change only for testing).
    pub spotify_accounts_url: String,
    /// Longest wait for Spotify's catalogue in the search box (ms); slower
    /// answers are dropped and the library's hits answer alone.
    pub spotify_search_budget_ms: u64,
    /// Music folders played from where they are: scanned into the library
    /// at start (in the background). In the environment, a list:
    /// `CROWDJUKE_MUSIC_DIRS='["/srv/music", "/mnt/more"]'`.
    pub music_dirs: Vec<PathBuf>,
    /// 64 hex characters: the key that encrypts stored music service grants.
    /// Derived from the server's token secret when unset.
    pub provider_token_key: Option<ApiKey>,
}

/// A secret that never shows in logs or `Debug` output.
#[derive(Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ApiKey(pub String);

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    Pretty,
    Json,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([0, 0, 0, 0], 8080)),
            data_dir: PathBuf::from("data"),
            public_url: None,
            log_format: LogFormat::Pretty,
            log_unredacted: false,
            room_idle_hours: 48,
            join_attempts_per_minute: 30,
            room_requests_per_minute: 600,
            events_per_minute: 600,
            photos_per_minute: 12,
            login_attempts_per_minute: 10,
            max_following: crate::accounts::MAX_FOLLOWING,
            max_event_bytes: 16 * 1024,
            default_room: true,
            web_dir: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/frontend/dist")),
            redis_url: None,
            mongodb_uri: None,
            mongodb_db: "crowdjuke".to_string(),
            node_id: None,
            behind_proxy: false,
            meilisearch_url: None,
            meilisearch_api_key: None,
            metrics_token: None,
            spotify_client_id: None,
            spotify_client_secret: None,
            spotify_redirect_url: None,
            spotify_api_url: "https://api.spotify.com/v1/".to_string(),
            spotify_accounts_url: "https://accounts.spotify.com/".to_string(),
            provider_token_key: None,
            music_dirs: Vec::new(),
            spotify_search_budget_ms: 2_000,
        }
    }
}

/// Flags given on the command line; only those set override the layers below.
#[derive(Debug, Default, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_room: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub music_dirs: Option<Vec<PathBuf>>,
}

impl Settings {
    pub fn load(config_file: Option<&Path>, overrides: &Overrides) -> anyhow::Result<Self> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(file) = config_file {
            anyhow::ensure!(file.exists(), "config file {} not found", file.display());
            figment = figment.merge(Toml::file(file));
        }
        let settings = figment.merge(Env::prefixed("CROWDJUKE_")).merge(Serialized::defaults(overrides)).extract()?;
        Ok(settings)
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment::Jail closures return figment::Error
mod tests {
    use super::*;

    #[test]
    fn flags_beat_the_environment_which_beats_the_file() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("c.toml", "listen = '127.0.0.1:1000'\ndata_dir = 'from-file'\nroom_idle_hours = 5")?;
            jail.set_env("CROWDJUKE_DATA_DIR", "from-env");
            let flags = Overrides { listen: Some("127.0.0.1:3000".parse().expect("addr")), ..Overrides::default() };
            let s = Settings::load(Some(Path::new("c.toml")), &flags).expect("settings load");
            assert_eq!(s.listen.port(), 3000);
            assert_eq!(s.data_dir, PathBuf::from("from-env"));
            assert_eq!(s.room_idle_hours, 5);
            assert_eq!(s.max_event_bytes, 16 * 1024);
            Ok(())
        });
    }

    /// Every `CROWDJUKE_*` variable is read as a setting, and an unknown
    /// one stops start-up: so the build and test tools must never use the
    /// prefix for their own variables (a user exporting one would get an
    /// error from `serve`). Every such name in the repository's scripts,
    /// tests, deployment files and docs must be a setting.
    #[test]
    fn every_crowdjuke_variable_in_the_repository_is_a_setting() {
        let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(Settings::default()) else {
            panic!("settings serialize to an object");
        };
        let settings: Vec<String> = fields.keys().map(|k| format!("CROWDJUKE_{}", k.to_uppercase())).collect();
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = vec![root.join("build.rs"), root.join("Dockerfile"), root.join("docker-compose.yml")];
        for dir in ["scripts", "scripts/lib", "tests/api", "tests/e2e", "deploy", "docs", "src", "src/http"] {
            let entries = std::fs::read_dir(root.join(dir)).expect("directory");
            files.extend(entries.flatten().map(|e| e.path()).filter(|p| p.is_file()));
        }
        files.push(root.join("README.md"));
        let mut strays = Vec::new();
        for file in files {
            let Ok(text) = std::fs::read_to_string(&file) else { continue };
            for (at, _) in text.match_indices("CROWDJUKE_") {
                let name: String = text[at..].chars().take_while(|c| c.is_ascii_uppercase() || *c == '_').collect();
                let is_prefix = name == "CROWDJUKE_";
                let setting = settings.contains(&name);
                if !is_prefix && !setting {
                    strays.push(format!("{name} in {}", file.strip_prefix(root).unwrap_or(&file).display()));
                }
            }
        }
        assert!(strays.is_empty(), "not settings, yet named like one: {strays:#?}");
    }

    #[test]
    fn unknown_settings_are_an_error() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("c.toml", "lisen = '127.0.0.1:1000'")?;
            assert!(Settings::load(Some(Path::new("c.toml")), &Overrides::default()).is_err());
            Ok(())
        });
    }
}
