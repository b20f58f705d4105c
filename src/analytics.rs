//! Venue analytics: records what happens in zones and answers the
//! dashboard. After each commit in a zone (this node's commits, so each
//! once) it records the plays that ended and the requests staff decided;
//! a guest's visit is noted when they come online, when they leave and
//! every `VISIT_REFRESH_SECONDS` while they stay. Reports are summed by the
//! store over a range of local days (docs/ANALYTICS.md); events older than
//! `RETENTION_DAYS` are swept daily.
//!
//! Recording is best effort: the commit already happened, and a node that
//! dies between the commit and the record loses that one event (a report
//! is a measure, not a ledger).
//!
//! Owns: `Analytics`. May use: rooms, store, clock, domain, venues.
//! Must not import: other services, state, realtime, http.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio_util::task::TaskTracker;

use crate::clock::SharedClock;
use crate::domain::analytics::{self, DayRange, LocalTime, Report, What, ZoneEvent};
use crate::domain::room::is_screen_id;
use crate::domain::{Change, Millis, Outcome, PlayEnd, Room, User, VenueAction};
use crate::error::Result;
use crate::rooms::{CommitListener, Rooms};
use crate::store::Store;
use crate::venues::Venues;

/// How often the visits of guests still online are extended.
pub const VISIT_REFRESH_SECONDS: u64 = 300;
/// How long a venue's time zone is kept before it is read again.
const TIME_ZONE_TTL_MS: Millis = 300_000;

#[derive(Clone)]
pub struct Analytics(Arc<Inner>);

struct Inner {
    store: Arc<dyn Store>,
    rooms: Rooms,
    venues: Venues,
    clock: SharedClock,
    tasks: TaskTracker,
    time_zones: Mutex<HashMap<String, (Millis, LocalTime)>>,
}

impl Analytics {
    pub fn new(store: Arc<dyn Store>, rooms: Rooms, venues: Venues, clock: SharedClock, tasks: TaskTracker) -> Self {
        Self(Arc::new(Inner { store, rooms, venues, clock, tasks, time_zones: Mutex::default() }))
    }

    /// A venue's (or one zone's) figures over `from`..=`to` (local days,
    /// `YYYY-MM-DD`; by default the last 30 days), for owners and managers.
    pub async fn report(
        &self,
        user: &User,
        venue_id: &str,
        zone_id: Option<&str>,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<Report> {
        let (venue, _) = self.0.venues.get(user, venue_id, VenueAction::ViewAnalytics).await?;
        if let Some(zone_id) = zone_id
            && !venue.zones.iter().any(|z| z.room_id == zone_id)
        {
            return Err(crate::domain::DomainError::ZoneNotFound.into());
        }
        let local = LocalTime::named(&venue.details.time_zone);
        let range = DayRange::parse(from, to, local.today(self.0.clock.now()))?;
        let tally = self.0.store.analytics().tally(venue_id, zone_id, &range).await?;
        Ok(tally.finish(&range, &venue.details.time_zone, zone_id))
    }

    /// Notes that a guest is in zone `zone_id` of venue `venue_id` now
    /// (connected, left, or still there). Spawned: the caller does not wait.
    pub fn seen(&self, venue_id: &str, zone_id: &str, member_id: &str) {
        if is_screen_id(member_id) {
            return;
        }
        let (this, venue_id, zone_id) = (self.clone(), venue_id.to_string(), zone_id.to_string());
        let member_id = member_id.to_string();
        self.0.tasks.spawn(async move { this.note_visits(&venue_id, &zone_id, &[member_id]).await });
    }

    /// Extends the visits of the guests connected to this node, zone by zone.
    pub async fn refresh_visits(&self, here: Vec<(String, String)>) {
        let mut by_room: HashMap<String, Vec<String>> = HashMap::new();
        for (room_id, member_id) in here.into_iter().filter(|(_, m)| !is_screen_id(m)) {
            by_room.entry(room_id).or_default().push(member_id);
        }
        for (room_id, members) in by_room {
            if let Ok(Room { venue_id: Some(venue_id), .. }) = self.0.rooms.room(&room_id).await {
                self.note_visits(&venue_id, &room_id, &members).await;
            }
        }
    }

    async fn note_visits(&self, venue_id: &str, zone_id: &str, members: &[String]) {
        let local = self.local_time(venue_id).await;
        let now = self.0.clock.now();
        for member_id in members {
            let visit = analytics::visit(venue_id, zone_id, member_id, now, local);
            if let Err(e) = self.0.store.analytics().note_visit(&visit).await {
                tracing::warn!(room_id = zone_id, error = %e, "could not note a visit");
            }
        }
    }

    /// Removes events past the retention (13 months); run daily.
    pub async fn sweep(&self) {
        let oldest = analytics::oldest_kept_day(LocalTime::named("UTC").today(self.0.clock.now()));
        match self.0.store.analytics().sweep_events(&oldest).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(events = n, before = %oldest, "swept old analytics events"),
            Err(e) => tracing::warn!(error = %e, "analytics sweep failed"),
        }
    }

    /// The venue's time zone, cached for a few minutes; UTC if unknown.
    async fn local_time(&self, venue_id: &str) -> LocalTime {
        let now = self.0.clock.now();
        let cached = self.0.time_zones.lock().unwrap_or_else(|e| e.into_inner()).get(venue_id).copied();
        if let Some((at, local)) = cached
            && now.saturating_sub(at) < TIME_ZONE_TTL_MS
        {
            return local;
        }
        let local = match self.0.store.venues().venue(venue_id).await {
            Ok(Some(venue)) => LocalTime::named(&venue.details.time_zone),
            _ => LocalTime::named("UTC"),
        };
        self.0.time_zones.lock().unwrap_or_else(|e| e.into_inner()).insert(venue_id.to_string(), (now, local));
        local
    }

    async fn record_outcome(&self, venue_id: &str, zone_id: &str, outcome: &Outcome) {
        let local = self.local_time(venue_id).await;
        let event = |id: String, at: Millis, what: What| {
            let (day, _) = local.day_and_hour(at);
            ZoneEvent { id, venue_id: venue_id.to_string(), zone_id: zone_id.to_string(), at, day, what }
        };
        let mut events = Vec::new();
        for play in &outcome.plays {
            let what = What::Play {
                track_id: play.track_id.clone(),
                title: play.title.clone(),
                artist: play.artists.first().cloned().unwrap_or_default(),
                genre: play.genres.first().cloned().unwrap_or_default(),
                skipped: play.end != PlayEnd::Finished,
                votes_up: play.votes_up,
                votes_down: play.votes_down,
            };
            events.push(event(format!("play:{zone_id}:{}", play.entry_id), play.started_at, what));
        }
        let now = self.0.clock.now();
        for change in &outcome.changes {
            let (request, approved) = match change {
                Change::RequestApproved { request } => (request, true),
                Change::RequestDeclined { request } => (request, false),
                _ => continue,
            };
            let what = What::Request { track_id: request.track.id.clone(), approved };
            events.push(event(format!("request:{zone_id}:{}", request.id), now, what));
        }
        if let Err(e) = self.0.store.analytics().record_events(&events).await {
            tracing::warn!(room_id = zone_id, error = %e, "could not record analytics events");
        }
    }
}

impl CommitListener for Analytics {
    fn committed(&self, room: &Room, outcome: &Outcome) {
        let decided = |c: &Change| matches!(c, Change::RequestApproved { .. } | Change::RequestDeclined { .. });
        let Some(venue_id) = room.venue_id.clone() else { return };
        if outcome.plays.is_empty() && !outcome.changes.iter().any(decided) {
            return;
        }
        let (this, zone_id) = (self.clone(), room.id.clone());
        let outcome = Outcome { changes: outcome.changes.clone(), plays: outcome.plays.clone() };
        self.0.tasks.spawn(async move { this.record_outcome(&venue_id, &zone_id, &outcome).await });
    }
}
