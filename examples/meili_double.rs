//! The Meilisearch test double (`tests/api/meili_double`) as a process, so
//! `scripts/bench 2 …` can run scaled-out nodes where no Meilisearch is
//! installed (nodes sharing MongoDB and Redis need a shared search index).
//! Prints `listening on http://127.0.0.1:PORT` and serves until killed.
//!
//! ```sh
//! cargo run --release --example meili_double -- MASTER_KEY
//! ```
#![allow(dead_code)]

#[path = "../tests/api/meili_double/mod.rs"]
mod meili_double;

#[tokio::main]
async fn main() {
    let key = std::env::args().nth(1);
    let double = meili_double::MeiliDouble::start(key.as_deref()).await;
    println!("listening on {}", double.url());
    std::future::pending::<()>().await;
}
