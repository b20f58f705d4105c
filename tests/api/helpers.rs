//! `spawn_app()` and a minimal Socket.IO v5 client over a real websocket.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crowdjuke::Server;
use crowdjuke::clock::ManualClock;
use crowdjuke::config::Settings;
use crowdjuke::state::AppState;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::sync::{Notify, mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

pub const T0: u64 = 1_700_000_000_000;
/// Upper bound for anything a test waits for; a correct server answers in ms.
pub const WAIT: Duration = Duration::from_secs(10);

pub struct TestApp {
    pub addr: SocketAddr,
    pub http: reqwest::Client,
    pub clock: Arc<ManualClock>,
    pub state: AppState,
    pub dir: Option<TempDir>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

/// A room member as the REST API returned it.
#[derive(Clone, Debug)]
pub struct Guest {
    pub token: String,
    pub member_id: String,
    pub room_id: String,
    pub code: String,
}

pub async fn spawn_app() -> TestApp {
    spawn_with(TempDir::new().expect("temp dir"), |_| {}).await
}

/// With `TEST_LOG_FILE=FILE`, the servers' logs and the spans of
/// their writes (each with its busy and idle time when it closes) go to
/// FILE; `RUST_LOG` filters them (default: crowdjuke at debug).
fn log_to_file() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let Ok(path) = std::env::var("TEST_LOG_FILE") else { return };
        let file = std::fs::File::create(&path).expect("test log file");
        let filter =
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "crowdjuke=debug,warn".into());
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_span_events(
                tracing_subscriber::fmt::format::FmtSpan::NEW | tracing_subscriber::fmt::format::FmtSpan::CLOSE,
            )
            .with_thread_ids(true)
            .with_ansi(false)
            .with_writer(Mutex::new(file))
            .init();
    });
}

/// The server binary tests start as a process: `TEST_SERVER_BIN` when set
/// (scripts/repeat runs a snapshot of it), else the one cargo built.
pub fn server_bin() -> std::path::PathBuf {
    std::env::var_os("TEST_SERVER_BIN").map(Into::into).unwrap_or_else(|| env!("CARGO_BIN_EXE_crowdjuke").into())
}

/// The crowdjuke binary serving in its own process (so it can be
/// SIGKILLed) on a data directory the caller keeps, with only the given
/// `CROWDJUKE_` settings; killed when dropped.
pub struct ServerProcess {
    pub addr: SocketAddr,
    child: std::process::Child,
}

impl ServerProcess {
    pub fn start(data_dir: &std::path::Path, env: &[(&str, &str)], name: &str) -> Self {
        Self::start_on("127.0.0.1:0", data_dir, env, name)
    }

    /// The same, listening on `listen` (a node restarted on its port).
    pub fn start_on(listen: &str, data_dir: &std::path::Path, env: &[(&str, &str)], name: &str) -> Self {
        Self::spawn(listen, data_dir, env, child_log(name))
    }

    /// The same, its log (standard error) written to `log`.
    pub fn start_logging_to(data_dir: &std::path::Path, env: &[(&str, &str)], log: &std::path::Path) -> Self {
        let file = std::fs::File::create(log).expect("log file");
        Self::spawn("127.0.0.1:0", data_dir, env, file.into())
    }

    /// The same, with SIGXFSZ ignored: past a file size limit
    /// (`set_file_size_limit`) a write then fails (EFBIG), as a write to a
    /// full disk fails (ENOSPC), instead of the signal killing the node.
    pub fn start_for_full_disk(data_dir: &std::path::Path, name: &str) -> Self {
        // A signal ignored by the shell stays ignored in the program it
        // execs (same process, same pid).
        let mut command = std::process::Command::new("sh");
        command.args(["-c", "trap '' XFSZ; exec \"$0\" \"$@\""]).arg(server_bin());
        Self::spawn_command(command, "127.0.0.1:0", data_dir, &[], child_log(name))
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Limits (`Some(bytes)`) or frees the size the node's files may grow
    /// to (RLIMIT_FSIZE of its process; the hard limit stays unlimited).
    pub fn set_file_size_limit(&self, bytes: Option<u64>) {
        let soft = bytes.map_or("unlimited".to_string(), |b| b.to_string());
        let done = std::process::Command::new("prlimit")
            .arg(format!("--pid={}", self.pid()))
            .arg(format!("--fsize={soft}:unlimited"))
            .output()
            .expect("prlimit (util-linux) runs");
        assert!(done.status.success(), "prlimit: {}", String::from_utf8_lossy(&done.stderr));
    }

    fn spawn(listen: &str, data_dir: &std::path::Path, env: &[(&str, &str)], log: std::process::Stdio) -> Self {
        Self::spawn_command(std::process::Command::new(server_bin()), listen, data_dir, env, log)
    }

    fn spawn_command(
        mut command: std::process::Command,
        listen: &str,
        data_dir: &std::path::Path,
        env: &[(&str, &str)],
        log: std::process::Stdio,
    ) -> Self {
        use std::io::BufRead;
        for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("CROWDJUKE_")) {
            command.env_remove(key);
        }
        command.args(["serve", "--listen", listen, "--no-default-room", "--data-dir"]).arg(data_dir);
        command.envs(env.iter().copied());
        let mut child = command.stdout(std::process::Stdio::piped()).stderr(log).spawn().expect("crowdjuke starts");
        let mut first = String::new();
        let stdout = child.stdout.take().expect("stdout");
        std::io::BufReader::new(stdout).read_line(&mut first).expect("first line");
        let addr = first.trim().rsplit("http://").next().and_then(|a| a.parse().ok());
        let addr = addr.unwrap_or_else(|| panic!("unexpected first line {first:?}"));
        Self { addr, child }
    }

    /// SIGKILL: no shutdown, no draining.
    pub fn kill(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().ok();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// Where a child process's stderr goes: beside `TEST_LOG_FILE` when it is
/// set (`FILE.NAME`, NAME made file-safe), else nowhere.
pub fn child_log(name: &str) -> std::process::Stdio {
    let Ok(path) = std::env::var("TEST_LOG_FILE") else { return std::process::Stdio::null() };
    let name: String = name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect();
    match std::fs::OpenOptions::new().create(true).append(true).open(format!("{path}.{name}")) {
        Ok(file) => file.into(),
        Err(_) => std::process::Stdio::null(),
    }
}

pub async fn spawn_with(dir: TempDir, tweak: impl FnOnce(&mut Settings)) -> TestApp {
    log_to_file();
    let mut settings = Settings {
        listen: "127.0.0.1:0".parse().expect("addr"),
        data_dir: dir.path().to_path_buf(),
        default_room: false,
        join_attempts_per_minute: 10_000,
        room_requests_per_minute: 100_000,
        photos_per_minute: 10_000,
        login_attempts_per_minute: 10_000,
        ..Settings::default()
    };
    tweak(&mut settings);
    let clock = Arc::new(ManualClock::new(T0));
    let listener = tokio::net::TcpListener::bind(settings.listen).await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let server = Server::build(settings, clock.clone(), format!("http://{addr}")).await.expect("server builds");
    let state = server.state.clone();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(server.serve(listener, async move {
        stopped.await.ok();
    }));
    TestApp { addr, http: reqwest::Client::new(), clock, state, dir: Some(dir), stop: Some(stop), task: Some(task) }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Stops the server gracefully and hands back its data directory.
    pub async fn stop(mut self) -> TempDir {
        if let Some(stop) = self.stop.take() {
            stop.send(()).ok();
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(WAIT, task).await.expect("server stops in time").expect("join").expect("clean stop");
        }
        self.dir.take().expect("data dir")
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let response = self.http.post(self.url(path)).json(&body).send().await.expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let response = self.http.get(self.url(path)).send().await.expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn create_room(&self, rules: Value) -> Guest {
        let (status, body) =
            self.post("/api/rooms", json!({"name": "Test party", "host_name": "Hana", "rules": rules})).await;
        assert_eq!(status, 201, "{body}");
        guest_from(&body)
    }

    pub async fn join(&self, code: &str, name: &str) -> Guest {
        let (status, body) = self.post(&format!("/api/rooms/{code}/join"), json!({ "name": name })).await;
        assert_eq!(status, 200, "{body}");
        guest_from(&body)
    }

    pub async fn connect(&self, token: &str) -> SioClient {
        SioClient::connect(self.addr, json!({ "token": token })).await.expect("socket connects")
    }

    /// A track id from the demo library (the n-th by id).
    pub fn track_id(n: usize) -> String {
        format!("demo-{n:04}")
    }
}

/// One REST request with an optional bearer token and JSON body.
pub async fn call(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = app.http.request(method, app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

pub fn guest_from(body: &Value) -> Guest {
    Guest {
        token: body["token"].as_str().expect("token").to_string(),
        member_id: body["member"]["id"].as_str().expect("member id").to_string(),
        room_id: body["room"]["id"].as_str().expect("room id").to_string(),
        code: body["room"]["code"].as_str().expect("code").to_string(),
    }
}

/// An EVENT packet's body, `["name", data]`: its name and first argument.
fn parse_event(body: &str) -> Option<(String, Value)> {
    let Ok(Value::Array(mut args)) = serde_json::from_str::<Value>(body) else { return None };
    let name = args.first().and_then(Value::as_str).unwrap_or_default().to_string();
    let data = if args.len() > 1 { args.remove(1) } else { Value::Null };
    Some((name, data))
}

/// A Socket.IO v5 client on the websocket transport, enough for tests:
/// connect with auth, emit with or without ack, record received events.
pub struct SioClient {
    out: mpsc::UnboundedSender<Message>,
    events: Arc<Mutex<Vec<(String, Value)>>>,
    arrived: Arc<Notify>,
    acks: Arc<Mutex<HashMap<u64, oneshot::Sender<Value>>>>,
    next_ack: AtomicU64,
    closed: Arc<Mutex<bool>>,
    /// `""` on the main namespace, e.g. `"/feed,"` on another.
    prefix: String,
}

impl SioClient {
    /// Connects; `Err(message)` when the server answers with `connect_error`.
    pub async fn connect(addr: SocketAddr, auth: Value) -> Result<Self, String> {
        Self::connect_ns(addr, "/", auth).await
    }

    /// Connects to a namespace (`"/"` or e.g. `"/feed"`).
    pub async fn connect_ns(addr: SocketAddr, namespace: &str, auth: Value) -> Result<Self, String> {
        let prefix = if namespace == "/" { String::new() } else { format!("{namespace},") };
        let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");
        let (ws, _) = tokio_tungstenite::connect_async(url).await.map_err(|e| e.to_string())?;
        let (mut sink, mut stream) = ws.split();
        let open = next_text(&mut stream).await.ok_or("no open packet")?;
        assert!(open.starts_with('0'), "engine.io open, got {open}");
        sink.send(Message::text(format!("40{prefix}{auth}"))).await.map_err(|e| e.to_string())?;
        let mut reply = next_text(&mut stream).await.ok_or("no connect reply")?;
        // A broadcast to the member's room may come before CONNECT (the
        // server joins the room before it answers, so nothing is missed in
        // between); socket.io-client keeps such events and delivers them
        // once connected, and so does this client.
        let mut early = Vec::new();
        loop {
            if reply == "2" {
                sink.send(Message::text("3")).await.map_err(|e| e.to_string())?;
            } else if let Some(event) = reply.strip_prefix(&format!("42{prefix}")).and_then(parse_event) {
                early.push(event);
            } else {
                break;
            }
            reply = next_text(&mut stream).await.ok_or("no connect reply")?;
        }
        let reply = match reply.strip_prefix("40").or_else(|| reply.strip_prefix("44")) {
            Some(rest) => format!("{}{}", &reply[..2], rest.strip_prefix(prefix.as_str()).unwrap_or(rest)),
            None => reply,
        };
        if let Some(err) = reply.strip_prefix("44") {
            let v: Value = serde_json::from_str(err).unwrap_or(Value::Null);
            return Err(v["message"].as_str().unwrap_or(err).to_string());
        }
        assert!(reply.starts_with("40"), "socket.io connect, got {reply}");
        let (out, mut outgoing) = mpsc::unbounded_channel::<Message>();
        tokio::spawn(async move {
            while let Some(msg) = outgoing.recv().await {
                let closing = matches!(msg, Message::Close(_));
                if sink.send(msg).await.is_err() || closing {
                    break;
                }
            }
        });
        let client = Self {
            out,
            events: Arc::new(Mutex::new(early)),
            arrived: Default::default(),
            acks: Default::default(),
            next_ack: AtomicU64::new(1),
            closed: Default::default(),
            prefix: prefix.clone(),
        };
        let (events, arrived, acks, closed, pong) = (
            client.events.clone(),
            client.arrived.clone(),
            client.acks.clone(),
            client.closed.clone(),
            client.out.clone(),
        );
        tokio::spawn(async move {
            while let Some(text) = next_text(&mut stream).await {
                // Packet type, then the namespace (if not the main one).
                let text = match text.get(2..).and_then(|rest| rest.strip_prefix(prefix.as_str())) {
                    Some(rest) if !prefix.is_empty() => format!("{}{rest}", &text[..2]),
                    _ => text,
                };
                if text == "2" {
                    pong.send(Message::text("3")).ok();
                } else if let Some(event) = text.strip_prefix("42").and_then(parse_event) {
                    events.lock().expect("events").push(event);
                } else if let Some(body) = text.strip_prefix("43") {
                    let digits: String = body.chars().take_while(char::is_ascii_digit).collect();
                    let args: Value = serde_json::from_str(&body[digits.len()..]).unwrap_or(Value::Null);
                    if let Some(tx) = digits.parse().ok().and_then(|id: u64| acks.lock().expect("acks").remove(&id)) {
                        tx.send(args.get(0).cloned().unwrap_or(Value::Null)).ok();
                    }
                } else if text.starts_with("41") {
                    break;
                }
                arrived.notify_waiters();
            }
            *closed.lock().expect("closed") = true;
            arrived.notify_waiters();
        });
        Ok(client)
    }

    pub fn send_raw(&self, text: &str) {
        self.out.send(Message::text(text.to_string())).ok();
    }

    pub fn emit(&self, event: &str, data: Value) {
        self.send_raw(&format!("42{}{}", self.prefix, json!([event, data])));
    }

    /// Emits and waits for the ack's first argument.
    pub async fn ack(&self, event: &str, data: Value) -> Value {
        self.ack_raw(&json!([event, data]).to_string()).await
    }

    /// Emits a raw JSON argument list with an ack id and waits for the ack.
    pub async fn ack_raw(&self, args: &str) -> Value {
        self.ack_raw_within(args, WAIT).await
    }

    /// `ack_raw` for a server expected to be slow (a busy test database).
    pub async fn ack_raw_within(&self, args: &str, wait: Duration) -> Value {
        let id = self.next_ack.fetch_add(1, Ordering::SeqCst);
        let (tx, rx) = oneshot::channel();
        self.acks.lock().expect("acks").insert(id, tx);
        self.send_raw(&format!("42{}{id}{args}", self.prefix));
        tokio::time::timeout(wait, rx).await.expect("ack in time").expect("ack")
    }

    /// Emits a raw JSON argument list with an ack id and waits for the ack
    /// as long as it takes (the caller bounds the wait).
    pub async fn ack_raw_unbounded(&self, args: &str) -> Value {
        let id = self.next_ack.fetch_add(1, Ordering::SeqCst);
        let (tx, rx) = oneshot::channel();
        self.acks.lock().expect("acks").insert(id, tx);
        self.send_raw(&format!("42{}{id}{args}", self.prefix));
        rx.await.unwrap_or(Value::Null)
    }

    /// Emits and expects `{ok: true}`; returns `data`.
    pub async fn ok(&self, event: &str, data: Value) -> Value {
        let reply = self.ack(event, data).await;
        assert_eq!(reply["ok"], true, "{event} refused: {reply}");
        reply["data"].clone()
    }

    /// Emits and expects `{ok: false}`; returns the error code.
    pub async fn refused(&self, event: &str, data: Value) -> String {
        let reply = self.ack(event, data).await;
        assert_eq!(reply["ok"], false, "{event} accepted: {reply}");
        reply["error"]["code"].as_str().expect("error code").to_string()
    }

    /// Waits for the first received `event` whose payload satisfies `pred`.
    pub async fn wait_for(&self, event: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let arrived = self.arrived.notified();
            if let Some(found) = self.events(event).into_iter().find(|v| pred(v)) {
                return found;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                panic!("no {event} matching the condition; got {:?}", self.events.lock().expect("events"));
            }
        }
    }

    /// Waits for `room:changed` with exactly this version.
    pub async fn changed(&self, version: u64) -> Value {
        self.wait_for("room:changed", |v| v["version"] == version).await
    }

    pub fn events(&self, event: &str) -> Vec<Value> {
        let events = self.events.lock().expect("events");
        events.iter().filter(|(n, _)| n == event).map(|(_, v)| v.clone()).collect()
    }

    pub async fn snapshot(&self) -> Value {
        self.ok("room:sync", json!({})).await
    }

    pub fn is_closed(&self) -> bool {
        *self.closed.lock().expect("closed")
    }

    pub async fn wait_closed(&self) {
        let deadline = tokio::time::Instant::now() + WAIT;
        while !self.is_closed() {
            let arrived = self.arrived.notified();
            if self.is_closed() {
                break;
            }
            tokio::time::timeout_at(deadline, arrived).await.expect("socket closed in time");
        }
    }
}

/// Dropping a client closes its websocket, like closing a browser tab.
impl Drop for SioClient {
    fn drop(&mut self) {
        self.out.send(Message::Close(None)).ok();
    }
}

async fn next_text<S>(stream: &mut S) -> Option<String>
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        match stream.next().await? {
            Ok(Message::Text(t)) => return Some(t.to_string()),
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => continue,
        }
    }
}

/// Entry ids of a snapshot's queue, in play order.
/// The sum of this process's `series` samples (`GET /metrics` text, from
/// the recorder every in-process server shares) whose labels hold every
/// `key="value"` pair of `labels`; 0 when there is none.
pub fn metric(series: &str, labels: &[&str]) -> f64 {
    crowdjuke::telemetry::render()
        .lines()
        .filter(|l| l.starts_with(&format!("{series} ")) || l.starts_with(&format!("{series}{{")))
        .filter(|l| labels.iter().all(|pair| l.contains(pair)))
        .filter_map(|l| l.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()))
        .sum()
}

pub fn queue_ids(snapshot: &Value) -> Vec<String> {
    snapshot["queue"]
        .as_array()
        .map(|q| q.iter().filter_map(|e| e["id"].as_str().map(String::from)).collect())
        .unwrap_or_default()
}
