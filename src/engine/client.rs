//! One HTTP attempt through the transport: send, read the whole body
//! (decoding a kept one the server compressed), time it, classify failures.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures_util::TryStreamExt;
use http::header::{CONTENT_ENCODING, CONTENT_LENGTH, LOCATION};
use http_body_util::{BodyExt, Either, Full, StreamBody};
use hyper::body::Frame;
use tokio::time::Instant;

use super::connect::ConnectFailure;
use super::decode;
use super::transport::{ReqBody, Transport};

use crate::batch::upload::{Segment, Upload};
use crate::batch::{Body, RequestSpec};
use crate::model::ErrorKind;
use crate::model::is_selected_header;

/// The user agent every request carries unless the batch sets one.
pub const USER_AGENT: &str = concat!("ratebench/", env!("CARGO_PKG_VERSION"));

/// The headers every request carries unless the batch sets them: what a
/// captured request (a HAR) must show to be what was sent. No
/// Accept-Encoding: a server compresses only when the batch asks.
pub fn added_headers() -> [(&'static str, &'static str); 2] {
    [("user-agent", USER_AGENT), ("accept", "*/*")]
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
    /// Where a redirect points (whether or not the headers are kept).
    pub location: Option<String>,
    /// Bytes of body as received (before any decoding).
    pub bytes: u64,
    /// The kept body, decoded when the server compressed it.
    pub body: Option<Vec<u8>>,
    pub error: Option<(ErrorKind, String)>,
}

/// Sends `spec` once. Never fails: a fault is part of the result. Keeps
/// the selected response headers, or all of them with `all_headers`.
pub async fn attempt(
    transport: &Transport,
    spec: &RequestSpec,
    timeout: Duration,
    keep_body: Option<usize>,
    all_headers: bool,
) -> AttemptResult {
    let mut result = AttemptResult {
        sent_at: SystemTime::now(),
        latency: Duration::ZERO,
        status: None,
        headers: BTreeMap::new(),
        location: None,
        bytes: 0,
        body: None,
        error: None,
    };
    let sent = Instant::now();
    let limit = spec.timeout.unwrap_or(timeout);
    let exchange = exchange(transport, spec, keep_body, all_headers, &mut result);
    if tokio::time::timeout(limit, exchange).await.is_err() {
        let what = if result.status.is_some() {
            "the body"
        } else {
            "an answer"
        };
        result.error = Some((
            ErrorKind::Timeout,
            format!(
                "timed out: no {what} within {} ({})",
                humantime::format_duration(limit),
                place(&spec.url)
            ),
        ));
    }
    result.latency = sent.elapsed();
    result
}

/// Sends the request and reads the answer into `result`, so what came
/// before a timeout (the head, some bytes) is kept.
async fn exchange(
    transport: &Transport,
    spec: &RequestSpec,
    keep_body: Option<usize>,
    all_headers: bool,
    result: &mut AttemptResult,
) {
    let request = match request(transport, spec) {
        Ok(request) => request,
        Err(e) => {
            result.error = Some(e);
            return;
        }
    };
    let response = match transport.client().request(request).await {
        Ok(response) => response,
        Err(e) => {
            result.error = Some(classify(&e, &spec.url));
            return;
        }
    };
    result.status = Some(response.status().as_u16());
    let headers = response.headers();
    for (name, value) in headers {
        if (all_headers || is_selected_header(name.as_str()))
            && let Ok(v) = value.to_str()
        {
            result
                .headers
                .insert(name.as_str().to_owned(), v.to_owned());
        }
    }
    result.location = text(headers, LOCATION);
    let encoding = text(headers, CONTENT_ENCODING).filter(|e| decode::is_decodable(e));
    // An encoded body is kept further, to decode to the kept size.
    let raw_cap = keep_body.map(|cap| match encoding {
        Some(_) => cap.saturating_mul(decode::ENCODED_SHARE).max(64 * 1024),
        None => cap,
    });
    let mut kept = raw_cap.map(|cap| Vec::with_capacity(cap.min(16 * 1024)));
    let mut body = response.into_body();
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(frame) => {
                if let Some(chunk) = frame.data_ref() {
                    result.bytes += chunk.len() as u64;
                    if let (Some(buf), Some(cap)) = (kept.as_mut(), raw_cap) {
                        let room = cap.saturating_sub(buf.len());
                        buf.extend_from_slice(&chunk[..room.min(chunk.len())]);
                    }
                }
            }
            Err(e) => {
                // The head arrived: whatever broke, broke in the body.
                let (_, message) = describe(&e, &spec.url);
                result.error = Some((ErrorKind::Body, message));
                break;
            }
        }
    }
    result.body = match (kept, encoding, keep_body) {
        (Some(raw), Some(encoding), Some(cap)) => Some(decode::decode(&encoding, &raw, cap)),
        (kept, _, _) => kept,
    };
}

fn text(headers: &http::HeaderMap, name: http::HeaderName) -> Option<String> {
    headers.get(name)?.to_str().ok().map(str::to_owned)
}

/// The request hyper sends: the batch's headers, the ones every request
/// carries where the batch set none ([`added_headers`]), and the body.
fn request(
    transport: &Transport,
    spec: &RequestSpec,
) -> Result<http::Request<ReqBody>, (ErrorKind, String)> {
    let uri: http::Uri = spec.url.as_str().parse().map_err(|e| {
        (
            ErrorKind::Other,
            format!("{} is not an address hyper can send to: {e}", spec.url),
        )
    })?;
    let (body, length) = match &spec.body {
        None => (Either::Left(Full::new(Bytes::new())), None),
        Some(Body::Bytes(bytes)) => (Either::Left(Full::new(bytes.clone())), None),
        Some(Body::Upload(upload)) => {
            let segments = upload.segments();
            let length = Upload::length(&segments);
            let frames = stream(segments).map_ok(Frame::data);
            (
                Either::Right(StreamBody::new(frames).boxed_unsync()),
                length,
            )
        }
    };
    let mut request = http::Request::new(body);
    let headers = request.headers_mut();
    if let Some(len) = length {
        headers.insert(CONTENT_LENGTH, http::HeaderValue::from(len));
    }
    for (name, value) in &spec.headers {
        headers.append(name, value.clone());
    }
    for (name, value) in added_headers() {
        if !headers.contains_key(name) {
            headers.insert(name, http::HeaderValue::from_static(value));
        }
    }
    if let Some(auth) = transport.proxy_auth(&uri) {
        headers.insert(http::header::PROXY_AUTHORIZATION, auth);
    }
    *request.method_mut() = spec.method.clone();
    *request.uri_mut() = uri;
    Ok(request)
}

/// Maps a failure to send to a kind and a message that leads with the
/// root cause ("connection refused (127.0.0.1:18)"), then the whole chain.
pub fn classify(e: &hyper_util::client::legacy::Error, url: &url::Url) -> (ErrorKind, String) {
    let (kind, message) = describe(e, url);
    let kind = match kind {
        ErrorKind::Other if e.is_connect() => ErrorKind::Connect,
        kind => kind,
    };
    (kind, message)
}

/// The kind and message of any error from hyper, walking its causes: our
/// connector's failure says its own kind; an io error or hyper's own says
/// a reset, a timeout or a broken answer.
fn describe(e: &(dyn std::error::Error + 'static), url: &url::Url) -> (ErrorKind, String) {
    use std::io::ErrorKind as Io;
    let mut chain = e.to_string();
    let mut kind = None;
    let mut root = None;
    let mut placed = false;
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = next {
        let text = err.to_string();
        if !chain.contains(&text) {
            chain.push_str(": ");
            chain.push_str(&text);
        }
        if let Some(failure) = err.downcast_ref::<ConnectFailure>() {
            kind.get_or_insert(failure.kind);
            root = Some(failure.message.clone());
            placed = true;
            break;
        } else if let Some(io) = err.downcast_ref::<std::io::Error>() {
            root = Some(super::connect::plain(io));
            match io.kind() {
                Io::TimedOut => kind = Some(ErrorKind::Timeout),
                Io::ConnectionReset
                | Io::BrokenPipe
                | Io::ConnectionAborted
                | Io::UnexpectedEof => {
                    kind.get_or_insert(ErrorKind::Reset);
                }
                _ => {}
            }
        } else if let Some(hyper) = err.downcast_ref::<hyper::Error>() {
            root = Some(text.clone());
            if hyper.is_timeout() {
                kind = Some(ErrorKind::Timeout);
            } else if hyper.is_incomplete_message() || hyper.is_canceled() {
                kind.get_or_insert(ErrorKind::Reset);
            }
        } else {
            root.get_or_insert(text);
        }
        next = err.source();
    }
    let kind = kind.unwrap_or(ErrorKind::Other);
    let message = match root {
        Some(root) if !root.is_empty() => {
            // Our connector names the place it failed to reach (a proxy's).
            let root = if placed {
                root
            } else {
                format!("{root} ({})", place(url))
            };
            format!(
                "{root} — error sending request to {}: {chain}",
                crate::export::redact::redact_url(url)
            )
        }
        _ => chain,
    };
    (kind, message)
}

/// "host:port" of a URL, for messages.
fn place(url: &url::Url) -> String {
    format!(
        "{}:{}",
        url.host_str().unwrap_or_default(),
        url.port_or_known_default().unwrap_or_default()
    )
}
