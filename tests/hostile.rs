//! Hostile and broken input (the files in `tests/fixtures/bad/`): each
//! is refused at once with exit 2, a message that says what is wrong, and
//! nothing sent; none hangs or eats the machine. The files are run as a
//! user would run them, by the binary, each bounded in time and memory.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::common;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/bad")
        .join(name)
}

/// Runs `ratebench ARGS` with at most 2 GiB of address space over the
/// usual, killed after 20 s; the exit code and stderr.
async fn bounded(args: Vec<String>) -> (Option<i32>, String, Duration) {
    tokio::task::spawn_blocking(move || {
        let mut command = common::ratebench_command();
        command
            .args(&args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        unsafe {
            command.pre_exec(|| {
                // Address space, not resident memory: the runtime reserves
                // much it never touches.
                let limit = libc::rlimit {
                    rlim_cur: 8 << 30,
                    rlim_max: 8 << 30,
                };
                libc::setrlimit(libc::RLIMIT_AS, &limit);
                Ok(())
            });
        }
        let started = Instant::now();
        let mut child = command.spawn().unwrap();
        loop {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            if started.elapsed() > Duration::from_secs(20) {
                let _ = child.kill();
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let out = child.wait_with_output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
            started.elapsed(),
        )
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_file_is_refused_at_once_and_sends_nothing() {
    let server = common::start().await;
    let cases = [
        (
            "huge-range.json",
            "expands to 1000000000000 requests, more than the limit of 100000000",
        ),
        (
            "cross-product.json",
            "more than the limit of 100000000 (--max-requests raises it)",
        ),
        ("header-only.json", "the batch has no requests"),
        ("rows-folder.json", "is a folder, not a file"),
        ("burst-zero.json", "invalid burst 0"),
        (
            "timeout-zero.json",
            "a timeout of 0 would fail every request",
        ),
        ("rate-tiny.json", "below one start a day"),
        (
            "billion-laughs.http",
            "variable `lol9` expands to more than 1 MB",
        ),
        ("cycle.http", "cycle: a → b → a"),
        ("wrong-shape.postman_collection.json", "item[0].request"),
        ("control-chars.json", "\\u{1b}[2J"),
        ("dev-zero.http", "not a regular file"),
        (
            "long-url.json",
            "more than the 65534 bytes HTTP here accepts",
        ),
    ];
    for (name, expected) in cases {
        let (code, err, took) = bounded(vec![
            "run".into(),
            fixture(name).to_str().unwrap().into(),
            "--base-url".into(),
            server.base(),
            "--quiet".into(),
        ])
        .await;
        assert_eq!(code, Some(2), "{name}: {err}");
        assert!(
            err.contains(expected),
            "{name}: expected {expected:?} in: {err}"
        );
        assert!(
            !err.contains('\u{1b}'),
            "{name}: a raw escape reached the terminal"
        );
        assert!(took < Duration::from_secs(10), "{name}: {took:?}");
    }
    assert_eq!(server.seen.count(), 0, "nothing sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn absurd_flags_are_errors_not_panics() {
    let server = common::start().await;
    let dir = tempfile::tempdir().unwrap();
    let batch = common::batch_file(
        dir.path(),
        "b.json",
        &format!(r#"["{}/ok"]"#, server.base()),
    );
    let b = batch.to_str().unwrap().to_owned();
    let cases: [(&[&str], &str); 4] = [
        (&["-r", "1e-300"], "below one start a day"),
        (
            &["--threads", "100000"],
            "expected 1 to 1024 worker threads",
        ),
        (
            &["--timeout", "0"],
            "a timeout of 0 would fail every request",
        ),
        (&["--burst", "0"], "0 is not in 1.."),
    ];
    for (flags, expected) in cases {
        let mut args = vec!["run".to_owned(), b.clone()];
        args.extend(flags.iter().map(|s| s.to_string()));
        let (code, err, _) = bounded(args).await;
        assert_eq!(code, Some(2), "{flags:?}: {err}");
        assert!(err.contains(expected), "{flags:?}: {err}");
        assert!(!err.contains("panicked"), "{flags:?}: {err}");
    }
    assert_eq!(server.seen.count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rows_fifo_is_named_for_what_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("rows.csv");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let batch = common::batch_file(
        dir.path(),
        "b.json",
        r#"{"requests": [{"url": "http://127.0.0.1:9/x?id={{id}}", "for_each": {"rows": "rows.csv"}}]}"#,
    );
    let (code, err, _) = bounded(vec!["run".into(), batch.to_str().unwrap().into()]).await;
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("is not a regular file (a FIFO"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_byte_order_mark_is_skipped_in_every_input() {
    let server = common::start().await;
    let dir = tempfile::tempdir().unwrap();
    let base = server.base();
    let bom = "\u{feff}";
    std::fs::write(dir.path().join("rows.csv"), format!("{bom}id\n7\n")).unwrap();
    std::fs::write(
        dir.path().join("rows.jsonl"),
        format!("{bom}{{\"id\": 8}}\n"),
    )
    .unwrap();
    let files = [
        ("b.json", format!(r#"{bom}["{base}/ok?f=json"]"#)),
        ("b.jsonl", format!("{bom}\"{base}/ok?f=jsonl\"\n")),
        ("b.txt", format!("{bom}{base}/ok?f=txt\n")),
        ("b.curl", format!("{bom}curl '{base}/ok?f=curl'\n")),
        ("b.http", format!("{bom}GET {base}/ok?f=http\n")),
        (
            "csv.json",
            format!(
                r#"{bom}{{"requests": [{{"url": "{base}/ok?f=csv&id={{{{id}}}}", "for_each": {{"rows": "rows.csv"}}}}]}}"#
            ),
        ),
        (
            "jl.json",
            format!(
                r#"{{"requests": [{{"url": "{base}/ok?f=jl&id={{{{id}}}}", "for_each": {{"rows": "rows.jsonl"}}}}]}}"#
            ),
        ),
        (
            "b.har",
            format!(
                r#"{bom}{{"log": {{"version": "1.2", "creator": {{"name": "t", "version": "1"}}, "entries": [{{"startedDateTime": "2026-01-01T00:00:00Z", "time": 1, "request": {{"method": "GET", "url": "{base}/ok?f=har", "httpVersion": "HTTP/1.1", "cookies": [], "headers": [], "queryString": [], "headersSize": -1, "bodySize": 0}}, "response": {{"status": 200, "statusText": "OK", "httpVersion": "HTTP/1.1", "cookies": [], "headers": [], "content": {{"size": 0, "mimeType": "text/plain"}}, "redirectURL": "", "headersSize": -1, "bodySize": 0}}, "cache": {{}}, "timings": {{"send": 0, "wait": 1, "receive": 0}}}}]}}}}"#
            ),
        ),
        (
            "b.postman_collection.json",
            format!(
                r#"{bom}{{"info": {{"name": "x", "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"}}, "item": [{{"name": "r", "request": {{"method": "GET", "url": "{base}/ok?f=postman"}}}}]}}"#
            ),
        ),
    ];
    for (name, text) in files {
        let path = common::batch_file(dir.path(), name, &text);
        let out = common::ratebench(&["run", path.to_str().unwrap(), "--quiet"]).await;
        assert_eq!(
            out.status.code(),
            Some(0),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut seen: Vec<String> = server
        .seen
        .hits()
        .into_iter()
        .filter_map(|h| h.query)
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            "f=csv&id=7",
            "f=curl",
            "f=har",
            "f=http",
            "f=jl&id=8",
            "f=json",
            "f=jsonl",
            "f=postman",
            "f=txt"
        ]
    );
}
