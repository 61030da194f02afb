//! The ceiling of reqwest, the client ratebench used to send through: C
//! tasks sending N GETs to URL in a tight loop with one shared reqwest
//! client (configured as ratebench configured it: no redirects followed
//! out of sight, no hidden retries, no Nagle, pool from C), on a
//! single-threaded runtime like `ratebench run`'s default. No limits, no
//! records. The benchmark reports it beside oha, the bare hyper loop and
//! ratebench: the figures behind the move to hyper (BENCHMARKS.md).
//!
//! `cargo run --release --example bench -- reqwest-loop URL [N] [C]`

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

pub async fn main(args: Vec<String>) {
    let mut args = args.into_iter();
    let url: reqwest::Url = args
        .next()
        .expect("usage: reqwest_loop URL [N] [C]")
        .parse()
        .expect("a URL");
    let n: u64 = args.next().map_or(100_000, |s| s.parse().expect("N"));
    let c: usize = args.next().map_or(64, |s| s.parse().expect("C"));
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::limited(10))
        .retry(reqwest::retry::never())
        .tcp_nodelay(true)
        .no_proxy()
        .pool_max_idle_per_host(c)
        .http1_only()
        .build()
        .expect("client");
    let left = Arc::new(AtomicU64::new(n));
    let start = std::time::Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..c {
        let (client, url, left) = (client.clone(), url.clone(), left.clone());
        tasks.spawn(async move {
            while left
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| v.checked_sub(1))
                .is_ok()
            {
                let response = client.get(url.clone()).send().await.expect("request");
                response.bytes().await.expect("body");
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    println!("{:.0} req/s", n as f64 / start.elapsed().as_secs_f64());
}
