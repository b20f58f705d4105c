//! One conformance suite for the `Store` trait, run against every
//! implementation: the embedded redb store and the MongoDB store (on the
//! MongoDB-wire-compatible server `scripts/test` starts, a fresh randomly
//! named database per test). The two modes cannot drift apart.

use std::collections::BTreeSet;
use std::sync::Arc;

use crowdjuke::domain::analytics::{DayRange, What, ZoneEvent};
use crowdjuke::domain::recommend::LikedPlay;
use crowdjuke::domain::{AccountSession, Activity, ActivityKind, TasteMark, TasteSettings, TasteSource, User};
use crowdjuke::domain::{
    Actor, Command, Member, Photo, PhotoMark, PhotoStatus, Play, PlayEnd, Playback, Role, Room, Rules, Track, apply,
};
use crowdjuke::domain::{BlockedTrack, Invitation, OpeningHours, StaffMember, Venue, VenueDetails, VenueRole, Zone};
use crowdjuke::domain::{
    JobError, JobKind, JobPlan, JobStatus, JobWork, LinkStatus, PendingAuthorization, ProviderJob, ProviderLink,
};
use crowdjuke::music::demo;
use crowdjuke::store::{EmbeddedStore, FollowSide, MemberList, MongoStore, OutboxItem, Store, StoreError};
use tempfile::TempDir;

use crate::services;

const NOW: u64 = 1_700_000_000_000;

/// Keeps the embedded store's directory alive as long as the store.
struct Subject {
    store: Arc<dyn Store>,
    _dir: Option<TempDir>,
}

async fn embedded() -> Subject {
    let dir = TempDir::new().expect("temp dir");
    let store = EmbeddedStore::open(dir.path()).expect("embedded store opens");
    Subject { store: Arc::new(store), _dir: Some(dir) }
}

async fn mongo() -> Subject {
    let store = MongoStore::connect(&services::mongodb_uri(), &services::fresh_db_name()).await;
    Subject { store: Arc::new(store.expect("MongoDB store connects")), _dir: None }
}

fn member(id: &str, role: Role) -> Member {
    Member::new(id.into(), format!("name {id}"), role, NOW)
}

fn track(n: usize) -> Track {
    demo::tracks().swap_remove(n)
}

/// A room with members, a voted queue and a track playing: every part of the
/// aggregate a store has to keep.
fn party(id: &str, code: &str) -> Room {
    let mut room = Room::new(id.into(), code.into(), "Saturday".into(), member("h", Role::Host), Rules::default(), NOW);
    let host = Actor::Member("h".into());
    for guest in ["g1", "g2"] {
        apply(&mut room, &Actor::System, Command::Join { member: member(guest, Role::Guest) }, NOW).expect("join");
    }
    for n in 0..3 {
        let add = Command::Add { entry_id: format!("e{n}"), track: track(n) };
        apply(&mut room, &host, add, NOW + n as u64).expect("add");
    }
    let vote = Command::Vote { entry_id: "e2".into(), value: 1 };
    apply(&mut room, &Actor::Member("g1".into()), vote, NOW + 10).expect("vote");
    room
}

fn play(entry: &str, ended_at: u64) -> Play {
    Play {
        entry_id: entry.into(),
        track_id: format!("t-{entry}"),
        title: format!("title {entry}"),
        artists: vec!["A".into()],
        genres: vec![],
        added_by: Some("h".into()),
        started_at: ended_at - 1000,
        ended_at,
        end: PlayEnd::Finished,
        votes_up: 0,
        votes_down: 0,
    }
}

async fn round_trip_keeps_the_whole_aggregate(store: Arc<dyn Store>) {
    let room = party("r1", "AAAAAA");
    assert!(room.now_playing.is_some() || !room.queue.is_empty(), "fixture has content");
    store.insert_room(&room).await.expect("insert");
    assert_eq!(store.load_room("r1").await.expect("load"), Some(room.clone()));
    assert_eq!(store.room_id_by_code("AAAAAA").await.expect("code"), Some("r1".into()));
    assert_eq!(store.room_id_by_code("BBBBBB").await.expect("code"), None);
    assert_eq!(store.load_room("nope").await.expect("load"), None);
}

async fn codes_and_ids_are_unique(store: Arc<dyn Store>) {
    store.insert_room(&party("r1", "AAAAAA")).await.expect("insert");
    assert!(matches!(store.insert_room(&party("r2", "AAAAAA")).await, Err(StoreError::Duplicate)));
    assert!(matches!(store.insert_room(&party("r1", "CCCCCC")).await, Err(StoreError::Duplicate)));
    assert_eq!(store.room_id_by_code("CCCCCC").await.expect("code"), None, "a refused insert leaves nothing");
    assert_eq!(store.room_ids().await.expect("ids"), vec!["r1".to_string()]);
}

async fn save_is_compare_and_swap_on_version(store: Arc<dyn Store>) {
    let mut room = party("r1", "AAAAAA");
    store.insert_room(&room).await.expect("insert");
    let v = room.version;
    room.version += 1;
    room.name = "renamed".into();
    store.save_room(&room, v, &[], MemberList::Changed).await.expect("save on the current version");
    let mut stale = room.clone();
    stale.version += 1;
    stale.name = "stale".into();
    assert!(matches!(store.save_room(&stale, v, &[], MemberList::Changed).await, Err(StoreError::Conflict)));
    let stored = store.load_room("r1").await.expect("load").expect("room");
    assert_eq!((stored.name.as_str(), stored.version), ("renamed", v + 1));
    let mut ghost = party("ghost", "DDDDDD");
    ghost.version = 2;
    assert!(
        matches!(store.save_room(&ghost, 1, &[], MemberList::Changed).await, Err(StoreError::Conflict)),
        "no upsert"
    );
    assert_eq!(store.load_room("ghost").await.expect("load"), None);
}

async fn a_write_that_leaves_the_members_alone_keeps_the_stored_ones(store: Arc<dyn Store>) {
    let mut room = party("r1", "AAAAAA");
    store.insert_room(&room).await.expect("insert");
    let stored_members = room.members.clone();
    // A vote's write: everything else is replaced, the member list is not
    // even read (a list changed here would be a caller's bug, not stored).
    let v = room.version;
    room.version += 1;
    room.name = "after the vote".into();
    room.members.make_mut().remove("g2");
    store.save_room(&room, v, &[], MemberList::Unchanged).await.expect("save keeping the members");
    let stored = store.load_room("r1").await.expect("load").expect("room");
    assert_eq!((stored.name.as_str(), stored.version), ("after the vote", v + 1));
    assert_eq!(stored.members, stored_members, "the stored members are untouched");
    assert_eq!(stored.queue, room.queue);
    // A join's write replaces them.
    let v = room.version;
    room.version += 1;
    room.members.make_mut().insert("g3".into(), member("g3", Role::Guest));
    room.playback = Some(Playback {
        provider: "spotify".into(),
        user_id: "u1".into(),
        device_id: "d1".into(),
        device_name: "Bar speakers".into(),
    });
    store.save_room(&room, v, &[], MemberList::Changed).await.expect("save with new members");
    let stored = store.load_room("r1").await.expect("load").expect("room");
    assert_eq!(stored, room);
    // A field that becomes unset is unset in the store too, members kept.
    let v = room.version;
    room.version += 1;
    room.now_playing = None;
    room.playback = None;
    store.save_room(&room, v, &[], MemberList::Unchanged).await.expect("save");
    assert_eq!(store.load_room("r1").await.expect("load").expect("room"), room);
    // The compare-and-swap holds on this path too.
    let mut stale = room.clone();
    stale.version += 1;
    assert!(matches!(store.save_room(&stale, v, &[], MemberList::Unchanged).await, Err(StoreError::Conflict)));
}

async fn racing_writers_have_exactly_one_winner(store: Arc<dyn Store>) {
    let room = party("r1", "AAAAAA");
    store.insert_room(&room).await.expect("insert");
    let mut writers = Vec::new();
    for n in 0..8 {
        let (store, mut next) = (store.clone(), room.clone());
        next.version += 1;
        next.name = format!("writer {n}");
        writers.push(tokio::spawn(async move { store.save_room(&next, room.version, &[], MemberList::Changed).await }));
    }
    let mut won = Vec::new();
    for (n, writer) in writers.into_iter().enumerate() {
        match writer.await.expect("writer task") {
            Ok(()) => won.push(n),
            Err(StoreError::Conflict) => {}
            Err(e) => panic!("unexpected error {e}"),
        }
    }
    assert_eq!(won.len(), 1, "exactly one writer wins a version");
    let stored = store.load_room("r1").await.expect("load").expect("room");
    assert_eq!(stored.name, format!("writer {}", won[0]));
}

async fn history_is_newest_first_and_paged(store: Arc<dyn Store>) {
    let mut room = party("r1", "AAAAAA");
    store.insert_room(&room).await.expect("insert");
    for n in 0..5u64 {
        let v = room.version;
        room.version += 1;
        store
            .save_room(&room, v, &[play(&format!("e{n}"), NOW + n * 1000)], MemberList::Changed)
            .await
            .expect("save with a play");
    }
    let v = room.version;
    room.version += 1;
    // The same play again (a retried write) must not appear twice.
    store.save_room(&room, v, &[play("e4", NOW + 4000)], MemberList::Changed).await.expect("save");
    let all = store.history("r1", 0, 100).await.expect("history");
    let ids: Vec<&str> = all.iter().map(|p| p.entry_id.as_str()).collect();
    assert_eq!(ids, ["e4", "e3", "e2", "e1", "e0"]);
    assert_eq!(all[0], play("e4", NOW + 4000));
    let page: Vec<String> = store.history("r1", 1, 2).await.expect("page").into_iter().map(|p| p.entry_id).collect();
    assert_eq!(page, ["e3", "e2"]);
    assert!(store.history("r1", 0, 0).await.expect("empty page").is_empty());
    assert!(store.history("other", 0, 10).await.expect("other room").is_empty());
    let v = room.version;
    room.version += 1;
    let lost = store.save_room(&room, v - 1, &[], MemberList::Changed).await;
    assert!(matches!(lost, Err(StoreError::Conflict)));
}

async fn delete_removes_room_code_and_history(store: Arc<dyn Store>) {
    let mut room = party("r1", "AAAAAA");
    store.insert_room(&room).await.expect("insert");
    store.insert_room(&party("r2", "BBBBBB")).await.expect("insert");
    room.version += 1;
    store.save_room(&room, room.version - 1, &[play("e0", NOW)], MemberList::Changed).await.expect("save");
    store.delete_room("r1").await.expect("delete");
    store.delete_room("r1").await.expect("deleting twice is fine");
    assert_eq!(store.load_room("r1").await.expect("load"), None);
    assert_eq!(store.room_id_by_code("AAAAAA").await.expect("code"), None);
    assert!(store.history("r1", 0, 10).await.expect("history").is_empty());
    assert_eq!(store.room_ids().await.expect("ids"), vec!["r2".to_string()]);
    store.insert_room(&party("r3", "AAAAAA")).await.expect("a deleted room's code is free again");
}

async fn all_tracks(store: &dyn Store) -> Vec<Track> {
    let mut all: Vec<Track> = Vec::new();
    loop {
        let page = store.tracks_after(all.last().map(|t| t.id.as_str()), 7).await.expect("a page of tracks");
        if page.is_empty() {
            return all;
        }
        assert!(page.windows(2).all(|w| w[0].id < w[1].id), "pages are in id order");
        all.extend(page);
    }
}

async fn tracks_are_upserted_by_id(store: Arc<dyn Store>) {
    assert!(all_tracks(store.as_ref()).await.is_empty());
    assert_eq!(store.track_count().await.expect("count"), 0);
    let first: Vec<Track> = (0..50).map(track).collect();
    store.put_tracks(&first).await.expect("insert tracks");
    let mut again: Vec<Track> = (40..60).map(track).collect();
    again[0].title = "Remastered".into();
    store.put_tracks(&again).await.expect("re-import");
    store.put_tracks(&[]).await.expect("nothing to import");
    let all = all_tracks(store.as_ref()).await;
    assert_eq!(all.len(), 60, "re-import updates, never duplicates");
    assert_eq!(store.track_count().await.expect("count"), 60);
    assert_eq!(all[40].title, "Remastered");
    assert_eq!(all[59], track(59));
    assert_eq!(store.track(&track(59).id).await.expect("lookup"), Some(track(59)));
    assert_eq!(store.track("no-such-track").await.expect("lookup"), None);
    let ids = vec![track(3).id, "missing".to_string(), track(1).id];
    let mut found: Vec<String> = store.tracks_by_ids(&ids).await.expect("by ids").into_iter().map(|t| t.id).collect();
    found.sort();
    assert_eq!(found, vec![track(1).id, track(3).id]);
}

async fn written_tracks_wait_in_the_search_outbox_until_done(store: Arc<dyn Store>) {
    assert!(store.outbox(10).await.expect("outbox").is_empty());
    store.put_tracks(&(0..3).map(track).collect::<Vec<_>>()).await.expect("tracks");
    // A store may hold one item per document or one per write: compare sets.
    let queued = |items: &[OutboxItem]| items.iter().map(|i| i.id.clone()).collect::<BTreeSet<_>>();
    let items = store.outbox(10).await.expect("outbox");
    assert_eq!(queued(&items), BTreeSet::from([track(0).id, track(1).id, track(2).id]));
    assert!(items.iter().all(|i| i.index == "tracks"));
    assert_eq!(store.outbox(2).await.expect("outbox").len(), 2, "the batch size is respected");
    // Track 1 changes again while the indexer works on the batch: it stays queued.
    store.put_tracks(&[track(1)]).await.expect("re-write");
    store.outbox_done(&items).await.expect("done");
    let left = store.outbox(10).await.expect("outbox");
    assert_eq!(queued(&left), BTreeSet::from([track(1).id]));
    store.outbox_done(&left).await.expect("done");
    assert!(store.outbox(10).await.expect("outbox").is_empty());
    store.outbox_push("rooms", &["r1".to_string()]).await.expect("push");
    store.put_tracks(&[track(5)]).await.expect("tracks");
    store.outbox_clear("tracks").await.expect("clear");
    let left = store.outbox(10).await.expect("outbox");
    assert_eq!((left.len(), left[0].index.as_str(), left[0].id.as_str()), (1, "rooms", "r1"));
}

async fn a_closed_store_answers_unavailable(store: Arc<dyn Store>) {
    store.ping().await.expect("ping");
    store.close().await;
    assert!(matches!(store.load_room("r1").await, Err(StoreError::Unavailable(_))));
    assert!(matches!(store.ping().await, Err(StoreError::Unavailable(_))));
}

fn photo(id: &str, room_id: &str, created_at: u64) -> Photo {
    Photo {
        id: id.into(),
        room_id: room_id.into(),
        member_id: "m1".into(),
        member_name: "Ana".into(),
        comment: Some("on the dance floor".into()),
        created_at,
        status: PhotoStatus::Processing,
        width: 0,
        height: 0,
        likes: Vec::new(),
        reports: Vec::new(),
        user_id: None,
        public: false,
        render_lease_until: 0,
    }
}

async fn photos_are_paged_newest_first_per_room(store: Arc<dyn Store>) {
    for (id, at) in [("p1", NOW), ("p2", NOW + 1), ("p3", NOW + 1), ("p4", NOW + 5)] {
        store.insert_photo(&photo(id, "r1", at)).await.expect("insert");
    }
    store.insert_photo(&photo("q1", "r2", NOW + 3)).await.expect("another room");
    assert!(matches!(store.insert_photo(&photo("p1", "r1", NOW)).await, Err(StoreError::Duplicate)));
    let ids = |photos: Vec<Photo>| photos.into_iter().map(|p| p.id).collect::<Vec<_>>();
    let first = store.room_photos("r1", None, 2).await.expect("page");
    assert_eq!(ids(first.clone()), vec!["p4", "p3"], "newest first, ties by id descending");
    let last = first.last().expect("a photo");
    let next = store.room_photos("r1", Some((last.created_at, &last.id)), 10).await.expect("page");
    assert_eq!(ids(next), vec!["p2", "p1"]);
    assert_eq!(store.photo("q1").await.expect("get"), Some(photo("q1", "r2", NOW + 3)));
    store.delete_photo("p3").await.expect("delete");
    store.delete_photo("p3").await.expect("deleting twice is fine");
    assert_eq!(ids(store.room_photos("r1", None, 10).await.expect("page")), vec!["p4", "p2", "p1"]);
    assert_eq!(store.photo("p3").await.expect("get"), None);
}

async fn likes_count_each_member_once_and_rendering_finishes(store: Arc<dyn Store>) {
    store.insert_photo(&photo("p1", "r1", NOW)).await.expect("insert");
    store.insert_photo(&photo("p0", "r2", NOW - 5)).await.expect("insert");
    let waiting = store.processing_photos(NOW, 10).await.expect("sweep");
    assert_eq!(waiting.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(), vec!["p0", "p1"], "oldest first");
    assert!(store.claim_render("p0", NOW, NOW + 100).await.expect("claim"));
    assert!(!store.claim_render("p0", NOW + 50, NOW + 150).await.expect("claim"), "the lease holds");
    assert!(!store.claim_render("nope", NOW, NOW + 100).await.expect("claim"));
    let waiting = store.processing_photos(NOW + 50, 10).await.expect("sweep");
    assert_eq!(waiting.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(), vec!["p1"], "p0 is claimed");
    assert_eq!(store.processing_photos(NOW + 101, 10).await.expect("sweep").len(), 2, "p0's lease ran out");
    assert!(store.claim_render("p0", NOW + 101, NOW + 200).await.expect("claim"), "a lapsed lease is claimed again");
    assert!(store.finish_photo("p1", PhotoStatus::Ready, 2560, 1707).await.expect("finish"));
    assert!(!store.finish_photo("p1", PhotoStatus::Failed, 1, 1).await.expect("finish"), "finished only once");
    assert!(!store.finish_photo("nope", PhotoStatus::Ready, 1, 1).await.expect("no photo"));
    assert_eq!(store.processing_photos(NOW + 1_000, 10).await.expect("sweep").len(), 1);
    assert!(!store.claim_render("p1", NOW + 1_000, NOW + 2_000).await.expect("claim"), "finished");
    let like = |id: &'static str, member: String, on: bool| {
        let store = store.clone();
        async move { store.mark_photo(id, PhotoMark::Like, &member, on).await }
    };
    let liked = like("p1", "m2".into(), true).await.expect("like").expect("photo");
    assert_eq!(liked.likes, vec!["m2".to_string()]);
    assert_eq!((liked.status, liked.width, liked.height), (PhotoStatus::Ready, 2560, 1707));
    like("p1", "m2".into(), true).await.expect("liking twice is one like");
    let racing = (0..8).map(|n| tokio::spawn(like("p1", format!("racer{n}"), true)));
    for handle in racing {
        handle.await.expect("join").expect("like");
    }
    let after = like("p1", "m2".into(), false).await.expect("unlike").expect("photo");
    assert_eq!(after.likes.len(), 8, "no like lost to a race, the unlike removed one: {:?}", after.likes);
    assert!(!after.likes.contains(&"m2".to_string()));
    assert_eq!(like("nope", "m2".into(), true).await.expect("no photo"), None);
    let reported = store.mark_photo("p1", PhotoMark::Report, "m3", true).await.expect("report").expect("photo");
    assert_eq!((reported.reports, reported.likes.len()), (vec!["m3".to_string()], 8), "reports are their own set");
}

fn user(id: &str, username: &str) -> User {
    User {
        id: id.into(),
        username: username.into(),
        display_name: username.to_uppercase(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        created_at: NOW,
        avatar_version: None,
        taste: Default::default(),
    }
}

async fn taste_settings_are_kept_with_the_user(store: Arc<dyn Store>) {
    let accounts = store.accounts();
    accounts.insert_user(&user("u1", "ann")).await.expect("insert");
    let settings = TasteSettings { off: true, since: NOW + 5 };
    let after = accounts.set_taste("u1", settings).await.expect("set").expect("user");
    assert_eq!(after.taste, settings);
    assert_eq!(accounts.user("u1").await.expect("read").expect("user").taste, settings);
    assert_eq!(accounts.set_taste("gone", settings).await.expect("set"), None);
}

async fn taste_marks_are_one_per_source_and_track_and_go_with_the_account(store: Arc<dyn Store>) {
    let accounts = store.accounts();
    accounts.insert_user(&user("u1", "ann")).await.expect("insert");
    let track = |id: &str, artist: &str| Track {
        id: id.into(),
        artists: vec![artist.into()],
        genres: vec!["disco".into()],
        ..Track::default()
    };
    let mark = |user: &str, source, id: &str, at| TasteMark::new(user, source, &track(id, "Chic"), at);
    accounts
        .mark_taste(&[
            mark("u1", TasteSource::Vote, "t1", NOW),
            mark("u1", TasteSource::Import, "t1", NOW + 1),
            mark("u1", TasteSource::Import, "t2", NOW + 2),
            mark("u2", TasteSource::Vote, "t1", NOW + 3),
        ])
        .await
        .expect("mark");
    // Marked again: one mark, newer.
    accounts.mark_taste(&[mark("u1", TasteSource::Vote, "t1", NOW + 5)]).await.expect("mark again");
    let keys = |marks: Vec<TasteMark>| marks.into_iter().map(|m| (m.track_id, m.at)).collect::<Vec<_>>();
    let votes = accounts.taste_marks("u1", TasteSource::Vote, 10).await.expect("read");
    assert_eq!(
        (votes[0].artists.clone(), votes[0].genres.clone()),
        (vec!["Chic".to_string()], vec!["disco".to_string()])
    );
    assert_eq!(keys(votes), vec![("t1".to_string(), NOW + 5)], "one per source and track");
    let imports = accounts.taste_marks("u1", TasteSource::Import, 10).await.expect("read");
    assert_eq!(keys(imports), vec![("t2".to_string(), NOW + 2), ("t1".to_string(), NOW + 1)], "newest first");
    assert_eq!(accounts.taste_marks("u1", TasteSource::Import, 1).await.expect("read").len(), 1, "limited");
    accounts.unmark_taste("u1", TasteSource::Vote, "t1").await.expect("unmark");
    accounts.unmark_taste("u1", TasteSource::Vote, "never").await.expect("unmark nothing");
    assert!(accounts.taste_marks("u1", TasteSource::Vote, 10).await.expect("read").is_empty());
    assert_eq!(accounts.taste_marks("u1", TasteSource::Import, 10).await.expect("read").len(), 2, "imports stay");
    accounts.forget_taste("u1").await.expect("forget");
    assert!(accounts.taste_marks("u1", TasteSource::Import, 10).await.expect("read").is_empty());
    assert_eq!(
        accounts.taste_marks("u2", TasteSource::Vote, 10).await.expect("read").len(),
        1,
        "another account's marks stay"
    );
    accounts.insert_user(&user("u2", "bob")).await.expect("insert");
    accounts.delete_user("u2").await.expect("delete");
    assert!(
        accounts.taste_marks("u2", TasteSource::Vote, 10).await.expect("read").is_empty(),
        "they go with the account"
    );
}

fn activity(id: &str, user_id: &str, at: u64) -> Activity {
    Activity {
        id: id.into(),
        user_id: user_id.into(),
        created_at: at,
        room_id: "r1".into(),
        room_name: "Party".into(),
        kind: ActivityKind::RoomJoined,
    }
}

async fn accounts_follows_activities_and_deletion(store: Arc<dyn Store>) {
    let accounts = store.accounts();
    for (id, name) in [("u1", "ana"), ("u2", "ben"), ("u3", "cy")] {
        accounts.insert_user(&user(id, name)).await.expect("insert");
    }
    assert!(matches!(accounts.insert_user(&user("u9", "ana")).await, Err(StoreError::Duplicate)), "username taken");
    assert!(matches!(accounts.insert_user(&user("u1", "other")).await, Err(StoreError::Duplicate)), "id taken");
    assert_eq!(accounts.user_by_username("ben").await.expect("get").map(|u| u.id), Some("u2".into()));
    let renamed = accounts.set_display_name("u2", "Benjamin").await.expect("rename").expect("user");
    assert_eq!(renamed.display_name, "Benjamin");
    assert!(accounts.set_avatar_version("u2", None, 1).await.expect("avatar"));
    assert!(!accounts.set_avatar_version("u2", None, 1).await.expect("avatar"), "a racing upload loses");
    assert!(accounts.set_avatar_version("u2", Some(1), 2).await.expect("avatar"));
    let stored = accounts.user("u2").await.expect("get").expect("user");
    assert_eq!((stored.display_name.as_str(), stored.avatar_version), ("Benjamin", Some(2)));
    assert_eq!(accounts.set_display_name("nobody", "X").await.expect("rename"), None);
    let page: Vec<String> =
        accounts.users_after(Some("u1"), 10).await.expect("page").into_iter().map(|u| u.id).collect();
    assert_eq!(page, vec!["u2", "u3"]);

    let session = AccountSession { id: "s1".into(), user_id: "u1".into(), created_at: NOW };
    accounts.insert_session(&session).await.expect("session");
    assert_eq!(accounts.session("s1").await.expect("get"), Some(session));
    accounts.delete_session("s1").await.expect("delete");
    assert_eq!(accounts.session("s1").await.expect("get"), None);

    assert!(accounts.set_follow("u2", "u1", true).await.expect("follow"));
    assert!(!accounts.set_follow("u2", "u1", true).await.expect("follow"), "following twice changes nothing");
    assert!(accounts.set_follow("u3", "u1", true).await.expect("follow"));
    assert!(accounts.set_follow("u1", "u3", true).await.expect("follow"));
    assert_eq!(accounts.follow_counts("u1").await.expect("counts"), (2, 1));
    assert!(accounts.is_following("u2", "u1").await.expect("is following"));
    assert!(!accounts.is_following("u1", "u2").await.expect("is following"), "follows have a direction");
    let followers = accounts.follows("u1", FollowSide::Followers, None, 10).await.expect("list");
    assert_eq!(followers, vec!["u2", "u3"]);
    assert_eq!(accounts.follows("u1", FollowSide::Followers, Some("u2"), 10).await.expect("list"), vec!["u3"]);
    assert_eq!(accounts.follows("u1", FollowSide::Following, None, 10).await.expect("list"), vec!["u3"]);
    assert!(accounts.set_follow("u3", "u1", false).await.expect("unfollow"));
    assert!(!accounts.set_follow("u3", "u1", false).await.expect("unfollow"));
    assert_eq!(accounts.follow_counts("u1").await.expect("counts"), (1, 1));

    for (id, user_id, at) in [("a1", "u1", NOW), ("a2", "u3", NOW + 1), ("a3", "u1", NOW + 2), ("a4", "u2", NOW + 3)] {
        accounts.insert_activity(&activity(id, user_id, at)).await.expect("activity");
    }
    let ids = |list: Vec<Activity>| list.into_iter().map(|a| a.id).collect::<Vec<_>>();
    let both = ["u1".to_string(), "u3".to_string()];
    assert_eq!(ids(accounts.activities(&both, None, 2).await.expect("page")), vec!["a3", "a2"], "merged, newest first");
    assert_eq!(ids(accounts.activities(&both, Some((NOW + 1, "a2")), 10).await.expect("page")), vec!["a1"]);

    let mut mine = photo("p1", "r1", NOW);
    (mine.user_id, mine.public) = (Some("u1".into()), true);
    store.insert_photo(&mine).await.expect("photo");
    let mut guests = photo("p2", "r1", NOW + 1);
    guests.member_id = "m7".into();
    store.insert_photo(&guests).await.expect("photo");
    assert_eq!(accounts.count_user_photos("u1").await.expect("count"), 1);
    accounts.claim_photos("r1", "m7", "u1").await.expect("claim");
    accounts.claim_photos("r1", "m7", "u1").await.expect("claiming twice is fine");
    let claimed: Vec<String> =
        accounts.user_photos("u1", None, 10).await.expect("photos").into_iter().map(|p| p.id).collect();
    assert_eq!(claimed, vec!["p2", "p1"], "a guest's photos become the account's");
    let public: Vec<String> =
        accounts.public_photos(None, 10).await.expect("public").into_iter().map(|p| p.id).collect();
    assert_eq!(public, vec!["p1"]);

    accounts
        .insert_session(&AccountSession { id: "s2".into(), user_id: "u1".into(), created_at: NOW })
        .await
        .expect("s");
    accounts.delete_user("u1").await.expect("delete");
    assert_eq!(accounts.user("u1").await.expect("get"), None);
    assert_eq!(accounts.set_display_name("u1", "Ghost").await.expect("rename"), None, "never brought back");
    assert!(!accounts.set_avatar_version("u1", None, 1).await.expect("avatar"));
    assert_eq!(accounts.user("u1").await.expect("get"), None);
    assert_eq!(accounts.user_by_username("ana").await.expect("get"), None, "the username is free again");
    assert_eq!(accounts.session("s2").await.expect("get"), None, "sessions go with the account");
    assert_eq!(accounts.follow_counts("u2").await.expect("counts"), (0, 0), "follows both ways are gone");
    assert_eq!(accounts.follow_counts("u3").await.expect("counts"), (0, 0));
    assert_eq!(ids(accounts.activities(&both, None, 10).await.expect("page")), vec!["a2"]);
    accounts.insert_user(&user("u4", "ana")).await.expect("the username can be registered again");
}

fn pending(state: &str) -> PendingAuthorization {
    PendingAuthorization {
        state: state.into(),
        provider: "spotify".into(),
        user_id: "u1".into(),
        verifier: "v".repeat(43),
        created_at: NOW,
    }
}

fn link(user_id: &str, revision: u64) -> ProviderLink {
    ProviderLink {
        user_id: user_id.into(),
        provider: "spotify".into(),
        external_id: format!("sp-{user_id}"),
        external_name: Some("Ana".into()),
        sealed_grant: format!("sealed-{revision}"),
        expires_at: NOW + 3_600_000,
        status: LinkStatus::Ok,
        message: None,
        linked_at: NOW,
        revision,
    }
}

async fn an_authorization_state_is_taken_once(store: Arc<dyn Store>) {
    let providers = store.providers();
    providers.insert_authorization(&pending("s1")).await.expect("insert");
    assert!(matches!(providers.insert_authorization(&pending("s1")).await, Err(StoreError::Duplicate)));
    let racers = (0..8).map(|_| {
        let store = store.clone();
        tokio::spawn(async move { store.providers().take_authorization("s1").await.expect("take") })
    });
    let taken: Vec<_> = futures_util::future::join_all(racers).await.into_iter().flatten().flatten().collect();
    assert_eq!(taken, vec![pending("s1")], "exactly one racer gets the state");
    assert_eq!(providers.take_authorization("forged").await.expect("take"), None);
}

async fn links_are_saved_by_compare_and_swap(store: Arc<dyn Store>) {
    let providers = store.providers();
    assert_eq!(providers.link("u1", "spotify").await.expect("read"), None);
    providers.save_link(&link("u1", 1), None).await.expect("first link");
    assert!(matches!(providers.save_link(&link("u1", 1), None).await, Err(StoreError::Conflict)), "linked already");
    providers.save_link(&link("u1", 2), Some(1)).await.expect("a refresh based on revision 1");
    let stale = providers.save_link(&link("u1", 2), Some(1)).await;
    assert!(matches!(stale, Err(StoreError::Conflict)), "a second refresh from revision 1 loses: {stale:?}");
    let mut broken = link("u1", 3);
    (broken.status, broken.message) = (LinkStatus::Broken, Some("revoked".into()));
    providers.save_link(&broken, Some(2)).await.expect("marked broken");
    assert_eq!(providers.link("u1", "spotify").await.expect("read"), Some(broken));
    assert_eq!(providers.link("u2", "spotify").await.expect("read"), None, "links are per user");
    providers.delete_link("u1", "spotify").await.expect("unlink");
    providers.delete_link("u1", "spotify").await.expect("unlinking twice is fine");
    assert_eq!(providers.link("u1", "spotify").await.expect("read"), None);
    providers.save_link(&link("u1", 1), None).await.expect("linking again after unlinking");
}

fn job(id: &str, owner: &str, lease_until: u64) -> ProviderJob {
    ProviderJob {
        id: id.into(),
        user_id: "u1".into(),
        provider: "spotify".into(),
        kind: JobKind::Import,
        source: "liked".into(),
        status: JobStatus::Running,
        done: 0,
        total: None,
        result: serde_json::Value::Null,
        error: None,
        created_at: NOW,
        updated_at: NOW,
        work: JobWork { owner: owner.into(), lease_until, attempts: 1, plan: Some(JobPlan::Import { fallback: None }) },
    }
}

async fn jobs_are_replaced_by_id(store: Arc<dyn Store>) {
    let providers = store.providers();
    let mut job = job("j1", "node-a", NOW + 100);
    providers.put_job(&job).await.expect("insert");
    (job.done, job.total, job.status) = (50, Some(120), JobStatus::Failed);
    job.error = Some(JobError { code: "provider_unavailable".into(), message: "Spotify is down".into() });
    providers.put_job(&job).await.expect("replace");
    assert_eq!(providers.job("j1").await.expect("read"), Some(job));
    assert_eq!(providers.job("j2").await.expect("read"), None);
}

/// A job is saved only by the holder of its lease, and a job whose lease
/// ran out is claimed by one caller however many ask.
async fn stalled_jobs_are_claimed_once_and_saved_only_by_their_owner(store: Arc<dyn Store>) {
    let providers = store.providers();
    let mut running = job("run1", "node-a", NOW + 100);
    providers.put_job(&running).await.expect("insert");
    let mut finished = job("done1", "node-a", NOW + 100);
    finished.status = JobStatus::Done;
    providers.put_job(&finished).await.expect("insert");
    running.done = 10;
    assert!(providers.save_job(&running).await.expect("save"), "the owner saves");
    let mut stranger = running.clone();
    (stranger.work.owner, stranger.done) = ("node-b".into(), 99);
    assert!(!providers.save_job(&stranger).await.expect("save"), "another node does not");
    assert!(!providers.save_job(&job("nothere", "node-a", NOW)).await.expect("save"), "nor does a missing job");
    assert_eq!(providers.job("nothere").await.expect("read"), None, "a refused save inserts nothing");
    assert_eq!(providers.job("run1").await.expect("read").map(|j| j.done), Some(10));

    assert!(providers.stalled_jobs(NOW + 100, 10).await.expect("stalled").is_empty(), "the lease holds");
    assert_eq!(providers.claim_job("run1", NOW + 50, "node-b", NOW + 500).await.expect("claim"), None);
    let stalled = providers.stalled_jobs(NOW + 101, 10).await.expect("stalled");
    assert_eq!(stalled.iter().map(|j| j.id.as_str()).collect::<Vec<_>>(), ["run1"], "a finished job never stalls");

    let claims = futures_util::future::join_all(
        ["node-b", "node-c", "node-d"].map(|owner| providers.claim_job("run1", NOW + 101, owner, NOW + 500)),
    )
    .await;
    let won: Vec<ProviderJob> = claims.into_iter().filter_map(|c| c.expect("claim")).collect();
    assert_eq!(won.len(), 1, "one claim wins: {won:?}");
    let claimed = &won[0];
    assert_eq!((claimed.work.lease_until, claimed.work.attempts, claimed.done), (NOW + 500, 2, 10));
    assert_eq!(claimed.work.plan, Some(JobPlan::Import { fallback: None }), "the plan comes along");
    assert_eq!(providers.job("run1").await.expect("read").as_ref(), Some(claimed));
    running.done = 20;
    assert!(!providers.save_job(&running).await.expect("save"), "the old owner can no longer save");
    assert!(providers.stalled_jobs(NOW + 101, 10).await.expect("stalled").is_empty());
    assert_eq!(providers.claim_job("done1", NOW + 1_000, "node-b", NOW + 2_000).await.expect("claim"), None);
}

fn venue(id: &str, owner: &str, created_at: u64) -> Venue {
    Venue {
        id: id.into(),
        details: VenueDetails {
            name: format!("Venue {id}"),
            address: None,
            city: Some("Brest".into()),
            location: None,
            time_zone: "Europe/Paris".into(),
            opening_hours: vec![OpeningHours { day: 5, opens: "17:00".into(), closes: "02:00".into() }],
            block_after_declines: 3,
        },
        staff: [(owner.to_string(), StaffMember { role: VenueRole::Owner, since: created_at })].into(),
        zones: Vec::new(),
        created_at,
        revision: 0,
        // Kept through a save and a load like the rest.
        declines: [("t-declined".to_string(), vec![created_at])].into(),
        blocked: [(
            "t-blocked".to_string(),
            BlockedTrack { title: "Too Much".into(), artist: "Troll".into(), at: created_at },
        )]
        .into(),
    }
}

async fn venues_are_saved_by_compare_and_swap_and_found_by_staff(store: Arc<dyn Store>) {
    let venues = store.venues();
    venues.insert_venue(&venue("v2", "owen", NOW + 1)).await.expect("insert");
    venues.insert_venue(&venue("v1", "owen", NOW)).await.expect("insert");
    venues.insert_venue(&venue("v3", "other", NOW)).await.expect("insert");
    assert!(matches!(venues.insert_venue(&venue("v1", "x", NOW)).await, Err(StoreError::Duplicate)));
    let mut v1 = venues.venue("v1").await.expect("read").expect("found");
    assert_eq!(v1, venue("v1", "owen", NOW), "the whole record comes back");
    v1.staff.insert("sam".into(), StaffMember { role: VenueRole::Staff, since: NOW + 5 });
    v1.zones.push(Zone { room_id: "r1".into(), code: "K7M2PQ".into(), name: "Terrace".into() });
    v1.revision = 1;
    venues.save_venue(&v1, 0).await.expect("saved from revision 0");
    let stale = venues.save_venue(&v1, 0).await;
    assert!(matches!(stale, Err(StoreError::Conflict)), "a second write from revision 0 loses: {stale:?}");
    assert!(matches!(venues.save_venue(&venue("nope", "x", NOW), 0).await, Err(StoreError::Conflict)));
    assert_eq!(venues.venue("v1").await.expect("read"), Some(v1.clone()));
    let ids = |list: Vec<Venue>| list.into_iter().map(|v| v.id).collect::<Vec<_>>();
    assert_eq!(ids(venues.venues_of("owen").await.expect("mine")), ["v1", "v2"], "oldest first");
    assert_eq!(ids(venues.venues_of("sam").await.expect("staff")), ["v1"]);
    assert!(venues.venues_of("nobody").await.expect("none").is_empty());
    venues.delete_venue("v1").await.expect("delete");
    venues.delete_venue("v1").await.expect("deleting twice is fine");
    assert_eq!(venues.venue("v1").await.expect("read"), None);
    assert_eq!(ids(venues.venues_of("sam").await.expect("staff")), Vec::<String>::new());
}

async fn a_venue_catalogue_is_kept_per_venue_in_track_order(store: Arc<dyn Store>) {
    let venues = store.venues();
    let ids = |range: std::ops::RangeInclusive<u32>| range.map(|n| format!("t{n:02}")).collect::<Vec<_>>();
    venues.add_to_catalogue("v1", &ids(1..=5)).await.expect("add");
    venues.add_to_catalogue("v1", &ids(4..=6)).await.expect("adding some again is fine");
    venues.add_to_catalogue("v10", &ids(1..=2)).await.expect("another venue");
    assert!(venues.in_catalogue("v1", "t06").await.expect("read"));
    assert!(!venues.in_catalogue("v1", "t07").await.expect("read"));
    assert!(!venues.in_catalogue("v2", "t01").await.expect("read"), "per venue");
    assert_eq!(venues.catalogue("v1", None, 4).await.expect("page"), ids(1..=4));
    assert_eq!(venues.catalogue("v1", Some("t04"), 4).await.expect("page"), ids(5..=6));
    venues.remove_from_catalogue("v1", &ids(2..=3)).await.expect("remove");
    assert_eq!(venues.catalogue("v1", None, 10).await.expect("page"), ["t01", "t04", "t05", "t06"]);
    venues.clear_catalogue("v1").await.expect("clear");
    assert!(venues.catalogue("v1", None, 10).await.expect("page").is_empty());
    assert_eq!(
        venues.catalogue("v10", None, 10).await.expect("page"),
        ids(1..=2),
        "a venue whose id starts alike is kept"
    );
}

async fn an_invitation_is_taken_once(store: Arc<dyn Store>) {
    let venues = store.venues();
    let invitation = Invitation {
        id: "i1".into(),
        venue_id: "v1".into(),
        role: VenueRole::Manager,
        invited_by: "owen".into(),
        expires_at: NOW,
    };
    venues.insert_invitation(&invitation).await.expect("insert");
    assert!(matches!(venues.insert_invitation(&invitation).await, Err(StoreError::Duplicate)));
    let racers = (0..8).map(|_| {
        let store = store.clone();
        tokio::spawn(async move { store.venues().take_invitation("i1").await.expect("take") })
    });
    let taken: Vec<_> = futures_util::future::join_all(racers).await.into_iter().flatten().flatten().collect();
    assert_eq!(taken, vec![invitation], "exactly one racer gets the invitation");
    assert_eq!(venues.take_invitation("forged").await.expect("take"), None);
}

fn zone_event(id: &str, zone: &str, day: &str, what: What) -> ZoneEvent {
    ZoneEvent { id: id.into(), venue_id: "v1".into(), zone_id: zone.into(), at: NOW, day: day.into(), what }
}

fn played(track: &str, artist: &str, genre: &str, skipped: bool, up: u32) -> What {
    What::Play {
        track_id: track.into(),
        title: format!("title {track}"),
        artist: artist.into(),
        genre: genre.into(),
        skipped,
        votes_up: up,
        votes_down: 1,
    }
}

fn days(from: &str, to: &str) -> DayRange {
    let day = |s| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date");
    DayRange { from: day(from), to: day(to) }
}

async fn zone_events_are_summed_by_day_zone_track_and_hour(store: Arc<dyn Store>) {
    let analytics = store.analytics();
    let events = vec![
        zone_event("p1", "bar", "2026-03-01", played("t1", "Abba", "disco", false, 2)),
        zone_event("p2", "bar", "2026-03-01", played("t1", "Abba", "disco", true, 0)),
        zone_event("p3", "bar", "2026-03-02", played("t2", "Blur", "", false, 1)),
        zone_event("p4", "terrace", "2026-03-02", played("t2", "Blur", "", false, 0)),
        zone_event("p5", "bar", "2026-02-28", played("t3", "Cher", "pop", false, 0)),
        zone_event("r1", "bar", "2026-03-01", What::Request { track_id: "t1".into(), approved: true }),
        zone_event("r2", "bar", "2026-03-02", What::Request { track_id: "t2".into(), approved: false }),
    ];
    analytics.record_events(&events).await.expect("record");
    analytics.record_events(&events[..2]).await.expect("recording again is fine");
    let mut other_venue = zone_event("p9", "elsewhere", "2026-03-01", played("t1", "Abba", "disco", false, 0));
    other_venue.venue_id = "v2".into();
    analytics.record_events(&[other_venue]).await.expect("record");
    // Two visits of one guest, far apart, and another guest's.
    let visit = |member: &str, at: u64, hour: u8| {
        let mut v =
            zone_event("", "bar", "2026-03-01", What::Visit { member_id: member.into(), until: at, hours: vec![hour] });
        v.id = format!("visit:bar:{member}:{at}");
        v.at = at;
        v
    };
    analytics.note_visit(&visit("g1", NOW, 20)).await.expect("arrive");
    analytics.note_visit(&visit("g1", NOW + 600_000, 20)).await.expect("still here");
    analytics.note_visit(&visit("g1", NOW + 1_200_000, 21)).await.expect("still here, next hour");
    analytics.note_visit(&visit("g1", NOW + 5 * 3_600_000, 23)).await.expect("back much later: a new visit");
    analytics.note_visit(&visit("g2", NOW, 20)).await.expect("another guest");

    let tally = analytics.tally("v1", None, &days("2026-03-01", "2026-03-02")).await.expect("tally");
    let report = tally.finish(&days("2026-03-01", "2026-03-02"), "Europe/Paris", None);
    assert_eq!(report.days.len(), 2);
    let first = &report.days[0];
    assert_eq!((first.plays, first.skips, first.votes_up, first.votes_down), (2, 1, 2, 2), "{first:?}");
    assert_eq!((first.requests_approved, first.requests_declined, first.guests), (1, 0, 3));
    let second = &report.days[1];
    assert_eq!((second.plays, second.requests_declined, second.guests), (2, 1, 0));
    assert_eq!(report.totals.plays, 4, "the day before the range and the other venue are left out");
    assert_eq!(report.totals.skip_rate, 0.25);
    assert_eq!(report.totals.average_stay_ms, 1_200_000 / 3, "visits of 20 min, 0 and 0");
    let top = &report.tracks[0];
    assert_eq!((top.track_id.as_str(), top.plays, top.skips, top.skip_rate), ("t1", 2, 1, 0.5));
    assert_eq!(top.title, "title t1");
    assert_eq!(
        report.artists.iter().map(|a| (a.name.as_str(), a.plays)).collect::<Vec<_>>(),
        [("Abba", 2), ("Blur", 2)]
    );
    assert_eq!(report.genres.iter().map(|g| (g.name.as_str(), g.plays)).collect::<Vec<_>>(), [("disco", 2)]);
    assert_eq!((report.hours[20].guests, report.hours[21].guests, report.hours[23].guests), (2, 1, 1));

    let bar = analytics.tally("v1", Some("bar"), &days("2026-02-01", "2026-03-31")).await.expect("tally");
    let bar = bar.finish(&days("2026-02-01", "2026-03-31"), "UTC", Some("bar"));
    assert_eq!(bar.totals.plays, 4, "one zone: the terrace's play is left out, February's is in");

    assert_eq!(analytics.sweep_events("2026-03-01").await.expect("sweep"), 1, "only February's play is older");
    let after = analytics.tally("v1", Some("bar"), &days("2026-02-01", "2026-03-31")).await.expect("tally");
    assert_eq!(after.finish(&days("2026-02-01", "2026-03-31"), "UTC", None).totals.plays, 3);
    analytics.forget_venue_events("v1").await.expect("forget");
    let gone = analytics.tally("v1", None, &days("2026-02-01", "2026-03-31")).await.expect("tally");
    assert_eq!(gone.finish(&days("2026-02-01", "2026-03-31"), "UTC", None).totals, Default::default());
    let kept = analytics.tally("v2", None, &days("2026-03-01", "2026-03-01")).await.expect("tally");
    assert_eq!(kept.finish(&days("2026-03-01", "2026-03-01"), "UTC", None).totals.plays, 1, "another venue's stay");
}

async fn liked_plays_pair_once_within_their_room_and_counts_sum_by_month(store: Arc<dyn Store>) {
    let co_likes = store.co_likes();
    let hour = 3_600_000;
    let liked = |room: &str, entry: &str, track: &str, at: u64| LikedPlay {
        room_id: room.into(),
        entry_id: entry.into(),
        track_id: track.into(),
        ended_at: at,
    };
    let kept = |list: Option<Vec<LikedPlay>>| list.map(|l| l.into_iter().map(|p| p.entry_id).collect::<Vec<_>>());
    let keep =
        |play: LikedPlay, limit| async move { co_likes.keep_liked_play(&play, 6 * hour, limit).await.expect("keep") };
    assert_eq!(kept(keep(liked("r1", "e1", "a", NOW), 10).await), Some(vec![]), "the first has nothing before it");
    assert_eq!(kept(keep(liked("r1", "e1", "a", NOW), 10).await), None, "kept once");
    // Another room's and older plays are not paired.
    keep(liked("r2", "e9", "z", NOW + hour), 10).await;
    keep(liked("r1", "e0", "old", NOW - 7 * hour), 10).await;
    assert_eq!(kept(keep(liked("r1", "e2", "b", NOW + 2 * hour), 10).await), Some(vec!["e1".to_string()]));
    let earlier = keep(liked("r1", "e3", "c", NOW + 3 * hour), 10).await.expect("new");
    assert_eq!(earlier.iter().map(|p| p.track_id.as_str()).collect::<Vec<_>>(), vec!["b", "a"], "newest first");
    assert_eq!(kept(keep(liked("r1", "e4", "d", NOW + 4 * hour), 1).await), Some(vec!["e3".to_string()]), "limited");

    let pair = |a: &str, b: &str| (a.to_string(), b.to_string());
    co_likes.count_co_likes("2026-01", &[pair("a", "b"), pair("b", "a"), pair("a", "c")]).await.expect("count");
    co_likes.count_co_likes("2026-02", &[pair("a", "b"), pair("a/x", "b")]).await.expect("count");
    co_likes.count_co_likes("2025-06", &[pair("a", "c"), pair("a", "c")]).await.expect("count");
    let read = |ids: &[&str], from: &str, limit| {
        let ids: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
        let from = from.to_string();
        async move {
            let rows = co_likes.co_liked(&ids, &from, limit).await.expect("read");
            rows.into_iter().map(|c| (c.track_id, c.with, c.count)).collect::<Vec<_>>()
        }
    };
    let row = |a: &str, b: &str, n: u64| (a.to_string(), b.to_string(), n);
    assert_eq!(read(&["a"], "2026-01", 10).await, vec![row("a", "b", 2), row("a", "c", 1)], "months summed");
    assert_eq!(read(&["a"], "2025-01", 10).await, vec![row("a", "c", 3), row("a", "b", 2)], "older months count");
    assert_eq!(
        read(&["a", "b", "a/x"], "2026-01", 10).await,
        vec![row("a", "b", 2), row("a", "c", 1), row("b", "a", 1), row("a/x", "b", 1)],
        "track by track, highest first: ids with a slash stay apart"
    );
    assert_eq!(read(&["a", "b"], "2026-01", 1).await, vec![row("a", "b", 2), row("b", "a", 1)], "each its best");
    assert_eq!(read(&["nobody"], "2026-01", 10).await, vec![]);

    let removed = co_likes.sweep_co_likes("2026-01", NOW + 3 * hour).await.expect("sweep");
    assert_eq!(removed, 1 + 4, "one month's count and the plays that ended before");
    assert_eq!(read(&["a"], "2000-01", 10).await, vec![row("a", "b", 2), row("a", "c", 1)]);
    let after = keep(liked("r1", "e5", "e", NOW + 5 * hour), 10).await.expect("new");
    assert_eq!(
        after.iter().map(|p| p.entry_id.as_str()).collect::<Vec<_>>(),
        vec!["e4", "e3"],
        "swept plays pair no more"
    );
}

macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod embedded_store {
            $(#[tokio::test]
            async fn $case() {
                let subject = super::embedded().await;
                super::$case(subject.store.clone()).await;
            })*
        }
        mod mongo_store {
            $(#[tokio::test]
            async fn $case() {
                let subject = super::mongo().await;
                super::$case(subject.store.clone()).await;
            })*
        }
    };
}

conformance!(
    liked_plays_pair_once_within_their_room_and_counts_sum_by_month,
    taste_settings_are_kept_with_the_user,
    taste_marks_are_one_per_source_and_track_and_go_with_the_account,
    zone_events_are_summed_by_day_zone_track_and_hour,
    venues_are_saved_by_compare_and_swap_and_found_by_staff,
    an_invitation_is_taken_once,
    a_venue_catalogue_is_kept_per_venue_in_track_order,
    an_authorization_state_is_taken_once,
    links_are_saved_by_compare_and_swap,
    jobs_are_replaced_by_id,
    stalled_jobs_are_claimed_once_and_saved_only_by_their_owner,
    accounts_follows_activities_and_deletion,
    round_trip_keeps_the_whole_aggregate,
    codes_and_ids_are_unique,
    save_is_compare_and_swap_on_version,
    a_write_that_leaves_the_members_alone_keeps_the_stored_ones,
    racing_writers_have_exactly_one_winner,
    history_is_newest_first_and_paged,
    delete_removes_room_code_and_history,
    tracks_are_upserted_by_id,
    written_tracks_wait_in_the_search_outbox_until_done,
    photos_are_paged_newest_first_per_room,
    likes_count_each_member_once_and_rendering_finishes,
    a_closed_store_answers_unavailable,
);
