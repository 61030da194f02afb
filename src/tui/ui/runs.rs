//! The runs log: every run (finished, stopped, cut off), most recent
//! first, with how its limits moved and what it achieved; and two runs
//! side by side, like with like.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph, Row, Table, TableState};

use super::Theme;
use crate::session::RunEntry;
use crate::stats::RunSummary;
use crate::tui::app::App;

/// Matching phases shown under a comparison, at most.
const MATCHES: usize = 2;

pub(super) fn draw(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let runs = &app.runs_log;
    let marked = &app.runs_view.marked;
    let compared = match marked[..] {
        [x, y] => Some((x.min(y), x.max(y))),
        _ => None,
    };
    let compare_lines = compared.map_or(Vec::new(), |(a, b)| compare(&runs[a], &runs[b], theme));
    let compare_height = if compare_lines.is_empty() {
        0
    } else {
        compare_lines.len() as u16 + 2
    };
    let [list, panel] =
        Layout::vertical([Constraint::Min(4), Constraint::Length(compare_height)]).areas(area);
    let rows: Vec<Row> = runs
        .iter()
        .enumerate()
        .rev()
        .map(|(i, run)| row(i, run, marked.contains(&i)))
        .collect();
    let widths = [
        Constraint::Length(4),
        Constraint::Min(12),
        Constraint::Length(16),
        Constraint::Length(9),
        Constraint::Length(5),
        Constraint::Length(6),
        Constraint::Length(4),
        Constraint::Length(6),
        Constraint::Length(6),
    ];
    let header = Row::new([
        "run",
        "at · batch",
        "limits",
        "ended",
        "total",
        "failed",
        "429",
        "req/s",
        "p99",
    ])
    .style(theme.dim.add_modifier(Modifier::BOLD));
    let title = if runs.is_empty() {
        " runs · none yet: r runs the batch ".to_owned()
    } else {
        format!(" runs · {} ", runs.len())
    };
    let table = Table::new(rows, widths)
        .header(header)
        .row_highlight_style(theme.selected)
        .block(Block::bordered().title(title));
    let mut state = TableState::default()
        .with_selected(Some(app.runs_view.selected).filter(|_| !runs.is_empty()));
    frame.render_stateful_widget(table, list, &mut state);
    if let Some((a, b)) = compared {
        let title = format!(
            " compare runs {} and {} ",
            number(&runs[a], a),
            number(&runs[b], b)
        );
        frame.render_widget(
            Paragraph::new(compare_lines).block(Block::bordered().title(title)),
            panel,
        );
    }
}

/// A run's number: its own, or its place in the log (older lines).
fn number(run: &RunEntry, at: usize) -> u64 {
    if run.number > 0 {
        run.number
    } else {
        at as u64 + 1
    }
}

fn row(at: usize, run: &RunEntry, marked: bool) -> Row<'static> {
    let time = run
        .finished_at
        .as_deref()
        .or(run.started_at.as_deref())
        .unwrap_or("");
    let time = time.get(11..16).unwrap_or(time);
    let batched = match (&run.batching, run.coalesced) {
        (Some(b), _) => format!(" (batched: {})", b.describe()),
        (None, true) => " (batched)".to_owned(),
        (None, false) => String::new(),
    };
    let flags = format!(
        "{}{}{}",
        batched,
        if run.failed_only { " (failed)" } else { "" },
        if run.autotuned { " (auto-tuned)" } else { "" }
    );
    let mark = if marked { "*" } else { " " };
    let mut cells = vec![
        format!("{mark}{}", number(run, at)),
        format!("{time} {}{flags}", run.batch),
        run.limits_span(),
        run.ending().as_str().to_owned(),
    ];
    match &run.summary {
        Some(s) => cells.extend([
            s.totals.done.to_string(),
            s.totals.failed.to_string(),
            s.totals.answers.status(429).to_string(),
            format!("{:.1}", s.achieved_per_s),
            format!("{:.0}", s.totals.latency.p99),
        ]),
        None => cells.extend(std::iter::repeat_n("–".to_owned(), 5)),
    }
    Row::new(cells)
}

/// Two runs side by side, the older first, changes relative to it; a
/// warning when they ran different batches; and the phases both had at
/// the same limits, compared with each other.
fn compare(ra: &RunEntry, rb: &RunEntry, theme: &Theme) -> Vec<Line<'static>> {
    let (Some(sa), Some(sb)) = (&ra.summary, &rb.summary) else {
        return vec![Line::styled(
            "a run without figures (cut off) has nothing to compare",
            theme.warn,
        )];
    };
    // Counts as whole numbers, rates and times to a tenth.
    let line = |label: &str, x: f64, y: f64, unit: &str| {
        let places = if unit == "ms" || unit == "/s" { 1 } else { 0 };
        let delta = if x != 0.0 {
            format!("{:+.1}%", (y - x) / x * 100.0)
        } else {
            String::new()
        };
        Line::from(format!(
            "{label:<12}{x:>12.places$} {unit:<3}{y:>12.places$} {unit:<3}  {delta}"
        ))
    };
    let mut lines = vec![
        line("rate", sa.achieved_per_s, sb.achieved_per_s, "/s"),
        line("p50", sa.totals.latency.p50, sb.totals.latency.p50, "ms"),
        line("p99", sa.totals.latency.p99, sb.totals.latency.p99, "ms"),
        line(
            "failed",
            sa.totals.failed as f64,
            sb.totals.failed as f64,
            "",
        ),
        line(
            "429 answers",
            sa.totals.answers.status(429) as f64,
            sb.totals.answers.status(429) as f64,
            "",
        ),
        Line::from(format!(
            "{:<12}{:>16}    {:>16}",
            "limits",
            ra.limits_span(),
            rb.limits_span()
        )),
    ];
    if !same_batch(ra, rb) {
        lines.push(Line::styled(
            format!(
                "⚠ different batches: {} ({} requests) · {} ({})",
                ra.batch, ra.batch_requests, rb.batch, rb.batch_requests
            ),
            theme.warn,
        ));
    }
    lines.extend(like_with_like(sa, sb).into_iter().take(MATCHES));
    lines
}

fn same_batch(a: &RunEntry, b: &RunEntry) -> bool {
    match (&a.batch_hash, &b.batch_hash) {
        (Some(x), Some(y)) => x == y,
        _ => a.batch == b.batch,
    }
}

/// For the limits both runs held steady at some time (no ramp), each
/// run's throughput and p99 over its phases at them.
fn like_with_like(a: &RunSummary, b: &RunSummary) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    for pa in a
        .phases
        .iter()
        .filter(|p| p.ramp_to.is_none() && p.done > 0)
    {
        if lines.iter().any(|(l, _)| *l == pa.limits) {
            continue;
        }
        let Some(pb) = b
            .phases
            .iter()
            .find(|p| p.limits == pa.limits && p.ramp_to.is_none() && p.done > 0)
        else {
            continue;
        };
        let at = RunEntry::span_of(pa.limits);
        lines.push((
            pa.limits,
            Line::from(format!(
                "at {at}: {:.1}/s p99 {:.0} ms · {:.1}/s p99 {:.0} ms",
                pa.done_per_s(),
                pa.p99_ms,
                pb.done_per_s(),
                pb.p99_ms
            )),
        ));
    }
    lines.into_iter().map(|(_, l)| l).collect()
}
