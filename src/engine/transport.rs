//! The transport: hyper-util's pooled client over our connector, the one
//! thing a run sends through.
//!
//! hyper directly, not reqwest (which wraps it): reqwest's service stack
//! clones each request's headers and URI several times and follows
//! redirects out of sight of our limiter; measured in BENCHMARKS.md. So
//! redirects, decoding and proxy choice are ours (`redirect`, `decode`,
//! `connect`), and the pool does only what a pool does.

use std::sync::{Arc, OnceLock, RwLock};

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{Either, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};

use super::connect::{Connections, Connector};

/// A request body: bytes held in memory, or an upload streamed from disk.
pub type ReqBody = Either<Full<Bytes>, UnsyncBoxBody<Bytes, std::io::Error>>;

type HttpClient = Client<Connector, ReqBody>;

/// Where requests go through: straight to the server (the default), one
/// proxy for all, or what HTTP_PROXY / HTTPS_PROXY / NO_PROXY say.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Proxy {
    #[default]
    Direct,
    Url(String),
    FromEnv,
}

impl Proxy {
    /// How the summary names it (a proxy's password never shown).
    pub fn describe(&self) -> Option<String> {
        match self {
            Proxy::Direct => None,
            Proxy::FromEnv => Some("proxy from the environment".to_owned()),
            Proxy::Url(url) => Some(format!(
                "proxy {}",
                crate::export::redact::redact_urls_in(url)
            )),
        }
    }
}

/// How the transport is built.
#[derive(Debug, Clone, Default)]
pub struct TransportConfig {
    /// HTTP/2 by prior knowledge (and only h2 offered by ALPN on https).
    pub http2: bool,
    /// Accept any server certificate (self-signed ones, for local tests).
    pub insecure: bool,
    pub proxy: Proxy,
    /// Idle connections kept per origin (from max at once).
    pub pool: Option<u64>,
}

/// Why a transport could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("--proxy {0:?} is not a proxy address (expected http://host:port)")]
    BadProxy(String),
    #[error("cannot set up TLS: {0}")]
    Tls(String),
}

/// The pooled client a run shares, and its connections.
pub struct Transport {
    client: RwLock<HttpClient>,
    connector: Connector,
    conns: Arc<Connections>,
    proxy: Option<Arc<Matcher>>,
    http2: bool,
    pool: usize,
}

impl Transport {
    /// A transport whose connections `conns` counts and caps.
    pub fn new(config: &TransportConfig, conns: Arc<Connections>) -> Result<Self, TransportError> {
        let proxy = match &config.proxy {
            Proxy::Direct => None,
            Proxy::FromEnv => Some(Matcher::from_env()),
            Proxy::Url(url) => {
                let uri: http::Uri = url
                    .parse()
                    .map_err(|_| TransportError::BadProxy(url.clone()))?;
                if uri.host().is_none() || !matches!(uri.scheme_str(), Some("http") | None) {
                    return Err(TransportError::BadProxy(url.clone()));
                }
                Some(Matcher::builder().all(url.clone()).build())
            }
        };
        let proxy = proxy.map(Arc::new);
        let tls = tls_config(config.insecure, config.http2)?;
        let connector = Connector::new(
            tokio_rustls::TlsConnector::from(Arc::new(tls)),
            proxy.clone(),
            conns.clone(),
        );
        let pool = config.pool.unwrap_or(1024).clamp(1, 100_000) as usize;
        let client = build(connector.clone(), config.http2, pool);
        Ok(Self {
            client: RwLock::new(client),
            connector,
            conns,
            proxy,
            http2: config.http2,
            pool,
        })
    }

    /// The client to send one request with (a cheap clone).
    pub fn client(&self) -> HttpClient {
        self.client.read().expect("client lock").clone()
    }

    /// The Proxy-Authorization an http request sent through a proxy
    /// carries (https ones authenticate on CONNECT).
    pub fn proxy_auth(&self, uri: &http::Uri) -> Option<http::HeaderValue> {
        if uri.scheme_str() != Some("http") {
            return None;
        }
        let proxy = self.proxy.as_ref()?.intercept(uri)?;
        proxy.basic_auth().cloned()
    }

    /// A new cap on open connections per origin. A lower one starts a new
    /// pool: the old one's connections close as their requests finish, so
    /// what is open comes down to the cap rather than idling above it.
    pub fn set_max_connections(&self, cap: Option<u64>) {
        let old = self.conns.cap();
        self.conns.set_cap(cap);
        let lowered = match (old, cap) {
            (_, None) => false,
            (None, Some(_)) => true,
            (Some(a), Some(b)) => b < a,
        };
        if lowered {
            *self.client.write().expect("client lock") =
                build(self.connector.clone(), self.http2, self.pool);
        }
    }
}

impl Drop for Transport {
    fn drop(&mut self) {
        // Connects hyper left waiting for room in the background give up.
        self.conns.close();
    }
}

fn build(connector: Connector, http2: bool, pool: usize) -> HttpClient {
    Client::builder(TokioExecutor::new())
        .timer(TokioTimer::new())
        .pool_timer(TokioTimer::new())
        .pool_max_idle_per_host(pool)
        .http2_only(http2)
        .build(connector)
}

/// The trusted roots: the system's, or Mozilla's (webpki-roots, built in)
/// where the system has none. Read once per process.
fn roots() -> Arc<RootCertStore> {
    static ROOTS: OnceLock<Arc<RootCertStore>> = OnceLock::new();
    ROOTS
        .get_or_init(|| {
            let mut store = RootCertStore::empty();
            let native = rustls_native_certs::load_native_certs();
            store.add_parsable_certificates(native.certs);
            if store.is_empty() {
                store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            }
            Arc::new(store)
        })
        .clone()
}

fn tls_config(insecure: bool, http2: bool) -> Result<rustls::ClientConfig, TransportError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| TransportError::Tls(e.to_string()))?;
    let mut config = if insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
            .with_no_client_auth()
    } else {
        builder
            .with_root_certificates(roots())
            .with_no_client_auth()
    };
    config.alpn_protocols = if http2 {
        vec![b"h2".to_vec()]
    } else {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    };
    Ok(config)
}

/// `--insecure`: any certificate is accepted; the handshake's signatures
/// are still checked (a broken handshake still fails).
#[derive(Debug)]
struct AnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
