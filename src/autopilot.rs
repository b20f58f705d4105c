//! The autopilot: when a room falls silent with nothing queued (and no
//! fallback list chosen by its staff), it picks the next track
//! (`domain::recommend`) and plays it with its reason. A zone picks from
//! its venue's catalogue for the guests present now; a party room (rule
//! `autofill`, on by default) picks library tracks like the ones it voted
//! up, found through the search engine by its favourite genres and
//! artists, and stays silent until it has voted something up. It listens
//! to this node's commits; the pick is written as `Command::Autoplay`,
//! which does nothing if the room is no longer silent, so racing nodes
//! play one track.
//!
//! Co-likes: every play a room liked (it finished with more votes up
//! than down) is paired with the plays its room liked in the hours before
//! (`CO_LIKE_WINDOW_MS`, at most `CO_LIKE_NEIGHBOURS`), and the store counts
//! each pair by month for 13 months. A node keeps liked plays one at a time
//! in commit order (a room's plays end minutes apart, so two nodes do not
//! race over one room's pairs). A pick asks for the tracks liked with
//! the crowd's liked tracks; they score a bonus, and a party room's
//! candidates include them although its searches would not find them.
//!
//! Tastes: a present guest's taste is what they added and voted up in
//! the room and the genres they picked on joining (quick picks), plus, for a member with an account, the tracks the account
//! added in any room (its last `ACCOUNT_HISTORY` activities), voted up and
//! imported (its last `ACCOUNT_HISTORY` taste marks), cached for
//! `TASTE_TTL_MS`. A venue's catalogue is cached for `CATALOGUE_TTL_MS`.
//!
//! Owns: `Autopilot`. May use: rooms, search, store, presence, clock,
//! domain. Must not import: other services, state, realtime, http.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use tokio_util::task::TaskTracker;

use crate::clock::SharedClock;
use crate::domain::recommend::{
    self, ACCOUNT_HISTORY, CO_LIKE_NEIGHBOURS, CO_LIKE_WINDOW_MS, Catalogue, CoLiked, Crowd, LikedPlay, Taste,
};
use crate::domain::{Actor, Change, Command, Millis, Outcome, Play, PlayEnd, Room, TasteSource};
use crate::error::Result;
use crate::presence::Presence;
use crate::rooms::{CommitListener, Rooms};
use crate::search::request::SearchParams;
use crate::search::{IndexConfig, IndexName, SearchEngine, SearchRequest};
use crate::store::Store;

const CATALOGUE_TTL_MS: Millis = 60_000;
const TASTE_TTL_MS: Millis = 300_000;
/// Largest catalogue read into memory (ids are paged 500 at a time).
const MAX_CATALOGUE: usize = 200_000;
/// Genres a guest joining a zone is offered to pick from.
pub const QUICK_PICK_OPTIONS: usize = 12;
/// A dry party room looks for its favourite genres and artists, this many
/// of each, in the library.
const FAVOURITES: usize = 3;
/// A pick asks for the co-likes of the crowd's this many liked tracks...
const LIKED_TRACKS_ASKED: usize = 20;
/// ...reads at most this many co-likes of each...
const CO_LIKES_PER_TRACK: usize = 50;
/// ...and a party room adds this many of the tracks liked with them to
/// its candidates.
const CO_LIKED_CANDIDATES: usize = 100;
/// Liked plays are kept this long (they only pair with the next ones).
const LIKED_PLAYS_KEPT_MS: Millis = 2 * 86_400_000;

#[derive(Clone)]
pub struct Autopilot(Arc<Inner>);

struct Inner {
    store: Arc<dyn Store>,
    search: Arc<dyn SearchEngine>,
    rooms: Rooms,
    presence: Arc<dyn Presence>,
    clock: SharedClock,
    tasks: TaskTracker,
    catalogues: Mutex<HashMap<String, (Millis, Arc<Catalogue>)>>,
    /// By account: when read, the `since` it was read for, the taste.
    account_tastes: Mutex<HashMap<String, (Millis, Millis, Taste)>>,
    /// Liked plays wait here in commit order and are kept one at a time,
    /// so a play is kept after the ones that ended before it and pairs
    /// with them.
    liked_waiting: Mutex<VecDeque<(String, Vec<Play>)>>,
    keeping_liked: tokio::sync::Mutex<()>,
}

impl Autopilot {
    pub fn new(
        store: Arc<dyn Store>,
        search: Arc<dyn SearchEngine>,
        rooms: Rooms,
        presence: Arc<dyn Presence>,
        clock: SharedClock,
        tasks: TaskTracker,
    ) -> Self {
        Self(Arc::new(Inner {
            store,
            search,
            rooms,
            presence,
            clock,
            tasks,
            catalogues: Mutex::default(),
            account_tastes: Mutex::default(),
            liked_waiting: Mutex::default(),
            keeping_liked: tokio::sync::Mutex::default(),
        }))
    }

    /// Picks and plays a track in a silent room; `None` when it is not
    /// silent, a party room's autofill is off or it voted nothing up yet,
    /// or nothing may play now.
    pub async fn fill(&self, room_id: &str) -> Result<Option<Room>> {
        let room = self.0.rooms.room(room_id).await?;
        if !silent(&room) {
            return Ok(None);
        }
        let (catalogue, crowd, co_liked) = match &room.venue_id {
            Some(venue_id) => {
                let crowd = self.crowd(&room).await;
                let co_liked = self.co_liked(&crowd).await;
                (self.catalogue(venue_id).await?, crowd, co_liked)
            }
            None if room.rules.autofill => {
                let crowd = Crowd::room(&recommend::room_taste(&room.recent_plays));
                // Nobody connected (not even the big screen): a party that
                // went home keeps no music running, and its room expires.
                if crowd.is_empty() || self.0.presence.online(&room.id).await.is_empty() {
                    return Ok(None);
                }
                let co_liked = self.co_liked(&crowd).await;
                (Arc::new(self.library_candidates(&room, &crowd, &co_liked).await?), crowd, co_liked)
            }
            None => return Ok(None),
        };
        let now = self.0.clock.now();
        let in_force = room.schedule.as_ref().map(|s| s.at(now));
        let last_energy = room
            .recent_plays
            .last()
            .and_then(|p| catalogue.tracks.iter().find(|t| t.id == p.track_id))
            .and_then(|t| t.analysis.as_ref().map(|a| a.energy));
        let ctx = recommend::Context {
            crowd: &crowd,
            co_liked: &co_liked,
            limits: in_force.as_ref().map(|f| f.limits),
            day_part: in_force.as_ref().and_then(|f| f.day_part.map(|p| p.name.as_str())),
            recent_plays: &room.recent_plays,
            busy: HashSet::new(),
            no_replay_hours: room.rules.no_replay_hours,
            last_energy,
            now,
            seed: room.version,
            allows: &|track| room.may_autoplay(track, now),
        };
        let Some(pick) = recommend::pick(&catalogue, ctx) else {
            tracing::info!(room_id, "autopilot: nothing may play now");
            return Ok(None);
        };
        let command = Command::Autoplay {
            entry_id: format!("auto-{}-{}", room.version, pick.track.id),
            track: pick.track.clone(),
            reason: pick.reason,
        };
        let (room, _) = self.0.rooms.execute(room_id, Actor::System, command).await?;
        Ok(Some(room))
    }

    /// What rooms liked with the crowd's liked tracks (none if the store
    /// cannot say: the pick goes on by taste alone).
    async fn co_liked(&self, crowd: &Crowd) -> CoLiked {
        let liked = crowd.liked_tracks(LIKED_TRACKS_ASKED);
        if liked.is_empty() {
            return CoLiked::default();
        }
        let from = recommend::first_month_kept(self.0.clock.now());
        match self.0.store.co_likes().co_liked(&liked, &from, CO_LIKES_PER_TRACK).await {
            Ok(co_likes) => CoLiked::new(crowd, &co_likes),
            Err(e) => {
                tracing::warn!(error = %e, "autopilot: co-likes unreadable");
                CoLiked::default()
            }
        }
    }

    /// Pairs the plays a room liked with the ones it liked before them.
    async fn keep_liked_waiting(&self) {
        let _one_at_a_time = self.0.keeping_liked.lock().await;
        loop {
            let next = self.0.liked_waiting.lock().unwrap_or_else(|e| e.into_inner()).pop_front();
            let Some((room_id, plays)) = next else { break };
            self.note_liked_plays(&room_id, &plays).await;
        }
    }

    async fn note_liked_plays(&self, room_id: &str, plays: &[Play]) {
        let store = self.0.store.co_likes();
        for play in plays.iter().filter(|p| p.end == PlayEnd::Finished && p.votes_up > p.votes_down) {
            let liked = LikedPlay {
                room_id: room_id.to_string(),
                entry_id: play.entry_id.clone(),
                track_id: play.track_id.clone(),
                ended_at: play.ended_at,
            };
            let counted = match store.keep_liked_play(&liked, CO_LIKE_WINDOW_MS, CO_LIKE_NEIGHBOURS).await {
                Ok(Some(earlier)) => {
                    let pairs = recommend::co_like_pairs(&liked, &earlier);
                    store.count_co_likes(&recommend::month_of(liked.ended_at), &pairs).await
                }
                Ok(None) => Ok(()),
                Err(e) => Err(e),
            };
            if let Err(e) = counted {
                tracing::warn!(room_id, error = %e, "autopilot: could not count a liked play");
            }
        }
    }

    /// Removes co-like counts past retention and liked plays past pairing.
    pub async fn sweep_co_likes(&self) {
        let now = self.0.clock.now();
        let (month, ended_before) = (recommend::first_month_kept(now), now.saturating_sub(LIKED_PLAYS_KEPT_MS));
        match self.0.store.co_likes().sweep_co_likes(&month, ended_before).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(records = n, "swept old co-likes"),
            Err(e) => tracing::warn!(error = %e, "co-like sweep failed"),
        }
    }

    /// Library tracks in a party room's favourite genres (most popular
    /// first), by its favourite artists and liked with what it liked
    /// (co-likes), that its speaker can play.
    async fn library_candidates(&self, room: &Room, crowd: &Crowd, co_liked: &CoLiked) -> Result<Catalogue> {
        let (genres, artists) = crowd.favourites(FAVOURITES);
        let quoted = |text: &str| format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""));
        let playable = room.speaker.is_some().then_some("playable:true");
        let mut searches = Vec::new();
        if !genres.is_empty() {
            let genres = genres.iter().map(|g| format!("genre:{}", quoted(g))).collect::<Vec<_>>().join(" OR ");
            let filter = match playable {
                Some(p) => format!("({genres}) AND {p}"),
                None => genres,
            };
            searches.push(SearchParams {
                filter: Some(filter),
                sort: Some("popularity:desc".into()),
                ..Default::default()
            });
        }
        for artist in &artists {
            let filter = playable.map(str::to_string);
            searches.push(SearchParams { q: format!("artist:{}", quoted(artist)), filter, ..Default::default() });
        }
        let config = IndexConfig::shipped(IndexName::Tracks);
        // Co-liked tracks first: the speaker and rules are checked on the
        // pick (`Context.allows`).
        let mut ids: Vec<String> = co_liked.best(CO_LIKED_CANDIDATES);
        for mut params in searches {
            params.limit = Some(crate::search::request::MAX_LIMIT);
            // A name the query language cannot hold (too long), or an
            // artist with no searchable word, finds nothing: the other
            // searches still count.
            let request = match SearchRequest::build(&config, &params) {
                Ok(request) if !params.q.is_empty() && request.query.is_none() => continue,
                Ok(request) => request,
                Err(e) => {
                    tracing::debug!(error = %e, "autopilot: a favourite cannot be searched for");
                    continue;
                }
            };
            let hits = self.0.search.search(IndexName::Tracks, &request).await?.hits;
            for id in hits.iter().filter_map(|h| h["id"].as_str()) {
                if !ids.iter().any(|known| known == id) {
                    ids.push(id.to_string());
                }
            }
        }
        Ok(Catalogue::new(self.0.store.tracks_by_ids(&ids).await?))
    }

    /// What a guest joining a zone may pick from: the venue catalogue's
    /// `QUICK_PICK_OPTIONS` most common genres (by tracks, ties by name),
    /// spelt as the catalogue first spells them.
    pub async fn quick_pick_options(&self, venue_id: &str) -> Result<Vec<String>> {
        let catalogue = self.catalogue(venue_id).await?;
        let mut counts: HashMap<String, (usize, &str)> = HashMap::new();
        // Only genres a guest can pick (`Command::SetPicks` checks them).
        for genre in catalogue.tracks.iter().flat_map(|t| &t.genres).filter(|g| crate::domain::command::valid_pick(g)) {
            counts.entry(genre.to_lowercase()).or_insert((0, genre.as_str())).0 += 1;
        }
        let mut ranked: Vec<(String, usize, &str)> = counts.into_iter().map(|(k, (n, shown))| (k, n, shown)).collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Ok(ranked.into_iter().take(QUICK_PICK_OPTIONS).map(|(_, _, shown)| shown.to_string()).collect())
    }

    /// The venue's catalogue tracks, from the cache when fresh.
    async fn catalogue(&self, venue_id: &str) -> Result<Arc<Catalogue>> {
        let now = self.0.clock.now();
        if let Some((at, tracks)) = self.0.catalogues.lock().unwrap_or_else(|e| e.into_inner()).get(venue_id)
            && now < at + CATALOGUE_TTL_MS
        {
            return Ok(tracks.clone());
        }
        let venues = self.0.store.venues();
        let mut tracks = Vec::new();
        let mut after: Option<String> = None;
        while tracks.len() < MAX_CATALOGUE {
            let ids = venues.catalogue(venue_id, after.as_deref(), 500).await?;
            let Some(last) = ids.last().cloned() else { break };
            tracks.extend(self.0.store.tracks_by_ids(&ids).await?);
            after = Some(last);
        }
        let tracks = Arc::new(Catalogue::new(tracks));
        self.0.catalogues.lock().unwrap_or_else(|e| e.into_inner()).insert(venue_id.into(), (now, tracks.clone()));
        Ok(tracks)
    }

    /// The tastes of the room's members online now, folded.
    async fn crowd(&self, room: &Room) -> Crowd {
        let online = self.0.presence.online(&room.id).await;
        let mut tastes = Vec::new();
        for member in room.members.values().filter(|m| online.contains(&m.id) && !m.banned) {
            let mut taste = Taste::default();
            for entry in &room.queue {
                if entry.added_by == member.id || entry.votes.get(&member.id) == Some(&1) {
                    taste.like(&entry.track, 1.0);
                }
            }
            for play in room.recent_plays.iter().filter(|p| p.added_by.as_deref() == Some(member.id.as_str())) {
                taste.like(&play.as_track(), 1.0);
            }
            for genre in &member.picks {
                *taste.genres.entry(genre.clone()).or_default() += 1.0;
            }
            if let Some(user_id) = &member.user_id {
                taste.add(self.account_taste(user_id).await);
            }
            if !taste.is_empty() {
                tastes.push(taste);
            }
        }
        Crowd::of(&tastes)
    }

    /// What an account added across rooms, as its owner allows (an
    /// unreadable history counts as none: the pick goes on without it).
    /// The settings are read each time, so turning the profile off or
    /// deleting it applies to the next pick; the history is cached.
    async fn account_taste(&self, user_id: &str) -> Taste {
        let settings = match self.0.store.accounts().user(user_id).await {
            Ok(Some(user)) => user.taste,
            _ => return Taste::default(),
        };
        if settings.off {
            return Taste::default();
        }
        let now = self.0.clock.now();
        if let Some((at, since, taste)) = self.0.account_tastes.lock().unwrap_or_else(|e| e.into_inner()).get(user_id)
            && now < at + TASTE_TTL_MS
            && *since == settings.since
        {
            return taste.clone();
        }
        let accounts = self.0.store.accounts();
        let history = async {
            let activities = accounts.activities(&[user_id.to_string()], None, ACCOUNT_HISTORY).await?;
            let mut marks = accounts.taste_marks(user_id, TasteSource::Vote, ACCOUNT_HISTORY).await?;
            marks.extend(accounts.taste_marks(user_id, TasteSource::Import, ACCOUNT_HISTORY).await?);
            Ok::<_, crate::store::StoreError>((activities, marks))
        };
        let taste = match history.await {
            Ok((activities, marks)) => recommend::account_taste(&activities, &marks, settings).0,
            Err(e) => {
                tracing::warn!(error = %e, "autopilot: account history unreadable");
                Taste::default()
            }
        };
        let cached = (now, settings.since, taste.clone());
        self.0.account_tastes.lock().unwrap_or_else(|e| e.into_inner()).insert(user_id.into(), cached);
        taste
    }
}

/// A zone with nothing playing, nothing queued and no fallback list.
fn silent(room: &Room) -> bool {
    room.now_playing.is_none() && room.queue.is_empty() && room.fallback.is_empty()
}

impl CommitListener for Autopilot {
    fn committed(&self, room: &Room, outcome: &Outcome) {
        if outcome.plays.iter().any(|p| p.end == PlayEnd::Finished && p.votes_up > p.votes_down) {
            let waiting = (room.id.clone(), outcome.plays.clone());
            self.0.liked_waiting.lock().unwrap_or_else(|e| e.into_inner()).push_back(waiting);
            let autopilot = self.clone();
            self.0.tasks.spawn(async move { autopilot.keep_liked_waiting().await });
        }
        let changes = &outcome.changes;
        let went_silent = changes.iter().any(|c| matches!(c, Change::NowPlaying | Change::EntryRemoved { .. }));
        let fills = room.venue_id.is_some() || room.rules.autofill;
        if !fills || !silent(room) || !went_silent {
            return;
        }
        let (autopilot, room_id) = (self.clone(), room.id.clone());
        self.0.tasks.spawn(async move {
            if let Err(e) = autopilot.fill(&room_id).await {
                tracing::warn!(room_id, error = %e, "autopilot could not pick a track");
            }
        });
    }
}
