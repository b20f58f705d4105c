//! Venue analytics: the event records a zone leaves behind (a play, a
//! request approved or declined, a guest's visit) and the report folded
//! from them (docs/ANALYTICS.md).
//!
//! An event carries its local day in the venue's time zone, fixed when it
//! is recorded, so a report for "1 to 31 March" is a range of days on an
//! index, whatever the daylight-saving dates. A visit also lists the local
//! hours it was seen in, for "guests present by hour".
//!
//! `Tally` folds events (or the stores' partial sums) into a `Report`. It
//! holds one row per day, track, artist and genre, never the events, so a
//! year of a busy venue is folded in a few hundred kilobytes.

use std::collections::{BTreeMap, HashMap};

use chrono::{NaiveDate, TimeZone, Timelike};
use serde::{Deserialize, Serialize};

use super::{DomainError, Millis};

/// How long events are kept: 13 months (396 days), then swept.
pub const RETENTION_DAYS: i64 = 396;
/// The longest report: a little over the retention.
pub const MAX_RANGE_DAYS: i64 = 400;
/// A guest back within this long is still on the same visit (a phone that
/// slept, a connection that dropped).
pub const VISIT_GAP_MS: Millis = 30 * 60_000;
/// How many tracks, artists and genres a report's top lists hold.
pub const TOP: usize = 20;

/// One thing that happened in a zone.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ZoneEvent {
    /// Deterministic, so recording twice stores once: `play:{entry}`,
    /// `request:{request}`, `visit:{zone}:{member}:{arrived}`.
    pub id: String,
    pub venue_id: String,
    pub zone_id: String,
    /// When it happened (a visit: when the guest arrived).
    pub at: Millis,
    /// The local date at `at` in the venue's time zone, `YYYY-MM-DD`.
    pub day: String,
    #[serde(flatten)]
    pub what: What,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum What {
    /// A track that finished or was skipped, with the votes its entry had
    /// when it started.
    Play {
        track_id: String,
        title: String,
        /// The first artist ("" if none).
        artist: String,
        /// The first genre ("" if none).
        genre: String,
        skipped: bool,
        votes_up: u32,
        votes_down: u32,
    },
    /// A guest's request that staff approved or declined.
    Request { track_id: String, approved: bool },
    /// A guest's stay: from `at` until `until`, seen in these local hours.
    Visit { member_id: String, until: Millis, hours: Vec<u8> },
}

/// A venue's time zone, for local days and hours.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LocalTime(pub chrono_tz::Tz);

impl LocalTime {
    /// UTC for a zone with a missing or unknown time zone name.
    pub fn named(name: &str) -> Self {
        Self(name.parse().unwrap_or(chrono_tz::UTC))
    }

    /// The local date (`YYYY-MM-DD`) and hour at `at`.
    pub fn day_and_hour(self, at: Millis) -> (String, u8) {
        let utc = chrono::DateTime::from_timestamp_millis(at as i64).unwrap_or_default();
        let local = self.0.from_utc_datetime(&utc.naive_utc());
        (local.format("%Y-%m-%d").to_string(), local.hour() as u8)
    }

    pub fn today(self, now: Millis) -> NaiveDate {
        let (day, _) = self.day_and_hour(now);
        NaiveDate::parse_from_str(&day, "%Y-%m-%d").unwrap_or_default()
    }
}

/// Which days a report covers, both ends included.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DayRange {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl DayRange {
    /// From `from` and `to` (`YYYY-MM-DD`, either missing): by default the
    /// 30 days up to `today`.
    pub fn parse(from: Option<&str>, to: Option<&str>, today: NaiveDate) -> Result<Self, DomainError> {
        let day = |s: &str| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map_err(|_| DomainError::InvalidRange(format!("{s:?} is not a date: use YYYY-MM-DD")))
        };
        let to = to.map(day).transpose()?.unwrap_or(today);
        let from = match from {
            Some(from) => day(from)?,
            None => to - chrono::Days::new(29),
        };
        if from > to {
            return Err(DomainError::InvalidRange("from is after to".into()));
        }
        if (to - from).num_days() + 1 > MAX_RANGE_DAYS {
            return Err(DomainError::InvalidRange(format!("a report covers at most {MAX_RANGE_DAYS} days")));
        }
        Ok(Self { from, to })
    }

    pub fn first(&self) -> String {
        self.from.format("%Y-%m-%d").to_string()
    }

    pub fn last(&self) -> String {
        self.to.format("%Y-%m-%d").to_string()
    }

    pub fn days(&self) -> impl Iterator<Item = NaiveDate> + use<> {
        let (from, to) = (self.from, self.to);
        from.iter_days().take_while(move |d| *d <= to)
    }

    pub fn day_count(&self) -> u64 {
        ((self.to - self.from).num_days() + 1) as u64
    }
}

/// The first local day that is kept at `today`: older events are swept.
pub fn oldest_kept_day(today: NaiveDate) -> String {
    (today - chrono::Days::new(RETENTION_DAYS as u64)).format("%Y-%m-%d").to_string()
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct DayRow {
    pub day: String,
    pub plays: u64,
    pub skips: u64,
    pub votes_up: u64,
    pub votes_down: u64,
    pub requests_approved: u64,
    pub requests_declined: u64,
    /// Visits that began this day.
    pub guests: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct HourRow {
    /// Local hour of the day, 0–23.
    pub hour: u8,
    /// Visits seen in this hour, over the whole range.
    pub guests: u64,
    /// `guests` divided by the days of the range.
    pub average: f64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct TrackRow {
    pub track_id: String,
    pub title: String,
    pub artist: String,
    pub plays: u64,
    pub skips: u64,
    pub skip_rate: f64,
    pub votes_up: u64,
    pub votes_down: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct NameRow {
    pub name: String,
    pub plays: u64,
    pub skips: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Totals {
    pub plays: u64,
    pub skips: u64,
    pub skip_rate: f64,
    pub votes_up: u64,
    pub votes_down: u64,
    pub requests_approved: u64,
    pub requests_declined: u64,
    pub guests: u64,
    /// Average length of a visit, in milliseconds (0 without visits).
    pub average_stay_ms: u64,
}

/// A venue's (or one zone's) figures over a range of days.
#[derive(Clone, Debug, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Report {
    pub from: String,
    pub to: String,
    pub time_zone: String,
    pub zone_id: Option<String>,
    pub totals: Totals,
    /// Every day of the range, days without events included.
    pub days: Vec<DayRow>,
    /// 24 rows, local hours 0–23.
    pub hours: Vec<HourRow>,
    /// Played tracks, most played first (ties by title).
    pub tracks: Vec<TrackRow>,
    pub artists: Vec<NameRow>,
    pub genres: Vec<NameRow>,
}

impl Report {
    /// Keeps the first `n` tracks, artists and genres.
    pub fn top(mut self, n: usize) -> Self {
        self.tracks.truncate(n);
        self.artists.truncate(n);
        self.genres.truncate(n);
        self
    }
}

/// An event as a store reads it back, borrowed from the stored bytes.
#[derive(Clone, Copy, Debug)]
pub enum EventRef<'a> {
    Play {
        day: &'a str,
        track_id: &'a str,
        title: &'a str,
        artist: &'a str,
        genre: &'a str,
        skipped: bool,
        votes_up: u32,
        votes_down: u32,
    },
    Request {
        day: &'a str,
        approved: bool,
    },
    Visit {
        day: &'a str,
        at: Millis,
        until: Millis,
        hours: &'a [u8],
    },
}

/// Sums folded so far; what the stores fill, one event or one partial sum
/// at a time.
#[derive(Debug, Default)]
pub struct Tally {
    pub days: BTreeMap<String, DayRow>,
    pub tracks: HashMap<String, TrackRow>,
    pub artists: HashMap<String, NameRow>,
    pub genres: HashMap<String, NameRow>,
    pub hours: [u64; 24],
    pub stay_ms: u64,
}

impl Tally {
    pub fn day(&mut self, day: &str) -> &mut DayRow {
        if !self.days.contains_key(day) {
            self.days.insert(day.to_string(), DayRow { day: day.to_string(), ..DayRow::default() });
        }
        self.days.get_mut(day).expect("just inserted")
    }

    pub fn add(&mut self, event: &ZoneEvent) {
        let day = event.day.as_str();
        self.fold(match &event.what {
            What::Play { track_id, title, artist, genre, skipped, votes_up, votes_down } => EventRef::Play {
                day,
                track_id,
                title,
                artist,
                genre,
                skipped: *skipped,
                votes_up: *votes_up,
                votes_down: *votes_down,
            },
            What::Request { approved, .. } => EventRef::Request { day, approved: *approved },
            What::Visit { until, hours, .. } => EventRef::Visit { day, at: event.at, until: *until, hours },
        });
    }

    /// Folds one event; allocates only for a day, track, artist or genre
    /// not seen before.
    pub fn fold(&mut self, event: EventRef<'_>) {
        match event {
            EventRef::Play { day, track_id, title, artist, genre, skipped, votes_up, votes_down } => {
                let skips = u64::from(skipped);
                let (up, down) = (u64::from(votes_up), u64::from(votes_down));
                let row = self.day(day);
                row.plays += 1;
                row.skips += skips;
                row.votes_up += up;
                row.votes_down += down;
                let sum = self.track(track_id, title, artist);
                sum.plays += 1;
                sum.skips += skips;
                sum.votes_up += up;
                sum.votes_down += down;
                add_name(&mut self.artists, artist, 1, skips);
                add_name(&mut self.genres, genre, 1, skips);
            }
            EventRef::Request { day, approved } => {
                let row = self.day(day);
                match approved {
                    true => row.requests_approved += 1,
                    false => row.requests_declined += 1,
                }
            }
            EventRef::Visit { day, at, until, hours } => {
                self.day(day).guests += 1;
                self.stay_ms += until.saturating_sub(at);
                for hour in hours.iter().filter(|h| **h < 24) {
                    self.hours[usize::from(*hour)] += 1;
                }
            }
        }
    }

    fn track(&mut self, track_id: &str, title: &str, artist: &str) -> &mut TrackRow {
        if !self.tracks.contains_key(track_id) {
            let row = TrackRow {
                track_id: track_id.to_string(),
                title: title.to_string(),
                artist: artist.to_string(),
                ..TrackRow::default()
            };
            self.tracks.insert(track_id.to_string(), row);
        }
        self.tracks.get_mut(track_id).expect("just inserted")
    }

    /// Adds a track's sums (a store's group of plays).
    pub fn add_track(&mut self, row: TrackRow) {
        let sum = self.track(&row.track_id, &row.title, &row.artist);
        sum.plays += row.plays;
        sum.skips += row.skips;
        sum.votes_up += row.votes_up;
        sum.votes_down += row.votes_down;
    }

    pub fn add_name(&mut self, genre: bool, name: &str, plays: u64, skips: u64) {
        add_name(if genre { &mut self.genres } else { &mut self.artists }, name, plays, skips);
    }

    pub fn finish(mut self, range: &DayRange, time_zone: &str, zone_id: Option<&str>) -> Report {
        let days: Vec<DayRow> = range
            .days()
            .map(|d| {
                let day = d.format("%Y-%m-%d").to_string();
                self.days.remove(&day).unwrap_or(DayRow { day, ..DayRow::default() })
            })
            .collect();
        let mut totals = Totals::default();
        for d in &days {
            totals.plays += d.plays;
            totals.skips += d.skips;
            totals.votes_up += d.votes_up;
            totals.votes_down += d.votes_down;
            totals.requests_approved += d.requests_approved;
            totals.requests_declined += d.requests_declined;
            totals.guests += d.guests;
        }
        totals.skip_rate = rate(totals.skips, totals.plays);
        totals.average_stay_ms = self.stay_ms.checked_div(totals.guests).unwrap_or(0);
        let span = range.day_count() as f64;
        let hours = (0..24u8)
            .map(|hour| {
                let guests = self.hours[usize::from(hour)];
                HourRow { hour, guests, average: (guests as f64 / span * 100.0).round() / 100.0 }
            })
            .collect();
        let mut tracks: Vec<TrackRow> = self.tracks.into_values().collect();
        for t in &mut tracks {
            t.skip_rate = rate(t.skips, t.plays);
        }
        tracks.sort_by(|a, b| {
            b.plays.cmp(&a.plays).then_with(|| a.title.cmp(&b.title)).then(a.track_id.cmp(&b.track_id))
        });
        Report {
            from: range.first(),
            to: range.last(),
            time_zone: time_zone.to_string(),
            zone_id: zone_id.map(str::to_string),
            totals,
            days,
            hours,
            tracks,
            artists: ranked(self.artists),
            genres: ranked(self.genres),
        }
    }
}

fn add_name(rows: &mut HashMap<String, NameRow>, name: &str, plays: u64, skips: u64) {
    if name.is_empty() {
        return;
    }
    if !rows.contains_key(name) {
        rows.insert(name.to_string(), NameRow { name: name.to_string(), ..NameRow::default() });
    }
    let Some(row) = rows.get_mut(name) else { return };
    row.plays += plays;
    row.skips += skips;
}

fn ranked(rows: HashMap<String, NameRow>) -> Vec<NameRow> {
    let mut rows: Vec<NameRow> = rows.into_values().collect();
    rows.sort_by(|a, b| b.plays.cmp(&a.plays).then_with(|| a.name.cmp(&b.name)));
    rows
}

/// `part / whole`, rounded to three decimals; 0 when `whole` is 0.
fn rate(part: u64, whole: u64) -> f64 {
    if whole == 0 { 0.0 } else { (part as f64 / whole as f64 * 1000.0).round() / 1000.0 }
}

/// A guest who just came online (or is still online) in a zone: their
/// visit, started now. `Visits` extend it while they stay.
pub fn visit(venue_id: &str, zone_id: &str, member_id: &str, now: Millis, local: LocalTime) -> ZoneEvent {
    let (day, hour) = local.day_and_hour(now);
    ZoneEvent {
        id: format!("visit:{zone_id}:{member_id}:{now}"),
        venue_id: venue_id.to_string(),
        zone_id: zone_id.to_string(),
        at: now,
        day,
        what: What::Visit { member_id: member_id.to_string(), until: now, hours: vec![hour] },
    }
}

/// Extends a visit to `now` (seen in local `hour`); `false` if the guest
/// was away longer than `VISIT_GAP_MS`, so a new visit begins instead.
pub fn extend_visit(event: &mut ZoneEvent, now: Millis, hour: u8) -> bool {
    let What::Visit { until, hours, .. } = &mut event.what else {
        return false;
    };
    if now > until.saturating_add(VISIT_GAP_MS) {
        return false;
    }
    *until = (*until).max(now);
    if !hours.contains(&hour) {
        hours.push(hour);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("valid")
    }

    fn code(e: DomainError) -> &'static str {
        e.code().as_str()
    }

    #[test]
    fn a_range_defaults_to_the_last_30_days_and_refuses_nonsense() {
        let today = date("2026-12-05");
        let range = DayRange::parse(None, None, today).expect("valid");
        assert_eq!(
            (range.first().as_str(), range.last().as_str(), range.day_count()),
            ("2026-11-06", "2026-12-05", 30)
        );
        let year = DayRange::parse(Some("2025-12-05"), Some("2026-12-05"), today).expect("valid");
        assert_eq!(year.day_count(), 366);
        for (from, to) in [
            (Some("1926-01-01"), Some("2026-01-01")), // a hundred years
            (Some("2026-12-05"), Some("2026-12-01")), // inverted
            (Some("2026-02-30"), None),               // no such day
            (Some("yesterday"), None),
            (None, Some("2026-13-01")),
        ] {
            let refused = DayRange::parse(from, to, today).expect_err("refused");
            assert_eq!(code(refused), "invalid_range", "{from:?}..{to:?}");
        }
    }

    #[test]
    fn local_days_and_hours_follow_daylight_saving() {
        let paris = LocalTime::named("Europe/Paris");
        // 2026-03-29 01:30 UTC: 03:30 in Paris, just after the clocks went forward.
        let spring = 1_774_747_800_000;
        assert_eq!(paris.day_and_hour(spring), ("2026-03-29".to_string(), 3));
        // 2026-10-24 22:30 UTC: 00:30 on the 25th in Paris (summer time).
        assert_eq!(paris.day_and_hour(1_792_881_000_000), ("2026-10-25".to_string(), 0));
        assert_eq!(LocalTime::named("Mars/Olympus"), LocalTime::named("UTC"));
    }

    fn play(day: &str, track: &str, skipped: bool) -> ZoneEvent {
        ZoneEvent {
            id: format!("play:{day}:{track}"),
            venue_id: "v".into(),
            zone_id: "z".into(),
            at: 0,
            day: day.into(),
            what: What::Play {
                track_id: track.into(),
                title: track.to_uppercase(),
                artist: format!("artist of {track}"),
                genre: "disco".into(),
                skipped,
                votes_up: 1,
                votes_down: 0,
            },
        }
    }

    #[test]
    fn a_tally_fills_every_day_ranks_tracks_and_rates_skips() {
        let mut tally = Tally::default();
        for e in [play("2026-01-01", "a", false), play("2026-01-03", "b", true), play("2026-01-03", "b", false)] {
            tally.add(&e);
        }
        let mut visit = visit("v", "z", "g", 1_000, LocalTime::named("UTC"));
        assert!(extend_visit(&mut visit, 1_000 + VISIT_GAP_MS, 1));
        assert!(!extend_visit(&mut visit.clone(), 1_000 + 3 * VISIT_GAP_MS, 2), "away too long: a new visit");
        visit.day = "2026-01-02".into();
        tally.add(&visit);
        let range = DayRange { from: date("2026-01-01"), to: date("2026-01-04") };
        let report = tally.finish(&range, "UTC", None);
        assert_eq!(report.days.iter().map(|d| d.plays).collect::<Vec<_>>(), [1, 0, 2, 0]);
        assert_eq!(report.totals.skip_rate, 0.333);
        assert_eq!(report.tracks[0].track_id, "b");
        assert_eq!(report.tracks[0].skip_rate, 0.5);
        assert_eq!(report.totals.average_stay_ms, VISIT_GAP_MS);
        assert_eq!((report.hours[0].guests, report.hours[1].guests, report.hours[1].average), (1, 1, 0.25));
        assert_eq!(report.genres, vec![NameRow { name: "disco".into(), plays: 3, skips: 1 }]);
        assert_eq!(report.clone().top(1).tracks.len(), 1);
    }
}
