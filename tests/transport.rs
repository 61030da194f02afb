//! The transport (issue 18), against servers written here: redirects of
//! each kind as hops the server and the record count, each through the
//! pacer and the cap; credentials left behind across origins; HTTP/2 by
//! ALPN on a local TLS server with a generated certificate; `--insecure`;
//! a gzip-encoded kept body; a CONNECT proxy; the cap on connections.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::any;
use hyper_util::rt::{TokioExecutor, TokioIo};
use ratebench::batch::LoadOptions;
use ratebench::engine::Proxy;
use ratebench::model::{ErrorKind, Limits};
use ratebench::{Batch, RunConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::common;

fn batch(text: &str) -> Batch {
    Batch::parse_str(text, Path::new("t.json"), &LoadOptions::default()).unwrap()
}

fn config(max_at_once: u64, per_second: f64) -> RunConfig {
    RunConfig {
        limits: Limits::new(max_at_once, per_second),
        ..RunConfig::default()
    }
}

/// What a server written here saw: each request's method, path, headers,
/// body and arrival, in order.
#[derive(Default)]
struct Seen {
    hits: Mutex<Vec<Hit>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

async fn note(seen: &Seen, request: Request) {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20).await.unwrap();
    seen.hits.lock().unwrap().push(Hit {
        path: parts.uri.path().to_owned(),
        headers: parts.headers,
        body: String::from_utf8_lossy(&body).into_owned(),
        at: Instant::now(),
    });
}

struct Hit {
    path: String,
    headers: HeaderMap,
    body: String,
    at: Instant,
}

/// `/to/{code}?at=URL`: answers `code` with Location URL (else `/echo`);
/// `/chain/{n}`: 302 to `/chain/{n-1}`, `/chain/0` 200 after 20 ms;
/// `/echo`: 200 with "METHOD BODY".
async fn redirector(seen: Arc<Seen>) -> String {
    async fn handle(State(seen): State<Arc<Seen>>, request: Request) -> axum::response::Response {
        let path = request.uri().path().to_owned();
        let query = request.uri().query().unwrap_or_default().to_owned();
        let method = request.method().to_string();
        let now = seen.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        seen.max_in_flight.fetch_max(now, Ordering::SeqCst);
        note(&seen, request).await;
        let body = seen.hits.lock().unwrap().last().unwrap().body.clone();
        let response = if let Some(code) = path.strip_prefix("/to/") {
            let to = query.strip_prefix("at=").unwrap_or("/echo").to_owned();
            let code = StatusCode::from_u16(code.parse().unwrap()).unwrap();
            (code, [(header::LOCATION, to)]).into_response()
        } else if let Some(n) = path.strip_prefix("/chain/") {
            let n: u32 = n.parse().unwrap();
            if n == 0 {
                tokio::time::sleep(Duration::from_millis(20)).await;
                "done".into_response()
            } else {
                let to = format!("/chain/{}", n - 1);
                (StatusCode::FOUND, [(header::LOCATION, to)]).into_response()
            }
        } else {
            format!("{method} {body}").into_response()
        };
        seen.in_flight.fetch_sub(1, Ordering::SeqCst);
        response
    }
    common::serve(Router::new().fallback(handle).with_state(seen)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_kind_of_redirect_is_a_hop_the_server_and_the_record_count() {
    let seen = Arc::new(Seen::default());
    let base = redirector(seen.clone()).await;
    let entries: Vec<String> = [301, 302, 303, 307, 308]
        .iter()
        .map(|c| format!(r#"{{"method": "POST", "url": "/to/{c}", "body": "b{c}"}}"#))
        .collect();
    let text = format!(
        r#"{{"base_url": "{base}", "requests": [{}]}}"#,
        entries.join(",")
    );
    let (handle, sink) = common::start_batch(
        &batch(&text),
        RunConfig {
            keep_body: Some(1024),
            ..config(1, 0.0)
        },
    );
    let summary = handle.wait().await.unwrap();
    let mut records = sink.records();
    records.sort_by_key(|r| r.index);
    let bodies: Vec<&str> = records.iter().map(|r| r.body.as_deref().unwrap()).collect();
    // 303, and a POST under 301 or 302, become GETs without a body; 307
    // and 308 keep method and body.
    assert_eq!(bodies, ["GET ", "GET ", "GET ", "POST b307", "POST b308"]);
    for (record, code) in records.iter().zip([301, 302, 303, 307, 308]) {
        assert!(record.ok, "{record:?}");
        assert_eq!(record.redirects, 1);
        assert!(
            record.url.ends_with(&format!("/to/{code}")),
            "{}",
            record.url
        );
        assert_eq!(
            record.final_url.as_deref(),
            Some(format!("{base}/echo").as_str())
        );
        assert_eq!(
            record.attempts_log.len(),
            1,
            "the hop's answer is in the log"
        );
        assert_eq!(record.attempts_log[0].status, Some(code));
        assert_eq!(record.attempts, 1, "a hop is no retry");
    }
    // The server saw ten requests; the run counted ten answers, five 3xx.
    assert_eq!(seen.hits.lock().unwrap().len(), 10);
    let by_status = &summary.totals.by_status;
    assert_eq!(by_status.get(&200), Some(&5), "{by_status:?}");
    let answers = &summary.totals.answers;
    assert_eq!(answers.total, 10, "{answers:?}");
    for code in [301, 302, 303, 307, 308] {
        assert_eq!(answers.by_status.get(&code), Some(&1), "{answers:?}");
    }
    assert_eq!(summary.calls, 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_hop_waits_for_the_pacer_and_the_cap() {
    let seen = Arc::new(Seen::default());
    let base = redirector(seen.clone()).await;
    let text = format!(
        r#"{{"base_url": "{base}", "requests": [{{"url": "/chain/3"}}, {{"url": "/chain/3"}}]}}"#
    );
    let (handle, sink) = common::start_batch(&batch(&text), config(1, 20.0));
    handle.wait().await.unwrap();
    let hits = seen.hits.lock().unwrap();
    assert_eq!(hits.len(), 8, "two requests of three hops and a page");
    assert_eq!(seen.max_in_flight.load(Ordering::SeqCst), 1, "the cap");
    let gaps: Vec<Duration> = hits.windows(2).map(|w| w[1].at - w[0].at).collect();
    // 20/s: 50 ms apart, give or take the server's clock.
    assert!(
        gaps.iter().all(|g| *g >= Duration::from_millis(40)),
        "{gaps:?}"
    );
    assert!(sink.records().iter().all(|r| r.ok && r.redirects == 3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_stay_behind_when_a_redirect_changes_origin() {
    let (a, b) = (Arc::new(Seen::default()), Arc::new(Seen::default()));
    let base_a = redirector(a.clone()).await;
    let base_b = redirector(b.clone()).await;
    let text = format!(
        r#"{{"base_url": "{base_a}",
            "headers": {{"Authorization": "Bearer s3cret", "Cookie": "id=1",
                         "X-Api-Key": "k", "X-Trace": "t"}},
            "requests": [{{"url": "/to/307?at={base_b}/echo"}}, {{"url": "/to/307"}}]}}"#
    );
    let (handle, sink) = common::start_batch(&batch(&text), config(1, 0.0));
    handle.wait().await.unwrap();
    assert!(sink.records().iter().all(|r| r.ok));
    let other = b.hits.lock().unwrap();
    assert_eq!(other.len(), 1);
    let headers = &other[0].headers;
    for name in ["authorization", "cookie", "x-api-key"] {
        assert!(!headers.contains_key(name), "{name} went to another origin");
    }
    assert_eq!(headers["x-trace"], "t");
    // The same origin: everything goes on.
    let same = a.hits.lock().unwrap();
    let echo = same.iter().find(|h| h.path == "/echo").unwrap();
    assert_eq!(echo.headers["authorization"], "Bearer s3cret");
    assert_eq!(echo.headers["x-api-key"], "k");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_redirects_allowed_the_3xx_is_the_answer() {
    let seen = Arc::new(Seen::default());
    let base = redirector(seen.clone()).await;
    let text = format!(
        r#"{{"base_url": "{base}", "max_redirects": 0, "requests": [{{"url": "/to/302"}}]}}"#
    );
    let dir = tempfile::tempdir().unwrap();
    let path = common::batch_file(dir.path(), "r.json", &text);
    let out = dir.path().join("r.jsonl");
    let output = common::ratebench(&[
        "run",
        path.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ])
    .await;
    assert!(output.status.success(), "{output:?}");
    let records = common::records(&out);
    assert_eq!(records[0].status, Some(302));
    assert_eq!(records[0].redirects, 0);
    assert_eq!(seen.hits.lock().unwrap().len(), 1);
}

// ---- TLS ---------------------------------------------------------------------------

/// A TLS server with a certificate made now (rcgen) for 127.0.0.1 and
/// localhost, offering `alpn`; `/version` answers the HTTP version the
/// request came in. Its https base URL.
async fn tls_server(alpn: &[&[u8]]) -> String {
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .unwrap();
    let cert = certified.cert.der().clone();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into());
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert], key)
    .unwrap();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let app = Router::new().route(
        "/version",
        any(|request: Request| async move { format!("{:?}", request.version()) }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("https://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let (acceptor, app) = (acceptor.clone(), app.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = hyper_util::service::TowerToHyperService::new(app);
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    base
}

async fn one(url: &str, config: RunConfig) -> ratebench::RequestRecord {
    let text = format!(r#"{{"requests": [{{"url": "{url}"}}]}}"#);
    let (handle, sink) = common::start_batch(
        &batch(&text),
        RunConfig {
            keep_body: Some(1024),
            ..config
        },
    );
    handle.wait().await.unwrap();
    sink.records().remove(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_speaks_http2_when_the_server_offers_it_by_alpn() {
    let insecure = || RunConfig {
        insecure: true,
        ..config(1, 0.0)
    };
    let h2 = tls_server(&[b"h2", b"http/1.1"]).await;
    let record = one(&format!("{h2}/version"), insecure()).await;
    assert_eq!(record.body.as_deref(), Some("HTTP/2.0"), "{record:?}");
    let h1 = tls_server(&[b"http/1.1"]).await;
    let record = one(&format!("{h1}/version"), insecure()).await;
    assert_eq!(record.body.as_deref(), Some("HTTP/1.1"), "{record:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_self_signed_certificate_fails_as_tls_unless_insecure() {
    let base = tls_server(&[b"h2", b"http/1.1"]).await;
    let record = one(&format!("{base}/version"), config(1, 0.0)).await;
    assert_eq!(record.error_kind, Some(ErrorKind::Tls), "{record:?}");
    let message = record.error.unwrap();
    assert!(
        message.starts_with("tls handshake with 127.0.0.1:") && message.contains("certificate"),
        "{message}"
    );
    // The CLI names --insecure in the summary.
    let dir = tempfile::tempdir().unwrap();
    let path = common::batch_file(
        dir.path(),
        "t.json",
        &format!(r#"{{"requests": [{{"url": "{base}/version"}}]}}"#),
    );
    let output = common::ratebench(&["run", path.to_str().unwrap(), "--insecure"]).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    assert!(
        stdout.contains("transport        insecure: any TLS certificate accepted"),
        "{stdout}"
    );
}

// ---- Compression -------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gzip_encoded_kept_body_is_decoded_and_counted_as_received() {
    use std::io::Write;
    let text = r#"{"items": [1, 2, 3], "note": "compressed on the wire"}"#;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(text.as_bytes()).unwrap();
    let encoded = gz.finish().unwrap();
    let len = encoded.len();
    type Asked = Arc<Mutex<Vec<Option<String>>>>;
    let asked: Asked = Arc::new(Mutex::new(Vec::new()));
    let app = Router::new()
        .route(
            "/gz",
            any(
                |State((body, asked)): State<(Vec<u8>, Asked)>, headers: HeaderMap| async move {
                    let ae = headers.get(header::ACCEPT_ENCODING);
                    asked
                        .lock()
                        .unwrap()
                        .push(ae.map(|v| v.to_str().unwrap().to_owned()));
                    (
                        [
                            (header::CONTENT_ENCODING, "gzip"),
                            (header::CONTENT_TYPE, "application/json"),
                        ],
                        body,
                    )
                },
            ),
        )
        .with_state((encoded, asked.clone()));
    let base = common::serve(app).await;
    let record = one(&format!("{base}/gz"), config(1, 0.0)).await;
    assert_eq!(record.body.as_deref(), Some(text));
    assert_eq!(record.bytes, len as u64, "bytes as received");
    assert_eq!(
        *asked.lock().unwrap(),
        [None],
        "no Accept-Encoding of our own"
    );
}

// ---- Proxies -----------------------------------------------------------------------

/// A small HTTP proxy: CONNECT opens a tunnel; an absolute-form request
/// is sent on in origin form. It keeps each request line and whether it
/// carried Proxy-Authorization.
async fn proxy() -> (String, Arc<Mutex<Vec<(String, bool)>>>) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let kept = lines.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut client, _)) = listener.accept().await else {
                return;
            };
            let lines = kept.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                while !head.ends_with(b"\r\n\r\n") {
                    let Ok(byte) = client.read_u8().await else {
                        return;
                    };
                    head.push(byte);
                }
                let text = String::from_utf8_lossy(&head).into_owned();
                let line = text.lines().next().unwrap().to_owned();
                let auth = text.to_ascii_lowercase().contains("proxy-authorization:");
                lines.lock().unwrap().push((line.clone(), auth));
                let mut parts = line.split(' ');
                let (method, target) = (parts.next().unwrap(), parts.next().unwrap());
                if method == "CONNECT" {
                    let mut upstream = TcpStream::connect(target).await.unwrap();
                    client
                        .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
                        .await
                        .unwrap();
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                } else {
                    let rest = target.strip_prefix("http://").unwrap();
                    let (authority, path) = rest.split_at(rest.find('/').unwrap());
                    let mut upstream = TcpStream::connect(authority).await.unwrap();
                    let head = text.replacen(target, path, 1);
                    upstream.write_all(head.as_bytes()).await.unwrap();
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                }
            });
        }
    });
    (base, lines)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxy_carries_http_in_absolute_form_and_https_through_connect() {
    let (proxy_base, lines) = proxy().await;
    let server = common::start().await;
    let tls = tls_server(&[b"h2", b"http/1.1"]).await;
    let with_proxy = |insecure| RunConfig {
        insecure,
        proxy: Proxy::Url(proxy_base.replace("http://", "http://u:p@")),
        ..config(1, 0.0)
    };
    let record = one(&server.url("/ok"), with_proxy(false)).await;
    assert!(record.ok, "{record:?}");
    let record = one(&format!("{tls}/version"), with_proxy(true)).await;
    assert_eq!(record.body.as_deref(), Some("HTTP/2.0"), "{record:?}");
    let lines = lines.lock().unwrap().clone();
    let tls_authority = tls.strip_prefix("https://").unwrap();
    assert_eq!(
        lines,
        [
            (format!("GET {} HTTP/1.1", server.url("/ok")), true),
            (format!("CONNECT {tls_authority} HTTP/1.1"), true),
        ]
    );
    assert_eq!(server.seen.count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_from_env_reads_the_environment_and_only_when_asked() {
    let (proxy_base, lines) = proxy().await;
    let server = common::start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = common::batch_file(
        dir.path(),
        "p.json",
        &format!(r#"{{"requests": [{{"url": "{}"}}]}}"#, server.url("/ok")),
    );
    let run = |flag: Option<&'static str>| {
        let mut command = common::ratebench_command();
        command
            .args(["run", path.to_str().unwrap()])
            .args(flag)
            .env("HTTP_PROXY", &proxy_base)
            .env_remove("NO_PROXY")
            .env_remove("no_proxy")
            .stdin(std::process::Stdio::null());
        tokio::task::spawn_blocking(move || command.output().unwrap())
    };
    let output = run(None).await.unwrap();
    assert!(output.status.success(), "{output:?}");
    assert!(lines.lock().unwrap().is_empty(), "no proxy unless asked");
    let output = run(Some("--proxy-from-env")).await.unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(lines.lock().unwrap().len(), 1);
    assert_eq!(server.seen.count(), 2);
}

// ---- Connections -------------------------------------------------------------------

/// A server that counts connections: opened, open at once at most, and
/// requests in flight at most; each answer after `latency`.
struct Counting {
    base: String,
    opened: Arc<AtomicUsize>,
    open_max: Arc<AtomicUsize>,
}

async fn counting(latency: Duration) -> Counting {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let opened = Arc::new(AtomicUsize::new(0));
    let open_max = Arc::new(AtomicUsize::new(0));
    let open = Arc::new(AtomicUsize::new(0));
    let (o, m) = (opened.clone(), open_max.clone());
    let app = Router::new().route(
        "/slow",
        any(move || async move {
            tokio::time::sleep(latency).await;
            "ok"
        }),
    );
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            o.fetch_add(1, Ordering::SeqCst);
            let now = open.fetch_add(1, Ordering::SeqCst) + 1;
            m.fetch_max(now, Ordering::SeqCst);
            let (open, app) = (open.clone(), app.clone());
            tokio::spawn(async move {
                let service = hyper_util::service::TowerToHyperService::new(app);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), service)
                    .await;
                open.fetch_sub(1, Ordering::SeqCst);
            });
        }
    });
    Counting {
        base,
        opened,
        open_max,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_connections_caps_open_connections_apart_from_max_at_once() {
    let server = counting(Duration::from_millis(10)).await;
    let text = common::n_requests(&server.base, "/slow", 40, "");
    let (handle, sink) = common::start_batch(
        &batch(&text),
        RunConfig {
            max_connections: Some(2),
            ..config(8, 0.0)
        },
    );
    let summary = handle.wait().await.unwrap();
    assert!(sink.records().iter().all(|r| r.ok));
    assert_eq!(server.open_max.load(Ordering::SeqCst), 2);
    assert_eq!(summary.connections_opened, 2);
    assert_eq!(
        summary.max_in_flight, 8,
        "requests wait for a connection in flight"
    );
    // Without the cap, a connection per request in flight.
    let free = counting(Duration::from_millis(10)).await;
    let text = common::n_requests(&free.base, "/slow", 40, "");
    let (handle, _) = common::start_batch(&batch(&text), config(8, 0.0));
    let summary = handle.wait().await.unwrap();
    assert_eq!(free.opened.load(Ordering::SeqCst), 8);
    assert_eq!(summary.connections_opened, 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_connections_changes_live_and_the_snapshot_shows_connections() {
    let server = counting(Duration::from_millis(20)).await;
    let text = common::n_requests(&server.base, "/slow", 120, "");
    let (mut handle, _sink) = common::start_batch(
        &batch(&text),
        RunConfig {
            max_connections: Some(1),
            ..config(8, 0.0)
        },
    );
    loop {
        handle.stats.changed().await.unwrap();
        let s = handle.stats.borrow().clone();
        if s.totals.done >= 10 {
            assert_eq!((s.connections.open, s.connections.cap), (1, Some(1)));
            break;
        }
    }
    handle.send(ratebench::engine::Command::SetMaxConnections(Some(4)));
    let mut seen_four = false;
    while !seen_four {
        handle.stats.changed().await.unwrap();
        let s = handle.stats.borrow().clone();
        assert!(s.totals.done < 120, "never four connections open");
        seen_four = s.connections.open == 4 && s.connections.cap == Some(4);
    }
    let summary = handle.wait().await.unwrap();
    assert_eq!(server.open_max.load(Ordering::SeqCst), 4);
    assert_eq!(summary.connections_opened, 4);
}
