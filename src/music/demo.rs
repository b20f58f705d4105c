//! A deterministic demo catalogue: plausible titles, artists, albums, genres
//! and years, generated from a fixed seed so every install has the same
//! library (and tests can rely on it).

use crate::domain::Track;

/// Number of tracks in the demo library.
pub const DEMO_TRACKS: usize = 1_200;

const ADJECTIVES: &[&str] = &[
    "Golden",
    "Electric",
    "Midnight",
    "Silver",
    "Broken",
    "Neon",
    "Velvet",
    "Endless",
    "Wild",
    "Quiet",
    "Burning",
    "Crystal",
    "Hollow",
    "Lucky",
    "Secret",
    "Restless",
    "Paper",
    "Summer",
    "Frozen",
    "Crimson",
    "Falling",
    "Lonely",
    "Sweet",
    "Distant",
    "Faded",
    "Shining",
    "Sleepless",
    "Dancing",
    "Northern",
    "Hidden",
];
const NOUNS: &[&str] = &[
    "Heart",
    "City",
    "River",
    "Dream",
    "Highway",
    "Fire",
    "Ocean",
    "Sky",
    "Lights",
    "Garden",
    "Thunder",
    "Mirror",
    "Shadow",
    "Horizon",
    "Train",
    "Radio",
    "Moon",
    "Storm",
    "Echo",
    "Paradise",
    "Satellite",
    "Island",
    "Avenue",
    "Signal",
    "Diamond",
    "Weekend",
    "Sunrise",
    "Machine",
    "Forest",
    "Carousel",
];
const PHRASES: &[&str] = &[
    "Don't Stop Now",
    "Take Me Home",
    "All Night Long",
    "Hold On",
    "One More Time",
    "Never Let Go",
    "Run Away",
    "Come Together",
    "Feel It",
    "Better Days",
    "Stay With Me",
    "Lose Control",
    "On My Way",
    "Dance Again",
    "Right Here",
    "Say Something",
    "Way Back",
    "Light It Up",
    "So Alive",
    "Move Your Body",
];
const FIRST_NAMES: &[&str] = &[
    "Mara", "Leon", "Ivy", "Oscar", "Nina", "Theo", "Clara", "Felix", "Jade", "Hugo", "Lena", "Marco", "Sofia", "Ezra",
    "Ruby", "Dante", "Alma", "Jonas", "Zoe", "Rafael",
];
const LAST_NAMES: &[&str] = &[
    "Valence",
    "Moreau",
    "Okafor",
    "Lindqvist",
    "Castell",
    "Brightwater",
    "Novak",
    "Sato",
    "Delacroix",
    "Reyes",
    "Hartley",
    "Kowalski",
    "Amari",
    "Finch",
    "Ortega",
    "Blackwood",
    "Nakamura",
    "Quinn",
    "Varga",
    "Sorensen",
];
const BAND_WORDS: &[&str] = &[
    "Wolves",
    "Pilots",
    "Strangers",
    "Foxes",
    "Machines",
    "Kids",
    "Brothers",
    "Collective",
    "Orchestra",
    "Riot",
    "Satellites",
    "Ghosts",
    "Tigers",
    "Sailors",
    "Lovers",
];
const GENRES: &[(&str, u16, u16)] = &[
    ("pop", 1965, 2025),
    ("rock", 1965, 2020),
    ("indie", 1990, 2025),
    ("electronic", 1985, 2025),
    ("house", 1988, 2025),
    ("techno", 1990, 2025),
    ("hip-hop", 1985, 2025),
    ("r&b", 1970, 2025),
    ("soul", 1962, 1985),
    ("funk", 1968, 1990),
    ("disco", 1974, 1985),
    ("jazz", 1955, 2015),
    ("reggae", 1968, 2010),
    ("latin", 1970, 2025),
    ("country", 1965, 2025),
    ("metal", 1975, 2020),
    ("folk", 1962, 2025),
    ("classical", 1950, 2010),
];

/// SplitMix64: a tiny, fixed PRNG so the catalogue never changes between
/// builds or crate upgrades.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

fn artist_name(rng: &mut SplitMix) -> String {
    match rng.below(3) {
        0 => format!("{} {}", rng.pick(FIRST_NAMES), rng.pick(LAST_NAMES)),
        1 => format!("The {} {}", rng.pick(ADJECTIVES), rng.pick(BAND_WORDS)),
        _ => format!("{} {}", rng.pick(NOUNS), rng.pick(BAND_WORDS)),
    }
}

fn title(rng: &mut SplitMix) -> String {
    match rng.below(3) {
        0 => format!("{} {}", rng.pick(ADJECTIVES), rng.pick(NOUNS)),
        1 => rng.pick(PHRASES).to_string(),
        _ => format!("{} of the {}", rng.pick(NOUNS), rng.pick(NOUNS)),
    }
}

/// The demo catalogue: 150 artists with a genre and era each, 8 tracks apiece
/// spread over two albums.
pub fn tracks() -> Vec<Track> {
    generate("demo", DEMO_TRACKS, 0x0C0F_FEE0_D15C_0000)
}

/// A generated catalogue of `count` tracks (rounded down to whole artists of
/// 8 tracks) with ids `{prefix}-{n:04}`: the demo library, and the large
/// catalogues of the search benchmark.
pub fn generate(prefix: &str, count: usize, seed: u64) -> Vec<Track> {
    let mut rng = SplitMix(seed);
    let mut out = Vec::with_capacity(count);
    for artist_no in 0..count / 8 {
        let artist = artist_name(&mut rng);
        let (genre, from, to) = GENRES[rng.below(GENRES.len())];
        let second_genre = GENRES[rng.below(GENRES.len())].0;
        let debut = from + rng.below(usize::from(to - from)) as u16;
        let albums = [title(&mut rng), title(&mut rng)];
        for n in 0..8 {
            let album_no = n / 4;
            let mut genres = vec![genre.to_string()];
            if second_genre != genre && rng.below(3) == 0 {
                genres.push(second_genre.to_string());
            }
            let mut artists = vec![artist.clone()];
            if rng.below(8) == 0 {
                artists.push(artist_name(&mut rng));
            }
            out.push(Track {
                id: format!("{prefix}-{:04}", artist_no * 8 + n),
                title: title(&mut rng),
                artists,
                album: albums[album_no].clone(),
                genres,
                year: (debut + album_no as u16 * 3).min(2025),
                duration_ms: 120_000 + rng.below(300_000) as u64,
                explicit: matches!(genre, "hip-hop" | "metal" | "r&b") && rng.below(3) == 0,
                popularity: rng.below(101) as u8,
                ..Track::default()
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_catalogue_is_large_varied_and_stable() {
        let a = tracks();
        assert_eq!(a.len(), DEMO_TRACKS);
        assert_eq!(a, tracks());
        let genres: std::collections::HashSet<_> = a.iter().flat_map(|t| t.genres.clone()).collect();
        assert!(genres.len() >= 10);
        assert!(a.iter().any(|t| t.explicit) && a.iter().any(|t| !t.explicit));
        assert!(a.iter().all(|t| (120_000..420_000).contains(&t.duration_ms)));
    }
}
