//! The engine against a real server: limits, live changes, retries, stop,
//! faults, and the journal.

use crate::common;

use std::collections::BTreeSet;
use std::time::Duration;

use ratebench::batch::{InvalidRequest, RequestSpec};
use ratebench::engine::{self, Command, Limits, RunConfig, RunHandle};
use ratebench::export::MemorySink;
use ratebench::model::ErrorKind;
use reqwest::{Method, Url};
use tokio::time::{Instant, sleep};

fn requests(
    urls: Vec<String>,
) -> (
    u64,
    impl Iterator<Item = Result<RequestSpec, InvalidRequest>> + Send + 'static,
) {
    let n = urls.len() as u64;
    let iter = urls.into_iter().enumerate().map(|(i, url)| {
        Ok(RequestSpec {
            index: i as u64,
            name: None,
            method: Method::GET,
            url: Url::parse(&url).unwrap(),
            headers: Default::default(),
            body: None,
            timeout: None,
        })
    });
    (n, iter)
}

fn start(urls: Vec<String>, config: RunConfig) -> (RunHandle, MemorySink) {
    let sink = MemorySink::default();
    let (n, iter) = requests(urls);
    let handle = engine::start(iter, Some(n), config, Box::new(sink.clone())).unwrap();
    (handle, sink)
}

fn config(max_at_once: u64, per_second: f64) -> RunConfig {
    RunConfig {
        limits: Limits::new(max_at_once, per_second),
        ..RunConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_started_run_never_reads_idle() {
    // The first snapshot can be taken before the dispatcher's first turn;
    // a front end that believed it would stop steering the run.
    let server = common::start().await;
    let urls = (0..4)
        .map(|i| server.url(&format!("/delay/200?i={i}")))
        .collect();
    let (mut handle, _sink) = start(urls, config(4, 0.0));
    handle.stats.changed().await.unwrap();
    assert_eq!(
        handle.stats.borrow().state,
        ratebench::engine::RunState::Running
    );
    handle.stop();
    handle.wait().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cap_is_never_exceeded_and_is_reached() {
    let server = common::start().await;
    let urls = (0..40)
        .map(|i| server.url(&format!("/delay/50?i={i}")))
        .collect();
    let (handle, sink) = start(urls, config(4, 0.0));
    let summary = handle.wait().await.unwrap();
    assert_eq!(summary.totals.done, 40);
    assert_eq!(summary.totals.ok, 40);
    assert_eq!(server.seen.count(), 40);
    assert_eq!(
        server.seen.max_in_flight(),
        4,
        "server-side peak must equal the cap"
    );
    assert_eq!(summary.max_in_flight, 4);
    let indices: BTreeSet<u64> = sink.records().iter().map(|r| r.index).collect();
    assert_eq!(indices, (0..40).collect());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_cap_change_takes_effect_both_ways() {
    let server = common::start().await;
    let urls = (0..150)
        .map(|i| server.url(&format!("/delay/60?i={i}")))
        .collect();
    let (handle, _sink) = start(urls, config(2, 0.0));
    // Each phase is judged only where its cap surely holds: a cap holds
    // until just before the change is sent, and from a while after it
    // (a request dispatched just before a change may start late on a busy
    // machine, so the margin exceeds one request's 60 ms).
    let t0 = Instant::now();
    sleep(Duration::from_millis(400)).await;
    let before_raise = Instant::now();
    handle.set_limits(Limits::new(8, 0.0));
    let raised = Instant::now();
    sleep(Duration::from_millis(400)).await;
    let before_lower = Instant::now();
    handle.set_limits(Limits::new(3, 0.0));
    let lowered = Instant::now();
    handle.wait().await.unwrap();

    let hits = server.seen.hits();
    let margin = Duration::from_millis(150);
    let phase = |from: Instant, to: Instant| hits.iter().filter(move |h| h.at >= from && h.at < to);
    assert!(
        phase(t0, before_raise).all(|h| h.in_flight <= 2),
        "cap 2 exceeded"
    );
    assert!(
        phase(t0, before_lower).all(|h| h.in_flight <= 8),
        "cap 8 exceeded"
    );
    let peak_raised = phase(raised + Duration::from_millis(30), before_lower)
        .map(|h| h.in_flight)
        .max()
        .unwrap();
    assert_eq!(peak_raised, 8, "the raised cap must be used at once");
    let far = lowered + Duration::from_secs(60);
    let late: Vec<usize> = phase(lowered + margin, far).map(|h| h.in_flight).collect();
    assert!(!late.is_empty());
    assert!(
        late.iter().all(|n| *n <= 3),
        "after lowering to 3: {late:?}"
    );
    assert_eq!(server.seen.count(), 150);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_requests_at_100_per_second_take_about_two_seconds() {
    let server = common::start().await;
    let urls = (0..200)
        .map(|i| server.url(&format!("/ok?i={i}")))
        .collect();
    let t0 = Instant::now();
    let (handle, _sink) = start(urls, config(0, 100.0));
    let summary = handle.wait().await.unwrap();
    let elapsed = t0.elapsed().as_secs_f64();
    assert_eq!(summary.totals.ok, 200);
    // 200 evenly spaced starts: the last one at 1.99 s.
    assert!((1.9..2.6).contains(&elapsed), "took {elapsed:.3} s");
    let hits = server.seen.hits();
    let span = hits
        .last()
        .unwrap()
        .at
        .duration_since(hits[0].at)
        .as_secs_f64();
    assert!(
        (1.9..2.3).contains(&span),
        "server saw starts over {span:.3} s"
    );
    // Evenly spaced: 10 starts per 100 ms; a few more only when a busy
    // machine delays the server, while a real burst would put dozens here.
    for (i, h) in hits.iter().enumerate() {
        let in_window = hits[i..]
            .iter()
            .take_while(|o| o.at.duration_since(h.at) < Duration::from_millis(100))
            .count();
        assert!(in_window <= 14, "burst of {in_window} starts within 100 ms");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_rate_change_takes_effect_without_a_burst() {
    let server = common::start().await;
    let urls = (0..400)
        .map(|i| server.url(&format!("/ok?i={i}")))
        .collect();
    let (handle, _sink) = start(urls, config(0, 10.0));
    sleep(Duration::from_millis(1000)).await;
    let changed = Instant::now();
    handle.set_limits(Limits::new(0, 50.0));
    sleep(Duration::from_millis(1000)).await;
    handle.stop();
    handle.wait().await.unwrap();

    let hits = server.seen.hits();
    let before = hits.iter().filter(|h| h.at < changed).count();
    assert!(
        (10..=12).contains(&before),
        "{before} starts in the first second at 10/s"
    );
    let window = |from: Duration, to: Duration| {
        hits.iter()
            .filter(|h| h.at >= changed + from && h.at < changed + to)
            .count()
    };
    let after = window(Duration::from_millis(100), Duration::from_millis(900));
    assert!(
        (35..=42).contains(&after),
        "{after} starts in 0.8 s at 50/s"
    );
    let first_50ms = window(Duration::ZERO, Duration::from_millis(50));
    assert!(
        first_50ms <= 3,
        "a rate change released a burst of {first_50ms}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_holds_new_starts_and_resume_continues() {
    let server = common::start().await;
    let urls = (0..30).map(|i| server.url(&format!("/ok?i={i}"))).collect();
    let (handle, _sink) = start(urls, config(0, 20.0));
    sleep(Duration::from_millis(300)).await;
    handle.pause();
    let paused = Instant::now();
    sleep(Duration::from_millis(500)).await;
    let resumed = Instant::now();
    handle.resume();
    let summary = handle.wait().await.unwrap();
    assert_eq!(summary.totals.ok, 30);
    let during = server
        .seen
        .hits()
        .iter()
        .filter(|h| h.at > paused + Duration::from_millis(100) && h.at < resumed)
        .count();
    assert_eq!(during, 0, "requests started while paused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_honour_retry_after() {
    let server = common::start().await;
    let urls = vec![server.url("/flaky/a"), server.url("/flaky/b")];
    let (handle, sink) = start(
        urls,
        RunConfig {
            retries: 2,
            ..config(2, 0.0)
        },
    );
    let summary = handle.wait().await.unwrap();
    assert_eq!(summary.totals.ok, 2);
    assert_eq!(summary.retries, 2);
    for record in sink.records() {
        assert_eq!(record.attempts, 2);
        assert_eq!(record.status, Some(200));
    }
    let hits = server.seen.hits();
    for key in ["/flaky/a", "/flaky/b"] {
        let times: Vec<Instant> = hits
            .iter()
            .filter(|h| h.path == key)
            .map(|h| h.at)
            .collect();
        assert_eq!(times.len(), 2);
        let gap = times[1].duration_since(times[0]);
        assert!(
            gap >= Duration::from_millis(990),
            "retried after {gap:?}, Retry-After said 1 s"
        );
        assert!(gap < Duration::from_millis(1500), "retried after {gap:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_retry_holds_no_slot() {
    let server = common::start().await;
    // One slot: while /flaky/a waits out its Retry-After, /ok may go.
    let urls = vec![server.url("/flaky/a"), server.url("/ok")];
    let (handle, _sink) = start(
        urls,
        RunConfig {
            retries: 1,
            ..config(1, 0.0)
        },
    );
    handle.wait().await.unwrap();
    let hits = server.seen.hits();
    let paths: Vec<&str> = hits.iter().map(|h| h.path.as_str()).collect();
    assert_eq!(paths, ["/flaky/a", "/ok", "/flaky/a"]);
    let gap = hits[1].at.duration_since(hits[0].at);
    assert!(
        gap < Duration::from_millis(300),
        "/ok waited {gap:?} behind a retry"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_are_followed_up_to_ten() {
    let server = common::start().await;
    let urls = vec![server.url("/redirect/3"), server.url("/redirect/11")];
    let (handle, sink) = start(urls, config(1, 0.0));
    handle.wait().await.unwrap();
    let mut records = sink.records();
    records.sort_by_key(|r| r.index);
    assert_eq!((records[0].status, records[0].ok), (Some(200), true));
    assert_eq!(
        records[1].error_kind,
        Some(ErrorKind::Redirect),
        "{:?}",
        records[1]
    );
    assert_eq!(
        server.seen.count(),
        4 + 11,
        "3 hops + the final page, then 10 hops + the refused 11th"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_is_spoken_when_asked() {
    let server = common::start().await;
    let (handle, sink) = start(
        vec![server.url("/version")],
        RunConfig {
            http2: true,
            ..config(1, 0.0)
        },
    );
    handle.wait().await.unwrap();
    assert!(sink.records()[0].ok);
    let (handle, _) = start(vec![server.url("/version")], config(1, 0.0));
    handle.wait().await.unwrap();
    let versions: Vec<_> = server.seen.hits().iter().map(|h| h.version).collect();
    assert_eq!(
        versions,
        [reqwest::Version::HTTP_2, reqwest::Version::HTTP_11]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kept_bodies_are_capped() {
    let server = common::start().await;
    let mut spec = requests(vec![server.url("/echo")])
        .1
        .next()
        .unwrap()
        .unwrap();
    spec.method = Method::POST;
    spec.body = Some("0123456789".repeat(10).into());
    let sink = MemorySink::default();
    let config = RunConfig {
        keep_body: Some(16),
        ..config(1, 0.0)
    };
    let handle = engine::start(vec![Ok(spec)], Some(1), config, Box::new(sink.clone())).unwrap();
    handle.wait().await.unwrap();
    let record = &sink.records()[0];
    assert_eq!(record.body.as_deref(), Some("0123456789012345"));
    assert_eq!(record.bytes, 100, "bytes counts the whole body");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exhausted_retries_keep_the_last_answer() {
    let server = common::start().await;
    let (handle, sink) = start(
        vec![server.url("/status/503")],
        RunConfig {
            retries: 2,
            ..config(1, 0.0)
        },
    );
    let summary = handle.wait().await.unwrap();
    assert_eq!(summary.totals.failed, 1);
    assert_eq!(server.seen.count(), 3, "one try and two retries");
    let record = &sink.records()[0];
    assert_eq!(
        (record.status, record.attempts, record.ok),
        (Some(503), 3, false)
    );
    // 404 is not retried.
    let (handle, sink) = start(
        vec![server.url("/status/404")],
        RunConfig {
            retries: 2,
            ..config(1, 0.0)
        },
    );
    handle.wait().await.unwrap();
    assert_eq!(sink.records()[0].attempts, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_cancels_in_flight_after_the_grace_period() {
    let server = common::start().await;
    let urls = (0..10)
        .map(|i| server.url(&format!("/delay/5000?i={i}")))
        .collect();
    let cfg = RunConfig {
        stop_grace: Duration::from_millis(200),
        ..config(3, 0.0)
    };
    let (handle, sink) = start(urls, cfg);
    sleep(Duration::from_millis(150)).await;
    let t0 = Instant::now();
    handle.send(Command::Stop { grace: None });
    let summary = handle.wait().await.unwrap();
    assert!(
        t0.elapsed() < Duration::from_millis(1500),
        "stop took {:?}",
        t0.elapsed()
    );
    assert!(summary.stopped);
    assert_eq!(summary.totals.done, 3);
    assert_eq!(summary.not_sent, 7);
    assert_eq!(summary.totals.by_error.get(&ErrorKind::Cancelled), Some(&3));
    let records = sink.records();
    assert!(
        records
            .iter()
            .all(|r| r.error_kind == Some(ErrorKind::Cancelled) && r.attempts == 1)
    );
    // The journal holds exactly what the server saw.
    let sent: BTreeSet<String> = server
        .seen
        .hits()
        .iter()
        .filter_map(|h| h.query.clone())
        .collect();
    let recorded: BTreeSet<String> = records
        .iter()
        .map(|r| r.url.split('?').nth(1).unwrap().to_owned())
        .collect();
    assert_eq!(sent, recorded);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_faults_are_recorded_results() {
    // A port with nothing listening: bind, note the port, close.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let server = common::start().await;
    let urls = vec![
        format!("http://{closed}/nothing"),
        server.url("/delay/2000"),
        server.url("/ok"),
    ];
    let cfg = RunConfig {
        timeout: Duration::from_millis(200),
        ..config(3, 0.0)
    };
    let (handle, sink) = start(urls, cfg);
    let summary = handle.wait().await.unwrap();
    assert_eq!(
        (
            summary.totals.done,
            summary.totals.ok,
            summary.totals.failed
        ),
        (3, 1, 2)
    );
    let mut records = sink.records();
    records.sort_by_key(|r| r.index);
    assert_eq!(
        records[0].error_kind,
        Some(ErrorKind::Connect),
        "{:?}",
        records[0].error
    );
    assert_eq!(
        records[1].error_kind,
        Some(ErrorKind::Timeout),
        "{:?}",
        records[1].error
    );
    // The root cause first, where a person reads it; the chain after.
    let refused = records[0].error.as_deref().unwrap();
    assert!(
        refused.starts_with("connection refused (127.0.0.1:")
            && refused.contains(" — error sending request"),
        "{refused}"
    );
    assert!(records[2].ok);
    assert_eq!(summary.totals.by_error.get(&ErrorKind::Connect), Some(&1));
    assert_eq!(summary.totals.by_error.get(&ErrorKind::Timeout), Some(&1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_snapshots_flow_and_a_slow_reader_blocks_nothing() {
    let server = common::start().await;
    let urls = (0..50).map(|i| server.url(&format!("/ok?i={i}"))).collect();
    let (mut handle, _sink) = start(urls, config(5, 100.0));
    // Never read `stats` until the end: the run must still finish on time.
    let mut stats = handle.stats.clone();
    let t0 = Instant::now();
    let mut events = Vec::new();
    while let Some(event) = handle.events.recv().await {
        let finished = matches!(event, ratebench::Event::Finished(_));
        events.push(event);
        if finished {
            break;
        }
    }
    assert!(t0.elapsed() < Duration::from_millis(1500));
    assert!(matches!(
        events[0],
        ratebench::Event::Started { total: Some(50) }
    ));
    let snap = stats.borrow_and_update().clone();
    assert_eq!(snap.state, ratebench::engine::RunState::Done);
    assert_eq!(
        (snap.totals.done, snap.totals.ok, snap.started),
        (50, 50, 50)
    );
    assert_eq!(snap.totals.by_status.get(&200), Some(&50));
    assert!(snap.totals.latency.p50 > 0.0);
    assert_eq!(snap.endpoints.len(), 1);
    assert_eq!(
        (snap.endpoints[0].key.as_str(), snap.endpoints[0].count),
        ("GET /ok", 50)
    );
    handle.wait().await.unwrap();
}

/// The gap between the first hit on `first` and the next hit on `next`.
fn gap_after(server: &common::TestServer, first: &str, next: &str) -> Duration {
    let hits = server.seen.hits();
    let at = hits.iter().find(|h| h.path == first).unwrap().at;
    let then = hits
        .iter()
        .filter(|h| h.path == next && h.at >= at)
        .map(|h| h.at)
        .min()
        .unwrap();
    then.duration_since(at)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn respect_limits_holds_every_start_for_a_429s_retry_after() {
    let server = common::start().await;
    let urls = vec![server.url("/flaky/x"), server.url("/ok"), server.url("/ok")];
    let respectful = RunConfig {
        respect_limits: true,
        ..config(1, 0.0)
    };
    let (handle, sink) = start(urls.clone(), respectful);
    let stats = handle.stats.clone();
    let watcher = tokio::spawn(async move {
        // Sample the snapshots during the hold.
        let mut saw_server = false;
        for _ in 0..20 {
            sleep(Duration::from_millis(50)).await;
            saw_server |= stats.borrow().binding == ratebench::engine::Binding::Server;
        }
        saw_server
    });
    let summary = handle.wait().await.unwrap();
    assert_eq!(summary.totals.done, 3);
    let gap = gap_after(&server, "/flaky/x", "/ok");
    assert!(
        gap >= Duration::from_millis(950),
        "held {gap:?}, Retry-After said 1 s"
    );
    assert!(gap < Duration::from_millis(1600), "held {gap:?}");
    assert!(
        watcher.await.unwrap(),
        "the binding showed the server's hold"
    );
    let first = &sink.records()[0];
    assert_eq!(first.status, Some(429));
    let signals = first.rate_limit.expect("signals kept in the record");
    assert_eq!(
        (signals.retry_after_s, signals.remaining),
        (Some(1.0), Some(0))
    );

    // Without it, the next request goes at once.
    let server = common::start().await;
    let urls = vec![server.url("/flaky/x"), server.url("/ok")];
    let (handle, _sink) = start(urls, config(1, 0.0));
    handle.wait().await.unwrap();
    assert!(gap_after(&server, "/flaky/x", "/ok") < Duration::from_millis(500));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn respect_limits_waits_for_the_reset_when_none_remain_and_no_rate_is_said() {
    let server = common::start().await;
    let urls = vec![server.url("/drained"), server.url("/ok")];
    let (handle, sink) = start(
        urls,
        RunConfig {
            respect_limits: true,
            ..config(1, 0.0)
        },
    );
    let stats = handle.stats.clone();
    let summary = handle.wait().await.unwrap();
    assert!(summary.held_by_server_s >= 0.95, "{summary:?}");
    assert!(summary.render_table().contains("held by server"));
    let gap = gap_after(&server, "/drained", "/ok");
    assert!(
        gap >= Duration::from_millis(950),
        "held {gap:?}, the reset was 1 s"
    );
    let signals = sink.records()[0].rate_limit.unwrap();
    assert_eq!(signals.per_second(), None);
    assert_eq!((signals.remaining, signals.reset_s), (Some(0), Some(1.0)));
    let last = stats.borrow().clone();
    assert!(
        last.held_by_server >= Duration::from_millis(950),
        "{:?}",
        last.held_by_server
    );
    assert_eq!(
        last.server,
        Some(signals),
        "the latest signals are in the stats"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn respect_limits_paces_to_a_rate_the_server_says_instead_of_waiting_for_resets() {
    // 10 a second, "none remaining, reset in 1 s" after every request (what
    // a bucket with no burst says): paced a little under 10/s, not a
    // second's stop after each.
    let server = common::start().await;
    let urls = (0..6)
        .map(|i| server.url(&format!("/exhausted?i={i}")))
        .collect();
    let (handle, _sink) = start(
        urls,
        RunConfig {
            respect_limits: true,
            ..config(4, 0.0)
        },
    );
    let summary = handle.wait().await.unwrap();
    assert_eq!(summary.held_by_server_s, 0.0, "{summary:?}");
    let hits = server.seen.hits();
    let gaps: Vec<Duration> = hits.windows(2).map(|w| w[1].at - w[0].at).collect();
    assert!(
        gaps.iter()
            .all(|g| *g >= Duration::from_millis(95) && *g < Duration::from_millis(400)),
        "paced at about 9.5/s: {gaps:?}"
    );
    assert_eq!(summary.max_in_flight, 1, "the first went alone, then paced");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ramp_follows_its_plan() {
    use ratebench::model::Profile;
    let server = common::start().await;
    // 20/s rising to 100/s over 2 s, then 100/s: 120 starts by 2 s, 170 by 2.5 s.
    let profile = Profile::parse_ramp("20..100/2s").unwrap();
    let urls = vec![server.url("/ok"); 170];
    let (handle, _sink) = start(
        urls,
        RunConfig {
            profile: Some(profile.clone()),
            ..config(16, 0.0)
        },
    );
    let summary = handle.wait().await.unwrap();
    assert_eq!(summary.totals.done, 170);
    let hits = server.seen.hits();
    let t0 = hits[0].at;
    for at in [0.5, 1.0, 1.5, 2.0] {
        let by = Duration::from_secs_f64(at);
        let seen = hits.iter().filter(|h| h.at.duration_since(t0) < by).count() as f64;
        let planned = profile.starts_by(by);
        assert!(
            (seen - planned).abs() <= planned * 0.1 + 2.0,
            "by {at}s: {seen} starts, planned {planned:.1}"
        );
    }
    let wall = hits.last().unwrap().at.duration_since(t0).as_secs_f64();
    assert!((2.3..2.9).contains(&wall), "took {wall:.2}s, planned 2.5s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_change_ends_the_plan() {
    use ratebench::model::Profile;
    let server = common::start().await;
    // A plan of 5/s for a minute, taken over at once by 200/s.
    let profile = Profile::stages([(5.0, Duration::from_secs(60))]).unwrap();
    let urls = vec![server.url("/ok"); 60];
    let (handle, _sink) = start(
        urls,
        RunConfig {
            profile: Some(profile),
            ..config(16, 0.0)
        },
    );
    sleep(Duration::from_millis(100)).await;
    handle.send(Command::SetLimits(Limits::new(16, 200.0)));
    let began = Instant::now();
    handle.wait().await.unwrap();
    assert!(
        began.elapsed() < Duration::from_secs(2),
        "60 requests at 200/s, not 5/s: {:?}",
        began.elapsed()
    );
}
