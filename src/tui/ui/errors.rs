//! The errors panel (failures grouped by kind or status) and the overlay
//! that shows one group's details.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, List, ListItem, ListState, Paragraph, Wrap};

use super::{Theme, popup};
use crate::stats::ErrorGroup;
use crate::tui::app::App;

fn group_line(group: &ErrorGroup, theme: &Theme) -> Line<'static> {
    let label = group.class.label();
    // "HTTP 503 after 3 attempts" under "HTTP 503" says the rest only.
    let message = group
        .message
        .strip_prefix(&label)
        .unwrap_or(&group.message)
        .trim_start();
    Line::from(vec![
        Span::styled(format!("{label:<10}"), theme.bad),
        Span::raw(format!("{:>6} ", group.count)),
        Span::styled(message.to_owned(), theme.dim),
    ])
}

/// Each group with its count and latest message; the top group's example
/// URL when there is room.
pub(in crate::tui) fn draw_panel(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let groups = &app.stats.errors;
    let mut lines: Vec<Line> = groups.iter().map(|g| group_line(g, theme)).collect();
    let room = usize::from(area.height.saturating_sub(2));
    if let Some(top) = groups.first() {
        if lines.len() < room {
            lines.push(Line::styled(format!("e.g. {}", top.url), theme.dim));
        }
    } else {
        lines.push(Line::styled("none", theme.dim));
    }
    let block = Block::bordered().title(" errors ");
    let block = if groups.is_empty() {
        block
    } else {
        block.title_bottom(" x details ")
    };
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// The groups as a list, and the selected one in full below it.
pub fn draw_overlay(frame: &mut Frame, app: &App, theme: &Theme, at: usize) {
    let groups = &app.stats.errors;
    let area = popup(
        frame.area(),
        frame.area().width.saturating_sub(6).min(100),
        frame.area().height.saturating_sub(4),
    );
    frame.render_widget(Clear, area);
    let block = Block::bordered().title(" errors ").title_bottom(format!(
        " {} ",
        crate::tui::keys::hints(crate::tui::keys::ERRORS)
    ));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let list_height = (groups.len() as u16).min(inner.height / 2).max(1);
    let [list, details] =
        Layout::vertical([Constraint::Length(list_height + 1), Constraint::Min(3)]).areas(inner);
    let items: Vec<ListItem> = groups
        .iter()
        .map(|g| ListItem::new(group_line(g, theme)))
        .collect();
    let at = at.min(groups.len().saturating_sub(1));
    let mut state = ListState::default().with_selected(Some(at).filter(|_| !groups.is_empty()));
    frame.render_stateful_widget(
        List::new(items).highlight_style(theme.selected),
        list,
        &mut state,
    );
    let Some(group) = groups.get(at) else {
        return;
    };
    let failed = app.stats.totals.failed.max(1);
    let field = |k: &str, v: String| {
        Line::from(vec![
            Span::styled(format!("{k:<10}"), theme.accent),
            Span::raw(v),
        ])
    };
    let lines = vec![
        field("group", group.class.label()),
        field(
            "count",
            format!(
                "{} ({:.1} % of failures)",
                group.count,
                100.0 * group.count as f64 / failed as f64
            ),
        ),
        field("latest", group.message.clone()),
        field("url", group.url.clone()),
        field(
            "request",
            format!("index {}, {} attempt(s)", group.index, group.attempts),
        ),
    ];
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(
            Block::new()
                .borders(ratatui::widgets::Borders::TOP)
                .title(" latest "),
        ),
        details,
    );
}
