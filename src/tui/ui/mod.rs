//! Drawing: the dashboard and its overlays, from the app state alone.
//! Usable at 80x24; every panel shrinks gracefully.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

pub(super) mod dashboard;
pub(super) mod errors;
pub(super) mod limits;
mod results;
mod runs;

use super::app::{App, Notice, Overlay, Prompt, View};
use super::keys;
use crate::engine::RunState;

/// Colours, or none at all when `NO_COLOR` is set.
#[derive(Debug, Clone, Copy)]
pub struct Theme {
    pub accent: Style,
    pub good: Style,
    pub warn: Style,
    pub bad: Style,
    pub dim: Style,
    pub selected: Style,
    /// No colours (`NO_COLOR`): what colour told apart, shape must.
    pub monochrome: bool,
}

impl Theme {
    pub fn from_env() -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        if no_color {
            Self::plain()
        } else {
            Self::colour()
        }
    }

    pub fn colour() -> Self {
        Self {
            accent: Style::new().fg(Color::Cyan),
            good: Style::new().fg(Color::Green),
            warn: Style::new().fg(Color::Yellow),
            bad: Style::new().fg(Color::Red),
            dim: Style::new().fg(Color::DarkGray),
            selected: Style::new()
                .fg(Color::Black)
                .bg(Color::Cyan)
                .add_modifier(Modifier::BOLD),
            monochrome: false,
        }
    }

    /// No colours; selection still shows, by reversing.
    pub fn plain() -> Self {
        Self {
            accent: Style::new(),
            good: Style::new(),
            warn: Style::new(),
            bad: Style::new(),
            dim: Style::new(),
            selected: Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD),
            monochrome: true,
        }
    }
}

/// `text` in at most `width` characters, cut in the middle (`…`) where it
/// does not fit: a URL keeps its host and its last path part, a path its
/// folder's start and its file name.
pub fn shorten_middle(text: &str, width: usize) -> String {
    let n = text.chars().count();
    if n <= width {
        return text.to_owned();
    }
    if width <= 1 {
        return "…".chars().take(width).collect();
    }
    let keep = width - 1;
    let head = keep / 2;
    let tail = keep - head;
    let start: String = text.chars().take(head).collect();
    let end: String = text.chars().skip(n - tail).collect();
    format!("{start}…{end}")
}

/// Terminals at least this tall get the endpoints panel.
pub const ENDPOINTS_MIN_HEIGHT: u16 = 30;

pub fn draw(frame: &mut Frame, app: &App, theme: &Theme) {
    match app.view {
        View::Dashboard => dashboard::draw(frame, app, theme),
        View::Batch => draw_page(frame, app, theme, keys::EDITOR, |f, area| {
            draw_editor(f, area, app, theme)
        }),
        View::Results => draw_page(frame, app, theme, keys::RESULTS, |f, area| {
            results::draw_table(f, area, app, theme)
        }),
        View::Runs => draw_page(frame, app, theme, keys::RUNS, |f, area| {
            runs::draw(f, area, app, theme)
        }),
    }
    draw_overlays(frame, app, theme);
}

/// A view other than the dashboard: the header, the view's body, and a
/// footer with the latest notice or else the view's key hint.
fn draw_page(
    frame: &mut Frame,
    app: &App,
    theme: &Theme,
    keys: keys::Table,
    body: impl FnOnce(&mut Frame, Rect),
) {
    let [header, area, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(5),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    draw_header(frame, header, app, theme);
    body(frame, area);
    let line = fitted_footer(app, theme, &format!(" {}", keys::hints(keys)), footer.width);
    frame.render_widget(line, footer);
}

fn draw_editor(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let [text, status] = Layout::vertical([Constraint::Min(3), Constraint::Length(4)]).areas(area);
    let block = Block::bordered().title(" batch ").title_bottom(
        Line::styled(format!(" {} ", keys::hints(&keys::EDITOR[1..])), theme.dim).right_aligned(),
    );
    frame.render_widget(block.clone(), text);
    frame.render_widget(&app.editor.textarea, block.inner(text));
    let line = match &app.editor.validation {
        None => Line::styled("checking…", theme.dim),
        Some(Ok(batch)) => Line::styled(
            format!("✓ valid: expands to {} requests", batch.len()),
            theme.good,
        ),
        Some(Err(e)) => {
            let mut at = String::new();
            if let Some(line) = e.line {
                at.push_str(&format!("line {line}"));
                if let Some(column) = e.column {
                    at.push_str(&format!(", column {column}"));
                }
                at.push_str(": ");
            }
            if let Some(entry) = e.entry {
                at.push_str(&format!("entry {entry}"));
                if let Some(field) = &e.field {
                    at.push_str(&format!(", field `{field}`"));
                }
                at.push_str(": ");
            }
            Line::styled(format!("✗ {at}{}", e.message), theme.bad)
        }
    };
    frame.render_widget(
        Paragraph::new(line)
            .wrap(Wrap { trim: true })
            .block(Block::bordered().title(" check ")),
        status,
    );
}

fn draw_overlays(frame: &mut Frame, app: &App, theme: &Theme) {
    match &app.overlay {
        None => {}
        Some(Overlay::Prompt(input)) => {
            let title = match input.prompt {
                Prompt::Value(slider) => format!(" {} (0 or u = unlimited) ", slider.label()),
                Prompt::OpenBatch => " open batch file ".to_owned(),
                Prompt::Export => " export to .csv .json .jsonl .har .xlsx ".to_owned(),
                Prompt::Save => " save the batch with these limits to ".to_owned(),
            };
            let area = popup(frame.area(), 50, 3);
            frame.render_widget(Clear, area);
            let at = input
                .text
                .char_indices()
                .nth(input.cursor)
                .map_or(input.text.len(), |(i, _)| i);
            let (before, after) = input.text.split_at(at);
            let mut rest = after.chars();
            // The cursor: a block at the end, the character under it
            // reversed elsewhere.
            let cursor = match rest.next() {
                Some(c) => Span::styled(c.to_string(), theme.selected),
                None => Span::styled("█", theme.accent),
            };
            let text = Line::from(vec![
                Span::raw(before.to_owned()),
                cursor,
                Span::raw(rest.collect::<String>()),
            ]);
            frame.render_widget(
                Paragraph::new(text).block(Block::bordered().title(title).title_bottom(format!(
                    " {} ",
                    // A value has no path to complete.
                    match input.prompt {
                        Prompt::Value(_) => keys::hints(&keys::PROMPT[..2]),
                        _ => keys::hints(keys::PROMPT),
                    }
                ))),
                area,
            );
        }
        Some(Overlay::ConfirmQuit) => {
            let area = popup(frame.area(), 44, 3);
            frame.render_widget(Clear, area);
            let text = Line::from("A run is going. Stop it and quit? (y/n)");
            frame.render_widget(
                Paragraph::new(text)
                    .block(Block::bordered().title(" quit ").border_style(theme.warn)),
                area,
            );
        }
        Some(Overlay::ConfirmOverwrite(save)) => {
            let path = match save.as_ref() {
                super::app::Effect::SaveBatch { path, .. } => path.display().to_string(),
                _ => String::new(),
            };
            let text = format!("{path} exists: replace it?");
            let width = (text.chars().count() as u16 + 4).clamp(30, frame.area().width);
            let area = popup(frame.area(), width, 4);
            frame.render_widget(Clear, area);
            frame.render_widget(
                Paragraph::new(Line::from(text))
                    .wrap(Wrap { trim: true })
                    .block(
                        Block::bordered()
                            .title(" save ")
                            .border_style(theme.warn)
                            .title_bottom(format!(" {} ", keys::hints(keys::CONFIRM_OVERWRITE))),
                    ),
                area,
            );
        }
        Some(Overlay::Help) => draw_help(frame, theme),
        Some(Overlay::Messages) => draw_messages(frame, app, theme),
        Some(Overlay::Errors(at)) => errors::draw_overlay(frame, app, theme, *at),
        Some(Overlay::Detail) => results::draw_detail(frame, app, theme),
    }
}

pub(super) fn popup(area: Rect, width: u16, height: u16) -> Rect {
    let [row] = Layout::vertical([Constraint::Length(height)])
        .flex(Flex::Center)
        .areas(area);
    let [cell] = Layout::horizontal([Constraint::Length(width.min(area.width))])
        .flex(Flex::Center)
        .areas(row);
    cell
}

/// The run's state as the header and the progress say it: a run that
/// ended by a stop is STOPPED, not DONE.
pub fn run_label(app: &App) -> &'static str {
    match (&app.state, &app.summary) {
        (RunState::Done, Some(s)) if s.stopped => "STOPPED",
        (state, _) => state_label(*state),
    }
}

pub fn state_label(state: RunState) -> &'static str {
    match state {
        RunState::Idle => "IDLE",
        RunState::Running => "RUNNING",
        RunState::Paused => "PAUSED",
        RunState::Stopping => "STOPPING",
        RunState::Done => "DONE",
    }
}

pub(super) fn draw_header(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let batch = match &app.batch {
        Some(b) => format!(
            "{} · {} requests",
            b.path.file_name().map_or_else(
                || b.path.display().to_string(),
                |n| n.to_string_lossy().into_owned()
            ),
            b.len()
        ),
        None => "no batch (o opens one)".to_owned(),
    };
    let state_style = match app.state {
        RunState::Running => theme.good,
        RunState::Paused | RunState::Stopping => theme.warn,
        _ => theme.accent,
    };
    let tab = |view: View, label: &'static str| {
        if app.view == view {
            Span::styled(
                label,
                theme
                    .accent
                    .add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
            )
        } else {
            Span::styled(label, theme.dim)
        }
    };
    // Each tab with the key that opens it (Esc comes back).
    let spans = vec![
        Span::styled(" ratebench ", theme.selected),
        Span::raw(" "),
        tab(View::Dashboard, "dashboard"),
        Span::raw(" "),
        tab(View::Batch, "b batch"),
        Span::raw(" "),
        tab(View::Results, "v results"),
        Span::raw(" "),
        tab(View::Runs, "c runs"),
        Span::raw("  "),
        // The state before the batch's name: a long name is what gets cut.
        Span::styled(run_label(app), state_style.add_modifier(Modifier::BOLD)),
        Span::raw(format!("  {batch}")),
    ];
    frame.render_widget(Line::from(spans), area);
}

/// The latest notice, or else the view's key hint.
pub(super) fn footer_line(app: &App, theme: &Theme, hint: &str) -> Line<'static> {
    if let Some(at) = &app.exporting {
        let ratio = at.ratio();
        return Line::from(vec![
            Span::styled(" exporting ", theme.accent),
            Span::styled(dashboard::slider_bar_ratio(ratio, 20), theme.good),
            Span::raw(format!(
                " {:>3.0} % · {} results",
                ratio * 100.0,
                at.records
            )),
        ]);
    }
    match &app.notice {
        Some(Notice::Error(e)) => Line::styled(format!(" {e}"), theme.bad),
        Some(Notice::Info(m)) => Line::styled(format!(" {m}"), theme.accent),
        None => Line::styled(hint.to_owned(), theme.dim),
    }
}

/// The footer for `width` columns: a notice too long for the line ends in
/// `… (m)`, the key that shows it whole.
pub(super) fn fitted_footer(app: &App, theme: &Theme, hint: &str, width: u16) -> Line<'static> {
    let line = footer_line(app, theme, hint);
    let width = usize::from(width);
    if app.notice.is_none() || app.exporting.is_some() || line.width() <= width {
        return line;
    }
    let text: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
    let keep: String = text.chars().take(width.saturating_sub(6)).collect();
    Line::styled(
        format!("{keep} … (m)"),
        line.style.patch(line.spans[0].style),
    )
}

/// The message log: every notice, newest first, wrapped to be read whole.
fn draw_messages(frame: &mut Frame, app: &App, theme: &Theme) {
    let area = frame.area();
    let area = popup(
        area,
        area.width.saturating_sub(4).max(20),
        area.height.saturating_sub(2).max(5),
    );
    frame.render_widget(Clear, area);
    let lines: Vec<Line> = if app.messages.is_empty() {
        vec![Line::styled(" no messages yet", theme.dim)]
    } else {
        app.messages
            .iter()
            .rev()
            .map(|(at, notice)| {
                let (text, style) = match notice {
                    Notice::Error(e) => (e.as_str(), theme.bad),
                    Notice::Info(m) => (m.as_str(), theme.accent),
                };
                Line::from(vec![
                    Span::styled(format!("{at} "), theme.dim),
                    Span::styled(text.to_owned(), style),
                ])
            })
            .collect()
    };
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(
            Block::bordered()
                .title(" messages, newest first ")
                .title_bottom(format!(" {} ", keys::hints(keys::MESSAGES))),
        ),
        area,
    );
}

fn draw_help(frame: &mut Frame, theme: &Theme) {
    let lines: Vec<Line> = keys::help_lines(keys::GLOBAL)
        .map(|(k, what)| {
            Line::from(vec![
                Span::styled(
                    format!(" {k:<16}"),
                    theme.accent.add_modifier(Modifier::BOLD),
                ),
                Span::raw(what),
            ])
        })
        .collect();
    let area = popup(frame.area(), 62, lines.len() as u16 + 2);
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(lines).block(
            Block::bordered()
                .title(" keys ")
                .title_bottom(format!(" {} ", keys::hints(keys::HELP))),
        ),
        area,
    );
}
