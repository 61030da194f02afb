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

/// A server of its own: `/wait` refuses with `Retry-After: 3600`,
/// `/drained` answers but says none remain for an hour.
async fn stingy_server() -> String {
    use axum::http::{HeaderMap, StatusCode};
    use axum::routing::get;
    let app = axum::Router::new()
        .route(
            "/wait",
            get(|| async {
                let mut h = HeaderMap::new();
                h.insert("retry-after", "3600".parse().unwrap());
                (StatusCode::TOO_MANY_REQUESTS, h, "later")
            }),
        )
        .route(
            "/drained",
            get(|| async {
                let mut h = HeaderMap::new();
                h.insert("x-ratelimit-remaining", "0".parse().unwrap());
                h.insert("x-ratelimit-reset", "3600".parse().unwrap());
                (StatusCode::OK, h, "ok")
            }),
        );
    common::serve(app).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_asking_for_an_hour_fails_the_request_instead_of_hanging() {
    let base = stingy_server().await;
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("r.jsonl");
    let batch = common::batch_file(
        dir.path(),
        "b.json",
        &format!(
            r#"{{"base_url": "{base}", "retries": 3, "max_wait": "5s", "requests": ["/wait"]}}"#
        ),
    );
    let started = std::time::Instant::now();
    let out = output(run(&[
        "run",
        batch.to_str().unwrap(),
        "--out",
        journal.to_str().unwrap(),
        "--quiet",
    ]))
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    let record = &common::records(&journal)[0];
    assert_eq!((record.status, record.attempts), (Some(429), 1));
    assert_eq!(
        record.error.as_deref(),
        Some("server asked to wait 3600 s, more than --max-wait 5 s")
    );
    assert_eq!(
        record.rate_limit.and_then(|l| l.retry_after_s),
        Some(3600.0)
    );

    // Under respect_limits, a reset an hour away holds starts no longer
    // than --max-wait (the flag wins over the file).
    let batch = common::batch_file(
        dir.path(),
        "d.json",
        &format!(r#"{{"base_url": "{base}", "requests": ["/drained", "/drained", "/drained"]}}"#),
    );
    let started = std::time::Instant::now();
    let out = output(run(&[
        "run",
        batch.to_str().unwrap(),
        "--respect-limits",
        "-c",
        "1",
        "--max-wait",
        "500ms",
        "--quiet",
    ]))
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let took = started.elapsed();
    assert!(
        took >= std::time::Duration::from_millis(900) && took < std::time::Duration::from_secs(15),
        "two holds of 0.5 s: {took:?}"
    );
}

// ---- Secrets ------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn urls_in_error_text_and_location_headers_are_redacted() {
    // A TLS hello to a plain-HTTP port: the error names the URL, with its
    // key, and is a `tls` failure, not `connect`.
    let server = common::start().await;
    let dir = tempfile::tempdir().unwrap();
    let plain = server.base().replace("http://", "https://");
    let batch = common::batch_file(
        dir.path(),
        "b.json",
        &format!(
            r#"["{plain}/ok?api_key=SECRET-1", "{}/redirect/1?token=SECRET-2"]"#,
            server.base()
        ),
    );
    let journal = dir.path().join("r.jsonl");
    let csv = dir.path().join("r.csv");
    let out = output(run(&[
        "run",
        batch.to_str().unwrap(),
        "--out",
        journal.to_str().unwrap(),
        "--keep-body",
    ]))
    .await;
    let err = stderr(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let records = common::records(&journal);
    let tls = records.iter().find(|r| r.index == 0).unwrap();
    assert_eq!(
        tls.error_kind,
        Some(ratebench::model::ErrorKind::Tls),
        "{tls:?}"
    );
    assert!(
        tls.error.as_deref().unwrap().contains("api_key=REDACTED"),
        "{tls:?}"
    );
    let out = output(run(&[
        "export",
        journal.to_str().unwrap(),
        "--out",
        csv.to_str().unwrap(),
    ]))
    .await;
    assert_eq!(out.status.code(), Some(0));
    for text in [
        std::fs::read_to_string(&journal).unwrap(),
        std::fs::read_to_string(&csv).unwrap(),
        err,
        stdout.into_owned(),
    ] {
        assert!(
            !text.contains("SECRET-1") && !text.contains("SECRET-2"),
            "{text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_location_header_is_redacted_like_a_url() {
    use axum::http::{HeaderMap, StatusCode};
    let app = axum::Router::new().route(
        "/go",
        axum::routing::get(|| async {
            let mut h = HeaderMap::new();
            h.insert(
                "location",
                "/elsewhere?session=SECRET-3&page=2".parse().unwrap(),
            );
            (StatusCode::CREATED, h, "made")
        }),
    );
    let base = common::serve(app).await;
    let dir = tempfile::tempdir().unwrap();
    let batch = common::batch_file(dir.path(), "b.json", &format!(r#"["{base}/go"]"#));
    let journal = dir.path().join("r.jsonl");
    let out = output(run(&[
        "run",
        batch.to_str().unwrap(),
        "--out",
        journal.to_str().unwrap(),
        "--keep-body",
        "--quiet",
    ]))
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let record = &common::records(&journal)[0];
    assert_eq!(
        record.headers.get("location").map(String::as_str),
        Some("/elsewhere?session=REDACTED&page=2")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imports_drop_recorded_credentials_unless_asked() {
    let dir = tempfile::tempdir().unwrap();
    let har = common::batch_file(
        dir.path(),
        "r.har",
        r#"{"log": {"version": "1.2", "creator": {"name": "t", "version": "1"}, "entries": [{"startedDateTime": "2026-01-01T00:00:00Z", "time": 1, "request": {"method": "GET", "url": "http://127.0.0.1:9/x", "httpVersion": "HTTP/1.1", "cookies": [], "headers": [{"name": "X-Api-Key", "value": "SECRET-4"}, {"name": "Accept", "value": "text/plain"}], "queryString": [], "headersSize": -1, "bodySize": 0}, "response": {"status": 200, "statusText": "OK", "httpVersion": "HTTP/1.1", "cookies": [], "headers": [], "content": {"size": 0, "mimeType": "text/plain"}, "redirectURL": "", "headersSize": -1, "bodySize": 0}, "cache": {}, "timings": {"send": 0, "wait": 1, "receive": 0}}]}}"#,
    );
    let postman = common::batch_file(
        dir.path(),
        "c.postman_collection.json",
        r#"{"info": {"name": "x", "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"}, "item": [{"name": "r", "request": {"method": "GET", "url": "http://127.0.0.1:9/x", "header": [{"key": "Cookie", "value": "sid=SECRET-5"}, {"key": "Accept", "value": "text/plain"}]}}]}"#,
    );
    for (kind, file, secret) in [("har", &har, "SECRET-4"), ("postman", &postman, "SECRET-5")] {
        let out = output(run(&["import", kind, file.to_str().unwrap()])).await;
        let (text, err) = (String::from_utf8_lossy(&out.stdout), stderr(&out));
        assert_eq!(out.status.code(), Some(0), "{kind}: {err}");
        assert!(!text.contains(secret), "{kind}: {text}");
        assert!(
            text.contains("text/plain"),
            "{kind}: other headers kept: {text}"
        );
        assert!(err.contains("--keep-auth"), "{kind}: {err}");
        let out = output(run(&[
            "import",
            kind,
            file.to_str().unwrap(),
            "--keep-auth",
        ]))
        .await;
        assert!(
            String::from_utf8_lossy(&out.stdout).contains(secret),
            "{kind}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mock_asks_a_token_for_control_beyond_loopback() {
    let mock = ratebench::mock::MockServer::start("0.0.0.0:0".parse().unwrap(), Default::default())
        .await
        .unwrap();
    let token = mock
        .control_token()
        .expect("a token beyond loopback")
        .to_owned();
    let base = format!("http://127.0.0.1:{}", mock.addr.port());
    let get = |path: &str, token: Option<&str>| {
        let url = format!("{base}{path}");
        let token = token.map(str::to_owned);
        async move {
            let mut request = reqwest::Client::new().put(url).body("{}");
            if let Some(t) = token {
                request = request.header(ratebench::mock::TOKEN_HEADER, t);
            }
            request.send().await.unwrap().status().as_u16()
        }
    };
    assert_eq!(get("/__control", None).await, 401);
    assert_eq!(get("/__control", Some("wrong")).await, 401);
    assert_eq!(get("/__control", Some(&token)).await, 200);
    let ok = reqwest::get(format!("{base}/anything"))
        .await
        .unwrap()
        .status();
    assert_eq!(ok.as_u16(), 200, "the API itself needs no token");
    mock.shutdown().await;

    let local = common::mock(Default::default()).await;
    assert!(local.control_token().is_none());
    let url = format!("{}/__control", local.base_url());
    let status = reqwest::Client::new()
        .put(url)
        .body("{}")
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status.as_u16(), 200, "loopback stays open");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_workbench_results_folder_is_private_and_ones_own() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("results");
    let journal = ratebench::session::Journal::In(folder.clone());
    let batch = ratebench::batch::Batch::parse_str(
        r#"["http://127.0.0.1:9/x"]"#,
        &dir.path().join("b.json"),
        &Default::default(),
    )
    .unwrap();
    let plan = |journal: ratebench::session::Journal| ratebench::session::Plan {
        batch: batch.clone(),
        run: Default::default(),
        journal,
        rows: ratebench::session::Rows::All,
        runs_log: None,
        edited: false,
        number_hint: 1,
    };
    let prepared = plan(journal).prepare().unwrap();
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&folder), 0o700);
    assert_eq!(mode(prepared.journal().unwrap()), 0o600);
    drop(prepared);

    // A link planted where the folder should be is refused.
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let planted = dir.path().join("planted");
    std::os::unix::fs::symlink(&elsewhere, &planted).unwrap();
    let Err(e) = plan(ratebench::session::Journal::In(planted)).prepare() else {
        panic!("a planted link is refused");
    };
    assert!(e.to_string().contains("symbolic link"), "{e}");

    // A folder of another user's (as root, the test can make one).
    let theirs = dir.path().join("theirs");
    std::fs::create_dir(&theirs).unwrap();
    let c = std::ffi::CString::new(theirs.to_str().unwrap()).unwrap();
    if unsafe { libc::chown(c.as_ptr(), 65534, 65534) } == 0 {
        let Err(e) = plan(ratebench::session::Journal::In(theirs)).prepare() else {
            panic!("another user's folder is refused");
        };
        assert!(e.to_string().contains("belongs to another user"), "{e}");
    }
}
