//! Spotify through rspotify: authorization code with PKCE for users, client
//! credentials for catalogue search. Each user call gets a client holding
//! that user's token with rspotify's own refreshing off (refresh is
//! compare-and-swap on the stored link, see `links`). Calls run in a
//! spawned task, because rspotify panics on some malformed responses (a
//! playlist without `items`); such a panic becomes `BadResponse`.

use std::collections::HashSet;

use async_trait::async_trait;
use chrono::{TimeDelta, Utc};
use rspotify::clients::{BaseClient, OAuthClient};
use rspotify::http::HttpError;
use rspotify::model::{FullTrack, PlayableId, PlayableItem, PlaylistId, SearchResult, SearchType, TrackId, UserId};
use rspotify::prelude::Id;
use rspotify::{AuthCodePkceSpotify, ClientCredsSpotify, ClientError, ClientResult, Config, Credentials, OAuth, Token};
use serde_json::json;

use super::{
    Authorization, Device, Grant, MusicProvider, Page, Playlist, Profile, ProviderError, ProviderResult, Tokens,
};
use crate::domain::Track;

/// Page size of playlist and library listings (Spotify's largest).
const PAGE: u32 = 50;

/// What the server asks a user for: read playlists and liked songs, create
/// playlists, see and control playback devices.
const SCOPES: [&str; 7] = [
    "playlist-read-private",
    "playlist-read-collaborative",
    "user-library-read",
    "playlist-modify-private",
    "playlist-modify-public",
    "user-read-playback-state",
    "user-modify-playback-state",
];

pub struct SpotifyConfig {
    pub client_id: String,
    pub client_secret: Option<String>,
    pub redirect_url: String,
    /// `https://api.spotify.com/v1/` unless testing.
    pub api_url: String,
    /// `https://accounts.spotify.com/` unless testing.
    pub accounts_url: String,
}

pub struct Spotify {
    creds: Credentials,
    oauth: OAuth,
    config: Config,
    /// For catalogue search; `None` without a client secret.
    catalogue: Option<ClientCredsSpotify>,
}

impl Spotify {
    pub fn new(settings: SpotifyConfig) -> Self {
        let config = Config {
            api_base_url: with_slash(settings.api_url),
            auth_base_url: with_slash(settings.accounts_url),
            token_refreshing: false,
            ..Config::default()
        };
        let oauth = OAuth {
            redirect_uri: settings.redirect_url,
            scopes: SCOPES.iter().map(|s| s.to_string()).collect::<HashSet<_>>(),
            ..OAuth::default()
        };
        let catalogue = settings.client_secret.as_ref().map(|secret| {
            ClientCredsSpotify::with_config(Credentials::new(&settings.client_id, secret), config.clone())
        });
        Self { creds: Credentials::new_pkce(&settings.client_id), oauth, config, catalogue }
    }

    fn user(&self, grant: &Grant) -> AuthCodePkceSpotify {
        AuthCodePkceSpotify::from_token_with_config(
            token_of(grant),
            self.creds.clone(),
            self.oauth.clone(),
            self.config.clone(),
        )
    }

    fn pkce(&self) -> AuthCodePkceSpotify {
        AuthCodePkceSpotify::with_config(self.creds.clone(), self.oauth.clone(), self.config.clone())
    }
}

fn with_slash(mut url: String) -> String {
    if !url.ends_with('/') {
        url.push('/');
    }
    url
}

#[async_trait]
impl MusicProvider for Spotify {
    fn name(&self) -> &'static str {
        "spotify"
    }

    fn authorize(&self, state: &str) -> ProviderResult<Authorization> {
        let mut client = self.pkce();
        client.oauth.state = state.to_string();
        let url = client.get_authorize_url(None).map_err(|e| ProviderError::BadResponse(e.to_string()))?;
        let verifier = client.verifier.clone().ok_or_else(|| ProviderError::BadResponse("no PKCE verifier".into()))?;
        Ok(Authorization { url, verifier })
    }

    async fn exchange_code(&self, code: &str, verifier: &str) -> ProviderResult<Tokens> {
        let mut client = self.pkce();
        client.verifier = Some(verifier.to_string());
        let code = code.to_string();
        let token = call(async move {
            client.request_token(&code).await?;
            Ok(client.token.lock().await.ok().and_then(|t| t.clone()))
        })
        .await?;
        token.map(tokens_of).ok_or_else(|| ProviderError::BadResponse("no token in the answer".into()))
    }

    async fn refresh(&self, grant: &Grant) -> ProviderResult<Tokens> {
        if grant.refresh_token.is_none() {
            return Err(ProviderError::Revoked("Spotify gave no refresh token: link the account again".into()));
        }
        let client = self.user(grant);
        let token = call(async move { client.refetch_token().await }).await?;
        token.map(tokens_of).ok_or(ProviderError::Expired)
    }

    async fn profile(&self, grant: &Grant) -> ProviderResult<Profile> {
        let client = self.user(grant);
        let me = call(async move { client.me().await }).await?;
        Ok(Profile { id: me.id.to_string().trim_start_matches("spotify:user:").to_string(), name: me.display_name })
    }

    async fn playlists(&self, grant: &Grant, offset: u32) -> ProviderResult<Page<Playlist>> {
        let client = self.user(grant);
        let page = call(async move { client.current_user_playlists_manual(Some(PAGE), Some(offset)).await }).await?;
        let items = page
            .items
            .iter()
            .map(|p| Playlist {
                id: p.id.to_string().rsplit(':').next().unwrap_or_default().to_string(),
                name: p.name.clone(),
                tracks: u64::from(p.items.total),
                url: p.external_urls.get("spotify").cloned(),
            })
            .collect();
        Ok(Page {
            items,
            skipped: 0,
            total: u64::from(page.total),
            next_offset: next(page.offset, page.limit, page.total),
        })
    }

    async fn playlist_tracks(&self, grant: &Grant, playlist_id: &str, offset: u32) -> ProviderResult<Page<Track>> {
        let id = PlaylistId::from_id(playlist_id.to_string()).map_err(|_| ProviderError::NotFound("the playlist"))?;
        let client = self.user(grant);
        let page =
            call(async move { client.playlist_items_manual(id, None, None, Some(PAGE), Some(offset)).await }).await?;
        let found: Vec<Option<Track>> = page
            .items
            .iter()
            .map(|item| match &item.item {
                Some(PlayableItem::Track(track)) => track_of(track),
                _ => None,
            })
            .collect();
        Ok(paged(found, page.offset, page.limit, page.total))
    }

    async fn liked_tracks(&self, grant: &Grant, offset: u32) -> ProviderResult<Page<Track>> {
        let client = self.user(grant);
        let page =
            call(async move { client.current_user_saved_tracks_manual(None, Some(PAGE), Some(offset)).await }).await?;
        let found = page.items.iter().map(|saved| track_of(&saved.track)).collect();
        Ok(paged(found, page.offset, page.limit, page.total))
    }

    fn can_search(&self) -> bool {
        self.catalogue.is_some()
    }

    async fn search(&self, q: &str, limit: u32) -> ProviderResult<Vec<Track>> {
        let Some(client) = self.catalogue.clone() else {
            return Err(ProviderError::Unavailable("no client secret configured".into()));
        };
        let q = q.to_string();
        let result = call(async move {
            let expired = client.token.lock().await.ok().is_none_or(|t| t.as_ref().is_none_or(Token::is_expired));
            if expired {
                client.request_token().await?;
            }
            client.search(&q, SearchType::Track, None, None, Some(limit), None).await
        })
        .await?;
        match result {
            SearchResult::Tracks(page) => Ok(page.items.iter().filter_map(track_of).collect()),
            _ => Err(ProviderError::BadResponse("a search for tracks answered something else".into())),
        }
    }

    async fn create_playlist(&self, grant: &Grant, name: &str, description: &str) -> ProviderResult<Playlist> {
        let client = self.user(grant);
        let (name, description) = (name.to_string(), description.to_string());
        // The user id is no longer used by the endpoint (`me/playlists`).
        let me = UserId::from_id("me").map_err(|e| ProviderError::BadResponse(e.to_string()))?;
        let created = call(async move {
            client.user_playlist_create(me, &name, Some(false), Some(false), Some(&description)).await
        })
        .await?;
        Ok(Playlist {
            id: created.id.to_string().rsplit(':').next().unwrap_or_default().to_string(),
            name: created.name,
            tracks: 0,
            url: created.external_urls.get("spotify").cloned(),
        })
    }

    async fn add_to_playlist(&self, grant: &Grant, playlist_id: &str, uris: &[String]) -> ProviderResult<()> {
        let id = PlaylistId::from_id(playlist_id.to_string()).map_err(|_| ProviderError::NotFound("the playlist"))?;
        let tracks: Vec<TrackId<'static>> =
            uris.iter().filter_map(|u| TrackId::from_uri(u).ok()).map(|t| t.into_static()).collect();
        let client = self.user(grant);
        call(async move { client.playlist_add_items(id, tracks.into_iter().map(PlayableId::Track), None).await })
            .await?;
        Ok(())
    }

    async fn devices(&self, grant: &Grant) -> ProviderResult<Vec<Device>> {
        let client = self.user(grant);
        let devices = call(async move { client.device().await }).await?;
        Ok(devices
            .into_iter()
            .filter_map(|d| {
                Some(Device {
                    id: d.id?,
                    name: d.name,
                    kind: format!("{:?}", d._type).to_lowercase(),
                    active: d.is_active,
                })
            })
            .collect())
    }

    async fn play(&self, grant: &Grant, device_id: &str, uri: &str, position_ms: u64) -> ProviderResult<()> {
        let track = TrackId::from_uri(uri).map_err(|_| ProviderError::NotFound("the track"))?.into_static();
        let client = self.user(grant);
        let device_id = device_id.to_string();
        let position = TimeDelta::milliseconds(position_ms.min(i64::MAX as u64) as i64);
        call(async move {
            client.start_uris_playback([PlayableId::Track(track)], Some(&device_id), None, Some(position)).await
        })
        .await
    }

    async fn pause(&self, grant: &Grant, device_id: &str) -> ProviderResult<()> {
        let client = self.user(grant);
        let device_id = device_id.to_string();
        call(async move { client.pause_playback(Some(&device_id)).await }).await
    }
}

/// Runs one rspotify call in its own task and maps what can go wrong.
async fn call<T: Send + 'static>(request: impl Future<Output = ClientResult<T>> + Send + 'static) -> ProviderResult<T> {
    match tokio::spawn(request).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(error_of(e).await),
        Err(e) if e.is_panic() => Err(ProviderError::BadResponse("a response could not be read".into())),
        Err(e) => Err(ProviderError::Unavailable(e.to_string())),
    }
}

async fn error_of(error: ClientError) -> ProviderError {
    match error {
        ClientError::Http(http) => match *http {
            HttpError::StatusCode(response) => {
                let status = response.status().as_u16();
                let retry_after = response
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok());
                let body = response.text().await.unwrap_or_default();
                error_of_status(status, retry_after, &body)
            }
            HttpError::Client(e) => ProviderError::Unavailable(e.to_string()),
        },
        ClientError::ParseJson(e) => ProviderError::BadResponse(e.to_string()),
        ClientError::InvalidToken => ProviderError::Expired,
        other => ProviderError::BadResponse(other.to_string()),
    }
}

/// What an error status means, per Spotify's documentation: 401 a bad or
/// expired token, 403 refused (a revoked grant, or Premium needed for
/// playback), 429 rate limited, 400 `invalid_grant` from the token endpoint
/// a refresh token that no longer works.
fn error_of_status(status: u16, retry_after: Option<u64>, body: &str) -> ProviderError {
    match status {
        400 if body.contains("invalid_grant") => ProviderError::Revoked(
            "Spotify no longer accepts this link (access was revoked or expired): link the account again".into(),
        ),
        401 => ProviderError::Expired,
        403 if body.contains("PREMIUM_REQUIRED") => ProviderError::PremiumRequired,
        403 => ProviderError::Revoked("Spotify refused access to this account: link it again".into()),
        404 => ProviderError::NotFound("the item"),
        429 => ProviderError::RateLimited(retry_after.unwrap_or(5)),
        500..=599 => ProviderError::Unavailable(format!("Spotify answered {status}")),
        _ => ProviderError::BadResponse(format!("Spotify answered {status}")),
    }
}

/// A token for rspotify. Expiry is ours to watch (on the server's clock,
/// see `links`), so rspotify is told it is valid for the hour.
fn token_of(grant: &Grant) -> Token {
    let expires_in = TimeDelta::hours(1);
    Token {
        access_token: grant.access_token.clone(),
        expires_in,
        expires_at: Some(Utc::now() + expires_in),
        refresh_token: grant.refresh_token.clone(),
        scopes: grant.scopes.iter().cloned().collect(),
    }
}

fn tokens_of(token: Token) -> Tokens {
    let mut scopes: Vec<String> = token.scopes.into_iter().collect();
    scopes.sort();
    Tokens {
        access_token: token.access_token,
        refresh_token: token.refresh_token,
        expires_in_ms: token.expires_in.num_milliseconds().max(0) as u64,
        scopes,
    }
}

fn next(offset: u32, limit: u32, total: u32) -> Option<u32> {
    let next = offset.saturating_add(limit.max(1));
    (next < total).then_some(next)
}

fn paged(found: Vec<Option<Track>>, offset: u32, limit: u32, total: u32) -> Page<Track> {
    let skipped = found.iter().filter(|t| t.is_none()).count() as u64;
    Page {
        items: found.into_iter().flatten().collect(),
        skipped,
        total: u64::from(total),
        next_offset: next(offset, limit, total),
    }
}

/// A Spotify track as a library track, validated like an imported row (the
/// same ISRC gives the same id as a CSV import); local files and tracks
/// that do not validate are `None`.
fn track_of(track: &FullTrack) -> Option<Track> {
    let id = track.id.as_ref().filter(|_| !track.is_local)?;
    let year = track.album.release_date.as_deref().and_then(|d| d.get(..4)).and_then(|y| y.parse::<u16>().ok());
    #[allow(deprecated)] // Spotify stopped sending popularity; 0 when absent
    let popularity = track.popularity.min(100);
    let row = json!({
        "title": track.name,
        "artists": track.artists.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(),
        "album": track.album.name,
        "year": year,
        "duration_ms": track.duration.num_milliseconds().max(0),
        "explicit": track.explicit,
        "popularity": popularity,
        "isrc": track.external_ids.get("isrc"),
        "provider_uri": id.uri(),
        "artwork_url": track.album.images.first().map(|i| i.url.as_str()),
    });
    crate::music::import::validate(row).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_what_the_server_acts_on() {
        assert_eq!(error_of_status(401, None, ""), ProviderError::Expired);
        assert!(matches!(error_of_status(403, None, "{}"), ProviderError::Revoked(_)));
        assert_eq!(
            error_of_status(403, None, r#"{"error":{"reason":"PREMIUM_REQUIRED"}}"#),
            ProviderError::PremiumRequired
        );
        assert!(matches!(error_of_status(400, None, r#"{"error":"invalid_grant"}"#), ProviderError::Revoked(_)));
        assert_eq!(error_of_status(429, Some(7), ""), ProviderError::RateLimited(7));
        assert_eq!(error_of_status(429, None, ""), ProviderError::RateLimited(5));
        assert!(matches!(error_of_status(503, None, ""), ProviderError::Unavailable(_)));
        assert!(matches!(error_of_status(418, None, ""), ProviderError::BadResponse(_)));
    }

    #[test]
    fn a_grant_survives_the_round_trip_through_a_token() {
        let grant = Grant {
            access_token: "a".into(),
            refresh_token: Some("r".into()),
            expires_at: 4_000_000_000_000,
            scopes: vec!["x".into(), "y".into()],
        };
        let tokens = tokens_of(token_of(&grant));
        assert_eq!((tokens.access_token.as_str(), tokens.refresh_token.as_deref()), ("a", Some("r")));
        assert_eq!(tokens.scopes, grant.scopes);
        assert_eq!(Grant::from_tokens(tokens, 1_000, None).expires_at, 1_000 + 3_600_000);
    }

    #[test]
    fn pages_know_their_next_offset() {
        assert_eq!(next(0, 50, 120), Some(50));
        assert_eq!(next(100, 50, 120), None);
        assert_eq!(next(0, 50, 0), None);
        assert_eq!(next(0, 0, 10), Some(1), "a zero limit cannot loop forever");
    }
}
