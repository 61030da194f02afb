//! The benchmarks' helpers, one binary so they are built (and linked)
//! once: `cargo run --release --example bench -- TOOL [ARGS]`.
//!
//! - `server [PORT]`: the benchmark target (counts arrivals);
//! - `hyper-loop URL pool|conn [N] [C]`, `reqwest-loop URL [N] [C]`: bare
//!   client loops, the reference points for `ratebench run`;
//! - `pacer-compare`: our pacer against governor's, pacing alone;
//! - `results-index JOURNAL`: the results table's index over a journal;
//! - `window-trade [RATE] [ITEMS] [WINDOWS_MS]`: the batching trade (item
//!   latency against call rate) for several windows, engine and Coalescer.
//!
//! The `bench/*.sh` scripts drive them; BENCHMARKS.md has the figures.

mod hyper_loop;
mod pacer_compare;
mod reqwest_loop;
mod results_index;
mod server;
mod window_trade;

fn main() {
    let mut args = std::env::args().skip(1);
    let tool = args.next().unwrap_or_default();
    let args: Vec<String> = args.collect();
    let current = || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
    };
    let multi = || {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("a runtime")
    };
    match tool.as_str() {
        "server" => multi().block_on(server::main(args)).expect("the server"),
        "hyper-loop" => current().block_on(hyper_loop::main(args)),
        "reqwest-loop" => current().block_on(reqwest_loop::main(args)),
        "pacer-compare" => multi().block_on(pacer_compare::main(args)),
        "results-index" => results_index::main(args).expect("the journal"),
        "window-trade" => multi().block_on(window_trade::main(args)),
        other => {
            eprintln!(
                "unknown tool {other:?}: server, hyper-loop, reqwest-loop, pacer-compare, results-index, window-trade"
            );
            std::process::exit(2);
        }
    }
}
