//! The built-in mock API: every route and knob, the rate-limit headers,
//! the job life cycle, live control, and stats that match what a client
//! sent. Then the engine against every fault the mock can inject.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use ratebench::batch::{Batch, LoadOptions};
use ratebench::engine::{self, Limits, RunConfig};
use ratebench::export::MemorySink;
use ratebench::mock::{Knobs, Latency, MockServer, RateLimit, RouteKnobs};
use ratebench::model::{ErrorKind, RequestRecord};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use tokio::time::Instant;

const LOOPBACK: &str = "127.0.0.1:0";

async fn mock(knobs: Knobs) -> MockServer {
    MockServer::start(LOOPBACK.parse::<SocketAddr>().unwrap(), knobs)
        .await
        .unwrap()
}

/// Default knobs without the 200 ms on /inventory, so tests run fast.
fn quick() -> Knobs {
    Knobs {
        routes: BTreeMap::new(),
        ..Knobs::default()
    }
}

fn client() -> Client {
    Client::builder().no_proxy().build().unwrap()
}

async fn get_json(url: &str) -> (StatusCode, Value) {
    let r = client().get(url).send().await.unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn route(knobs: RouteKnobs, name: &str) -> Knobs {
    Knobs {
        routes: BTreeMap::from([(name.to_owned(), knobs)]),
        ..quick()
    }
}

// ---- Routes ------------------------------------------------------------------

#[tokio::test]
async fn inventory_is_deterministic_and_validates() {
    let m = mock(quick()).await;
    let (status, a) = get_json(&m.url("/inventory/products?id=7")).await;
    assert_eq!(status, 200);
    assert_eq!(a["id"], 7);
    assert!(a["name"].is_string() && a["quantity"].is_u64());
    // "123.00 EUR": a whole number, two decimals, the currency.
    let price = a["price"].as_str().unwrap();
    let amount = price
        .strip_suffix(" EUR")
        .unwrap_or_else(|| panic!("{price}"));
    let (whole, cents) = amount.split_once('.').unwrap_or_else(|| panic!("{price}"));
    assert!(
        whole.parse::<u64>().is_ok() && cents.len() == 2 && cents.parse::<u8>().is_ok(),
        "{price}"
    );
    assert_eq!(
        get_json(&m.url("/inventory/products?id=7")).await.1,
        a,
        "same input, same answer"
    );
    assert_ne!(get_json(&m.url("/inventory/materials?id=7")).await.1, a);
    let (status, body) = get_json(&m.url("/inventory/widgets?id=7")).await;
    assert_eq!(status, 404);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("products or materials")
    );
    assert_eq!(get_json(&m.url("/inventory/products")).await.0, 400);
}

#[tokio::test]
async fn inventory_has_200ms_latency_by_default() {
    let m = mock(Knobs::default()).await;
    let t0 = Instant::now();
    assert_eq!(get_json(&m.url("/inventory/materials?id=1")).await.0, 200);
    assert!(t0.elapsed() >= Duration::from_millis(200));
    let t0 = Instant::now();
    get_json(&m.url("/geocode?text=x")).await;
    assert!(
        t0.elapsed() < Duration::from_millis(150),
        "other routes have no latency"
    );
}

#[tokio::test]
async fn anything_echoes_the_request() {
    let m = mock(quick()).await;
    let r = client()
        .post(m.url("/anything/deep/path?q=1&q2=two"))
        .header("X-Custom", "value")
        .json(&json!({"k": [1, 2]}))
        .send()
        .await
        .unwrap();
    let echo: Value = r.json().await.unwrap();
    assert_eq!(echo["method"], "POST");
    assert_eq!(echo["url"], "/anything/deep/path?q=1&q2=two");
    assert_eq!(echo["args"], json!({"q": "1", "q2": "two"}));
    assert_eq!(echo["headers"]["x-custom"], "value");
    assert_eq!(echo["json"], json!({"k": [1, 2]}));
    let form: Value = client()
        .put(m.url("/anything"))
        .form(&[("a", "1"), ("b", "x y")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(form["form"], json!({"a": "1", "b": "x y"}));
    assert_eq!(form["data"], "a=1&b=x+y");
}

#[tokio::test]
async fn status_delay_bytes_drip_geocode() {
    let m = mock(quick()).await;
    for code in [200, 204, 418, 503] {
        assert_eq!(
            client()
                .get(m.url(&format!("/status/{code}")))
                .send()
                .await
                .unwrap()
                .status(),
            code
        );
    }
    assert_eq!(get_json(&m.url("/status/99")).await.0, 400);
    let t0 = Instant::now();
    assert_eq!(get_json(&m.url("/delay/150")).await.1["delay_ms"], 150);
    assert!(t0.elapsed() >= Duration::from_millis(150));
    let bytes = client()
        .get(m.url("/bytes/200000"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(bytes.len(), 200_000);
    assert_eq!(
        (bytes[0], bytes[1], bytes[251], bytes[199_999]),
        (0, 31, 0, ((199_999u64 % 251) * 31 % 251) as u8)
    );
    assert_eq!(
        get_json(&m.url(&format!("/bytes/{}", (1u64 << 30) + 1)))
            .await
            .0,
        400
    );
    let t0 = Instant::now();
    let drip = client()
        .get(m.url("/drip?bytes=50&duration=300ms"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(drip.len(), 50);
    assert!(
        t0.elapsed() >= Duration::from_millis(280),
        "the body dripped for {:?}",
        t0.elapsed()
    );
    let (status, g) = get_json(&m.url("/geocode?text=1%20Main%20St")).await;
    assert_eq!(status, 200);
    assert_eq!(g["query"]["text"], "1 Main St");
    assert_eq!(get_json(&m.url("/geocode?text=1%20Main%20St")).await.1, g);
    assert_eq!(get_json(&m.url("/geocode")).await.0, 400);
    assert!(
        get_json(&m.url("/")).await.1["routes"]
            .as_array()
            .unwrap()
            .len()
            > 5
    );
}

// ---- Jobs ----------------------------------------------------------------------

#[tokio::test]
async fn batch_job_life_cycle() {
    let mut knobs = quick();
    knobs.jobs.overhead = Duration::from_millis(300);
    knobs.jobs.per_item = Duration::from_millis(1);
    let m = mock(knobs).await;
    let r = client()
        .post(m.url("/batch/geocode"))
        .json(&json!(["1 Main St", "22 Baker St", "x"]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(r.headers()["retry-after"], "1");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], "pending");
    let id = body["id"].as_str().unwrap().to_owned();
    assert_eq!(location, format!("/batch/geocode?id={id}"));
    let (status, pending) = get_json(&m.url(&location)).await;
    assert_eq!(
        (status.as_u16(), pending),
        (200, json!({"status": "pending", "id": id}))
    );
    tokio::time::sleep(Duration::from_millis(320)).await;
    let (status, done) = get_json(&m.url(&location)).await;
    assert_eq!(status, 200);
    let texts: Vec<&str> = done
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["query"]["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        ["1 Main St", "22 Baker St", "x"],
        "results in input order"
    );
    assert_eq!(get_json(&m.url("/batch/geocode?id=nope")).await.0, 404);
    let bad = client()
        .post(m.url("/batch/geocode"))
        .body("{\"not\": \"a list\"}")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    assert_eq!(m.stats().jobs, 1);
}

#[tokio::test]
async fn jobs_expire() {
    let mut knobs = quick();
    knobs.jobs.overhead = Duration::ZERO;
    knobs.jobs.ttl = Duration::from_millis(100);
    let m = mock(knobs).await;
    let body: Value = client()
        .post(m.url("/batch/geocode"))
        .json(&json!(["a"]))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = m.url(&format!(
        "/batch/geocode?id={}",
        body["id"].as_str().unwrap()
    ));
    assert_eq!(get_json(&url).await.0, 200);
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(get_json(&url).await.0, 404);
}

// ---- Knobs ---------------------------------------------------------------------

#[tokio::test]
async fn injected_errors_use_the_configured_codes() {
    let m = mock(route(
        RouteKnobs {
            error_rate: Some(1.0),
            ..Default::default()
        },
        "geocode",
    ))
    .await;
    let mut seen = BTreeMap::new();
    for _ in 0..20 {
        *seen
            .entry(get_json(&m.url("/geocode?text=a")).await.0.as_u16())
            .or_insert(0) += 1;
    }
    assert_eq!(
        seen.keys().copied().collect::<Vec<_>>(),
        [500, 503],
        "{seen:?}"
    );
    assert_eq!(
        get_json(&m.url("/anything")).await.0,
        200,
        "other routes are unaffected"
    );
    let knobs = route(
        RouteKnobs {
            error_rate: Some(1.0),
            error_statuses: Some(vec![502]),
            ..Default::default()
        },
        "geocode",
    );
    m.set_knobs(knobs).unwrap();
    assert_eq!(get_json(&m.url("/geocode?text=a")).await.0, 502);
}

#[tokio::test]
async fn latency_knobs_apply_per_route_and_globally() {
    let mut knobs = route(
        RouteKnobs {
            latency: Some(Latency::Fixed(Duration::from_millis(150))),
            ..Default::default()
        },
        "geocode",
    );
    knobs.global.latency = Some("60ms..80ms".parse().unwrap());
    let m = mock(knobs).await;
    let timed = |path: &'static str| {
        let url = m.url(path);
        async move {
            let t0 = Instant::now();
            client()
                .get(url)
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
            t0.elapsed()
        }
    };
    let geo = timed("/geocode?text=a").await;
    assert!(
        geo >= Duration::from_millis(150) && geo < Duration::from_millis(400),
        "{geo:?}"
    );
    let other = timed("/anything").await;
    assert!(
        other >= Duration::from_millis(60) && other < Duration::from_millis(150),
        "{other:?}"
    );
}

#[tokio::test]
async fn the_concurrency_limit_answers_503() {
    let m = mock(route(
        RouteKnobs {
            max_concurrent: Some(2),
            ..Default::default()
        },
        "delay",
    ))
    .await;
    let calls = (0..6).map(|_| client().get(m.url("/delay/300")).send());
    let statuses: Vec<u16> = futures_util::future::join_all(calls)
        .await
        .into_iter()
        .map(|r| r.unwrap().status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        2,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 503).count(),
        4,
        "{statuses:?}"
    );
}

#[tokio::test]
async fn the_global_concurrency_limit_spans_routes() {
    let mut knobs = quick();
    knobs.global.max_concurrent = Some(3);
    let m = mock(knobs).await;
    let calls = (0..3).map(|_| client().get(m.url("/delay/300")).send());
    let slow = futures_util::future::join_all(calls);
    let probe = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        client()
            .get(m.url("/anything"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    };
    let (slow, probe) = tokio::join!(slow, probe);
    assert!(slow.into_iter().all(|r| r.unwrap().status() == 200));
    assert_eq!(
        probe, 503,
        "a fourth request on another route is over the global limit"
    );
    assert_eq!(
        get_json(&m.url("/anything")).await.0,
        200,
        "and fine once the others are done"
    );
}

#[tokio::test]
async fn rate_limits_answer_429_with_headers() {
    let m = mock(route(
        RouteKnobs {
            rate_limit: Some("2/s,burst=3".parse().unwrap()),
            ..Default::default()
        },
        "geocode",
    ))
    .await;
    let mut answers = Vec::new();
    for _ in 0..5 {
        let r = client().get(m.url("/geocode?text=a")).send().await.unwrap();
        answers.push((r.status().as_u16(), r.headers().clone()));
    }
    let codes: Vec<u16> = answers.iter().map(|(s, _)| *s).collect();
    assert_eq!(codes, [200, 200, 200, 429, 429]);
    let (_, ok) = &answers[0];
    assert_eq!(ok["ratelimit-policy"], "\"default\";q=2;w=1");
    assert_eq!(ok["ratelimit"], "\"default\";r=2;t=0");
    assert_eq!(ok["x-ratelimit-limit"], "2");
    assert_eq!(ok["x-ratelimit-remaining"], "2");
    assert_eq!(ok["x-ratelimit-reset"], "0");
    assert!(!ok.contains_key("retry-after"));
    let (_, limited) = &answers[3];
    assert_eq!(limited["retry-after"], "1");
    assert_eq!(limited["x-ratelimit-remaining"], "0");
    assert_eq!(limited["ratelimit"], "\"default\";r=0;t=1");
    // Other routes are not limited, and carry no headers.
    let free = client().get(m.url("/anything")).send().await.unwrap();
    assert_eq!(free.status(), 200);
    assert!(!free.headers().contains_key("ratelimit"));
    // Tokens come back at the configured rate.
    tokio::time::sleep(Duration::from_millis(510)).await;
    assert_eq!(
        client()
            .get(m.url("/geocode?text=a"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(m.stats().rate_limited, 2);
}

#[tokio::test]
async fn a_global_rate_limit_is_shared_by_all_routes() {
    let mut knobs = quick();
    knobs.global.rate_limit = Some(RateLimit {
        rate: 1.0,
        burst: 2,
        fixed_window: false,
    });
    let m = mock(knobs).await;
    let codes = [
        get_json(&m.url("/anything")).await.0.as_u16(),
        get_json(&m.url("/geocode?text=a")).await.0.as_u16(),
        get_json(&m.url("/status/200")).await.0.as_u16(),
    ];
    assert_eq!(codes, [200, 200, 429]);
}

#[tokio::test]
async fn a_keyed_limit_gives_each_api_key_its_own_bucket() {
    let m = mock(route(
        RouteKnobs {
            rate_limit: Some("1/s,burst=2".parse().unwrap()),
            limit_by: Some("header:X-Api-Key".parse().unwrap()),
            ..Default::default()
        },
        "geocode",
    ))
    .await;
    let send = |key: Option<&'static str>| {
        let mut request = client().get(m.url("/geocode?text=a"));
        if let Some(key) = key {
            request = request.header("X-Api-Key", key);
        }
        async move { request.send().await.unwrap().status().as_u16() }
    };
    let mut codes = Vec::new();
    for key in [Some("alice"), Some("bob"), None] {
        for _ in 0..3 {
            codes.push(send(key).await);
        }
    }
    // Two each (the burst), then 429: alice's, bob's and the keyless
    // callers' buckets apart.
    assert_eq!(codes, [200, 200, 429, 200, 200, 429, 200, 200, 429]);
    // The same through the control API, by the query this time.
    let patch = serde_json::json!({"routes": {"geocode": {"limit_by": "query:key"}}});
    let r = client()
        .put(m.url("/__control"))
        .json(&patch)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    let by_query = |key: &'static str| {
        let request = client().get(m.url(&format!("/geocode?text=a&key={key}")));
        async move { request.send().await.unwrap().status().as_u16() }
    };
    let codes = [
        by_query("k1").await,
        by_query("k1").await,
        by_query("k1").await,
        by_query("k2").await,
    ];
    assert_eq!(codes, [200, 200, 429, 200]);
    let bad = client()
        .put(m.url("/__control"))
        .json(&serde_json::json!({"routes": {"geocode": {"limit_by": "cookie:x"}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
}

#[tokio::test]
async fn control_changes_knobs_live_and_rejects_bad_values() {
    let m = mock(quick()).await;
    let control = m.url("/__control");
    let knobs: Value = client()
        .get(&control)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(knobs["jobs"]["overhead"], "500ms");
    let r = client()
        .put(&control)
        .json(&json!({"routes": {"geocode": {"latency": "120ms", "error_rate": 0}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let t0 = Instant::now();
    get_json(&m.url("/geocode?text=a")).await;
    assert!(
        t0.elapsed() >= Duration::from_millis(120),
        "the new latency applies at once"
    );
    for bad in [
        json!({"global": {"error_rate": 1.5}}),
        json!({"global": {"latency": "soon"}}),
        json!({"routes": {"nowhere": {}}}),
        json!({"global": {"rate_limit": "fast"}}),
        json!({"global": {"max_concurrent": 0}}),
        json!({"colour": "red"}),
        json!([1, 2]),
    ] {
        let r = client().put(&control).json(&bad).send().await.unwrap();
        assert_eq!(r.status(), 400, "{bad}");
        let body: Value = r.json().await.unwrap();
        assert!(!body["error"].as_str().unwrap().is_empty());
    }
    assert_eq!(
        client()
            .put(&control)
            .body("not json")
            .send()
            .await
            .unwrap()
            .status(),
        400
    );
    assert_eq!(
        m.knobs().effective("geocode").latency,
        Some(Latency::Fixed(Duration::from_millis(120))),
        "bad updates change nothing"
    );
    client()
        .put(&control)
        .json(&json!({"routes": {"geocode": null}}))
        .send()
        .await
        .unwrap();
    assert_eq!(m.knobs().effective("geocode").latency, None, "null clears");
}

// ---- Stats ----------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_match_what_the_engine_sent() {
    let m = mock(quick()).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("b.json");
    std::fs::write(
        &path,
        r#"[{"url": "/inventory/{{kind}}?id={{id}}", "for_each": {"kind": ["products", "materials", "widgets"], "id": {"range": [0, 10]}}},
            {"url": "/status/{{code}}", "for_each": {"code": [200, 503, 418]}},
            {"url": "/anything", "method": "POST", "json": {"n": "{{n}}"}, "for_each": {"n": {"range": [0, 7]}}}]"#,
    )
    .unwrap();
    let batch = Batch::load_with(
        &path,
        &LoadOptions {
            base_url: Some(m.base_url()),
            format: None,
            ..Default::default()
        },
    )
    .unwrap();
    let sink = MemorySink::default();
    let config = RunConfig {
        limits: Limits::new(8, 0.0),
        ..RunConfig::default()
    };
    let summary = engine::start(
        batch.requests(),
        Some(batch.len()),
        config,
        Box::new(sink.clone()),
    )
    .unwrap()
    .wait()
    .await
    .unwrap();
    assert_eq!(summary.totals.done, 40);
    let stats = m.stats();
    assert_eq!(stats.requests, 40);
    assert_eq!(
        stats.routes["inventory"],
        BTreeMap::from([("200".to_owned(), 20), ("404".to_owned(), 10)])
    );
    assert_eq!(stats.routes["status"].values().sum::<u64>(), 3);
    assert_eq!(stats.routes["anything"]["200"], 7);
    assert!(stats.max_in_flight <= 8);
    assert_eq!(stats.in_flight, 0);
    // The client's view agrees status by status.
    let mut client_view: BTreeMap<u16, u64> = BTreeMap::new();
    for r in sink.records() {
        *client_view.entry(r.status.unwrap()).or_default() += 1;
    }
    let server_view: u64 = stats.count_status(200..300);
    assert_eq!(
        client_view
            .iter()
            .filter(|(s, _)| (200..300).contains(*s))
            .map(|(_, n)| n)
            .sum::<u64>(),
        server_view
    );
    assert_eq!(
        client()
            .post(m.url("/__stats/reset"))
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    let fresh: Value = client()
        .get(m.url("/__stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(fresh["requests"], 0);
    assert_eq!(fresh["routes"], json!({}));
}

// ---- The engine against every fault --------------------------------------------

async fn run_against(m: &MockServer, paths: &[&str], config: RunConfig) -> Vec<RequestRecord> {
    let text = serde_json::to_string(paths).unwrap();
    let batch = Batch::parse_str(
        &text,
        "faults.json".as_ref(),
        &LoadOptions {
            base_url: Some(m.base_url()),
            format: None,
            ..Default::default()
        },
    )
    .unwrap();
    let sink = MemorySink::default();
    let summary = engine::start(
        batch.requests(),
        Some(batch.len()),
        config,
        Box::new(sink.clone()),
    )
    .unwrap()
    .wait()
    .await
    .unwrap();
    assert_eq!(
        summary.totals.ok + summary.totals.failed,
        summary.totals.done,
        "every request accounted for"
    );
    assert_eq!(summary.totals.done, paths.len() as u64);
    let mut records = sink.records();
    records.sort_by_key(|r| r.index);
    records
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_records_every_fault_class() {
    let mut knobs = quick();
    knobs.routes.insert(
        "anything".into(),
        RouteKnobs {
            close_rate: Some(1.0),
            ..Default::default()
        },
    );
    knobs.routes.insert(
        "geocode".into(),
        RouteKnobs {
            truncate_rate: Some(1.0),
            ..Default::default()
        },
    );
    let m = mock(knobs).await;
    let config = RunConfig {
        limits: Limits::new(4, 0.0),
        timeout: Duration::from_millis(400),
        ..RunConfig::default()
    };
    let records = run_against(
        &m,
        &[
            "/delay/2000",
            "/anything",
            "/geocode?text=a",
            "/drip?bytes=10&duration=3s",
            "/status/503",
            "/status/200",
        ],
        config,
    )
    .await;
    let kinds: Vec<(Option<u16>, Option<ErrorKind>)> =
        records.iter().map(|r| (r.status, r.error_kind)).collect();
    assert_eq!(
        kinds,
        [
            (None, Some(ErrorKind::Timeout)),
            (None, Some(ErrorKind::Reset)),
            (Some(200), Some(ErrorKind::Body)),
            (Some(200), Some(ErrorKind::Timeout)),
            (Some(503), None),
            (Some(200), None),
        ],
        "{records:#?}"
    );
    assert_eq!(m.stats().closed, 1);
    assert_eq!(m.stats().truncated, 1);

    // Nothing listening: a refused connection is a record too.
    let closed = std::net::TcpListener::bind(LOOPBACK)
        .unwrap()
        .local_addr()
        .unwrap();
    let text = format!("[\"http://{closed}/x\"]");
    let batch = Batch::parse_str(&text, "r.json".as_ref(), &LoadOptions::default()).unwrap();
    let sink = MemorySink::default();
    engine::start(
        batch.requests(),
        Some(1),
        RunConfig::default(),
        Box::new(sink.clone()),
    )
    .unwrap()
    .wait()
    .await
    .unwrap();
    assert_eq!(sink.records()[0].error_kind, Some(ErrorKind::Connect));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_honours_the_mocks_429s() {
    let m = mock(route(
        RouteKnobs {
            rate_limit: Some("2/s".parse().unwrap()),
            ..Default::default()
        },
        "geocode",
    ))
    .await;
    let config = RunConfig {
        limits: Limits::new(3, 0.0),
        retries: 3,
        ..RunConfig::default()
    };
    let records = run_against(
        &m,
        &["/geocode?text=a", "/geocode?text=b", "/geocode?text=c"],
        config,
    )
    .await;
    assert!(records.iter().all(|r| r.ok), "{records:#?}");
    assert!(
        records.iter().any(|r| r.attempts > 1),
        "some were retried after a 429"
    );
    assert!(m.stats().rate_limited >= 1);
}

/// Reads this process's peak resident memory (Linux), in MiB.
fn peak_rss_mib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    Some(line.split_whitespace().nth(1)?.parse::<u64>().ok()? / 1024)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_1_gib_answer_keeps_memory_bounded() {
    let m = mock(quick()).await;
    let config = RunConfig {
        keep_body: Some(64 * 1024),
        limits: Limits::new(1, 0.0),
        ..RunConfig::default()
    };
    let records = run_against(&m, &["/bytes/1073741824"], config).await;
    assert!(records[0].ok, "{:?}", records[0].error);
    assert_eq!(records[0].bytes, 1 << 30, "every byte was read");
    // Kept as lossy UTF-8: one character per byte kept.
    assert_eq!(
        records[0].body.as_ref().unwrap().chars().count(),
        64 * 1024,
        "only the cap was kept"
    );
    if let Some(peak) = peak_rss_mib() {
        assert!(peak < 400, "peak RSS {peak} MiB: the body was held");
    }
}

#[tokio::test]
async fn capacity_queues_requests_so_latency_climbs_with_load() {
    let mut knobs = quick();
    knobs.global.capacity = Some(20.0);
    let m = mock(knobs).await;
    // Ten at once against 20 a second.
    let started = Instant::now();
    let calls = (0..10).map(|_| {
        let url = m.url("/status/200");
        async move {
            get_json(&url).await;
            started.elapsed()
        }
    });
    let mut took: Vec<Duration> = futures_util::future::join_all(calls).await;
    took.sort();
    // One every 50 ms: the last answers about 450 ms after the first.
    let spread = took[9] - took[0];
    assert!(
        spread >= Duration::from_millis(400) && spread < Duration::from_millis(800),
        "{took:?}"
    );
    assert_eq!(m.stats().rate_limited, 0, "it slows down, it never refuses");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anything_with_a_trailing_slash_answers_like_httpbin() {
    let m = crate::common::mock(Default::default()).await;
    let status = reqwest::get(m.url("/anything/")).await.unwrap().status();
    assert_eq!(status.as_u16(), 200);
}
