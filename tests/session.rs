//! The run session both front ends share: a run, a stop then a resume, a
//! re-run of the failures, through the library, the `ratebench` binary
//! and the workbench's loop; and a run started in one front end resumed
//! in the other.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use crossterm::event::KeyCode;
use ratebench::batch::Batch;
use ratebench::engine::{Limits, RunConfig, RunState};
use ratebench::export::ExportFormat;
use ratebench::mock::{Knobs, Latency, MockServer, RouteKnobs};
use ratebench::session::{self, Journal, Plan, Rows, sidecar};

use crate::common;
use crate::tui::{app_with, is_done, tui_config, workbench};

/// The mock answering `/inventory/...` after `latency`, failing a share
/// `error_rate` of them, and a 100-request batch file aimed at it.
async fn mock_and_batch(
    dir: &Path,
    latency: Duration,
    error_rate: Option<f64>,
) -> (MockServer, PathBuf) {
    let mock = common::mock(Knobs {
        routes: BTreeMap::from([(
            "inventory".to_owned(),
            RouteKnobs {
                latency: Some(Latency::Fixed(latency)),
                error_rate,
                ..Default::default()
            },
        )]),
        ..Knobs::default()
    })
    .await;
    let text = common::n_requests(
        &mock.base_url(),
        "/inventory/products",
        100,
        r#""max_at_once": 4, "#,
    );
    let batch = common::batch_file(dir, "inventory.json", &text);
    (mock, batch)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_library_session_journals_marks_and_logs_a_run_and_reruns_its_failures() {
    let dir = tempfile::tempdir().unwrap();
    let (mock, path) = mock_and_batch(dir.path(), Duration::from_millis(1), Some(0.3)).await;
    let batch = Batch::load(&path).unwrap();
    let log = dir.path().join("runs.jsonl");
    let journal = dir.path().join("first.jsonl");
    let run = |journal: &Path, rows: Rows| Plan {
        batch: batch.clone(),
        run: RunConfig {
            limits: Limits::new(8, 0.0),
            ..RunConfig::default()
        },
        journal: Journal::File {
            path: journal.to_path_buf(),
            format: ExportFormat::Jsonl,
        },
        rows,
        runs_log: Some(log.clone()),
        edited: false,
        number_hint: 0,
    };
    let go = async |plan: Plan| {
        let prepared = plan.prepare().unwrap();
        let total = prepared.total();
        let running = prepared.start().unwrap();
        let summary = running.handle.wait().await.unwrap();
        (
            total,
            running
                .finisher
                .finish(&summary, Limits::new(8, 0.0))
                .unwrap(),
        )
    };

    let (total, ended) = go(run(&journal, Rows::All)).await;
    assert_eq!(total, 100);
    assert_eq!(ended.interrupted, None, "it went to the end");
    let (manifest, named) = sidecar::read(&sidecar::path_of(&journal)).unwrap();
    assert_eq!(named, journal);
    assert!(manifest.complete && !manifest.subset);
    assert_eq!(manifest.batch, sidecar::batch_key(&path));
    let mut failed: Vec<u64> = common::records(&journal)
        .iter()
        .filter(|r| !r.ok)
        .map(|r| r.index)
        .collect();
    failed.sort_unstable();
    assert!(!failed.is_empty(), "the mock failed some");

    // The failures again, into a journal of their own.
    let again = dir.path().join("again.jsonl");
    let (total, ended) = go(run(&again, Rows::FailedIn(journal.clone()))).await;
    assert_eq!(total, failed.len() as u64);
    assert_eq!(
        common::indices(&again).into_iter().collect::<Vec<_>>(),
        failed,
        "exactly the failed rows"
    );
    assert!(ended.entry.failed_only);
    let (manifest, _) = sidecar::read(&sidecar::path_of(&again)).unwrap();
    assert!(manifest.subset, "a re-run is never offered as a whole run");
    assert_eq!(mock.stats().requests, 100 + failed.len() as u64);

    // Both runs are in the runs log, each once: the finish line replaced
    // the start line.
    let logged = session::runs_log::load(&log);
    assert_eq!(logged.len(), 2);
    assert!(logged.iter().all(|r| r.is_finished()));
    assert_eq!(
        logged.iter().map(|r| r.failed_only).collect::<Vec<_>>(),
        [false, true]
    );

    // Nothing failed: a re-run is refused before anything is sent.
    let clean = dir.path().join("clean.jsonl");
    std::fs::write(&clean, "").unwrap();
    let refused = run(&dir.path().join("x.jsonl"), Rows::FailedIn(clean)).prepare();
    assert!(refused.is_err_and(|e| e.to_string().contains("nothing failed")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_headless_run_writes_the_sidecar_and_logs_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let (_mock, batch) = mock_and_batch(dir.path(), Duration::from_millis(1), None).await;
    let journal = dir.path().join("out.jsonl");
    let data = dir.path().join("data");
    let out = tokio::task::spawn_blocking({
        let (batch, journal, data) = (batch.clone(), journal.clone(), data.clone());
        move || {
            common::ratebench_command()
                .env("RATEBENCH_DATA_DIR", &data)
                .args(["run", "-q"])
                .arg(&batch)
                .arg("--out")
                .arg(&journal)
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    assert!(out.status.success(), "{out:?}");
    let (manifest, _) = sidecar::read(&sidecar::path_of(&journal)).unwrap();
    assert_eq!(manifest.batch, sidecar::batch_key(&batch));
    assert_eq!(manifest.total, 100);
    assert!(manifest.complete);
    let logged = session::runs_log::load(&data.join("runs.jsonl"));
    assert_eq!(logged.len(), 1);
    assert_eq!(logged[0].results.as_deref(), Some(journal.as_path()));
    assert_eq!(logged[0].summary.as_ref().unwrap().totals.done, 100);
}

/// `r`, `s` part-way, then `R` at once: the rest is sent into the same
/// journal. `edited`: the batch was typed in the workbench (as the demo's
/// is), not opened from its file.
async fn stop_then_resume_with_r(edited: bool) {
    let dir = tempfile::tempdir().unwrap();
    let (mock, path) = mock_and_batch(dir.path(), Duration::from_millis(20), None).await;
    let app = ratebench::tui::App::new(ratebench::tui::Start {
        batch: Some(Batch::load(&path).unwrap()),
        batch_text: edited.then(|| std::fs::read_to_string(&path).unwrap()),
        limits: Limits::new(4, 0.0),
        ..Default::default()
    });
    let config = tui_config(dir.path().join("results"), None);
    let (app, _, ()) = workbench(app, config, (80, 24), async |d| {
        d.char('r');
        common::until("20 answers", || mock.stats().requests >= 20).await;
        d.char('s');
        d.until("the offer to resume the stopped run", |s| {
            is_done(s, 1) && s.resumable
        })
        .await;
        d.char('R');
        d.until("the resumed run's end", |s| is_done(s, 2) && !s.resumable)
            .await;
        d.char('q');
    })
    .await;
    let journal = app.journal().unwrap();
    assert_eq!(common::indices(journal), (0..100).collect());
    assert_eq!(common::records(journal).len(), 100, "one result per row");
    assert_eq!(mock.stats().requests, 100, "nothing sent twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_stopped_in_the_workbench_is_resumed_at_once_with_r() {
    stop_then_resume_with_r(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_run_of_a_batch_typed_in_the_workbench_is_resumed_with_r() {
    stop_then_resume_with_r(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_headless_run_cut_off_is_resumed_in_the_workbench() {
    let dir = tempfile::tempdir().unwrap();
    let (mock, path) = mock_and_batch(dir.path(), Duration::from_millis(20), None).await;
    let journal = dir.path().join("headless.jsonl");
    let data = dir.path().join("data");
    let child = common::ratebench_command()
        .env("RATEBENCH_DATA_DIR", &data)
        .args(["run", "-q", "--grace", "0s"])
        .arg(&path)
        .arg("--out")
        .arg(&journal)
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    common::until("30 answers", || mock.stats().requests >= 30).await;
    let interrupted = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(130), "{out:?}");
    let sent_first = mock.stats().requests;
    assert!(sent_first < 100, "cut off part-way: {sent_first}");
    // What was in flight was cancelled (no grace): those rows go again.
    let kept = common::records(&journal)
        .iter()
        .filter(|r| r.error_kind != Some(ratebench::model::ErrorKind::Cancelled))
        .count() as u64;

    // The workbench finds it through the runs log (its own results folder
    // is elsewhere), and R sends the rest into the same journal.
    let app = app_with(Batch::load(&path).unwrap(), Limits::new(4, 0.0));
    let config = tui_config(dir.path().join("results"), Some(data.join("runs.jsonl")));
    let (app, _, ()) = workbench(app, config, (80, 24), async |d| {
        d.until("the offer to resume the headless run", |s| s.resumable)
            .await;
        d.char('R');
        // The log holds the headless run already: the resumed one is 2nd.
        d.until("the resumed run's end", |s| {
            s.state == RunState::Done && s.runs == 1 && s.logged == 2
        })
        .await;
        d.char('q');
    })
    .await;
    assert_eq!(app.journal(), Some(journal.as_path()));
    assert_eq!(common::indices(&journal), (0..100).collect());
    assert_eq!(common::records(&journal).len(), 100, "one result per row");
    assert_eq!(
        mock.stats().requests,
        sent_first + (100 - kept),
        "only the rows without a result went again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workbench_run_stopped_is_resumed_headless() {
    let dir = tempfile::tempdir().unwrap();
    let (mock, path) = mock_and_batch(dir.path(), Duration::from_millis(20), None).await;
    let app = app_with(Batch::load(&path).unwrap(), Limits::new(4, 0.0));
    let config = tui_config(dir.path().join("results"), None);
    let (app, _, ()) = workbench(app, config, (80, 24), async |d| {
        d.char('r');
        common::until("20 answers", || mock.stats().requests >= 20).await;
        d.char('s');
        d.until("the stopped run's end", |s| is_done(s, 1)).await;
        d.press(KeyCode::Char('q'));
    })
    .await;
    let journal = app.journal().unwrap().to_path_buf();
    let out = common::ratebench(&[
        "run",
        "-q",
        path.to_str().unwrap(),
        "--out",
        journal.to_str().unwrap(),
        "--resume",
    ])
    .await;
    assert!(out.status.success(), "{out:?}");
    assert_eq!(common::indices(&journal), (0..100).collect());
    assert_eq!(common::records(&journal).len(), 100, "one result per row");
    assert_eq!(mock.stats().requests, 100, "nothing sent twice");
    let (manifest, _) = sidecar::read(&sidecar::path_of(&journal)).unwrap();
    assert!(manifest.complete, "the headless resume finished it");
}
