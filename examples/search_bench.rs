//! Search benchmark (embedded tantivy engine): generates a catalogue of N
//! tracks as CSV, imports it the way `crowdjuke import tracks` does (parse
//! and validate, one store write, index through the outbox), measures the
//! start-up of a server on the resulting data directory, then p50/p99
//! latency of typical queries. Run: `cargo run --release --example
//! search_bench -- 100000`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crowdjuke::clock::SystemClock;
use crowdjuke::config::Settings;
use crowdjuke::music::{demo, import};
use crowdjuke::search::request::SearchParams;
use crowdjuke::search::{IndexConfig, IndexName, SearchEngine, SearchRequest, TantivyEngine, indexer};
use crowdjuke::store::{EmbeddedStore, Store};

const RUNS: usize = 400;

fn csv(count: usize) -> anyhow::Result<Vec<u8>> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record([
        "id",
        "title",
        "artists",
        "album",
        "genres",
        "year",
        "duration_ms",
        "explicit",
        "popularity",
    ])?;
    for t in demo::generate("bench", count, 0x5EED_0000_0000_0001) {
        writer.write_record([
            t.id,
            t.title,
            t.artists.join(";"),
            t.album,
            t.genres.join(";"),
            t.year.to_string(),
            t.duration_ms.to_string(),
            t.explicit.to_string(),
            t.popularity.to_string(),
        ])?;
    }
    Ok(writer.into_inner()?)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at].as_secs_f64() * 1000.0
}

async fn measure(engine: &dyn SearchEngine, name: &str, requests: &[SearchRequest]) -> anyhow::Result<()> {
    let mut times = Vec::with_capacity(RUNS);
    let mut hits = 0;
    for i in 0..RUNS {
        let request = &requests[i % requests.len()];
        let start = Instant::now();
        let found = engine.search(IndexName::Tracks, request).await?;
        times.push(start.elapsed());
        hits += found.total;
    }
    times.sort();
    println!(
        "{name:<34} p50 {:>6.2} ms   p99 {:>6.2} ms   (avg {} matches)",
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        hits / RUNS
    );
    Ok(())
}

fn requests(queries: &[(&str, Option<&str>, Option<&str>)]) -> Vec<SearchRequest> {
    let config = IndexConfig::shipped(IndexName::Tracks);
    queries
        .iter()
        .map(|(q, filter, facets)| {
            let params = SearchParams {
                q: q.to_string(),
                filter: filter.map(str::to_string),
                facets: facets.map(str::to_string),
                ..SearchParams::default()
            };
            SearchRequest::build(&config, &params).expect("valid benchmark query")
        })
        .collect()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let count: usize = std::env::args().nth(1).map(|n| n.parse()).transpose()?.unwrap_or(100_000);
    let dir = tempfile::TempDir::new()?;
    let file = csv(count)?;
    println!("catalogue: {count} tracks, {:.1} MB of CSV", file.len() as f64 / 1e6);

    let start = Instant::now();
    let parsed = import::parse(&file, import::Format::Csv).map_err(|e| anyhow::anyhow!("{e}"))?;
    let parse_time = start.elapsed();
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open(dir.path())?);
    let report = import::save(store.as_ref(), parsed).await?;
    let store_time = start.elapsed() - parse_time;
    let engine = TantivyEngine::open(&dir.path().join("search"))?;
    while indexer::drain_once(store.as_ref(), &engine).await? > 0 {}
    let total = start.elapsed();
    println!(
        "import: {} tracks in {:.2} s = {:.0} tracks/s (parse+validate {:.2} s, store {:.2} s, index {:.2} s)",
        report.imported,
        total.as_secs_f64(),
        report.imported as f64 / total.as_secs_f64(),
        parse_time.as_secs_f64(),
        store_time.as_secs_f64(),
        (total - parse_time - store_time).as_secs_f64()
    );
    engine.close().await;
    drop(engine);
    store.close().await;
    drop(store);

    let settings = Settings { data_dir: dir.path().to_path_buf(), default_room: false, ..Settings::default() };
    let start = Instant::now();
    let server = crowdjuke::Server::build(settings, Arc::new(SystemClock), "http://127.0.0.1".into()).await?;
    println!("start-up with the existing store and index: {:.0} ms", start.elapsed().as_secs_f64() * 1000.0);
    let engine = server.state.search.clone();
    println!("{} tracks indexed", engine.count(IndexName::Tracks).await?);

    measure(
        &*engine,
        "prefix (golde, midn, neo, ...)",
        &requests(&[
            ("golde", None, None),
            ("midn", None, None),
            ("neo", None, None),
            ("velv", None, None),
            ("rive", None, None),
        ]),
    )
    .await?;
    measure(
        &*engine,
        "typo (midnigt hart, goldn, ...)",
        &requests(&[
            ("midnigt hart", None, None),
            ("goldn ", None, None),
            ("electirc dreem", None, None),
            ("shaddow", None, None),
        ]),
    )
    .await?;
    measure(
        &*engine,
        "filtered (words + genre/year)",
        &requests(&[
            ("love", Some("genre:(rock OR pop) AND year:[1990 TO 1999]"), None),
            ("city light", Some("explicit:false AND duration_ms:[* TO 240000]"), None),
            ("fire", Some("decade:1980"), None),
        ]),
    )
    .await?;
    measure(
        &*engine,
        "faceted (genre,decade,explicit)",
        &requests(&[
            ("heart", None, Some("genre,decade,explicit")),
            ("", Some("genre:house"), Some("genre,decade,explicit")),
        ]),
    )
    .await?;
    measure(&*engine, "faceted, all 100k matches", &requests(&[("", None, Some("genre,decade,explicit"))])).await?;
    measure(
        &*engine,
        "Lucene fields (artist:\"..\" AND ..)",
        &requests(&[
            ("artist:\"the golden\" AND year:[1995 TO 2005] -genre:house", None, None),
            ("title:(love OR heart) genre:rock", None, None),
            ("album:\"neon\" OR title:neon~1", None, None),
        ]),
    )
    .await?;
    Ok(())
}
