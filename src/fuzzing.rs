//! Fuzz targets: each takes arbitrary bytes and drives one parser of
//! untrusted input the way the server does, from the bytes a client sends to
//! the typed result. `fuzz/` runs them under cargo-fuzz (libFuzzer, nightly;
//! `scripts/fuzz`), and `tests/fuzz_corpus.rs` replays the committed corpus
//! (`fuzz/corpus/TARGET/`) through the same functions on stable, so the test
//! command smoke-tests every target. A target returns whatever the input:
//! a panic, an arithmetic overflow (fuzz builds check them) or a hang is the
//! finding. docs/RELIABILITY.md has the executions run.
//!
//! Owns: the fuzz targets. May use: domain, realtime (its event parser),
//! search, music, media, http (the upload parser). Nothing imports this
//! module.

use std::io::Cursor;
use std::sync::OnceLock;

use serde_json::Value;

use crate::domain::{Actor, Command, Member, Millis, Role, Room, Rules, Track, apply};
use crate::realtime::{EventRequest, merge_rules, parse_event};

/// A fuzz target: any bytes in, nothing out.
pub type Target = fn(&[u8]);

/// Every target by name, as `fuzz/fuzz_targets/` and the corpus folders name them.
pub const TARGETS: &[(&str, Target)] = &[
    ("event", event),
    ("search_query", search_query),
    ("library_import", library_import),
    ("image", image),
    ("upload", upload),
    ("audio_tags", audio_tags),
];

const T0: Millis = 1_700_000_000_000;
/// Events one input may send to its room.
const MAX_EVENTS: usize = 32;

/// Socket.IO events through `parse_event` and `domain::apply`: each line is
/// one event, its first byte choosing the sender (host, co-host, two guests,
/// a stranger, the system) and the rest the body of a Socket.IO event packet,
/// `["name", payload]`. Events that need the store read the fixed catalogue
/// (`t1`–`t5`).
pub fn event(data: &[u8]) {
    // Built once: a fresh room per input is a clone (its collections are
    // shared until written), which keeps the target fast.
    static FIXTURE: OnceLock<(Vec<Track>, Room)> = OnceLock::new();
    let (catalogue, fixture) = FIXTURE.get_or_init(|| {
        let catalogue: Vec<Track> = (1..=5).map(|i| track(&format!("t{i}"))).collect();
        let room = party(&catalogue);
        (catalogue, room)
    });
    let mut room = fixture.clone();
    let mut now = T0;
    for (n, line) in data.split(|b| *b == b'\n').take(MAX_EVENTS).enumerate() {
        let Some((&who, body)) = line.split_first() else { continue };
        let actor = match who % 6 {
            0 => Actor::Member("h".into()),
            1 => Actor::Member("k".into()),
            2 => Actor::Member("a".into()),
            3 => Actor::Member("b".into()),
            4 => Actor::Member("stranger".into()),
            _ => Actor::System,
        };
        let Ok(Value::Array(mut packet)) = serde_json::from_slice::<Value>(body) else { continue };
        let payload = if packet.len() > 1 { packet.swap_remove(1) } else { Value::Null };
        let Some(Value::String(name)) = packet.into_iter().next() else { continue };
        let Ok(request) = parse_event(&name, payload) else { continue };
        let command = match request {
            EventRequest::Command(command) => *command,
            EventRequest::Add(p) => match catalogue.iter().find(|t| t.id == p.track_id) {
                Some(track) => Command::Add { entry_id: format!("e{n}"), track: track.clone() },
                None => continue,
            },
            EventRequest::Rules(p) => match merge_rules(&room.rules, p) {
                Ok(rules) => Command::UpdateRules { rules },
                Err(_) => continue,
            },
            EventRequest::Fallback(p) => Command::SetFallback {
                tracks: p.track_ids.iter().filter_map(|id| catalogue.iter().find(|t| &t.id == id).cloned()).collect(),
            },
            EventRequest::Picks(p) => Command::SetPicks { genres: p.genres },
            EventRequest::VoteSkip => Command::VoteSkip { present: 4 },
            _ => continue,
        };
        now += 1_000;
        let version = room.version;
        if let Ok(outcome) = apply(&mut room, &actor, command, now) {
            assert!(room.version >= version, "the room's version went back");
            assert!(outcome.changes.is_empty() || room.version > version, "a change without a new version");
        }
    }
    // Whatever happened, the room still serializes (it is stored and sent).
    serde_json::to_vec(&room).expect("the room serializes");
}

fn track(id: &str) -> Track {
    Track {
        id: id.into(),
        title: format!("Title {id}"),
        artists: vec![format!("Artist {id}")],
        album: "Album".into(),
        genres: vec!["pop".into()],
        year: 2000,
        duration_ms: 180_000,
        popularity: 50,
        ..Track::default()
    }
}

fn member(id: &str, role: Role) -> Member {
    Member::new(id.into(), id.to_uppercase(), role, T0)
}

/// A room with host `h`, co-host `k`, guests `a` and `b`, the fallback
/// track `t1` playing, three queued entries (`q1`–`q3`: `t2`–`t4`); `t5` is
/// not queued.
fn party(catalogue: &[Track]) -> Room {
    let mut room =
        Room::new("r1".into(), "ABCDEF".into(), "Party".into(), member("h", Role::Host), Rules::default(), T0);
    for (id, role) in [("k", Role::Cohost), ("a", Role::Guest), ("b", Role::Guest)] {
        room.members.make_mut().insert(id.into(), member(id, role));
    }
    let host = Actor::Member("h".into());
    let setup = [
        Command::SetFallback { tracks: catalogue[..1].to_vec() },
        Command::Add { entry_id: "q1".into(), track: catalogue[1].clone() },
        Command::Add { entry_id: "q2".into(), track: catalogue[2].clone() },
        Command::Add { entry_id: "q3".into(), track: catalogue[3].clone() },
    ];
    for command in setup {
        apply(&mut room, &host, command, T0).expect("the fixture's commands are accepted");
    }
    room
}

/// A search's query string (`q=…&filter=…&sort=…`, as the HTTP route
/// receives it) through the Lucene parser, the planner of every index and the
/// Meilisearch translation.
pub fn search_query(data: &[u8]) {
    use crate::search::config::{IndexConfig, IndexName};
    use crate::search::request::{SearchParams, SearchRequest};
    static CONFIGS: OnceLock<Vec<IndexConfig>> = OnceLock::new();
    let configs = CONFIGS.get_or_init(|| IndexName::ALL.into_iter().map(IndexConfig::shipped).collect());
    let Ok(params) = serde_urlencoded::from_bytes::<SearchParams>(data) else { return };
    for config in configs {
        if let Ok(request) = SearchRequest::build(config, &params) {
            let _ = crate::search::meili::translate(&request);
        }
    }
}

/// A library import file, read as CSV and as JSON.
pub fn library_import(data: &[u8]) {
    use crate::music::import::{Format, parse};
    let _ = parse(data, Format::Csv);
    let _ = parse(data, Format::Json);
}

/// Largest picture the image target also decodes and renders (decoding is
/// what a fuzzer's small pictures exercise; big ones only cost time).
const MAX_RENDERED_PIXELS: u64 = 256 * 256;

/// A shared photo: inspection from the headers, then, for a small picture
/// that passes, the decode and the three renders.
pub fn image(data: &[u8]) {
    use crate::media::pipeline::{inspect, render};
    if let Ok(seen) = inspect(data)
        && u64::from(seen.width) * u64::from(seen.height) <= MAX_RENDERED_PIXELS
    {
        let _ = render(data);
    }
}

/// Boundary of the upload target's requests.
pub const UPLOAD_BOUNDARY: &str = "crowdjukefuzz";

/// A photo upload's multipart body (boundary [`UPLOAD_BOUNDARY`]) through
/// axum's multipart extractor and the upload's part rules.
pub fn upload(data: &[u8]) {
    use axum::extract::{FromRequest, Multipart};
    let request = axum::http::Request::builder()
        .method("POST")
        .header("content-type", format!("multipart/form-data; boundary={UPLOAD_BOUNDARY}"))
        .body(axum::body::Body::from(data.to_vec()))
        .expect("a valid request");
    thread_local! {
        static RUNTIME: tokio::runtime::Runtime =
            tokio::runtime::Builder::new_current_thread().build().expect("a runtime");
    }
    RUNTIME.with(|runtime| {
        runtime.block_on(async {
            if let Ok(form) = Multipart::from_request(request, &()).await {
                let _ = crate::http::read_upload(form).await;
            }
        })
    });
}

/// An audio file's tags, whatever its format.
pub fn audio_tags(data: &[u8]) {
    let _ = crate::music::folders::tags::read_from(Cursor::new(data));
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::TARGETS;

    /// The test command's smoke of the fuzzers: every committed input of
    /// every target runs through it without a panic.
    #[test]
    fn every_target_runs_its_committed_corpus() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
        for (name, target) in TARGETS {
            let mut inputs = 0;
            for entry in std::fs::read_dir(root.join(name)).expect("the target's corpus folder") {
                let path = entry.expect("a corpus entry").path();
                let bytes = std::fs::read(&path).expect("a corpus file");
                let ran = std::panic::catch_unwind(|| target(&bytes));
                assert!(ran.is_ok(), "{name} panics on {}", path.display());
                inputs += 1;
            }
            assert!(inputs >= 4, "{name} has {inputs} inputs in its corpus");
        }
    }

    /// The event target reaches the room: the seed that adds and votes
    /// changes it (a target that parsed nothing would fuzz nothing).
    #[test]
    fn the_event_target_drives_the_room() {
        let catalogue: Vec<_> = (1..=5).map(|i| super::track(&format!("t{i}"))).collect();
        let room = super::party(&catalogue);
        assert_eq!(room.queue.len(), 3);
        let request = crate::realtime::parse_event("queue:vote", serde_json::json!({"entry_id": "q1", "value": 1}));
        assert!(matches!(request, Ok(super::EventRequest::Command(c)) if matches!(*c, super::Command::Vote { .. })));
        let refused = crate::realtime::parse_event("queue:vote", serde_json::json!({"entry_id": "q1", "value": 7}));
        assert!(refused.is_err());
    }
}
