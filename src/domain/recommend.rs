//! The autopilot's recommender: when a zone's queue runs dry, the next
//! track from the candidates (the venue's catalogue), within the limits in
//! force, ranked by the tastes of the guests present now, with novelty and
//! smooth energy changes, and a reason people can read. A party room that
//! runs dry gets the same ranking over library tracks, by its own taste:
//! what it voted up (`room_taste`, `Crowd::room`).
//!
//! It learns from our own data only: what each present guest added and
//! voted up in the room, and what their account added across rooms (see
//! `autopilot`), and which tracks rooms voted up together (co-likes,
//! `CoLiked`). Spotify's recommendation endpoints are closed to new apps.
//!
//! Score of a candidate: for each of its genres, the share of the present
//! guests' taste on that genre, plus twice that for each of its artists
//! (each guest's taste adds up to 1, so one guest who added fifty disco
//! tracks weighs as much as one who added one); plus the co-like bonus
//! (up to twice each liked track's share, spread over the tracks rooms
//! voted up with it); minus up to 0.5 for an energy jump from the last
//! track; plus a jitter below 0.001 from the
//! seed, so ties break the same way for the same state and seed.
//! Candidates that are playing, queued, played in the no-replay window (or
//! among the last 20 plays), by an artist of the last three plays, or
//! refused by the limits in force never play.
//!
//! Cost: one pass over the candidates with a few hash look-ups each, so
//! 100,000 tracks and 300 guests cost the candidates, not the guests
//! (the guests are folded into one taste first). See docs/AUTOPILOT.md.

use std::collections::{HashMap, HashSet};

use super::schedule::Limits;
use super::{Millis, Play, Track};

/// What one guest likes: weights by lower-case genre and artist, and
/// by the tracks themselves (with their titles, for reasons).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Taste {
    pub genres: HashMap<String, f32>,
    pub artists: HashMap<String, f32>,
    pub tracks: HashMap<String, (f32, String)>,
}

/// How many of an account's latest activities make its taste, and as many
/// of its latest taste marks of each source (votes, imports), so a large
/// import cannot push its votes out.
pub const ACCOUNT_HISTORY: usize = 200;

/// How much one import counts against one add or vote: a playlist of 500
/// imported tracks says less about tonight than five tracks voted up.
pub const IMPORT_WEIGHT: f32 = 0.25;

/// What an account's taste is made of, counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TasteCounts {
    pub added: usize,
    pub voted: usize,
    pub imported: usize,
}

/// An account's taste: the tracks it added across rooms (newest
/// `ACCOUNT_HISTORY` activities), voted up, and imported from a music
/// service (its taste marks), since its owner last deleted it; none while
/// they turned it off.
pub fn account_taste(
    activities: &[super::Activity],
    marks: &[super::TasteMark],
    settings: super::TasteSettings,
) -> (Taste, TasteCounts) {
    let mut taste = Taste::default();
    let mut counts = TasteCounts::default();
    if settings.off {
        return (taste, counts);
    }
    let counted = |at: Millis| settings.since == 0 || at > settings.since;
    for activity in activities.iter().filter(|a| counted(a.created_at)) {
        if let super::ActivityKind::TrackAdded { track } = &activity.kind {
            taste.like(track, 1.0);
            counts.added += 1;
        }
    }
    for mark in marks.iter().filter(|m| counted(m.at)) {
        let track = Track {
            id: mark.track_id.clone(),
            artists: mark.artists.clone(),
            genres: mark.genres.clone(),
            ..Track::default()
        };
        match mark.source {
            super::TasteSource::Vote => {
                taste.like(&track, 1.0);
                counts.voted += 1;
            }
            super::TasteSource::Import => {
                taste.like(&track, IMPORT_WEIGHT);
                counts.imported += 1;
            }
        }
    }
    (taste, counts)
}

/// What a party room voted up: each of its recent plays with more votes
/// up than down, weighted by the margin (a skipped or voted-off play
/// counts for nothing). The autopilot fills a dry party room from it.
pub fn room_taste(plays: &[super::Play]) -> Taste {
    let mut taste = Taste::default();
    for play in plays.iter().filter(|p| p.end == super::PlayEnd::Finished && p.votes_up > p.votes_down) {
        taste.like(&play.as_track(), (play.votes_up - play.votes_down) as f32);
    }
    taste
}

impl Taste {
    /// Counts a track this guest added, voted up or liked.
    pub fn like(&mut self, track: &Track, weight: f32) {
        for genre in &track.genres {
            *self.genres.entry(genre.to_lowercase()).or_default() += weight;
        }
        for artist in &track.artists {
            *self.artists.entry(artist.to_lowercase()).or_default() += weight;
        }
        if !track.id.is_empty() {
            let slot = self.tracks.entry(track.id.clone()).or_insert_with(|| (0.0, track.title.clone()));
            slot.0 += weight;
            if slot.1.is_empty() {
                slot.1.clone_from(&track.title);
            }
        }
    }

    /// Adds another taste's weights to this one.
    pub fn add(&mut self, other: Taste) {
        for (key, weight) in other.genres {
            *self.genres.entry(key).or_default() += weight;
        }
        for (key, weight) in other.artists {
            *self.artists.entry(key).or_default() += weight;
        }
        for (id, (weight, title)) in other.tracks {
            let slot = self.tracks.entry(id).or_default();
            slot.0 += weight;
            if slot.1.is_empty() {
                slot.1 = title;
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.genres.is_empty() && self.artists.is_empty() && self.tracks.is_empty()
    }
}

/// The present guests' tastes folded into one: each guest's weights
/// scaled to add up to 1, and how many guests like each genre and artist
/// (for the reason).
#[derive(Debug, Default)]
pub struct Crowd {
    genres: HashMap<String, (f32, usize)>,
    artists: HashMap<String, (f32, usize)>,
    /// Liked tracks: each guest's share (their liked tracks add up to 1)
    /// and a title.
    tracks: HashMap<String, (f32, String)>,
    /// A party room's own taste rather than guests': reasons say so.
    room: bool,
}

impl Crowd {
    /// A party room's taste (`room_taste`), alone.
    pub fn room(taste: &Taste) -> Self {
        Self { room: true, ..Self::of([taste]) }
    }

    /// The genres and artists weighing most, `max` of each, heaviest first
    /// (ties by name): what to look for in a large library.
    pub fn favourites(&self, max: usize) -> (Vec<String>, Vec<String>) {
        let top = |map: &HashMap<String, (f32, usize)>| {
            let mut keys: Vec<(&String, f32)> = map.iter().map(|(k, v)| (k, v.0)).collect();
            keys.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
            keys.into_iter().take(max).map(|(k, _)| k.clone()).collect()
        };
        (top(&self.genres), top(&self.artists))
    }

    pub fn of<'a>(tastes: impl IntoIterator<Item = &'a Taste>) -> Self {
        let mut crowd = Crowd::default();
        for taste in tastes {
            let total: f32 = taste.genres.values().chain(taste.artists.values()).sum();
            if total > 0.0 {
                for (map, into) in [(&taste.genres, &mut crowd.genres), (&taste.artists, &mut crowd.artists)] {
                    for (key, weight) in map {
                        let slot = into.entry(key.clone()).or_default();
                        slot.0 += weight / total;
                        slot.1 += 1;
                    }
                }
            }
            let liked: f32 = taste.tracks.values().map(|(w, _)| w).sum();
            if liked > 0.0 {
                for (id, (weight, title)) in &taste.tracks {
                    let slot = crowd.tracks.entry(id.clone()).or_default();
                    slot.0 += weight / liked;
                    if slot.1.is_empty() {
                        slot.1.clone_from(title);
                    }
                }
            }
        }
        crowd
    }

    /// The liked tracks weighing most, at most `max`, heaviest first (ties
    /// by id): what to ask the co-likes about.
    pub fn liked_tracks(&self, max: usize) -> Vec<String> {
        let mut tracks: Vec<(&String, f32)> = self.tracks.iter().map(|(id, (w, _))| (id, *w)).collect();
        tracks.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        tracks.into_iter().take(max).map(|(id, _)| id.clone()).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.genres.is_empty() && self.artists.is_empty() && self.tracks.is_empty()
    }

    fn score(&self, genres: &[String], artists: &[String]) -> f32 {
        let genres: f32 = genres.iter().filter_map(|g| self.genres.get(g)).map(|s| s.0).sum();
        let artists: f32 = artists.iter().filter_map(|a| self.artists.get(a)).map(|s| s.0).sum();
        genres + 2.0 * artists
    }

    /// The genre or artist of the track that the most present guests like.
    fn reason(&self, track: &Track) -> Option<String> {
        let mut best: Option<(usize, String)> = None;
        for (list, map) in [(&track.artists, &self.artists), (&track.genres, &self.genres)] {
            for name in list {
                if let Some((_, count)) = map.get(&name.to_lowercase())
                    && best.as_ref().is_none_or(|(c, _)| count > c)
                {
                    best = Some((*count, name.clone()));
                }
            }
        }
        best.map(|(count, name)| match (self.room, count) {
            (true, _) => format!("more like {name}, voted up here"),
            (false, 1) => format!("a guest here likes {name}"),
            (false, n) => format!("{n} guests here like {name}"),
        })
    }
}

/// A play its room liked (it finished with more votes up than down):
/// what co-likes are counted from.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LikedPlay {
    pub room_id: String,
    pub entry_id: String,
    pub track_id: String,
    pub ended_at: Millis,
}

/// How often rooms liked `with` near `track` (both ways: each pair is
/// counted for both tracks).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoLike {
    pub track_id: String,
    pub with: String,
    pub count: u64,
}

/// A liked play is paired with its room's liked plays that ended this
/// long before it (one night)...
pub const CO_LIKE_WINDOW_MS: Millis = 6 * 3_600_000;
/// ...at most this many of them, the newest.
pub const CO_LIKE_NEIGHBOURS: usize = 10;
/// A track liked with the crowd's liked tracks counts up to twice their
/// share, as much as an artist they like.
const CO_LIKE_WEIGHT: f32 = 2.0;

/// Co-like counts are kept for the month of `now` and this many before
/// it (13 months in all, as venue analytics).
pub const CO_LIKE_MONTHS_KEPT: u32 = 12;

/// The UTC month (`YYYY-MM`) of a time.
pub fn month_of(at: Millis) -> String {
    let at = chrono::DateTime::from_timestamp_millis(i64::try_from(at).unwrap_or(i64::MAX)).unwrap_or_default();
    at.format("%Y-%m").to_string()
}

/// The first month whose co-like counts still count at `now`.
pub fn first_month_kept(now: Millis) -> String {
    use chrono::Datelike;
    let at = chrono::DateTime::from_timestamp_millis(i64::try_from(now).unwrap_or(i64::MAX)).unwrap_or_default();
    let months = at.year() * 12 + at.month0() as i32 - CO_LIKE_MONTHS_KEPT as i32;
    format!("{:04}-{:02}", months.div_euclid(12), months.rem_euclid(12) + 1)
}

/// The pairs a newly liked play makes with its room's earlier ones (both
/// ways), each track once and never with itself.
pub fn co_like_pairs(liked: &LikedPlay, earlier: &[LikedPlay]) -> Vec<(String, String)> {
    let mut seen = HashSet::new();
    let mut pairs = Vec::new();
    for other in earlier {
        if other.track_id != liked.track_id && seen.insert(other.track_id.as_str()) {
            pairs.push((liked.track_id.clone(), other.track_id.clone()));
            pairs.push((other.track_id.clone(), liked.track_id.clone()));
        }
    }
    pairs
}

/// The co-like bonus of each track for a crowd: for each liked track of
/// the crowd, twice its share spread over the tracks liked with it (the
/// store's most frequent ones), in proportion to how often. Remembers which liked track gave each its
/// largest part, for the reason.
#[derive(Debug, Default)]
pub struct CoLiked {
    bonus: HashMap<String, (f32, f32, String)>,
}

impl CoLiked {
    pub fn new(crowd: &Crowd, co_likes: &[CoLike]) -> Self {
        let mut totals: HashMap<&str, u64> = HashMap::new();
        for co in co_likes {
            *totals.entry(co.track_id.as_str()).or_default() += co.count;
        }
        let mut bonus: HashMap<String, (f32, f32, String)> = HashMap::new();
        for co in co_likes.iter().filter(|co| co.count > 0) {
            let Some((share, title)) = crowd.tracks.get(&co.track_id) else { continue };
            let part = CO_LIKE_WEIGHT * share * co.count as f32 / totals[co.track_id.as_str()] as f32;
            let slot = bonus.entry(co.with.clone()).or_default();
            slot.0 += part;
            // The reason names the liked track that gave most, of those
            // with a title (an account's marks have none).
            if part > slot.1 && !title.is_empty() {
                (slot.1, slot.2) = (part, title.clone());
            }
        }
        Self { bonus }
    }

    /// The tracks with the largest bonus, at most `max`, largest first
    /// (ties by id): candidates a library search would not find.
    pub fn best(&self, max: usize) -> Vec<String> {
        let mut tracks: Vec<(&String, f32)> = self.bonus.iter().map(|(id, b)| (id, b.0)).collect();
        tracks.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        tracks.into_iter().take(max).map(|(id, _)| id.clone()).collect()
    }

    fn bonus(&self, id: &str) -> f32 {
        self.bonus.get(id).map_or(0.0, |b| b.0)
    }

    fn reason(&self, id: &str) -> Option<String> {
        let (_, _, title) = self.bonus.get(id)?;
        (!title.is_empty()).then(|| format!("often voted up with {title}"))
    }
}

/// Candidate tracks with their genres and artists in lower case, made
/// once per catalogue (the autopilot caches it) so a pick allocates nothing
/// per track.
pub struct Catalogue {
    pub tracks: Vec<Track>,
    keys: Vec<(Vec<String>, Vec<String>)>,
}

impl Catalogue {
    pub fn new(tracks: Vec<Track>) -> Self {
        let lower = |list: &[String]| list.iter().map(|s| s.to_lowercase()).collect::<Vec<_>>();
        let keys = tracks.iter().map(|t| (lower(&t.genres), lower(&t.artists))).collect();
        Self { tracks, keys }
    }
}

/// What the room has just played and has waiting.
pub struct Context<'a> {
    pub crowd: &'a Crowd,
    /// What rooms liked with the crowd's liked tracks.
    pub co_liked: &'a CoLiked,
    /// The limits in force (a zone's day part), if any.
    pub limits: Option<&'a Limits>,
    /// Its name, for the reason when nobody's taste decides.
    pub day_part: Option<&'a str>,
    pub recent_plays: &'a [Play],
    /// Tracks playing or queued now.
    pub busy: HashSet<&'a str>,
    /// The no-replay rule, in hours.
    pub no_replay_hours: Option<u32>,
    /// Energy of the track that played last, if measured.
    pub last_energy: Option<u8>,
    pub now: Millis,
    pub seed: u64,
    /// The room's own say over a track (its rules, its speaker), asked
    /// only of a candidate about to become the best, so a pick stays one
    /// cheap pass.
    pub allows: &'a dyn Fn(&Track) -> bool,
}

/// The autopilot's choice and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Pick<'a> {
    pub track: &'a Track,
    pub reason: String,
}

/// Plays at least this many tracks between two of one artist.
const ARTIST_GAP: usize = 3;
/// Without a no-replay rule, a track does not come back within this many plays.
const REPLAY_GAP: usize = 20;

pub fn pick<'a>(candidates: &'a Catalogue, ctx: Context<'_>) -> Option<Pick<'a>> {
    let limits = ctx.limits.map(Limits::prepare);
    let recent_artists: HashSet<String> = ctx
        .recent_plays
        .iter()
        .rev()
        .take(ARTIST_GAP)
        .flat_map(|p| p.artists.iter().map(|a| a.to_lowercase()))
        .collect();
    let replay_since = ctx.no_replay_hours.map(|h| ctx.now.saturating_sub(u64::from(h) * 3_600_000));
    let played: HashSet<&str> = ctx
        .recent_plays
        .iter()
        .rev()
        .enumerate()
        .filter(|(i, p)| *i < REPLAY_GAP || replay_since.is_some_and(|since| p.started_at >= since))
        .map(|(_, p)| p.track_id.as_str())
        .collect();
    // The best so far: its score, the track, and whether co-likes gave it
    // more than genres and artists did.
    let mut best: Option<(f32, &Track, bool)> = None;
    for (track, (genres, artists)) in candidates.tracks.iter().zip(&candidates.keys) {
        if ctx.busy.contains(track.id.as_str())
            || played.contains(track.id.as_str())
            || artists.iter().any(|a| recent_artists.contains(a))
            || limits.as_ref().is_some_and(|l| !l.allows_playing(track, genres))
        {
            continue;
        }
        let taste = ctx.crowd.score(genres, artists);
        let co_liked = ctx.co_liked.bonus(&track.id);
        let mut score = taste + co_liked;
        if let (Some(last), Some(energy)) = (ctx.last_energy, track.analysis.as_ref().map(|a| a.energy)) {
            score -= 0.5 * f32::from(last.abs_diff(energy)) / 100.0;
        }
        score += jitter(ctx.seed, &track.id);
        if best.is_none_or(|(b, _, _)| score > b) && (ctx.allows)(track) {
            best = Some((score, track, co_liked > taste));
        }
    }
    let (_, track, by_co_likes) = best?;
    let co_liked = by_co_likes.then(|| ctx.co_liked.reason(&track.id)).flatten();
    let reason = co_liked.or_else(|| ctx.crowd.reason(track)).unwrap_or_else(|| match ctx.day_part {
        Some(name) => format!("fits {name}"),
        None if ctx.crowd.room => "from the library".to_string(),
        None => "from the venue's catalogue".to_string(),
    });
    Some(Pick { track, reason })
}

/// Below 0.001, the same for the same seed and track (FNV-1a).
fn jitter(seed: u64, id: &str) -> f32 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
    for byte in id.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    (hash % 1000) as f32 / 1_000_000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Analysis, PlayEnd};

    fn track(id: &str, artist: &str, genre: &str, energy: u8) -> Track {
        Track {
            id: id.into(),
            title: format!("Title {id}"),
            artists: vec![artist.into()],
            genres: vec![genre.into()],
            duration_ms: 180_000,
            analysis: Some(Analysis { loudness_lufs: -14.0, true_peak_dbtp: -1.0, bpm: Some(120), energy }),
            ..Track::default()
        }
    }

    fn play(t: &Track, at: Millis) -> Play {
        Play {
            entry_id: format!("e-{}", t.id),
            track_id: t.id.clone(),
            title: t.title.clone(),
            artists: t.artists.clone(),
            genres: t.genres.clone(),
            added_by: None,
            started_at: at,
            ended_at: at + 1,
            end: PlayEnd::Finished,
            votes_up: 0,
            votes_down: 0,
        }
    }

    impl Track {
        fn without_title(self) -> Track {
            Track { title: String::new(), ..self }
        }
    }

    static NO_CO_LIKES: std::sync::LazyLock<CoLiked> = std::sync::LazyLock::new(CoLiked::default);

    fn context<'a>(crowd: &'a Crowd, plays: &'a [Play]) -> Context<'a> {
        Context {
            crowd,
            co_liked: &NO_CO_LIKES,
            limits: None,
            day_part: None,
            recent_plays: plays,
            busy: HashSet::new(),
            no_replay_hours: None,
            last_energy: None,
            now: 1_000_000,
            seed: 7,
            allows: &|_| true,
        }
    }

    fn taste(tracks: &[&Track]) -> Taste {
        let mut taste = Taste::default();
        for t in tracks {
            taste.like(t, 1.0);
        }
        taste
    }

    #[test]
    fn the_crowd_present_decides_and_the_reason_says_so() {
        let disco = track("d1", "Chic", "disco", 70);
        let jazz = track("j1", "Miles", "jazz", 30);
        let catalogue = Catalogue::new(vec![
            jazz.clone(),
            track("d2", "Sister Sledge", "disco", 75),
            track("r1", "Rush", "rock", 80),
        ]);
        let four_disco: Vec<Taste> = (0..4).map(|_| taste(&[&disco])).collect();
        let one_jazz = taste(&[&jazz, &jazz, &jazz]);
        let crowd = Crowd::of(four_disco.iter().chain([&one_jazz]));
        let picked = pick(&catalogue, context(&crowd, &[])).expect("a pick");
        assert_eq!(picked.track.id, "d2");
        assert_eq!(picked.reason, "4 guests here like disco");
        // The disco crowd leaves: the jazz guest is alone.
        let crowd = Crowd::of([&one_jazz]);
        let picked = pick(&catalogue, context(&crowd, &[])).expect("a pick");
        assert_eq!((picked.track.id.as_str(), picked.reason.as_str()), ("j1", "a guest here likes Miles"));
    }

    #[test]
    fn novelty_limits_and_smooth_energy() {
        let a1 = track("a1", "Abba", "pop", 50);
        let a2 = track("a2", "Abba", "pop", 50);
        let b1 = track("b1", "Blur", "pop", 90);
        let c1 = track("c1", "Cher", "pop", 55);
        let catalogue = Catalogue::new(vec![a1.clone(), a2.clone(), b1.clone(), c1.clone()]);
        let fan = taste(&[&a1, &b1, &c1]);
        let crowd = Crowd::of([&fan]);
        // Abba played last: no Abba for three tracks; a1 itself not again.
        let plays = vec![play(&a1, 10)];
        let mut ctx = context(&crowd, &plays);
        ctx.last_energy = Some(50);
        let picked = pick(&catalogue, ctx).expect("pick");
        assert_eq!(picked.track.id, "c1", "Cher's energy is closer to the last track's than Blur's");
        // Queued or playing tracks are not picked; the limits in force hold.
        let limits = Limits { energy: Some([80, 100]), requests: Some(false), ..Limits::default() };
        let mut ctx = context(&crowd, &plays);
        ctx.limits = Some(&limits);
        assert_eq!(pick(&catalogue, ctx).map(|p| p.track.id.clone()), Some("b1".into()), "energy 80-100 only");
        let mut ctx = context(&crowd, &plays);
        ctx.limits = Some(&limits);
        ctx.busy.insert("b1");
        assert_eq!(pick(&catalogue, ctx), None, "nothing left that may play");
    }

    #[test]
    fn co_likes_are_kept_thirteen_months() {
        // 2026-12-06 and 2026-01-15, UTC.
        let (december, january) = (1_796_515_200_000, 1_768_435_200_000);
        assert_eq!((month_of(december).as_str(), month_of(january).as_str()), ("2026-12", "2026-01"));
        assert_eq!(first_month_kept(december), "2025-12");
        assert_eq!(first_month_kept(january), "2025-01");
    }

    #[test]
    fn tracks_rooms_voted_up_together_come_next_and_say_so() {
        let x = track("x", "Daft Punk", "house", 60);
        let catalogue = Catalogue::new(vec![track("y", "Nina Simone", "jazz", 60), track("z", "Justice", "house", 60)]);
        let mut voted_up = Taste::default();
        voted_up.like(&x, 1.0);
        let crowd = Crowd::room(&voted_up);
        assert_eq!(crowd.liked_tracks(5), vec!["x".to_string()]);
        let picked = pick(&catalogue, context(&crowd, &[])).expect("pick");
        assert_eq!(picked.track.id, "z", "without co-likes: the genre it voted up");

        let liked = |id: &str, at| LikedPlay {
            room_id: "r".into(),
            entry_id: format!("e{at}"),
            track_id: id.into(),
            ended_at: at,
        };
        let pairs = co_like_pairs(&liked("y", 3), &[liked("x", 2), liked("y", 1), liked("x", 0)]);
        let pair = |a: &str, b: &str| (a.to_string(), b.to_string());
        assert_eq!(pairs, vec![pair("y", "x"), pair("x", "y")], "both ways, each track once, never with itself");

        let co_like = |with: &str, count| CoLike { track_id: "x".into(), with: with.into(), count };
        let co_liked = CoLiked::new(
            &crowd,
            &[co_like("y", 3), co_like("w", 1), CoLike { track_id: "q".into(), ..co_like("z", 9) }],
        );
        assert_eq!(co_liked.best(5), vec!["y".to_string(), "w".to_string()], "only the crowd's liked tracks count");
        let picked = pick(&catalogue, Context { co_liked: &co_liked, ..context(&crowd, &[]) }).expect("pick");
        assert_eq!((picked.track.id.as_str(), picked.reason.as_str()), ("y", "often voted up with Title x"));
        // A guest whose mark of the same track has no title: the reason
        // keeps the title another taste gave.
        let mut marked = Taste::default();
        marked.like(&Track { id: "x".into(), ..x.clone() }.without_title(), 1.0);
        let crowd = Crowd::of([&marked, &voted_up]);
        let co_liked = CoLiked::new(&crowd, &[co_like("y", 3)]);
        let picked = pick(&catalogue, Context { co_liked: &co_liked, ..context(&crowd, &[]) }).expect("pick");
        assert_eq!(picked.reason, "often voted up with Title x");
    }

    #[test]
    fn deterministic_for_a_state_and_seed() {
        let catalogue = Catalogue::new((0..50).map(|i| track(&format!("t{i}"), &format!("A{i}"), "pop", 50)).collect());
        let crowd = Crowd::default();
        let first = pick(&catalogue, context(&crowd, &[])).map(|p| p.track.id.clone());
        for _ in 0..5 {
            assert_eq!(pick(&catalogue, context(&crowd, &[])).map(|p| p.track.id.clone()), first);
        }
        let mut other = context(&crowd, &[]);
        other.seed = 8;
        let reason = pick(&catalogue, other).expect("pick").reason;
        assert_eq!(reason, "from the venue's catalogue", "no taste: says where it comes from");
    }

    #[test]
    fn an_account_taste_is_what_its_owner_allows() {
        use crate::domain::{Activity, ActivityKind, TasteSettings};
        let added = |at: Millis, track: &Track| Activity {
            id: format!("a{at}"),
            user_id: "u".into(),
            created_at: at,
            room_id: "r".into(),
            room_name: "Party".into(),
            kind: ActivityKind::TrackAdded { track: Box::new(track.clone()) },
        };
        let (old, new) = (track("t1", "Abba", "disco", 50), track("t2", "Blur", "rock", 50));
        let history = [added(100, &new), added(10, &old)];
        let (all, counts) = account_taste(&history, &[], TasteSettings::default());
        assert_eq!((counts.added, all.artists.len()), (2, 2));
        let (recent, counts) = account_taste(&history, &[], TasteSettings { off: false, since: 50 });
        assert_eq!((counts.added, recent.artists.keys().collect::<Vec<_>>()), (1, vec![&"blur".to_string()]));
        let (off, counts) = account_taste(&history, &[], TasteSettings { off: true, since: 0 });
        assert!(off.is_empty() && counts == TasteCounts::default());
    }

    #[test]
    fn votes_count_like_adds_and_imports_count_less() {
        use crate::domain::{TasteMark, TasteSettings, TasteSource};
        let jazz = track("j1", "Miles", "jazz", 30);
        let disco = track("d1", "Chic", "disco", 70);
        let marks =
            [TasteMark::new("u", TasteSource::Vote, &jazz, 20), TasteMark::new("u", TasteSource::Import, &disco, 30)];
        let (taste, counts) = account_taste(&[], &marks, TasteSettings::default());
        assert_eq!(counts, TasteCounts { added: 0, voted: 1, imported: 1 });
        assert_eq!(taste.genres["jazz"], 1.0);
        assert_eq!(taste.genres["disco"], IMPORT_WEIGHT);
        let (since, counts) = account_taste(&[], &marks, TasteSettings { off: false, since: 25 });
        assert_eq!((counts.voted, counts.imported), (0, 1), "a mark before the deletion does not count");
        assert!(!since.genres.contains_key("jazz"));
    }

    #[test]
    fn a_party_room_wants_more_of_what_it_voted_up() {
        let voted =
            |t: &Track, up: u32, down: u32, end: PlayEnd| Play { votes_up: up, votes_down: down, end, ..play(t, 1) };
        let disco = track("d1", "Chic", "disco", 70);
        let rock = track("r1", "Rush", "rock", 80);
        let jazz = track("j1", "Miles", "jazz", 30);
        let plays = vec![
            voted(&disco, 3, 1, PlayEnd::Finished),
            voted(&rock, 1, 2, PlayEnd::Finished),
            voted(&jazz, 5, 0, PlayEnd::Skipped),
        ];
        let taste = room_taste(&plays);
        assert_eq!(
            taste.genres,
            HashMap::from([("disco".to_string(), 2.0)]),
            "voted down and skipped count for nothing"
        );
        let crowd = Crowd::room(&taste);
        assert_eq!(crowd.favourites(3), (vec!["disco".to_string()], vec!["chic".to_string()]));
        let catalogue = Catalogue::new(vec![
            track("r2", "Rush", "rock", 80),
            track("d2", "Sister Sledge", "disco", 72),
            track("d3", "Chic", "disco", 71),
        ]);
        let pick = pick(&catalogue, context(&crowd, &plays)).expect("a pick");
        assert_eq!(pick.track.id, "d2", "Chic just played: another disco artist");
        assert_eq!(pick.reason, "more like disco, voted up here");
        assert!(room_taste(&[]).is_empty(), "a room that voted nothing up has no taste");
    }

    #[test]
    fn the_room_refuses_the_best_candidate_and_the_next_plays() {
        let disco = track("d1", "Chic", "disco", 70);
        let crowd = Crowd::of([&taste(&[&disco])]);
        let catalogue =
            Catalogue::new(vec![track("d2", "Sister Sledge", "disco", 72), track("j1", "Miles", "jazz", 30)]);
        let refuse_d2 = |t: &Track| t.id != "d2";
        let ctx = Context { allows: &refuse_d2, ..context(&crowd, &[]) };
        assert_eq!(pick(&catalogue, ctx).map(|p| p.track.id.clone()), Some("j1".to_string()));
        let ctx = Context { allows: &|_| false, ..context(&crowd, &[]) };
        assert!(pick(&catalogue, ctx).is_none());
    }
}
