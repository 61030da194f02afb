//! `ratebench run` as a user runs it: exit codes, files, and what the
//! server saw.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use crate::common;

async fn ratebench(args: Vec<String>) -> Output {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    common::ratebench(&args).await
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_exits_2_names_the_place_and_sends_nothing() {
    let server = common::start().await;
    let dir = tempfile::tempdir().unwrap();
    let base = server.base();
    let cases = [
        (
            "syntax.json",
            "{\n \"requests\": [\"/ok\",]\n}".to_owned(),
            "syntax.json:2:",
        ),
        (
            "unknown.json",
            "{\"requests\": [\"/ok\"], \"rate\": 5}".to_owned(),
            "unknown field `rate`",
        ),
        (
            "env.json",
            format!("[\"{base}/ok?k=${{RATEBENCH_NOT_SET_EVER}}\"]"),
            "`RATEBENCH_NOT_SET_EVER` is not set",
        ),
        (
            "rows.json",
            format!("[{{\"url\": \"{base}/ok\", \"for_each\": {{\"rows\": \"gone.csv\"}}}}]"),
            "does not exist",
        ),
        (
            "late.txt",
            format!("{base}/ok\n{base}/ok\nnot a url at all\n"),
            "late.txt:3:1: entry 2",
        ),
        ("relative.jsonl", "\"/ok\"\n".to_owned(), "needs a base URL"),
    ];
    for (name, text, expected) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let out = ratebench(args(&[
            "run",
            path.to_str().unwrap(),
            "--out",
            dir.path().join("o.jsonl").to_str().unwrap(),
        ]))
        .await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
        assert!(
            stderr.contains(expected),
            "{name}: stderr was {stderr:?}, expected {expected:?}"
        );
    }
    let out = ratebench(args(&["run", "/no/such/batch.json"])).await;
    assert_eq!(out.status.code(), Some(2));
    let out = ratebench(args(&["run", "x.json", "--max-at-once", "lots"])).await;
    assert_eq!(out.status.code(), Some(2), "a usage error is status 2 too");
    assert_eq!(server.seen.count(), 0, "bad input must send nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_successful_run_journals_every_request_and_writes_the_summary() {
    let server = common::start().await;
    let dir = tempfile::tempdir().unwrap();
    let batch = dir.path().join("b.json");
    std::fs::write(
        &batch,
        r#"{"max_at_once": 3, "requests": [{"url": "/ok?i={{i}}", "for_each": {"i": {"range": [0, 25]}}}]}"#,
    )
    .unwrap();
    let out_file = dir.path().join("results.jsonl");
    let summary_file = dir.path().join("summary.json");
    let out = ratebench(args(&[
        "run",
        batch.to_str().unwrap(),
        "--base-url",
        &server.base(),
        "--per-second",
        "200",
        "--out",
        out_file.to_str().unwrap(),
        "--summary-json",
        summary_file.to_str().unwrap(),
    ]))
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("25 (25 ok, 0 failed)"), "{stdout}");
    let peak = server.seen.max_in_flight();
    assert!(
        (1..=3).contains(&peak),
        "the file's max_at_once 3 held: peak {peak}"
    );

    let records = common::records(&out_file);
    assert_eq!(records.len(), 25);
    let sent: BTreeSet<String> = server
        .seen
        .hits()
        .iter()
        .filter_map(|h| h.query.clone())
        .collect();
    let recorded: BTreeSet<String> = records
        .iter()
        .map(|r| r.url.split_once('?').unwrap().1.to_owned())
        .collect();
    assert_eq!(
        sent, recorded,
        "the journal holds exactly the requests sent"
    );

    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary_file).unwrap()).unwrap();
    for key in [
        "total",
        "ok",
        "failed",
        "by_status",
        "by_error",
        "wall_s",
        "achieved_per_s",
        "latency_ms",
        "max_in_flight",
    ] {
        assert!(summary.get(key).is_some(), "summary lacks {key}: {summary}");
    }
    for key in ["p50", "p90", "p99", "p999", "max"] {
        assert!(
            summary["latency_ms"][key].as_f64().unwrap() > 0.0,
            "latency_ms.{key}"
        );
    }
    assert_eq!(summary["total"], 25);
    assert_eq!(summary["by_status"]["200"], 25);
    assert!(summary["max_in_flight"].as_u64().unwrap() <= 3);
    // 25 starts at 200/s: ~120 ms; the rate cannot exceed the limit.
    assert!(
        summary["achieved_per_s"].as_f64().unwrap() <= 215.0,
        "{summary}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_exit_1_and_are_exported_to_csv() {
    let server = common::start().await;
    let dir = tempfile::tempdir().unwrap();
    let batch = dir.path().join("urls.txt");
    std::fs::write(
        &batch,
        format!(
            "{0}/ok\n{0}/status/500\nPOST {0}/status/404\n",
            server.base()
        ),
    )
    .unwrap();
    let csv_path = dir.path().join("out.csv");
    let out = ratebench(args(&[
        "run",
        batch.to_str().unwrap(),
        "--out",
        csv_path.to_str().unwrap(),
        "--quiet",
    ]))
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "--quiet prints nothing");
    let mut reader = csv::Reader::from_path(&csv_path).unwrap();
    let header = reader.headers().unwrap().clone();
    assert_eq!(&header[0], "index");
    let rows: Vec<ratebench::export::CsvRow> = reader.deserialize().map(Result::unwrap).collect();
    let mut statuses: Vec<(u64, Option<u16>, bool)> =
        rows.iter().map(|r| (r.index, r.status, r.ok)).collect();
    statuses.sort();
    assert_eq!(
        statuses,
        [
            (0, Some(200), true),
            (1, Some(500), false),
            (2, Some(404), false)
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_are_redacted_unless_asked() {
    let server = common::start().await;
    let dir = tempfile::tempdir().unwrap();
    let batch = dir.path().join("b.json");
    std::fs::write(
        &batch,
        format!(r#"{{"headers": {{"Authorization": "Bearer ${{RB_TEST_KEY}}"}}, "requests": [["{}/ok", {{"api_key": "${{RB_TEST_KEY}}", "q": "1"}}]]}}"#, server.base()),
    )
    .unwrap();
    let out_file = dir.path().join("r.jsonl");
    let run = |extra: &[&str]| {
        let mut a = args(&[
            "run",
            batch.to_str().unwrap(),
            "--quiet",
            "--out",
            out_file.to_str().unwrap(),
        ]);
        a.extend(args(extra));
        tokio::task::spawn_blocking(move || {
            common::ratebench_command()
                .args(&a)
                .env("RB_TEST_KEY", "hunter2")
                .output()
                .unwrap()
        })
    };
    assert_eq!(run(&[]).await.unwrap().status.code(), Some(0));
    let text = std::fs::read_to_string(&out_file).unwrap();
    assert!(!text.contains("hunter2"), "{text}");
    assert!(text.contains("api_key=REDACTED&q=1"), "{text}");
    let hits = server.seen.hits();
    assert_eq!(
        hits[0].headers["authorization"], "Bearer hunter2",
        "the server still gets the key"
    );
    assert_eq!(hits[0].query.as_deref(), Some("api_key=hunter2&q=1"));
    run(&["--no-redact"]).await.unwrap();
    assert!(
        std::fs::read_to_string(&out_file)
            .unwrap()
            .contains("api_key=hunter2")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_stops_writes_everything_and_exits_130() {
    let server = common::start().await;
    let dir = tempfile::tempdir().unwrap();
    let batch = dir.path().join("b.json");
    std::fs::write(
        &batch,
        r#"[{"url": "/delay/100?i={{i}}", "for_each": {"i": {"range": [0, 1000]}}}]"#,
    )
    .unwrap();
    let out_file = dir.path().join("r.jsonl");
    let child = common::ratebench_command()
        .args([
            "run",
            batch.to_str().unwrap(),
            "--base-url",
            &server.base(),
            "-c",
            "4",
            "--out",
            out_file.to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    common::until("ten requests at the server", || server.seen.count() >= 10).await;
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("stopping"), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("stopped early") && stdout.contains("not sent"),
        "{stdout}"
    );
    let records = common::records(&out_file);
    assert!(
        records.len() >= 10 && records.len() < 1000,
        "{}",
        records.len()
    );
    assert_eq!(
        records.len(),
        server.seen.count(),
        "every request the server saw is in the journal"
    );
    assert!(
        records.iter().all(|r| r.ok),
        "in-flight requests finished within the grace period"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mock_serves_logs_traffic_and_stops_on_ctrl_c() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("s.toml");
    std::fs::write(&scenario, "[routes.geocode]\nrate_limit = \"1/s\"\n").unwrap();
    let mut child = common::ratebench_command()
        .args([
            "mock",
            "--port",
            "0",
            "--latency",
            "5ms",
            "--scenario",
            scenario.to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let banner = lines.next().unwrap().unwrap();
    let base = banner.rsplit(' ').next().unwrap().to_owned();
    assert!(
        banner.starts_with("ratebench mock API listening on http://127.0.0.1:"),
        "{banner}"
    );
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let knobs: serde_json::Value = client
        .get(format!("{base}/__control"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(knobs["global"]["latency"], "5ms");
    assert_eq!(knobs["routes"]["geocode"]["rate_limit"], "1/s,burst=1");
    assert!(
        knobs["routes"].get("inventory").is_some(),
        "a scenario keeps the built-in defaults it does not change"
    );
    let codes = [
        client
            .get(format!("{base}/geocode?text=a"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        client
            .get(format!("{base}/geocode?text=a"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
    ];
    assert_eq!(codes, [200, 429]);
    // The traffic log line comes within about a second.
    let log = tokio::task::spawn_blocking(move || {
        let line = lines
            .find(|l| l.as_ref().is_ok_and(|l| l.contains("req/s")))
            .unwrap()
            .unwrap();
        (line, lines)
    });
    let (line, lines) = tokio::time::timeout(Duration::from_secs(5), log)
        .await
        .unwrap()
        .unwrap();
    assert!(line.contains("429") && line.contains("in flight"), "{line}");
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert_eq!(status.code(), Some(0));
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(
        rest.iter().any(|l| l.starts_with("stopped: 2 requests")),
        "{rest:?}"
    );
}

#[tokio::test]
async fn mock_rejects_bad_knobs_with_status_2() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("bad.toml");
    std::fs::write(&scenario, "[routes.nowhere]\nlatency = \"5ms\"\n").unwrap();
    let out = ratebench(args(&[
        "mock",
        "--port",
        "0",
        "--scenario",
        scenario.to_str().unwrap(),
    ]))
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown route `nowhere`"));
    let out = ratebench(args(&["mock", "--port", "0", "--latency", "whenever"])).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid duration"));
    let out = ratebench(args(&["mock", "--error-rate", "7"])).await;
    assert_eq!(out.status.code(), Some(2));
}

/// `--threads` sizes the runtime: count the process's threads (Linux).
#[tokio::test]
async fn threads_flag_sizes_the_runtime() {
    let count = |threads: &str| {
        let mut child = common::ratebench_command()
            .args(["mock", "--port", "0", "--threads", threads])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.as_mut().unwrap()),
            &mut first,
        )
        .unwrap();
        let tasks = std::fs::read_dir(format!("/proc/{}/task", child.id()))
            .map(|d| d.count())
            .unwrap_or(0);
        child.kill().unwrap();
        child.wait().unwrap();
        tasks
    };
    let (one, four) = tokio::task::spawn_blocking(move || (count("1"), count("4")))
        .await
        .unwrap();
    if one > 0 {
        assert!(
            four >= one + 3,
            "--threads 1: {one} threads, --threads 4: {four}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ramp_and_respect_limits_flags_reach_the_run() {
    let server = common::start().await;
    let dir = tempfile::tempdir().unwrap();
    let batch = dir.path().join("b.txt");
    let lines: String = (0..30).map(|_| server.url("/ok") + "\n").collect();
    std::fs::write(&batch, format!("{}\n{lines}", server.url("/drained"))).unwrap();
    let bad = ratebench(args(&["run", batch.to_str().unwrap(), "--ramp", "fast"])).await;
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("FROM..TO/DURATION"));
    assert_eq!(server.seen.count(), 0);
    // 20/s rising to 40/s over a second, held one second by the server's
    // "none remain, reset in 1 s" on the first answer.
    let out = ratebench(args(&[
        "run",
        batch.to_str().unwrap(),
        "--ramp",
        "20..40/1s",
        "--respect-limits",
        "-c",
        "1",
        "--quiet",
    ]))
    .await;
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let hits = server.seen.hits();
    assert_eq!(hits.len(), 31);
    let held = hits[1].at.duration_since(hits[0].at);
    assert!(held >= Duration::from_millis(950), "held {held:?}");
    // After the hold, the plan's rate (past its first second: 40/s).
    let rest = hits[30].at.duration_since(hits[1].at).as_secs_f64();
    assert!(
        (0.6..1.2).contains(&rest),
        "29 gaps at ~40/s took {rest:.2}s"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_prints_a_recommendation_writes_its_evidence_and_saves_it() {
    use ratebench::mock::{Knobs, MockServer};
    let mut knobs = Knobs::default();
    knobs.global.rate_limit = Some("30/s".parse().unwrap());
    let mock = MockServer::start("127.0.0.1:0".parse().unwrap(), knobs)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let batch = dir.path().join("b.json");
    std::fs::write(
        &batch,
        format!(
            r#"{{"base_url": "{}", "requests": ["/anything/a"]}}"#,
            mock.base_url()
        ),
    )
    .unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"requests\": [\n  {\"url\": 5}]}").unwrap();
    let out = ratebench(args(&["probe", bad.to_str().unwrap()])).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("bad.json:2:"),
        "{out:?}"
    );

    let report = dir.path().join("probe.json");
    let saved = dir.path().join("tuned.json");
    let out = ratebench(args(&[
        "probe",
        batch.to_str().unwrap(),
        "--start",
        "15",
        "--window",
        "2s",
        "--max-time",
        "40s",
        "--summary-json",
        report.to_str().unwrap(),
        "--save",
        saved.to_str().unwrap(),
    ]))
    .await;
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("per_second") && stdout.contains("server says      30/s"),
        "{stdout}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let rate = report["recommendation"]["per_second"].as_f64().unwrap();
    assert!((24.0..=31.0).contains(&rate), "{rate}");
    assert!(report["timeline"].as_array().unwrap().len() >= 3);
    // The saved batch loads with the recommended limits.
    let tuned = ratebench::batch::Batch::load(&saved).unwrap();
    assert_eq!(tuned.settings.per_second.and_then(|l| l.get()), Some(rate));
    assert!(tuned.settings.max_at_once.is_some());
    mock.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_summary_in_markdown_and_rebuilt_from_the_journal() {
    let server = common::start().await;
    let dir = tempfile::tempdir().unwrap();
    let batch = dir.path().join("b.txt");
    let mut lines = String::new();
    for i in 0..20 {
        let path = if i % 5 == 0 { "/status/503" } else { "/ok" };
        lines.push_str(&format!("{}\n", server.url(path)));
    }
    std::fs::write(&batch, lines).unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    let out = ratebench(args(&[
        "run",
        batch.to_str().unwrap(),
        "-r",
        "100",
        "--retries",
        "1",
        "--quiet",
        "--out",
        &path("j.jsonl"),
        "--summary-json",
        &path("live.json"),
        "--summary-md",
        &path("live.md"),
    ]))
    .await;
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let md = std::fs::read_to_string(path("live.md")).unwrap();
    assert!(md.contains("| requests | 20 (16 ok, 4 failed) |"), "{md}");
    assert!(
        md.contains("| per second | 100 |") && md.contains("| retries | 4 |"),
        "{md}"
    );

    let rebuilt = ratebench(args(&[
        "export-summary",
        &path("j.jsonl"),
        "--summary-json",
        &path("rebuilt.json"),
        "--summary-md",
        &path("rebuilt.md"),
    ]))
    .await;
    assert_eq!(rebuilt.status.code(), Some(0), "{rebuilt:?}");
    assert!(String::from_utf8_lossy(&rebuilt.stdout).contains("20 (16 ok, 4 failed)"));
    let read = |name: &str| -> ratebench::stats::RunSummary {
        serde_json::from_str(&std::fs::read_to_string(path(name)).unwrap()).unwrap()
    };
    let (live, again) = (read("live.json"), read("rebuilt.json"));
    assert_eq!(
        (
            again.totals.done,
            again.totals.ok,
            again.totals.failed,
            again.retries
        ),
        (
            live.totals.done,
            live.totals.ok,
            live.totals.failed,
            live.retries
        )
    );
    assert_eq!(again.totals.by_status, live.totals.by_status);
    assert_eq!(
        again.totals.latency, live.totals.latency,
        "the same histogram"
    );
    // About 0.2 s at 100/s, give or take the clocks.
    assert!(
        (again.wall_s - live.wall_s).abs() < 0.1,
        "{} vs {}",
        again.wall_s,
        live.wall_s
    );
    assert!(
        std::fs::read_to_string(path("rebuilt.md"))
            .unwrap()
            .contains("| results |")
    );

    std::fs::write(path("bad.jsonl"), "{\"index\": 1}\n").unwrap();
    let bad = ratebench(args(&["export-summary", &path("bad.jsonl")])).await;
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("line 1"),
        "{bad:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_killed_halfway_resumes_to_exactly_one_result_per_row() {
    let server = common::start().await;
    let dir = tempfile::tempdir().unwrap();
    let batch = dir.path().join("b.txt");
    let lines: String = (0..120)
        .map(|i| server.url(&format!("/ok?i={i}")) + "\n")
        .collect();
    std::fs::write(&batch, lines).unwrap();
    let journal_file = dir.path().join("j.jsonl");
    // 120 rows at 60/s: killed (SIGKILL, no chance to clean up) part-way.
    let mut child = common::ratebench_command()
        .args([
            "run",
            batch.to_str().unwrap(),
            "-r",
            "60",
            "--quiet",
            "--out",
            journal_file.to_str().unwrap(),
        ])
        .spawn()
        .unwrap();
    common::until("ten results in the journal", || {
        common::indices(&journal_file).len() >= 10
    })
    .await;
    child.kill().unwrap();
    child.wait().unwrap();
    let before = common::indices(&journal_file);
    assert!(
        !before.is_empty() && before.len() < 120,
        "{} done",
        before.len()
    );

    let out = ratebench(args(&[
        "run",
        batch.to_str().unwrap(),
        "--resume",
        "--out",
        journal_file.to_str().unwrap(),
    ]))
    .await;
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("resuming:"));
    let after = common::records(&journal_file);
    let indices: BTreeSet<u64> = after.iter().map(|r| r.index).collect();
    assert_eq!(after.len(), 120, "exactly one final record per row");
    assert_eq!(indices, (0..120).collect());
    // The rows done before the kill were not sent again.
    let sent = server.seen.count();
    assert!(sent <= 120 + 2, "{sent} requests for 120 rows");
}

/// The indices in a journal, ignoring a last line cut off mid-write.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_with_retry_failed_sends_the_failures_again() {
    let server = common::start().await;
    let dir = tempfile::tempdir().unwrap();
    let batch = dir.path().join("b.txt");
    // /flaky/KEY fails the first time and succeeds after.
    let lines: String = (0..6)
        .map(|i| {
            let path = if i % 2 == 0 {
                format!("/flaky/k{i}")
            } else {
                "/ok".into()
            };
            server.url(&path) + "\n"
        })
        .collect();
    std::fs::write(&batch, lines).unwrap();
    let journal_file = dir.path().join("j.jsonl");
    let run = |extra: &[&str]| {
        let mut list = vec!["run", batch.to_str().unwrap(), "--quiet", "--out"];
        list.push(journal_file.to_str().unwrap());
        list.extend_from_slice(extra);
        args(&list)
    };
    assert_eq!(ratebench(run(&[])).await.status.code(), Some(1));
    assert_eq!(
        common::records(&journal_file)
            .iter()
            .filter(|r| !r.ok)
            .count(),
        3
    );
    // Resuming alone keeps the failures: nothing to send.
    let out = ratebench(run(&["--resume"])).await;
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(server.seen.count(), 6);
    // With --retry-failed the three go again, and now pass.
    let out = ratebench(run(&["--resume", "--retry-failed"])).await;
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(server.seen.count(), 9);
    let records = common::records(&journal_file);
    assert_eq!(records.len(), 6);
    assert!(records.iter().all(|r| r.ok));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_writes_a_har_with_what_was_sent_and_an_excel_workbook() {
    let server = common::start().await;
    let dir = tempfile::tempdir().unwrap();
    let batch = dir.path().join("b.json");
    std::fs::write(
        &batch,
        format!(
            r#"{{"headers": {{"Authorization": "Bearer s3cret"}},
                "requests": ["{ok}", {{"url": "{echo}", "method": "POST", "json": {{"n": 1}}}}]}}"#,
            ok = server.url("/ok"),
            echo = server.url("/echo")
        ),
    )
    .unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    let out = ratebench(args(&[
        "run",
        batch.to_str().unwrap(),
        "--quiet",
        "--out",
        &path("r.har"),
    ]))
    .await;
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    // The run recorded the request headers for the HAR without --keep-body.
    let har: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path("r.har")).unwrap()).unwrap();
    let entries = har["log"]["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    let post = entries
        .iter()
        .find(|e| e["request"]["method"] == "POST")
        .unwrap();
    let auth = post["request"]["headers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["name"] == "authorization")
        .unwrap();
    assert_eq!(auth["value"], "REDACTED");
    assert_eq!(post["request"]["postData"]["text"], r#"{"n":1}"#);

    let out = ratebench(args(&[
        "run",
        batch.to_str().unwrap(),
        "--quiet",
        "--out",
        &path("r.xlsx"),
    ]))
    .await;
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let bytes = std::fs::read(path("r.xlsx")).unwrap();
    assert_eq!(&bytes[..2], b"PK", "an xlsx is a zip");
    // The journal kept meanwhile is gone once the workbook is written.
    assert!(!Path::new(&path("r.xlsx.jsonl")).exists());

    // `export` writes a journal in any format.
    let out = ratebench(args(&[
        "run",
        batch.to_str().unwrap(),
        "--quiet",
        "--out",
        &path("r.jsonl"),
    ]))
    .await;
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let out = ratebench(args(&[
        "export",
        &path("r.jsonl"),
        "-o",
        &path("again.csv"),
    ]))
    .await;
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("wrote 2 results"));
    assert_eq!(
        std::fs::read_to_string(path("again.csv"))
            .unwrap()
            .lines()
            .count(),
        3
    );
    std::fs::write(path("bad.jsonl"), "{\"index\": 1}\n").unwrap();
    let out = ratebench(args(&[
        "export",
        &path("bad.jsonl"),
        "-o",
        &path("bad.har"),
    ]))
    .await;
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("line 1"),
        "{out:?}"
    );
}
