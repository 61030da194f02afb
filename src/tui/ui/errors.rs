//! The errors panel (failures grouped by kind or status) and the overlay
//! that shows one group's details.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, List, ListItem, ListState, Paragraph, Wrap};

use super::{Theme, popup};
use crate::stats::ErrorGroup;
use crate::tui::app::App;

/// A group: what failed, and how many answers, retries and final
/// results fell in it.
fn group_line(group: &ErrorGroup, theme: &Theme) -> Line<'static> {
    Line::from(vec![
        Span::styled(format!("{:<10}", group.class.label()), theme.bad),
        Span::styled(group.counts(), theme.dim),
    ])
}

/// Each group with its answers (a retried 429 counts), how many of them
/// were retried, and how many requests ended in it; the top group's
/// example URL when there is room.
pub(in crate::tui) fn draw_panel(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let groups = &app.stats.errors;
    let block = Block::bordered().title(" errors ");
    let block = if groups.is_empty() {
        block
    } else {
        block.title_bottom(" x details ")
    };
    let Some(top) = groups.first() else {
        frame.render_widget(
            Paragraph::new(Line::styled("none", theme.dim)).block(block),
            area,
        );
        return;
    };
    // Fixed columns, 30 characters: what the panel has at 80 columns.
    let count = super::dashboard::count;
    let mut lines = vec![Line::styled(
        format!("{:<8}{:>8}{:>8}{:>6}", "", "answers", "retried", "final"),
        theme.dim,
    )];
    lines.extend(groups.iter().map(|g| {
        Line::from(vec![
            Span::styled(format!("{:<8}", truncate(&g.class.label(), 8)), theme.bad),
            Span::raw(format!(
                "{:>8}{:>8}{:>6}",
                count(g.answers),
                count(g.retried),
                count(g.finals)
            )),
        ])
    }));
    let room = usize::from(area.height.saturating_sub(2));
    if lines.len() < room {
        let room = usize::from(area.width.saturating_sub(2)).saturating_sub(5);
        lines.push(Line::styled(
            format!("e.g. {}", super::shorten_middle(&top.url, room)),
            theme.dim,
        ));
    }
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// `text` cut to `width` characters.
fn truncate(text: &str, width: usize) -> String {
    text.chars().take(width).collect()
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
    let failing = app
        .stats
        .errors
        .iter()
        .map(|g| g.answers)
        .sum::<u64>()
        .max(1);
    let field = |k: &str, v: String| {
        Line::from(vec![
            Span::styled(format!("{k:<10}"), theme.accent),
            Span::raw(v),
        ])
    };
    let lines = vec![
        field("group", group.class.label()),
        field(
            "answers",
            format!(
                "{} ({:.1} % of failed answers): {} retried, {} final",
                group.answers,
                100.0 * group.answers as f64 / failing as f64,
                group.retried,
                group.finals
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
