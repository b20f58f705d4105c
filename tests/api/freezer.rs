//! A TCP proxy that can stop passing bytes without closing anything: the
//! way a hung database or a lost reply looks to a client. Put it between a
//! node and its MongoDB to test what happens when a call never returns.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
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
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let stopped = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (up_mode, up_stopped) = (mode.clone(), stopped.clone());
    let upstream = async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match client_read.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            let chunk = &buf[..n];
            let current = up_mode.borrow().clone();
            if let Mode::FreezeOn(marker) = &current
                && chunk.windows(marker.len()).any(|w| w == marker.as_slice())
            {
                up_stopped.store(true, std::sync::atomic::Ordering::SeqCst);
                *frozen.lock().expect("frozen") += 1;
            }
            wait_while_stopped(&up_mode, &up_stopped).await;
            if server_write.write_all(chunk).await.is_err() {
                return;
            }
        }
    };
    let downstream = async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match server_read.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            wait_while_stopped(&mode, &stopped).await;
            if client_write.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    };
    tokio::join!(upstream, downstream);
}

/// Returns once bytes may pass on this connection; never, for a
/// connection stopped by `FreezeOn`.
async fn wait_while_stopped(mode: &watch::Receiver<Mode>, stopped: &std::sync::atomic::AtomicBool) {
    if stopped.load(std::sync::atomic::Ordering::SeqCst) {
        std::future::pending::<()>().await;
    }
    let mut mode = mode.clone();
    while *mode.borrow_and_update() == Mode::FreezeAll {
        if mode.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}
