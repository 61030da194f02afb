//! Drive the engine from Rust: load a batch, run it, change the rate while
//! it runs, watch the stats, print the summary.
//!
//! Self-contained: it starts a small HTTP server on 127.0.0.1 to aim at.
//! `cargo run --example run_batch`

use std::time::Duration;

use axum::{Router, routing::get};
use ratebench::batch::{Batch, LoadOptions};
use ratebench::engine::{self, Limits, RunConfig};
use ratebench::export::MemorySink;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // A target: /items/{id} answers after 20 ms.
    let app = Router::new().route(
        "/items/{id}",
        get(|| async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            "{\"ok\": true}"
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });

    // A batch as text (Batch::load reads the same from a file).
    let text =
        r#"{"requests": [{"url": "/items/{{id}}", "for_each": {"id": {"range": [0, 150]}}}]}"#;
    let options = LoadOptions {
        base_url: Some(base),
        ..LoadOptions::default()
    };
    let batch = Batch::parse_str(text, "inline.json".as_ref(), &options)?;

    // Start at 25 starts/s with at most 5 in flight; records go to memory.
    let sink = MemorySink::default();
    let config = RunConfig {
        limits: Limits::new(5, 25.0),
        ..RunConfig::default()
    };
    let handle = engine::start(
        batch.requests(),
        Some(batch.len()),
        config,
        Box::new(sink.clone()),
    )?;

    // Two seconds in, raise the rate: it applies from the next start.
    let mut stats = handle.stats.clone();
    let commands = handle.commander();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let _ = commands.send(engine::Command::SetLimits(Limits::new(5, 100.0)));
    });
    let watcher = tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_millis(500));
        loop {
            every.tick().await;
            let s = stats.borrow_and_update().clone();
            println!(
                "{:>5.1}s  done {:>3}/{}  {:>5.1} starts/s  in flight {}  limited by {:?}",
                s.elapsed.as_secs_f64(),
                s.totals.done,
                s.total.unwrap_or(0),
                s.start_rate,
                s.in_flight,
                s.binding
            );
            if s.state == engine::RunState::Done {
                break;
            }
        }
    });

    let summary = handle.wait().await?;
    watcher.abort();
    print!("{}", summary.render_table());
    println!("  {:<16} {}", "records", sink.records().len());
    Ok(())
}
