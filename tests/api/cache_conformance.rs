//! One conformance suite for `RoomCache`: the in-process map and the Redis
//! hashes (on the Redis `scripts/test` starts). Each case gets two handles,
//! as two nodes would: the same map in process, two connections (each with
//! its own parsed members) on Redis.

use std::sync::Arc;

use crowdjuke::cache::{LocalRoomCache, RedisRoomCache, RoomCache};
use crowdjuke::domain::{Member, Role, Room, Rules};
use crowdjuke::redis::Redis;

use crate::services;

const NOW: u64 = 1_700_000_000_000;

struct Nodes {
    a: Arc<dyn RoomCache>,
    b: Arc<dyn RoomCache>,
}

async fn local() -> Nodes {
    let cache: Arc<dyn RoomCache> = Arc::new(LocalRoomCache::default());
    Nodes { a: cache.clone(), b: cache }
}

async fn redis() -> Nodes {
    let node = || async { Redis::connect(&services::redis_url()).await.expect("Redis is reachable").client };
    Nodes { a: Arc::new(RedisRoomCache::new(node().await)), b: Arc::new(RedisRoomCache::new(node().await)) }
}

fn member(id: &str) -> Member {
    Member::new(id.into(), format!("name {id}"), Role::Guest, NOW)
}

/// A room no other test uses, with a host and two guests.
fn room() -> Room {
    let id = format!("cache-test-{:016x}", rand::random::<u64>());
    let mut room = Room::new(id, "ABCDEF".into(), "Saturday".into(), member("h"), Rules::default(), NOW);
    for guest in ["g1", "g2"] {
        room.members.make_mut().insert(guest.into(), member(guest));
    }
    room
}

/// The next version of `room`, renamed: what a vote's write looks like.
fn next(room: &Room, name: &str) -> Room {
    Room { version: room.version + 1, name: name.into(), ..room.clone() }
}

async fn a_cached_room_comes_back_whole(nodes: Nodes) {
    let room = room();
    assert_eq!(nodes.b.get(&room.id).await, None);
    nodes.a.put(&room, None).await;
    assert_eq!(nodes.b.get(&room.id).await, Some(room.clone()));
    assert_eq!(nodes.b.version(&room.id).await, Some(room.version));
}

async fn an_older_version_never_replaces_a_newer_one(nodes: Nodes) {
    let v1 = room();
    let v2 = next(&v1, "newer");
    nodes.a.put(&v2, None).await;
    nodes.b.put(&v1, None).await;
    assert_eq!(nodes.a.get(&v1.id).await, Some(v2.clone()));
    nodes.b.put(&next(&v1, "same version, other content"), Some(v1.version)).await;
    assert_eq!(nodes.b.get(&v1.id).await, Some(v2));
}

async fn members_left_alone_are_kept_and_changed_ones_replaced(nodes: Nodes) {
    let v1 = room();
    nodes.a.put(&v1, None).await;
    assert_eq!(nodes.b.get(&v1.id).await, Some(v1.clone()), "node b has read (and parsed) the members");
    // A vote on node a: the members are those of v1.
    let v2 = next(&v1, "after a vote");
    nodes.a.put(&v2, Some(v1.version)).await;
    assert_eq!(nodes.b.get(&v1.id).await, Some(v2.clone()));
    // A join on node a: new members, which node b must not answer from
    // what it parsed before.
    let mut v3 = next(&v2, "after a join");
    v3.members.make_mut().insert("g3".into(), member("g3"));
    nodes.a.put(&v3, None).await;
    assert_eq!(nodes.b.get(&v1.id).await, Some(v3.clone()));
    // And another vote, on node b this time.
    let v4 = next(&v3, "after another vote");
    nodes.b.put(&v4, Some(v3.version)).await;
    assert_eq!(nodes.a.get(&v1.id).await, Some(v4));
}

async fn members_unchanged_since_a_version_not_cached_are_sent_anyway(nodes: Nodes) {
    // Node a missed version 2 (its write to the cache failed, say).
    let v1 = room();
    nodes.a.put(&v1, None).await;
    let mut v2 = next(&v1, "a join the cache never saw");
    v2.members.make_mut().insert("g3".into(), member("g3"));
    let v3 = next(&v2, "a vote after it");
    nodes.b.put(&v3, Some(v2.version)).await;
    assert_eq!(nodes.a.get(&v1.id).await, Some(v3.clone()));
    // Nothing cached at all.
    let other = next(&next(&room(), "v2"), "v3");
    nodes.a.put(&other, Some(other.version - 1)).await;
    assert_eq!(nodes.b.get(&other.id).await, Some(other));
}

async fn a_forgotten_room_is_gone(nodes: Nodes) {
    let room = room();
    nodes.a.put(&room, None).await;
    assert!(nodes.b.get(&room.id).await.is_some());
    nodes.b.forget(&room.id).await;
    assert_eq!(nodes.a.get(&room.id).await, None);
    assert_eq!(nodes.a.version(&room.id).await, None);
}

macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod local_cache {
            $(#[tokio::test]
            async fn $case() {
                super::$case(super::local().await).await;
            })*
        }
        mod redis_cache {
            $(#[tokio::test]
            async fn $case() {
                super::$case(super::redis().await).await;
            })*
        }
    };
}

conformance!(
    a_cached_room_comes_back_whole,
    an_older_version_never_replaces_a_newer_one,
    members_left_alone_are_kept_and_changed_ones_replaced,
    members_unchanged_since_a_version_not_cached_are_sent_anyway,
    a_forgotten_room_is_gone,
);
