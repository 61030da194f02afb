//! The rate-limits panel: what the server advertises (limit, remaining,
//! reset), 429s per second over time, and how long the server has held
//! the run (`respect_limits`).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Sparkline};

use super::Theme;
use crate::model::Profile;
use crate::tui::app::App;

pub(in crate::tui) fn draw_panel(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let s = &app.stats;
    let block = Block::bordered().title(" rate limits ");
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let field = |k: &str, v: String| {
        Line::from(vec![
            Span::styled(format!("{k:<7}"), theme.accent),
            Span::raw(v),
        ])
    };
    let mut lines = Vec::new();
    match &s.server {
        None => lines.push(Line::styled("no rate-limit headers seen", theme.dim)),
        Some(l) => {
            let limit = match (l.limit, l.window_s, l.per_second()) {
                (Some(q), Some(w), Some(r)) => format!("{q} per {w} s ({r:.1}/s)"),
                (Some(q), _, _) => format!("{q} per window"),
                _ => "-".to_owned(),
            };
            lines.push(field("limit", limit));
            let ago = s
                .server_at
                .map(|at| s.elapsed.saturating_sub(at).as_secs_f64())
                .map_or_else(String::new, |a| format!(" ({a:.0} s ago)"));
            let left = l
                .remaining
                .map_or_else(|| "-".to_owned(), |r| r.to_string());
            let reset = l
                .reset_s
                .map_or_else(String::new, |r| format!(" · reset {r:.0} s"));
            lines.push(field("left", format!("{left}{reset}{ago}")));
        }
    }
    let held = s.held_by_server.as_secs_f64();
    lines.push(field(
        "429/s",
        format!(
            "{:.1} now · {:.0} % refused",
            s.rate_limited_rate,
            s.refused_share * 100.0
        ),
    ));
    lines.push(field("5xx/s", format!("{:.1} now", s.server_error_rate)));
    // What is being waited for, when it is long enough to wonder about.
    let left = match s.hold_left {
        Some(left) if left >= std::time::Duration::from_secs(1) => {
            format!(" · {:.0} s left", left.as_secs_f64())
        }
        _ => String::new(),
    };
    lines.push(field("held", format!("{held:.1} s by the server{left}")));
    let [text, spark] =
        Layout::vertical([Constraint::Length(lines.len() as u16), Constraint::Min(0)]).areas(inner);
    frame.render_widget(Paragraph::new(lines), text);
    if spark.height > 0 {
        let width = usize::from(spark.width);
        let samples: Vec<u64> = app
            .history
            .samples()
            .rev()
            .take(width)
            .map(|x| (x.rate_limited * 10.0).round() as u64)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        // Scaled to at least one 429 a second, so a trickle stays low.
        let top = samples.iter().copied().max().unwrap_or(0).max(10);
        frame.render_widget(
            Sparkline::default()
                .data(&samples)
                .max(top)
                .style(theme.warn),
            spark,
        );
    }
}

/// A profile in a few words: `10/s 30s → 100/s 1m` or `10→500/s over 1m`.
pub fn describe(profile: &Profile) -> String {
    let secs = |d: std::time::Duration| humantime::format_duration(d).to_string();
    profile
        .segments()
        .iter()
        .map(|s| {
            if s.from == s.to {
                format!("{}/s {}", s.from, secs(s.duration))
            } else {
                format!("{}→{}/s over {}", s.from, s.to, secs(s.duration))
            }
        })
        .collect::<Vec<_>>()
        .join(" → ")
}
