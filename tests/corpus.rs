//! The real-file corpus (`tests/fixtures/real/`, sources and licences in
//! its `SOURCES.md`): files other tools and their users wrote, kept
//! verbatim. Every one imports, loads, and is sent, request for request
//! (method, path and query, body), to a server written here, with its
//! hosts pointed at that server; or it is one of the few the corpus
//! lists as refused, and the refusal says why.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, Uri};
use ratebench::batch::upload::Upload;
use ratebench::batch::{Batch, Body, Format, LoadOptions};
use ratebench::import::{ImportOptions, Source, import};
use serde_json::Value;

use crate::common;

/// Files a tool wrote that are refused, each with what the refusal says.
const REFUSED: &[(&str, &str)] = &[
    // Fixtures of an importer's error paths.
    ("insomnia/curl/no-url-input.sh", "has no URL"),
    ("insomnia/har/no-requests-input.json", "no requests found"),
    // Uploads a file that is not on this machine (curl would fail too).
    ("insomnia/curl/form-input.sh", "/home/user/file.txt"),
    // Not HTTP: WebSocket and MQTT requests, each skipped with a note.
    (
        "httpyac/http/api_planning-poker.http",
        "is not an HTTP request",
    ),
    (
        "httpyac/http/request_requestBody_requestBodyMulti.http",
        "is not an HTTP request",
    ),
    (
        "httpyac/http/request_requestclient.http",
        "is not an HTTP request",
    ),
    // httpyac's `gql NAME < file`, a query assembled from files.
    (
        "httpyac/http/request_graphql_graphqlPartsFile.http",
        "unknown method `gql`",
    ),
    // A body file at a Windows path, not on this machine.
    (
        "vscode-restclient/http/readme-11.http",
        "C:\\Users\\Default\\Desktop\\demo.xml",
    ),
    // Values the editor computes that a batch has no function for: an
    // environment variable named by a setting, a timestamp offset.
    (
        "vscode-restclient/http/readme-29.http",
        "{{$processEnv %secretKey}}",
    ),
    (
        "vscode-restclient/http/readme-30.http",
        "{{$timestamp -1 d}}",
    ),
    // Their one request has no URL.
    ("insomnia/postman/minimal-v2_0-input.json", "it has no URL"),
    ("insomnia/postman/minimal-v2_1-input.json", "it has no URL"),
    (
        "insomnia/postman/postman-export-oauth2-v2_1-input.json",
        "it has no URL",
    ),
];

/// One request as a tool sends it: method, path and query, body.
type Sent = (&'static str, &'static str, &'static str);

/// What each tool sends for some of the files, read from the files and
/// the tools' manuals: (method, path and query, a piece of the body).
/// The corpus test checks the batch sent it, request for request.
const SENDS: &[(&str, &[Sent])] = &[
    (
        "insomnia/curl/complex-input.sh",
        &[("POST", "/api/v1/send", r#"{"email_id": "tem_123"}"#)],
    ),
    (
        "insomnia/curl/get-input.sh",
        &[("GET", "/getdata?id=1234", "")],
    ),
    (
        "insomnia/curl/question-mark-input.sh",
        &[(
            "POST",
            "/executions/_search?pretty",
            r#"{"query":{"match_all":{}}}"#,
        )],
    ),
    (
        "insomnia/curl/skip-squished-input.sh",
        &[("POST", "/", "id=1234")],
    ),
    (
        "insomnia/curl/multi-data-input.sh",
        &[("POST", "/", "foo=bar&baz=qux")],
    ),
    (
        "insomnia/curl/multi-input.sh",
        &[
            ("GET", "/1/2/3", ""),
            ("GET", "/foo/bar", ""),
            ("GET", "/", ""),
            ("GET", "/", ""),
        ],
    ),
    (
        "insomnia/curl/dollar-sign-input.sh",
        &[("POST", "/", r#""coupon":{"code":"erwrwer"}"#)],
    ),
    (
        "insomnia/har/minimal-input.json",
        &[("GET", "/foo/bar", "")],
    ),
    (
        "insomnia/har/shallow-input.json",
        &[("POST", "/foo/bar?foo=bar", "")],
    ),
    (
        "httpyac/http/request_requestlineMultiline.http",
        &[("GET", "/get", "")],
    ),
    (
        "httpyac/http/request_queryStringMultiline.http",
        &[("GET", "/anything?q=httpyac&ie=UTF-8", "")],
    ),
    (
        "httpyac/http/request_graphql_graphqlParts.http",
        &[(
            "POST",
            "/graphql",
            r#"fragment ContinentParts on Continent"#,
        )],
    ),
    (
        "httpyac/http/project_formats_multipartFormData.http",
        &[
            ("POST", "/post", "<a multipart form>"),
            ("POST", "/anything", r#""foo""#),
        ],
    ),
    // curl's manual: each option's examples, as curl sends them.
    (
        "curl-docs/curl/get.sh",
        &[
            ("GET", "/", ""),
            ("GET", "/?tool=curl&age=old", ""),
            ("HEAD", "/?tool=curl", ""),
        ],
    ),
    (
        "curl-docs/curl/data.sh",
        &[
            ("POST", "/", "name=curl"),
            ("POST", "/", "name=curl&tool=cmdline"),
            ("POST", "/", "name=curl&tool=cmdline"),
        ],
    ),
    (
        "curl-docs/curl/json.sh",
        &[
            ("POST", "/", r#"{ "drink": "coffee" }"#),
            ("POST", "/", r#"{ "drink": "coffee" }"#),
            ("POST", "/", "{\"drink\": \"coffee\"}\n"),
            ("POST", "/", "{\"drink\": \"tea\"}\n"),
        ],
    ),
    (
        "curl-docs/curl/upload-file.sh",
        &[
            ("PUT", "/", "hello from a file"),
            ("PUT", "/", "hello from a file"),
            ("PUT", "/", "second"),
        ],
    ),
    (
        "curl-docs/curl/data-urlencode.sh",
        &[
            ("POST", "/", "name=val"),
            ("POST", "/", "encodethis"),
            ("POST", "/", "name=hello+from+a+file%0A"),
            ("POST", "/", "encode+this%0A"),
        ],
    ),
    ("curl-docs/curl/request.sh", &[("DELETE", "/", "")]),
    (
        "curl-docs/curl/data-raw.sh",
        &[("POST", "/", "hello"), ("POST", "/", "@at@at@")],
    ),
    (
        "postman-collection/postman/collection-v2.json",
        // No method: Postman sends GET, with the body.
        &[("GET", "/post", "blahblah")],
    ),
];

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/real")
}

/// Every file of the corpus with the format its folder names.
fn files() -> Vec<(String, Source)> {
    let mut out = Vec::new();
    let root = corpus();
    for tool in std::fs::read_dir(&root).unwrap() {
        let tool = tool.unwrap().path();
        if !tool.is_dir() {
            continue;
        }
        for format in std::fs::read_dir(&tool).unwrap() {
            let format = format.unwrap().path();
            let source = match format.file_name().unwrap().to_str().unwrap() {
                "curl" => Source::Curl,
                "har" => Source::Har,
                "postman" => Source::Postman,
                "http" => Source::Http,
                _ => continue,
            };
            // Beside the files sit those they read (bodies, uploads).
            let exts: &[&str] = match source {
                Source::Curl => &["sh", "curl"],
                Source::Har => &["har", "json"],
                Source::Postman => &["json"],
                Source::Http => &["http", "rest"],
            };
            for file in std::fs::read_dir(&format).unwrap() {
                let file = file.unwrap().path();
                let ext = file.extension().and_then(|e| e.to_str()).unwrap_or("");
                if file.is_file() && exts.contains(&ext) {
                    let rel = file
                        .strip_prefix(&root)
                        .unwrap()
                        .to_str()
                        .unwrap()
                        .to_owned();
                    out.push((rel, source));
                }
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// The imported batch with every host pointed at `base`, and the values
/// it leaves to the environment filled with `x` (a URL's with `base`).
fn pointed_at(batch: &mut Value, base: &str) {
    batch["base_url"] = Value::String(base.to_owned());
    for entry in batch["requests"].as_array_mut().unwrap() {
        let url = entry["url"].as_str().unwrap().to_owned();
        let url = if let Some(rest) = url.strip_prefix("${") {
            let end = rest.find('}').unwrap();
            format!("{base}{}", &rest[end + 1..])
        } else if let Some((_, rest)) = url
            .split_once("://")
            .filter(|(scheme, _)| matches!(*scheme, "http" | "https"))
        {
            let path = rest.find(['/', '?']).map_or("", |i| &rest[i..]);
            format!("{base}{path}")
        } else {
            url
        };
        entry["url"] = Value::String(url);
    }
    fill_env(batch);
}

fn fill_env(value: &mut Value) {
    match value {
        Value::String(s) => *s = without_env(s),
        Value::Array(items) => items.iter_mut().for_each(fill_env),
        Value::Object(map) => map.values_mut().for_each(fill_env),
        _ => {}
    }
}

fn without_env(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("${") {
        let escaped = rest[..i].ends_with('$');
        out.push_str(&rest[..i]);
        match rest[i + 2..].find('}') {
            Some(end) if !escaped => {
                out.push('x');
                rest = &rest[i + 2 + end + 1..];
            }
            _ => {
                out.push_str("${");
                rest = &rest[i + 2..];
            }
        }
    }
    out.push_str(rest);
    out
}

type Key = (String, String, Vec<u8>);

const MULTIPART: &[u8] = b"<a multipart form>";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_real_file_imports_loads_and_is_sent_as_written() {
    let seen: Arc<Mutex<Vec<Key>>> = Arc::default();
    let log = seen.clone();
    let app = axum::Router::new().fallback(
        move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let log = log.clone();
            async move {
                // A form ratebench drew a boundary for: its bytes are
                // checked in `uploads`; here, that it is one.
                let ours = headers
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.starts_with("multipart/form-data; boundary=ratebench-"));
                let body = if ours {
                    MULTIPART.to_vec()
                } else {
                    body.to_vec()
                };
                log.lock()
                    .unwrap()
                    .push((method.to_string(), uri.to_string(), body));
                "ok"
            }
        },
    );
    let base = common::serve(app).await;
    let files = files();
    assert!(files.len() >= 40, "the corpus is there: {}", files.len());
    let mut failures = Vec::new();
    let mut sent: BTreeMap<String, Vec<Key>> = BTreeMap::new();
    let mut tally: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for (rel, source) in &files {
        let count = tally.entry(source.name()).or_default();
        count.1 += 1;
        let path = corpus().join(rel);
        let refused = REFUSED.iter().find(|(f, _)| f == rel);
        let text = ratebench::import::read_text_file(&path).unwrap();
        let imported = match import(*source, &text, &path, &ImportOptions::default()) {
            Ok(imported) => imported,
            Err(e) => {
                match refused {
                    Some((_, why)) if e.to_string().contains(why) => count.0 += 1,
                    _ => failures.push(format!("{rel}: import: {e}")),
                }
                continue;
            }
        };
        if let Some((_, why)) = refused {
            let noted = imported.warnings.iter().any(|w| w.contains(why));
            if !noted {
                failures.push(format!("{rel}: expected a refusal naming {why:?}"));
            }
        }
        let mut batch = imported.to_batch();
        pointed_at(&mut batch, &base);
        let options = LoadOptions {
            format: Some(Format::Json),
            ..Default::default()
        };
        // Loaded as if it sat beside the file, which its uploads are
        // relative to.
        let at = path.with_extension("ratebench.json");
        let loaded = match Batch::parse_str(&batch.to_string(), &at, &options) {
            Ok(b) => b,
            Err(e) => {
                failures.push(format!("{rel}: load: {e}"));
                continue;
            }
        };
        let mut expected: Vec<Key> = loaded
            .requests()
            .map(|r| {
                let r = r.unwrap();
                let target = match r.url.query() {
                    Some(q) => format!("{}?{q}", r.url.path()),
                    None => r.url.path().to_owned(),
                };
                let body = match &r.body {
                    None => Vec::new(),
                    Some(Body::Bytes(b)) => b.to_vec(),
                    Some(Body::Upload(u)) => match &**u {
                        Upload::File(p) => std::fs::read(p).unwrap(),
                        Upload::Multipart { .. } => MULTIPART.to_vec(),
                    },
                };
                (r.method.to_string(), target, body)
            })
            .collect();
        seen.lock().unwrap().clear();
        let (handle, sink) = common::start_batch(
            &loaded,
            ratebench::RunConfig {
                limits: ratebench::Limits::new(4, 0.0),
                ..Default::default()
            },
        );
        handle.wait().await.unwrap();
        let errors: Vec<_> = sink.records().into_iter().filter_map(|r| r.error).collect();
        if !errors.is_empty() {
            failures.push(format!("{rel}: send: {errors:?}"));
            continue;
        }
        let mut got = seen.lock().unwrap().clone();
        sent.insert(rel.clone(), got.clone());
        // Generated values (`{{uuid()}}`) differ from draw to draw: such a
        // file is checked request for request by method alone.
        if batch.to_string().contains(")}}") {
            let methods = |keys: &[Key]| {
                let mut m: Vec<String> = keys.iter().map(|k| k.0.clone()).collect();
                m.sort();
                m
            };
            if methods(&expected) != methods(&got) {
                failures.push(format!(
                    "{rel}: sent {got:?}\n    but the batch says {expected:?}"
                ));
            } else {
                count.0 += usize::from(refused.is_none());
            }
            continue;
        }
        expected.sort();
        got.sort();
        if expected != got {
            failures.push(format!(
                "{rel}: sent {got:?}\n    but the batch says {expected:?}"
            ));
            continue;
        }
        count.0 += usize::from(refused.is_none());
    }
    for (file, requests) in SENDS {
        let Some(got) = sent.get(*file) else {
            failures.push(format!("{file}: nothing sent"));
            continue;
        };
        let mut left = got.clone();
        for (method, target, body) in *requests {
            // The body exactly, or else one that holds the piece given.
            let found = left
                .iter()
                .position(|(m, t, b)| m == method && t == target && b == body.as_bytes())
                .or_else(|| {
                    left.iter().position(|(m, t, b)| {
                        m == method && t == target && String::from_utf8_lossy(b).contains(body)
                    })
                });
            match found {
                Some(i) => {
                    left.remove(i);
                }
                None => failures.push(format!(
                    "{file}: the tool sends {method} {target} with {body:?}; sent {got:?}"
                )),
            }
        }
    }
    eprintln!("corpus (imported and sent / files): {tally:?}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
