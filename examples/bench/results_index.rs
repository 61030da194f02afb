//! The workbench's results table over a large journal, timed: builds the
//! index for a filter and an order (what `v`, `Tab` and `o` do), then
//! reads pages at the start, middle and end (what scrolling does).
//!
//! Usage: cargo run --release --example bench -- results-index JOURNAL.jsonl
//! Peak memory: run it under `/usr/bin/time -f %M` (bench/results.sh does).

use std::time::Instant;

use ratebench::export::{ResultFilter, ResultIndex, ResultOrder};
use ratebench::tui::results::PAGE;

pub fn main(args: Vec<String>) -> std::io::Result<()> {
    let journal = args
        .into_iter()
        .next()
        .expect("usage: results_index JOURNAL.jsonl");
    let journal = std::path::Path::new(&journal);
    println!("| view | matching | index built in | page at start / middle / end |");
    println!("|---|---:|---:|---:|");
    for (filter, order) in [
        (ResultFilter::All, ResultOrder::Index),
        (ResultFilter::All, ResultOrder::SlowestFirst),
        (ResultFilter::Ok, ResultOrder::Index),
    ] {
        let t0 = Instant::now();
        let index = ResultIndex::build(journal, filter, order)?;
        let built = t0.elapsed();
        let mut pages = vec![];
        for start in [0, index.len() / 2, index.len().saturating_sub(PAGE)] {
            let t0 = Instant::now();
            let rows = index.page(start, PAGE)?;
            assert_eq!(rows.len(), PAGE.min(index.len()));
            pages.push(format!("{:.1} ms", t0.elapsed().as_secs_f64() * 1000.0));
        }
        println!(
            "| {} · {order:?} | {} | {:.2} s | {} |",
            filter.label(),
            index.len(),
            built.as_secs_f64(),
            pages.join(" / ")
        );
    }
    Ok(())
}
