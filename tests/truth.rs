//! Telling the truth about the server: every attempt's answer counts (a
//! 429 that is retried is the server refusing), the journal alone
//! rebuilds those counts, and the server is named as the binding limit
//! when it refuses. Against the built-in mock's limiter and against one
//! written in the test.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use ratebench::batch::{Batch, LoadOptions};
use ratebench::engine::{self, Binding, Limits, RunConfig};
use ratebench::export::{ExportFormat, MemorySink, summary_from_journal};
use ratebench::mock::{Knobs, Latency, RateLimit};
use ratebench::stats::{Answers, RunSummary, StatsSnapshot};

use crate::common::{self, Rule};

/// `n` GETs of `{base}{path}?id=..` at `rate`, 16 at once, `retries` each,
/// journaled to `journal`; the run's summary, and every snapshot seen.
async fn run_at(
    base: &str,
    path: &str,
    n: u64,
    rate: f64,
    retries: u32,
    journal: &Path,
) -> (RunSummary, Vec<StatsSnapshot>) {
    let text = common::n_requests(base, path, n, "");
    let batch = Batch::parse_str(&text, Path::new("b.json"), &LoadOptions::default()).unwrap();
    let config = RunConfig {
        limits: Limits::new(16, rate),
        retries,
        snapshot_every: Duration::from_millis(50),
        ..RunConfig::default()
    };
    let sink = ratebench::export::create_journal(journal, ExportFormat::Jsonl).unwrap();
    let mut handle = engine::start(batch.requests(), Some(batch.len()), config, sink).unwrap();
    let mut seen = Vec::new();
    while handle.stats.changed().await.is_ok() {
        seen.push(handle.stats.borrow_and_update().clone());
    }
    (handle.wait().await.unwrap(), seen)
}

fn mock_limited_to(per_second: &str) -> Knobs {
    let mut knobs = Knobs {
        routes: BTreeMap::new(),
        ..Knobs::default()
    };
    knobs.global.latency = Some(Latency::Fixed(Duration::from_millis(5)));
    knobs.global.rate_limit = Some(per_second.parse::<RateLimit>().unwrap());
    knobs
}

/// What the live run counted, checked against what the server saw and
/// what the journal rebuilds.
fn check_answers(summary: &RunSummary, journal: &Path, server_refused: u64) {
    let answers: &Answers = &summary.totals.answers;
    assert!(
        answers.status(429) > 0,
        "the server refused some: {answers:?}"
    );
    assert_eq!(
        answers.status(429),
        server_refused,
        "every refusal the server gave was counted"
    );
    assert!(
        answers.status(429) > summary.totals.status(429),
        "retried 429s count as answers, not only final ones: {answers:?} vs {:?}",
        summary.totals.by_status
    );
    assert_eq!(answers.total, summary.totals.done + summary.retries);
    // The journal alone rebuilds the same answers.
    let rebuilt = summary_from_journal(journal).unwrap();
    assert_eq!(&rebuilt.totals.answers, answers);
    // Each record keeps its attempts; the CSV says them in one column.
    let records = common::records(journal);
    let retried = records.iter().find(|r| r.attempts > 1).unwrap();
    assert_eq!(retried.attempts_log.len() as u32, retried.attempts - 1);
    assert!(
        retried.statuses().starts_with("429;"),
        "{}",
        retried.statuses()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retried_429s_are_answers_and_the_journal_rebuilds_them() {
    let mock = common::mock(mock_limited_to("50/s")).await;
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("j.jsonl");
    // Twice the server's limit, with the sample batch's own 5 retries.
    let (summary, seen) = run_at(&mock.base_url(), "/anything", 150, 100.0, 5, &journal).await;
    check_answers(&summary, &journal, mock.stats().count_status(429..430));
    // While it ran, the server was named as the binding limit, with the
    // share it refused.
    let refusing = seen
        .iter()
        .filter(|s| s.binding == Binding::Server && s.refused_share > 0.2)
        .count();
    assert!(
        refusing * 2 > seen.len(),
        "the server binds most of the run: {refusing} of {} snapshots",
        seen.len()
    );
    mock.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_independent_limiter_is_seen_the_same_way() {
    let limiter =
        common::limiter(Rule::Bucket { per_second: 50.0 }, Duration::from_millis(5)).await;
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("j.jsonl");
    let (summary, seen) = run_at(&limiter.base(), "/limited/x", 150, 100.0, 5, &journal).await;
    let refused = limiter.refused.load(std::sync::atomic::Ordering::SeqCst) as u64;
    check_answers(&summary, &journal, refused);
    assert!(
        seen.iter()
            .any(|s| s.binding == Binding::Server && s.refused_share > 0.2),
        "the server was named"
    );
}

/// `n` requests against `{base}/anything` with `respect_limits`, 10 at
/// once, retries 5 and no rate of our own: the achieved rate of answers
/// the server accepted, and the share it refused.
async fn respecting(base: &str, n: u64) -> (f64, f64, RunSummary) {
    let text = common::n_requests(base, "/anything", n, "");
    let batch = Batch::parse_str(&text, Path::new("b.json"), &LoadOptions::default()).unwrap();
    let config = RunConfig {
        limits: Limits::new(10, 0.0),
        retries: 5,
        respect_limits: true,
        ..RunConfig::default()
    };
    let handle = engine::start(
        batch.requests(),
        Some(batch.len()),
        config,
        Box::new(MemorySink::default()),
    )
    .unwrap();
    let summary = handle.wait().await.unwrap();
    let a = &summary.totals.answers;
    let accepted = a.accepted() as f64 / summary.wall_s;
    let refused = a.refused as f64 / a.total as f64;
    (accepted, refused, summary)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn respecting_limits_paces_to_the_advertised_rate_instead_of_stopping() {
    let _turn = crate::common::TIMING.lock().await;
    // The mock's buckets have no burst and say "0 remaining, reset in
    // 1 s" after every request, with a 1 s Retry-After on a refusal:
    // holding on those would stop the run a second at a time.
    for (limit, n) in [(20.0, 100), (50.0, 200)] {
        let mock = common::mock(mock_limited_to(&format!("{limit}/s"))).await;
        let (accepted, refused, summary) = respecting(&mock.base_url(), n).await;
        // 90 % is the release target (bench/respect.sh: 94.9 % and 91.9 %);
        // a debug build beside the other tests paces less evenly (a few
        // early starts refused, the pace stepped down, a refused last
        // request's 1 s Retry-After in the wall time: 76 % seen). The
        // stop-and-go this guards against gave 11 %.
        let least = crate::common::debug_slack(0.9, 0.7);
        assert!(
            accepted >= least * limit,
            "{limit}/s: accepted {accepted:.1}/s: {summary:?}"
        );
        // Under 2 % in release (bench/respect.sh: 0.17 % and 0.92 %); a
        // debug build's late timer sends a few starts back to back.
        let most = crate::common::debug_slack(0.02, 0.05);
        assert!(
            refused < most,
            "{limit}/s: {:.1} % refused",
            refused * 100.0
        );
        assert_eq!(summary.totals.ok, n, "every request done");
        mock.shutdown().await;
    }
}

/// Auto-tune in the workbench on a long batch of `{base}{path}` (asked at
/// 20/s, `retries` each), until it settles: the rate it settled on, and
/// what it said.
async fn autotune_against(base: &str, path: &str, retries: u32) -> (f64, String) {
    use crate::tui::{tui_config, workbench};
    use ratebench::tui::app::Notice;
    use ratebench::tui::{App, Start};
    let settings = format!(r#""max_at_once": 16, "per_second": 20, "retries": {retries}, "#);
    let text = common::n_requests(base, path, 6000, &settings);
    let batch = Batch::parse_str(&text, Path::new("tune.json"), &LoadOptions::default()).unwrap();
    let app = App::new(Start {
        batch: Some(batch),
        limits: Limits::new(16, 20.0),
        // A rate must hold 3 s (not 10) before it is the answer: seconds.
        tune_window: Some(Duration::from_secs(3)),
        ..Start::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let config = tui_config(dir.path().to_path_buf(), None);
    let (app, _, notice) =
        workbench(app, config, (100, 30), async |d| {
            d.char('r');
            d.until("answers", |s| s.done > 0).await;
            d.char('a');
            let settled = d
            .within(Duration::from_secs(60), "auto-tune to settle", |s| {
                matches!(&s.notice, Some(Notice::Info(m)) if m.contains("auto-tune settled"))
            })
            .await;
            d.quit();
            match settled.notice {
                Some(Notice::Info(m)) => m,
                other => panic!("{other:?}"),
            }
        })
        .await;
    (app.limits().per_second.unwrap(), notice)
}

/// Auto-tune against a 50/s bucket (on a runtime of its own, so the
/// test's load does not delay its clock) settles within 10 % of it. A
/// debug build, as `cargo test` makes, paces less evenly beside other
/// tests on two cores and a bucket with no burst refuses more: 15 % here
/// (BENCHMARKS.md has release figures).
fn assert_settled_near_50(what: &str, (rate, said): (f64, String)) {
    let below = common::debug_slack(0.9, 0.85);
    assert!(
        (50.0 * below..=55.0).contains(&rate),
        "{what}: settled on {rate}: {said}"
    );
    assert!(said.contains("answers refused"), "{what}: {said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_tune_settles_near_a_limit_when_refusals_are_final() {
    let _turn = crate::common::TIMING.lock().await;
    let mock = common::apart(|| common::mock(mock_limited_to("50/s")));
    let base = mock.value.base_url();
    assert_settled_near_50("retries 0", autotune_against(&base, "/anything", 0).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_tune_settles_near_a_limit_when_refusals_are_retried() {
    let _turn = crate::common::TIMING.lock().await;
    let mock = common::apart(|| common::mock(mock_limited_to("50/s")));
    let base = mock.value.base_url();
    assert_settled_near_50("retries 5", autotune_against(&base, "/anything", 5).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_tune_settles_near_an_independent_limiters_rate() {
    let _turn = crate::common::TIMING.lock().await;
    let limiter = common::apart(|| {
        common::limiter(Rule::Bucket { per_second: 50.0 }, Duration::from_millis(5))
    });
    let base = limiter.value.base();
    assert_settled_near_50(
        "independent",
        autotune_against(&base, "/limited/x", 5).await,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_workbench_shows_the_refusals_and_names_the_server() {
    use crate::tui::{tui_config, workbench};
    use ratebench::tui::{App, Start};
    // Twice the mock's 50/s, with the sample batch's own 5 retries: almost
    // every refusal is retried, and still the screen says so.
    let mock = common::mock(mock_limited_to("50/s")).await;
    let settings = r#""max_at_once": 16, "per_second": 100, "retries": 5, "#;
    let text = common::n_requests(&mock.base_url(), "/anything", 150, settings);
    let batch = Batch::parse_str(&text, Path::new("b.json"), &LoadOptions::default()).unwrap();
    let app = App::new(Start {
        batch: Some(batch),
        limits: Limits::new(16, 100.0),
        ..Start::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let (_, screen, ()) = workbench(
        app,
        tui_config(
            dir.path().to_path_buf(),
            Some(dir.path().join("runs.jsonl")),
        ),
        (100, 32),
        async |d| {
            d.char('r');
            let said = d
                .until("the server named", |s| {
                    s.limited_by.starts_with("limited by the server:")
                })
                .await
                .limited_by;
            assert!(said.ends_with("% refused"), "{said}");
            // Let it finish, so the last frame is the dashboard unhidden.
            d.within(Duration::from_secs(30), "the run's end", |s| {
                crate::tui::is_done(s, 1)
            })
            .await;
            d.quit();
        },
    )
    .await;
    let row = screen
        .lines()
        .find(|l| l.contains("│429 "))
        .unwrap_or_else(|| panic!("the 429 row in:\n{screen}"));
    // The status panel's row: "429  <answers>  <final>". The batch's own
    // retries (the workbench once ran every batch with none) make most
    // refusals answers that are not final.
    let numbers: Vec<u64> = row[row.find("│429 ").unwrap()..]
        .split_whitespace()
        .skip(1)
        .map_while(|n| n.parse().ok())
        .collect();
    assert!(numbers[0] > 0, "429 answers are shown: {row}");
    assert!(numbers[1] * 2 < numbers[0], "most were retried: {row}");
    mock.shutdown().await;
}
