//! Items that arrive over time (`arrivals`) and the window of a batching
//! layer: calls go full or when their oldest item has waited the window,
//! each item's record says how long it was queued, and the window, items
//! per call and arrival rate change while the run goes. Against a batch
//! endpoint written here (results at once) and the mock's batch jobs.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::routing::post;
use ratebench::batch::{Batch, LoadOptions};
use ratebench::engine::{Command, RunConfig};
use ratebench::model::RequestRecord;
use serde_json::Value;

use crate::common;

/// A batch API that answers every item at once: each payload's `n`
/// doubled, in order.
async fn doubling() -> String {
    let app = axum::Router::new().route(
        "/batch",
        post(|Json(items): Json<Vec<Value>>| async move {
            Json(
                items
                    .iter()
                    .map(|i| {
                        let n: i64 = i["n"].as_str().and_then(|s| s.parse().ok()).unwrap_or(-1);
                        serde_json::json!({ "double": n * 2 })
                    })
                    .collect::<Vec<_>>(),
            )
        }),
    );
    common::serve(app).await
}

/// `n` items for `base`'s `/batch`, coalesced with `coalesce` settings and
/// arriving as `arrivals` says.
fn batch(base: &str, n: u64, coalesce: &str, arrivals: &str) -> Batch {
    let text = format!(
        r#"{{"base_url": "{base}",
            "coalesce": {{"url": "/batch", "result": {{"items": "$", "match": "index"}}, {coalesce}}},
            "arrivals": {arrivals},
            "requests": [{{"url": "/item", "params": {{"n": "{{{{i}}}}"}},
                          "for_each": {{"i": {{"range": [0, {n}]}}}}}}]}}"#
    );
    Batch::parse_str(&text, Path::new("arrivals.json"), &LoadOptions::default()).unwrap()
}

fn config(batch: &Batch) -> RunConfig {
    RunConfig {
        limits: ratebench::Limits::new(0, 0.0),
        coalesce: batch.settings.coalesce.clone().map(Arc::new),
        arrivals: batch.settings.arrivals.clone(),
        ..RunConfig::default()
    }
}

/// Each call's items (by call number), from the records.
fn calls(records: &[RequestRecord]) -> BTreeMap<u64, Vec<&RequestRecord>> {
    let mut calls: BTreeMap<u64, Vec<&RequestRecord>> = BTreeMap::new();
    for r in records {
        calls
            .entry(r.batch.as_ref().expect("a coalesced item").number)
            .or_default()
            .push(r);
    }
    calls
}

fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let v: Vec<f64> = values.collect();
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

/// Scheduling jitter allowed on top of the window (a debug build on a
/// busy 2-core machine; the bench measures the release build).
const JITTER_MS: f64 = 25.0;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_go_on_the_window_and_a_wider_window_fills_them_in_the_same_run() {
    let base = doubling().await;
    let b = batch(
        &base,
        700,
        r#""max_items": 100, "window": "50ms""#,
        r#"{"rate": 200, "pattern": "poisson", "seed": 7}"#,
    );
    let (handle, sink) = common::start_batch(&b, config(&b));
    // Half way through the items, the window goes to 500 ms.
    let commander = handle.commander();
    let widen = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1600)).await;
        commander
            .send(Command::SetWindow(Duration::from_millis(500)))
            .unwrap();
    });
    handle.wait().await.unwrap();
    widen.await.unwrap();
    let records = sink.records();
    assert_eq!(records.len(), 700);
    assert!(
        records.iter().all(|r| r.status == Some(200)),
        "every item answered"
    );
    for r in &records {
        let info = r.batch.as_ref().unwrap();
        let queued = info.queued_ms.expect("queued_ms with arrivals");
        assert!(
            queued <= 500.0 + r.wait_ms + JITTER_MS,
            "item {} queued {queued} ms, past the window and the limits' wait {}",
            r.index,
            r.wait_ms
        );
        let latency = r.latency_ms.unwrap();
        assert!(
            (latency - (queued + info.call_ms + info.poll_ms)).abs() < 0.01,
            "latency is arrival → result"
        );
    }
    let calls = calls(&records);
    // Before the change (calls sent in the first 1.5 s): about 10 items a
    // call (200/s × 50 ms, plus the one that opened it), none queued past
    // the window. After: about 100.
    let first_sent = records.iter().map(sent_ms).fold(f64::MAX, f64::min);
    let (mut narrow, mut wide) = (Vec::new(), Vec::new());
    for items in calls.values() {
        let at = sent_ms(items[0]) - first_sent;
        if at < 1500.0 {
            narrow.push(items.clone());
        } else if at > 2300.0 {
            wide.push(items.clone());
        }
    }
    let size = |calls: &[Vec<&RequestRecord>]| mean(calls.iter().map(|c| c.len() as f64));
    let latency =
        |calls: &[Vec<&RequestRecord>]| mean(calls.iter().flatten().map(|r| r.latency_ms.unwrap()));
    assert!(
        (6.0..=16.0).contains(&size(&narrow)),
        "50 ms window at 200/s: {} items a call",
        size(&narrow)
    );
    for r in narrow.iter().flatten() {
        let queued = r.batch.as_ref().unwrap().queued_ms.unwrap();
        assert!(queued <= 50.0 + r.wait_ms + JITTER_MS, "queued {queued} ms");
    }
    assert!(
        size(&wide) > 4.0 * size(&narrow),
        "a 500 ms window fills calls: {} vs {}",
        size(&wide),
        size(&narrow)
    );
    assert!(
        latency(&wide) > 3.0 * latency(&narrow),
        "and items wait longer: {} vs {} ms",
        latency(&wide),
        latency(&narrow)
    );
}

/// When the item's call was sent (ms since the epoch).
fn sent_ms(r: &RequestRecord) -> f64 {
    let at = humantime::parse_rfc3339(r.started_at.as_deref().unwrap()).unwrap();
    at.duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        * 1000.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fast_arrivals_fill_calls_and_never_wait_for_the_window_nor_past_the_end() {
    let base = doubling().await;
    // 2,000 items a second, 100 a call: a call fills in 50 ms, long
    // before a 1 s window; the last 50 items go when the batch ends.
    let b = batch(
        &base,
        1050,
        r#""max_items": 100, "window": "1s""#,
        r#"{"rate": 2000, "pattern": "even"}"#,
    );
    let began = tokio::time::Instant::now();
    let (handle, sink) = common::start_batch(&b, config(&b));
    handle.wait().await.unwrap();
    let took = began.elapsed();
    let records = sink.records();
    assert_eq!(records.len(), 1050);
    let calls = calls(&records);
    let full = calls.values().filter(|c| c.len() == 100).count();
    assert_eq!(
        full,
        10,
        "calls go full: {:?}",
        calls.values().map(Vec::len).collect::<Vec<_>>()
    );
    for r in &records {
        let queued = r.batch.as_ref().unwrap().queued_ms.unwrap();
        assert!(
            queued <= 50.0 + r.wait_ms + JITTER_MS,
            "item {} queued {queued} ms: a full call does not wait for the window",
            r.index
        );
    }
    assert!(
        took < Duration::from_millis(1000),
        "the last call did not wait out its 1 s window: {took:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_arrival_rate_is_kept_and_changes_live() {
    let base = doubling().await;
    // No window: each item's call goes as it arrives, so the calls' send
    // times are when the engine let the items in.
    let b = batch(
        &base,
        1000,
        r#""max_items": 50, "window": "0ms""#,
        r#"{"rate": 500, "pattern": "even"}"#,
    );
    let (handle, sink) = common::start_batch(&b, config(&b));
    handle.wait().await.unwrap();
    let records = sink.records();
    let mut sent: Vec<f64> = records.iter().map(sent_ms).collect();
    sent.sort_by(f64::total_cmp);
    let span_s = (sent[999] - sent[0]) / 1000.0;
    let rate = 999.0 / span_s;
    assert!(
        (rate - 500.0).abs() < 5.0,
        "500/s asked, {rate:.1}/s arrived"
    );
    let calls = calls(&records);
    assert!(
        calls.len() > 900,
        "items went as they came, not held: {} calls",
        calls.len()
    );

    // Raised live: 200 items at 100/s, then 1,000/s after 0.5 s.
    let b = batch(
        &base,
        300,
        r#""max_items": 50, "window": "20ms""#,
        r#"{"rate": 100, "pattern": "even"}"#,
    );
    let began = tokio::time::Instant::now();
    let (handle, _sink) = common::start_batch(&b, config(&b));
    tokio::time::sleep(Duration::from_millis(500)).await;
    handle.send(Command::SetArrivalRate(1000.0));
    handle.wait().await.unwrap();
    let took = began.elapsed().as_secs_f64();
    // 50 items in the first 0.5 s, 250 more at 1,000/s: about 0.75 s
    // (3 s had the rate stayed).
    assert!((0.6..1.5).contains(&took), "took {took:.2} s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arriving_items_through_the_mocks_batch_jobs_each_get_their_result() {
    let mut knobs = ratebench::mock::Knobs::default();
    knobs.jobs.overhead = Duration::from_millis(50);
    knobs.jobs.per_item = Duration::from_millis(1);
    let mock = ratebench::mock::MockServer::start("127.0.0.1:0".parse().unwrap(), knobs)
        .await
        .unwrap();
    let text = format!(
        r#"{{"base_url": "{}", "max_at_once": 10,
            "coalesce": {{"url": "/batch/geocode", "max_items": 100, "window": "50ms",
                "result": {{"items": "$", "match": "index"}},
                "poll": {{"when": {{"status": "pending"}}, "id": "$.id",
                          "url": "/batch/geocode?id={{{{id}}}}", "interval": "50ms", "timeout": "10s"}}}},
            "arrivals": {{"rate": 200, "seed": 3}},
            "requests": [{{"url": "/geocode", "params": {{"text": "{{{{i}}}} Main Street"}},
                          "for_each": {{"i": {{"range": [0, 300]}}}}}}]}}"#,
        mock.base_url()
    );
    let b = Batch::parse_str(&text, Path::new("a.json"), &LoadOptions::default()).unwrap();
    let mut cfg = config(&b);
    cfg.limits = ratebench::Limits::new(10, 0.0);
    let (handle, sink) = common::start_batch(&b, cfg);
    handle.wait().await.unwrap();
    let records = sink.records();
    assert_eq!(records.len(), 300);
    for r in &records {
        assert_eq!(r.status, Some(200), "{:?}", r.error);
        let info = r.batch.as_ref().unwrap();
        assert!(
            info.job.is_some() && info.poll_ms > 0.0,
            "the job was polled"
        );
        assert!(info.queued_ms.unwrap() <= 50.0 + r.wait_ms + JITTER_MS);
    }
    let size = mean(calls(&records).values().map(|c| c.len() as f64));
    assert!((6.0..=16.0).contains(&size), "{size} items a call");
    mock.shutdown().await;
}

#[test]
fn arrivals_need_a_coalesce_section_and_a_window_alone_is_noted() {
    let e = Batch::parse_str(
        r#"{"arrivals": {"rate": 10}, "requests": ["http://127.0.0.1:9/x"]}"#,
        Path::new("a.json"),
        &LoadOptions::default(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("add a `coalesce` section"), "{e}");
    let b = Batch::parse_str(
        r#"{"coalesce": {"url": "http://127.0.0.1:9/batch", "window": "50ms",
            "result": {"items": "$", "match": "index"}}, "requests": ["http://127.0.0.1:9/x"]}"#,
        Path::new("a.json"),
        &LoadOptions::default(),
    )
    .unwrap();
    assert!(
        b.warnings.iter().any(|w| w.contains("changes nothing")),
        "{:?}",
        b.warnings
    );
    for bad in [
        r#"{"rate": 0}"#,
        r#"{"rate": 5, "pattern": "bursty"}"#,
        r#"{}"#,
    ] {
        let text = format!(
            r#"{{"coalesce": {{"url": "http://127.0.0.1:9/b", "result": {{"items": "$", "match": "index"}}}},
                "arrivals": {bad}, "requests": ["http://127.0.0.1:9/x"]}}"#
        );
        let e = Batch::parse_str(&text, Path::new("a.json"), &LoadOptions::default()).unwrap_err();
        assert!(e.to_string().contains("arrivals"), "{bad}: {e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headless_flags_give_a_batch_arrivals_and_a_window() {
    let base = doubling().await;
    let dir = tempfile::tempdir().unwrap();
    let file = common::batch_file(
        dir.path(),
        "b.json",
        &format!(
            r#"{{"base_url": "{base}",
                "coalesce": {{"url": "/batch", "max_items": 100, "result": {{"items": "$", "match": "index"}}}},
                "requests": [{{"url": "/item", "params": {{"n": "{{{{i}}}}"}},
                              "for_each": {{"i": {{"range": [0, 400]}}}}}}]}}"#
        ),
    );
    let out = dir.path().join("r.jsonl");
    let run = common::ratebench(&[
        "run",
        file.to_str().unwrap(),
        "--arrival-rate",
        "400/even",
        "--batch-window",
        "30ms",
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ])
    .await;
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let records = common::records(&out);
    assert_eq!(records.len(), 400);
    let size = mean(calls(&records).values().map(|c| c.len() as f64));
    // 400/s × 30 ms = 12 more items after the one that opens a call.
    assert!((9.0..=17.0).contains(&size), "{size} items a call");
    assert!(
        records
            .iter()
            .all(|r| r.batch.as_ref().unwrap().queued_ms.unwrap() <= 30.0 + r.wait_ms + JITTER_MS)
    );
    let bad = common::ratebench(&["run", file.to_str().unwrap(), "--arrival-rate", "fast"]).await;
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("invalid arrival rate"));
}
