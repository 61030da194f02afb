//! `window-trade [RATE] [ITEMS] [WINDOWS_MS]`: the batching trade, item
//! latency against call rate, for several windows at one arrival rate.
//! Items arrive Poisson (seed 7) at RATE a second and go to the built-in
//! mock's `/batch/geocode` jobs (created, then polled every 100 ms), at
//! most 100 a call: once through the engine (a batch file with
//! `arrivals`), once through the library's `Coalescer` fed the same
//! stream. Prints a markdown table.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use ratebench::batch::{Batch, LoadOptions};
use ratebench::coalesce::{CoalesceConfig, Coalescer};
use ratebench::engine::{self, RunConfig};
use ratebench::export::MemorySink;
use ratebench::mock::{Knobs, MockServer};
use reqwest::Client;
use serde_json::Value;
use tokio::time::Instant;

/// One row of the table.
struct Row {
    calls_per_s: f64,
    items_per_call: f64,
    full: Option<f64>,
    latency: (f64, f64),
    queued: (f64, f64),
}

fn percentile(values: &mut [f64], p: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    let at = ((values.len() as f64 - 1.0) * p).round() as usize;
    values.get(at).copied().unwrap_or(0.0)
}

pub async fn main(args: Vec<String>) {
    let rate: f64 = args.first().and_then(|a| a.parse().ok()).unwrap_or(200.0);
    let items: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(2000);
    let windows: Vec<u64> = args
        .get(2)
        .map(|w| w.split(',').filter_map(|x| x.parse().ok()).collect())
        .unwrap_or_else(|| vec![10, 50, 250]);
    let mut knobs = Knobs::default();
    knobs.jobs.overhead = Duration::from_millis(100);
    knobs.jobs.per_item = Duration::from_millis(2);
    let mock = MockServer::start("127.0.0.1:0".parse::<SocketAddr>().unwrap(), knobs)
        .await
        .expect("the mock");
    let base = mock.base_url();
    println!(
        "arrivals {rate}/s Poisson (seed 7), {items} items, at most 100 a call; mock jobs: \
         100 ms + 2 ms an item, polled every 100 ms"
    );
    println!();
    println!(
        "| window | through | calls/s | items per call | calls full | item latency p50 / p99 (ms) | queued p50 / p99 (ms) |"
    );
    println!("|---:|---|---:|---:|---:|---:|---:|");
    for window in windows {
        let engine = engine_row(&base, rate, items, window).await;
        let library = coalescer_row(&base, rate, items, window).await;
        for (name, row) in [("engine", engine), ("Coalescer", library)] {
            let full = row
                .full
                .map_or("–".to_owned(), |f| format!("{:.0} %", f * 100.0));
            println!(
                "| {window} ms | {name} | {:.1} | {:.1} | {full} | {:.0} / {:.0} | {:.0} / {:.0} |",
                row.calls_per_s,
                row.items_per_call,
                row.latency.0,
                row.latency.1,
                row.queued.0,
                row.queued.1
            );
        }
    }
    println!();
    println!(
        "| arrivals, 10 s, no window | asked | the stream's own rate | achieved (calls sent) | off |"
    );
    println!("|---|---:|---:|---:|---:|");
    for pattern in ["even", "poisson"] {
        let (own, achieved) = accuracy(&base, 300.0, pattern).await;
        println!(
            "| {pattern} (seed 7) | 300/s | {own:.1}/s | {achieved:.1}/s | {:+.2} % |",
            (achieved / own - 1.0) * 100.0
        );
    }
    mock.shutdown().await;
}

/// 3,000 items at `rate` with no window against an instant batch route
/// (`/anything`): each call goes as its item arrives, so the calls' send
/// times are when the engine let the items in. The stream's own rate is
/// its scheduled arrivals' (a Poisson count varies by its square root).
async fn accuracy(base: &str, rate: f64, pattern: &str) -> (f64, f64) {
    let text = format!(
        r#"{{"base_url": "{base}",
            "coalesce": {{"url": "/anything", "max_items": 100, "window": "0ms",
                "result": {{"items": "$.json", "match": "index"}}}},
            "arrivals": {{"rate": {rate}, "pattern": "{pattern}", "seed": 7}},
            "requests": [{{"url": "/x", "params": {{"n": "{{{{i}}}}"}},
                          "for_each": {{"i": {{"range": [0, 3000]}}}}}}]}}"#
    );
    let batch =
        Batch::parse_str(&text, Path::new("acc.json"), &LoadOptions::default()).expect("the batch");
    let records = run(&batch).await;
    let at = |r: &ratebench::RequestRecord| {
        humantime::parse_rfc3339(r.started_at.as_deref().unwrap_or(""))
            .map(|t| {
                t.duration_since(std::time::UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_secs_f64()
            })
            .unwrap_or(0.0)
    };
    let mut sent: Vec<f64> = records.iter().map(at).collect();
    sent.sort_by(f64::total_cmp);
    let n = sent.len() as f64;
    let achieved = (n - 1.0) / (sent[sent.len() - 1] - sent[0]);
    // The schedule alone: the same seed's gaps.
    let mut rng = fastrand::Rng::with_seed(7);
    let mut t = 0.0;
    for _ in 1..sent.len() {
        t += if pattern == "even" {
            1.0 / rate
        } else {
            -(1.0 - rng.f64()).ln() / rate
        };
    }
    ((n - 1.0) / t, achieved)
}

async fn engine_row(base: &str, rate: f64, items: usize, window: u64) -> Row {
    let text = format!(
        r#"{{"base_url": "{base}",
            "coalesce": {{"url": "/batch/geocode", "max_items": 100, "window": "{window}ms",
                "result": {{"items": "$", "match": "index"}},
                "poll": {{"when": {{"status": "pending"}}, "id": "$.id",
                          "url": "/batch/geocode?id={{{{id}}}}", "interval": "100ms", "timeout": "60s"}}}},
            "arrivals": {{"rate": {rate}, "pattern": "poisson", "seed": 7}},
            "requests": [{{"url": "/geocode", "params": {{"text": "{{{{i}}}} Main Street"}},
                          "for_each": {{"i": {{"range": [0, {items}]}}}}}}]}}"#
    );
    let batch = Batch::parse_str(&text, Path::new("trade.json"), &LoadOptions::default())
        .expect("the batch");
    let began = Instant::now();
    let records = run(&batch).await;
    let took = began.elapsed().as_secs_f64();
    let infos: Vec<_> = records.iter().filter_map(|r| r.batch.as_ref()).collect();
    let calls: std::collections::BTreeMap<u64, (usize, bool)> = infos
        .iter()
        .map(|b| (b.number, (b.size, b.full == Some(true))))
        .collect();
    let mut latency: Vec<f64> = records.iter().filter_map(|r| r.latency_ms).collect();
    let mut queued: Vec<f64> = infos.iter().filter_map(|b| b.queued_ms).collect();
    Row {
        calls_per_s: calls.len() as f64 / took,
        items_per_call: records.len() as f64 / calls.len().max(1) as f64,
        full: Some(calls.values().filter(|(_, f)| *f).count() as f64 / calls.len().max(1) as f64),
        latency: (
            percentile(&mut latency, 0.5),
            percentile(&mut latency, 0.99),
        ),
        queued: (percentile(&mut queued, 0.5), percentile(&mut queued, 0.99)),
    }
}

/// Runs a batch with `arrivals` through the engine, with no limits: its
/// records.
async fn run(batch: &Batch) -> Vec<ratebench::RequestRecord> {
    let sink = MemorySink::default();
    let config = RunConfig {
        limits: ratebench::Limits::new(0, 0.0),
        coalesce: batch.settings.coalesce.clone().map(Arc::new),
        arrivals: batch.settings.arrivals.clone(),
        ..RunConfig::default()
    };
    let handle = engine::start(
        batch.requests(),
        Some(batch.len()),
        config,
        Box::new(sink.clone()),
    )
    .expect("the run");
    handle.wait().await.expect("the run");
    sink.records()
}

/// One call through the library: start the job, poll it every 100 ms.
async fn geocode(client: Client, base: String, items: Vec<String>) -> Result<Vec<Value>, String> {
    let fail = |e: reqwest::Error| e.to_string();
    let job: Value = client
        .post(format!("{base}/batch/geocode"))
        .json(&items)
        .send()
        .await
        .map_err(fail)?
        .json()
        .await
        .map_err(fail)?;
    let id = job["id"].as_str().ok_or("no job id")?.to_owned();
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let answer: Value = client
            .get(format!("{base}/batch/geocode?id={id}"))
            .send()
            .await
            .map_err(fail)?
            .json()
            .await
            .map_err(fail)?;
        if let Value::Array(results) = answer {
            return Ok(results);
        }
    }
}

async fn coalescer_row(base: &str, rate: f64, items: usize, window: u64) -> Row {
    let client = Client::builder().no_proxy().build().expect("a client");
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = calls.clone();
    let base = base.to_owned();
    let coalescer = Arc::new(Coalescer::new(
        CoalesceConfig {
            max_items: 100,
            window: Duration::from_millis(window),
        },
        move |batch: Vec<String>| {
            counted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            geocode(client.clone(), base.clone(), batch)
        },
    ));
    // The same stream as the engine's: Poisson gaps from seed 7.
    let mut rng = fastrand::Rng::with_seed(7);
    let began = Instant::now();
    let mut at = 0.0f64;
    let mut waiting = Vec::with_capacity(items);
    for i in 0..items {
        tokio::time::sleep_until(began + Duration::from_secs_f64(at)).await;
        let c = coalescer.clone();
        waiting.push(tokio::spawn(async move {
            let arrived = Instant::now();
            let outcome = c.submit(format!("{i} Main Street")).await;
            (arrived.elapsed(), outcome.waited, outcome.batch_size)
        }));
        at += -(1.0 - rng.f64()).ln() / rate;
    }
    let mut latency = Vec::with_capacity(items);
    let mut queued = Vec::with_capacity(items);
    for w in waiting {
        let (took, waited, _) = w.await.expect("a caller");
        latency.push(took.as_secs_f64() * 1000.0);
        queued.push(waited.as_secs_f64() * 1000.0);
    }
    let took = began.elapsed().as_secs_f64();
    let calls = calls.load(std::sync::atomic::Ordering::Relaxed);
    Row {
        calls_per_s: calls as f64 / took,
        items_per_call: items as f64 / calls.max(1) as f64,
        full: None,
        latency: (
            percentile(&mut latency, 0.5),
            percentile(&mut latency, 0.99),
        ),
        queued: (percentile(&mut queued, 0.5), percentile(&mut queued, 0.99)),
    }
}
