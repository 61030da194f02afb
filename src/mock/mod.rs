//! The built-in mock API: a target that behaves like a real one (slow,
//! flaky, rate-limited, with async batch jobs), for demos, learning, and
//! our own tests. It shares no code path with the engine's request logic.
//!
//! ```text
//!  TcpListener ─accept─▶ hyper connection ─▶ router ─▶ knobs middleware ─▶ handler
//!                              ▲                        (503, 429, latency,
//!                              └─ a "close" fault ──────  faults, headers, stats)
//!                                 drops the connection
//! ```
//! Connections are served by our own accept loop on hyper-util rather than
//! `axum::serve`, because closing a connection without any response (one
//! of the faults) needs the service to fail below HTTP.

mod data;
mod jobs;
mod knob_layer;
pub mod knobs;
mod limits;
mod routes;
mod stats;

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Json, Router};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::sync::watch;
use tokio::time::Instant;
use tower::ServiceExt;

pub use knobs::{JobKnobs, Knobs, Latency, RateLimit, RouteKnobs};
pub use stats::StatsReport;

use jobs::Jobs;
use limits::Limiters;
use stats::MockStats;

/// The routes, for `GET /` and the startup banner.
pub const ROUTE_LIST: &[&str] = &[
    "GET  /inventory/{products|materials}?id=N",
    "ANY  /anything, /anything/{*rest}",
    "GET  /status/{code}",
    "GET  /delay/{ms}",
    "GET  /bytes/{n}",
    "GET  /drip?bytes=N&duration=D",
    "GET  /geocode?text=ADDRESS",
    "POST /batch/geocode   (JSON array of addresses: starts a job)",
    "GET  /batch/geocode?id=ID",
    "GET  /__control, PUT /__control   (knobs, live)",
    "GET  /__stats, POST /__stats/reset",
];

/// Marks a response the connection should be dropped for, unanswered.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CloseConnection;

impl std::fmt::Display for CloseConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection closed by fault injection")
    }
}

impl std::error::Error for CloseConnection {}

/// Everything the handlers share.
pub struct MockState {
    knobs: RwLock<Arc<Knobs>>,
    limiters: Mutex<Limiters>,
    stats: MockStats,
    jobs: Jobs,
    route_in_flight: Vec<(&'static str, AtomicU64)>,
    /// Per route with a `capacity`: when its one server is next free.
    queues: Mutex<HashMap<&'static str, Instant>>,
    /// Asked of `/__control` and `/__stats/reset` (header
    /// `X-Ratebench-Token`) when the mock listens beyond loopback: anyone
    /// who can reach it could otherwise change how it answers.
    control_token: Option<String>,
}

/// The header that carries the control token.
pub const TOKEN_HEADER: &str = "x-ratebench-token";

/// Decrements a route's in-flight count on drop.
struct RouteGuard<'a>(&'a AtomicU64);

impl Drop for RouteGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Relaxed);
    }
}

impl MockState {
    fn new(knobs: Knobs) -> Self {
        Self {
            limiters: Mutex::new(Limiters::new(&knobs, Instant::now())),
            knobs: RwLock::new(Arc::new(knobs)),
            stats: MockStats::default(),
            jobs: Jobs::default(),
            route_in_flight: knobs::ROUTES
                .iter()
                .map(|r| (*r, AtomicU64::new(0)))
                .collect(),
            queues: Mutex::default(),
            control_token: None,
        }
    }

    /// The refusal of a control request without the token (none is asked
    /// on loopback).
    fn refused(&self, headers: &axum::http::HeaderMap) -> Option<Response> {
        match &self.control_token {
            None => None,
            Some(token)
                if headers
                    .get(TOKEN_HEADER)
                    .is_some_and(|v| v.as_bytes() == token.as_bytes()) =>
            {
                None
            }
            Some(_) => Some(routes::error(
                StatusCode::UNAUTHORIZED,
                format!(
                    "the mock listens beyond loopback: send the token it printed at start in the {TOKEN_HEADER} header"
                ),
            )),
        }
    }

    pub fn knobs(&self) -> Arc<Knobs> {
        self.knobs.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Swaps in new knobs; rate-limit buckets start afresh (full).
    pub fn set_knobs(&self, knobs: Knobs) {
        *self.limiters() = Limiters::new(&knobs, Instant::now());
        *self.knobs.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(knobs);
    }

    fn limiters(&self) -> MutexGuard<'_, Limiters> {
        self.limiters.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How long a request arriving now waits in the route's queue: the
    /// route serves one request every `1 / capacity` seconds, so past that
    /// rate the queue, and the wait, grow.
    fn queue_wait(&self, route: &'static str, capacity: f64, now: Instant) -> Duration {
        let service = Duration::from_secs_f64(1.0 / capacity.max(0.001));
        let mut queues = self.queues.lock().unwrap_or_else(|p| p.into_inner());
        let free = queues.entry(route).or_insert(now);
        let start = (*free).max(now);
        *free = start + service;
        start - now
    }

    fn route_counter(&self, route: &str) -> &AtomicU64 {
        &self
            .route_in_flight
            .iter()
            .find(|(r, _)| *r == route)
            .expect("a known route")
            .1
    }

    fn route_arrive(&self, route: &str) -> RouteGuard<'_> {
        let counter = self.route_counter(route);
        counter.fetch_add(1, Relaxed);
        RouteGuard(counter)
    }

    fn route_in_flight(&self, route: &str) -> u64 {
        self.route_counter(route).load(Relaxed)
    }

    pub fn stats(&self) -> StatsReport {
        StatsReport {
            jobs: self.jobs.len() as u64,
            ..self.stats.report()
        }
    }
}

/// The mock's routes with the knobs middleware, over `state`.
pub fn router(state: Arc<MockState>) -> Router {
    Router::new()
        .route("/", get(routes::index))
        .route("/inventory/{kind}", get(routes::inventory))
        .route("/anything", any(routes::anything))
        .route("/anything/", any(routes::anything))
        .route("/anything/{*rest}", any(routes::anything))
        .route("/status/{code}", any(routes::status))
        .route("/delay/{ms}", any(routes::delay))
        .route("/bytes/{n}", get(routes::bytes))
        .route("/drip", get(routes::drip))
        .route("/geocode", get(routes::geocode_one))
        .route(
            "/batch/geocode",
            post(routes::batch_create).get(routes::batch_poll),
        )
        .route("/__control", get(get_control).put(put_control))
        .route("/__stats", get(get_stats))
        .route("/__stats/reset", post(reset_stats))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            knob_layer::apply,
        ))
        .with_state(state)
}

async fn get_control(
    State(state): State<Arc<MockState>>,
    headers: axum::http::HeaderMap,
) -> Response {
    if let Some(refused) = state.refused(&headers) {
        return refused;
    }
    Json((*state.knobs()).clone()).into_response()
}

async fn put_control(
    State(state): State<Arc<MockState>>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if let Some(refused) = state.refused(&headers) {
        return refused;
    }
    let patch: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return routes::error(
                StatusCode::BAD_REQUEST,
                format!("expected a JSON object of knobs: {e}"),
            );
        }
    };
    match state.knobs().merged(&patch) {
        Ok(knobs) => {
            state.set_knobs(knobs.clone());
            Json(knobs).into_response()
        }
        Err(message) => routes::error(StatusCode::BAD_REQUEST, message),
    }
}

async fn get_stats(State(state): State<Arc<MockState>>) -> Json<StatsReport> {
    Json(state.stats())
}

async fn reset_stats(
    State(state): State<Arc<MockState>>,
    headers: axum::http::HeaderMap,
) -> Response {
    if let Some(refused) = state.refused(&headers) {
        return refused;
    }
    state.stats.reset();
    StatusCode::NO_CONTENT.into_response()
}

/// A running mock server.
pub struct MockServer {
    pub addr: SocketAddr,
    state: Arc<MockState>,
    shutdown: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

/// 128 random bits, in hex, from the system's source.
fn new_token() -> std::io::Result<String> {
    use std::io::Read;
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

impl MockServer {
    /// The token control requests need (`None` on loopback, where none is
    /// asked).
    pub fn control_token(&self) -> Option<&str> {
        self.state.control_token.as_deref()
    }

    /// Binds `addr` (port 0 picks a free one) and serves until shut down.
    pub async fn start(addr: SocketAddr, knobs: Knobs) -> std::io::Result<Self> {
        knobs.validate().map_err(std::io::Error::other)?;
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let mut state = MockState::new(knobs);
        if !addr.ip().is_loopback() {
            state.control_token = Some(new_token()?);
        }
        let state = Arc::new(state);
        let app = router(state.clone());
        let (shutdown, mut stop) = watch::channel(false);
        let task = tokio::spawn(async move {
            loop {
                let stream = tokio::select! {
                    _ = stop.changed() => break,
                    accepted = listener.accept() => match accepted {
                        Ok((stream, _)) => stream,
                        // Out of file descriptors and the like: back off, go on.
                        Err(_) => {
                            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                            continue;
                        }
                    },
                };
                let _ = stream.set_nodelay(true);
                let app = app.clone();
                let service = hyper::service::service_fn(
                    move |request: hyper::Request<hyper::body::Incoming>| {
                        let app = app.clone();
                        async move {
                            let response = app
                                .oneshot(request.map(axum::body::Body::new))
                                .await
                                .unwrap_or_else(|e: Infallible| match e {});
                            if response.extensions().get::<CloseConnection>().is_some() {
                                Err(CloseConnection)
                            } else {
                                Ok(response)
                            }
                        }
                    },
                );
                tokio::spawn(async move {
                    let _ = auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Self {
            addr,
            state,
            shutdown,
            task,
        })
    }

    /// `http://ADDR`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// What the server has seen so far.
    pub fn stats(&self) -> StatsReport {
        self.state.stats()
    }

    pub fn knobs(&self) -> Arc<Knobs> {
        self.state.knobs()
    }

    /// Changes the knobs live (validated).
    pub fn set_knobs(&self, knobs: Knobs) -> Result<(), String> {
        knobs.validate()?;
        self.state.set_knobs(knobs);
        Ok(())
    }

    /// Stops accepting connections (open ones finish on their own).
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
    }
}
