//! The `crowdjuke` binary: parse the command line, hand over to the library.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use crowdjuke::config::{Overrides, Settings};

#[derive(Parser)]
#[command(name = "crowdjuke", version, about = "Collaborative playlist party server")]
struct Cli {
    /// TOML config file
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Data directory [env: CROWDJUKE_DATA_DIR] [default: ./data]
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the server (the default).
    Serve {
        /// Address to listen on [env: CROWDJUKE_LISTEN] [default: 0.0.0.0:8080]
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// Do not create or announce the laptop party room
        #[arg(long)]
        no_default_room: bool,
        /// A music folder to play from (repeat for several) [env: CROWDJUKE_MUSIC_DIRS]
        #[arg(long = "music", value_name = "DIR")]
        music: Vec<PathBuf>,
    },
    /// Import into the library (validated first: a file with errors imports nothing).
    Import {
        #[command(subcommand)]
        what: ImportCmd,
    },
    /// Rebuild a search index (tracks, rooms, users; all when omitted) from the store.
    Reindex { index: Option<String> },
    /// Print the Meilisearch API key the nodes use instead of the master key
    /// (made once: only what they need, on their indexes).
    SearchKey {
        /// Meilisearch's master key, used for this and nothing else
        #[arg(long, env = "MEILI_MASTER_KEY", hide_env_values = true)]
        master_key: String,
    },
    /// Exit 0 when the server on this machine is ready (GET /api/ready): the
    /// container healthcheck.
    Ready {
        /// Where the server listens [env: CROWDJUKE_LISTEN] [default: 0.0.0.0:8080]
        #[arg(long)]
        listen: Option<SocketAddr>,
    },
}

#[derive(Subcommand)]
enum ImportCmd {
    /// Tracks from a .csv or .json file (see docs/protocol.md for the columns).
    Tracks { file: PathBuf },
    /// The audio files of music folders (scanned recursively; files already
    /// scanned and unchanged are skipped).
    Music {
        #[arg(required = true, value_name = "DIR")]
        dirs: Vec<PathBuf>,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Cmd::Serve { listen: None, no_default_room: false, music: Vec::new() });
    let mut overrides = Overrides { data_dir: cli.data_dir, ..Overrides::default() };
    if let Cmd::Serve { listen, no_default_room, music } = &command {
        overrides.listen = *listen;
        overrides.default_room = no_default_room.then_some(false);
        overrides.music_dirs = (!music.is_empty()).then(|| music.clone());
    }
    if let Cmd::Ready { listen } = &command {
        overrides.listen = *listen;
    }
    let settings = Settings::load(cli.config.as_deref(), &overrides)?;
    match command {
        Cmd::Serve { .. } => crowdjuke::run(settings).await,
        Cmd::Import { what: ImportCmd::Tracks { file } } => crowdjuke::commands::import_tracks(&settings, &file).await,
        Cmd::Import { what: ImportCmd::Music { dirs } } => crowdjuke::commands::import_music(&settings, &dirs).await,
        Cmd::Reindex { index } => crowdjuke::commands::reindex(&settings, index.as_deref()).await,
        Cmd::Ready { .. } => crowdjuke::commands::ready(&settings).await,
        Cmd::SearchKey { master_key } => crowdjuke::commands::search_key(&settings, &master_key).await,
    }
}
