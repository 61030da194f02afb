//! The benchmark target: a minimal HTTP server that counts arrivals, so a
//! rate can be checked from the server's side.
//!
//! `cargo run --release --example bench -- server [PORT]`
//! - `GET /ok`: 200 "ok" (the endpoint both oha and ratebench hit);
//! - `GET /hello`: 200 "ok" and nothing else: the hello-world baseline the
//!   mock API is compared with;
//! - `GET /__stats`: `{"count", "span_s", "max_per_1s_window", "rate"}` of
//!   arrivals since the last reset (`rate` = (count-1)/span);
//! - `POST /__reset`: forget all arrivals.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};

type Arrivals = Arc<Mutex<Vec<Instant>>>;

pub async fn main(args: Vec<String>) -> std::io::Result<()> {
    let port: u16 = args
        .into_iter()
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let arrivals: Arrivals = Arc::default();
    let app = Router::new()
        .route(
            "/ok",
            get(|State(a): State<Arrivals>| async move {
                a.lock().unwrap().push(Instant::now());
                "ok"
            }),
        )
        .route("/hello", get(|| async { "ok" }))
        .route("/__stats", get(stats))
        .route(
            "/__reset",
            post(|State(a): State<Arrivals>| async move { a.lock().unwrap().clear() }),
        )
        .with_state(arrivals);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("http://{}", listener.local_addr()?);
    axum::serve(listener, app).await
}

async fn stats(State(arrivals): State<Arrivals>) -> Json<serde_json::Value> {
    let times = arrivals.lock().unwrap().clone();
    let count = times.len();
    let span = match (times.first(), times.last()) {
        (Some(a), Some(b)) => b.duration_since(*a).as_secs_f64(),
        _ => 0.0,
    };
    // Most arrivals in any sliding one-second window (two pointers).
    let (mut best, mut lo) = (0, 0);
    for hi in 0..count {
        while times[hi].duration_since(times[lo]).as_secs_f64() >= 1.0 {
            lo += 1;
        }
        best = best.max(hi - lo + 1);
    }
    let rate = if span > 0.0 {
        (count - 1) as f64 / span
    } else {
        0.0
    };
    Json(
        serde_json::json!({"count": count, "span_s": span, "max_per_1s_window": best, "rate": rate}),
    )
}
