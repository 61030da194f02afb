//! `ratebench mock`: serve the built-in mock API until Ctrl-C, logging one
//! line per second of traffic.

use std::net::SocketAddr;
use std::time::Duration;

use ratebench::mock::{Knobs, MockServer, StatsReport};

use super::args::MockArgs;
use super::{EXIT_ERROR, EXIT_OK, EXIT_USAGE};

pub async fn run(args: MockArgs) -> u8 {
    let knobs = match knobs_from(&args) {
        Ok(knobs) => knobs,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_USAGE;
        }
    };
    let server = match MockServer::start(SocketAddr::new(args.bind, args.port), knobs).await {
        Ok(server) => server,
        Err(e) => {
            eprintln!("error: cannot listen on {}:{}: {e}", args.bind, args.port);
            return EXIT_ERROR;
        }
    };
    println!("ratebench mock API listening on {}", server.base_url());
    if !args.bind.is_loopback() {
        println!(
            "warning: reachable from other machines ({}), as --bind asked",
            args.bind
        );
        if let Some(token) = server.control_token() {
            println!(
                "control token (send it as the {} header to /__control and /__stats/reset): {token}",
                ratebench::mock::TOKEN_HEADER
            );
        }
    }
    for route in ratebench::mock::ROUTE_LIST {
        println!("  {route}");
    }
    println!(
        "knobs: {}",
        serde_json::to_string(&*server.knobs()).unwrap_or_default()
    );
    println!("Ctrl-C to stop.");

    let mut every = tokio::time::interval(Duration::from_secs(1));
    every.tick().await;
    let mut last = server.stats();
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            _ = every.tick() => {
                let now = server.stats();
                if now.requests != last.requests {
                    println!("{}", traffic_line(&last, &now));
                }
                last = now;
            }
        }
    }
    let total = server.stats();
    server.shutdown().await;
    println!(
        "stopped: {} requests ({} 2xx, {} 4xx, {} 5xx, {} rate-limited, {} closed)",
        total.requests,
        total.count_status(200..300),
        total.count_status(400..500),
        total.count_status(500..600),
        total.rate_limited,
        total.closed
    );
    EXIT_OK
}

/// One second of traffic: the difference between two reports.
fn traffic_line(before: &StatsReport, now: &StatsReport) -> String {
    let delta = |f: &dyn Fn(&StatsReport) -> u64| f(now).saturating_sub(f(before));
    format!(
        "{}  {:>6} req/s  2xx {:>6}  4xx {:>5}  5xx {:>5}  429 {:>5}  closed {:>4}  in flight {:>4}",
        humantime::format_rfc3339_seconds(std::time::SystemTime::now()),
        delta(&|s| s.requests),
        delta(&|s| s.count_status(200..300)),
        delta(&|s| s.count_status(400..500)),
        delta(&|s| s.count_status(500..600)),
        delta(&|s| s.rate_limited),
        delta(&|s| s.closed),
        now.in_flight
    )
}

/// The scenario file (if any) over the defaults, then the flags on top.
fn knobs_from(args: &MockArgs) -> Result<Knobs, String> {
    let mut knobs = match &args.scenario {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            Knobs::from_toml(&text).map_err(|e| format!("{}: {e}", path.display()))?
        }
        None => Knobs::default(),
    };
    if let Some(latency) = &args.latency {
        knobs.global.latency = Some(latency.parse()?);
        // A global latency from the command line replaces the built-in
        // per-route default too, so `--latency 0` means no latency at all.
        if args.scenario.is_none() {
            knobs.routes.remove("inventory");
        }
    }
    if let Some(rate) = args.error_rate {
        knobs.global.error_rate = Some(rate);
    }
    if let Some(by) = &args.limit_by {
        knobs.global.limit_by = Some(by.parse()?);
    }
    if let Some(limit) = &args.rate_limit {
        knobs.global.rate_limit = Some(limit.parse()?);
    }
    if let Some(r) = args.capacity {
        knobs.global.capacity = Some(r);
    }
    if let Some(k) = args.max_concurrent {
        knobs.global.max_concurrent = Some(k);
    }
    knobs.validate()?;
    Ok(knobs)
}
