//! Autopilot benchmark: one pick among N catalogue tracks for G present
//! guests (each with a taste of 30 tracks), with a day part's limits and a
//! history of 50 plays and 1,000 co-likes of the crowd's 20 most liked
//! tracks (what the store answers at most), as the autopilot makes it when
//! a zone falls silent; prints p50/p99/max over RUNS picks with a new seed each.
//! Run: `cargo run --release --example autopilot_bench -- 100000 300`.

use std::collections::HashSet;
use std::time::Instant;

use crowdjuke::domain::recommend::{self, Catalogue, CoLike, CoLiked, Crowd, Taste};
use crowdjuke::domain::schedule::Limits;
use crowdjuke::domain::{Analysis, Play, PlayEnd, Track};

const RUNS: usize = 200;
const GENRES: [&str; 12] =
    ["disco", "funk", "house", "jazz", "soul", "rock", "pop", "techno", "hip hop", "reggae", "latin", "indie"];

fn track(i: usize) -> Track {
    Track {
        id: format!("t{i:06}"),
        title: format!("Track {i}"),
        artists: vec![format!("Artist {}", i % 5_000)],
        genres: vec![GENRES[i % GENRES.len()].into(), GENRES[(i / 7) % GENRES.len()].into()],
        duration_ms: 200_000,
        analysis: Some(Analysis {
            loudness_lufs: -12.0,
            true_peak_dbtp: -1.0,
            bpm: Some(90 + (i % 60) as u16),
            energy: (i * 37 % 101) as u8,
        }),
        ..Track::default()
    }
}

fn main() {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let (tracks, guests) = (args.first().copied().unwrap_or(100_000), args.get(1).copied().unwrap_or(300));
    let catalogue = Catalogue::new((0..tracks).map(track).collect());
    let tastes: Vec<Taste> = (0..guests)
        .map(|g| {
            let mut taste = Taste::default();
            for k in 0..30 {
                taste.like(&catalogue.tracks[(g * 131 + k * 977) % tracks], 1.0);
            }
            taste
        })
        .collect();
    let plays: Vec<Play> = (0..50)
        .map(|i| {
            let t = &catalogue.tracks[i * 13 % tracks];
            Play {
                entry_id: format!("e{i}"),
                track_id: t.id.clone(),
                title: t.title.clone(),
                artists: t.artists.clone(),
                genres: t.genres.clone(),
                added_by: None,
                started_at: i as u64 * 200_000,
                ended_at: i as u64 * 200_000 + 1,
                end: PlayEnd::Finished,
                votes_up: 0,
                votes_down: 0,
            }
        })
        .collect();
    let limits = Limits { energy: Some([30, 90]), genres_blocked: vec!["techno".into()], ..Limits::default() };
    let mut times = Vec::with_capacity(RUNS);
    let mut reason = String::new();
    for seed in 0..RUNS as u64 {
        let started = Instant::now();
        // Folding the tastes is part of every pick: the guests present change.
        let crowd = Crowd::of(&tastes);
        let all = &catalogue.tracks;
        let co_likes: Vec<CoLike> = crowd
            .liked_tracks(20)
            .iter()
            .enumerate()
            .flat_map(|(s, id)| {
                (0..50).map(move |k| CoLike {
                    track_id: id.clone(),
                    with: all[(s * 4_099 + k * 211 + seed as usize) % tracks].id.clone(),
                    count: 1 + k as u64 % 7,
                })
            })
            .collect();
        let co_liked = CoLiked::new(&crowd, &co_likes);
        let ctx = recommend::Context {
            crowd: &crowd,
            co_liked: &co_liked,
            limits: Some(&limits),
            day_part: Some("Evening"),
            recent_plays: &plays,
            busy: HashSet::new(),
            no_replay_hours: Some(3),
            last_energy: Some(60),
            now: 50 * 200_000,
            seed,
            allows: &|track| !track.explicit,
        };
        let pick = recommend::pick(&catalogue, ctx).expect("a pick");
        times.push(started.elapsed());
        reason = pick.reason;
    }
    times.sort();
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
    println!(
        "autopilot pick: {tracks} tracks, {guests} guests, {RUNS} picks: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms (last reason: {reason:?})",
        ms(times[RUNS / 2]),
        ms(times[RUNS * 99 / 100]),
        ms(times[RUNS - 1])
    );
}
