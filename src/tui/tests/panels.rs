//! Each dashboard panel rendered alone into a buffer, in colour, and
//! compared cell by cell (text and style) with what it should be: the
//! whole-screen snapshots carry no colour, these do.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};

use super::*;
use crate::tui::ui::Theme;
use crate::tui::ui::dashboard::{
    draw_controls, draw_endpoints, draw_in_flight, draw_latency, draw_progress, draw_statuses,
};

/// `draw` into a `width`×`height` buffer of its own.
fn panel(width: u16, height: u16, draw: impl FnOnce(&mut ratatui::Frame, Rect)) -> Buffer {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| draw(f, f.area())).unwrap();
    terminal.backend().buffer().clone()
}

/// A buffer of these lines, with `styles` set on runs of cells:
/// (x, y, width, style).
fn expected(lines: &[&str], styles: &[(u16, u16, u16, Style)]) -> Buffer {
    let mut buffer = Buffer::with_lines(lines.iter().copied());
    for (x, y, width, style) in styles {
        buffer.set_style(Rect::new(*x, *y, *width, 1), *style);
    }
    buffer
}

fn fg(colour: Color) -> Style {
    Style::new().fg(colour)
}

/// A run 40 of 100 in, with fixed stats (two error groups, two
/// endpoints, the server's limits).
fn running() -> App {
    scripted(RunState::Running, 40)
}

#[test]
fn answers_beside_final_results_with_429_apart_in_warning_colours() {
    let app = running();
    let got = panel(26, 8, |f, a| draw_statuses(f, a, &app, &Theme::colour()));
    // Two attempts were retried (a 429 and a 503): answers count them.
    let want = expected(
        &[
            "┌ answers · final ───────┐",
            "│2xx          37     37  │",
            "│3xx           0      0  │",
            "│429           2      1  │",
            "│other 4xx     0      0  │",
            "│5xx           2      1  │",
            "│no answer     1      1  │",
            "└────────────────────────┘",
        ],
        &[
            (1, 1, 9, fg(Color::Green)),
            (1, 3, 9, fg(Color::Yellow)),
            (1, 4, 9, fg(Color::Yellow)),
            (1, 5, 9, fg(Color::Red)),
            (1, 6, 9, fg(Color::Red)),
        ],
    );
    assert_eq!(got, want);
}

#[test]
fn latency_with_the_wait_apart() {
    let app = running();
    let got = panel(26, 7, |f, a| draw_latency(f, a, &app));
    let want = expected(
        &[
            "┌ latency ───────────────┐",
            "│p50     201.2 ms        │",
            "│p90     230.5 ms        │",
            "│p99     248.9 ms        │",
            "│max     250.3 ms        │",
            "│wait p50 48 p99 50 ms   │",
            "└────────────────────────┘",
        ],
        &[],
    );
    assert_eq!(got, want);
    // Before any answer: dashes, not figures nobody measured.
    let idle = app_idle();
    let got = panel(26, 7, |f, a| draw_latency(f, a, &idle));
    let want = expected(
        &[
            "┌ latency ───────────────┐",
            "│p50         –           │",
            "│p90         –           │",
            "│p99         –           │",
            "│max         –           │",
            "│wait p50 – p99 –        │",
            "└────────────────────────┘",
        ],
        &[],
    );
    assert_eq!(got, want);
}

fn app_idle() -> App {
    scripted(RunState::Idle, 0)
}

#[test]
fn the_limits_row_shows_the_selection_the_bars_and_what_binds() {
    let app = running();
    let got = panel(80, 3, |f, a| draw_controls(f, a, &app, &Theme::colour()));
    let selected = Style::new()
        .fg(Color::Black)
        .bg(Color::Cyan)
        .add_modifier(Modifier::BOLD);
    let want = expected(
        &[
            "┌ limits ──────────────────────────────────────────────────────────────────────┐",
            "│ max at once  ◀ 10 ▶ ■■■·····    per second  ◀ 20/s ▶ ■■■■····                │",
            "└───────────────────────────────────────────────────────────── limited by rate ┘",
        ],
        &[
            (1, 1, 21, selected),
            (22, 1, 9, fg(Color::Cyan)),
            (45, 1, 10, Style::new().add_modifier(Modifier::BOLD)),
            (55, 1, 9, fg(Color::Cyan)),
            (62, 2, 17, fg(Color::Yellow)),
        ],
    );
    assert_eq!(got, want);
}

#[test]
fn in_flight_against_the_cap_with_its_history() {
    let app = running();
    let got = panel(30, 6, |f, a| draw_in_flight(f, a, &app, &Theme::colour()));
    let want = expected(
        &[
            "┌ in flight ─────────────────┐",
            "│██████4 / 10 · conns 4      │",
            "│█ ▃█ ▃█ ▃█ ▃█ ▃█ ▃█ ▃█ ▃█ ▃▃│",
            "│█▆██▆██▆██▆██▆██▆██▆██▆██▆██│",
            "│████████████████████████████│",
            "└────────────────────────────┘",
        ],
        &[
            (1, 1, 28, fg(Color::Cyan)),
            // The label where it crosses the filled part: inverted.
            (7, 1, 5, Style::new().fg(Color::Reset).bg(Color::Cyan)),
            (1, 2, 28, fg(Color::Cyan)),
            (1, 3, 28, fg(Color::Cyan)),
            (1, 4, 28, fg(Color::Cyan)),
        ],
    );
    assert_eq!(got, want);
}

#[test]
fn progress_counts_eta_and_where_the_results_go() {
    let app = running();
    let got = panel(80, 3, |f, a| draw_progress(f, a, &app, &Theme::colour()));
    let want = expected(
        &[
            "┌ progress · RUNNING · run 1 ──────────────────────────────────────────────────┐",
            "│█████████████40/100  elapsed 2.0s  ETA 3.1s  retries 2  queued 56             │",
            "└──────────────────────────────── results: /tmp/ratebench/inventory-run1.jsonl ┘",
        ],
        &[
            (1, 1, 78, fg(Color::Green)),
            // The label over the filled part reads in reverse.
            (14, 1, 18, Style::new().fg(Color::Reset).bg(Color::Green)),
            (33, 2, 46, fg(Color::DarkGray)),
        ],
    );
    assert_eq!(got, want);
}

#[test]
fn error_groups_count_answers_retries_and_final_results() {
    let app = running();
    let got = panel(40, 7, |f, a| {
        crate::tui::ui::errors::draw_panel(f, a, &app, &Theme::colour())
    });
    let want = expected(
        &[
            "┌ errors ──────────────────────────────┐",
            "│         answers retried final        │",
            "│HTTP 429       2       1     1        │",
            "│HTTP 503       2       1     1        │",
            "│timeout        1       0     1        │",
            "│e.g. http://127.0.0.1…/materials?id=30│",
            "└ x details ───────────────────────────┘",
        ],
        &[
            (1, 1, 30, fg(Color::DarkGray)),
            (1, 2, 8, fg(Color::Red)),
            (1, 3, 8, fg(Color::Red)),
            (1, 4, 8, fg(Color::Red)),
            (1, 5, 38, fg(Color::DarkGray)),
        ],
    );
    assert_eq!(got, want);
}

#[test]
fn the_rate_limits_panel_reads_the_servers_signals() {
    let app = running();
    let got = panel(40, 8, |f, a| {
        crate::tui::ui::limits::draw_panel(f, a, &app, &Theme::colour())
    });
    let want = expected(
        &[
            "┌ rate limits ─────────────────────────┐",
            "│limit  20 per 1 s (20.0/s)            │",
            "│left   3 · reset 1 s (0 s ago)        │",
            "│429/s  0.5 now · 2 % refused          │",
            "│5xx/s  0.2 now                        │",
            "│held   0.0 s by the server            │",
            "│▄▄▄▄▄▄▄▄▄▄▄▄▄▄▄▄▄▄▄▄▄▄▄▄▄▄▄▄▄▄▄▄▄▄▄▄▄▄│",
            "└──────────────────────────────────────┘",
        ],
        &[
            (1, 1, 7, fg(Color::Cyan)),
            (1, 2, 7, fg(Color::Cyan)),
            (1, 3, 7, fg(Color::Cyan)),
            (1, 4, 7, fg(Color::Cyan)),
            (1, 5, 7, fg(Color::Cyan)),
            (1, 6, 38, fg(Color::Yellow)),
        ],
    );
    assert_eq!(got, want);
}

#[test]
fn endpoints_mark_errors_and_429s_among_their_answers_in_colour() {
    let app = running();
    let got = panel(60, 5, |f, a| draw_endpoints(f, a, &app, &Theme::colour()));
    let want = expected(
        &[
            "┌ endpoints ───────────────────────────────────────────────┐",
            "│endpoint             count   p50 ms p99 ms  err    429    │",
            "│inventory            30      201.0  249.0   6.5%   0.0%   │",
            "│GET /geocode         10      30.2   39.8    9.1%   18.2%  │",
            "└──────────────────────────────────────────────────────────┘",
        ],
        &[
            (1, 1, 58, fg(Color::DarkGray).add_modifier(Modifier::BOLD)),
            (45, 2, 6, fg(Color::Red)),
            (45, 3, 6, fg(Color::Red)),
            (52, 3, 7, fg(Color::Yellow)),
        ],
    );
    assert_eq!(got, want);
}

#[test]
fn without_colour_the_panels_keep_their_text() {
    let app = running();
    let plain = panel(26, 8, |f, a| draw_statuses(f, a, &app, &Theme::plain()));
    let coloured = panel(26, 8, |f, a| draw_statuses(f, a, &app, &Theme::colour()));
    let text = |b: &Buffer| b.content().iter().map(|c| c.symbol()).collect::<String>();
    assert_eq!(text(&plain), text(&coloured));
    assert!(plain.content().iter().all(|c| c.fg == Color::Reset));
}

#[test]
fn throughput_draws_the_target_and_what_was_accepted_in_their_colours() {
    let app = running();
    let got = panel(60, 8, |f, a| {
        crate::tui::ui::dashboard::draw_throughput(f, a, &app, &Theme::colour())
    });
    let row = |y: u16| (0..60).map(|x| got[(x, y)].symbol()).collect::<String>();
    assert_eq!(
        row(0),
        "┌ accepted 19.1/s · refused 0.5/s · target 20/s ───────────┐"
    );
    // Both series are drawn, each in its colour.
    let cells: Vec<_> = (0..8)
        .flat_map(|y| (0..60).map(move |x| (x, y)))
        .map(|at| &got[at])
        .collect();
    assert!(
        cells
            .iter()
            .any(|c| c.fg == Color::Yellow && c.symbol() != " ")
    );
    assert!(
        cells
            .iter()
            .any(|c| c.fg == Color::Green && c.symbol() != " ")
    );
    // Axis labels: time from the first sample to the last, rate from 0.
    let labels = row(6);
    assert!(labels.contains("0s") && labels.contains("2s"), "{labels}");
}

#[test]
fn a_target_far_above_what_is_achieved_leaves_the_scale_to_the_achieved() {
    let mut app = app();
    super::running(&mut app);
    for i in 0..=20 {
        let mut s = snapshot_stats(RunState::Running, i);
        s.elapsed = Duration::from_millis(i * 100);
        s.limits.per_second = Some(10_000.0);
        s.accepted_rate = 47.0;
        app.update(Msg::Stats(Box::new(s)));
    }
    let got = panel(60, 8, |f, a| {
        crate::tui::ui::dashboard::draw_throughput(f, a, &app, &Theme::colour())
    });
    let row = |y: u16| (0..60).map(|x| got[(x, y)].symbol()).collect::<String>();
    assert!(row(0).contains("target 10000/s"), "{}", row(0));
    // The scale tops at 47/s and a fifth (not 12000): the accepted line
    // is drawn high in the chart, not flat on its floor.
    assert!(row(1).contains("56"), "{}", row(1));
    let high = (1..4).any(|y| (0..60).any(|x| got[(x, y)].fg == Color::Green));
    assert!(high, "{:?}", (0..8).map(row).collect::<Vec<_>>());
}

#[test]
fn what_the_run_waits_for_is_shown_with_how_long_is_left() {
    let mut app = running();
    app.stats.retrying = 3;
    app.stats.next_retry_in = Some(Duration::from_secs(42));
    app.stats.hold_left = Some(Duration::from_secs(30));
    let progress = panel(90, 3, |f, a| draw_progress(f, a, &app, &Theme::colour()));
    let row = |b: &Buffer, y: u16, w: u16| (0..w).map(|x| b[(x, y)].symbol()).collect::<String>();
    assert!(
        row(&progress, 1, 90).contains("retries 2 (3 waiting, next in 42.0s)"),
        "{}",
        row(&progress, 1, 90)
    );
    let limits = panel(44, 8, |f, a| {
        crate::tui::ui::limits::draw_panel(f, a, &app, &Theme::colour())
    });
    assert!(
        row(&limits, 5, 44).contains("held   0.0 s by the server · 30 s left"),
        "{}",
        row(&limits, 5, 44)
    );
}

#[test]
fn after_the_run_the_throughput_title_gives_its_averages() {
    let mut app = scripted(RunState::Done, 100);
    let mut summary = crate::stats::RunSummary {
        wall_s: 10.0,
        stopped: true,
        not_sent: 71,
        ..Default::default()
    };
    summary.totals.answers.total = 120;
    summary.totals.answers.refused = 20;
    summary.totals.answers.by_status.insert(200, 100);
    summary.totals.answers.by_status.insert(429, 20);
    app.summary = Some(summary);
    let got = panel(70, 8, |f, a| {
        crate::tui::ui::dashboard::draw_throughput(f, a, &app, &Theme::colour())
    });
    let top = (0..70).map(|x| got[(x, 0)].symbol()).collect::<String>();
    assert!(
        top.contains("run average: accepted 10.0/s · refused 2.0/s"),
        "{top}"
    );
    let progress = panel(90, 3, |f, a| draw_progress(f, a, &app, &Theme::colour()));
    let row = |y: u16| {
        (0..90)
            .map(|x| progress[(x, y)].symbol())
            .collect::<String>()
    };
    assert!(row(0).contains("progress · STOPPED"), "{}", row(0));
    assert!(row(1).contains("not sent 71"), "{}", row(1));
}

#[test]
fn the_demo_shows_its_mock_and_a_first_step_over_the_limits() {
    let mut app = app();
    app.guide = Some("mock http://127.0.0.1:4567 · /geocode allows 30/s: r runs".into());
    let row = |width: u16| {
        let got = panel(width, 3, |f, a| draw_controls(f, a, &app, &Theme::colour()));
        (0..width).map(|x| got[(x, 0)].symbol()).collect::<String>()
    };
    let top = row(80);
    assert!(
        top.contains("mock http://127.0.0.1:4567 · /geocode allows 30/s: r runs"),
        "{top}"
    );
    // Narrow: the mock's address at least.
    let top = row(50);
    assert!(top.contains(" mock http://127.0.0.1:4567 "), "{top}");
    assert!(!top.contains("geocode"), "{top}");
}

#[test]
fn long_urls_and_paths_are_cut_in_the_middle() {
    use crate::tui::ui::shorten_middle;
    assert_eq!(shorten_middle("http://h/a", 20), "http://h/a");
    let cut = shorten_middle("http://127.0.0.1:3000/inventory/materials?id=30", 20);
    assert_eq!(cut, "http://12…ials?id=30");
    assert_eq!(cut.chars().count(), 20);
}

#[test]
fn under_a_plan_the_rate_slider_shows_the_plans_rate_now() {
    let mut app = running();
    app.profile = Some(
        crate::model::Profile::stages([
            (5.0, Duration::from_secs(5)),
            (40.0, Duration::from_secs(10)),
        ])
        .unwrap(),
    );
    app.stats.limits.per_second = Some(40.0);
    let got = panel(90, 3, |f, a| draw_controls(f, a, &app, &Theme::colour()));
    let row = (0..90).map(|x| got[(x, 1)].symbol()).collect::<String>();
    assert!(row.contains("◀ 40/s (plan) ▶"), "{row}");
    app.profile_taken_over = true;
    let got = panel(90, 3, |f, a| draw_controls(f, a, &app, &Theme::colour()));
    let row = (0..90).map(|x| got[(x, 1)].symbol()).collect::<String>();
    assert!(!row.contains("(plan)"), "a person took over: {row}");
}
