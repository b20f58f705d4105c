//! The Meilisearch API key the nodes use instead of the master key: the
//! actions `MeiliEngine` calls (search; add, read and delete documents;
//! create an index; update its settings; read tasks) on their three
//! indexes, nothing else (no key management, no index deletion, no dumps). Made once with the master key (`crowdjuke
//! search-key`); its uid is fixed, and Meilisearch derives a key's value
//! from its uid and the master key, so asking again finds the same key.

use anyhow::{Context, bail};
use meilisearch_sdk::client::Client;
use meilisearch_sdk::errors::{Error as MeiliError, ErrorCode};
use meilisearch_sdk::key::{Action, Key, KeyBuilder};

use crate::search::IndexName;

/// The uid of the nodes' key (a UUID v4, the same on every deployment: the
/// key's value differs with each master key).
pub const NODE_KEY_UID: &str = "6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f";

/// What the nodes do with Meilisearch.
fn node_actions() -> Vec<Action> {
    vec![
        Action::Search,
        Action::DocumentsAdd,
        Action::DocumentsGet,
        Action::DocumentsDelete,
        Action::IndexesCreate,
        Action::SettingsUpdate,
        Action::TasksGet,
    ]
}

/// The nodes' key: found by its uid, or made with the master key. A key
/// of that uid with other actions or indexes is an error (keys' actions
/// cannot be changed: delete it first).
pub async fn ensure_node_key(url: &str, master_key: &str) -> anyhow::Result<String> {
    let client = Client::new(url, Some(master_key)).context("invalid Meilisearch URL")?;
    let indexes: Vec<&str> = IndexName::ALL.iter().map(|i| i.as_str()).collect();
    let key = match client.get_key(NODE_KEY_UID).await {
        Ok(key) => key,
        Err(MeiliError::Meilisearch(e)) if e.error_code == ErrorCode::ApiKeyNotFound => {
            let mut builder = KeyBuilder::new();
            builder
                .with_uid(NODE_KEY_UID)
                .with_name("crowdjuke nodes")
                .with_description("What crowdjuke nodes need on their indexes (crowdjuke search-key)")
                .with_actions(node_actions())
                .with_indexes(indexes.iter().copied());
            builder.execute(&client).await.context("Meilisearch refused to create the nodes' key")?
        }
        Err(e) => return Err(e).context("cannot read the nodes' key from Meilisearch (is the master key right?)"),
    };
    check(&key, &indexes)?;
    Ok(key.key)
}

fn check(key: &Key, indexes: &[&str]) -> anyhow::Result<()> {
    let wanted = node_actions();
    let same_actions = key.actions.len() == wanted.len() && wanted.iter().all(|a| key.actions.contains(a));
    let mut have: Vec<&str> = key.indexes.iter().map(String::as_str).collect();
    let mut want = indexes.to_vec();
    have.sort_unstable();
    want.sort_unstable();
    if !same_actions || have != want || key.expires_at.is_some() {
        bail!(
            "the Meilisearch key {NODE_KEY_UID} exists with other permissions; delete it (DELETE /keys/{NODE_KEY_UID} with the master key) and run this again"
        );
    }
    Ok(())
}
