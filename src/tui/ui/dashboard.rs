//! The dashboard: limits, in flight, throughput, latency, status codes,
//! errors or rate limits, endpoints (when tall) and progress.

use std::time::Duration;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::symbols;
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Axis, Block, Cell, Chart, Dataset, Gauge, GraphType, Paragraph, Row, Sparkline, Table, Wrap,
};

use super::{ENDPOINTS_MIN_HEIGHT, Theme, draw_header, errors, fitted_footer, limits, run_label};
use crate::engine::RunState;
use crate::tui::app::{App, Slider};

pub(super) fn draw(frame: &mut Frame, app: &App, theme: &Theme) {
    if frame.area().width < MIN_WIDTH || frame.area().height < MIN_HEIGHT {
        return draw_compact(frame, app, theme);
    }
    let rows = app.stats.endpoints.len().clamp(1, 8) as u16;
    let endpoints_height = if frame.area().height >= ENDPOINTS_MIN_HEIGHT {
        // Room for the rate limits panel beside it too.
        (rows + 3).max(6)
    } else {
        0
    };
    let [header, controls, middle, lower, endpoints, progress, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(3),
        Constraint::Min(6),
        Constraint::Length(8),
        Constraint::Length(endpoints_height),
        Constraint::Length(3),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    if endpoints_height > 0 {
        let [left, right] =
            Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)])
                .areas(endpoints);
        draw_endpoints(frame, left, app, theme);
        limits::draw_panel(frame, right, app, theme);
    }
    draw_header(frame, header, app, theme);
    draw_controls(frame, controls, app, theme);
    let [in_flight, throughput] =
        Layout::horizontal([Constraint::Percentage(35), Constraint::Percentage(65)]).areas(middle);
    draw_in_flight(frame, in_flight, app, theme);
    draw_throughput(frame, throughput, app, theme);
    let [latency, statuses, errors] = Layout::horizontal([
        Constraint::Percentage(30),
        Constraint::Percentage(30),
        Constraint::Percentage(40),
    ])
    .areas(lower);
    draw_latency(frame, latency, app);
    draw_statuses(frame, statuses, app, theme);
    if app.show_limits && endpoints_height == 0 {
        limits::draw_panel(frame, errors, app, theme);
    } else {
        errors::draw_panel(frame, errors, app, theme);
    }
    draw_progress(frame, progress, app, theme);
    let hints = crate::tui::keys::hints(crate::tui::keys::GLOBAL);
    frame.render_widget(fitted_footer(app, theme, &hints, footer.width), footer);
}

/// The smallest terminal the panels fit in.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 22;

/// Below [`MIN_WIDTH`]×[`MIN_HEIGHT`]: what still works (the limits, the
/// progress, the keys) and a word on the rest, not empty boxes.
fn draw_compact(frame: &mut Frame, app: &App, theme: &Theme) {
    let [header, controls, note, progress, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(3),
        Constraint::Min(1),
        Constraint::Length(3),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    draw_header(frame, header, app, theme);
    draw_controls(frame, controls, app, theme);
    frame.render_widget(
        Paragraph::new(Line::styled(
            format!("enlarge the terminal for the panels (at least {MIN_WIDTH}x{MIN_HEIGHT})"),
            theme.dim,
        ))
        .wrap(Wrap { trim: true }),
        note,
    );
    draw_progress(frame, progress, app, theme);
    let hints = crate::tui::keys::hints(crate::tui::keys::GLOBAL);
    frame.render_widget(fitted_footer(app, theme, &hints, footer.width), footer);
}

/// The batching figures under the throughput chart: calls, items per
/// call, calls the server refused; with arrivals, how often calls went full and an
/// item's time split into queued, call and poll (p50/p99, ms).
fn batching_line(b: &crate::stats::BatchStats, refused: u64) -> String {
    let refused = if refused > 0 {
        format!(" · {refused} refused")
    } else {
        String::new()
    };
    match &b.arrivals {
        // Calls a second are in the chart's title; the unit goes before
        // the numbers, so where the border cuts the line, numbers go.
        Some(a) => {
            let mut line = format!(
                " {:.0} per call · {:.0}% full{refused} · ms p50/p99: queued {:.0}/{:.0} call {:.0}/{:.0}",
                b.items_per_call,
                a.full_share * 100.0,
                a.queued.p50,
                a.queued.p99,
                a.call.p50,
                a.call.p99
            );
            if b.polling.p99 > 0.0 {
                line.push_str(&format!(" poll {:.0}/{:.0}", b.polling.p50, b.polling.p99));
            }
            line.push(' ');
            line
        }
        None => format!(
            " {} calls · {:.0} items each{refused} · jobs done in p50 {:.0} ms, p99 {:.0} ms ",
            b.calls, b.items_per_call, b.polling.p50, b.polling.p99
        ),
    }
}

/// A duration in ms as a person reads it: `50 ms`, `1.5 s`.
fn fmt_ms(ms: f64) -> String {
    if ms >= 1000.0 {
        format!("{} s", (ms / 100.0).round() / 10.0)
    } else {
        format!("{ms:.0} ms")
    }
}

pub(super) fn fmt_value(slider: Slider, v: Option<f64>) -> String {
    match (slider, v) {
        (_, None) => "unlimited".to_owned(),
        (Slider::MaxAtOnce, Some(v)) => format!("{v:.0}"),
        (Slider::PerSecond | Slider::Arrivals, Some(v)) if v.fract() == 0.0 => {
            format!("{v:.0}/s")
        }
        (Slider::PerSecond | Slider::Arrivals, Some(v)) => format!("{v}/s"),
    }
}

/// A bar of `width` cells, filled on a log scale from 1 to 10,000.
/// A slider's bar, on a log scale from 0.1 to 10,000 (full: unlimited).
pub(super) fn slider_bar(v: Option<f64>, width: usize) -> String {
    let ratio = v.map_or(1.0, |v| (v.max(0.1).log10() + 1.0) / 5.0);
    slider_bar_ratio(ratio, width)
}

/// A bar `width` cells wide, filled to `ratio`.
pub(super) fn slider_bar_ratio(ratio: f64, width: usize) -> String {
    let filled = (ratio * width as f64).round().clamp(0.0, width as f64) as usize;
    format!("{}{}", "■".repeat(filled), "·".repeat(width - filled))
}

pub(in crate::tui) fn draw_controls(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let mut spans = Vec::new();
    let sliders: &[Slider] = if app.arrival_rate.is_some() && app.coalescing() {
        &[Slider::MaxAtOnce, Slider::PerSecond, Slider::Arrivals]
    } else {
        &[Slider::MaxAtOnce, Slider::PerSecond]
    };
    for &slider in sliders {
        let v = app.value(slider);
        let style = if app.selected == slider {
            theme.selected
        } else {
            Style::new()
        };
        spans.push(Span::styled(format!(" {} ", slider.label()), style));
        // While a plan drives the rate, the slider shows the plan's rate
        // now (what the engine runs at), and says so.
        let planned = slider == Slider::PerSecond
            && app.profile.is_some()
            && !app.profile_taken_over
            && matches!(app.state, RunState::Running | RunState::Paused);
        let shown = if planned {
            format!("{} (plan)", fmt_value(slider, app.stats.limits.per_second))
        } else {
            fmt_value(slider, v)
        };
        spans.push(Span::styled(
            format!(" ◀ {shown} ▶ "),
            style.add_modifier(Modifier::BOLD),
        ));
        let bar = if sliders.len() == 3 { 4 } else { 8 };
        spans.push(Span::styled(
            format!("{} ", slider_bar(v, bar)),
            theme.accent,
        ));
        if slider == Slider::PerSecond {
            // Auto-tune's marker: the best rate held so far, or its answer.
            let marker = match (&app.autotune, &app.tuned) {
                (Some(tune), _) => Some(match tune.best() {
                    Some(best) => format!("auto · best {best:.1}"),
                    None => "auto".to_owned(),
                }),
                (None, Some(r)) => Some(format!("tuned {}", r.per_second)),
                _ => None,
            };
            if let Some(marker) = marker {
                spans.push(Span::styled(format!("{marker} "), theme.good));
            }
        }
        spans.push(Span::raw("  "));
    }
    match app.max_items {
        // With arrivals the grouping goes on the border: the line holds
        // three sliders.
        Some(_) if app.coalescing() && app.window.is_some() => {}
        Some(n) if app.coalescing() => {
            spans.push(Span::styled(format!(" {n} per call "), theme.accent));
        }
        Some(_) => spans.push(Span::styled(" one by one ", theme.dim)),
        None => {}
    }
    let binding = app.limited_by();
    let mut block = Block::bordered().title(" limits ");
    if let Some(guide) = &app.guide {
        // On the top border, beside the title: the bottom one says which
        // limit binds. Where it does not fit, its first part (the mock's
        // address) does.
        let room = usize::from(area.width).saturating_sub(12);
        let shown = if guide.chars().count() <= room {
            guide.as_str()
        } else {
            guide.split(" · ").next().unwrap_or(guide)
        };
        block = block.title(Line::styled(format!(" {shown} "), theme.accent).right_aligned());
    }
    if let (Some(n), Some(w), true) = (app.max_items, app.window, app.coalescing()) {
        block = block.title_bottom(Line::styled(
            format!(
                " {n} per call · window {} ({{ }}) ",
                fmt_ms(w.as_secs_f64() * 1000.0)
            ),
            theme.accent,
        ));
    }
    if !binding.is_empty() {
        block =
            block.title_bottom(Line::styled(format!(" {binding} "), theme.warn).right_aligned());
    }
    frame.render_widget(Paragraph::new(Line::from(spans)).block(block), area);
}

pub(in crate::tui) fn draw_in_flight(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let s = &app.stats;
    let block = Block::bordered().title(" in flight ");
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [gauge_area, spark_area] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(inner);
    let cap = app.limits.max_at_once;
    let ratio = match cap {
        Some(c) if c > 0 => (s.in_flight as f64 / c as f64).min(1.0),
        _ => {
            if s.max_in_flight > 0 {
                s.in_flight as f64 / s.max_in_flight as f64
            } else {
                0.0
            }
        }
    };
    let mut label = match cap {
        Some(c) => format!("{} / {c}", s.in_flight),
        None => format!("{} (no cap)", s.in_flight),
    };
    // Connections beside requests: with HTTP/1.1 a request holds one; a
    // cap below max at once makes requests wait for one.
    let conns = &s.connections;
    if app.state == RunState::Done && conns.opened > 0 {
        // Over: what it took (a reused pool opens few).
        label.push_str(&format!(" · {} conns opened", conns.opened));
    } else if conns.opened > 0 || conns.cap.is_some() {
        label.push_str(&format!(" · conns {}", conns.open));
        if let Some(c) = conns.cap {
            label.push_str(&format!(" / {c}"));
        }
    }
    frame.render_widget(
        Gauge::default()
            .ratio(ratio)
            .label(label)
            .gauge_style(theme.accent),
        gauge_area,
    );
    let width = spark_area.width as usize;
    let data: Vec<u64> = app
        .history
        .samples()
        .rev()
        .take(width)
        .map(|x| x.in_flight)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    frame.render_widget(
        Sparkline::default().data(&data).style(theme.accent),
        spark_area,
    );
}

pub(in crate::tui) fn draw_throughput(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let s = &app.stats;
    let target = s
        .limits
        .per_second
        .map_or_else(|| "unlimited".to_owned(), |r| format!("{r}/s"));
    let coalesced = app.coalescing();
    let finished = match (&app.state, &app.summary) {
        (RunState::Done, Some(summary)) if summary.wall_s > 0.0 => Some(summary),
        _ => None,
    };
    let title = if let Some(summary) = finished {
        // The run is over: the last second says nothing; its averages do.
        let a = &summary.totals.answers;
        format!(
            " run average: accepted {:.1}/s · refused {:.1}/s · target {target} ",
            a.accepted() as f64 / summary.wall_s,
            a.refused as f64 / summary.wall_s
        )
    } else if coalesced {
        // Items complete in batches; the limits count the calls.
        format!(
            " items {:.1}/s · calls {:.1}/s · target {target} ",
            s.completion_rate, s.start_rate
        )
    } else {
        // What the server accepted, and refused, each second: moving the
        // rate past the server's limit flattens the first and lifts the
        // second.
        format!(
            " accepted {:.1}/s · refused {:.1}/s · target {target} ",
            s.accepted_rate, s.refused_rate
        )
    };
    let achieved: Vec<(f64, f64)> = app
        .history
        .samples()
        .map(|x| {
            (
                x.t,
                if coalesced {
                    x.completion_rate
                } else {
                    x.accepted
                },
            )
        })
        .collect();
    let refused: Vec<(f64, f64)> = app
        .history
        .samples()
        .filter(|_| !coalesced)
        .map(|x| (x.t, x.refused))
        .collect();
    let seen = achieved
        .iter()
        .chain(&refused)
        .map(|p| p.1)
        .fold(0.0, f64::max);
    // A target far above what is achieved (10000/s asked, 47/s done)
    // would squash the achieved line flat at the bottom: the scale follows
    // what happened, and a target more than twice that is left to the
    // title.
    let targets: Vec<(f64, f64)> = app
        .history
        .samples()
        .filter_map(|x| Some((x.t, x.target_rate?)))
        .filter(|&(_, rate)| seen == 0.0 || rate <= seen * 2.0)
        .collect();
    let (t0, t1) = match (achieved.first(), achieved.last()) {
        (Some(a), Some(b)) if b.0 > a.0 => (a.0, b.0),
        _ => (0.0, 1.0),
    };
    let peak = targets.iter().map(|p| p.1).fold(seen.max(1.0), f64::max) * 1.2;
    // In colour, one marker for all; without, each series its own shape
    // (the legend says which is which).
    let (target_marker, refused_marker) = if theme.monochrome {
        (symbols::Marker::Dot, symbols::Marker::Bar)
    } else {
        (symbols::Marker::Braille, symbols::Marker::Braille)
    };
    let datasets = vec![
        Dataset::default()
            .name("target")
            .marker(target_marker)
            .graph_type(GraphType::Line)
            .style(theme.warn)
            .data(&targets),
        Dataset::default()
            .name(if coalesced { "items/s" } else { "accepted/s" })
            .marker(symbols::Marker::Braille)
            .graph_type(GraphType::Line)
            .style(theme.good)
            .data(&achieved),
        Dataset::default()
            .name("refused/s")
            .marker(refused_marker)
            .graph_type(GraphType::Line)
            .style(theme.bad)
            .data(&refused),
    ];
    let mut block = Block::bordered().title(title);
    // Without colour the shapes tell the series apart; this says which
    // (the plan, when there is one and no room for both, comes first).
    const KEY: &str = " ⣀ accepted · ▄ refused · • target ";
    let plan_width = app
        .profile
        .as_ref()
        .map_or(0, |p| limits::describe(p).chars().count() + 20);
    if theme.monochrome
        && !coalesced
        && plan_width + KEY.chars().count() + 2 <= usize::from(area.width)
    {
        block = block.title_bottom(Line::from(KEY).right_aligned());
    }
    if let Some(b) = &s.batches {
        // Batch calls the server refused (429), from their answers.
        let refused = s
            .endpoints
            .iter()
            .find(|e| e.key == "batch calls")
            .map_or(0, |e| e.rate_limited);
        block = block.title_bottom(Line::styled(batching_line(b, refused), theme.dim));
    }
    if let Some(profile) = &app.profile {
        let plan = if app.profile_taken_over {
            format!(" plan {} · taken over ", limits::describe(profile))
        } else {
            format!(" plan {} ", limits::describe(profile))
        };
        block = block.title_bottom(Line::styled(plan, theme.dim));
    }
    let mut chart = Chart::new(datasets).block(block);
    if theme.monochrome {
        // Shapes alone tell the series apart: the legend must show.
        chart = chart.hidden_legend_constraints((Constraint::Min(0), Constraint::Min(0)));
    }
    let chart = chart
        .x_axis(
            Axis::default()
                .bounds([t0, t1])
                .labels([format!("{t0:.0}s"), format!("{t1:.0}s")])
                .style(theme.dim),
        )
        .y_axis(
            Axis::default()
                .bounds([0.0, peak])
                .labels(["0".to_owned(), format!("{peak:.0}")])
                .style(theme.dim),
        );
    frame.render_widget(chart, area);
}

pub(in crate::tui) fn draw_latency(frame: &mut Frame, area: Rect, app: &App) {
    let l = &app.stats.totals.latency;
    let w = &app.stats.totals.wait;
    // No answer yet: a dash, not a 0.0 ms nobody measured.
    let answered = app.stats.totals.answers.total > 0 || app.stats.totals.done > 0;
    let ms = |v: f64| {
        if answered {
            format!("{v:>9.1} ms")
        } else {
            format!("{:>9}   ", "–")
        }
    };
    let lines = vec![
        Line::from(format!("p50 {}", ms(l.p50))),
        Line::from(format!("p90 {}", ms(l.p90))),
        Line::from(format!("p99 {}", ms(l.p99))),
        Line::from(format!("max {}", ms(l.max))),
        Line::from(if answered {
            format!("wait p50 {:.0} p99 {:.0} ms", w.p50, w.p99)
        } else {
            "wait p50 – p99 –".to_owned()
        }),
    ];
    frame.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(" latency ")),
        area,
    );
}

/// Answers by status over every attempt (a retried 429 counts), with
/// the requests' final results beside them: the server's view and the
/// batch's. The 429s have their row; "other 4xx" leaves them out.
pub(in crate::tui) fn draw_statuses(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let t = &app.stats.totals;
    let a = &t.answers;
    let finals = &t.by_status;
    let final_class = |lo: u16| finals.range(lo..lo + 100).map(|(_, n)| n).sum::<u64>();
    let final_429 = t.status(429);
    let rows = [
        ("2xx", theme.good, a.class(200), final_class(200)),
        ("3xx", Style::new(), a.class(300), final_class(300)),
        ("429", theme.warn, a.status(429), final_429),
        (
            "other 4xx",
            theme.warn,
            a.class(400) - a.status(429),
            final_class(400) - final_429,
        ),
        ("5xx", theme.bad, a.class(500), final_class(500)),
        (
            "no answer",
            theme.bad,
            a.failed_on_the_way(),
            t.by_error.values().sum::<u64>(),
        ),
    ];
    let lines: Vec<Line> = rows
        .into_iter()
        .map(|(label, style, answers, finals)| {
            Line::from(vec![
                Span::styled(format!("{label:<9}"), style),
                Span::raw(format!("{:>6} {:>6}", count(answers), count(finals))),
            ])
        })
        .collect();
    frame.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(" answers · final ")),
        area,
    );
}

/// A count in at most six characters: `12345`, `123.5k`, `12.3M`.
pub(super) fn count(n: u64) -> String {
    match n {
        0..=99_999 => n.to_string(),
        100_000..=99_999_999 => format!("{:.1}k", n as f64 / 1e3),
        _ => format!("{:.1}M", n as f64 / 1e6),
    }
}

pub(in crate::tui) fn draw_endpoints(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let percent = |n: u64, of: u64| {
        if of == 0 {
            0.0
        } else {
            n as f64 * 100.0 / of as f64
        }
    };
    let rows: Vec<Row> = app
        .stats
        .endpoints
        .iter()
        .map(|e| {
            // Shares of the endpoint's answers (retried attempts count).
            let err = percent(e.errors, e.answers);
            let limited = percent(e.rate_limited, e.answers);
            Row::new(vec![
                Cell::from(e.key.clone()),
                Cell::from(e.count.to_string()),
                Cell::from(format!("{:.1}", e.p50_ms)),
                Cell::from(format!("{:.1}", e.p99_ms)),
                Cell::from(format!("{err:.1}%")).style(if err > 0.0 {
                    theme.bad
                } else {
                    Style::new()
                }),
                Cell::from(format!("{limited:.1}%")).style(if limited > 0.0 {
                    theme.warn
                } else {
                    Style::new()
                }),
            ])
        })
        .collect();
    let widths = [
        Constraint::Min(20),
        Constraint::Length(8),
        Constraint::Length(9),
        Constraint::Length(9),
        Constraint::Length(7),
        Constraint::Length(7),
    ];
    let header = Row::new(["endpoint", "count", "p50 ms", "p99 ms", "err", "429"])
        .style(theme.dim.add_modifier(Modifier::BOLD));
    frame.render_widget(
        Table::new(rows, widths)
            .header(header)
            .block(Block::bordered().title(" endpoints ")),
        area,
    );
}

pub(super) fn fmt_secs(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs >= 60.0 {
        format!("{}m{:02}s", (secs / 60.0) as u64, secs as u64 % 60)
    } else {
        format!("{secs:.1}s")
    }
}

pub(in crate::tui) fn draw_progress(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let s = &app.stats;
    let total = s.total.unwrap_or(0);
    let ratio = if total > 0 {
        (s.totals.done as f64 / total as f64).min(1.0)
    } else {
        0.0
    };
    let eta = if s.completion_rate > 0.0 && total > s.totals.done && app.state == RunState::Running
    {
        fmt_secs(Duration::from_secs_f64(
            (total - s.totals.done) as f64 / s.completion_rate,
        ))
    } else {
        "-".to_owned()
    };
    let coalesced = app.coalescing();
    let label = if coalesced {
        // In flight counts calls, not items: say what the calls are doing.
        let oldest = s
            .oldest_job
            .map_or_else(String::new, |d| format!(" (oldest {})", fmt_secs(d)));
        format!(
            "{}/{}  elapsed {}  ETA {}  calls in flight {}  jobs pending {}{oldest}",
            s.totals.done,
            total,
            fmt_secs(s.elapsed),
            eta,
            s.in_flight,
            s.jobs_pending
        )
    } else {
        let queued = total.saturating_sub(s.totals.done + s.in_flight + s.retrying);
        // Once the run is over nothing is queued: what is left was never sent.
        let queued = match (&app.state, &app.summary) {
            (RunState::Done, Some(summary)) => format!("not sent {}", summary.not_sent),
            _ => format!("queued {queued}"),
        };
        // Retries waiting a while (a server's Retry-After): say for how long.
        let waiting = match s.next_retry_in {
            Some(d) if s.retrying > 0 && d >= std::time::Duration::from_secs(1) => {
                format!(" ({} waiting, next in {})", s.retrying, fmt_secs(d))
            }
            _ => String::new(),
        };
        format!(
            "{}/{}  elapsed {}  ETA {}  retries {}{waiting}  {}",
            s.totals.done,
            total,
            fmt_secs(s.elapsed),
            eta,
            s.retries,
            queued
        )
    };
    let run = if app.run_number > 0 {
        format!(" · run {}", app.run_number)
    } else {
        String::new()
    };
    let mut block = Block::bordered().title(format!(" progress · {}{run} ", run_label(app)));
    if let Some(journal) = &app.journal {
        block = block.title_bottom(
            Line::styled(
                format!(
                    " results: {} ",
                    super::shorten_middle(
                        &journal.display().to_string(),
                        usize::from(area.width.saturating_sub(14))
                    )
                ),
                theme.dim,
            )
            .right_aligned(),
        );
    }
    frame.render_widget(
        Gauge::default()
            .ratio(ratio)
            .label(label)
            .gauge_style(theme.good)
            .block(block),
        area,
    );
}
