//! Results are never lost silently: a results file that cannot be
//! written, a journal of another batch, two writers, signals. Each test
//! runs the binary as a user does, against a server in the test.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Output;

use crate::common;

fn run(args: &[&str]) -> std::process::Command {
    let mut command = common::ratebench_command();
    command.args(args).stdin(std::process::Stdio::null());
    command
}

async fn output(mut command: std::process::Command) -> Output {
    tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The rows a journal holds whole lines for (a cut-off last line is left
/// out, as `--resume` leaves it).
fn whole_rows(journal: &Path) -> Vec<u64> {
    let text = std::fs::read_to_string(journal).unwrap_or_default();
    let whole = match text.rfind('\n') {
        Some(end) => &text[..=end],
        None => "",
    };
    whole
        .lines()
        .map(|l| {
            serde_json::from_str::<ratebench::RequestRecord>(l)
                .unwrap()
                .index
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_results_file_that_cannot_be_written_is_a_loud_failure() {
    let server = common::start().await;
    let dir = tempfile::tempdir().unwrap();
    let batch = common::batch_file(
        dir.path(),
        "b.json",
        &common::n_requests(&server.base(), "/ok", 20, ""),
    );
    // `/dev/full` takes the file's creation and fails every write (ENOSPC).
    let out = output(run(&[
        "run",
        batch.to_str().unwrap(),
        "--out",
        "/dev/full",
        "--format",
        "jsonl",
        "--quiet",
    ]))
    .await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(
        err.contains("cannot write the results to /dev/full"),
        "{err}"
    );
    assert!(
        err.contains("are in no file") && err.contains("--resume"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_stops_the_run_and_resume_sends_only_the_rows_without_a_result() {
    let server = common::start().await;
    let dir = tempfile::tempdir().unwrap();
    let batch = common::batch_file(
        dir.path(),
        "b.json",
        &common::n_requests(&server.base(), "/ok", 300, r#""per_second": 1000, "#),
    );
    let journal = dir.path().join("r.jsonl");
    let (b, j) = (batch.to_str().unwrap(), journal.to_str().unwrap());
    // A disk with room for about 20 KB of results: the process may not
    // grow a file past that (EFBIG), as if the disk were full.
    let mut cut = run(&["run", b, "--out", j, "--quiet"]);
    unsafe {
        cut.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 20_000,
                rlim_max: 20_000,
            };
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = output(cut).await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(err.contains("are in no file"), "{err}");
    let kept = whole_rows(&journal);
    assert!(!kept.is_empty() && kept.len() < 300, "{} kept", kept.len());
    let sent_before = server.seen.count();
    assert!(sent_before < 300, "the run stopped sending: {sent_before}");

    // Space freed: the resume sends exactly the rows without a result.
    let out = output(run(&["run", b, "--out", j, "--resume", "--quiet"])).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(server.seen.count() - sent_before, 300 - kept.len());
    let mut all = whole_rows(&journal);
    all.sort_unstable();
    assert_eq!(all, (0..300).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_refuses_the_journal_of_another_batch() {
    let server = common::start().await;
    let dir = tempfile::tempdir().unwrap();
    let a = common::batch_file(
        dir.path(),
        "a.json",
        &common::n_requests(&server.base(), "/ok", 10, ""),
    );
    let b = common::batch_file(
        dir.path(),
        "b.json",
        &common::n_requests(&server.base(), "/status/201", 10, ""),
    );
    let journal = dir.path().join("a.jsonl");
    let j = journal.to_str().unwrap();
    let out = output(run(&["run", a.to_str().unwrap(), "--out", j, "--quiet"])).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let sent = server.seen.count();

    let out = output(run(&[
        "run",
        b.to_str().unwrap(),
        "--out",
        j,
        "--resume",
        "--quiet",
    ]))
    .await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("is not a journal of this batch"), "{err}");
    assert!(err.contains("a.json") && err.contains("--force"), "{err}");
    assert_eq!(server.seen.count(), sent, "nothing sent");
    assert_eq!(whole_rows(&journal).len(), 10, "the journal untouched");

    // Overridden on purpose: B's rows with a result in A's journal are
    // skipped, as asked.
    let out = output(run(&[
        "run",
        b.to_str().unwrap(),
        "--out",
        j,
        "--resume",
        "--force",
        "--quiet",
    ]))
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(server.seen.count(), sent);

    // A journal without a sidecar cannot say whose it is.
    let bare = dir.path().join("bare.jsonl");
    std::fs::copy(&journal, &bare).unwrap();
    let out = output(run(&[
        "run",
        a.to_str().unwrap(),
        "--out",
        bare.to_str().unwrap(),
        "--resume",
        "--quiet",
    ]))
    .await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("no sidecar"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_journal_has_one_writer() {
    let server = common::start().await;
    let dir = tempfile::tempdir().unwrap();
    let slow = common::batch_file(
        dir.path(),
        "slow.json",
        &common::n_requests(&server.base(), "/delay/100", 200, r#""max_at_once": 2, "#),
    );
    let journal = dir.path().join("r.jsonl");
    let j = journal.to_str().unwrap();
    let mut first = run(&["run", slow.to_str().unwrap(), "--out", j, "--quiet"])
        .spawn()
        .unwrap();
    common::until("the first run's first results", || {
        !whole_rows(&journal).is_empty()
    })
    .await;
    for extra in [&[][..], &["--resume"][..]] {
        let mut args = vec!["run", slow.to_str().unwrap(), "--out", j, "--quiet"];
        args.extend(extra);
        let out = output(run(&args)).await;
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {err}");
        assert!(err.contains("being written by another ratebench"), "{err}");
    }
    first.kill().unwrap();
    first.wait().unwrap();
    // Its writer gone, the journal is free again.
    let out = output(run(&[
        "run",
        slow.to_str().unwrap(),
        "--out",
        j,
        "--resume",
        "-r",
        "0",
        "-c",
        "50",
        "--quiet",
    ]))
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut rows = whole_rows(&journal);
    rows.sort_unstable();
    rows.dedup();
    assert_eq!(rows.len(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_are_never_written_over_an_input_or_through_a_link() {
    let server = common::start().await;
    let dir = tempfile::tempdir().unwrap();
    let rows = common::batch_file(dir.path(), "rows.csv", "id\n1\n2\n");
    let batch = common::batch_file(
        dir.path(),
        "b.json",
        &format!(
            r#"{{"base_url": "{}", "requests": [{{"url": "/ok?id={{{{id}}}}", "for_each": {{"rows": "rows.csv"}}}}]}}"#,
            server.base()
        ),
    );
    let b = batch.to_str().unwrap();
    for (out_path, format) in [(b, "jsonl"), (rows.to_str().unwrap(), "csv")] {
        let out = output(run(&[
            "run", b, "--out", out_path, "--format", format, "--quiet",
        ]))
        .await;
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains("is an input of this batch"), "{err}");
    }
    assert_eq!(std::fs::read_to_string(&rows).unwrap(), "id\n1\n2\n");
    assert_eq!(server.seen.count(), 0);

    // A link planted where the results go is not followed.
    let target = dir.path().join("elsewhere.txt");
    std::fs::write(&target, "keep").unwrap();
    let planted = dir.path().join("planted.jsonl");
    std::os::unix::fs::symlink(&target, &planted).unwrap();
    let out = output(run(&[
        "run",
        b,
        "--out",
        planted.to_str().unwrap(),
        "--quiet",
    ]))
    .await;
    let err = stderr(&out);
    assert_ne!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("symbolic link"), "{err}");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");

    // Results are the owner's alone.
    let mine = dir.path().join("mine.jsonl");
    let out = output(run(&["run", b, "--out", mine.to_str().unwrap(), "--quiet"])).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    use std::os::unix::fs::PermissionsExt;
    for file in [mine.clone(), mine.with_extension("run.json")] {
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", file.display());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_and_sighup_stop_a_run_like_ctrl_c() {
    let server = common::start().await;
    let dir = tempfile::tempdir().unwrap();
    let slow = common::batch_file(
        dir.path(),
        "slow.json",
        &common::n_requests(&server.base(), "/delay/50", 400, r#""max_at_once": 4, "#),
    );
    for (signal, status) in [(libc::SIGTERM, 143), (libc::SIGHUP, 129)] {
        let journal = dir.path().join(format!("r{signal}.jsonl"));
        let child = run(&[
            "run",
            slow.to_str().unwrap(),
            "--out",
            journal.to_str().unwrap(),
            "--quiet",
        ])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
        common::until("some results", || whole_rows(&journal).len() >= 4).await;
        unsafe { libc::kill(child.id() as i32, signal) };
        let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
            .await
            .unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(status), "{err}");
        // Flushed: every line whole, the stopped rows recorded as
        // cancelled, and the rest never sent.
        let records = common::records(&journal);
        assert!(records.len() < 400, "{}", records.len());
        assert!(err.contains("stopping"), "{err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_and_export_summary_take_a_journal_cut_off_mid_line() {
    let server = common::start().await;
    let dir = tempfile::tempdir().unwrap();
    let batch = common::batch_file(
        dir.path(),
        "b.json",
        &common::n_requests(&server.base(), "/ok", 3, ""),
    );
    let journal = dir.path().join("r.jsonl");
    let j = journal.to_str().unwrap();
    let out = output(run(&[
        "run",
        batch.to_str().unwrap(),
        "--out",
        j,
        "--quiet",
    ]))
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // Killed while writing a fourth line.
    let mut text = std::fs::read_to_string(&journal).unwrap();
    text.push_str(r#"{"index":3,"name":null,"meth"#);
    std::fs::write(&journal, text).unwrap();

    let csv = dir.path().join("r.csv");
    let out = output(run(&["export", j, "--out", csv.to_str().unwrap()])).await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("line 4 was cut off"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&csv).unwrap().lines().count(),
        4,
        "a header and 3 rows"
    );

    let summary = dir.path().join("s.json");
    let out = output(run(&[
        "export-summary",
        j,
        "--summary-json",
        summary.to_str().unwrap(),
    ]))
    .await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("line 4 was cut off"), "{err}");
    let s: serde_json::Value = serde_json::from_slice(&std::fs::read(&summary).unwrap()).unwrap();
    assert_eq!(s["total"], 3);
}
