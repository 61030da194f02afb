//! The library's `Coalescer` against real servers on 127.0.0.1: grouping,
//! windows, errors reaching each caller, shutdown, and async batch jobs on
//! the built-in mock.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

use axum::routing::post;
use axum::{Json, Router};
use ratebench::coalesce::{CoalesceConfig, CoalesceError, Coalescer};
use reqwest::Client;
use serde_json::Value;
use tokio::time::Instant;

/// A batch API: `/double` answers each number doubled, `/short` drops the
/// last answer, `/fail` is a 500. Counts the batch calls it gets.
async fn server() -> (String, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let (c1, c2) = (calls.clone(), calls.clone());
    let app = Router::new()
        .route(
            "/double",
            post(move |Json(items): Json<Vec<i64>>| async move {
                c1.fetch_add(1, SeqCst);
                Json(items.iter().map(|x| x * 2).collect::<Vec<_>>())
            }),
        )
        .route(
            "/short",
            post(move |Json(mut items): Json<Vec<Value>>| async move {
                c2.fetch_add(1, SeqCst);
                items.pop();
                Json(items)
            }),
        )
        .route(
            "/fail",
            post(|| async { (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "down") }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), calls)
}

/// A coalescer that posts each batch as a JSON array to `url`.
fn coalescer(url: String, max_items: usize, window: Duration) -> Coalescer<i64, i64> {
    let client = Client::builder().no_proxy().build().unwrap();
    Coalescer::new(
        CoalesceConfig { max_items, window },
        move |items: Vec<i64>| {
            let request = client.post(url.clone()).json(&items);
            async move {
                let response = request.send().await.map_err(|e| e.to_string())?;
                if !response.status().is_success() {
                    return Err(format!("HTTP {}", response.status()));
                }
                response.json::<Vec<i64>>().await.map_err(|e| e.to_string())
            }
        },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_are_grouped_up_to_max_items_and_each_caller_gets_its_own() {
    let (base, calls) = server().await;
    let c = Arc::new(coalescer(
        format!("{base}/double"),
        100,
        Duration::from_millis(200),
    ));
    let callers: Vec<_> = (0..250i64)
        .map(|i| {
            let c = c.clone();
            tokio::spawn(async move { (i, c.submit(i).await) })
        })
        .collect();
    let mut sizes = Vec::new();
    for caller in callers {
        let (i, outcome) = caller.await.unwrap();
        assert_eq!(outcome.result, Ok(i * 2));
        sizes.push(outcome.batch_size);
    }
    assert_eq!(calls.load(SeqCst), 3, "250 items in batches of at most 100");
    assert_eq!(sizes.iter().filter(|s| **s == 100).count(), 200);
    assert_eq!(sizes.iter().filter(|s| **s == 50).count(), 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lone_item_goes_when_its_window_closes() {
    let (base, calls) = server().await;
    let c = coalescer(format!("{base}/double"), 100, Duration::from_millis(150));
    let began = Instant::now();
    let outcome = c.submit(21).await;
    let took = began.elapsed();
    assert_eq!(outcome.result, Ok(42));
    assert_eq!(outcome.batch_size, 1);
    assert!(
        outcome.waited >= Duration::from_millis(145),
        "{:?}",
        outcome.waited
    );
    assert!(took < Duration::from_millis(600), "{took:?}");
    assert_eq!(calls.load(SeqCst), 1);
    // Idle afterwards: no calls without items.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(calls.load(SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_call_fails_its_items_and_a_short_answer_fails_the_missing() {
    let (base, _) = server().await;
    let failing = Arc::new(coalescer(
        format!("{base}/fail"),
        10,
        Duration::from_millis(50),
    ));
    let both = tokio::join!(failing.call(1), failing.call(2));
    for result in [both.0, both.1] {
        assert_eq!(
            result,
            Err(CoalesceError::Batch(
                "HTTP 500 Internal Server Error".into()
            ))
        );
    }
    let short = Arc::new(coalescer(
        format!("{base}/short"),
        3,
        Duration::from_secs(5),
    ));
    let (a, b, c) = tokio::join!(short.submit(1), short.submit(2), short.submit(3));
    let mut by_position = [a, b, c];
    by_position.sort_by_key(|o| o.position);
    assert!(by_position[..2].iter().all(|o| o.result.is_ok()));
    assert_eq!(
        by_position[2].result,
        Err(CoalesceError::Missing {
            sent: 3,
            got: 2,
            position: 2
        })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_sends_the_open_window_and_waits_for_calls() {
    let (base, calls) = server().await;
    let c = Arc::new(coalescer(
        format!("{base}/double"),
        100,
        Duration::from_secs(30),
    ));
    let waiting: Vec<_> = (1..=3)
        .map(|i| {
            let c = c.clone();
            tokio::spawn(async move { c.call(i).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let began = Instant::now();
    c.shutdown().await;
    assert!(
        began.elapsed() < Duration::from_secs(2),
        "not the 30 s window"
    );
    for (i, w) in waiting.into_iter().enumerate() {
        assert_eq!(w.await.unwrap(), Ok(2 * (i as i64 + 1)));
    }
    assert_eq!(calls.load(SeqCst), 1);
    assert_eq!(
        c.call(4).await,
        Err(CoalesceError::Closed),
        "closed for new items"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_jobs_on_the_mock_answer_like_single_calls() {
    use ratebench::mock::{Knobs, MockServer};
    let mut knobs = Knobs::default();
    knobs.jobs.overhead = Duration::from_millis(50);
    knobs.jobs.per_item = Duration::ZERO;
    let mock = MockServer::start("127.0.0.1:0".parse::<SocketAddr>().unwrap(), knobs)
        .await
        .unwrap();
    let base = mock.base_url();
    let client = Client::builder().no_proxy().build().unwrap();
    let (job_client, job_base) = (client.clone(), base.clone());
    let jobs = Arc::new(AtomicUsize::new(0));
    let counted = jobs.clone();
    let c = Arc::new(Coalescer::new(
        CoalesceConfig {
            max_items: 10,
            window: Duration::from_millis(100),
        },
        move |addresses: Vec<String>| {
            let (client, base, jobs) = (job_client.clone(), job_base.clone(), counted.clone());
            async move {
                jobs.fetch_add(1, SeqCst);
                let started: Value = client
                    .post(format!("{base}/batch/geocode"))
                    .json(&addresses)
                    .send()
                    .await
                    .map_err(|e| e.to_string())?
                    .json()
                    .await
                    .map_err(|e| e.to_string())?;
                let id = started["id"].as_str().ok_or("no job id")?.to_owned();
                // Poll until the job is done.
                for _ in 0..100 {
                    let answer: Value = client
                        .get(format!("{base}/batch/geocode?id={id}"))
                        .send()
                        .await
                        .map_err(|e| e.to_string())?
                        .json()
                        .await
                        .map_err(|e| e.to_string())?;
                    if let Value::Array(results) = answer {
                        return Ok(results);
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err("the job never finished".to_owned())
            }
        },
    ));
    let addresses: Vec<String> = (1..=30).map(|n| format!("{n} Main Street")).collect();
    let answers = futures_util::future::join_all(addresses.iter().map(|a| {
        let c = c.clone();
        let a = a.clone();
        async move { c.call(a).await.unwrap() }
    }))
    .await;
    assert_eq!(jobs.load(SeqCst), 3);
    // Each caller's answer is what /geocode says of its own address.
    for (address, answer) in addresses.iter().zip(&answers) {
        let single: Value = client
            .get(format!("{base}/geocode"))
            .query(&[("text", address)])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(answer, &single, "{address}");
    }
    mock.shutdown().await;
}

// ---- Coalescing from a batch file, through the engine ----------------------------

use crate::common;
use ratebench::batch::{Batch, LoadOptions};
use ratebench::engine::RunConfig;
use ratebench::mock::{Knobs, MockServer, RouteKnobs};
use ratebench::model::{ErrorKind, RequestRecord};

/// A batch of the sample's 1,000 addresses against `base`, coalesced by
/// `coalesce` (a JSON object), at `per_second`.
fn geocode_batch(base: &str, coalesce: &str, per_second: f64) -> Batch {
    let text = format!(
        r#"{{"base_url": "{base}", "per_second": {per_second}, "max_at_once": 20, "retries": 1,
            "coalesce": {coalesce},
            "requests": [{{"name": "geocode", "url": "/geocode",
                          "params": {{"text": "{{{{address}}}}, {{{{city}}}}"}},
                          "for_each": {{"rows": "addresses-1000.csv"}}}}]}}"#
    );
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-batches/test-coalesce.json");
    Batch::parse_str(&text, &path, &LoadOptions::default()).unwrap()
}

const POLLED: &str = r#"{"url": "/batch/geocode", "max_items": 100,
    "result": {"items": "$", "match": "index"},
    "poll": {"when": {"status": "pending"}, "id": "$.id", "url": "/batch/geocode?id={{id}}",
             "interval": "50ms", "timeout": "10s"}}"#;

/// Runs `batch` through the engine, coalesced or not.
async fn run(batch: &Batch, coalesced: bool) -> (Vec<RequestRecord>, Duration) {
    let (records, took, _, _) = run_summary(batch, coalesced).await;
    (records, took)
}

async fn run_summary(
    batch: &Batch,
    coalesced: bool,
) -> (
    Vec<RequestRecord>,
    Duration,
    ratebench::stats::RunSummary,
    u64,
) {
    let settings = &batch.settings;
    let config = RunConfig {
        limits: ratebench::engine::Limits {
            max_at_once: settings.max_at_once.map_or(Some(10), |l| l.get()),
            per_second: settings.per_second.and_then(|l| l.get()),
            burst: 1,
        },
        retries: settings.retries.unwrap_or(0),
        coalesce: settings
            .coalesce
            .clone()
            .filter(|_| coalesced)
            .map(Arc::new),
        ..RunConfig::default()
    };
    let began = Instant::now();
    let (handle, sink) = common::start_batch(batch, config);
    // Watch the live stats: jobs wait for polls while the run goes.
    let mut stats = handle.stats.clone();
    let last = stats.clone();
    let watcher = tokio::spawn(async move {
        let mut most = 0;
        let mut aged = false;
        while stats.changed().await.is_ok() {
            let s = stats.borrow_and_update();
            most = most.max(s.jobs_pending);
            aged |= s.oldest_job.is_some_and(|d| d > Duration::ZERO);
        }
        // A pending job has an age.
        assert_eq!(most > 0, aged);
        most
    });
    let summary = handle.wait().await.unwrap();
    let most_pending = watcher.await.unwrap();
    if coalesced {
        let b = last.borrow().batches.expect("batch figures in the stats");
        assert_eq!(
            b.calls,
            summary
                .totals
                .done
                .div_ceil(b.items_per_call.round() as u64)
        );
    }
    let mut records = sink.records();
    records.sort_by_key(|r| r.index);
    (records, began.elapsed(), summary, most_pending)
}

async fn quick_jobs_mock(batch_route: RouteKnobs) -> MockServer {
    let mut knobs = Knobs::default();
    knobs.jobs.overhead = Duration::from_millis(100);
    knobs.jobs.per_item = Duration::from_millis(1);
    knobs.routes.insert("batch".into(), batch_route);
    MockServer::start("127.0.0.1:0".parse::<SocketAddr>().unwrap(), knobs)
        .await
        .unwrap()
}

use std::path::Path;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_addresses_in_ten_batch_jobs_each_with_its_own_coordinates() {
    let mock = quick_jobs_mock(RouteKnobs::default()).await;
    let batch = geocode_batch(&mock.base_url(), POLLED, 200.0);
    assert_eq!(batch.len(), 1000);
    let (records, coalesced, summary, most_pending) = run_summary(&batch, true).await;
    assert!(most_pending > 0, "the live stats showed jobs pending");
    let stats = mock.stats();
    let batch_route = &stats.routes["batch"];
    assert_eq!(batch_route.get("202"), Some(&10), "exactly 10 batch calls");
    let polls = batch_route.get("200").copied().unwrap_or(0);
    assert!(polls >= 10, "and their polls");
    // The limits counted what the server saw: calls and polls.
    assert_eq!(summary.calls, 10 + polls);
    assert_eq!(summary.totals.done, 1000);
    assert_eq!(records.len(), 1000);
    // Each item's own answer: what /geocode says of its address.
    let client = Client::builder().no_proxy().build().unwrap();
    for r in &records {
        assert!(r.ok, "{r:?}");
        let info = r.batch.as_ref().unwrap();
        assert_eq!(info.size, 100);
        assert!(info.job.is_some() && info.polls >= 1);
        let text = r.result.as_ref().unwrap()["query"]["text"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(
            r.url.contains(&text.replace(' ', "+").replace(',', "%2C")),
            "{r:?}"
        );
        let single: Value = client
            .get(format!("{}/geocode", mock.base_url()))
            .query(&[("text", &text)])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(r.result.as_ref(), Some(&single), "{text}");
    }
    // The same items one by one under the same 200/s: at least 5x slower.
    let (singles, one_by_one) = run(&batch, false).await;
    assert!(singles.iter().all(|r| r.ok && r.batch.is_none()));
    assert!(
        one_by_one >= coalesced * 5,
        "coalesced {coalesced:?}, one by one {one_by_one:?}"
    );
    mock.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_call_answering_500_is_retried_then_its_items_fail() {
    let failing = RouteKnobs {
        error_rate: Some(1.0),
        error_statuses: Some(vec![500]),
        ..RouteKnobs::default()
    };
    let mock = quick_jobs_mock(failing).await;
    let batch = geocode_batch(&mock.base_url(), POLLED, 0.0);
    let (records, _) = run(&batch, true).await;
    assert_eq!(records.len(), 1000);
    assert!(
        records
            .iter()
            .all(|r| !r.ok && r.status == Some(500) && r.attempts == 2)
    );
    assert!(
        records[0].error.as_deref().unwrap().contains("HTTP 500"),
        "{:?}",
        records[0]
    );
    // Ten calls, each tried twice.
    assert_eq!(mock.stats().routes["batch"].get("500"), Some(&20));
    mock.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_that_never_finishes_fails_its_items_at_the_poll_timeout() {
    let mut knobs = Knobs::default();
    knobs.jobs.overhead = Duration::from_secs(60);
    let mock = MockServer::start("127.0.0.1:0".parse::<SocketAddr>().unwrap(), knobs)
        .await
        .unwrap();
    let quick_timeout = POLLED.replace("\"10s\"", "\"400ms\"");
    let batch = geocode_batch(&mock.base_url(), &quick_timeout, 0.0);
    let began = Instant::now();
    let (records, _) = run(&batch, true).await;
    assert!(began.elapsed() < Duration::from_secs(5));
    assert!(
        records
            .iter()
            .all(|r| !r.ok && r.error_kind == Some(ErrorKind::Timeout))
    );
    assert!(
        records[0]
            .error
            .as_deref()
            .unwrap()
            .contains("still pending after 400ms")
    );
    // Each failed item still says which call and which job it was in.
    let info = records[0].batch.as_ref().unwrap();
    assert!(info.job.is_some() && info.polls >= 1, "{info:?}");
    mock.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_answer_fails_exactly_the_missing_items_and_a_lone_item_goes_alone() {
    let (base, calls) = server().await;
    // `/short` drops the last answer of each call.
    // Each item's payload is its JSON body; a template wraps the array.
    let text = format!(
        r#"{{"base_url": "{base}",
            "coalesce": {{"url": "/short", "max_items": 4, "body": {{"template": "{{{{items}}}}"}}}},
            "requests": [{{"url": "/n", "method": "POST", "json": {{"n": "{{{{i}}}}"}},
                           "for_each": {{"i": {{"range": [0, 9]}}}}}}]}}"#
    );
    let batch = Batch::parse_str(&text, Path::new("short.json"), &LoadOptions::default()).unwrap();
    let (records, _) = run(&batch, true).await;
    assert_eq!(records.len(), 9);
    assert_eq!(calls.load(SeqCst), 3, "4 + 4 + a lone 1");
    let failed: Vec<u64> = records.iter().filter(|r| !r.ok).map(|r| r.index).collect();
    // The last of each call: positions 3 and 7, and the lone item 8.
    assert_eq!(failed, [3, 7, 8]);
    assert!(
        records[3]
            .error
            .as_deref()
            .unwrap()
            .contains("3 results for 4 items")
    );
    assert_eq!(records[8].batch.as_ref().unwrap().size, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_per_call_change_while_the_run_goes() {
    let mock = quick_jobs_mock(RouteKnobs::default()).await;
    // 5 calls a second, so the change lands between two calls.
    let batch = geocode_batch(&mock.base_url(), POLLED, 5.0);
    let config = RunConfig {
        limits: ratebench::engine::Limits::new(20, 5.0),
        coalesce: batch.settings.coalesce.clone().map(Arc::new),
        ..RunConfig::default()
    };
    let (handle, sink) = common::start_batch(&batch, config);
    tokio::time::sleep(Duration::from_millis(300)).await;
    handle.send(ratebench::engine::Command::SetMaxItems(300));
    handle.wait().await.unwrap();
    let records = sink.records();
    assert_eq!(records.len(), 1000);
    let sizes: std::collections::BTreeSet<usize> = records
        .iter()
        .map(|r| r.batch.as_ref().unwrap().size)
        .collect();
    assert!(sizes.contains(&100) && sizes.contains(&300), "{sizes:?}");
    assert!(records.iter().all(|r| r.ok));
    mock.shutdown().await;
}
