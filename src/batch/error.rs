//! Batch loading errors: every one names the file and, where known, the
//! line, column, entry and field, so a user can go straight to the mistake.

use std::fmt;
use std::path::PathBuf;

/// A batch file (or a data file it references) could not be loaded.
///
/// Rendered as `file:line:column: entry N, field `f`: message`, leaving out
/// whatever is unknown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchError {
    /// The file at fault: the batch file, or a `rows` data file.
    pub path: PathBuf,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
    /// 0-based index of the request entry in the batch, when known.
    pub entry: Option<usize>,
    /// The field inside the entry (or top-level key), when known.
    pub field: Option<String>,
    /// What was wrong and what was expected.
    pub message: String,
}

impl BatchError {
    pub(crate) fn new(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            line: None,
            column: None,
            entry: None,
            field: None,
            message: message.into(),
        }
    }

    pub(crate) fn at(mut self, line: usize, column: usize) -> Self {
        self.line = Some(line);
        self.column = Some(column).filter(|c| *c > 0);
        self
    }

    pub(crate) fn line(mut self, line: usize) -> Self {
        self.line = Some(line);
        self
    }

    pub(crate) fn entry(mut self, entry: usize) -> Self {
        self.entry = Some(entry);
        self
    }

    pub(crate) fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }
}

/// Text from the input with its control characters escaped (`\u{1b}`),
/// so an error message cannot move the cursor or recolour the terminal.
pub fn escape_controls(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(|c| c.is_control() && c != '\n') {
        return text.into();
    }
    text.chars()
        .map(|c| match c {
            '\n' => "\n".to_owned(),
            c if c.is_control() => c.escape_default().to_string(),
            c => c.to_string(),
        })
        .collect::<String>()
        .into()
}

impl fmt::Display for BatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", escape_controls(&self.path.display().to_string()))?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        f.write_str(": ")?;
        match (self.entry, &self.field) {
            (Some(entry), Some(field)) => write!(f, "entry {entry}, field `{field}`: ")?,
            (Some(entry), None) => write!(f, "entry {entry}: ")?,
            (None, Some(field)) => write!(f, "field `{}`: ", escape_controls(field))?,
            (None, None) => {}
        }
        f.write_str(&escape_controls(&self.message))
    }
}

impl std::error::Error for BatchError {}
