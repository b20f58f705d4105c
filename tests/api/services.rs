//! The real services scale-out tests run against. `scripts/test` starts one
//! Redis and one MongoDB-wire-compatible server (SecantusDB) and exports
//! their addresses; a test that needs to stop or restart a service starts a
//! private instance of it here instead, so other tests are not disturbed.
//! A missing service fails the test with a message saying how to start it:
//! these tests are never skipped.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tempfile::TempDir;

fn required(var: &str) -> String {
    std::env::var(var)
        .unwrap_or_else(|_| panic!("{var} is not set: run scripts/test, which starts Redis and SecantusDB and sets it"))
}

/// `mongodb://…/?directConnection=true&retryWrites=false` of the shared server.
pub fn mongodb_uri() -> String {
    required("TEST_MONGODB_URI")
}

pub fn redis_url() -> String {
    required("TEST_REDIS_URL")
}

/// A database name no other test uses.
pub fn fresh_db_name() -> String {
    format!("test_{:016x}", rand::random::<u64>())
}

/// A free loopback port (bound, then released for the child to take).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

/// A service process this test owns; killed when dropped.
pub struct Service {
    pub port: u16,
    child: Option<Child>,
    program: PathBuf,
    args: Vec<String>,
    _dir: TempDir,
}

impl Service {
    /// A private Redis on a free port, no persistence.
    pub async fn redis() -> Self {
        let port = free_port();
        let args = ["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"];
        Self::start("redis-server".into(), args.iter().map(|a| a.to_string()).collect(), port).await
    }

    /// A private SecantusDB on a free port with its own storage directory.
    pub async fn mongodb() -> Self {
        let port = free_port();
        let dir = TempDir::new().expect("temp dir");
        let program = std::env::var("TEST_SECANTUSD").unwrap_or_else(|_| "secantusd-py".into());
        let path = dir.path().join("db").display().to_string();
        let args =
            vec!["--host".into(), "127.0.0.1".into(), "--port".into(), port.to_string(), "--storage-path".into(), path];
        let mut service = Self::start(program.into(), args, port).await;
        service._dir = dir;
        service
    }

    /// A private Redis that asks for `password` (`requirepass`, as the
    /// compose file runs it).
    pub async fn redis_with_password(password: &str) -> Self {
        let mut service = Self::redis().await;
        service.stop();
        service.args.extend(["--requirepass".to_string(), password.to_string()]);
        service.resume().await;
        service
    }

    /// A private SecantusDB that asks for a password (`--auth`, SCRAM),
    /// with one user holding readWrite on `db` only, as
    /// deploy/mongo-init.js makes for the compose file.
    pub async fn mongodb_with_user(db: &str, user: &str, password: &str) -> Self {
        let mut service = Self::mongodb().await;
        let client = mongodb::Client::with_uri_str(service.mongodb_uri()).await.expect("client");
        let roles = vec![mongodb::bson::doc! { "role": "readWrite", "db": db }];
        let create = mongodb::bson::doc! { "createUser": user, "pwd": password, "roles": roles };
        client.database(db).run_command(create).await.expect("createUser");
        client.shutdown().await;
        service.stop();
        service.args.push("--auth".into());
        service.resume().await;
        service
    }

    async fn start(program: PathBuf, args: Vec<String>, port: u16) -> Self {
        let mut service = Self { port, child: None, program, args, _dir: TempDir::new().expect("temp dir") };
        service.resume().await;
        service
    }

    pub fn redis_url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn mongodb_uri(&self) -> String {
        format!("mongodb://127.0.0.1:{}/?directConnection=true&retryWrites=false", self.port)
    }

    /// The address with a password, as the compose file writes it.
    pub fn redis_url_with_password(&self, password: &str) -> String {
        format!("redis://:{password}@127.0.0.1:{}", self.port)
    }

    /// The address with a user of `db`, as the compose file writes it.
    pub fn mongodb_uri_as(&self, user: &str, password: &str, db: &str) -> String {
        format!(
            "mongodb://{user}:{password}@127.0.0.1:{}/{db}?directConnection=true&retryWrites=false&authSource={db}",
            self.port
        )
    }

    /// Stops the process the way an operator would (SIGTERM, then waits);
    /// its data directory stays for `resume`.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            Command::new("kill").args(["-TERM", &child.id().to_string()]).status().ok();
            child.wait().ok();
        }
    }

    /// Kills the process outright (SIGKILL).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().ok();
            child.wait().ok();
        }
    }

    /// Starts the process again on the same port and waits until it accepts.
    pub async fn resume(&mut self) {
        let child = Command::new(&self.program)
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(crate::helpers::child_log(&format!("{}-{}", self.program.display(), self.port)))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e} (scripts/test installs it)", self.program.display()));
        self.child = Some(child);
        for _ in 0..300 {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{} did not start listening on port {}", self.program.display(), self.port);
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.kill();
    }
}
