//! The loader: a batch file of any form, read and validated. It sits
//! above both [`crate::batch`] (ratebench's own forms) and
//! [`crate::import`] (other tools' forms, turned into the JSON form), so
//! neither of those needs the other's help to load a file:
//!
//! ```text
//!  file ──read, detect format──┬─ JSON / JSON Lines / URL list ──────────────▶ Batch::parse_native
//!                              └─ curl / .http / HAR / Postman ──import──▶ JSON ──▶ Batch::parse_native
//! ```
//! The entry points are methods on [`Batch`] (`Batch::load`,
//! `Batch::load_with`, `Batch::parse_str`), defined here. [`save`] writes
//! a batch back with new limits, whatever form it came in.

pub mod save;

use std::path::Path;

use crate::batch::{Batch, BatchError, Format, LoadOptions, Source};

impl Batch {
    /// Loads and validates a batch file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, BatchError> {
        Self::load_with(path, &LoadOptions::default())
    }

    /// Loads and validates a batch file with overrides.
    pub fn load_with(path: impl AsRef<Path>, options: &LoadOptions) -> Result<Self, BatchError> {
        let path = path.as_ref();
        let text =
            crate::import::read_text_file(path).map_err(|e| match e.strip_prefix("line ") {
                Some(rest) => {
                    let (line, why) = rest.split_once(": ").unwrap_or(("1", rest));
                    BatchError::new(path, why).line(line.parse().unwrap_or(1))
                }
                None => BatchError::new(path, format!("cannot read the batch file: {e}")),
            })?;
        Self::parse_str(&text, path, options)
    }

    /// Parses batch text of any form as if it were the file at `path`
    /// (used for the format, error messages and resolving data files).
    pub fn parse_str(text: &str, path: &Path, options: &LoadOptions) -> Result<Self, BatchError> {
        // A byte-order mark (Windows editors write one) is not content.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let format = options.format.unwrap_or_else(|| detect(text, path));
        let Format::Imported(source) = format else {
            return Batch::parse_native(text, path, format, options);
        };
        let mut imported = crate::import::import(source, text, path, &Default::default())?;
        let json = imported.to_json_text();
        let mut batch =
            Batch::parse_native(&json, path, Format::Json, options).map_err(|mut e| {
                // Positions in the generated JSON mean nothing to the user:
                // point at the request's line in the source instead.
                e.line = e
                    .entry
                    .and_then(|i| imported.requests.get(i))
                    .map(|r| r.line);
                e.column = None;
                e
            })?;
        batch.format = format;
        batch.warnings = std::mem::take(&mut imported.warnings);
        Ok(batch)
    }
}

/// The format of `text` read from `path`: by extension, where it names
/// one (a `.json` or `.txt` may still hold a HAR, a collection or curl
/// lines), else by content.
pub fn detect(text: &str, path: &Path) -> Format {
    match Format::from_path(path) {
        Some(f @ (Format::Json | Format::Text)) => Source::sniff(text).map_or(f, Format::Imported),
        Some(other) => other,
        None => Format::sniff(text),
    }
}
