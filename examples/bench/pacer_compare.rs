//! Why ratebench paces with its own absolute-schedule GCRA instead of
//! `governor`'s limiter: both pace starts at 1, 100, 1,000 and 10,000 per
//! second (burst 1) for a few seconds; we report the achieved rate and the
//! most starts in any one-second window. No HTTP: pacing alone.
//!
//! `cargo run --release --example bench -- pacer-compare`

use std::num::NonZeroU32;
use std::time::Duration;

use governor::{Quota, RateLimiter};
use ratebench::engine::Pacer;
use tokio::time::{Instant, sleep_until};

/// (achieved rate, most starts in any 1 s window)
fn measure(times: &[Instant]) -> (f64, usize) {
    let span = times.last().unwrap().duration_since(times[0]).as_secs_f64();
    let (mut best, mut lo) = (0, 0);
    for hi in 0..times.len() {
        while times[hi].duration_since(times[lo]) >= Duration::from_secs(1) {
            lo += 1;
        }
        best = best.max(hi - lo + 1);
    }
    ((times.len() - 1) as f64 / span, best)
}

async fn ours(rate: f64, for_: Duration) -> Vec<Instant> {
    let start = Instant::now();
    let mut pacer = Pacer::new(Some(rate), 1, start);
    let mut times = Vec::new();
    while start.elapsed() < for_ {
        let now = Instant::now();
        if pacer.try_acquire(now) {
            times.push(now);
        } else if let Some(at) = pacer.ready_at() {
            sleep_until(at).await;
        }
    }
    times
}

async fn governor(rate: f64, for_: Duration) -> Vec<Instant> {
    let quota = Quota::with_period(Duration::from_secs_f64(1.0 / rate))
        .unwrap()
        .allow_burst(NonZeroU32::new(1).unwrap());
    let limiter = RateLimiter::direct(quota);
    let start = Instant::now();
    let mut times = Vec::new();
    while start.elapsed() < for_ {
        limiter.until_ready().await;
        times.push(Instant::now());
    }
    times
}

pub async fn main(_args: Vec<String>) {
    println!("| target/s | pacer | achieved/s | error | max starts in a 1 s window |");
    println!("|---:|---|---:|---:|---:|");
    for (rate, secs) in [(1.0, 6), (100.0, 4), (1000.0, 4), (10000.0, 4)] {
        let for_ = Duration::from_secs(secs);
        for (name, times) in [
            ("ratebench", ours(rate, for_).await),
            ("governor", governor(rate, for_).await),
        ] {
            let (achieved, window) = measure(&times);
            let error = (achieved - rate) / rate * 100.0;
            println!("| {rate} | {name} | {achieved:.2} | {error:+.2} % | {window} |");
        }
    }
}
