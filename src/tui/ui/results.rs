//! The results table (a page of the journal at a time) and a result's
//! detail popup.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Clear, Paragraph, Row, Table, TableState, Wrap};

use super::{Theme, popup};
use crate::export::ResultOrder;
use crate::model::RequestRecord;
use crate::tui::app::App;

pub fn draw_table(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let r = &app.results;
    let order = match r.order {
        ResultOrder::Index => "by index",
        ResultOrder::SlowestFirst => "slowest first",
    };
    let shown = if r.loading {
        "loading…".to_owned()
    } else if r.is_empty() {
        "none".to_owned()
    } else {
        format!("{} of {}", r.selected + 1, r.len())
    };
    let title = format!(" results · {} · {order} · {shown} ", r.filter.label());
    // Borders and the header row.
    let height = usize::from(area.height.saturating_sub(3)).max(1);
    r.height.set(height);
    let first = r.first_shown(height);
    let last = (first + height).min(r.len());
    let rows: Vec<Row> = (first..last)
        .map(|at| match r.row(at) {
            Some(rec) => result_row(rec, theme),
            None => Row::new(vec![Cell::from(at.to_string()), Cell::from("…")]).style(theme.dim),
        })
        .collect();
    let widths = [
        Constraint::Length(8),
        Constraint::Min(16),
        Constraint::Length(6),
        Constraint::Length(10),
        Constraint::Length(4),
        Constraint::Length(12),
    ];
    let header = Row::new(["index", "name", "status", "latency ms", "try", "problem"])
        .style(theme.dim.add_modifier(Modifier::BOLD));
    let table = Table::new(rows, widths)
        .header(header)
        .row_highlight_style(theme.selected)
        .block(Block::bordered().title(title));
    let mut state =
        TableState::default().with_selected(Some(r.selected - first).filter(|_| last > first));
    frame.render_stateful_widget(table, area, &mut state);
}

fn result_row(rec: &RequestRecord, theme: &Theme) -> Row<'static> {
    let status = rec.status.map_or_else(|| "-".to_owned(), |s| s.to_string());
    let style = if rec.ok {
        Style::new()
    } else if rec.status == Some(429) {
        theme.warn
    } else {
        theme.bad
    };
    let problem = match (&rec.error_kind, &rec.error) {
        (Some(kind), _) => kind.to_string(),
        (None, _) if !rec.ok => format!("HTTP {status}"),
        _ => String::new(),
    };
    Row::new(vec![
        Cell::from(rec.index.to_string()),
        Cell::from(
            rec.name
                .clone()
                .unwrap_or_else(|| crate::stats::endpoint_key(rec)),
        ),
        Cell::from(status).style(style),
        Cell::from(
            rec.latency_ms
                .map_or_else(|| "-".to_owned(), |l| format!("{l:.1}")),
        ),
        Cell::from(rec.attempts.to_string()),
        Cell::from(problem).style(style),
    ])
}

pub fn draw_detail(frame: &mut Frame, app: &App, theme: &Theme) {
    let Some(rec) = app.results.selected_row() else {
        return;
    };
    let area = popup(
        frame.area(),
        frame.area().width.saturating_sub(6),
        frame.area().height.saturating_sub(4),
    );
    frame.render_widget(Clear, area);
    let field = |k: &str, v: String| {
        Line::from(vec![
            Span::styled(format!("{k:<11}"), theme.accent),
            Span::raw(v),
        ])
    };
    let mut lines = vec![
        field("request", format!("{} {}", rec.method, rec.url)),
        field("index", rec.index.to_string()),
        field(
            "status",
            rec.status
                .map_or_else(|| "no answer".to_owned(), |s| s.to_string()),
        ),
        field("attempts", rec.attempts.to_string()),
        field("started", rec.started_at.clone().unwrap_or_default()),
        field(
            "latency",
            rec.latency_ms
                .map_or_else(String::new, |l| format!("{l:.3} ms")),
        ),
        field("wait", format!("{:.3} ms", rec.wait_ms)),
        field("bytes", rec.bytes.to_string()),
    ];
    if let Some(kind) = rec.error_kind {
        lines.push(field(
            "error",
            format!("{kind}: {}", rec.error.clone().unwrap_or_default()),
        ));
    }
    for (name, value) in &rec.headers {
        lines.push(field("header", format!("{name}: {value}")));
    }
    match &rec.body {
        Some(body) => {
            lines.push(field("body", String::new()));
            lines.extend(
                body.chars()
                    .take(2000)
                    .collect::<String>()
                    .lines()
                    .map(|l| Line::raw(format!("  {l}"))),
            );
        }
        None => lines.push(Line::styled(
            "(no body kept: start with --keep-body to keep bodies)",
            theme.dim,
        )),
    }
    let block = Block::bordered()
        .title(format!(" result {} ", rec.index))
        .title_bottom(format!(
            " {} ",
            crate::tui::keys::hints(crate::tui::keys::DETAIL)
        ));
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block),
        area,
    );
}
