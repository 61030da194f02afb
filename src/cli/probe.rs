//! `ratebench probe`: find the highest sustainable rate, headless.

use std::io::Write;

use ratebench::batch::Batch;
use ratebench::export::{ExportFormat, RecordSink, create_journal};
use ratebench::model::{Limit, Limits};
use ratebench::probe::{ProbeConfig, ProbeReport, probe};

use super::args::ProbeArgs;
use super::{EXIT_ERROR, EXIT_OK, EXIT_USAGE};
use ratebench::session::Discard;

/// The cap while probing when none is given: high, so the rate is what
/// the server answers to, not the cap.
const PROBE_MAX_AT_ONCE: u64 = 256;

pub async fn run(args: ProbeArgs) -> u8 {
    let options = super::load_options(args.settings.base_url.clone(), args.settings.max_requests);
    let batch = match Batch::load_with(&args.batch, &options) {
        Ok(batch) if !batch.is_empty() => {
            for warning in &batch.warnings {
                eprintln!("note: {warning}");
            }
            batch
        }
        Ok(_) => {
            eprintln!("error: {}: the batch has no requests", args.batch.display());
            return EXIT_USAGE;
        }
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_USAGE;
        }
    };
    let mut run = super::settings::run_config(&args.settings, &batch.settings);
    // The controller owns the rate; the plan and the cap's default give way.
    run.profile = None;
    run.limits = Limits {
        max_at_once: args
            .settings
            .max_at_once
            .map_or(Some(PROBE_MAX_AT_ONCE), Limit::get),
        ..run.limits
    };
    let sink: Box<dyn RecordSink> = match &args.out {
        None => Box::new(Discard),
        Some(path) => match create_journal(path, ExportFormat::from_path(path)) {
            Ok(sink) => sink,
            Err(e) => {
                eprintln!("error: cannot create {}: {e}", path.display());
                return EXIT_USAGE;
            }
        },
    };
    let config = ProbeConfig {
        start: args.start,
        max: args.max,
        window: args.window,
        max_time: args.max_time,
        ..ProbeConfig::default()
    };
    if !args.quiet {
        eprintln!("probing {} (Ctrl-C stops)", batch.path.display());
        eprintln!(
            "{:>6}  {:>9}  {:>6}  {:>9}  {:>8}",
            "second", "rate", "done", "throttled", "p50 ms"
        );
    }
    let mut second = 0;
    let quiet = args.quiet;
    let probing = probe(&batch, run.clone(), config, sink, |rate, o| {
        second += 1;
        if !quiet {
            let share = if o.completed == 0 {
                0.0
            } else {
                100.0 * o.throttled as f64 / o.completed as f64
            };
            eprintln!(
                "{second:>6}  {rate:>7.1}/s  {:>6}  {share:>8.1}%  {:>8.1}",
                o.completed, o.p50_ms
            );
        }
    });
    let report = tokio::select! {
        report = probing => report,
        _ = tokio::signal::ctrl_c() => {
            eprintln!("interrupted: no recommendation");
            return super::EXIT_INTERRUPTED;
        }
    };
    let report = match report {
        Ok(report) => report,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_ERROR;
        }
    };
    if !report.recommendation.settled {
        // Out of time: say what is known rather than a recommendation.
        eprintln!("{}", unsettled(&report, args.max_time));
        print_report(&report);
        return super::EXIT_FAILED;
    }
    print_report(&report);
    if let Some(path) = &args.summary_json {
        let written = serde_json::to_vec_pretty(&report)
            .map_err(std::io::Error::other)
            .and_then(|json| std::fs::write(path, json));
        if let Err(e) = written {
            eprintln!("error: cannot write {}: {e}", path.display());
            return EXIT_ERROR;
        }
    }
    if let Some(path) = &args.save {
        let r = &report.recommendation;
        let limits = Limits::new(r.max_at_once, r.per_second);
        let saved = std::fs::read_to_string(&batch.path)
            .map_err(|e| e.to_string())
            .and_then(|text| {
                ratebench::loader::save::with_limits(&text, batch.format, &batch.path, limits)
                    .map_err(|e| e.to_string())
            })
            .and_then(|text| std::fs::write(path, text).map_err(|e| e.to_string()));
        match saved {
            Ok(()) => println!("saved the batch with these limits to {}", path.display()),
            Err(e) => {
                eprintln!("error: cannot save to {}: {e}", path.display());
                return EXIT_ERROR;
            }
        }
    }
    EXIT_OK
}

/// What an unsettled probe knows: no limit up to the highest rate tried,
/// or a limit met but no rate that held the whole window.
fn unsettled(report: &ProbeReport, max_time: std::time::Duration) -> String {
    let top = report.timeline.iter().map(|(r, _)| *r).fold(0.0, f64::max);
    let secs = max_time.as_secs_f64();
    if report.timeline.iter().all(|(_, o)| o.throttled == 0) {
        format!(
            "no limit found up to {top:.0}/s in {secs:.0} s: the server took every rate tried \
             (raise --max-time or --max to look further)"
        )
    } else {
        format!(
            "time ran out after {secs:.0} s: the server pushed back at or below {top:.0}/s, but no \
             rate held for the whole --window (raise --max-time); the best so far is below"
        )
    }
}

fn print_report(report: &ProbeReport) {
    let r = &report.recommendation;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "{}",
        if r.settled {
            "Recommendation"
        } else {
            "Recommendation (time ran out before it held for the whole window)"
        }
    );
    let _ = writeln!(out, "  {:<16} {}", "per_second", r.per_second);
    let _ = writeln!(out, "  {:<16} {}", "max_at_once", r.max_at_once);
    if r.held_s > 0.0 {
        let _ = writeln!(
            out,
            "  {:<16} held {:.0} s with {:.1} % throttled, p50 {:.1} ms, p99 {:.1} ms",
            "evidence", r.held_s, r.throttled_pct, r.p50_ms, r.p99_ms
        );
    } else {
        let _ = writeln!(out, "  {:<16} – (no rate was held)", "evidence");
    }
    if let Some(advertised) = r.advertised {
        let _ = writeln!(out, "  {:<16} {advertised}/s", "server says");
    }
    let s = &report.summary;
    let _ = writeln!(
        out,
        "  {:<16} {} requests in {:.1} s, {} answered 429",
        "probe",
        s.totals.done,
        s.wall_s,
        s.totals.status(429)
    );
    let _ = writeln!(
        out,
        "  {:<16} \"per_second\": {}, \"max_at_once\": {}",
        "for the batch", r.per_second, r.max_at_once
    );
}
