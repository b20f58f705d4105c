//! A file's tags, read with lofty. The format comes from the content, not
//! the extension (a file whose extension lies is read as what it is).
//! Text is trimmed, capped and split the way players show it; a file with
//! no title falls back to its name (`Artist - Title`). lofty never gets to
//! panic or loop the scan away: it runs under `catch_unwind` and reads
//! through a budget (`read_from`).
//!
//! Owns: reading a file's tags. May use: lofty. Must not import: anything
//! of crowdjuke's.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use lofty::config::{ParseOptions, ParsingMode};
use lofty::file::FileType;
use lofty::picture::{MimeType, PictureType};
use lofty::prelude::*;
use lofty::probe::Probe;

/// Longest text kept of one tag (a title, an album…).
const MAX_TEXT_CHARS: usize = 300;
/// Most values kept of a list tag (artists, genres).
const MAX_VALUES: usize = 20;
/// Largest cover kept (bigger ones are left out).
pub const MAX_COVER_BYTES: usize = 4 * 1024 * 1024;
/// How much lofty may read of a file: this many times its length, plus
/// `READ_BUDGET_EXTRA`. It reads a sound file about once (a few headers
/// twice); a loop that goes over the file again and again is cut off.
const READ_BUDGET_TIMES: u64 = 16;
const READ_BUDGET_EXTRA: u64 = 1024 * 1024;

#[derive(Debug, Default)]
pub struct Tags {
    pub title: Option<String>,
    pub artists: Vec<String>,
    pub album: Option<String>,
    pub album_artist: Option<String>,
    pub genres: Vec<String>,
    pub year: Option<u16>,
    pub track_number: Option<u32>,
    pub isrc: Option<String>,
    pub duration_ms: u64,
    /// The audio's MIME type, from the content.
    pub mime: &'static str,
    /// Front cover (or the first picture): bytes and MIME type.
    pub cover: Option<(Vec<u8>, String)>,
    /// Why the tags could not be read, when the format could: the file is
    /// then taken by its name, if its audio decodes.
    pub damaged: Option<String>,
}

/// Why a file's tags could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TagError {
    #[error("not an audio file crowdjuke reads")]
    Unsupported,
    #[error("damaged: {0}")]
    Corrupt(String),
    #[error("cannot read the file: {0}")]
    Unreadable(#[from] std::io::Error),
}

pub fn read(path: &Path) -> Result<Tags, TagError> {
    read_from(BufReader::new(File::open(path)?))
}

/// The tags of a file's bytes, whatever their source (a file, or a fuzzer's input).
///
/// lofty runs inside `catch_unwind`: a file it cannot cope with is damaged,
/// never a panic. Fuzzing found one (lofty 0.25.5, an Opus stream whose last
/// granule position overflows `samples * 1000` in `ogg/opus/properties.rs`,
/// a panic where overflow is checked: test and debug builds).
///
/// It also reads through a `ReadBudget`: fuzzing found an 85-byte file on
/// which lofty 0.25.5 loops forever (an ADTS frame of length 0:
/// `aac/read.rs` `find_next_frame` finds the same frame again and again),
/// which would hold a scan thread and a core for good. Every such loop
/// reads, so a reader that refuses to read on ends it: the file is damaged.
pub fn read_from<R: Read + Seek>(mut reader: R) -> Result<Tags, TagError> {
    let length = reader.seek(SeekFrom::End(0))?;
    reader.rewind()?;
    let budget = length.saturating_mul(READ_BUDGET_TIMES).saturating_add(READ_BUDGET_EXTRA);
    let mut reader = ReadBudget { inner: reader, left: budget };
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| read_tags(&mut reader))) {
        // lofty may take the refusal for the end of the file: what it read
        // before cannot be trusted either.
        Ok(_) if reader.left == 0 => Err(TagError::Corrupt(OVER_BUDGET.into())),
        Ok(read) => read,
        Err(_) => Err(TagError::Corrupt("the tag reader failed on this file".into())),
    }
}

fn read_tags<R: Read + Seek>(reader: R) -> Result<Tags, TagError> {
    let probe = Probe::new(reader).options(ParseOptions::new().parsing_mode(ParsingMode::BestAttempt));
    let probe = probe.guess_file_type()?;
    let Some(file_type) = probe.file_type() else { return Err(TagError::Unsupported) };
    let mime = mime_of(file_type).ok_or(TagError::Unsupported)?;
    let tagged = match probe.read() {
        Ok(tagged) => tagged,
        Err(e) if e.is_unknown_format() => return Err(TagError::Unsupported),
        Err(e) => {
            let why = std::error::Error::source(&e).map_or_else(|| e.to_string(), |s| s.to_string());
            return Ok(Tags { mime, damaged: Some(why), ..Tags::default() });
        }
    };
    let mut tags = Tags { duration_ms: tagged.properties().duration().as_millis() as u64, mime, ..Tags::default() };
    if let Some(tag) = tagged.primary_tag().or_else(|| tagged.first_tag()) {
        let list = |key: ItemKey| split_values(tag.get_strings(key));
        tags.title = tag.title().and_then(|t| text(&t));
        tags.artists = list(ItemKey::TrackArtists);
        if tags.artists.is_empty() {
            tags.artists = list(ItemKey::TrackArtist);
        }
        tags.album = tag.album().and_then(|a| text(&a));
        tags.album_artist = tag.get_string(ItemKey::AlbumArtist).and_then(text);
        tags.genres = list(ItemKey::Genre).into_iter().map(|g| g.to_lowercase()).collect();
        tags.year = tag.date().map(|d| d.year).filter(|y| (1000..=2100).contains(y));
        tags.track_number = tag.track();
        tags.isrc = tag.get_string(ItemKey::Isrc).and_then(isrc);
        let picture = tag.get_picture_type(PictureType::CoverFront).or_else(|| tag.pictures().first());
        tags.cover = picture.filter(|p| p.data().len() <= MAX_COVER_BYTES).and_then(|p| {
            let mime = p.mime_type().map(MimeType::as_str)?;
            mime.starts_with("image/").then(|| (p.data().to_vec(), mime.to_string()))
        });
    }
    Ok(tags)
}

const OVER_BUDGET: &str = "the tag reader went over the file too many times";

/// A reader that fails once it has given `left` bytes.
struct ReadBudget<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for ReadBudget<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 && !buf.is_empty() {
            return Err(std::io::Error::other(OVER_BUDGET));
        }
        let most = buf.len().min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let read = self.inner.read(&mut buf[..most])?;
        self.left -= read as u64;
        Ok(read)
    }
}

impl<R: Seek> Seek for ReadBudget<R> {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        self.inner.seek(to)
    }
}

impl From<lofty::error::FileParseError> for TagError {
    fn from(e: lofty::error::FileParseError) -> Self {
        TagError::Corrupt(e.to_string())
    }
}

/// The MIME type browsers know the format by; `None` for formats a music
/// folder does not take.
fn mime_of(file_type: FileType) -> Option<&'static str> {
    Some(match file_type {
        FileType::Mpeg => "audio/mpeg",
        FileType::Flac => "audio/flac",
        FileType::Vorbis => "audio/ogg",
        FileType::Opus => "audio/ogg; codecs=opus",
        FileType::Mp4 => "audio/mp4",
        FileType::Aac => "audio/aac",
        FileType::Wav => "audio/wav",
        _ => return None,
    })
}

/// Trimmed, without control characters, capped; `None` when empty.
fn text(raw: &str) -> Option<String> {
    let clean: String = raw.chars().filter(|c| !c.is_control()).take(MAX_TEXT_CHARS).collect();
    let clean = clean.trim();
    (!clean.is_empty()).then(|| clean.to_string())
}

/// A list tag's values, also split where one value holds several (`A; B`,
/// `A / B`, as ID3v2.3 writes them).
fn split_values<'a>(values: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for value in values {
        for part in value.split([';', '/', '\0']) {
            if let Some(part) = text(part)
                && !out.contains(&part)
                && out.len() < MAX_VALUES
            {
                out.push(part);
            }
        }
    }
    out
}

/// An ISRC as its 12 characters (`CC-XXX-YY-NNNNN` → `CCXXXYYNNNNN`).
fn isrc(raw: &str) -> Option<String> {
    let code: String = raw.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_uppercase();
    let valid = code.len() == 12
        && code[..2].chars().all(|c| c.is_ascii_alphabetic())
        && code[5..].chars().all(|c| c.is_ascii_digit());
    valid.then_some(code)
}

/// Artist and title from a file name without tags: `Artist - Title.mp3`,
/// else the whole name as the title.
pub fn from_file_name(path: &Path) -> (Option<String>, String) {
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    match stem.split_once(" - ") {
        Some((artist, title)) if text(artist).is_some() && text(title).is_some() => {
            (text(artist), text(title).unwrap_or_default())
        }
        _ => (None, text(&stem).unwrap_or_else(|| "Untitled".to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the audio_tags fuzzer (fuzz/corpus/audio_tags/
    /// aac-zero-length-frame-loop): lofty 0.25.5 looped forever on it.
    #[test]
    fn a_file_the_tag_reader_would_loop_on_is_damaged_not_a_hang() {
        let bytes = std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/audio_tags/aac-zero-length-frame-loop"),
        )
        .expect("the committed input");
        let (done, answer) = std::sync::mpsc::channel();
        std::thread::spawn(move || done.send(read_from(std::io::Cursor::new(bytes)).map(|t| t.damaged)));
        let read = answer.recv_timeout(std::time::Duration::from_secs(20)).expect("the reader gives up");
        assert!(matches!(read, Err(TagError::Corrupt(_)) | Ok(Some(_))), "damaged: {read:?}");
    }

    #[test]
    fn isrcs_are_normalised_and_junk_is_dropped() {
        assert_eq!(isrc("us-rc1-76-07839").as_deref(), Some("USRC17607839"));
        assert_eq!(isrc("USRC17607839").as_deref(), Some("USRC17607839"));
        assert_eq!(isrc("12RC17607839"), None);
        assert_eq!(isrc("USRC1760783"), None);
        assert_eq!(isrc(""), None);
    }

    #[test]
    fn list_tags_split_and_text_is_cleaned() {
        let values = ["Ana; Bea", "Bea", " Cy / Dee ", "\u{7}"];
        assert_eq!(split_values(values.into_iter()), ["Ana", "Bea", "Cy", "Dee"]);
        assert_eq!(text(&"x".repeat(10_000)).map(|t| t.len()), Some(MAX_TEXT_CHARS));
    }

    #[test]
    fn a_file_name_gives_artist_and_title() {
        assert_eq!(from_file_name(Path::new("/m/Ana Tijoux - 1977.flac")), (Some("Ana Tijoux".into()), "1977".into()));
        assert_eq!(from_file_name(Path::new("/m/intro.mp3")), (None, "intro".into()));
        assert_eq!(from_file_name(Path::new("/m/ - .mp3")), (None, "-".into()));
    }
}
