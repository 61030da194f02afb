//! The end-of-run summary: totals, rates and latency percentiles.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Phase, Totals};

/// What a run achieved; `--summary-json` writes exactly this. Its counts
/// are the run's [`Totals`] (flattened, so the JSON is one flat object);
/// the rest is what only the live run knew, 0 when rebuilt from a journal.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    #[serde(flatten)]
    pub totals: Totals,
    /// First send to last completion, in seconds.
    pub wall_s: f64,
    /// Completed requests per second over `wall_s`.
    pub achieved_per_s: f64,
    pub max_in_flight: u64,
    /// How the run's transport departs from the defaults: `--insecure`
    /// (named, since it accepts any certificate), a proxy, a cap on
    /// connections.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport: Option<String>,
    /// Connections the run opened (a reused pool opens few; 0 when
    /// rebuilt from a journal).
    #[serde(default)]
    pub connections_opened: u64,
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
    /// Whether the items went in batch calls (`coalesce`).
    #[serde(default)]
    pub coalesced: bool,
    /// The run cut at each change of its limits: when, to what, by whom,
    /// and what each phase achieved (empty when rebuilt from a journal).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phases: Vec<Phase>,
    /// The results file could not be written: what failed, and how much
    /// of the run's results it holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub journal_fault: Option<JournalFault>,
}

/// A results file that failed while the run wrote it (a full disk): the
/// run was stopped, and these results are in no file.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct JournalFault {
    /// The first error.
    pub error: String,
    /// Results known to be in the file (flushed before the error, or
    /// written when the run tried again at its end).
    pub written: u64,
    /// Results that reached no file.
    pub unwritten: u64,
}

impl RunSummary {
    /// The summary of results with these `totals`, completed over `wall`;
    /// what only the live run knew is 0 until the caller sets it.
    pub fn new(totals: Totals, wall: Duration) -> Self {
        let wall_s = wall.as_secs_f64();
        let achieved_per_s = if wall_s > 0.0 {
            totals.done as f64 / wall_s
        } else {
            0.0
        };
        Self {
            totals,
            wall_s,
            achieved_per_s,
            ..Self::default()
        }
    }

    /// The summary's lines, label and value, as both renderings show them.
    pub(crate) fn rows(&self) -> Vec<(&'static str, String)> {
        let t = &self.totals;
        let mut rows = vec![(
            "requests",
            format!("{} ({} ok, {} failed)", t.done, t.ok, t.failed),
        )];
        if self.not_sent > 0 {
            rows.push(("not sent", self.not_sent.to_string()));
        }
        rows.push(("retries", self.retries.to_string()));
        let a = &t.answers;
        if a.total > 0 {
            rows.push((
                "answers",
                format!(
                    "{} ({} accepted, {} refused{})",
                    a.total,
                    a.accepted(),
                    a.refused,
                    if a.by_status.is_empty() {
                        String::new()
                    } else {
                        format!("; {}", counts(&a.by_status))
                    }
                ),
            ));
        }
        if self.coalesced {
            rows.push(("calls", format!("{} (batch calls and polls)", self.calls)));
        }
        if self.held_by_server_s > 0.0 {
            rows.push(("held by server", format!("{:.1} s", self.held_by_server_s)));
        }
        rows.push(("wall time", format!("{:.3} s", self.wall_s)));
        rows.push(("achieved rate", format!("{:.2} req/s", self.achieved_per_s)));
        rows.push(("max in flight", self.max_in_flight.to_string()));
        if self.connections_opened > 0 {
            rows.push(("connections", format!("{} opened", self.connections_opened)));
        }
        if let Some(transport) = &self.transport {
            rows.push(("transport", transport.clone()));
        }
        let p = &t.latency;
        rows.push((
            "latency (ms)",
            format!(
                "p50 {:.2}  p90 {:.2}  p99 {:.2}  p99.9 {:.2}  max {:.2}",
                p.p50, p.p90, p.p99, p.p999, p.max
            ),
        ));
        let w = &t.wait;
        rows.push((
            "wait (ms)",
            format!("p50 {:.2}  p99 {:.2}  max {:.2}", w.p50, w.p99, w.max),
        ));
        if !t.by_status.is_empty() {
            rows.push(("status codes", counts(&t.by_status)));
        }
        if !t.by_error.is_empty() {
            rows.push(("errors", counts(&t.by_error)));
        }
        rows
    }

    fn title(&self) -> &'static str {
        if self.stopped {
            "Summary (stopped early)"
        } else {
            "Summary"
        }
    }

    /// A plain-text table for the terminal.
    pub fn render_table(&self) -> String {
        let mut out = format!("{}\n", self.title());
        for (k, v) in self.rows() {
            let _ = writeln!(out, "  {k:<16} {v}");
        }
        out
    }

    /// A Markdown summary, ready to paste into a pull request or an issue:
    /// the figures, then `settings` (name, value) as run.
    pub fn render_markdown(&self, settings: &[(String, String)]) -> String {
        // A pipe in a value would end its cell.
        let cell = |v: &str| v.replace('|', "\\|");
        let mut out = format!("### ratebench: {}\n\n| | |\n|---|---|\n", self.title());
        for (k, v) in self.rows() {
            let _ = writeln!(out, "| {k} | {} |", cell(&v));
        }
        if !settings.is_empty() {
            out.push_str("\n| setting | value |\n|---|---|\n");
            for (k, v) in settings {
                let _ = writeln!(out, "| {} | {} |", cell(k), cell(v));
            }
        }
        out
    }
}

/// `key: count, key: count`, in key order.
fn counts<K: std::fmt::Display>(map: &BTreeMap<K, u64>) -> String {
    map.iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_has_the_figures_and_settings_with_pipes_escaped() {
        let s = RunSummary {
            totals: Totals {
                done: 3,
                ok: 2,
                failed: 1,
                by_status: BTreeMap::from([(200, 2), (503, 1)]),
                ..Totals::default()
            },
            ..RunSummary::default()
        };
        let md = s.render_markdown(&[("batch".into(), "a|b.json".into())]);
        assert!(
            md.starts_with("### ratebench: Summary\n\n| | |\n|---|---|\n"),
            "{md}"
        );
        assert!(md.contains("| requests | 3 (2 ok, 1 failed) |"), "{md}");
        assert!(md.contains("| status codes | 200: 2, 503: 1 |"), "{md}");
        assert!(md.contains("| batch | a\\|b.json |"), "{md}");
    }

    #[test]
    fn the_json_is_flat_and_reads_back() {
        let s = RunSummary {
            totals: Totals {
                done: 3,
                by_status: BTreeMap::from([(200, 2)]),
                by_error: BTreeMap::from([(crate::model::ErrorKind::Timeout, 1)]),
                ..Totals::default()
            },
            wall_s: 1.5,
            ..RunSummary::default()
        };
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["total"], 3);
        assert_eq!(json["by_status"]["200"], 2);
        assert_eq!(json["by_error"]["timeout"], 1);
        assert_eq!(json["latency_ms"]["p50"], 0.0);
        let back: RunSummary = serde_json::from_value(json).unwrap();
        assert_eq!(back, s);
    }
}
