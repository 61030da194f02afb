//! Importing other tools' requests: curl lines, .http files, HAR
//! recordings and Postman collections, as users bring them.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use ratebench::RequestRecord;
use ratebench::batch::{Batch, LoadOptions};
use ratebench::import::{Body, ImportOptions, Imported, Source, import};
use ratebench::mock::{Knobs, MockServer};
use serde_json::{Value, json};

use crate::common;

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("sample-batches/import")
        .join(name)
}

fn import_sample(source: Source, name: &str) -> Imported {
    let path = sample(name);
    let text = std::fs::read_to_string(&path).unwrap();
    import(source, &text, &path, &ImportOptions::default()).unwrap()
}

fn import_text(source: Source, text: &str) -> Result<Imported, String> {
    import(source, text, Path::new("in.txt"), &ImportOptions::default()).map_err(|e| e.to_string())
}

fn headers(r: &ratebench::import::Request) -> Vec<(&str, &str)> {
    r.headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

fn snapshot(name: &str, imported: &Imported) {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots/import"));
    // Named as when this file was a test binary of its own.
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| insta::assert_snapshot!(format!("import__{name}"), imported.to_json_text()));
}

// ---- curl ---------------------------------------------------------------

#[test]
fn curl_as_chrome_and_api_docs_write_it() {
    let imported = import_sample(Source::Curl, "copied.curl");
    let r = &imported.requests;
    assert_eq!(r.len(), 5);
    // Chrome's bash copy: single quotes, lower-case headers, --compressed.
    assert_eq!(r[0].method, "GET");
    assert_eq!(
        r[0].url,
        "http://127.0.0.1:3000/anything/search?q=rust&page=1"
    );
    assert_eq!(headers(&r[0])[1], ("accept-language", "en-GB,en;q=0.9"));
    // ANSI-C quoting with escaped quotes and a newline; --data-raw means POST.
    assert_eq!(r[1].method, "POST");
    assert_eq!(
        r[1].body,
        Body::Json(json!({"item": "tea", "note": "it's \"green\"\nand hot"}))
    );
    // A shell variable in double quotes is read from the environment.
    assert_eq!(r[2].method, "PUT");
    assert!(headers(&r[2]).contains(&("Authorization", "Bearer ${TOKEN}")));
    assert!(headers(&r[2]).contains(&("Accept", "application/json")));
    // JSON as written: the bytes curl sends (a compact `json` only when
    // it is written compactly).
    assert_eq!(r[2].body, Body::Text(r#"{"name": "Ada"}"#.into()));
    // -G moves the data into the query; --data-urlencode encodes it.
    assert_eq!(r[3].method, "GET");
    assert_eq!(
        r[3].url,
        "http://127.0.0.1:3000/anything/geocode?text=10+Downing+St%2C+London&limit=1"
    );
    assert_eq!(r[3].body, Body::None);
    // -u becomes basic auth; repeated -d join into one form.
    assert_eq!(
        headers(&r[4]),
        [("Authorization", "Basic YWRhOmxvdmVsYWNl")]
    );
    assert_eq!(
        r[4].body,
        Body::Form(vec![
            ("user".into(), "ada".into()),
            ("remember".into(), "yes".into())
        ])
    );
    // Lines point at each command's start.
    assert_eq!(
        r.iter().map(|r| r.line).collect::<Vec<_>>(),
        [5, 11, 15, 19, 21]
    );
    snapshot("copied_curl", &imported);
}

#[test]
fn curl_details_follow_curls_manual() {
    let one = |text: &str| import_text(Source::Curl, text).unwrap().requests.remove(0);
    // Clustered short options and attached values.
    let r = one("curl -sSLXPOST -HX-Trace:1 -d 'a=1' example.com/x");
    assert_eq!(
        (r.method.as_str(), r.url.as_str()),
        ("POST", "http://example.com/x")
    );
    assert_eq!(headers(&r), [("X-Trace", "1")]);
    // -d with a JSON content type: a `json` body when written compactly,
    // else the text as written; -I is HEAD; --max-time.
    let r = one(r#"curl https://a/x -H "Content-Type: application/json" -d '{"n":1}'"#);
    assert_eq!(r.body, Body::Json(json!({"n": 1})));
    let r = one(r#"curl https://a/x -H "Content-Type: application/json" -d '{"n": 1}'"#);
    assert_eq!(r.body, Body::Text(r#"{"n": 1}"#.into()));
    assert_eq!(one("curl -I https://a/x").method, "HEAD");
    assert_eq!(one("curl --max-time 2.5 https://a/x").timeout_s, Some(2.5));
    // A literal `${` stays literal in the batch; a `$VAR` outside quotes is read.
    let r = one(r#"curl https://a/x -H 'X-Tpl: ${notvar}' -H "X-Key: $API_KEY""#);
    assert_eq!(
        headers(&r),
        [("X-Tpl", "$${notvar}"), ("X-Key", "${API_KEY}")]
    );
    // `$ ` prompts and pipes are not part of the command.
    let r = one("$ curl https://a/x | jq .");
    assert_eq!(r.url, "https://a/x");
    // Two URLs in one command are two requests with the same options.
    let both = import_text(Source::Curl, "curl -H 'A: 1' https://a/1 https://a/2").unwrap();
    assert_eq!(both.requests.len(), 2);
    assert_eq!(headers(&both.requests[1]), [("A", "1")]);
    // -d data that is not a form is sent as is, labelled as curl labels it.
    let r = one(r#"curl https://a/x --data-raw '{"a":"b"}'"#);
    assert_eq!(r.body, Body::Text(r#"{"a":"b"}"#.into()));
    assert_eq!(
        headers(&r),
        [("Content-Type", "application/x-www-form-urlencoded")]
    );
    let r = one("curl https://a/x -d 'q=a%20b'");
    assert_eq!(
        r.body,
        Body::Text("q=a%20b".into()),
        "re-encoding would change %20 to +"
    );
    // Options that change nothing sent are noted, not dropped silently.
    let noted = import_text(Source::Curl, "curl -k --retry 3 https://a/x").unwrap();
    assert_eq!(noted.warnings.len(), 2, "{:?}", noted.warnings);
    assert!(noted.warnings[0].contains("--insecure"));
}

#[test]
fn bad_curl_input_is_named_with_its_position() {
    let cases = [
        (
            "curl --frobnicate https://a/x",
            "in.txt:1:6: unknown curl option `--frobnicate`",
        ),
        (
            "curl -Z https://a/x",
            "in.txt:1:6: unknown curl option `-Z`",
        ),
        (
            "curl https://a/x \\\n  -H 'X: 1",
            "in.txt:2:6: unterminated single quote",
        ),
        (
            "curl https://a/x -F file=@a.png",
            "in.txt: no requests found in this curl file (line 1, column 21: skipped this command: cannot upload a.png",
        ),
        (
            "curl https://a/x -F a=1 -d b=2",
            "in.txt:1:1: this command sends two kinds of body",
        ),
        (
            "curl https://a/x -d @-",
            "in.txt:1:21: `@-` reads the command's input, and none is given",
        ),
        (
            "curl https://a/x -d @- <<EOF\n{}\n",
            "in.txt:1:24: the heredoc has no closing `EOF` line",
        ),
        ("curl -H", "in.txt:1:6: `-H` expects a value"),
        ("curl -s", "in.txt:1:1: this curl command has no URL"),
        (
            "wget https://a/x",
            "in.txt:1:1: expected a curl command, found `wget`",
        ),
        (
            "curl https://a/x ^\n  -H \"X: 1\"",
            "in.txt:1:18: this is Windows cmd quoting",
        ),
        (
            "curl -H 'NoColon' https://a/x",
            "in.txt:1:9: header \"NoColon\" has no `:`",
        ),
        (
            "curl \"$(cat token)\" https://a",
            "in.txt:1:7: command substitution",
        ),
    ];
    for (text, expected) in cases {
        let err = import_text(Source::Curl, text).unwrap_err();
        assert!(
            err.starts_with(expected),
            "{text:?}\n  got:  {err}\n  want: {expected}"
        );
    }
}

// ---- .http --------------------------------------------------------------

#[test]
fn http_file_with_variables_names_comments_and_bodies() {
    let imported = import_sample(Source::Http, "api.http");
    let r = &imported.requests;
    assert_eq!(r.len(), 4);
    assert_eq!(r[0].name.as_deref(), Some("List users"));
    // Variables resolve through each other; a query continues on the next line.
    assert_eq!(
        r[0].url,
        "http://127.0.0.1:3000/anything/v1/users?page=1&per_page=50"
    );
    // `# @name`, HTTP/1.1 on the request line, a variable the file does not define.
    assert_eq!(r[1].name.as_deref(), Some("create-user"));
    assert_eq!(r[1].method, "POST");
    assert!(headers(&r[1]).contains(&("Authorization", "Bearer ${TOKEN}")));
    assert_eq!(
        r[1].body,
        Body::Text("{\n  \"name\": \"Ada Lovelace\",\n  \"email\": \"ada@example.com\"\n}".into())
    );
    assert_eq!(r[1].line, 13);
    assert_eq!(
        r[2].body,
        Body::Form(vec![
            ("user".into(), "ada".into()),
            ("password".into(), "s3cret".into())
        ])
    );
    assert_eq!(
        (r[3].method.as_str(), r[3].name.as_deref()),
        ("DELETE", Some("Delete"))
    );
    assert!(
        imported
            .warnings
            .iter()
            .any(|w| w.contains("environment") && w.contains("TOKEN"))
    );
    snapshot("api_http", &imported);
}

#[test]
fn http_dynamic_values_are_reported_and_bad_lines_positioned() {
    let text = "GET https://a/{{$random.email}}\n\n###\nGET https://a/{{$uuid}}\nX-Id: {{$processEnv RUN_ID}}\n";
    let imported = import_text(Source::Http, text).unwrap();
    assert_eq!(imported.requests.len(), 1);
    assert_eq!(imported.requests[0].url, "https://a/{{uuid()}}");
    assert_eq!(headers(&imported.requests[0]), [("X-Id", "${RUN_ID}")]);
    assert!(
        imported.warnings[0].contains("line 1: skipped")
            && imported.warnings[0].contains("{{$random.email}}")
    );

    let cases = [
        // An upper-case token is a method (`PURGE`); anything else is not.
        ("Fetch https://a/x\n", "in.txt:1:1: unknown method `Fetch`"),
        (
            "GET https://a/x\nnot a header\n",
            "in.txt:2:1: expected a header `Name: value`",
        ),
        (
            "@host\nGET {{host}}/x\n",
            "in.txt:1:1: expected a variable definition",
        ),
        (
            "# only comments\n",
            "in.txt: no requests found in this http file",
        ),
    ];
    for (text, expected) in cases {
        let err = import_text(Source::Http, text).unwrap_err();
        assert!(
            err.starts_with(expected),
            "{text:?}\n  got:  {err}\n  want: {expected}"
        );
    }
}

// ---- HAR ----------------------------------------------------------------

#[test]
fn har_as_chrome_records_it() {
    let imported = import_sample(Source::Har, "recording.har");
    let r = &imported.requests;
    // The data: URL is not a request to send.
    assert_eq!(r.len(), 2);
    // Browser-only headers go; Cookie and Authorization go unless kept.
    assert_eq!(
        headers(&r[0]),
        [
            ("Accept", "application/json"),
            ("User-Agent", "Mozilla/5.0 Chrome/131.0.0.0")
        ]
    );
    assert_eq!(headers(&r[1]), [("content-type", "application/json")]);
    assert_eq!(r[1].body, Body::Json(json!({"name": "tea", "qty": 2})));
    assert!(imported.warnings.iter().any(|w| w.contains("not http(s)")));
    assert!(imported.warnings.iter().any(|w| w.contains("--keep-auth")));
    snapshot("recording_har", &imported);

    let path = sample("recording.har");
    let text = std::fs::read_to_string(&path).unwrap();
    let options = ImportOptions {
        keep_auth: true,
        methods: Some(vec!["POST".into()]),
        filter_url: Some(regex::Regex::new("/api/items$").unwrap()),
    };
    let kept = import(Source::Har, &text, &path, &options).unwrap();
    assert_eq!(kept.requests.len(), 1);
    assert!(headers(&kept.requests[0]).contains(&("authorization", "Bearer eyJhbGciOi")));
}

#[test]
fn broken_har_is_positioned() {
    let err = import_text(
        Source::Har,
        "{\"log\": {\"version\": \"1.2\",\n \"entries\": [}\n}",
    )
    .unwrap_err();
    assert!(err.starts_with("in.txt:2:"), "{err}");
    let err = import_text(
        Source::Har,
        r#"{"log": {"version": "1.2", "creator": {"name": "x", "version": "1"},
            "entries": [{"request": {"url": "http://a"}}]}}"#,
    )
    .unwrap_err();
    assert!(err.contains("missing field"), "{err}");
    assert!(err.starts_with("in.txt:"), "{err}");
}

// ---- Postman ------------------------------------------------------------

#[test]
fn postman_collection_with_folders_auth_variables_and_scripts() {
    let imported = import_sample(Source::Postman, "shop.postman_collection.json");
    let r = &imported.requests;
    assert_eq!(r.len(), 4);
    assert_eq!(r[0].name.as_deref(), Some("Products / List products"));
    assert_eq!(
        r[0].url,
        "http://127.0.0.1:3000/anything/products?category=tea&limit=20"
    );
    // The collection's bearer auth, its token from the environment.
    assert!(headers(&r[0]).contains(&("Authorization", "Bearer ${token}")));
    // A path variable.
    assert_eq!(r[1].url, "http://127.0.0.1:3000/anything/products/17");
    // Raw JSON; a disabled header is left out.
    assert_eq!(
        r[2].body,
        Body::Text("{\n  \"product\": 17,\n  \"qty\": 2\n}".into())
    );
    assert!(!headers(&r[2]).iter().any(|(k, _)| *k == "X-Disabled"));
    // The request's own api-key auth wins over the collection's; urlencoded
    // without the disabled field.
    assert_eq!(headers(&r[3]), [("X-API-Key", "${apiKey}")]);
    assert_eq!(
        r[3].body,
        Body::Form(vec![
            ("user".into(), "ada".into()),
            ("remember".into(), "yes".into())
        ])
    );
    assert!(
        imported
            .warnings
            .iter()
            .any(|w| w.contains("skipped 2 pre-request and test scripts"))
    );
    snapshot("shop_postman", &imported);
}

#[test]
fn postman_other_versions_and_dynamic_values() {
    let v1 = r#"{"id": "x", "name": "x", "requests": [], "info": {"schema": "https://schema.getpostman.com/json/collection/v1.0.0/collection.json"}}"#;
    let err = import_text(Source::Postman, v1).unwrap_err();
    assert!(
        err.contains("expected a Postman Collection v2.1 or v2.0"),
        "{err}"
    );
    // v2.0: auth settings as an object, where v2.1 has a list.
    let v2_0 = r#"{"info": {"name": "x", "schema": "https://schema.getpostman.com/json/collection/v2.0.0/collection.json"},
        "auth": {"type": "bearer", "bearer": {"token": "t0k"}},
        "item": [{"name": "one", "request": {"method": "GET", "url": "https://a/1"}},
                 {"name": "basic", "request": {"method": "GET", "url": "https://a/2",
                    "auth": {"type": "basic", "basic": {"username": "u", "password": "p"}}}}]}"#;
    let imported = import_text(Source::Postman, v2_0).unwrap();
    assert_eq!(
        headers(&imported.requests[0]),
        [("Authorization", "Bearer t0k")]
    );
    assert_eq!(
        headers(&imported.requests[1]),
        [("Authorization", "Basic dTpw")]
    );
    let dynamic = r#"{"info": {"name": "x", "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"},
        "item": [{"name": "guid", "request": {"method": "GET", "url": "https://a/{{$guid}}?n={{$randomInt}}"}},
                 {"name": "faker", "request": {"method": "GET", "url": "https://a/{{$randomFirstName}}"}},
                 {"name": "ok", "request": {"method": "GET", "url": "https://a/ok"}}]}"#;
    let imported = import_text(Source::Postman, dynamic).unwrap();
    assert_eq!(imported.requests.len(), 2);
    assert_eq!(
        imported.requests[0].url,
        "https://a/{{uuid()}}?n={{random_int(0, 1000)}}"
    );
    assert!(
        imported.warnings[0].contains("skipped `faker`"),
        "{:?}",
        imported.warnings
    );
}

// ---- Opening them directly, and the import command ------------------------

#[test]
fn the_loader_opens_every_format_by_extension_and_content() {
    // (The other samples read variables from the environment, which this
    // process leaves alone; the test below runs them in a child.)
    let batch = Batch::load(sample("recording.har")).unwrap();
    assert_eq!(batch.len(), 2);
    assert!(!batch.warnings.is_empty());
    // A `.json` that is a collection, a `.txt` of curl lines.
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("exported.json");
    std::fs::copy(sample("shop.postman_collection.json"), &json).unwrap();
    let err = Batch::load(&json).unwrap_err().to_string();
    // It was read as a collection: the error is about its token, at its line.
    assert!(err.contains("`token` is not set"), "{err}");
    assert!(err.starts_with(&format!("{}:", json.display())), "{err}");
    let txt = dir.path().join("requests.txt");
    std::fs::write(&txt, "curl https://a/1\ncurl -X DELETE https://a/2\n").unwrap();
    let batch = Batch::load(&txt).unwrap();
    assert_eq!(batch.len(), 2);
    let methods: Vec<String> = batch
        .requests()
        .map(|r| r.unwrap().method.to_string())
        .collect();
    assert_eq!(methods, ["GET", "DELETE"]);
    // A broken source names the source file and line.
    let bad = dir.path().join("bad.http");
    std::fs::write(
        &bad,
        "GET https://a/x\n\n###\nGET https://a/{{$uuid}}\n###\nPOST\n",
    )
    .unwrap();
    let err = Batch::load_with(&bad, &LoadOptions::default()).unwrap_err();
    assert_eq!(err.line, Some(6), "{err}");
}

/// Runs the binary with the samples' variables set, against `base`.
fn run_sample(dir: &Path, name: &str, base: &str) -> Vec<RequestRecord> {
    let text = std::fs::read_to_string(sample(name)).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text.replace("http://127.0.0.1:3000", base)).unwrap();
    let out = dir.join(format!("{name}.jsonl"));
    let output = common::ratebench_command()
        .args([
            "run",
            path.to_str().unwrap(),
            "--keep-body",
            "--out",
            out.to_str().unwrap(),
        ])
        .env("TOKEN", "t-curl")
        .env("token", "t-postman")
        .env("apiKey", "k-postman")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{name}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut records: Vec<RequestRecord> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    records.sort_by_key(|r| r.index);
    records
}

/// What the mock's `/anything` echoed for a record.
fn echo(r: &RequestRecord) -> Value {
    serde_json::from_str(r.body.as_deref().expect("kept body")).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_sample_runs_and_the_server_sees_what_its_source_says() {
    let mock = MockServer::start(
        "127.0.0.1:0".parse::<SocketAddr>().unwrap(),
        Knobs::default(),
    )
    .await
    .unwrap();
    let base = mock.base_url();
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path().to_path_buf();
    let (curl, http, har, postman) = tokio::task::spawn_blocking(move || {
        (
            run_sample(&dir, "copied.curl", &base),
            run_sample(&dir, "api.http", &base),
            run_sample(&dir, "recording.har", &base),
            run_sample(&dir, "shop.postman_collection.json", &base),
        )
    })
    .await
    .unwrap();

    assert_eq!(curl.len(), 5);
    let e = echo(&curl[1]);
    assert_eq!(e["method"], "POST");
    assert_eq!(e["json"]["note"], "it's \"green\"\nand hot");
    let e = echo(&curl[2]);
    assert_eq!(e["headers"]["authorization"], "Bearer t-curl");
    assert_eq!(e["json"], json!({"name": "Ada"}));
    let e = echo(&curl[3]);
    assert_eq!(e["args"]["text"], "10 Downing St, London");
    let e = echo(&curl[4]);
    assert_eq!(e["form"], json!({"user": "ada", "remember": "yes"}));
    assert_eq!(e["headers"]["authorization"], "Basic YWRhOmxvdmVsYWNl");

    assert_eq!(http.len(), 4);
    assert_eq!(echo(&http[0])["args"]["per_page"], "50");
    assert_eq!(echo(&http[1])["headers"]["authorization"], "Bearer t-curl");
    assert_eq!(echo(&http[1])["json"]["name"], "Ada Lovelace");
    assert_eq!(echo(&http[3])["method"], "DELETE");

    assert_eq!(har.len(), 2);
    assert!(echo(&har[0])["headers"].get("cookie").is_none());
    assert_eq!(echo(&har[1])["json"], json!({"name": "tea", "qty": 2}));

    assert_eq!(postman.len(), 4);
    assert_eq!(
        echo(&postman[0])["headers"]["authorization"],
        "Bearer t-postman"
    );
    assert_eq!(echo(&postman[1])["url"], "/anything/products/17");
    assert_eq!(echo(&postman[3])["headers"]["x-api-key"], "k-postman");
    assert_eq!(postman[3].name.as_deref(), Some("Login"));
}

#[test]
fn import_command_writes_an_editable_batch_and_fails_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("batch.json");
    let output = common::ratebench_command()
        .args([
            "import",
            "har",
            sample("recording.har").to_str().unwrap(),
            "-o",
        ])
        .arg(&out)
        .args(["--methods", "get"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("imported 1 requests"), "{stderr}");
    assert!(
        stderr.contains("note: skipped 1 entries that --filter-url or --methods left out"),
        "{stderr}"
    );
    // The written batch loads as an ordinary JSON batch.
    let batch = Batch::load(&out).unwrap();
    assert_eq!(batch.len(), 1);

    // Standard input, to standard output.
    let mut child = common::ratebench_command()
        .args(["import", "curl", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"curl https://api.example.com/v1/items -H 'Accept: application/json'\n")
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    let batch: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        batch["requests"][0]["url"],
        "https://api.example.com/v1/items"
    );

    // One broken command among others: skipped, named; the rest import.
    let mixed = dir.path().join("mixed.curl");
    std::fs::write(&mixed, "curl https://a/x\ncurl --bogus https://a/y\n").unwrap();
    let output = common::ratebench_command()
        .args(["import", "curl"])
        .arg(&mixed)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("line 2, column 6: skipped this command: unknown curl option `--bogus`"),
        "{stderr}"
    );
    let batch: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(batch["requests"].as_array().unwrap().len(), 1);

    // Nothing importable: exit 2, the place named.
    let bad = dir.path().join("bad.curl");
    std::fs::write(&bad, "curl --bogus https://a/y\n").unwrap();
    let output = common::ratebench_command()
        .args(["import", "curl"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("bad.curl:1:6: unknown curl option `--bogus`"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty());
}

#[test]
fn a_reshaped_postman_collection_names_lines_of_the_file_as_written() {
    // Saved responses (a cookie's `expires` as a number) are taken out
    // before the typed read; requests still point at their own lines.
    let text = r#"{"info": {"name": "x", "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"},
"item": [
  {"name": "a",
   "request": {"method": "GET", "url": "http://h/a"},
   "response": [{"name": "ok", "cookie": [{"name": "c", "expires": 1502442248}]}]},
  {"name": "b",
   "request": {"method": "GET", "url": "http://h/b"}}
]}"#;
    let imported = import_text(Source::Postman, text).unwrap();
    let lines: Vec<usize> = imported.requests.iter().map(|r| r.line).collect();
    assert_eq!(lines, [4, 7]);
}
