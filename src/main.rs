//! The `crowdjuke` binary: parse the command line, hand over to the library.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use crowdjuke::config::{Overrides, Settings};

#[derive(Parser)]
#[command(name = "crowdjuke", version, about = "Collaborative playlist party server")]
struct Cli {
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
        /// Data directory [env: CROWDJUKE_DATA_DIR] [default: ./data]
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// TOML config file
        #[arg(long)]
        config: Option<PathBuf>,
        /// Do not create or announce the laptop party room
        #[arg(long)]
        no_default_room: bool,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let Cmd::Serve { listen, data_dir, config, no_default_room } =
        cli.command.unwrap_or(Cmd::Serve { listen: None, data_dir: None, config: None, no_default_room: false });
    let overrides = Overrides { listen, data_dir, default_room: no_default_room.then_some(false) };
    let settings = Settings::load(config.as_deref(), &overrides)?;
    crowdjuke::run(settings).await
}
