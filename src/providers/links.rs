//! Linking an account on a music service, and keeping its grant usable.
//!
//! A link belongs to one of our accounts (not to a room member): it
//! outlives parties. `start_link` stores a single-use OAuth `state` with
//! its PKCE verifier; `finish_link` takes that state (once, whichever node
//! the callback reaches), trades the code for a grant and saves the link
//! with the grant sealed. `with_grant` hands a fresh grant to a call:
//! refreshed a minute before it expires, saved by compare-and-swap on the
//! link's revision (Spotify rotates refresh tokens, so of two nodes
//! refreshing at once only one may save; the other uses the winner's). A
//! grant the service refuses marks the link broken, with a message for
//! the user, and nothing else: the party goes on.

use serde::Serialize;
use serde_json::json;

use super::Providers;
use super::{Grant, MusicProvider, ProviderError, ProviderResult};
use crate::broadcast::{Audience, Payload};
use crate::domain::{LinkStatus, Millis, PendingAuthorization, ProviderLink};
use crate::error::{AppError, Result};
use crate::ids::random_id;
use crate::store::StoreError;
use crate::store::providers::link_key;

/// How long a user has to approve the link on the service.
pub const STATE_LIFETIME_MS: Millis = 10 * 60_000;
/// Grants are refreshed this long before they expire.
const REFRESH_AHEAD_MS: Millis = 60_000;

/// A link as its owner sees it (never the grant).
#[derive(Debug, Serialize)]
pub struct LinkView {
    pub provider: String,
    pub linked: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<LinkStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub linked_at: Option<Millis>,
}

impl LinkView {
    pub fn of(provider: &str, link: Option<ProviderLink>) -> Self {
        match link {
            None => Self {
                provider: provider.to_string(),
                linked: false,
                status: None,
                account_id: None,
                account_name: None,
                message: None,
                linked_at: None,
            },
            Some(link) => Self {
                provider: link.provider,
                linked: true,
                status: Some(link.status),
                account_id: Some(link.external_id),
                account_name: link.external_name,
                message: link.message,
                linked_at: Some(link.linked_at),
            },
        }
    }
}

impl Providers {
    /// The URL to send the user to; the state it carries is stored for the
    /// callback.
    pub async fn start_link(&self, provider: &dyn MusicProvider, user_id: &str) -> Result<String> {
        let state = format!("{}{}", random_id(&mut rand::rng()), random_id(&mut rand::rng()));
        let authorization = provider.authorize(&state)?;
        let pending = PendingAuthorization {
            state,
            provider: provider.name().to_string(),
            user_id: user_id.to_string(),
            verifier: authorization.verifier,
            created_at: self.clock.now(),
        };
        self.store.providers().insert_authorization(&pending).await?;
        Ok(authorization.url)
    }

    /// Completes a link from the service's callback. A state that is
    /// unknown, used, expired or for another service is `invalid_state`
    /// and changes nothing; the state is used up even when the callback
    /// carries no code (the user declined), so it cannot be replayed.
    pub async fn finish_link(
        &self,
        provider: &dyn MusicProvider,
        state: &str,
        code: Option<&str>,
    ) -> Result<ProviderLink> {
        let pending = self.store.providers().take_authorization(state).await?.ok_or(AppError::InvalidState)?;
        if pending.provider != provider.name() || self.clock.now() > pending.created_at + STATE_LIFETIME_MS {
            return Err(AppError::InvalidState);
        }
        let code =
            code.ok_or_else(|| AppError::InvalidPayload("the callback has no code: access was not granted".into()))?;
        let tokens = self.0.guard.call(provider.exchange_code(code, &pending.verifier)).await.map_err(|e| match e {
            // The code was refused: expired, used, or not for us.
            ProviderError::Revoked(_) | ProviderError::Expired => AppError::InvalidState,
            other => other.into(),
        })?;
        let grant = Grant::from_tokens(tokens, self.clock.now(), None);
        let profile = self.0.guard.call(provider.profile(&grant)).await?;
        let store = self.store.providers();
        let previous = store.link(&pending.user_id, provider.name()).await?;
        let link = ProviderLink {
            user_id: pending.user_id.clone(),
            provider: provider.name().to_string(),
            external_id: profile.id,
            external_name: profile.name,
            sealed_grant: self.seal(&pending.user_id, &grant),
            expires_at: grant.expires_at,
            status: LinkStatus::Ok,
            message: None,
            linked_at: self.clock.now(),
            revision: previous.as_ref().map_or(1, |p| p.revision + 1),
        };
        store.save_link(&link, previous.map(|p| p.revision)).await.map_err(|e| match e {
            StoreError::Conflict => AppError::Unavailable,
            other => other.into(),
        })?;
        tracing::info!(user_id = %link.user_id, provider = %link.provider, "music service linked");
        self.announce_link(&link).await;
        Ok(link)
    }

    /// Removes a link; the service keeps the grant until the user revokes it
    /// there (Spotify has no revocation endpoint).
    pub async fn unlink(&self, provider: &str, user_id: &str) -> Result<()> {
        self.store.providers().delete_link(user_id, provider).await?;
        Ok(())
    }

    /// Runs `call` with a fresh grant of `user_id`'s link, through the
    /// guard. A 401 refreshes and retries once; a refusal breaks the link
    /// (`provider_link_broken`).
    pub async fn with_grant<T, F, Fut>(&self, provider: &dyn MusicProvider, user_id: &str, call: F) -> Result<T>
    where
        F: Fn(Grant) -> Fut,
        Fut: Future<Output = ProviderResult<T>>,
    {
        let mut refreshed = false;
        loop {
            let grant = self.fresh_grant(provider, user_id, refreshed).await?;
            match self.0.guard.call(call(grant)).await {
                Err(ProviderError::Expired) if !refreshed => refreshed = true,
                Err(ProviderError::Expired) => {
                    let message = "Spotify no longer accepts this link: link the account again".to_string();
                    return Err(self.break_link(provider.name(), user_id, message).await);
                }
                Err(ProviderError::Revoked(message)) => {
                    return Err(self.break_link(provider.name(), user_id, message).await);
                }
                other => return other.map_err(AppError::from),
            }
        }
    }

    /// The link's grant, refreshed first if it is about to expire (or
    /// `force`d after a 401). Refreshes of one link take turns (a per-node
    /// mutex, and a Redis lock across nodes): the one that waited finds the
    /// grant refreshed and uses it, instead of spending a refresh token
    /// Spotify has just rotated. The compare-and-swap stays the guarantee.
    async fn fresh_grant(&self, provider: &dyn MusicProvider, user_id: &str, force: bool) -> Result<Grant> {
        let (link, grant) = self.current_grant(provider, user_id).await?;
        if !force && !self.due(&link) {
            return Ok(grant);
        }
        let key = link_key(user_id, provider.name());
        let slot = self.0.refreshes.slot(&key);
        let _local = slot.lock().await;
        let _shared = self.locks.acquire(&format!("link:{key}")).await;
        let (latest, grant) = self.current_grant(provider, user_id).await?;
        if latest.revision != link.revision && !self.due(&latest) {
            return Ok(grant);
        }
        match self.0.guard.call(provider.refresh(&grant)).await {
            Ok(tokens) => {
                let fresh = Grant::from_tokens(tokens, self.clock.now(), Some(&grant));
                let saved = ProviderLink {
                    sealed_grant: self.seal(user_id, &fresh),
                    expires_at: fresh.expires_at,
                    revision: latest.revision + 1,
                    ..latest.clone()
                };
                match self.store.providers().save_link(&saved, Some(latest.revision)).await {
                    Ok(()) => Ok(fresh),
                    // Another node refreshed meanwhile (its lock lapsed): use its grant.
                    Err(StoreError::Conflict) => Ok(self.current_grant(provider, user_id).await?.1),
                    Err(e) => Err(e.into()),
                }
            }
            Err(ProviderError::Revoked(message)) => {
                // A refresh token another node just rotated is refused too:
                // only a link nobody refreshed meanwhile is broken.
                let (now, grant) = self.current_grant(provider, user_id).await?;
                if now.revision != latest.revision {
                    return Ok(grant);
                }
                Err(self.break_link(provider.name(), user_id, message).await)
            }
            Err(e) => Err(e.into()),
        }
    }

    fn due(&self, link: &ProviderLink) -> bool {
        link.expires_at <= self.clock.now() + REFRESH_AHEAD_MS
    }

    /// The stored link and its grant; a broken or unreadable link is an error.
    async fn current_grant(&self, provider: &dyn MusicProvider, user_id: &str) -> Result<(ProviderLink, Grant)> {
        let link = self.store.providers().link(user_id, provider.name()).await?.ok_or(AppError::ProviderNotLinked)?;
        if link.status == LinkStatus::Broken {
            return Err(AppError::ProviderLinkBroken(link.message.unwrap_or_default()));
        }
        match self.open(&link) {
            Some(grant) => Ok((link, grant)),
            None => {
                let message = "the stored grant cannot be read (was the key changed?): link the account again";
                Err(self.break_link(provider.name(), user_id, message.to_string()).await)
            }
        }
    }

    /// Marks the link broken with `message` and tells the owner; returns the
    /// error to answer with.
    async fn break_link(&self, provider: &str, user_id: &str, message: String) -> AppError {
        let store = self.store.providers();
        if let Ok(Some(link)) = store.link(user_id, provider).await
            && link.status == LinkStatus::Ok
        {
            let broken = ProviderLink {
                status: LinkStatus::Broken,
                message: Some(message.clone()),
                revision: link.revision + 1,
                ..link.clone()
            };
            match store.save_link(&broken, Some(link.revision)).await {
                Ok(()) => {
                    tracing::warn!(user_id, provider, %message, "music service link broken");
                    self.announce_link(&broken).await;
                }
                Err(e) => tracing::warn!(user_id, provider, error = %e, "could not mark the link broken"),
            }
        }
        AppError::ProviderLinkBroken(message)
    }

    /// `provider:link` on the owner's `/feed` sockets.
    async fn announce_link(&self, link: &ProviderLink) {
        let view = LinkView::of(&link.provider, Some(link.clone()));
        let payload = Payload::new(&json!({ "link": view }));
        self.broadcaster.emit(Audience::Accounts(vec![link.user_id.clone()]), "provider:link", payload).await;
    }

    fn seal(&self, user_id: &str, grant: &Grant) -> String {
        let bytes = serde_json::to_vec(grant).expect("a grant serialises");
        self.sealer.seal(&bytes, user_id)
    }

    fn open(&self, link: &ProviderLink) -> Option<Grant> {
        let bytes = self.sealer.open(&link.sealed_grant, &link.user_id)?;
        serde_json::from_slice(&bytes).ok()
    }
}
