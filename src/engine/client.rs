//! One HTTP attempt: send, read the whole body, time it, classify failures.

use std::collections::BTreeMap;
use std::error::Error as _;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use reqwest::Client;
use tokio::time::Instant;

use crate::batch::upload::{Segment, Upload};
use crate::batch::{Body, RequestSpec};
use crate::model::ErrorKind;
use crate::model::is_selected_header;

/// The user agent every request carries unless the batch sets one.
pub const USER_AGENT: &str = concat!("ratebench/", env!("CARGO_PKG_VERSION"));

/// The headers the HTTP client adds to a request that does not set them:
/// what a captured request (a HAR) must show to be what was sent.
pub fn added_headers() -> [(&'static str, &'static str); 3] {
    [
        ("user-agent", USER_AGENT),
        ("accept", "*/*"),
        ("accept-encoding", "gzip"),
    ]
}

/// Builds the one client a run shares. Its own hidden retries are off, so
/// every attempt we count is one the server saw.
pub fn build_client(max_at_once: Option<u64>, http2: bool) -> reqwest::Result<Client> {
    let mut builder = Client::builder()
        .redirect(reqwest::redirect::Policy::limited(10))
        .retry(reqwest::retry::never())
        .tcp_nodelay(true)
        .no_proxy()
        .user_agent(USER_AGENT);
    if let Some(cap) = max_at_once {
        builder = builder.pool_max_idle_per_host(cap.min(100_000) as usize);
    }
    builder = if http2 {
        builder.http2_prior_knowledge()
    } else {
        builder.http1_only()
    };
    builder.build()
}

/// An upload's segments as a stream of chunks, each file read 64 KiB at a
/// time as the connection takes it; a file that cannot be read ends the
/// stream with an error naming it (the attempt records it).
fn stream(
    segments: Vec<Segment>,
) -> impl futures_util::Stream<Item = std::io::Result<Bytes>> + Send + 'static {
    use tokio::io::AsyncReadExt;
    type State = (
        std::vec::IntoIter<Segment>,
        Option<(tokio::fs::File, String)>,
    );
    let start: State = (segments.into_iter(), None);
    futures_util::stream::unfold(start, |(mut rest, mut file)| async move {
        loop {
            if let Some((f, name)) = file.as_mut() {
                let mut buf = bytes::BytesMut::with_capacity(64 * 1024);
                match f.read_buf(&mut buf).await {
                    Ok(0) => file = None,
                    Ok(_) => return Some((Ok(buf.freeze()), (rest, file))),
                    Err(e) => {
                        let e = std::io::Error::new(e.kind(), format!("cannot read {name}: {e}"));
                        return Some((Err(e), (Vec::new().into_iter(), None)));
                    }
                }
                continue;
            }
            match rest.next()? {
                Segment::Bytes(b) => return Some((Ok(b), (rest, None))),
                Segment::File(path) => match tokio::fs::File::open(&path).await {
                    Ok(f) => file = Some((f, path.display().to_string())),
                    Err(e) => {
                        let e = std::io::Error::new(
                            e.kind(),
                            format!("cannot read {}: {e}", path.display()),
                        );
                        return Some((Err(e), (Vec::new().into_iter(), None)));
                    }
                },
            }
        }
    })
}

/// What one attempt produced.
#[derive(Debug)]
pub struct AttemptResult {
    pub sent_at: SystemTime,
    /// Sent → body read (or → failure).
    pub latency: Duration,
    pub status: Option<u16>,
    pub headers: BTreeMap<String, String>,
    pub bytes: u64,
    pub body: Option<Vec<u8>>,
    pub error: Option<(ErrorKind, String)>,
}

/// Sends `spec` once. Never fails: a fault is part of the result. Keeps
/// the selected response headers, or all of them with `all_headers`.
pub async fn attempt(
    client: &Client,
    spec: &RequestSpec,
    timeout: Duration,
    keep_body: Option<usize>,
    all_headers: bool,
) -> AttemptResult {
    let mut req = client
        .request(spec.method.clone(), spec.url.clone())
        .headers(spec.headers.clone())
        .timeout(spec.timeout.unwrap_or(timeout));
    match &spec.body {
        None => {}
        Some(Body::Bytes(bytes)) => req = req.body(bytes.clone()),
        Some(Body::Upload(upload)) => {
            let segments = upload.segments();
            if let Some(len) = Upload::length(&segments) {
                req = req.header(reqwest::header::CONTENT_LENGTH, len);
            }
            req = req.body(reqwest::Body::wrap_stream(stream(segments)));
        }
    }
    let sent_at = SystemTime::now();
    let sent = Instant::now();
    let mut result = AttemptResult {
        sent_at,
        latency: Duration::ZERO,
        status: None,
        headers: BTreeMap::new(),
        bytes: 0,
        body: None,
        error: None,
    };
    match req.send().await {
        Err(e) => result.error = Some(classify(&e)),
        Ok(mut response) => {
            result.status = Some(response.status().as_u16());
            for (name, value) in response.headers() {
                if (all_headers || is_selected_header(name.as_str()))
                    && let Ok(v) = value.to_str()
                {
                    result
                        .headers
                        .insert(name.as_str().to_owned(), v.to_owned());
                }
            }
            let mut kept = keep_body.map(|cap| Vec::with_capacity(cap.min(16 * 1024)));
            loop {
                match response.chunk().await {
                    Ok(Some(chunk)) => {
                        result.bytes += chunk.len() as u64;
                        if let (Some(buf), Some(cap)) = (kept.as_mut(), keep_body) {
                            let room = cap.saturating_sub(buf.len());
                            buf.extend_from_slice(&chunk[..room.min(chunk.len())]);
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        // The head arrived: whatever broke, broke in the body.
                        let (kind, message) = classify(&e);
                        let kind = if kind == ErrorKind::Timeout {
                            kind
                        } else {
                            ErrorKind::Body
                        };
                        result.error = Some((kind, message));
                        break;
                    }
                }
            }
            result.body = kept;
        }
    }
    result.latency = sent.elapsed();
    result
}

/// Maps a reqwest error to a kind and a message with its whole cause chain.
pub fn classify(e: &reqwest::Error) -> (ErrorKind, String) {
    let mut message = e.to_string();
    let mut source = e.source();
    let mut chain = String::new();
    let mut io_kind = None;
    let mut root = None;
    while let Some(s) = source {
        let text = s.to_string();
        root = Some(text.clone());
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        chain.push_str(&text.to_ascii_lowercase());
        chain.push('\n');
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            io_kind = Some(io.kind());
        }
        source = s.source();
    }
    use std::io::ErrorKind as Io;
    let kind = if e.is_timeout() || io_kind == Some(Io::TimedOut) {
        ErrorKind::Timeout
    } else if e.is_redirect() {
        ErrorKind::Redirect
    } else if chain.contains("dns error") || chain.contains("failed to lookup address") {
        ErrorKind::Dns
    } else if [
        "certificate",
        "tls",
        "handshake",
        "corrupt message",
        "peer is incompatible",
        "peer misbehaved",
    ]
    .iter()
    .any(|s| chain.contains(s))
    {
        ErrorKind::Tls
    } else if e.is_connect() {
        ErrorKind::Connect
    } else if matches!(
        io_kind,
        Some(Io::ConnectionReset | Io::BrokenPipe | Io::ConnectionAborted | Io::UnexpectedEof)
    ) || chain.contains("connection closed before message completed")
        || chain.contains("connection reset")
    {
        ErrorKind::Reset
    } else if e.is_body() || e.is_decode() {
        ErrorKind::Body
    } else {
        ErrorKind::Other
    };
    (kind, root_first(root.as_deref(), e, message))
}

/// The message with the root cause first, as a person reads it
/// ("connection refused (127.0.0.1:18)"), then the whole chain from the
/// HTTP client's generic "error sending request" down, for the details.
fn root_first(root: Option<&str>, e: &reqwest::Error, chain: String) -> String {
    let Some(root) = root else {
        return chain;
    };
    // "Connection refused (os error 111)": the OS's number says nothing.
    let root = match root.rfind(" (os error") {
        Some(i) => &root[..i],
        None => root,
    };
    let mut first = root.chars();
    let root: String = first
        .next()
        .map(|c| c.to_lowercase().chain(first).collect())
        .unwrap_or_default();
    let place = e
        .url()
        .and_then(|u| {
            Some(format!(
                " ({}:{})",
                u.host_str()?,
                u.port_or_known_default()?
            ))
        })
        .unwrap_or_default();
    format!("{root}{place} — {chain}")
}
