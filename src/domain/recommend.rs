//! The autopilot's recommender: when a zone's queue runs dry, the next
//! track from the candidates (the venue's catalogue), within the limits in
//! force, ranked by the tastes of the guests present now, with novelty and
//! smooth energy changes, and a reason people can read.
//!
//! It learns from our own data only: what each present guest added and
//! voted up in the room, and what their account added across rooms (see
//! `autopilot`). Spotify's recommendation endpoints are closed to new apps.
//!
//! Score of a candidate: for each of its genres, the share of the present
//! guests' taste on that genre, plus twice that for each of its artists
//! (each guest's taste adds up to 1, so one guest who added fifty disco
//! tracks weighs as much as one who added one); minus up to 0.5 for an
//! energy jump from the last track; plus a jitter below 0.001 from the
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

/// What one guest likes: weights by lower-case genre and artist.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Taste {
    pub genres: HashMap<String, f32>,
    pub artists: HashMap<String, f32>,
}

/// How many of an account's latest activities make its taste.
pub const ACCOUNT_HISTORY: usize = 200;

/// An account's taste: the tracks it added across rooms (newest
/// `ACCOUNT_HISTORY` activities), since its owner last deleted it; none
/// while they turned it off.
pub fn account_taste(activities: &[super::Activity], settings: super::TasteSettings) -> (Taste, usize) {
    let mut taste = Taste::default();
    let mut tracks = 0;
    if settings.off {
        return (taste, 0);
    }
    for activity in activities.iter().filter(|a| settings.since == 0 || a.created_at > settings.since) {
        if let super::ActivityKind::TrackAdded { track } = &activity.kind {
            taste.like(track, 1.0);
            tracks += 1;
        }
    }
    (taste, tracks)
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
    }

    pub fn is_empty(&self) -> bool {
        self.genres.is_empty() && self.artists.is_empty()
    }
}

/// The present guests' tastes folded into one: each guest's weights
/// scaled to add up to 1, and how many guests like each genre and artist
/// (for the reason).
#[derive(Debug, Default)]
pub struct Crowd {
    genres: HashMap<String, (f32, usize)>,
    artists: HashMap<String, (f32, usize)>,
}

impl Crowd {
    pub fn of<'a>(tastes: impl IntoIterator<Item = &'a Taste>) -> Self {
        let mut crowd = Crowd::default();
        for taste in tastes {
            let total: f32 = taste.genres.values().chain(taste.artists.values()).sum();
            if total <= 0.0 {
                continue;
            }
            for (map, into) in [(&taste.genres, &mut crowd.genres), (&taste.artists, &mut crowd.artists)] {
                for (key, weight) in map {
                    let slot = into.entry(key.clone()).or_default();
                    slot.0 += weight / total;
                    slot.1 += 1;
                }
            }
        }
        crowd
    }

    pub fn is_empty(&self) -> bool {
        self.genres.is_empty() && self.artists.is_empty()
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
        best.map(|(count, name)| match count {
            1 => format!("a guest here likes {name}"),
            n => format!("{n} guests here like {name}"),
        })
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
    let mut best: Option<(f32, &Track)> = None;
    for (track, (genres, artists)) in candidates.tracks.iter().zip(&candidates.keys) {
        if ctx.busy.contains(track.id.as_str())
            || played.contains(track.id.as_str())
            || artists.iter().any(|a| recent_artists.contains(a))
            || limits.as_ref().is_some_and(|l| !l.allows_playing(track, genres))
        {
            continue;
        }
        let mut score = ctx.crowd.score(genres, artists);
        if let (Some(last), Some(energy)) = (ctx.last_energy, track.analysis.as_ref().map(|a| a.energy)) {
            score -= 0.5 * f32::from(last.abs_diff(energy)) / 100.0;
        }
        score += jitter(ctx.seed, &track.id);
        if best.is_none_or(|(b, _)| score > b) {
            best = Some((score, track));
        }
    }
    let (_, track) = best?;
    let reason = ctx.crowd.reason(track).unwrap_or_else(|| match ctx.day_part {
        Some(name) => format!("fits {name}"),
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

    fn context<'a>(crowd: &'a Crowd, plays: &'a [Play]) -> Context<'a> {
        Context {
            crowd,
            limits: None,
            day_part: None,
            recent_plays: plays,
            busy: HashSet::new(),
            no_replay_hours: None,
            last_energy: None,
            now: 1_000_000,
            seed: 7,
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
        let (all, tracks) = account_taste(&history, TasteSettings::default());
        assert_eq!((tracks, all.artists.len()), (2, 2));
        let (recent, tracks) = account_taste(&history, TasteSettings { off: false, since: 50 });
        assert_eq!((tracks, recent.artists.keys().collect::<Vec<_>>()), (1, vec![&"blur".to_string()]));
        let (off, tracks) = account_taste(&history, TasteSettings { off: true, since: 0 });
        assert!(off.is_empty() && tracks == 0);
    }
}
