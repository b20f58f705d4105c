//! A TCP proxy that can stop passing bytes without closing anything: the
//! way a hung database or a lost reply looks to a client. Put it between a
//! node and its MongoDB to test what happens when a call never returns.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// What the proxy does with the bytes a client sends.
#[derive(Clone, Debug, Default, PartialEq)]
enum Mode {
    #[default]
    Pass,
    /// Every connection stops, in both directions.
    FreezeAll,
    /// A connection stops for good once the client sends these bytes.
    FreezeOn(Vec<u8>),
}

pub struct Freezer {
    addr: SocketAddr,
    mode: watch::Sender<Mode>,
    /// Connections stopped by `FreezeOn`.
    frozen: Arc<Mutex<usize>>,
    task: tokio::task::JoinHandle<()>,
}

impl Freezer {
    /// Listens on a free loopback port and forwards to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (mode, watching) = watch::channel(Mode::Pass);
        let frozen = Arc::new(Mutex::new(0));
        let counted = frozen.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(upstream).await else { continue };
                tokio::spawn(forward(client, server, watching.clone(), counted.clone()));
            }
        });
        Self { addr, mode, frozen, task }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Nothing passes any more (connections stay open).
    pub fn freeze_all(&self) {
        self.mode.send_replace(Mode::FreezeAll);
    }

    /// From now on, a connection on which the client sends `marker` stops.
    pub fn freeze_on(&self, marker: &str) {
        self.mode.send_replace(Mode::FreezeOn(marker.as_bytes().to_vec()));
    }

    /// Bytes pass again (connections stopped by `freeze_on` stay stopped).
    pub fn thaw(&self) {
        self.mode.send_replace(Mode::Pass);
    }

    /// How many connections `freeze_on` has stopped.
    pub fn frozen_connections(&self) -> usize {
        *self.frozen.lock().expect("frozen")
    }
}

impl Drop for Freezer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn forward(client: TcpStream, server: TcpStream, mode: watch::Receiver<Mode>, frozen: Arc<Mutex<usize>>) {
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let stopped = AtomicBool::new(false);
    // Only what the client sends can stop a connection (`FreezeOn`).
    let upstream = pipe(client_read, server_write, &mode, &stopped, Some(&frozen));
    let downstream = pipe(server_read, client_write, &mode, &stopped, None);
    tokio::join!(upstream, downstream);
}

/// Copies `from` to `to` while the mode lets bytes pass. With `frozen`,
/// a chunk holding the `FreezeOn` marker stops the connection for good
/// (and is counted there).
async fn pipe(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    mode: &watch::Receiver<Mode>,
    stopped: &AtomicBool,
    frozen: Option<&Mutex<usize>>,
) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let chunk = &buf[..n];
        if let (Some(frozen), Mode::FreezeOn(marker)) = (frozen, mode.borrow().clone())
            && chunk.windows(marker.len()).any(|w| w == marker.as_slice())
        {
            stopped.store(true, Ordering::SeqCst);
            *frozen.lock().expect("frozen") += 1;
        }
        wait_while_stopped(mode, stopped).await;
        if to.write_all(chunk).await.is_err() {
            return;
        }
    }
}

/// Returns once bytes may pass on this connection; never, for a
/// connection stopped by `FreezeOn`.
async fn wait_while_stopped(mode: &watch::Receiver<Mode>, stopped: &AtomicBool) {
    if stopped.load(Ordering::SeqCst) {
        std::future::pending::<()>().await;
    }
    let mut mode = mode.clone();
    while *mode.borrow_and_update() == Mode::FreezeAll {
        if mode.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}
