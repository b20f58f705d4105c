//! Slower background work, apart from the player so a slow service cannot
//! delay a track change: version announcements (every 3 s), presence
//! refresh (10 s), re-planning rooms changed by other nodes (5 s, when
//! scaled out), photos whose render job was lost and music service jobs whose
//! node stopped (10 s), the idle-room
//! sweep (60 s), visits of guests still online (5 min), orphan photo files
//! and the leftovers of writes a crash cut short (temporary files, GridFS
//! chunks without a file; at start, then hourly) and analytics and co-likes past retention (at
//! start, then daily).
//!
//! Owns: the housekeeping loop and its periods.
//! May use: state, realtime's `Hub`. Sits with `app` at the top: nothing
//! imports it but `app`.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::realtime::{Announced, Hub};
use crate::state::AppState;

/// How often idle rooms are swept.
const SWEEP_EVERY_SECONDS: u64 = 60;
/// Analytics events past their retention are swept at start, then daily.
const ANALYTICS_SWEEP_EVERY_SECONDS: u64 = 86_400;
/// The orphan photo file sweep runs at start and then this often.
const ORPHAN_SWEEP_EVERY_SECONDS: u64 = 3600;
/// A half-written blob untouched this long was cut short by a crash (an
/// upload still under way writes more often than this). Shorter than the
/// sweeps' period, so GridFS leftovers go at the second sweep that sees them.
const LEFTOVER_AGE: Duration = Duration::from_secs(1800);

/// Runs until `stop` is cancelled.
pub async fn run(app: AppState, hub: Arc<Hub>, stop: CancellationToken) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut seconds: u64 = 0;
    let mut announced = Announced::new();
    let shared_store = app.settings.mongodb_uri.is_some();
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        seconds += 1;
        if seconds.is_multiple_of(3) {
            hub.announce_versions(app.rooms.cache.as_ref(), &mut announced).await;
        }
        if seconds.is_multiple_of(10) {
            app.presence.refresh().await;
        }
        if shared_store
            && seconds.is_multiple_of(5)
            && let Err(e) = app.rooms.plan_all().await
        {
            tracing::warn!(error = %e, "could not re-plan rooms");
        }
        if seconds.is_multiple_of(10) {
            app.photos.resume_rendering().await;
            app.providers.resume_jobs().await;
        }
        if seconds.is_multiple_of(crate::analytics::VISIT_REFRESH_SECONDS) {
            let analytics = app.analytics.clone();
            let here = app.presence.here();
            tokio::spawn(async move { analytics.refresh_visits(here).await });
        }
        if seconds % ANALYTICS_SWEEP_EVERY_SECONDS == 2 {
            let (analytics, autopilot) = (app.analytics.clone(), app.autopilot.clone());
            tokio::spawn(async move {
                analytics.sweep().await;
                autopilot.sweep_co_likes().await;
            });
        }
        if seconds % ORPHAN_SWEEP_EVERY_SECONDS == 1 {
            // Its own task: listing every file must not delay the rest.
            let (photos, blobs) = (app.photos.clone(), app.blobs.clone());
            tokio::spawn(async move {
                match photos.sweep_orphan_blobs().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(files = n, "removed orphan photo files"),
                    Err(e) => tracing::warn!(error = %e, "orphan photo file sweep failed"),
                }
                match blobs.sweep_leftovers(LEFTOVER_AGE).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(leftovers = n, "removed what crashed writes left behind"),
                    Err(e) => tracing::warn!(error = %e, "leftover sweep failed"),
                }
            });
        }
        if seconds.is_multiple_of(SWEEP_EVERY_SECONDS) {
            match app.expire_idle_rooms().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(rooms = n, "expired idle rooms"),
                Err(e) => tracing::warn!(error = %e, "idle room sweep failed"),
            }
        }
    }
}
