//! The key table: every key the workbench answers to, what it does, and
//! how the help overlay and the hint bars say so. The app looks keys up
//! here, and the help and the hints are generated from here, so a key
//! cannot exist without its help line, or a help line without its key.
//!
//! Each context (the dashboard's global keys, a view, an overlay) has a
//! table of entries; an entry is one line of help (`keys`, `help`), an
//! optional short `hint` for the bar at the bottom, and the bindings it
//! stands for. The first binding that matches a key wins.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// A key, or a class of keys, as a binding matches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// This character, without Ctrl.
    Char(char),
    /// This key (arrows, Tab, Enter, Esc...), without Ctrl.
    Code(KeyCode),
    /// Ctrl and this character.
    Ctrl(char),
    /// A digit or `.` (the start of a typed value).
    Digit,
    /// Any character without Ctrl (typing into a prompt).
    Text,
    /// Any key at all.
    Any,
}

impl Key {
    pub fn matches(self, key: &KeyEvent) -> bool {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match (self, key.code) {
            (Key::Ctrl(c), KeyCode::Char(k)) => ctrl && k.eq_ignore_ascii_case(&c),
            (Key::Char(c), KeyCode::Char(k)) => !ctrl && k == c,
            (Key::Code(c), code) => !ctrl && code == c,
            (Key::Digit, KeyCode::Char(k)) => !ctrl && (k.is_ascii_digit() || k == '.'),
            (Key::Text, KeyCode::Char(_)) => !ctrl,
            (Key::Any, _) => true,
            _ => false,
        }
    }
}

/// What a key does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    // The dashboard, and every view that passes a key on.
    Help,
    /// Quit; asks first while a run is going.
    Quit,
    /// Quit at once, stopping a run.
    QuitNow,
    SelectSlider,
    StepUp,
    StepDown,
    Unlimited,
    /// Start typing a value (the key is its first character).
    TypeValue,
    EnterValue,
    Run,
    Resume,
    RerunFailed,
    EditBatch,
    Save,
    AutoTune,
    Coalescing,
    FewerItems,
    MoreItems,
    FewerConnections,
    MoreConnections,
    NarrowWindow,
    WidenWindow,
    LimitsPanel,
    Errors,
    Runs,
    Results,
    Export,
    /// The message log.
    Messages,
    Pause,
    Stop,
    Open,
    // Lists and tables.
    Back,
    Down,
    Up,
    PageDown,
    PageUp,
    First,
    Last,
    NextFilter,
    PrevFilter,
    Order,
    Reload,
    /// Enter on a row: its details, or what it stands for.
    Select,
    /// Mark a run to compare.
    Mark,
    // Overlays and prompts.
    Close,
    /// Yes (to quitting).
    Confirm,
    Apply,
    Cancel,
    DeleteChar,
    /// Prompts: clear the line, delete the word before the cursor,
    /// complete a path.
    ClearLine,
    DeleteWord,
    Complete,
    /// A character typed into a prompt or the editor.
    TypeChar,
    /// Nothing: the key is taken and does nothing here.
    Ignore,
}

/// One line of help and the keys it stands for.
#[derive(Debug)]
pub struct Entry {
    /// The keys as the help shows them.
    pub keys: &'static str,
    pub help: &'static str,
    /// A few words for the hint bar, if the entry is worth one there.
    pub hint: Option<&'static str>,
    pub bindings: &'static [(Key, Action)],
}

/// The keys of one context.
pub type Table = &'static [Entry];

use Action as A;
use KeyCode as C;

const fn entry(
    keys: &'static str,
    help: &'static str,
    hint: Option<&'static str>,
    bindings: &'static [(Key, Action)],
) -> Entry {
    Entry {
        keys,
        help,
        hint,
        bindings,
    }
}

/// The dashboard's keys, which every view passes on to as well.
pub const GLOBAL: Table = &[
    entry(
        "r",
        "run the batch (again, when done)",
        Some("r run"),
        &[(Key::Char('r'), A::Run)],
    ),
    entry(
        "p / space",
        "pause / resume new requests",
        Some("p pause"),
        &[(Key::Char('p'), A::Pause), (Key::Char(' '), A::Pause)],
    ),
    entry(
        "s",
        "stop: in-flight requests get a grace period",
        Some("s stop"),
        &[(Key::Char('s'), A::Stop)],
    ),
    entry(
        "Tab, ↑ ↓",
        "select max at once / per second",
        Some("Tab select"),
        &[
            (Key::Code(C::Tab), A::SelectSlider),
            (Key::Code(C::BackTab), A::SelectSlider),
            (Key::Code(C::Up), A::SelectSlider),
            (Key::Code(C::Down), A::SelectSlider),
        ],
    ),
    entry(
        "← → (h l, - +)",
        "step the selected limit (1-2-5)",
        Some("←→ change"),
        &[
            (Key::Code(C::Right), A::StepUp),
            (Key::Char('+'), A::StepUp),
            (Key::Char('l'), A::StepUp),
            (Key::Code(C::Left), A::StepDown),
            (Key::Char('-'), A::StepDown),
            (Key::Char('h'), A::StepDown),
        ],
    ),
    entry(
        "0-9, Enter, u",
        "type an exact value; u or 0 = unlimited",
        None,
        &[
            (Key::Digit, A::TypeValue),
            (Key::Code(C::Enter), A::EnterValue),
            (Key::Char('u'), A::Unlimited),
        ],
    ),
    entry(
        "b",
        "edit the batch (Ctrl-S apply, Esc back)",
        None,
        &[(Key::Char('b'), A::EditBatch)],
    ),
    entry(
        "v",
        "results table (Tab filter, o order, Enter)",
        None,
        &[(Key::Char('v'), A::Results)],
    ),
    entry(
        "c",
        "runs: compare two (Space marks)",
        None,
        &[(Key::Char('c'), A::Runs)],
    ),
    entry(
        "x",
        "errors: each group's details",
        None,
        &[(Key::Char('x'), A::Errors)],
    ),
    entry(
        "t",
        "rate limits panel (instead of errors)",
        None,
        &[(Key::Char('t'), A::LimitsPanel)],
    ),
    entry(
        "a",
        "auto-tune: find the highest rate that holds",
        None,
        &[(Key::Char('a'), A::AutoTune)],
    ),
    entry(
        "k, [ ], { }",
        "calls on/off; items per call, window -/+",
        None,
        &[
            (Key::Char('k'), A::Coalescing),
            (Key::Char('['), A::FewerItems),
            (Key::Char(']'), A::MoreItems),
            (Key::Char('{'), A::NarrowWindow),
            (Key::Char('}'), A::WidenWindow),
        ],
    ),
    entry(
        "( )",
        "max connections per origin -/+",
        None,
        &[
            (Key::Char('('), A::FewerConnections),
            (Key::Char(')'), A::MoreConnections),
        ],
    ),
    entry(
        "f / R",
        "re-run the failed / resume a cut-off run",
        Some("f failed"),
        &[
            (Key::Char('f'), A::RerunFailed),
            (Key::Char('R'), A::Resume),
        ],
    ),
    entry(
        "e",
        "export results (CSV, JSON(L), HAR, XLSX)",
        Some("e export"),
        &[(Key::Char('e'), A::Export)],
    ),
    entry(
        "w",
        "save the batch with the current limits",
        None,
        &[(Key::Char('w'), A::Save)],
    ),
    entry(
        "o",
        "open a batch file (or paste a curl command)",
        None,
        &[(Key::Char('o'), A::Open)],
    ),
    entry(
        "?",
        "this help",
        Some("? help"),
        &[(Key::Char('?'), A::Help)],
    ),
    entry(
        "m",
        "messages: every notice, newest first",
        None,
        &[(Key::Char('m'), A::Messages)],
    ),
    entry(
        "q, Ctrl-C",
        "quit (asks while a run goes); Esc goes back",
        Some("q quit"),
        &[
            (Key::Ctrl('c'), A::QuitNow),
            (Key::Char('q'), A::Quit),
            (Key::Code(C::Esc), A::Ignore),
        ],
    ),
];

/// The message log: any key closes it.
pub const MESSAGES: Table = &[entry(
    "any key",
    "close",
    Some("any key closes"),
    &[(Key::Any, A::Close)],
)];

/// The results table.
pub const RESULTS: Table = &[
    entry(
        "↑ ↓ (j k), PgUp PgDn, Home End",
        "move through the results",
        Some("↑↓ move"),
        &[
            (Key::Code(C::Down), A::Down),
            (Key::Char('j'), A::Down),
            (Key::Code(C::Up), A::Up),
            (Key::Char('k'), A::Up),
            (Key::Code(C::PageDown), A::PageDown),
            (Key::Code(C::PageUp), A::PageUp),
            (Key::Code(C::Home), A::First),
            (Key::Code(C::End), A::Last),
        ],
    ),
    entry(
        "Tab, Shift-Tab",
        "next / previous filter",
        Some("Tab filter"),
        &[
            (Key::Code(C::Tab), A::NextFilter),
            (Key::Code(C::BackTab), A::PrevFilter),
        ],
    ),
    entry(
        "o",
        "order by index / slowest first",
        Some("o order"),
        &[(Key::Char('o'), A::Order)],
    ),
    entry(
        "Enter",
        "the selected result's details",
        Some("Enter details"),
        &[(Key::Code(C::Enter), A::Select)],
    ),
    entry(
        "g",
        "read the results again",
        Some("g reload"),
        &[(Key::Char('g'), A::Reload)],
    ),
    entry(
        "Esc",
        "back to the dashboard",
        Some("Esc back"),
        &[(Key::Code(C::Esc), A::Back)],
    ),
];

/// The runs log.
pub const RUNS: Table = &[
    entry(
        "↑ ↓ (j k)",
        "move through the runs",
        Some("↑↓ move"),
        &[
            (Key::Code(C::Down), A::Down),
            (Key::Char('j'), A::Down),
            (Key::Code(C::Up), A::Up),
            (Key::Char('k'), A::Up),
        ],
    ),
    entry(
        "Space, Enter",
        "mark two runs to compare",
        Some("Space mark two runs to compare"),
        &[(Key::Char(' '), A::Mark), (Key::Code(C::Enter), A::Mark)],
    ),
    entry(
        "Esc",
        "back to the dashboard",
        Some("Esc back"),
        &[(Key::Code(C::Esc), A::Back)],
    ),
];

/// The batch editor: every other key edits.
pub const EDITOR: Table = &[
    entry("", "", Some("type to edit"), &[]),
    entry(
        "Ctrl-S",
        "apply the edited batch",
        Some("Ctrl-S apply"),
        &[(Key::Ctrl('s'), A::Apply)],
    ),
    entry(
        "Esc",
        "back to the dashboard",
        Some("Esc back to the dashboard"),
        &[(Key::Code(C::Esc), A::Back)],
    ),
];

/// The errors overlay: every other key is taken and does nothing.
pub const ERRORS: Table = &[
    entry(
        "↑ ↓ (j k)",
        "select a group",
        Some("↑↓ select"),
        &[
            (Key::Code(C::Down), A::Down),
            (Key::Char('j'), A::Down),
            (Key::Code(C::Up), A::Up),
            (Key::Char('k'), A::Up),
        ],
    ),
    entry(
        "Enter",
        "the group's requests in the results",
        Some("Enter show in results"),
        &[(Key::Code(C::Enter), A::Select)],
    ),
    entry(
        "Esc, x, q",
        "close",
        Some("Esc closes"),
        &[
            (Key::Code(C::Esc), A::Close),
            (Key::Char('x'), A::Close),
            (Key::Char('q'), A::Close),
        ],
    ),
    entry("", "", None, &[(Key::Any, A::Ignore)]),
];

/// A result's details, over the results table, which gets every other key.
pub const DETAIL: Table = &[entry(
    "Esc, Enter",
    "close",
    Some("Esc or Enter closes"),
    &[
        (Key::Code(C::Esc), A::Close),
        (Key::Code(C::Enter), A::Close),
    ],
)];

/// The help overlay.
pub const HELP: Table = &[entry(
    "any key",
    "close",
    Some("any key closes"),
    &[(Key::Any, A::Close)],
)];

/// Asking before quitting a run.
pub const CONFIRM_QUIT: Table = &[
    entry(
        "y, q",
        "stop the run and quit",
        Some("y quit"),
        &[(Key::Char('y'), A::Confirm), (Key::Char('q'), A::Confirm)],
    ),
    entry(
        "any other key",
        "stay",
        Some("n stay"),
        &[(Key::Any, A::Cancel)],
    ),
];

/// Asking before a save replaces a file.
pub const CONFIRM_OVERWRITE: Table = &[
    entry(
        "y",
        "replace the file",
        Some("y replace"),
        &[(Key::Char('y'), A::Confirm)],
    ),
    entry(
        "any other key",
        "keep it",
        Some("n keep it"),
        &[(Key::Any, A::Cancel)],
    ),
];

/// A one-line prompt: characters type.
pub const PROMPT: Table = &[
    entry(
        "Enter",
        "apply",
        Some("Enter apply"),
        &[(Key::Code(C::Enter), A::Apply)],
    ),
    entry(
        "Esc",
        "cancel",
        Some("Esc cancel"),
        &[(Key::Code(C::Esc), A::Cancel)],
    ),
    entry(
        "Backspace",
        "delete a character",
        None,
        &[(Key::Code(C::Backspace), A::DeleteChar)],
    ),
    entry(
        "Ctrl-U, Ctrl-W",
        "clear the line, delete a word",
        None,
        &[
            (Key::Ctrl('u'), A::ClearLine),
            (Key::Ctrl('w'), A::DeleteWord),
        ],
    ),
    entry(
        "Home End ← →",
        "move the cursor",
        None,
        &[
            (Key::Code(C::Home), A::First),
            (Key::Code(C::End), A::Last),
            (Key::Code(C::Left), A::StepDown),
            (Key::Code(C::Right), A::StepUp),
        ],
    ),
    entry(
        "Tab",
        "complete a path",
        Some("Tab complete"),
        &[(Key::Code(C::Tab), A::Complete)],
    ),
    entry("", "", None, &[(Key::Text, A::TypeChar)]),
];

/// What `key` does in `table`, if anything.
pub fn action(table: Table, key: &KeyEvent) -> Option<Action> {
    table
        .iter()
        .flat_map(|e| e.bindings)
        .find(|(k, _)| k.matches(key))
        .map(|(_, a)| *a)
}

/// The hint bar for `table`: its entries' hints, in order.
pub fn hints(table: Table) -> String {
    table
        .iter()
        .filter_map(|e| e.hint)
        .collect::<Vec<_>>()
        .join(" · ")
}

/// The help lines of `table`: keys and what they do.
pub fn help_lines(table: Table) -> impl Iterator<Item = (&'static str, &'static str)> {
    table
        .iter()
        .filter(|e| !e.help.is_empty())
        .map(|e| (e.keys, e.help))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn every_binding_has_its_help_line_and_every_key_one_action() {
        for table in [
            GLOBAL,
            RESULTS,
            RUNS,
            EDITOR,
            ERRORS,
            DETAIL,
            HELP,
            CONFIRM_QUIT,
            PROMPT,
        ] {
            for e in table {
                assert!(
                    e.bindings.is_empty()
                        || !e.help.is_empty()
                        || e.bindings
                            .iter()
                            .all(|(k, _)| matches!(k, Key::Any | Key::Text)),
                    "{e:?} has keys but no help"
                );
                assert!(
                    !e.bindings.is_empty() || e.hint.is_some(),
                    "{e:?} says nothing"
                );
            }
        }
        assert_eq!(
            action(GLOBAL, &press(KeyCode::Char('r'))),
            Some(Action::Run)
        );
        assert_eq!(
            action(GLOBAL, &press(KeyCode::Char('7'))),
            Some(Action::TypeValue)
        );
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(action(GLOBAL, &ctrl_c), Some(Action::QuitNow));
        assert_eq!(
            action(GLOBAL, &press(KeyCode::Char('c'))),
            Some(Action::Runs)
        );
        assert_eq!(action(GLOBAL, &press(KeyCode::Char('Z'))), None);
        assert_eq!(
            action(ERRORS, &press(KeyCode::Char('Z'))),
            Some(Action::Ignore)
        );
        assert_eq!(
            hints(RESULTS),
            "↑↓ move · Tab filter · o order · Enter details · g reload · Esc back"
        );
    }
}
