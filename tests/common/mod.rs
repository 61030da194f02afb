//! Setup the tests share: a real HTTP server on 127.0.0.1:0 that records
//! what it saw (arrival times, paths, how many requests were in flight at
//! each arrival), the built-in mock started with knobs, the `ratebench`
//! binary run with its data kept out of the user's folders, journals read
//! back, batch files written, and waiting for a condition instead of a
//! fixed time.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, Uri, Version};
use axum::response::IntoResponse;
use axum::routing::any;
use tokio::time::Instant;

#[derive(Debug, Clone)]
pub struct Hit {
    pub at: Instant,
    pub path: String,
    pub query: Option<String>,
    /// Requests in flight on the server, this one included.
    pub in_flight: usize,
    pub headers: HeaderMap,
    pub version: Version,
}

#[derive(Default)]
pub struct Seen {
    in_flight: AtomicUsize,
    pub max_in_flight: AtomicUsize,
    hits: Mutex<Vec<Hit>>,
    flaky: Mutex<HashMap<String, usize>>,
}

impl Seen {
    pub fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }

    pub fn count(&self) -> usize {
        self.hits.lock().unwrap().len()
    }

    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight.load(SeqCst)
    }
}

pub struct TestServer {
    pub addr: SocketAddr,
    pub seen: Arc<Seen>,
}

impl TestServer {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }
}

struct InFlightGuard(Arc<Seen>);

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, SeqCst);
    }
}

fn arrive(seen: &Arc<Seen>, uri: &Uri, headers: &HeaderMap) -> InFlightGuard {
    arrive_v(seen, uri, headers, Version::HTTP_11)
}

fn arrive_v(seen: &Arc<Seen>, uri: &Uri, headers: &HeaderMap, version: Version) -> InFlightGuard {
    let now = seen.in_flight.fetch_add(1, SeqCst) + 1;
    seen.max_in_flight.fetch_max(now, SeqCst);
    seen.hits.lock().unwrap().push(Hit {
        at: Instant::now(),
        path: uri.path().to_owned(),
        query: uri.query().map(str::to_owned),
        in_flight: now,
        headers: headers.clone(),
        version,
    });
    InFlightGuard(seen.clone())
}

/// Routes:
/// - `/ok`: 200 "ok";
/// - `/delay/{ms}`: 200 after ms;
/// - `/status/{code}`: that status;
/// - `/flaky/{key}`: the first hit per key answers 429 with Retry-After: 1,
///   later hits 200;
/// - `/echo`: 200 with the request body echoed back;
/// - `/redirect/{n}`: 302 to `/redirect/{n-1}`, and `/redirect/0` is 200;
/// - `/version`: 200, recording the HTTP version the request came in;
/// - `/exhausted`: 200 saying (IETF draft dictionary form) that no request
///   remains of 10 a second until a reset in 1 s;
/// - `/drained`: 200 saying only that none remain until a reset in 1 s
///   (`X-RateLimit-Remaining: 0`, `X-RateLimit-Reset: 1`), no rate.
pub async fn start() -> TestServer {
    let seen = Arc::new(Seen::default());
    let app = Router::new()
        .route("/ok", any(ok))
        .route("/delay/{ms}", any(delay))
        .route("/status/{code}", any(status))
        .route("/flaky/{key}", any(flaky))
        .route("/echo", any(echo))
        .route("/redirect/{n}", any(redirect))
        .route("/version", any(version))
        .route("/exhausted", any(exhausted))
        .route("/drained", any(drained))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    TestServer { addr, seen }
}

/// Serves `app` on a free port of 127.0.0.1 (a server a test writes for
/// itself); its base URL.
pub async fn serve(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

async fn ok(State(seen): State<Arc<Seen>>, uri: Uri, headers: HeaderMap) -> &'static str {
    let _g = arrive(&seen, &uri, &headers);
    "ok"
}

async fn delay(
    State(seen): State<Arc<Seen>>,
    Path(ms): Path<u64>,
    uri: Uri,
    headers: HeaderMap,
) -> &'static str {
    let _g = arrive(&seen, &uri, &headers);
    tokio::time::sleep(Duration::from_millis(ms)).await;
    "done"
}

async fn status(
    State(seen): State<Arc<Seen>>,
    Path(code): Path<u16>,
    uri: Uri,
    headers: HeaderMap,
) -> impl IntoResponse {
    let _g = arrive(&seen, &uri, &headers);
    (
        StatusCode::from_u16(code).unwrap(),
        format!("status {code}"),
    )
}

async fn flaky(
    State(seen): State<Arc<Seen>>,
    Path(key): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> impl IntoResponse {
    let _g = arrive(&seen, &uri, &headers);
    let n = {
        let mut map = seen.flaky.lock().unwrap();
        let n = map.entry(key).or_default();
        *n += 1;
        *n
    };
    if n == 1 {
        (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", "1"), ("x-ratelimit-remaining", "0")],
            "slow down",
        )
            .into_response()
    } else {
        (StatusCode::OK, "fine").into_response()
    }
}

async fn echo(
    State(seen): State<Arc<Seen>>,
    uri: Uri,
    headers: HeaderMap,
    RawQuery(_q): RawQuery,
    body: String,
) -> String {
    let _g = arrive(&seen, &uri, &headers);
    body
}

async fn redirect(
    State(seen): State<Arc<Seen>>,
    Path(n): Path<u32>,
    uri: Uri,
    headers: HeaderMap,
) -> impl IntoResponse {
    let _g = arrive(&seen, &uri, &headers);
    if n == 0 {
        (StatusCode::OK, [("location", String::new())], "arrived").into_response()
    } else {
        (
            StatusCode::FOUND,
            [("location", format!("/redirect/{}", n - 1))],
            "",
        )
            .into_response()
    }
}

async fn version(
    State(seen): State<Arc<Seen>>,
    v: Version,
    uri: Uri,
    headers: HeaderMap,
) -> &'static str {
    let _g = arrive_v(&seen, &uri, &headers, v);
    "ok"
}

async fn drained(State(seen): State<Arc<Seen>>, uri: Uri, headers: HeaderMap) -> impl IntoResponse {
    let _g = arrive(&seen, &uri, &headers);
    (
        [("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "1")],
        "none left",
    )
}

async fn exhausted(
    State(seen): State<Arc<Seen>>,
    uri: Uri,
    headers: HeaderMap,
) -> impl IntoResponse {
    let _g = arrive(&seen, &uri, &headers);
    (
        [
            ("ratelimit", "limit=10, remaining=0, reset=1"),
            ("ratelimit-policy", "10;w=1"),
        ],
        "that was the last one",
    )
}

// ---- The built-in mock, batch files, journals --------------------------------------

/// The built-in mock on a free port of 127.0.0.1, with these knobs.
pub async fn mock(knobs: ratebench::mock::Knobs) -> ratebench::mock::MockServer {
    ratebench::mock::MockServer::start("127.0.0.1:0".parse().unwrap(), knobs)
        .await
        .unwrap()
}

/// Writes a batch file `name` holding `text` into `dir`.
pub fn batch_file(dir: &std::path::Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// A JSON batch of `n` GETs of `{base}{path}?id=0..n`, with these extra
/// top-level settings (`"max_at_once": 4, ` and the like).
pub fn n_requests(base: &str, path: &str, n: u64, settings: &str) -> String {
    format!(
        r#"{{"base_url": "{base}", {settings}"requests": [{{"url": "{path}?id={{{{i}}}}", "for_each": {{"i": {{"range": [0, {n}]}}}}}}]}}"#
    )
}

/// Starts `batch` under `config` in this process, its records kept in
/// memory (`sink.records()` once the handle is waited for).
pub fn start_batch(
    batch: &ratebench::Batch,
    config: ratebench::RunConfig,
) -> (ratebench::RunHandle, ratebench::export::MemorySink) {
    let sink = ratebench::export::MemorySink::default();
    let handle = ratebench::start(
        batch.requests(),
        Some(batch.len()),
        config,
        Box::new(sink.clone()),
    )
    .unwrap();
    (handle, sink)
}

/// The records of a JSON Lines journal.
pub fn records(path: &std::path::Path) -> Vec<ratebench::RequestRecord> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The row indices a journal holds results for (a missing or cut-off
/// journal gives what it has).
pub fn indices(path: &std::path::Path) -> std::collections::BTreeSet<u64> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<ratebench::RequestRecord>(l).ok())
        .map(|r| r.index)
        .collect()
}

// ---- The binary ---------------------------------------------------------------------

pub const BIN: &str = env!("CARGO_BIN_EXE_ratebench");

/// This test process's own folder for what the binary keeps between runs
/// (the runs log, the workbench's results): never the user's.
pub fn data_dir() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("ratebench-tests-{}", std::process::id()))
}

/// The `ratebench` binary, its runs log and results folder kept in
/// [`data_dir`] (a test sets its own with `.env` after this).
pub fn ratebench_command() -> std::process::Command {
    let mut command = std::process::Command::new(BIN);
    command
        .env("RATEBENCH_DATA_DIR", data_dir())
        .env("RATEBENCH_RESULTS_DIR", data_dir().join("results"));
    command
}

/// Runs `ratebench ARGS` to the end, off the async runtime.
pub async fn ratebench(args: &[&str]) -> std::process::Output {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        ratebench_command()
            .args(&args)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

// ---- Waiting --------------------------------------------------------------------------

/// Waits until `ok()` holds, looking every 10 ms, for at most 20 s; then
/// fails the test naming `what`. For conditions outside the test's reach
/// (a server's count, a file): a watched value has `wait_for`.
pub async fn until(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

// ---- An independent rate limiter -----------------------------------------------------

/// How a [`Limiter`] admits requests.
#[derive(Debug, Clone, Copy)]
pub enum Rule {
    /// A token bucket of `per_second`, burst 1, with 429 and Retry-After
    /// (seconds, rounded up) for what it refuses, and `RateLimit-Policy`
    /// on every answer.
    Bucket { per_second: f64 },
    /// nginx's `limit_req` with no burst: a request less than 1/rate
    /// after the last one it accepted is refused, time counted in whole
    /// milliseconds; no headers at all.
    NoBurstMs { per_second: f64 },
}

/// A rate limiter written for the tests (not the built-in mock's, so the
/// two cannot share a bug): `GET /limited/...` answers 200 or 429 by its
/// rule, after `latency`; it counts what it accepted and refused.
pub struct Limiter {
    pub addr: SocketAddr,
    pub accepted: Arc<AtomicUsize>,
    pub refused: Arc<AtomicUsize>,
}

impl Limiter {
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }
}

struct LimiterState {
    rule: Rule,
    latency: Duration,
    origin: std::time::Instant,
    /// When the last accepted request came (ms or µs since `origin`,
    /// by the rule), `None` before the first.
    last: Mutex<Option<u64>>,
    accepted: Arc<AtomicUsize>,
    refused: Arc<AtomicUsize>,
}

pub async fn limiter(rule: Rule, latency: Duration) -> Limiter {
    let state = Arc::new(LimiterState {
        rule,
        latency,
        origin: std::time::Instant::now(),
        last: Mutex::new(None),
        accepted: Arc::default(),
        refused: Arc::default(),
    });
    let (accepted, refused) = (state.accepted.clone(), state.refused.clone());
    let app = Router::new()
        .route("/limited/{*rest}", any(limited))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Limiter {
        addr,
        accepted,
        refused,
    }
}

async fn limited(State(state): State<Arc<LimiterState>>) -> axum::response::Response {
    let admitted = {
        let mut last = state.last.lock().unwrap();
        let elapsed = state.origin.elapsed();
        let (now, gap) = match state.rule {
            Rule::Bucket { per_second } => (
                elapsed.as_micros() as u64,
                (1e6 / per_second).round() as u64,
            ),
            Rule::NoBurstMs { per_second } => (
                elapsed.as_millis() as u64,
                (1e3 / per_second).round() as u64,
            ),
        };
        match *last {
            Some(at) if now < at + gap => Err(at + gap - now),
            _ => {
                *last = Some(now);
                Ok(())
            }
        }
    };
    tokio::time::sleep(state.latency).await;
    match (admitted, state.rule) {
        (Ok(()), Rule::Bucket { per_second }) => {
            state.accepted.fetch_add(1, SeqCst);
            (
                [("ratelimit-policy", format!("\"bucket\";q={per_second};w=1"))],
                "ok",
            )
                .into_response()
        }
        (Ok(()), Rule::NoBurstMs { .. }) => {
            state.accepted.fetch_add(1, SeqCst);
            "ok".into_response()
        }
        (Err(wait_us), Rule::Bucket { per_second }) => {
            state.refused.fetch_add(1, SeqCst);
            let secs = (wait_us as f64 / 1e6).ceil().max(1.0) as u64;
            (
                StatusCode::TOO_MANY_REQUESTS,
                [
                    ("retry-after", secs.to_string()),
                    ("ratelimit-policy", format!("\"bucket\";q={per_second};w=1")),
                ],
                "slow down",
            )
                .into_response()
        }
        (Err(_), Rule::NoBurstMs { .. }) => {
            state.refused.fetch_add(1, SeqCst);
            (StatusCode::TOO_MANY_REQUESTS, "limiting requests").into_response()
        }
    }
}

// ---- Servers on a runtime of their own ----------------------------------------------

/// A value made on a tokio runtime of its own (one worker thread), which
/// runs what it spawned until this is dropped: a server kept apart from
/// a test's busy runtime, so the test's load does not delay its clock.
pub struct Apart<T> {
    pub value: T,
    runtime: Option<tokio::runtime::Runtime>,
}

impl<T> Drop for Apart<T> {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// Makes `make()`'s value on a runtime of its own (see [`Apart`]).
pub fn apart<T, F>(make: impl FnOnce() -> F + Send + 'static) -> Apart<T>
where
    T: Send + 'static,
    F: std::future::Future<Output = T>,
{
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let value = runtime.block_on(make());
        Apart {
            value,
            runtime: Some(runtime),
        }
    })
    .join()
    .unwrap()
}

// ---- Tests that measure time ------------------------------------------------------------

/// Held by the tests that judge pacing or find a server's limit (the
/// probe, auto-tune, respecting limits): one at a time, since on two
/// cores they disturb each other's clocks. The other tests still run
/// beside them.
pub static TIMING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// What a limit's test accepts from a debug build (what `cargo test`
/// makes), which paces less evenly beside other tests on two cores: the
/// targets themselves hold for release builds (`bench/`, BENCHMARKS.md).
pub fn debug_slack(release: f64, debug: f64) -> f64 {
    if cfg!(debug_assertions) {
        debug
    } else {
        release
    }
}
