//! Library import from CSV or JSON: a venue's licensed catalogue, a music
//! service export. The whole file is validated before anything is written,
//! and errors name the line (CSV) or item (JSON); a file with any error
//! imports nothing. Rows are identified by `id`, else ISRC, else provider
//! URI, else artist + title, so importing a file again updates the tracks
//! instead of duplicating them.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::domain::Track;
use crate::store::{Store, StoreResult};

/// Largest import file.
pub const MAX_IMPORT_BYTES: usize = 50 * 1024 * 1024;
/// Most tracks in one file.
pub const MAX_IMPORT_TRACKS: usize = 200_000;
/// Errors listed before the rest are only counted.
const MAX_REPORTED_ERRORS: usize = 20;
const MAX_TEXT_CHARS: usize = 300;
const MAX_LIST_ITEMS: usize = 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Csv,
    Json,
}

impl Format {
    /// From a file name's extension.
    pub fn from_path(path: &std::path::Path) -> Option<Self> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "csv" => Some(Self::Csv),
            "json" => Some(Self::Json),
            _ => None,
        }
    }
}

/// Why a file was refused: every problem found, with where it is.
#[derive(Debug, PartialEq, thiserror::Error)]
#[error("{}", .problems.join("; "))]
pub struct ImportError {
    pub problems: Vec<String>,
}

impl ImportError {
    fn one(problem: impl Into<String>) -> Self {
        Self { problems: vec![problem.into()] }
    }
}

/// One row as written, before validation. CSV lists (`artists`, `genres`)
/// are `;`-separated; JSON may use arrays or such strings.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Row {
    id: Option<String>,
    title: Option<String>,
    #[serde(alias = "artist")]
    artists: Option<Value>,
    album: Option<String>,
    #[serde(alias = "genre")]
    genres: Option<Value>,
    year: Option<Value>,
    duration_ms: Option<Value>,
    /// `m:ss`, an alternative to `duration_ms`.
    duration: Option<String>,
    explicit: Option<Value>,
    popularity: Option<Value>,
    isrc: Option<String>,
    provider_uri: Option<String>,
    artwork_url: Option<String>,
}

const KNOWN_COLUMNS: [&str; 15] = [
    "id",
    "title",
    "artist",
    "artists",
    "album",
    "genre",
    "genres",
    "year",
    "duration_ms",
    "duration",
    "explicit",
    "popularity",
    "isrc",
    "provider_uri",
    "artwork_url",
];

/// A validated file: its tracks and the columns that were ignored.
#[derive(Debug)]
pub struct Parsed {
    pub tracks: Vec<Track>,
    pub ignored_columns: Vec<String>,
}

pub fn parse(bytes: &[u8], format: Format) -> Result<Parsed, ImportError> {
    if bytes.len() > MAX_IMPORT_BYTES {
        return Err(ImportError::one(format!("the file is larger than {} MB", MAX_IMPORT_BYTES / 1024 / 1024)));
    }
    let mut problems = Problems::default();
    let (rows, ignored_columns) = match format {
        Format::Csv => csv_rows(bytes, &mut problems)?,
        Format::Json => (json_rows(bytes, &mut problems)?, Vec::new()),
    };
    let mut tracks = Vec::with_capacity(rows.len());
    let mut seen: HashMap<String, String> = HashMap::new();
    for (place, row) in rows {
        match track(row) {
            Ok(track) => match seen.insert(track.id.clone(), place.clone()) {
                Some(first) => problems.push(format!("{place}: the same track as {first} (id {})", track.id)),
                None => tracks.push(track),
            },
            Err(problem) => problems.push(format!("{place}: {problem}")),
        }
    }
    problems.into_result()?;
    Ok(Parsed { tracks, ignored_columns })
}

/// The problems found: the first few in full, the rest only counted, so a
/// file of millions of bad lines cannot exhaust memory.
#[derive(Default)]
struct Problems {
    listed: Vec<String>,
    more: usize,
}

impl Problems {
    fn push(&mut self, problem: String) {
        if self.listed.len() < MAX_REPORTED_ERRORS {
            self.listed.push(problem);
        } else {
            self.more += 1;
        }
    }

    fn count(&self) -> usize {
        self.listed.len() + self.more
    }

    fn into_result(self) -> Result<(), ImportError> {
        if self.listed.is_empty() {
            return Ok(());
        }
        let mut problems = self.listed;
        if self.more > 0 {
            problems.push(format!("and {} more problems", self.more));
        }
        Err(ImportError { problems })
    }
}

fn too_many_tracks() -> ImportError {
    ImportError::one(format!("more than {MAX_IMPORT_TRACKS} tracks in one file"))
}

/// Rows with where they came from (`line 3`, `item 2`).
type Rows = Vec<(String, Row)>;

/// Most columns in a CSV header.
const MAX_COLUMNS: usize = 64;

/// CSV rows with their line numbers (the header is line 1).
fn csv_rows(bytes: &[u8], problems: &mut Problems) -> Result<(Rows, Vec<String>), ImportError> {
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(bytes);
    let headers = reader.byte_headers().map_err(|e| ImportError::one(format!("line 1: {e}")))?.clone();
    if headers.len() > MAX_COLUMNS {
        return Err(ImportError::one(format!("line 1: more than {MAX_COLUMNS} columns")));
    }
    let headers: Vec<String> = headers
        .iter()
        .enumerate()
        .map(|(i, h)| {
            std::str::from_utf8(h)
                .map(|h| h.trim_start_matches('\u{feff}').to_ascii_lowercase())
                .map_err(|_| ImportError::one(format!("line 1, column {}: not valid UTF-8", i + 1)))
        })
        .collect::<Result<_, _>>()?;
    if let Some(twice) = headers.iter().enumerate().find(|(i, h)| headers[..*i].contains(h)).map(|(_, h)| h) {
        return Err(ImportError::one(format!("line 1: column `{twice}` appears twice")));
    }
    let has = |names: &[&str]| headers.iter().any(|h| names.contains(&h.as_str()));
    let missing: Vec<&str> = [("title", &["title"][..]), ("artist", &["artist", "artists"][..])]
        .into_iter()
        .filter(|(_, names)| !has(names))
        .map(|(column, _)| column)
        .collect();
    if !missing.is_empty() {
        return Err(ImportError::one(format!("line 1: missing column(s): {}", missing.join(", "))));
    }
    let ignored: Vec<String> = headers.iter().filter(|h| !KNOWN_COLUMNS.contains(&h.as_str())).cloned().collect();
    let mut rows = Vec::new();
    for record in reader.byte_records() {
        if rows.len() + problems.count() >= MAX_IMPORT_TRACKS {
            return Err(too_many_tracks());
        }
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                problems.push(format!("line {line}: {e}"));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        let mut object = serde_json::Map::new();
        for (header, field) in headers.iter().zip(record.iter()) {
            match std::str::from_utf8(field) {
                Ok("") => {}
                Ok(text) if KNOWN_COLUMNS.contains(&header.as_str()) => {
                    object.insert(header.clone(), Value::String(text.to_string()));
                }
                Ok(_) => {}
                Err(_) => problems.push(format!("line {line}, column `{header}`: not valid UTF-8")),
            }
        }
        match serde_json::from_value::<Row>(Value::Object(object)) {
            Ok(row) => rows.push((format!("line {line}"), row)),
            Err(e) => problems.push(format!("line {line}: {e}")),
        }
    }
    Ok((rows, ignored))
}

/// A JSON array read element by element, refusing more than
/// `MAX_IMPORT_TRACKS` elements before holding them all in memory.
struct BoundedItems(Vec<Value>);

impl<'de> serde::Deserialize<'de> for BoundedItems {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = BoundedItems;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                write!(f, "an array of at most {MAX_IMPORT_TRACKS} tracks")
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<BoundedItems, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<Value>()? {
                    if items.len() == MAX_IMPORT_TRACKS {
                        return Err(serde::de::Error::custom(format!("more than {MAX_IMPORT_TRACKS} tracks")));
                    }
                    items.push(item);
                }
                Ok(BoundedItems(items))
            }
        }
        deserializer.deserialize_seq(Visitor)
    }
}

fn json_rows(bytes: &[u8], problems: &mut Problems) -> Result<Rows, ImportError> {
    let BoundedItems(items) = serde_json::from_slice(bytes).map_err(|e| {
        ImportError::one(format!("not a JSON array of tracks (line {}, column {}): {e}", e.line(), e.column()))
    })?;
    let mut rows = Vec::with_capacity(items.len());
    for (n, item) in items.into_iter().enumerate() {
        let place = format!("item {}", n + 1);
        if !item.is_object() {
            problems.push(format!("{place}: not an object"));
            continue;
        }
        match serde_json::from_value::<Row>(item) {
            Ok(row) => rows.push((place, row)),
            Err(e) => problems.push(format!("{place}: {e}")),
        }
    }
    Ok(rows)
}

fn track(row: Row) -> Result<Track, String> {
    let title = text("title", row.title)?.ok_or("title is missing")?;
    let artists = list("artists", row.artists)?;
    if artists.is_empty() {
        return Err("artist is missing".into());
    }
    let isrc = row.isrc.map(|i| i.trim().replace('-', "").to_ascii_uppercase()).filter(|i| !i.is_empty());
    if let Some(isrc) = &isrc {
        let valid = isrc.len() == 12 && isrc.chars().all(|c| c.is_ascii_alphanumeric());
        if !valid {
            return Err(format!("isrc `{isrc}` is not 12 letters and digits"));
        }
    }
    let provider_uri = text("provider_uri", row.provider_uri)?;
    if let Some(uri) = provider_uri.as_ref().filter(|u| !u.contains(':') || u.chars().any(char::is_whitespace)) {
        return Err(format!("provider_uri `{uri}` is not a URI like spotify:track:…"));
    }
    let artwork_url = text("artwork_url", row.artwork_url)?;
    if artwork_url.as_ref().is_some_and(|u| !(u.starts_with("https://") || u.starts_with("http://"))) {
        return Err("artwork_url must be an http(s) URL".into());
    }
    let id = identity(row.id, isrc.as_deref(), provider_uri.as_deref(), &artists, &title)?;
    Ok(Track {
        id,
        title,
        album: text("album", row.album)?.unwrap_or_default(),
        genres: list("genres", row.genres)?.into_iter().map(|g| g.to_lowercase()).collect(),
        year: number("year", row.year, 0, 2100)? as u16,
        duration_ms: duration(row.duration_ms, row.duration)?,
        explicit: flag(row.explicit)?,
        popularity: number("popularity", row.popularity, 0, 100)? as u8,
        artists,
        isrc,
        provider_uri,
        artwork_url,
        ..Track::default()
    })
}

/// A track described by a music service (the fields of an import row),
/// validated and identified like an imported row.
pub fn validate(row: Value) -> Result<Track, String> {
    let row: Row = serde_json::from_value(row).map_err(|e| e.to_string())?;
    track(row)
}

/// The track id: given, or derived from the ISRC, the provider URI, or
/// the artist and title — the same row always gets the same id.
fn identity(
    id: Option<String>,
    isrc: Option<&str>,
    uri: Option<&str>,
    artists: &[String],
    title: &str,
) -> Result<String, String> {
    if let Some(id) = id.map(|i| i.trim().to_string()).filter(|i| !i.is_empty()) {
        let valid = id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        return if valid { Ok(id) } else { Err(format!("id `{id}` may only hold letters, digits, - and _")) };
    }
    if let Some(isrc) = isrc {
        return Ok(format!("isrc-{isrc}"));
    }
    let key = match uri {
        Some(uri) => format!("uri\n{uri}"),
        None => format!("name\n{}\n{}", artists.join("\n").to_lowercase(), title.to_lowercase()),
    };
    let digest = Sha256::digest(key.as_bytes());
    Ok(format!("t-{}", digest[..10].iter().map(|b| format!("{b:02x}")).collect::<String>()))
}

fn text(field: &str, value: Option<String>) -> Result<Option<String>, String> {
    let Some(value) = value.map(|v| v.trim().to_string()).filter(|v| !v.is_empty()) else { return Ok(None) };
    if value.chars().count() > MAX_TEXT_CHARS {
        return Err(format!("{field} is longer than {MAX_TEXT_CHARS} characters"));
    }
    if value.chars().any(char::is_control) {
        return Err(format!("{field} contains control characters"));
    }
    Ok(Some(value))
}

fn list(field: &str, value: Option<Value>) -> Result<Vec<String>, String> {
    let items: Vec<String> = match value {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => s.split(';').map(str::to_string).collect(),
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|i| match i {
                Value::String(s) => Ok(s),
                other => Err(format!("{field} holds {other}, not text")),
            })
            .collect::<Result<_, _>>()?,
        Some(other) => return Err(format!("{field} must be text or a list of text, not {other}")),
    };
    let items: Vec<String> =
        items.into_iter().filter_map(|i| text(field, Some(i)).transpose()).collect::<Result<_, _>>()?;
    if items.len() > MAX_LIST_ITEMS {
        return Err(format!("more than {MAX_LIST_ITEMS} {field}"));
    }
    Ok(items)
}

fn number(field: &str, value: Option<Value>, min: u64, max: u64) -> Result<u64, String> {
    let n = match value {
        None | Some(Value::Null) => return Ok(0),
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        Some(_) => None,
    };
    match n {
        Some(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(format!("{field} must be a whole number from {min} to {max}")),
    }
}

fn duration(ms: Option<Value>, text: Option<String>) -> Result<u64, String> {
    if ms.is_some() {
        return number("duration_ms", ms, 1_000, 24 * 3_600_000);
    }
    let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
        return Err("duration_ms (or duration as m:ss) is missing".into());
    };
    let bad = || format!("duration `{text}` is not m:ss");
    let (m, s) = text.trim().split_once(':').ok_or_else(bad)?;
    let (m, s): (u64, u64) = (m.parse().map_err(|_| bad())?, s.parse().map_err(|_| bad())?);
    if s >= 60 || m == 0 && s == 0 || m > 24 * 60 {
        return Err(bad());
    }
    Ok((m * 60 + s) * 1000)
}

fn flag(value: Option<Value>) -> Result<bool, String> {
    match value {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(b),
        Some(Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" => Ok(true),
            "false" | "no" | "0" | "" => Ok(false),
            _ => Err(format!("explicit must be true or false, not `{s}`")),
        },
        Some(other) => Err(format!("explicit must be true or false, not {other}")),
    }
}

/// What an import did.
#[derive(Debug, serde::Serialize)]
pub struct Report {
    pub imported: usize,
    pub created: usize,
    pub updated: usize,
    pub ignored_columns: Vec<String>,
}

/// Writes validated tracks to the store in one call (one transaction in
/// the embedded store), which also queues them for the search index.
pub async fn save(store: &dyn Store, parsed: Parsed) -> StoreResult<Report> {
    let mut existing = 0;
    for chunk in parsed.tracks.chunks(1_000) {
        let ids: Vec<String> = chunk.iter().map(|t| t.id.clone()).collect();
        existing += store.tracks_by_ids(&ids).await?.len();
    }
    store.put_tracks(&parsed.tracks).await?;
    let imported = parsed.tracks.len();
    Ok(Report { imported, created: imported - existing, updated: existing, ignored_columns: parsed.ignored_columns })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CSV: &str = "title,artist,album,genres,year,duration,explicit,popularity,isrc,bpm\n\
        Golden Heart,Daft Punk;Guest,Home,House;Electronic,1997,4:00,no,90,US-AB1-97-00001,120\n\
        \"Heart, of Gold\",Neil Young,,rock,1972,3:10,false,80,,96\n";

    #[test]
    fn a_csv_file_becomes_tracks_with_stable_ids() {
        let parsed = parse(CSV.as_bytes(), Format::Csv).expect("valid file");
        assert_eq!(parsed.ignored_columns, vec!["bpm".to_string()]);
        let [first, second] = &parsed.tracks[..] else { panic!("two tracks") };
        assert_eq!(first.id, "isrc-USAB19700001");
        assert_eq!(first.artists, vec!["Daft Punk", "Guest"]);
        assert_eq!(first.genres, vec!["house", "electronic"]);
        assert_eq!((first.duration_ms, first.year, first.popularity), (240_000, 1997, 90));
        assert_eq!(second.title, "Heart, of Gold");
        assert!(second.id.starts_with("t-"));
        let again = parse(CSV.as_bytes(), Format::Csv).expect("valid file");
        assert_eq!(again.tracks[1].id, second.id, "the same row gets the same id");
    }

    #[test]
    fn every_problem_is_reported_with_its_line_and_nothing_is_returned() {
        let csv = "title,artist,year,duration_ms\nA,B,1999,200000\n,B,1999,200000\nC,D,nineteen,200000\nE,F,2000,\n";
        let err = parse(csv.as_bytes(), Format::Csv).expect_err("invalid rows");
        assert_eq!(err.problems.len(), 3, "{err}");
        assert!(err.problems[0].starts_with("line 3: title"), "{err}");
        assert!(err.problems[1].starts_with("line 4: year"), "{err}");
        assert!(err.problems[2].starts_with("line 5: duration"), "{err}");
    }

    #[test]
    fn missing_columns_bad_utf8_and_duplicates_are_refused() {
        let err = parse(b"name,artist\nx,y\n", Format::Csv).expect_err("no title column");
        assert!(err.to_string().contains("missing column(s): title"), "{err}");
        let err = parse(b"title,artist,duration_ms\nx\xff,y,200000\n", Format::Csv).expect_err("bad utf-8");
        assert!(err.to_string().contains("line 2, column `title`: not valid UTF-8"), "{err}");
        let csv = "title,artist,duration_ms,isrc\nA,B,200000,USAB19700001\nC,D,200000,USAB19700001\n";
        let err = parse(csv.as_bytes(), Format::Csv).expect_err("duplicate isrc");
        assert!(err.to_string().contains("line 3: the same track as line 2"), "{err}");
    }

    #[test]
    fn a_json_file_takes_arrays_or_strings() {
        let json = r#"[{"title": "A", "artists": ["B", "C"], "genres": "pop;rock", "duration_ms": 200000,
            "explicit": true, "provider_uri": "spotify:track:abc"},
            {"id": "mine-1", "title": "D", "artist": "E", "duration": "3:00"}]"#;
        let parsed = parse(json.as_bytes(), Format::Json).expect("valid");
        assert_eq!(parsed.tracks[0].genres, vec!["pop", "rock"]);
        assert!(parsed.tracks[0].explicit);
        assert_eq!(parsed.tracks[1].id, "mine-1");
        let err = parse(br#"[{"title": 5, "artist": "x"}, 3]"#, Format::Json).expect_err("bad items");
        assert!(err.problems[0].starts_with("item 1:") && err.problems[1] == "item 2: not an object", "{err}");
        assert!(parse(b"{\"not\": \"an array\"}", Format::Json).is_err());
    }

    #[test]
    fn header_mistakes_and_floods_of_bad_rows_are_refused_compactly() {
        let err = parse(b"titles,artist\nx,y\n", Format::Csv).expect_err("no title column");
        assert!(err.to_string().contains("missing column(s): title"), "{err}");
        let err = parse(b"title,artist,title\nx,y,z\n", Format::Csv).expect_err("twice");
        assert!(err.to_string().contains("`title` appears twice"), "{err}");
        let flood = format!("title,artist\n{}", "a\n".repeat(100_000));
        let err = parse(flood.as_bytes(), Format::Csv).expect_err("every row is bad");
        assert_eq!(err.problems.len(), MAX_REPORTED_ERRORS + 1);
        assert!(err.problems[MAX_REPORTED_ERRORS].starts_with("and 99980 more"), "{err}");
        let zeros = format!("[{}0]", "0,".repeat(MAX_IMPORT_TRACKS));
        let err = parse(zeros.as_bytes(), Format::Json).expect_err("too many items");
        assert!(err.to_string().contains("more than 200000 tracks"), "{err}");
    }

    #[test]
    fn an_oversized_file_is_refused_before_parsing() {
        let big = vec![b'a'; MAX_IMPORT_BYTES + 1];
        assert!(parse(&big, Format::Csv).expect_err("too big").to_string().contains("larger than"));
    }
}
