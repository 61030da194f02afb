//! Batch files: every form loads, and every class of mistake gives a clear
//! error with its position, before anything could be sent.

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use ratebench::batch::{Batch, BatchError, Format, LoadOptions};

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-batches")
}

fn load_str(name: &str, text: &str) -> Result<Batch, BatchError> {
    Batch::parse_str(text, &samples().join(name), &LoadOptions::default())
}

fn err(name: &str, text: &str) -> BatchError {
    load_str(name, text).expect_err("the batch should be rejected")
}

fn urls(batch: &Batch) -> Vec<String> {
    batch
        .requests()
        .map(|r| r.unwrap().url.to_string())
        .collect()
}

// ---- Every form loads ----------------------------------------------------

#[test]
fn sample_inventory_expands_to_100_in_order() {
    let batch = Batch::load(samples().join("inventory.json")).unwrap();
    assert_eq!(batch.format, Format::Json);
    assert_eq!(batch.len(), 100);
    assert_eq!(batch.settings.max_at_once.and_then(|l| l.get()), Some(10));
    assert_eq!(batch.settings.per_second.and_then(|l| l.get()), Some(20.0));
    assert_eq!(batch.settings.retries, Some(2));
    assert_eq!(
        batch.settings.timeout,
        Some(std::time::Duration::from_secs(10))
    );
    let all = urls(&batch);
    assert_eq!(all[0], "http://127.0.0.1:3000/inventory/materials?id=0");
    assert_eq!(all[49], "http://127.0.0.1:3000/inventory/materials?id=49");
    assert_eq!(all[50], "http://127.0.0.1:3000/inventory/products?id=0");
    let first = batch.requests().next().unwrap().unwrap();
    assert_eq!(first.headers["accept"], "application/json");
    assert_eq!(first.name.as_deref(), Some("inventory"));
    let indices: Vec<u64> = batch.requests().map(|r| r.unwrap().index).collect();
    assert_eq!(indices, (0..100).collect::<Vec<_>>());
}

#[test]
fn sample_mixed_takes_the_three_python_entry_shapes() {
    let batch = Batch::load_with(
        samples().join("mixed.json"),
        &LoadOptions {
            base_url: Some("http://h:1/api".into()),
            format: None,
            ..Default::default()
        },
    )
    .unwrap();
    let reqs: Vec<_> = batch.requests().map(Result::unwrap).collect();
    assert_eq!(reqs.len(), 5);
    assert_eq!(reqs[0].url.as_str(), "http://h:1/api/anything");
    assert_eq!(reqs[1].url.as_str(), "http://h:1/api/anything?query=test");
    let post = &reqs[2];
    assert_eq!(post.method, reqwest::Method::POST);
    assert_eq!(post.url.as_str(), "http://h:1/api/anything?name=Test");
    assert_eq!(post.headers["x-custom"], "value");
    assert_eq!(post.headers["content-type"], "application/json");
    assert_eq!(post.body_bytes(), Some(&br#"{"key":"value"}"#[..]));
    let form = &reqs[3];
    assert_eq!(form.body_bytes(), Some(&b"field=value&tags=a&tags=b"[..]));
    assert_eq!(
        form.headers["content-type"],
        "application/x-www-form-urlencoded"
    );
    assert_eq!(form.name.as_deref(), Some("form post"));
    let raw = &reqs[4];
    assert_eq!(
        (raw.method.as_str(), raw.body_bytes()),
        ("PUT", Some(&b"plain text body"[..]))
    );
    assert_eq!(raw.timeout, Some(std::time::Duration::from_secs(5)));
}

#[test]
fn sample_jsonl_and_text() {
    let opts = LoadOptions {
        base_url: Some("http://h".into()),
        format: None,
        ..Default::default()
    };
    let jsonl = Batch::load_with(samples().join("requests.jsonl"), &opts).unwrap();
    assert_eq!(jsonl.format, Format::JsonLines);
    assert_eq!(jsonl.len(), 3 + 5);
    assert_eq!(urls(&jsonl)[1], "http://h/anything/2?page=2");
    assert_eq!(urls(&jsonl)[7], "http://h/anything/18");
    let text = Batch::load(samples().join("urls.txt")).unwrap();
    assert_eq!(text.format, Format::Text);
    let reqs: Vec<_> = text.requests().map(Result::unwrap).collect();
    assert_eq!(reqs.len(), 4);
    assert_eq!(reqs[2].method, reqwest::Method::POST);
    assert_eq!(reqs[3].url.as_str(), "http://127.0.0.1:3000/status/503");
}

#[test]
fn rows_from_csv_and_jsonl_files() {
    let geo = Batch::load(samples().join("geocode.json")).unwrap();
    assert_eq!(geo.len(), 4);
    assert_eq!(
        urls(&geo)[1],
        "http://127.0.0.1:3000/geocode?text=22+Baker+Street%2C+London"
    );
    let users = Batch::load(samples().join("users.json")).unwrap();
    assert_eq!(users.len(), 6, "3 rows x 2 regions");
    let first = users.requests().next().unwrap().unwrap();
    assert_eq!(first.url.path(), "/anything/users/ada");
    let body: serde_json::Value = serde_json::from_slice(first.body_bytes().unwrap()).unwrap();
    assert_eq!(body, serde_json::json!({"role": "admin", "region": "eu"}));
}

#[test]
fn env_variables_fill_secrets_and_unset_ones_are_named() {
    // Safety: this test binary sets this variable in this test only.
    unsafe { std::env::set_var("RATEBENCH_API_KEY", "k-123") };
    let batch = Batch::load(samples().join("with-api-key.json")).unwrap();
    let req = batch.requests().next().unwrap().unwrap();
    assert_eq!(req.headers["authorization"], "Bearer k-123");
    assert_eq!(req.url.query(), Some("api_key=k-123&q=cats"));
    let e = err(
        "x.json",
        r#"{"headers": {"X-Key": "${RATEBENCH_SURELY_UNSET}"}, "requests": ["http://h/"]}"#,
    );
    assert!(
        e.message.contains("`RATEBENCH_SURELY_UNSET` is not set"),
        "{e}"
    );
    assert_eq!(e.field.as_deref(), Some("headers"));
}

#[test]
fn content_decides_when_the_extension_says_nothing() {
    assert_eq!(Format::sniff("[\"/a\"]"), Format::Json);
    assert_eq!(Format::sniff("{\n \"requests\": []\n}"), Format::Json);
    assert_eq!(
        Format::sniff("{\"url\": \"/a\"}\n{\"url\": \"/b\"}\n"),
        Format::JsonLines
    );
    assert_eq!(Format::sniff("http://h/a\nhttp://h/b"), Format::Text);
    let b = load_str("batch", "{\"url\": \"http://h/a\"}\n\"http://h/b\"\n").unwrap();
    assert_eq!((b.format, b.len()), (Format::JsonLines, 2));
}

#[test]
fn expansion_is_lazy() {
    // 100,000 requests from a few bytes of batch: counted at load, then
    // produced one at a time (the 1,000,000-request memory figure is in
    // BENCHMARKS.md; debug builds are too slow for it here).
    let b = load_str(
        "big.json",
        r#"[{"url": "http://h/{{i}}", "for_each": {"i": {"range": [0, 100000]}}}]"#,
    )
    .unwrap();
    assert_eq!(b.len(), 100_000);
    let mut requests = b.requests();
    assert_eq!(requests.next().unwrap().unwrap().url.path(), "/0");
    let last = requests.nth(99_998).unwrap().unwrap();
    assert_eq!((last.index, last.url.path()), (99_999, "/99999"));
    assert!(requests.next().is_none());
}

// ---- Every class of mistake ------------------------------------------------

#[test]
fn json_syntax_error_has_line_and_column() {
    let e = err("b.json", "{\n  \"requests\": [\n    \"/a\",\n  ]\n}");
    assert_eq!((e.line, e.column), (Some(4), Some(3)), "{e}");
    assert!(e.message.contains("trailing comma"), "{e}");
    assert!(
        e.to_string()
            .starts_with(&format!("{}:4:3: ", samples().join("b.json").display()))
    );
}

#[test]
fn unknown_keys_list_the_known_ones() {
    let e = err(
        "b.json",
        "{\"requests\": [\"http://h/\"], \"max_in_flight\": 3}",
    );
    assert!(e.message.contains("unknown field `max_in_flight`"), "{e}");
    assert!(e.message.contains("`max_at_once`"), "{e}");
    let e = err(
        "b.json",
        "{\"requests\": [\n {\"url\": \"http://h/\", \"methd\": \"GET\"}\n]}",
    );
    assert_eq!((e.entry, e.line), (Some(0), Some(2)), "{e}");
    assert!(
        e.message.contains("unknown field `methd`") && e.message.contains("`method`"),
        "{e}"
    );
}

#[test]
fn wrong_types_name_entry_and_field() {
    let e = err(
        "b.json",
        "[\"http://h/a\", {\"url\": \"http://h/\", \"method\": 5}]",
    );
    assert_eq!(
        (e.entry, e.field.as_deref()),
        (Some(1), Some("method")),
        "{e}"
    );
    assert!(e.message.contains("expected a string"), "{e}");
    let e = err(
        "b.json",
        "{\"per_second\": \"fast\", \"requests\": [\"http://h/\"]}",
    );
    assert_eq!(e.field.as_deref(), Some("per_second"), "{e}");
    let e = err(
        "b.json",
        "{\"per_second\": -2, \"requests\": [\"http://h/\"]}",
    );
    assert!(e.message.contains("invalid rate -2"), "{e}");
    let e = err(
        "b.json",
        "{\"timeout\": \"soon\", \"requests\": [\"http://h/\"]}",
    );
    assert!(e.message.contains("invalid duration \"soon\""), "{e}");
    let e = err("b.json", "[42]");
    assert!(
        e.message
            .contains("a URL string, a [url, params] pair, or an object"),
        "{e}"
    );
    let e = err("b.json", "\"http://h/\"");
    assert!(
        e.message
            .contains("expected a JSON object with a `requests` list"),
        "{e}"
    );
}

#[test]
fn bad_entries_are_rejected_with_reasons() {
    let cases = [
        (
            r#"[{"url": "http://h/", "method": "GTE"}]"#,
            "unknown method `GTE`",
        ),
        (
            r#"[{"url": "http://h/", "json": {}, "body": "x"}]"#,
            "at most one of `json`, `body`, `form`, `multipart` and `body_file`",
        ),
        (r#"[{"method": "GET"}]"#, "missing field `url`"),
        (r#"[{"url": ""}]"#, "`url` is empty"),
        (r#"[["http://h/", {}, 3]]"#, "a [url, params] pair"),
        (
            r#"[["http://h/", {"a": {"b": 1}}]]"#,
            "expected a string, number, boolean, or a list",
        ),
        (
            r#"[{"url": "http://h/", "headers": {"bad name": "v"}}]"#,
            "invalid header name",
        ),
        (
            r#"[{"url": "http://h/", "headers": {"X": "a\nb"}}]"#,
            "invalid value for header",
        ),
        (r#"[{"url": "/relative"}]"#, "needs a base URL"),
        (r#"[{"url": "ftp://h/x"}]"#, "unsupported URL scheme `ftp`"),
        (
            r#"[{"url": "http://h/{{x}}"}]"#,
            "unknown placeholder `{{x}}` (the entry has no `for_each`)",
        ),
        (
            r#"[{"url": "http://h/{{y}}", "for_each": {"x": [1]}}]"#,
            "unknown placeholder `{{y}}` (known variables: x)",
        ),
        (
            r#"[{"url": "http://h/", "for_each": {}}]"#,
            "`for_each` is empty",
        ),
        (
            r#"[{"url": "http://h/", "for_each": {"x": []}}]"#,
            "empty list",
        ),
        (
            r#"[{"url": "http://h/", "for_each": {"x": {"range": [5, 1]}}}]"#,
            "is empty (the end is excluded)",
        ),
        (
            r#"[{"url": "http://h/", "for_each": {"x": {"range": [0, 9, 0]}}}]"#,
            "step must not be 0",
        ),
        (
            r#"[{"url": "http://h/", "for_each": {"x": {"range": ["a", 2]}}}]"#,
            "integers",
        ),
        (
            r#"[{"url": "http://h/", "for_each": {"x": "file.csv"}}]"#,
            "for the key `rows`",
        ),
        (
            r#"[{"url": "http://h/", "for_each": {"rows": "data.xlsx"}}]"#,
            "expected a .csv or .jsonl file",
        ),
        (
            r#"[{"url": "http://h/", "for_each": {"rows": "missing.csv"}}]"#,
            "does not exist",
        ),
        (r#"[]"#, "the batch has no requests"),
        (
            r#"{"base_url": "not a url", "requests": ["/a"]}"#,
            "invalid URL",
        ),
    ];
    for (text, expected) in cases {
        let e = err("b.json", text);
        assert!(
            e.to_string().contains(expected),
            "{text}\n  gave: {e}\n  expected: {expected}"
        );
    }
    let e = err("b.json", "[\"http://h/\", {\"url\": \"http://h/{{x}}\"}]");
    assert_eq!((e.entry, e.field.as_deref()), (Some(1), Some("url")), "{e}");
}

#[test]
fn bad_lines_in_jsonl_and_text_name_the_line() {
    let e = err(
        "b.jsonl",
        "\"http://h/a\"\n\n{\"url\": \"http://h/b\", \"nope\": 1}\n",
    );
    assert_eq!((e.line, e.entry), (Some(3), Some(1)), "{e}");
    assert!(e.message.contains("unknown field `nope`"), "{e}");
    let e = err("b.jsonl", "\"http://h/a\"\n{\"url\": \n");
    assert_eq!(e.line, Some(2), "{e}");
    let e = err("b.txt", "http://h/a\n  GET http://h/b extra\n");
    assert_eq!(
        (e.line, e.column, e.entry),
        (Some(2), Some(3), Some(1)),
        "{e}"
    );
    assert!(e.message.contains("one URL per line"), "{e}");
    // A custom method is sent as written; a near miss of a standard one
    // is a typo.
    let custom = load_str("b.txt", "# comment\nFETCH http://h/\n").unwrap();
    let method = custom.requests().next().unwrap().unwrap().method;
    assert_eq!(method.as_str(), "FETCH");
    let e = err("b.txt", "# comment\nGTE http://h/\n");
    assert!(e.message.contains("did you mean GET?"), "{e}");
}

#[test]
fn bad_data_files_name_the_data_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("rows.csv"), "a,b\n1,2\n3\n").unwrap();
    std::fs::write(dir.path().join("rows.jsonl"), "{\"a\": 1}\n[1]\n").unwrap();
    std::fs::write(dir.path().join("partial.jsonl"), "{\"a\": 1}\n{\"b\": 2}\n").unwrap();
    let load =
        |text: &str| Batch::parse_str(text, &dir.path().join("b.json"), &LoadOptions::default());
    let e = load(r#"[{"url": "http://h/{{a}}", "for_each": {"rows": "rows.csv"}}]"#).unwrap_err();
    assert!(e.path.ends_with("rows.csv") && e.line == Some(3), "{e}");
    assert!(
        e.message
            .contains("this row has 1 fields, but the header row has 2"),
        "{e}"
    );
    assert_eq!(e.entry, Some(0));
    let e = load(r#"[{"url": "http://h/{{a}}", "for_each": {"rows": "rows.jsonl"}}]"#).unwrap_err();
    assert!(e.path.ends_with("rows.jsonl") && e.line == Some(2), "{e}");
    assert!(e.message.contains("expected a JSON object"), "{e}");
    let e =
        load(r#"[{"url": "http://h/{{a}}", "for_each": {"rows": "partial.jsonl"}}]"#).unwrap_err();
    assert!(
        e.message
            .contains("unknown placeholder `{{a}}` (known variables: b)"),
        "{e}"
    );
}

#[test]
fn unreadable_files() {
    let e = Batch::load("/definitely/not/here.json").unwrap_err();
    assert!(e.message.contains("cannot read the batch file"), "{e}");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bin.txt");
    std::fs::write(&path, b"http://h/a\n\xff\xfe\n").unwrap();
    let e = Batch::load(&path).unwrap_err();
    assert_eq!(e.line, Some(2), "{e}");
    assert!(e.message.contains("not valid UTF-8"), "{e}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Whatever the text, the loader answers, in every format, without
    /// panicking: a batch, or an error naming the file with a message.
    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        for name in ["p.json", "p.jsonl", "p.txt", "p"] {
            if let Err(e) = load_str(name, &text) {
                prop_assert!(e.path.ends_with(name) && !e.message.is_empty(), "{e}");
            }
        }
    }

    /// Text shaped like batches (JSON tokens and our keywords) gets deep
    /// into the parser without panicking.
    #[test]
    fn batch_shaped_text_never_panics(parts in proptest::collection::vec(prop_oneof![
        Just("{"), Just("}"), Just("["), Just("]"), Just(","), Just(":"), Just("\"url\""),
        Just("\"http://h/{{i}}\""), Just("\"for_each\""), Just("\"range\""), Just("\"rows\""),
        Just("\"requests\""), Just("\"method\""), Just("\"POST\""), Just("1"), Just("-5"),
        Just("\"${X}\""), Just("null"), Just("\n"), Just("\"json\""), Just("\"i\""),
    ], 0..40)) {
        let text: String = parts.concat();
        for name in ["p.json", "p.jsonl", "p.txt"] {
            let _ = load_str(name, &text);
        }
    }
}

#[test]
fn every_sample_batch_and_the_sample_scenario_load() {
    // Safety: set once, read by the with-api-key sample below.
    unsafe { std::env::set_var("RATEBENCH_API_KEY", "k-123") };
    let opts = LoadOptions {
        base_url: Some("http://127.0.0.1:3000".into()),
        format: None,
        ..Default::default()
    };
    let mut loaded = 0;
    for entry in std::fs::read_dir(samples()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        // Other tools' files (tests/import.rs runs them).
        if path.is_dir() {
            continue;
        }
        // Data files for `rows`, not batches.
        if ["addresses.csv", "addresses-1000.csv", "users.jsonl"].contains(&name.as_str())
            || name.ends_with(".toml")
        {
            continue;
        }
        let batch = Batch::load_with(&path, &opts).unwrap_or_else(|e| panic!("{e}"));
        assert!(!batch.is_empty(), "{name}");
        loaded += 1;
    }
    assert!(loaded >= 9, "{loaded} samples");
    let scenario = std::fs::read_to_string(samples().join("mock-scenario.toml")).unwrap();
    let knobs = ratebench::mock::Knobs::from_toml(&scenario).unwrap();
    assert!(knobs.effective("geocode").rate_limit.is_some());
    assert!(knobs.effective("status").error_rate.is_some());
}

#[test]
fn a_profile_and_respect_limits_are_batch_settings() {
    use std::time::Duration;
    let b = load_str(
        "p.json",
        r#"{"respect_limits": true,
            "profile": [{"per_second": 10, "for": "30s"}, {"per_second": 100, "for": "1m"}],
            "requests": ["http://127.0.0.1:9/"]}"#,
    )
    .unwrap();
    assert_eq!(b.settings.respect_limits, Some(true));
    let profile = b.settings.profile.unwrap();
    assert_eq!(profile.duration(), Duration::from_secs(90));
    assert_eq!(profile.rate_at(Duration::from_secs(31)), 100.0);

    let e = err(
        "p.json",
        "{\"profile\": [{\"per_second\": 10, \"for\": \"30s\"},\n {\"per_second\": 0, \"for\": \"1m\"}], \"requests\": []}",
    );
    assert_eq!(e.line, Some(2), "{e}");
    assert!(e.to_string().contains("per second > 0"), "{e}");
    let e = err(
        "p.json",
        r#"{"profile": [{"per_second": 10}], "requests": []}"#,
    );
    assert!(e.to_string().contains("for"), "{e}");
    let e = err("p.json", r#"{"profile": [], "requests": []}"#);
    assert!(e.to_string().contains("at least one stage"), "{e}");
}

#[test]
fn a_coalesce_section_is_checked_with_its_field() {
    let ok = load_str(
        "c.json",
        r#"{"base_url": "http://127.0.0.1:3000",
            "coalesce": {"url": "/batch/geocode", "max_items": 100,
                         "result": {"items": "$.results", "match": {"result": "$.query.text", "item": "text"}},
                         "poll": {"when": {"status": "pending"}, "id": "$.id", "url": "/batch/geocode?id={{id}}"}},
            "requests": ["/geocode?text=a"]}"#,
    )
    .unwrap();
    let c = ok.settings.coalesce.unwrap();
    assert_eq!(c.url.as_str(), "http://127.0.0.1:3000/batch/geocode");
    assert_eq!((c.max_items, c.method.as_str()), (100, "POST"));
    let poll = c.poll.unwrap();
    assert_eq!(poll.interval, std::time::Duration::from_millis(200));
    for (bad, expect) in [
        (r#"{"url": "/b", "max_items": 0}"#, "max_items"),
        (r#"{"url": "/b", "body": "xml"}"#, "json_array"),
        (r#"{"url": "/b", "body": {"template": "{}"}}"#, "{{items}}"),
        (
            r#"{"url": "/b", "result": {"items": "results"}}"#,
            "must start with $",
        ),
        (r#"{"url": "/b", "result": {"match": "name"}}"#, "index"),
        (
            r#"{"url": "/b", "poll": {"when": {}, "id": "$.id", "url": "/p"}}"#,
            "poll.when",
        ),
        (
            r#"{"url": "/b", "poll": {"when": {"s": 1}, "id": "$.id", "url": "/p", "interval": "soon"}}"#,
            "poll.interval",
        ),
    ] {
        let text = format!(
            r#"{{"base_url": "http://127.0.0.1:3000", "coalesce": {bad}, "requests": ["/x"]}}"#
        );
        let e = err("c.json", &text);
        assert_eq!(e.field.as_deref(), Some("coalesce"), "{e}");
        assert!(e.to_string().contains(expect), "{bad}: {e}");
    }
}

#[test]
fn a_batch_has_a_stable_fingerprint_of_what_it_sends() {
    let load =
        |text: &str| Batch::parse_str(text, Path::new("f.json"), &LoadOptions::default()).unwrap();
    let a = load(r#"["http://h/a", {"url": "http://h/b", "method": "POST", "json": {"n": 1}}]"#);
    // The same requests, written another way: the same fingerprint.
    let same = load(
        r#"{"requests": [{"url": "http://h/{{p}}", "for_each": {"p": ["a"]}}, {"url": "http://h/b", "method": "post", "json": {"n": 1}}]}"#,
    );
    assert_eq!(a.fingerprint(), same.fingerprint());
    // Any change to what is sent: another one.
    let other =
        load(r#"["http://h/a", {"url": "http://h/b", "method": "POST", "json": {"n": 2}}]"#);
    assert_ne!(a.fingerprint(), other.fingerprint());
    // Stable from version to version (a journal's sidecar keeps it).
    assert_eq!(load(r#"["http://h/a"]"#).fingerprint(), "3ae11f65db5419ee");
}

#[test]
fn any_method_token_is_sent_but_a_typo_of_a_standard_one_is_named() {
    let methods = |text: &str| -> Vec<String> {
        load_str("m.json", text)
            .unwrap()
            .requests()
            .map(|r| r.unwrap().method.to_string())
            .collect()
    };
    assert_eq!(
        methods(
            r#"[{"url": "http://h/a", "method": "post"}, {"url": "http://h/a", "method": "PURGE"},
                {"url": "http://h/a", "method": "wHat"}]"#
        ),
        ["POST", "PURGE", "wHat"],
        "standard ones in any case; custom ones as written"
    );
    for (typo, meant) in [
        ("GTE", "GET"),
        ("PSOT", "POST"),
        ("DELET", "DELETE"),
        ("PTACH", "PATCH"),
    ] {
        let e = err(
            "m.json",
            &format!(r#"[{{"url": "http://h/a", "method": "{typo}"}}]"#),
        );
        assert!(
            e.to_string().contains(&format!("did you mean {meant}?")),
            "{typo}: {e}"
        );
    }
    let e = err("m.json", r#"[{"url": "http://h/a", "method": "GET IT"}]"#);
    assert!(e.to_string().contains("invalid method `GET IT`"), "{e}");
}

#[test]
fn curl_keeps_the_case_of_a_custom_method() {
    let batch = load_str(
        "m.curl",
        "curl -X wHat http://h/a\ncurl -X purge http://h/b\n",
    )
    .unwrap();
    let methods: Vec<String> = batch
        .requests()
        .map(|r| r.unwrap().method.to_string())
        .collect();
    assert_eq!(methods, ["wHat", "purge"]);
}

#[test]
fn a_form_keeps_repeated_fields_in_order() {
    let body = |batch: &Batch| {
        let r = batch.requests().next().unwrap().unwrap();
        String::from_utf8(r.body_bytes().unwrap().to_vec()).unwrap()
    };
    let pairs = load_str(
        "f.json",
        r#"[{"url": "http://h/a", "method": "POST", "form": [["foo", "bar"], ["baz", 1], ["foo", ""]]}]"#,
    )
    .unwrap();
    assert_eq!(body(&pairs), "foo=bar&baz=1&foo=");
    // A recorded form (HAR) with a repeated field imports as pairs.
    let har = r#"{"log": {"version": "1.2", "creator": {"name": "t", "version": "1"}, "entries": [{"startedDateTime": "2026-01-01T00:00:00Z", "time": 1, "request": {"method": "POST", "url": "http://h/a", "httpVersion": "HTTP/1.1", "cookies": [], "headers": [], "queryString": [], "postData": {"mimeType": "application/x-www-form-urlencoded", "params": [{"name": "foo", "value": "bar"}, {"name": "baz", "value": "1"}, {"name": "foo", "value": ""}]}, "headersSize": -1, "bodySize": 0}, "response": {"status": 200, "statusText": "OK", "httpVersion": "HTTP/1.1", "cookies": [], "headers": [], "content": {"size": 0, "mimeType": "text/plain"}, "redirectURL": "", "headersSize": -1, "bodySize": 0}, "cache": {}, "timings": {"send": 0, "wait": 1, "receive": 0}}]}}"#;
    assert_eq!(body(&load_str("f.har", har).unwrap()), "foo=bar&baz=1&foo=");
}

#[test]
fn a_har_imports_whatever_its_version_and_whatever_it_leaves_out() {
    let urls_of = |text: &str| {
        let batch = load_str("h.har", text).unwrap();
        (urls(&batch), batch.warnings.clone())
    };
    // No version (1.1 by the spec), no creator, entries with only what we
    // read: as small as tools write them.
    let (urls, notes) = urls_of(
        r#"{"log": {"entries": [
            {"request": {"method": "GET", "url": "http://h/a", "headers": []}},
            {"request": {"method": "POST", "url": "http://h/b", "postData": {"mimeType": "text/plain", "text": "x"}}}
        ]}}"#,
    );
    assert_eq!(urls, ["http://h/a", "http://h/b"], "{notes:?}");
    // 1.3, and one broken entry among good ones: named and skipped.
    let (urls, notes) = urls_of(
        r#"{"log": {"version": "1.3", "creator": {"name": "x"}, "entries": [
            {"request": {"method": "GET", "url": "http://h/a"}},
            {"request": {"method": "GET", "url": 42}},
            {"request": {"method": "GET", "url": "http://h/c"}}
        ]}}"#,
    );
    assert_eq!(urls, ["http://h/a", "http://h/c"]);
    assert!(
        notes
            .iter()
            .any(|n| n.contains("skipped entries[1]") && n.contains("entries[1].request.url")),
        "{notes:?}"
    );
}

#[test]
fn postman_urls_without_a_scheme_and_variables_with_any_name() {
    unsafe { std::env::set_var("client_id", "c-7") };
    let collection = r#"{"info": {"name": "x", "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"},
        "item": [{"name": "r", "request": {"method": "GET", "url": {"raw": "localhost:4042/1?c={{client-id}}"}}}]}"#;
    let batch = load_str("c.postman_collection.json", collection).unwrap();
    assert_eq!(urls(&batch), ["http://localhost:4042/1?c=c-7"]);
    assert!(
        batch
            .warnings
            .iter()
            .any(|w| w.contains("client-id (as client_id)")),
        "{:?}",
        batch.warnings
    );
}

#[test]
fn a_curl_path_stays_relative_for_the_base_url() {
    let text = "curl -X PATCH \"/users?id=eq.1\"\ncurl example.test/x\n";
    let options = LoadOptions {
        base_url: Some("http://127.0.0.1:3000".into()),
        ..Default::default()
    };
    let batch = Batch::parse_str(text, &samples().join("r.curl"), &options).unwrap();
    assert_eq!(
        urls(&batch),
        [
            "http://127.0.0.1:3000/users?id=eq.1",
            "http://example.test/x"
        ]
    );
    let e = err("r.curl", text);
    assert!(e.to_string().contains("needs a base URL"), "{e}");
}

#[test]
fn an_unreadable_http_body_file_skips_its_request_only() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ok.json"), "{\"a\": 1}").unwrap();
    let text = "POST http://h/a\nContent-Type: application/json\n\n< ./missing.json\n\n###\n\nPOST http://h/b\nContent-Type: application/json\n\n< ./ok.json\n";
    let batch =
        Batch::parse_str(text, &dir.path().join("r.http"), &LoadOptions::default()).unwrap();
    assert_eq!(urls(&batch), ["http://h/b"]);
    assert!(
        batch
            .warnings
            .iter()
            .any(|w| w.starts_with("line 1: skipped") && w.contains("missing.json")),
        "{:?}",
        batch.warnings
    );
}

#[test]
fn a_postman_collection_of_another_version_is_told_to_export_v2_1_first() {
    // A v1 collection whose items v2.1's types would refuse elsewhere.
    let v2_0 = r#"{"info": {"name": "x", "schema": "https://schema.getpostman.com/json/collection/v1.0.0/collection.json"},
        "item": [{"name": "r", "request": {"method": "GET", "url": 42, "auth": {"type": "bearer", "bearer": {"token": "t"}}}}]}"#;
    let e = err("c.postman_collection.json", v2_0);
    assert!(
        e.to_string().contains("export it as \"Collection v2.1\""),
        "{e}"
    );
}

#[test]
fn a_url_cut_at_an_unquoted_ampersand_gets_a_hint() {
    let batch = load_str(
        "a.curl",
        "curl http://h/a?x=1&y=2\ncurl http://h/b && echo done\n",
    )
    .unwrap();
    assert_eq!(
        urls(&batch),
        ["http://h/a?x=1", "http://h/b"],
        "as the shell would run it"
    );
    let hints: Vec<_> = batch
        .warnings
        .iter()
        .filter(|w| w.contains("unquoted `&`"))
        .collect();
    assert_eq!(
        hints.len(),
        1,
        "only the cut URL, not `&&`: {:?}",
        batch.warnings
    );
    assert!(hints[0].starts_with("line 1, column 20:"), "{}", hints[0]);
}

#[test]
fn an_http_variable_applies_from_its_definition_on() {
    let text = "@host = http://one.test\n\nGET {{host}}/a\n\n###\n@host = http://two.test\n\nGET {{host}}/b\n";
    let batch = load_str("v.http", text).unwrap();
    assert_eq!(urls(&batch), ["http://one.test/a", "http://two.test/b"]);
}

#[test]
fn an_http_request_line_with_only_a_path_takes_its_host_or_the_base_url() {
    let text = "GET /a\n\n###\nGET /b\nHost: https://h.test\n\n###\nGET /c\nHost: h.test:8080\n";
    let options = LoadOptions {
        base_url: Some("http://127.0.0.1:3000".into()),
        ..Default::default()
    };
    let batch = Batch::parse_str(text, &samples().join("p.http"), &options).unwrap();
    assert_eq!(
        urls(&batch),
        [
            "http://127.0.0.1:3000/a",
            "https://h.test/b",
            "http://h.test:8080/c"
        ]
    );
}

#[test]
fn http_scripts_are_skipped_with_a_note_not_read_as_requests() {
    let text = "GET http://h/a\n\n> {%\n    client.test(\"ok\", function() {\n        client.assert(response.status === 200);\n    });\n%}\n\n###\n< {%\n  request.variables.set(\"x\", \"1\");\n%}\nPOST http://h/b\n\n{\"k\": 1}\n\n> {% client.global.set(\"t\", response.body.token); %}\n";
    let batch = load_str("s.http", text).unwrap();
    assert_eq!(urls(&batch), ["http://h/a", "http://h/b"]);
    let request = batch.requests().nth(1).unwrap().unwrap();
    assert_eq!(
        request.body_bytes().unwrap(),
        b"{\"k\": 1}",
        "the body as written, the handler after it not in it"
    );
    assert!(
        batch
            .warnings
            .iter()
            .any(|w| w.contains("skipped 3 response handler and pre-request scripts")),
        "{:?}",
        batch.warnings
    );
}

#[test]
fn http_graphql_is_a_post_of_query_and_variables_and_any_method_token_goes() {
    let text = "GRAPHQL http://h/graphql\n\nquery Q($id: ID!) {\n  user(id: $id) { name }\n}\n\n{\"id\": \"7\"}\n\n###\nPURGE http://h/cache\n";
    let batch = load_str("g.http", text).unwrap();
    let requests: Vec<_> = batch.requests().map(|r| r.unwrap()).collect();
    assert_eq!(requests[0].method.as_str(), "POST");
    let body: serde_json::Value =
        serde_json::from_slice(requests[0].body_bytes().unwrap()).unwrap();
    assert_eq!(
        body["query"],
        "query Q($id: ID!) {\n  user(id: $id) { name }\n}"
    );
    assert_eq!(body["variables"]["id"], "7");
    assert_eq!(requests[1].method.as_str(), "PURGE");
    let e = err("t.http", "GTE http://h/a\n");
    assert!(e.to_string().contains("did you mean GET?"), "{e}");
}
