//! The batching pattern with the library's `Coalescer`: 200 callers each
//! geocode one address and await their own answer, while the coalescer
//! groups them into batch jobs on the built-in mock's `/batch/geocode`
//! (create, then poll until done). Prints how the items were grouped and
//! what they cost.
//!
//! Run: cargo run --release --example coalesce

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ratebench::coalesce::{CoalesceConfig, Coalescer};
use ratebench::mock::{Knobs, MockServer};
use reqwest::Client;
use serde_json::Value;
use tokio::time::Instant;

/// One batch call: start a job with the addresses, poll it until it is
/// done, and return its results in order.
async fn geocode_batch(
    client: Client,
    base: String,
    addresses: Vec<String>,
) -> Result<Vec<Value>, String> {
    let fail = |e: reqwest::Error| e.to_string();
    let job: Value = client
        .post(format!("{base}/batch/geocode"))
        .json(&addresses)
        .send()
        .await
        .map_err(fail)?
        .json()
        .await
        .map_err(fail)?;
    let id = job["id"].as_str().ok_or("the job has no id")?.to_owned();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let answer: Value = client
            .get(format!("{base}/batch/geocode?id={id}"))
            .send()
            .await
            .map_err(fail)?
            .json()
            .await
            .map_err(fail)?;
        match answer {
            Value::Array(results) => return Ok(results),
            pending if pending["status"] == "pending" => continue,
            other => return Err(format!("the job failed: {other}")),
        }
    }
    Err(format!("job {id} did not finish within 60 s"))
}

#[tokio::main]
async fn main() {
    let mock = MockServer::start(
        "127.0.0.1:0".parse::<SocketAddr>().unwrap(),
        Knobs::default(),
    )
    .await
    .expect("the mock starts");
    let base = mock.base_url();
    let client = Client::builder().no_proxy().build().unwrap();
    let addresses: Vec<String> = (1..=200).map(|n| format!("{n} Main Street")).collect();

    let (c, b) = (client.clone(), base.clone());
    let coalescer = Arc::new(Coalescer::new(
        CoalesceConfig {
            max_items: 50,
            window: Duration::from_millis(100),
        },
        move |batch| geocode_batch(c.clone(), b.clone(), batch),
    ));
    let began = Instant::now();
    let outcomes = futures_util::future::join_all(addresses.iter().map(|a| {
        let coalescer = coalescer.clone();
        let a = a.clone();
        async move { coalescer.submit(a).await }
    }))
    .await;
    let coalesced = began.elapsed();
    coalescer.shutdown().await;
    let ok = outcomes.iter().filter(|o| o.result.is_ok()).count();
    let mut sizes: Vec<usize> = outcomes.iter().map(|o| o.batch_size).collect();
    sizes.dedup();
    let worst_wait = outcomes.iter().map(|o| o.waited).max().unwrap_or_default();
    println!(
        "coalesced: {ok}/{} answered in {coalesced:.2?}",
        outcomes.len()
    );
    println!("  batch sizes {sizes:?}, longest wait in a window {worst_wait:.2?}");
    if let Some(first) = outcomes.first().and_then(|o| o.result.as_ref().ok()) {
        println!("  {} -> {first}", addresses[0]);
    }

    mock.shutdown().await;
}
