//! Reference point for the throughput benchmark: the same tight loop as
//! `reqwest_loop` (64 tasks, N GETs, single-threaded runtime), on the
//! layers under reqwest: hyper-util's pooled client (`pool`), or one raw
//! hyper connection per task (`conn`, as oha does). ratebench's transport
//! is the `pool` layer: this is its ceiling, with no limits and no records.
//!
//! `cargo run --release --example bench -- hyper-loop URL pool|conn [N] [C]`

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::{TokioExecutor, TokioIo};

pub async fn main(args: Vec<String>) {
    let mut args = args.into_iter();
    let url: hyper::Uri = args
        .next()
        .expect("usage: hyper_loop URL pool|conn [N] [C]")
        .parse()
        .expect("a URL");
    let mode = args.next().unwrap_or_else(|| "pool".into());
    let n: u64 = args.next().map_or(100_000, |s| s.parse().expect("N"));
    let c: usize = args.next().map_or(64, |s| s.parse().expect("C"));
    let left = Arc::new(AtomicU64::new(n));
    let take = |left: &AtomicU64| {
        left.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| v.checked_sub(1))
            .is_ok()
    };
    let start = std::time::Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    let pool = hyper_util::client::legacy::Client::builder(TokioExecutor::new())
        .build_http::<Empty<Bytes>>();
    for _ in 0..c {
        let (url, left, pool, mode) = (url.clone(), left.clone(), pool.clone(), mode.clone());
        tasks.spawn(async move {
            if mode == "pool" {
                while take(&left) {
                    let response = pool.get(url.clone()).await.expect("request");
                    response.into_body().collect().await.expect("body");
                }
                return;
            }
            let host = url.host().expect("a host");
            let stream = tokio::net::TcpStream::connect((host, url.port_u16().unwrap_or(80)))
                .await
                .expect("connect");
            stream.set_nodelay(true).expect("nodelay");
            let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .expect("handshake");
            tokio::spawn(conn);
            while take(&left) {
                let request = hyper::Request::get(url.path())
                    .header("host", host)
                    .body(Empty::<Bytes>::new())
                    .expect("request");
                let response = sender.send_request(request).await.expect("response");
                response.into_body().collect().await.expect("body");
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    println!("{:.0} req/s", n as f64 / start.elapsed().as_secs_f64());
}
