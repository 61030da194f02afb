//! A newcomer's first commands: what they print when things go right and
//! when they go wrong (issue 15's command-line items).

use crate::common;

fn text(out: &std::process::Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_validates_a_batch_and_sends_nothing() {
    let server = common::start().await;
    let dir = tempfile::tempdir().unwrap();
    let base = server.base();
    let good = common::batch_file(
        dir.path(),
        "good.json",
        &format!(
            r#"{{"base_url": "{base}", "headers": {{"X-Key": "${{HOME}}"}}, "requests": [
                {{"url": "/ok?i={{{{i}}}}", "for_each": {{"i": {{"range": [0, 5]}}}}}},
                {{"url": "/echo", "method": "POST", "body": "$${{literal}}"}}
            ]}}"#
        ),
    );
    let out = common::ratebench(&["check", good.to_str().unwrap()]).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stdout.contains("6 requests (JSON); nothing sent"),
        "{stdout}"
    );
    assert!(stdout.contains("5  GET 127.0.0.1"), "{stdout}");
    assert!(stdout.contains("1  POST 127.0.0.1"), "{stdout}");
    assert!(stdout.contains("environment: HOME (read"), "{stdout}");
    assert!(
        !stdout.contains("literal"),
        "an escaped `$${{` is no variable: {stdout}"
    );
    // An imported format goes through the same load.
    let curl = common::batch_file(
        dir.path(),
        "c.curl",
        &format!("curl {base}/ok -H 'Cookie: a=b'\n"),
    );
    let out = common::ratebench(&["check", curl.to_str().unwrap()]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
    assert!(
        text(&out).0.contains("1 requests (curl)"),
        "{}",
        text(&out).0
    );
    // A broken one: the positioned error, exit 2.
    let bad = common::batch_file(dir.path(), "bad.json", "{\n \"requests\": [\"/ok\",]\n}");
    let out = common::ratebench(&["check", bad.to_str().unwrap()]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).1.contains("bad.json:2:"), "{}", text(&out).1);
    assert_eq!(server.seen.count(), 0, "check sends nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mistakes_on_the_command_line_are_named_for_what_they_are() {
    let dir = tempfile::tempdir().unwrap();
    let batch = common::batch_file(dir.path(), "b.json", r#"["http://127.0.0.1:9/x"]"#);
    let b = batch.to_str().unwrap();
    let cases: [(&[&str], &str); 5] = [
        (&["frobnicate"], "`frobnicate` is not a command"),
        (&["rn"], "Did you mean `run`?"),
        (
            &["run", b, "-c", "-5"],
            "expected a whole number or \"unlimited\", got \"-5\"",
        ),
        (
            &["run", b, "--base-url", "foo"],
            "'--base-url <URL>': expected an absolute http(s) URL",
        ),
        (&["run", b, "-r", "-1"], "expected a rate like 5"),
    ];
    for (args, expected) in cases {
        let out = common::ratebench(args).await;
        let (_, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(
            !stderr.contains("cannot read the batch file"),
            "{args:?}: {stderr}"
        );
    }
    let out = common::ratebench(&["probe", "--help"]).await;
    assert!(text(&out).0.contains("[default: 256"), "{}", text(&out).0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_without_out_says_its_results_were_not_kept() {
    let server = common::start().await;
    let dir = tempfile::tempdir().unwrap();
    let batch = common::batch_file(
        dir.path(),
        "b.json",
        &common::n_requests(&server.base(), "/ok", 3, ""),
    );
    let out = common::ratebench(&["run", batch.to_str().unwrap()]).await;
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("per-request results were not kept; add --out"),
        "{stderr}"
    );
    let kept = dir.path().join("r.jsonl");
    let out = common::ratebench(&[
        "run",
        batch.to_str().unwrap(),
        "--out",
        kept.to_str().unwrap(),
    ])
    .await;
    assert!(!text(&out).1.contains("not kept"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_probe_that_finds_no_limit_in_time_says_so_and_fails() {
    let server = common::start().await;
    let dir = tempfile::tempdir().unwrap();
    let batch = common::batch_file(
        dir.path(),
        "b.json",
        &format!(r#"["{}/ok"]"#, server.base()),
    );
    let out = common::ratebench(&[
        "probe",
        batch.to_str().unwrap(),
        "--max-time",
        "3s",
        "--quiet",
    ])
    .await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stderr.contains("no limit found up to"), "{stderr}");
    assert!(!stdout.contains("p50 0.0 ms"), "{stdout}");
}
