//! The end-of-run summary: totals, rates and latency percentiles.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::stats::Percentiles;

/// What a run achieved; `--summary-json` writes exactly this.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    /// Requests with a result (sent, or cancelled in flight).
    pub total: u64,
    pub ok: u64,
    pub failed: u64,
    /// Final status code → count (keys are strings, as JSON needs).
    pub by_status: BTreeMap<String, u64>,
    /// Error kind → count, for requests that got no response.
    pub by_error: BTreeMap<String, u64>,
    /// First send to last completion, in seconds.
    pub wall_s: f64,
    /// Completed requests per second over `wall_s`.
    pub achieved_per_s: f64,
    /// Sent → full body, of requests that got a response.
    pub latency_ms: Percentiles,
    /// Time held by the limits before sending.
    pub wait_ms: Percentiles,
    pub max_in_flight: u64,
    /// Attempts beyond the first, over all requests.
    pub retries: u64,
    /// Requests of the batch never sent (the run was stopped).
    pub not_sent: u64,
    /// Whether the run was stopped before the batch was done.
    pub stopped: bool,
    /// Seconds new starts were held because the server asked
    /// (`respect_limits`).
    #[serde(default)]
    pub held_by_server_s: f64,
    /// HTTP calls made: requests and retries, or batch calls and polls
    /// when items were coalesced.
    #[serde(default)]
    pub calls: u64,
}

impl RunSummary {
    /// A plain-text table for the terminal.
    pub fn render_table(&self) -> String {
        let mut out = String::new();
        let row = |out: &mut String, k: &str, v: String| {
            let _ = writeln!(out, "  {k:<16} {v}");
        };
        let _ = writeln!(
            out,
            "Summary{}",
            if self.stopped { " (stopped early)" } else { "" }
        );
        row(
            &mut out,
            "requests",
            format!("{} ({} ok, {} failed)", self.total, self.ok, self.failed),
        );
        if self.not_sent > 0 {
            row(&mut out, "not sent", self.not_sent.to_string());
        }
        row(&mut out, "retries", self.retries.to_string());
        if self.calls > 0 && self.calls != self.total + self.retries {
            row(
                &mut out,
                "calls",
                format!("{} (batch calls and polls)", self.calls),
            );
        }
        if self.held_by_server_s > 0.0 {
            row(
                &mut out,
                "held by server",
                format!("{:.1} s", self.held_by_server_s),
            );
        }
        row(&mut out, "wall time", format!("{:.3} s", self.wall_s));
        row(
            &mut out,
            "achieved rate",
            format!("{:.2} req/s", self.achieved_per_s),
        );
        row(&mut out, "max in flight", self.max_in_flight.to_string());
        let p = &self.latency_ms;
        row(
            &mut out,
            "latency (ms)",
            format!(
                "p50 {:.2}  p90 {:.2}  p99 {:.2}  p99.9 {:.2}  max {:.2}",
                p.p50, p.p90, p.p99, p.p999, p.max
            ),
        );
        let w = &self.wait_ms;
        row(
            &mut out,
            "wait (ms)",
            format!("p50 {:.2}  p99 {:.2}  max {:.2}", w.p50, w.p99, w.max),
        );
        if !self.by_status.is_empty() {
            let codes: Vec<String> = self
                .by_status
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect();
            row(&mut out, "status codes", codes.join(", "));
        }
        if !self.by_error.is_empty() {
            let errors: Vec<String> = self
                .by_error
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect();
            row(&mut out, "errors", errors.join(", "));
        }
        out
    }
}
