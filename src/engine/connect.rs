//! Opening connections for the transport: TCP without Nagle's delay, TLS
//! by rustls (ALPN offers h2 beside http/1.1), through a proxy when one
//! applies (absolute-form requests for http, a CONNECT tunnel for https),
//! each one counted, and capped per origin when `max_connections` is set.
//!
//! Our own connector rather than hyper-util's `HttpConnector` under
//! hyper-rustls: the cap and the count need a hand on every connection's
//! life, and a failure must say which step failed (dns, connect, proxy,
//! tls) for its record.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use http::Uri;
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::model::ErrorKind;

/// A connection that could not be opened, with the kind its record gets
/// and a message that leads with the cause.
#[derive(Debug)]
pub struct ConnectFailure {
    pub kind: ErrorKind,
    pub message: String,
}

impl std::fmt::Display for ConnectFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConnectFailure {}

fn failure(kind: ErrorKind, message: impl Into<String>) -> ConnectFailure {
    ConnectFailure {
        kind,
        message: message.into(),
    }
}

/// An io error's text without the OS's number, lower-cased first letter:
/// "connection refused", as a person reads it.
pub(crate) fn plain(e: &io::Error) -> String {
    let text = e.to_string();
    let text = match text.rfind(" (os error") {
        Some(i) => &text[..i],
        None => &text,
    };
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_lowercase().chain(chars).collect())
        .unwrap_or_default()
}

/// The connections a run has open, per origin, and a live cap on them.
#[derive(Debug, Default)]
pub struct Connections {
    state: Mutex<CapState>,
    freed: Notify,
    opened: AtomicU64,
    open: AtomicU64,
}

#[derive(Debug, Default)]
struct CapState {
    cap: Option<u64>,
    per_origin: HashMap<String, u64>,
    /// The transport is gone: connects still waiting for room give up
    /// (hyper finishes a losing connect in the background).
    closed: bool,
}

impl Connections {
    pub fn new(cap: Option<u64>) -> Self {
        Self {
            state: Mutex::new(CapState {
                cap,
                ..CapState::default()
            }),
            ..Self::default()
        }
    }

    /// Connections open now (all origins).
    pub fn open(&self) -> u64 {
        self.open.load(Ordering::Relaxed)
    }

    /// Connections opened since the run began (a reused pool opens few).
    pub fn opened(&self) -> u64 {
        self.opened.load(Ordering::Relaxed)
    }

    pub fn cap(&self) -> Option<u64> {
        self.state.lock().expect("cap lock").cap
    }

    /// A new cap per origin; a raised one lets waiting connects go now.
    pub fn set_cap(&self, cap: Option<u64>) {
        self.state.lock().expect("cap lock").cap = cap;
        self.freed.notify_waiters();
    }

    pub(crate) fn close(&self) {
        self.state.lock().expect("cap lock").closed = true;
        self.freed.notify_waiters();
    }

    /// Waits for room under the cap for one more connection to `origin`.
    async fn acquire(self: &Arc<Self>, origin: String) -> Result<Slot, ConnectFailure> {
        loop {
            let notified = self.freed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut state = self.state.lock().expect("cap lock");
                if state.closed {
                    return Err(failure(ErrorKind::Other, "the run is over"));
                }
                let cap = state.cap;
                let n = state.per_origin.entry(origin.clone()).or_default();
                if cap.is_none_or(|c| *n < c.max(1)) {
                    *n += 1;
                    self.open.fetch_add(1, Ordering::Relaxed);
                    self.opened.fetch_add(1, Ordering::Relaxed);
                    return Ok(Slot {
                        conns: self.clone(),
                        origin,
                    });
                }
            }
            notified.await;
        }
    }
}

/// One open connection's place under the cap; freed when it closes.
struct Slot {
    conns: Arc<Connections>,
    origin: String,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut state = self.conns.state.lock().expect("cap lock");
        if let Some(n) = state.per_origin.get_mut(&self.origin) {
            *n = n.saturating_sub(1);
        }
        drop(state);
        self.conns.open.fetch_sub(1, Ordering::Relaxed);
        self.conns.freed.notify_waiters();
    }
}

enum Stream {
    Tcp(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

/// An open connection as hyper uses it.
pub struct Conn {
    io: TokioIo<Stream>,
    h2: bool,
    proxied: bool,
    _slot: Slot,
}

impl Connection for Conn {
    fn connected(&self) -> Connected {
        let connected = Connected::new().proxy(self.proxied);
        if self.h2 {
            connected.negotiated_h2()
        } else {
            connected
        }
    }
}

impl hyper::rt::Read for Conn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl hyper::rt::Write for Conn {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s).poll_write(cx, buf),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
    fn is_write_vectored(&self) -> bool {
        match self {
            Stream::Tcp(s) => s.is_write_vectored(),
            Stream::Tls(s) => s.is_write_vectored(),
        }
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Stream::Tls(s) => Pin::new(s).poll_write_vectored(cx, bufs),
        }
    }
}

/// Opens connections (a `tower::Service<Uri>`, as hyper-util's pooled
/// client wants); cheap to clone.
#[derive(Clone)]
pub struct Connector {
    shared: Arc<Shared>,
}

struct Shared {
    tls: TlsConnector,
    proxy: Option<Arc<Matcher>>,
    conns: Arc<Connections>,
}

impl Connector {
    pub fn new(tls: TlsConnector, proxy: Option<Arc<Matcher>>, conns: Arc<Connections>) -> Self {
        Self {
            shared: Arc::new(Shared { tls, proxy, conns }),
        }
    }
}

impl tower_service::Service<Uri> for Connector {
    type Response = Conn;
    type Error = ConnectFailure;
    type Future = Pin<Box<dyn Future<Output = Result<Conn, ConnectFailure>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        Box::pin(connect(self.shared.clone(), uri))
    }
}

/// A host as DNS and TLS want it: an IPv6 literal without its brackets.
fn bare_host(uri: &Uri) -> Option<&str> {
    let host = uri.host()?;
    Some(host.trim_start_matches('[').trim_end_matches(']'))
}

async fn connect(shared: Arc<Shared>, uri: Uri) -> Result<Conn, ConnectFailure> {
    let https = uri.scheme_str() == Some("https");
    let host = bare_host(&uri)
        .ok_or_else(|| failure(ErrorKind::Other, format!("no host in {uri}")))?
        .to_owned();
    let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
    let origin = format!("{}://{host}:{port}", if https { "https" } else { "http" });
    let slot = shared.conns.acquire(origin).await?;
    let via = shared.proxy.as_ref().and_then(|m| m.intercept(&uri));
    let mut tcp = match &via {
        None => tcp_to(&host, port, "").await?,
        Some(proxy) => {
            let p = proxy.uri();
            let proxy_host = bare_host(p).unwrap_or_default();
            let proxy_port = p.port_u16().unwrap_or(match p.scheme_str() {
                Some("https") => 443,
                _ => 80,
            });
            tcp_to(proxy_host, proxy_port, "proxy ").await?
        }
    };
    if https && let Some(proxy) = &via {
        tunnel(&mut tcp, &host, port, proxy.basic_auth()).await?;
    }
    let (stream, h2) = if https {
        let name = rustls::pki_types::ServerName::try_from(host.clone()).map_err(|e| {
            failure(
                ErrorKind::Tls,
                format!("tls: {host} is not a name a certificate can have: {e}"),
            )
        })?;
        let tls = shared.tls.connect(name, tcp).await.map_err(|e| {
            failure(
                ErrorKind::Tls,
                format!("tls handshake with {host}:{port} failed: {}", plain(&e)),
            )
        })?;
        let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
        (Stream::Tls(Box::new(tls)), h2)
    } else {
        (Stream::Tcp(tcp), false)
    };
    Ok(Conn {
        io: TokioIo::new(stream),
        h2,
        proxied: via.is_some() && !https,
        _slot: slot,
    })
}

/// A TCP connection to the first address of `host` that answers.
async fn tcp_to(host: &str, port: u16, what: &str) -> Result<TcpStream, ConnectFailure> {
    let addrs: Vec<_> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| {
            failure(
                ErrorKind::Dns,
                format!("dns error: cannot resolve {what}{host}: {}", plain(&e)),
            )
        })?
        .collect();
    let mut last = None;
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(tcp) => {
                tcp.set_nodelay(true).ok();
                return Ok(tcp);
            }
            Err(e) => last = Some((addr, e)),
        }
    }
    Err(match last {
        Some((addr, e)) => failure(ErrorKind::Connect, format!("{} ({what}{addr})", plain(&e))),
        None => failure(
            ErrorKind::Dns,
            format!("dns error: no address for {what}{host}"),
        ),
    })
}

/// Asks an HTTP proxy for a tunnel to `host:port` (CONNECT).
async fn tunnel(
    tcp: &mut TcpStream,
    host: &str,
    port: u16,
    auth: Option<&http::HeaderValue>,
) -> Result<(), ConnectFailure> {
    let authority = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let mut head = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
    if let Some(auth) = auth.and_then(|a| a.to_str().ok()) {
        head.push_str(&format!("Proxy-Authorization: {auth}\r\n"));
    }
    head.push_str("\r\n");
    let broken = |e: io::Error| {
        failure(
            ErrorKind::Connect,
            format!("proxy tunnel to {authority} failed: {}", plain(&e)),
        )
    };
    tcp.write_all(head.as_bytes()).await.map_err(broken)?;
    // The answer's head, byte by byte: nothing after it is ours to read.
    let mut answer = Vec::with_capacity(128);
    while !answer.ends_with(b"\r\n\r\n") {
        if answer.len() > 16 * 1024 {
            return Err(failure(
                ErrorKind::Connect,
                "proxy tunnel: the proxy's answer to CONNECT has no end",
            ));
        }
        let byte = tcp.read_u8().await.map_err(broken)?;
        answer.push(byte);
    }
    let status_line = String::from_utf8_lossy(&answer);
    let status_line = status_line.lines().next().unwrap_or_default();
    let status = status_line.split_whitespace().nth(1);
    if status.is_some_and(|s| s.starts_with('2')) {
        Ok(())
    } else {
        Err(failure(
            ErrorKind::Connect,
            format!("proxy refused the tunnel to {authority}: {status_line}"),
        ))
    }
}
