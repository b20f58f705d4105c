//! A zone's schedule: day parts by weekday and local time in the venue's
//! time zone, each with its own limits on what guests may ask for; outside
//! every day part the zone's defaults apply. Which day part is on is
//! decided from the clock whenever a command runs or a snapshot is built,
//! so a new day part applies by itself at its start, on every node alike,
//! with nothing to schedule.
//!
//! Daylight saving: a day part's start and end are instants of that local
//! date. A local time that does not exist that day (it falls in the spring
//! gap) means the first instant after the gap; one that happens twice
//! (autumn) means its first occurrence. So a day part from 02:30 starts at
//! 03:00 on the spring night and ends at the first 02:30 on the autumn one.

use chrono::{Datelike, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::venue::clock_minutes;
use super::{DomainError, Millis, Track};

pub const MAX_DAY_PARTS: usize = 50;
const MAX_GENRES: usize = 50;
const MAX_NAME_CHARS: usize = 60;
const WEEK_MINUTES: u32 = 7 * 24 * 60;

/// What guests may ask for while a day part (or the defaults) applies.
/// Staff are not held to it: they curate.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// When not empty, a track must have one of these genres.
    pub genres_allowed: Vec<String>,
    /// A track with one of these genres is refused.
    pub genres_blocked: Vec<String>,
    /// Measured energy, 0 (calm) to 100, inclusive; tracks without a
    /// measurement pass.
    pub energy: Option<[u8; 2]>,
    /// Tempo in BPM, inclusive; tracks without a tempo pass.
    pub tempo: Option<[u16; 2]>,
    /// `false` refuses explicit tracks.
    pub explicit: Option<bool>,
    /// `false`: guests may not ask for tracks at all (they still vote).
    pub requests: Option<bool>,
    /// `true`: a guest's request waits for the staff's approval instead of
    /// going straight into the queue.
    pub approval: Option<bool>,
    /// How many tracks one guest may ask for in an hour (1 to 60).
    pub requests_per_hour: Option<u16>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DayPart {
    pub name: String,
    /// ISO weekdays it starts on, 1 (Monday) to 7 (Sunday).
    pub days: Vec<u8>,
    /// `HH:MM`, local time.
    pub starts: String,
    /// `HH:MM`; at or before `starts`: the next day.
    pub ends: String,
    #[serde(default)]
    pub limits: Limits,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// The venue's IANA time zone (copied when the schedule is set).
    pub time_zone: String,
    #[serde(default)]
    pub defaults: Limits,
    #[serde(default)]
    pub day_parts: Vec<DayPart>,
}

/// The day part a room last announced: `name` null for the defaults.
/// `next_change` is when another day part (or the defaults) takes over,
/// for the player to announce it on time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DayPartOn {
    pub name: Option<String>,
    pub since: Millis,
    pub next_change: Option<Millis>,
}

/// The limits in force now, and the day part they come from (if any).
#[derive(Clone, Debug, PartialEq)]
pub struct InForce<'a> {
    pub day_part: Option<&'a DayPart>,
    pub limits: &'a Limits,
    /// When the day part ends (`None` with the defaults).
    pub until: Option<Millis>,
}

impl Limits {
    fn validate(&self, what: &str) -> Result<(), DomainError> {
        let bad = |why: String| Err(DomainError::InvalidSchedule(why));
        for list in [&self.genres_allowed, &self.genres_blocked] {
            if list.len() > MAX_GENRES || list.iter().any(|g| g.trim().is_empty() || g.chars().count() > MAX_NAME_CHARS)
            {
                return bad(format!("{what}: at most {MAX_GENRES} genres of 1 to {MAX_NAME_CHARS} characters"));
            }
        }
        if let Some([low, high]) = self.energy
            && (low > high || high > 100)
        {
            return bad(format!("{what}: energy is [low, high] within 0 to 100"));
        }
        if let Some([low, high]) = self.tempo
            && (low > high || high > 300)
        {
            return bad(format!("{what}: tempo is [low, high] within 0 to 300 BPM"));
        }
        if self.requests_per_hour.is_some_and(|n| !(1..=60).contains(&n)) {
            return bad(format!("{what}: requests_per_hour is 1 to 60"));
        }
        Ok(())
    }

    /// Why a guest may not ask for this track now, if they may not.
    pub fn refusal(&self, track: &Track) -> Option<String> {
        let genres: Vec<String> = track.genres.iter().map(|g| g.to_lowercase()).collect();
        let prepared = self.prepare();
        Some(match prepared.why(track, &genres, true)? {
            Why::Closed => "guests cannot ask for tracks right now".into(),
            Why::Explicit => "explicit tracks are not played right now".into(),
            Why::Blocked(genre) => format!("{genre} is not played right now"),
            Why::NotAllowed => format!("only {} is played right now", prepared.allowed.join(", ")),
            Why::Energy(low, high, energy) => {
                format!("the energy right now is {low} to {high}, and this track's is {energy}")
            }
            Why::Tempo(low, high, bpm) => {
                format!("the tempo right now is {low} to {high} BPM, and this track's is {bpm}")
            }
        })
    }

    /// The limits with their genre lists in lower case, to check many
    /// tracks (the autopilot) without allocating per track.
    pub fn prepare(&self) -> PreparedLimits<'_> {
        let lower = |list: &[String]| list.iter().map(|g| g.to_lowercase()).collect();
        PreparedLimits { limits: self, blocked: lower(&self.genres_blocked), allowed: lower(&self.genres_allowed) }
    }
}

pub struct PreparedLimits<'a> {
    limits: &'a Limits,
    blocked: Vec<String>,
    allowed: Vec<String>,
}

enum Why<'g> {
    Closed,
    Explicit,
    Blocked(&'g str),
    NotAllowed,
    Energy(u8, u8, u8),
    Tempo(u16, u16, u16),
}

impl PreparedLimits<'_> {
    /// Whether the track may play, its genres given in lower case; the
    /// `requests` switch is not looked at (the autopilot is not a guest).
    pub fn allows_playing(&self, track: &Track, genres: &[String]) -> bool {
        self.why(track, genres, false).is_none()
    }

    fn why<'g>(&self, track: &Track, genres: &'g [String], guest: bool) -> Option<Why<'g>> {
        let limits = self.limits;
        if guest && limits.requests == Some(false) {
            return Some(Why::Closed);
        }
        if limits.explicit == Some(false) && track.explicit {
            return Some(Why::Explicit);
        }
        if let Some(genre) = genres.iter().find(|g| self.blocked.contains(g)) {
            return Some(Why::Blocked(genre));
        }
        if !self.allowed.is_empty() && !genres.iter().any(|g| self.allowed.contains(g)) {
            return Some(Why::NotAllowed);
        }
        let analysis = track.analysis.as_ref();
        if let (Some([low, high]), Some(energy)) = (limits.energy, analysis.map(|a| a.energy))
            && !(low..=high).contains(&energy)
        {
            return Some(Why::Energy(low, high, energy));
        }
        if let (Some([low, high]), Some(bpm)) = (limits.tempo, analysis.and_then(|a| a.bpm))
            && !(low..=high).contains(&bpm)
        {
            return Some(Why::Tempo(low, high, bpm));
        }
        None
    }
}

impl Schedule {
    pub fn validate(&self) -> Result<(), DomainError> {
        let bad = |why: String| Err(DomainError::InvalidSchedule(why));
        if self.time_zone.parse::<Tz>().is_err() {
            return bad(format!("unknown time zone {:?}", self.time_zone));
        }
        self.defaults.validate("defaults")?;
        if self.day_parts.len() > MAX_DAY_PARTS {
            return bad(format!("at most {MAX_DAY_PARTS} day parts"));
        }
        let mut spans: Vec<(u32, u32, &str)> = Vec::new();
        for part in &self.day_parts {
            let name = part.name.trim();
            if name.is_empty() || name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
                return bad(format!("a day part's name is 1 to {MAX_NAME_CHARS} printable characters"));
            }
            part.limits.validate(name)?;
            let (Some(starts), Some(ends)) = (clock_minutes(&part.starts), clock_minutes(&part.ends)) else {
                return bad(format!("{name}: starts and ends are times of day HH:MM"));
            };
            if starts == ends {
                return bad(format!("{name}: it starts when it ends"));
            }
            if part.days.is_empty() || part.days.iter().any(|d| !(1..=7).contains(d)) {
                return bad(format!("{name}: days are 1 (Monday) to 7 (Sunday)"));
            }
            let length = (u32::from(ends) + 1440 - u32::from(starts)) % 1440;
            for day in &part.days {
                let from = (u32::from(*day) - 1) * 1440 + u32::from(starts);
                spans.push((from, from + length, name));
            }
        }
        // Two spans of the week overlap (the week wraps: Sunday night runs
        // into Monday morning).
        for (i, a) in spans.iter().enumerate() {
            for b in &spans[i + 1..] {
                let overlaps = |x: (u32, u32), y: (u32, u32)| x.0 < y.1 && y.0 < x.1;
                let shifted = (b.0 + WEEK_MINUTES, b.1 + WEEK_MINUTES);
                let back = (a.0 + WEEK_MINUTES, a.1 + WEEK_MINUTES);
                if overlaps((a.0, a.1), (b.0, b.1)) || overlaps((a.0, a.1), shifted) || overlaps(back, (b.0, b.1)) {
                    return bad(format!("{} and {} overlap", a.2, b.2));
                }
            }
        }
        Ok(())
    }

    /// The limits in force at `now`.
    pub fn at(&self, now: Millis) -> InForce<'_> {
        let defaults = InForce { day_part: None, limits: &self.defaults, until: None };
        let Ok(tz) = self.time_zone.parse::<Tz>() else { return defaults };
        let Some(utc) = Utc.timestamp_millis_opt(now as i64).single() else { return defaults };
        let today = utc.with_timezone(&tz).date_naive();
        let now = now as i64;
        for date in [today, today - Duration::days(1)] {
            let weekday = date.weekday().number_from_monday() as u8;
            for part in self.day_parts.iter().filter(|p| p.days.contains(&weekday)) {
                let (Some(starts), Some(ends)) = (clock_minutes(&part.starts), clock_minutes(&part.ends)) else {
                    continue;
                };
                let end_date = if ends <= starts { date + Duration::days(1) } else { date };
                let (Some(from), Some(to)) = (instant(&tz, date, starts), instant(&tz, end_date, ends)) else {
                    continue;
                };
                if from <= now && now < to {
                    return InForce { day_part: Some(part), limits: &part.limits, until: Some(to as Millis) };
                }
            }
        }
        defaults
    }
}

impl Schedule {
    /// When what is in force at `now` changes: the end of the day part on
    /// now, or (with the defaults) the next day part's start, within a week.
    pub fn next_change(&self, now: Millis) -> Option<Millis> {
        if let Some(until) = self.at(now).until {
            return Some(until);
        }
        let tz = self.time_zone.parse::<Tz>().ok()?;
        let today = Utc.timestamp_millis_opt(now as i64).single()?.with_timezone(&tz).date_naive();
        let mut next: Option<i64> = None;
        for offset in 0..=8 {
            let date = today + Duration::days(offset);
            let weekday = date.weekday().number_from_monday() as u8;
            for part in self.day_parts.iter().filter(|p| p.days.contains(&weekday)) {
                let Some(from) = clock_minutes(&part.starts).and_then(|m| instant(&tz, date, m)) else { continue };
                if from > now as i64 && next.is_none_or(|n| from < n) {
                    next = Some(from);
                }
            }
        }
        next.map(|n| n as Millis)
    }
}

/// Announces the day part in force at `now` if the room has not yet: at
/// most once per boundary, however many commands or nodes look (a write
/// is compare-and-swap on the room's version).
pub fn follow(room: &mut super::Room, now: Millis) -> bool {
    let Some(schedule) = &room.schedule else {
        return room.day_part_on.take().is_some();
    };
    let name = schedule.at(now).day_part.map(|p| p.name.clone());
    let next_change = schedule.next_change(now);
    match &mut room.day_part_on {
        Some(on) if on.name == name => {
            // The same day part (or it was edited): keep `since`.
            let moved = on.next_change != next_change;
            on.next_change = next_change;
            moved
        }
        _ => {
            room.day_part_on = Some(DayPartOn { name, since: now, next_change });
            true
        }
    }
}

/// The first instant (ms) at which `date` shows `minutes` on the clock in
/// `tz`: after the gap for a time that does not exist, the first of two
/// for one that happens twice.
fn instant(tz: &Tz, date: NaiveDate, minutes: u16) -> Option<i64> {
    let time = NaiveTime::from_hms_opt(u32::from(minutes / 60), u32::from(minutes % 60), 0)?;
    let mut local = date.and_time(time);
    // A gap is at most a few hours (usually one): walk forward to its end.
    for _ in 0..=24 * 60 {
        match tz.from_local_datetime(&local) {
            LocalResult::Single(t) => return Some(t.timestamp_millis()),
            LocalResult::Ambiguous(first, _) => return Some(first.timestamp_millis()),
            LocalResult::None => local += Duration::minutes(1),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Analysis;

    fn part(name: &str, days: &[u8], starts: &str, ends: &str) -> DayPart {
        DayPart {
            name: name.into(),
            days: days.to_vec(),
            starts: starts.into(),
            ends: ends.into(),
            limits: Limits::default(),
        }
    }

    fn schedule(parts: Vec<DayPart>) -> Schedule {
        Schedule { time_zone: "Europe/Paris".into(), defaults: Limits::default(), day_parts: parts }
    }

    /// Milliseconds of a UTC date and time.
    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> Millis {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).single().expect("valid").timestamp_millis() as Millis
    }

    fn name_at(s: &Schedule, now: Millis) -> Option<&str> {
        s.at(now).day_part.map(|p| p.name.as_str())
    }

    #[test]
    fn the_day_part_on_now_in_local_time_crossing_midnight() {
        // 2026-12-04 is a Friday (5); Paris is UTC+1 in winter.
        let s = schedule(vec![part("Happy hour", &[5], "17:00", "20:00"), part("Late", &[5], "22:00", "02:00")]);
        assert_eq!(name_at(&s, utc(2026, 12, 4, 15, 59)), None, "16:59 local: the defaults");
        assert_eq!(name_at(&s, utc(2026, 12, 4, 16, 0)), Some("Happy hour"));
        assert_eq!(s.at(utc(2026, 12, 4, 16, 0)).until, Some(utc(2026, 12, 4, 19, 0)));
        assert_eq!(name_at(&s, utc(2026, 12, 4, 19, 0)), None, "20:00: over");
        assert_eq!(name_at(&s, utc(2026, 12, 5, 0, 30)), Some("Late"), "Saturday 01:30 is still Friday's late part");
        assert_eq!(name_at(&s, utc(2026, 12, 5, 1, 0)), None, "02:00 Saturday: over");
        assert_eq!(name_at(&s, utc(2026, 12, 11, 21, 30)), Some("Late"), "a week later, again");
    }

    #[test]
    fn daylight_saving_nights() {
        // Spring: 2026-03-29 (Sunday, 7), 02:00 CET jumps to 03:00 CEST.
        let spring = schedule(vec![part("Night", &[7], "02:30", "05:00")]);
        assert_eq!(name_at(&spring, utc(2026, 3, 29, 0, 59)), None, "01:59 CET");
        assert_eq!(
            name_at(&spring, utc(2026, 3, 29, 1, 0)),
            Some("Night"),
            "03:00 CEST: 02:30 did not exist, it starts here"
        );
        assert_eq!(spring.at(utc(2026, 3, 29, 1, 0)).until, Some(utc(2026, 3, 29, 3, 0)), "05:00 CEST");
        // Autumn: 2026-10-25 (Sunday), 03:00 CEST falls back to 02:00 CET.
        let autumn = schedule(vec![part("Early", &[7], "00:00", "02:30"), part("Later", &[7], "02:30", "06:00")]);
        assert_eq!(name_at(&autumn, utc(2026, 10, 25, 0, 29)), Some("Early"), "02:29 CEST");
        assert_eq!(name_at(&autumn, utc(2026, 10, 25, 0, 30)), Some("Later"), "the first 02:30 ends Early");
        assert_eq!(
            name_at(&autumn, utc(2026, 10, 25, 1, 15)),
            Some("Later"),
            "02:15 CET, the second time: still Later"
        );
        assert_eq!(autumn.at(utc(2026, 10, 25, 0, 30)).until, Some(utc(2026, 10, 25, 5, 0)), "06:00 CET");
    }

    #[test]
    fn overlapping_empty_and_malformed_day_parts_are_refused() {
        let refused = |parts: Vec<DayPart>| matches!(schedule(parts).validate(), Err(DomainError::InvalidSchedule(_)));
        assert_eq!(
            schedule(vec![part("A", &[1], "10:00", "12:00"), part("B", &[1], "12:00", "14:00")]).validate(),
            Ok(())
        );
        assert!(refused(vec![part("A", &[1], "10:00", "12:00"), part("B", &[1], "11:59", "14:00")]), "overlap");
        assert!(refused(vec![part("A", &[1], "22:00", "02:00"), part("B", &[2], "01:00", "03:00")]), "across midnight");
        assert!(refused(vec![part("A", &[7], "23:00", "01:00"), part("B", &[1], "00:30", "03:00")]), "across the week");
        assert!(refused(vec![part("A", &[1, 1], "10:00", "12:00")]), "the same day twice overlaps itself");
        assert!(refused(vec![part("A", &[1], "10:00", "10:00")]), "empty");
        assert!(refused(vec![part("A", &[0], "10:00", "11:00")]), "day 0");
        assert!(refused(vec![part("A", &[], "10:00", "11:00")]), "no day");
        assert!(refused(vec![part("A", &[1], "10:00", "24:00")]), "24:00");
        assert!(refused(vec![part(" ", &[1], "10:00", "11:00")]), "no name");
        let mut low_high = part("A", &[1], "10:00", "11:00");
        low_high.limits.energy = Some([80, 20]);
        assert!(refused(vec![low_high]), "energy high below low");
        let mut tempo = part("A", &[1], "10:00", "11:00");
        tempo.limits.tempo = Some([100, 400]);
        assert!(refused(vec![tempo]), "tempo out of range");
        let bad_zone = Schedule { time_zone: "Europe/Atlantis".into(), ..schedule(vec![]) };
        assert!(matches!(bad_zone.validate(), Err(DomainError::InvalidSchedule(_))));
    }

    #[test]
    fn limits_say_why_a_track_is_refused() {
        let track = |genres: &[&str], explicit: bool, energy: u8, bpm: Option<u16>| Track {
            genres: genres.iter().map(|g| g.to_string()).collect(),
            explicit,
            analysis: Some(Analysis { loudness_lufs: -14.0, true_peak_dbtp: -1.0, bpm, energy }),
            ..Track::default()
        };
        let calm = Limits {
            energy: Some([0, 40]),
            tempo: Some([60, 110]),
            genres_blocked: vec!["Metal".into()],
            explicit: Some(false),
            ..Limits::default()
        };
        assert_eq!(calm.refusal(&track(&["jazz"], false, 30, Some(90))), None);
        assert!(calm.refusal(&track(&["jazz"], false, 70, Some(90))).expect("refused").contains("energy"));
        assert!(calm.refusal(&track(&["jazz"], false, 30, Some(140))).expect("refused").contains("tempo"));
        assert!(calm.refusal(&track(&["metal"], false, 30, None)).expect("refused").contains("metal"));
        assert!(calm.refusal(&track(&["jazz"], true, 30, None)).expect("refused").contains("explicit"));
        let disco = Limits { genres_allowed: vec!["Disco".into()], ..Limits::default() };
        assert!(disco.refusal(&track(&["jazz"], false, 30, None)).expect("refused").contains("disco"));
        assert_eq!(disco.refusal(&track(&["disco", "funk"], false, 30, None)), None);
        let closed = Limits { requests: Some(false), ..Limits::default() };
        assert!(closed.refusal(&track(&["jazz"], false, 30, None)).is_some());
    }
}
