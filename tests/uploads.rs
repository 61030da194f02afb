//! Bodies from files (`multipart`, `body_file`), generated values
//! (`{{uuid()}}`) and the literal `{{` escape, sent to a server written
//! here that keeps every request's head and bytes.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, Uri};
use ratebench::Batch;

use crate::common;

/// One request as the server read it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    headers: HeaderMap,
    body: Vec<u8>,
}

/// A server that answers 200 to anything and keeps what it was sent.
async fn recorder() -> (String, Arc<Mutex<Vec<Seen>>>) {
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let log = seen.clone();
    let app = axum::Router::new().fallback(
        move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let log = log.clone();
            async move {
                log.lock().unwrap().push(Seen {
                    method: method.to_string(),
                    path: uri.to_string(),
                    headers,
                    body: body.to_vec(),
                });
                "ok"
            }
        },
    );
    (common::serve(app).await, seen)
}

/// A multipart body's parts as (head, content), split at the boundary
/// its Content-Type names, which must be the only one used.
fn parts(seen: &Seen) -> Vec<(String, Vec<u8>)> {
    let ct = seen.headers["content-type"].to_str().unwrap();
    let boundary = ct
        .strip_prefix("multipart/form-data; boundary=")
        .unwrap_or_else(|| panic!("{ct}"));
    let delimiter = format!("--{boundary}");
    let body = &seen.body;
    assert!(body.starts_with(delimiter.as_bytes()));
    assert!(body.ends_with(format!("{delimiter}--\r\n").as_bytes()));
    let mut out = Vec::new();
    let mut rest = &body[delimiter.len()..];
    loop {
        if rest.starts_with(b"--") {
            break;
        }
        let rest_after = &rest[2..]; // \r\n after the delimiter
        let end = find(rest_after, format!("\r\n{delimiter}").as_bytes()).unwrap();
        let section = &rest_after[..end];
        let split = find(section, b"\r\n\r\n").unwrap();
        out.push((
            String::from_utf8(section[..split].to_vec()).unwrap(),
            section[split + 4..].to_vec(),
        ));
        rest = &rest_after[end + 2 + delimiter.len()..];
    }
    out
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

async fn run(batch: &std::path::Path) {
    let out = common::ratebench(&["run", batch.to_str().unwrap(), "--quiet"]).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_fields_and_files_arrive_as_a_form_with_one_fresh_boundary_each() {
    let (base, seen) = recorder().await;
    let dir = tempfile::tempdir().unwrap();
    // Bytes that are not UTF-8, larger than one read of the stream.
    let picture: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 256) as u8).collect();
    std::fs::write(dir.path().join("pic.bin"), &picture).unwrap();
    std::fs::write(dir.path().join("note.txt"), "hello").unwrap();
    let batch = common::batch_file(
        dir.path(),
        "b.json",
        &format!(
            r#"{{"requests": [{{"method": "POST", "url": "{base}/up/{{{{i}}}}",
                "headers": {{"Content-Type": "multipart/form-data; boundary=stale"}},
                "for_each": {{"i": [1, 2, 3]}},
                "multipart": [
                    {{"name": "id", "value": "{{{{i}}}}"}},
                    {{"name": "caption", "value": "a \"quoted\" name", "content_type": "text/plain"}},
                    {{"name": "pic", "file": "pic.bin"}},
                    {{"name": "note", "file": "note.txt", "filename": "renamed.txt"}}
                ]}}]}}"#
        ),
    );
    run(&batch).await;
    let mut seen = seen.lock().unwrap().clone();
    seen.sort_by(|a, b| a.path.cmp(&b.path));
    assert_eq!(seen.len(), 3);
    let mut boundaries = std::collections::HashSet::new();
    for (i, request) in seen.iter().enumerate() {
        assert_eq!(request.method, "POST");
        boundaries.insert(request.headers["content-type"].clone());
        assert_eq!(
            request.headers["content-length"].to_str().unwrap(),
            request.body.len().to_string(),
            "a length, not chunks"
        );
        let parts = parts(request);
        assert_eq!(parts.len(), 4);
        assert_eq!(
            parts[0],
            (
                "Content-Disposition: form-data; name=\"id\"".to_owned(),
                (i + 1).to_string().into_bytes()
            )
        );
        assert_eq!(
            parts[1].0,
            "Content-Disposition: form-data; name=\"caption\"\r\nContent-Type: text/plain"
        );
        assert_eq!(parts[1].1, b"a \"quoted\" name");
        assert_eq!(
            parts[2].0,
            "Content-Disposition: form-data; name=\"pic\"; filename=\"pic.bin\"\r\nContent-Type: application/octet-stream"
        );
        assert!(parts[2].1 == picture, "the file's bytes, whole");
        assert_eq!(
            parts[3].0,
            "Content-Disposition: form-data; name=\"note\"; filename=\"renamed.txt\"\r\nContent-Type: text/plain"
        );
        assert_eq!(parts[3].1, b"hello");
    }
    assert_eq!(boundaries.len(), 3, "each request draws its own boundary");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_file_is_sent_as_it_is_on_disk() {
    let (base, seen) = recorder().await;
    let dir = tempfile::tempdir().unwrap();
    let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::create_dir(dir.path().join("data")).unwrap();
    std::fs::write(dir.path().join("data/blob.bin"), &data).unwrap();
    let batch = common::batch_file(
        dir.path(),
        "b.json",
        &format!(r#"[{{"method": "PUT", "url": "{base}/blob", "body_file": "data/blob.bin"}}]"#),
    );
    run(&batch).await;
    let seen = seen.lock().unwrap();
    assert_eq!(seen[0].method, "PUT");
    assert!(seen[0].body == data);
    assert_eq!(
        seen[0].headers["content-length"].to_str().unwrap(),
        "200000"
    );
}

#[test]
fn a_missing_upload_fails_the_load_naming_the_entry_and_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let batch = common::batch_file(
        dir.path(),
        "b.json",
        r#"[{"url": "http://127.0.0.1:9/", "multipart": [{"name": "f", "file": "gone.png"}]}]"#,
    );
    let e = Batch::load(&batch).unwrap_err().to_string();
    assert!(e.contains("gone.png") && e.contains("entry 0"), "{e}");
    let batch = common::batch_file(
        dir.path(),
        "c.json",
        r#"[{"url": "http://127.0.0.1:9/", "multipart": [{"name": "f", "value": "x", "file": "y"}]}]"#,
    );
    let e = Batch::load(&batch).unwrap_err().to_string();
    assert!(e.contains("either `value` or `file`"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_gone_by_the_time_it_is_sent_is_a_recorded_failure() {
    let (base, seen) = recorder().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("f.bin"), b"12345").unwrap();
    let batch = common::batch_file(
        dir.path(),
        "b.json",
        &format!(r#"[{{"method": "PUT", "url": "{base}/x", "body_file": "f.bin"}}]"#),
    );
    let loaded = Batch::load(&batch).unwrap();
    std::fs::remove_file(dir.path().join("f.bin")).unwrap();
    let (handle, sink) = common::start_batch(
        &loaded,
        ratebench::RunConfig {
            limits: ratebench::Limits::new(1, 0.0),
            ..Default::default()
        },
    );
    handle.wait().await.unwrap();
    let records = sink.records();
    assert_eq!(records.len(), 1);
    let error = records[0].error.as_ref().expect("a failure, recorded");
    assert!(error.contains("f.bin"), "{error:?}");
    assert!(seen.lock().unwrap().is_empty(), "nothing half-sent arrived");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_values_differ_per_request_and_the_batch_keeps_its_identity() {
    let (base, seen) = recorder().await;
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        r#"{{"requests": [{{"method": "POST", "url": "{base}/g?n={{{{random_int(1, 6)}}}}",
            "headers": {{"Idempotency-Key": "{{{{uuid()}}}}"}},
            "json": {{"at": "{{{{timestamp_ms()}}}}", "tpl": "{{{{'{{{{'}}}}name}}}}"}},
            "for_each": {{"i": {{"range": [0, 20]}}}}}}]}}"#
    );
    let batch = common::batch_file(dir.path(), "b.json", &text);
    let a = Batch::load(&batch).unwrap().fingerprint();
    let b = Batch::load(&batch).unwrap().fingerprint();
    assert_eq!(a, b, "the values drawn do not change what the batch is");
    run(&batch).await;
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 20);
    let keys: std::collections::HashSet<_> = seen
        .iter()
        .map(|s| s.headers["idempotency-key"].to_str().unwrap().to_owned())
        .collect();
    assert_eq!(keys.len(), 20, "a fresh UUID for each request");
    for s in seen.iter() {
        let n: i64 = s.path.rsplit('=').next().unwrap().parse().unwrap();
        assert!((1..=6).contains(&n), "{}", s.path);
        let body: serde_json::Value = serde_json::from_slice(&s.body).unwrap();
        assert_eq!(body["tpl"], "{{name}}", "the escape sends a literal `{{`");
        let at: u64 = body["at"].as_str().unwrap().parse().unwrap();
        assert!(at > 1_700_000_000_000);
    }
}

// ---- Imported uploads: each tool's way of writing them, sent ----------------

/// Loads `name` (written with `text`, `{BASE}` replaced by the server's
/// address) from `dir` and runs it; what the server saw, in path order.
async fn import_and_send(
    dir: &std::path::Path,
    name: &str,
    text: &str,
) -> (Vec<Seen>, Vec<String>) {
    let (base, seen) = recorder().await;
    let path = common::batch_file(dir, name, &text.replace("{BASE}", &base));
    let warnings = Batch::load(&path)
        .unwrap_or_else(|e| panic!("{e}"))
        .warnings;
    run(&path).await;
    let mut seen = seen.lock().unwrap().clone();
    seen.sort_by(|a, b| a.path.cmp(&b.path));
    (seen, warnings)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_forms_uploads_and_heredocs_send_what_curl_would() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.png"), b"\x89PNG").unwrap();
    std::fs::write(dir.path().join("up.bin"), b"0123456789").unwrap();
    std::fs::write(dir.path().join("in.json"), "{\"from\": \"file\"}\n").unwrap();
    let text = "curl {BASE}/1 -F 'name=Ann' -F 'avatar=@a.png;type=image/x-png' -F 'note=x;filename=n.txt' --form-string 'raw=@not-a-file'\n\
                curl -T up.bin {BASE}/2/\n\
                curl {BASE}/3 -H 'Content-Type: application/json' -d @- <<'EOF'\n{\"items\": [1, 2],\n \"tpl\": \"{{x}} ${HOME}\"}\nEOF\n\
                curl {BASE}/4 --data-binary @- < in.json\n";
    let (seen, _) = import_and_send(dir.path(), "c.curl", text).await;
    assert_eq!(seen.len(), 4);
    assert_eq!(seen[0].method, "POST");
    let form = parts(&seen[0]);
    assert_eq!(form[0].1, b"Ann");
    assert_eq!(
        form[1].0,
        "Content-Disposition: form-data; name=\"avatar\"; filename=\"a.png\"\r\nContent-Type: image/x-png"
    );
    assert_eq!(form[1].1, b"\x89PNG");
    assert_eq!(
        form[2].0,
        "Content-Disposition: form-data; name=\"note\"; filename=\"n.txt\""
    );
    assert_eq!(form[3].1, b"@not-a-file");
    assert_eq!(
        (seen[1].method.as_str(), seen[1].path.as_str()),
        ("PUT", "/2/up.bin"),
        "-T puts, under the file's name for a URL ending in /"
    );
    assert_eq!(seen[1].body, b"0123456789");
    assert_eq!(seen[2].method, "POST");
    assert_eq!(
        String::from_utf8_lossy(&seen[2].body),
        "{\"items\": [1, 2], \"tpl\": \"{{x}} ${HOME}\"}",
        "a quoted heredoc is literal (`{{{{`, `${{`), its line ends dropped as -d does"
    );
    assert_eq!(seen[3].body, b"{\"from\": \"file\"}\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_files_continue_urls_start_requests_without_separators_and_upload() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("data.json"), "{\"n\": {{n}}}").unwrap();
    std::fs::write(dir.path().join("pic.png"), b"PIC").unwrap();
    let text = "@n = 7\n\
                GET {BASE}/a\n    /b\n    ?x=1\n    &y=2\nAccept: text/plain\n\n\
                POST {BASE}/c\nContent-Type: application/json\n\n< ./data.json\n\n\
                POST {BASE}/d\nContent-Type: application/json\n\n<@ ./data.json\n\n\
                ###\n\
                POST {BASE}/e\nContent-Type: multipart/form-data; boundary=WebAppBoundary\n\n\
                --WebAppBoundary\nContent-Disposition: form-data; name=\"element-name\"\nContent-Type: text/plain\n\nName {{n}}\n\
                --WebAppBoundary\nContent-Disposition: form-data; name=\"data\"; filename=\"data.json\"\nContent-Type: application/json\n\n< ./pic.png\n\
                --WebAppBoundary--\n";
    let (seen, _) = import_and_send(dir.path(), "f.http", text).await;
    let paths: Vec<_> = seen
        .iter()
        .map(|s| format!("{} {}", s.method, s.path))
        .collect();
    assert_eq!(
        paths,
        ["GET /a/b?x=1&y=2", "POST /c", "POST /d", "POST /e"],
        "indented lines continue the URL; a request line after a blank line starts the next"
    );
    assert_eq!(
        seen[1].body, b"{\"n\": {{n}}}",
        "`<` sends the file as it is"
    );
    assert_eq!(seen[2].body, b"{\"n\": 7}", "`<@` substitutes variables");
    let form = parts(&seen[3]);
    assert_eq!(form[0].1, b"Name 7");
    assert_eq!(
        form[1].0,
        "Content-Disposition: form-data; name=\"data\"; filename=\"data.json\"\r\nContent-Type: application/json"
    );
    assert_eq!(form[1].1, b"PIC");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postman_form_data_and_har_multipart_are_sent_as_forms() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("doc.pdf"), b"%PDF").unwrap();
    let collection = r#"{"info": {"name": "x", "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"},
        "item": [{"name": "up", "request": {"method": "POST", "url": "{BASE}/up",
            "header": [{"key": "Content-Type", "value": "multipart/form-data; boundary=old"}],
            "body": {"mode": "formdata", "formdata": [
                {"key": "title", "value": "Q{{$randomInt}}", "type": "text"},
                {"key": "off", "value": "no", "type": "text", "disabled": true},
                {"key": "doc", "type": "file", "src": "doc.pdf"},
                {"key": "lost", "type": "file", "src": "/nowhere/lost.bin"}]}}}]}"#;
    let (seen, warnings) =
        import_and_send(dir.path(), "c.postman_collection.json", collection).await;
    let form = parts(&seen[0]);
    assert_eq!(form.len(), 2, "{form:?}");
    let title = String::from_utf8(form[0].1.clone()).unwrap();
    assert!(title[1..].parse::<u32>().unwrap() <= 1000, "{title}");
    assert_eq!(
        form[1].0,
        "Content-Disposition: form-data; name=\"doc\"; filename=\"doc.pdf\"\r\nContent-Type: application/pdf"
    );
    assert_eq!(form[1].1, b"%PDF");
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("`lost`") && w.contains("sent without it")),
        "{warnings:?}"
    );

    let har = r#"{"log": {"version": "1.2", "creator": {"name": "x", "version": "1"}, "entries": [
        {"request": {"method": "POST", "url": "{BASE}/har", "httpVersion": "HTTP/1.1",
            "headers": [{"name": "Content-Type", "value": "multipart/form-data; boundary=----WebKitFormBoundary"}],
            "queryString": [], "cookies": [], "headersSize": -1, "bodySize": 10,
            "postData": {"mimeType": "multipart/form-data; boundary=----WebKitFormBoundary",
                "params": [{"name": "a", "value": "1"}, {"name": "a", "value": "2"},
                           {"name": "f", "value": "file text", "fileName": "f.txt", "contentType": "text/plain"}]}},
         "response": {"status": 200, "statusText": "", "httpVersion": "HTTP/1.1", "headers": [], "cookies": [],
            "content": {"size": 0, "mimeType": "text/plain"}, "redirectURL": "", "headersSize": -1, "bodySize": 0},
         "startedDateTime": "2024-01-01T00:00:00Z", "time": 1, "cache": {}, "timings": {"send": 0, "wait": 1, "receive": 0}}]}}"#;
    let (seen, _) = import_and_send(dir.path(), "r.har", har).await;
    let form = parts(&seen[0]);
    assert_eq!(
        form.iter().map(|(_, c)| c.as_slice()).collect::<Vec<_>>(),
        [&b"1"[..], b"2", b"file text"],
        "repeated fields stay, none URL-encoded"
    );
    assert_eq!(
        form[2].0,
        "Content-Disposition: form-data; name=\"f\"; filename=\"f.txt\"\r\nContent-Type: text/plain"
    );
}
