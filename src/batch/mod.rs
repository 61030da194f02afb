//! Batches: the request list a run works through.
//!
//! ```text
//!  file ──detect format──▶ parse + validate (serde, positions) ──▶ entries
//!  entries ──for_each product (streamed)──▶ RequestSpec, RequestSpec, ...
//! ```
//! Loading parses and validates the whole batch, including one full pass
//! over the expansion, so a bad batch fails before anything is sent; the
//! requests themselves are produced lazily when the engine asks for them.

pub mod coalesce;
mod error;
mod expand;
mod model;
mod request;
pub mod save;
pub mod template;

pub use model::parse_duration;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;

pub use error::BatchError;
pub use model::{AxisSpec, BodySpec, EntrySpec};
pub use request::RequestSpec;

use expand::{Axis, product, strip_position};
use model::RawBatch;
use request::{Bindings, Defaults, build, resolve_url};

/// The file formats a batch can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A JSON object with settings and `requests`, or a JSON array of entries.
    Json,
    /// One request entry per line.
    JsonLines,
    /// One URL per line (optionally `METHOD URL`); `#` starts a comment.
    Text,
    /// Another tool's format (curl, .http, HAR, Postman), imported on load.
    Imported(crate::import::Source),
}

impl Format {
    /// The format an extension names, if it names one.
    pub fn from_path(path: &Path) -> Option<Self> {
        if let Some(source) = crate::import::Source::from_path(path) {
            return Some(Format::Imported(source));
        }
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "json" => Some(Format::Json),
            "jsonl" | "ndjson" => Some(Format::JsonLines),
            "txt" => Some(Format::Text),
            _ => None,
        }
    }

    /// Guesses from content: a JSON array or a single JSON object is JSON,
    /// several objects on their own lines are JSON Lines, anything else is
    /// a URL list.
    pub fn sniff(text: &str) -> Self {
        if let Some(source) = crate::import::Source::sniff(text) {
            return Format::Imported(source);
        }
        let trimmed = text.trim_start();
        if trimmed.starts_with('[') {
            return Format::Json;
        }
        if trimmed.starts_with('{') {
            let mut lines = trimmed.lines().filter(|l| !l.trim().is_empty());
            let first_is_whole = lines
                .next()
                .is_some_and(|l| serde_json::from_str::<serde::de::IgnoredAny>(l).is_ok());
            return if first_is_whole && lines.next().is_some() {
                Format::JsonLines
            } else {
                Format::Json
            };
        }
        Format::Text
    }
}

/// Batch-wide settings from the file; CLI flags and the UI override them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BatchSettings {
    pub base_url: Option<String>,
    pub headers: Vec<(String, String)>,
    pub timeout: Option<Duration>,
    /// 0 means unlimited.
    pub max_at_once: Option<u64>,
    /// 0 means unlimited.
    pub per_second: Option<f64>,
    pub burst: Option<u32>,
    pub retries: Option<u32>,
    pub http2: Option<bool>,
    /// Hold starts while the server says to (Retry-After, none remaining).
    pub respect_limits: Option<bool>,
    /// Planned rates over time, instead of one `per_second`.
    pub profile: Option<crate::engine::profile::Profile>,
    /// Send the items through a batch API instead of one by one.
    pub coalesce: Option<coalesce::CoalesceSpec>,
}

/// Options that change how a batch resolves while loading.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Overrides the file's `base_url` (the `--base-url` flag).
    pub base_url: Option<String>,
    /// Forces a format instead of detecting it.
    pub format: Option<Format>,
}

/// A loaded, validated batch.
#[derive(Debug, Clone)]
pub struct Batch {
    /// Where it came from; data files resolve relative to its folder.
    pub path: PathBuf,
    pub format: Format,
    pub settings: BatchSettings,
    /// What importing another tool's format skipped or changed.
    pub warnings: Vec<String>,
    entries: Arc<[Entry]>,
    defaults: Arc<Defaults>,
    total: u64,
}

#[derive(Debug)]
struct Entry {
    spec: EntrySpec,
    axes: Arc<[Axis]>,
}

impl Batch {
    /// Loads and validates a batch file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, BatchError> {
        Self::load_with(path, &LoadOptions::default())
    }

    /// Loads and validates a batch file with overrides.
    pub fn load_with(path: impl AsRef<Path>, options: &LoadOptions) -> Result<Self, BatchError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path)
            .map_err(|e| BatchError::new(path, format!("cannot read the batch file: {e}")))?;
        let text = String::from_utf8(bytes).map_err(|e| {
            let before = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let line = before.iter().filter(|b| **b == b'\n').count() + 1;
            BatchError::new(path, "the file is not valid UTF-8 text").line(line)
        })?;
        Self::parse_str(&text, path, options)
    }

    /// Parses batch text as if it were the file at `path` (used for the
    /// format, error messages and resolving data files).
    pub fn parse_str(text: &str, path: &Path, options: &LoadOptions) -> Result<Self, BatchError> {
        let format = options
            .format
            .or_else(|| match Format::from_path(path) {
                // A `.json` or `.txt` may hold a HAR, a collection or curl lines.
                Some(f @ (Format::Json | Format::Text)) => {
                    Some(crate::import::Source::sniff(text).map_or(f, Format::Imported))
                }
                other => other,
            })
            .unwrap_or_else(|| Format::sniff(text));
        let mut warnings = Vec::new();
        let (mut settings, specs, coalesce) = match format {
            Format::Json => parse_json(text, path)?,
            Format::JsonLines => (BatchSettings::default(), parse_jsonl(text, path)?, None),
            Format::Text => (BatchSettings::default(), parse_text(text, path)?, None),
            Format::Imported(source) => {
                let mut imported = crate::import::import(source, text, path, &Default::default())?;
                warnings = std::mem::take(&mut imported.warnings);
                let json = imported.to_json_text();
                // Positions in the generated JSON mean nothing to the user:
                // point at the request's line in the source instead.
                parse_json(&json, path).map_err(|mut e| {
                    e.line = e
                        .entry
                        .and_then(|i| imported.requests.get(i))
                        .map(|r| r.line);
                    e.column = None;
                    e
                })?
            }
        };
        if specs.is_empty() {
            return Err(BatchError::new(
                path,
                "the batch has no requests: expected at least one entry",
            ));
        }
        if let Some(base) = &options.base_url {
            settings.base_url = Some(base.clone());
        }
        if let Some(base) = &settings.base_url {
            let absolute = base.contains("://").then(|| resolve_url(None, base));
            match absolute {
                Some(Ok(_)) => {}
                Some(Err(m)) => return Err(BatchError::new(path, m).field("base_url")),
                None => {
                    return Err(BatchError::new(
                        path,
                        format!("invalid URL {base:?}: expected an absolute http(s) URL like \"http://127.0.0.1:3000\""),
                    )
                    .field("base_url"));
                }
            }
        }
        settings.coalesce = coalesce
            .map(|c| c.resolve(settings.base_url.as_deref()))
            .transpose()
            .map_err(|e| BatchError::new(path, e).field("coalesce"))?;
        let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        let entries = specs
            .into_iter()
            .enumerate()
            .map(|(i, spec)| {
                let axes = spec
                    .for_each
                    .iter()
                    .map(|(var, axis)| Axis::new(var, axis, &dir))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|m| BatchError::new(path, m).entry(i).field("for_each"))?;
                Ok(Entry {
                    spec,
                    axes: axes.into(),
                })
            })
            .collect::<Result<Vec<_>, BatchError>>()?;
        let mut batch = Batch {
            path: path.to_path_buf(),
            format,
            defaults: Arc::new(Defaults {
                base_url: settings.base_url.clone(),
                headers: settings.headers.clone(),
            }),
            settings,
            warnings,
            entries: entries.into(),
            total: 0,
        };
        // One full pass builds every request, so any error (a bad row, an
        // unknown placeholder, a URL that does not parse) surfaces now.
        let mut total = 0;
        for request in batch.requests() {
            request.map_err(|invalid| *invalid.error)?;
            total += 1;
        }
        batch.total = total;
        Ok(batch)
    }

    /// How many requests the batch expands to.
    pub fn len(&self) -> u64 {
        self.total
    }

    /// Whether the batch has no requests (a loaded batch always has some).
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// The request entries as written (before expansion).
    pub fn entries(&self) -> impl Iterator<Item = &EntrySpec> {
        self.entries.iter().map(|e| &e.spec)
    }

    /// The expanded requests, built one at a time, in batch order.
    pub fn requests(&self) -> Requests {
        let entries = self.entries.clone();
        let defaults = self.defaults.clone();
        let path = self.path.clone();
        let mut index = 0u64;
        let iter = (0..entries.len()).flat_map(move |i| {
            let entries = entries.clone();
            let defaults = defaults.clone();
            let path = path.clone();
            let bindings: Box<dyn Iterator<Item = Result<Bindings, BatchError>> + Send> =
                if entries[i].axes.is_empty() {
                    Box::new(std::iter::once(Ok(Bindings::default())))
                } else {
                    product(entries[i].axes.clone())
                };
            // An entry without placeholders is the same request every time:
            // build it once and clone it (parsing a URL costs more).
            let fixed = entries[i]
                .spec
                .is_static()
                .then(|| build(0, &entries[i].spec, &defaults, &Bindings::default()).ok())
                .flatten();
            bindings.map(move |vars| {
                let vars = vars.map_err(|e| if e.entry.is_none() { e.entry(i) } else { e })?;
                if let Some(spec) = &fixed {
                    return Ok(spec.clone());
                }
                build(0, &entries[i].spec, &defaults, &vars)
                    .map_err(|(field, msg)| BatchError::new(&path, msg).entry(i).field(field))
            })
        });
        Requests {
            inner: Box::new(iter.map(move |r| {
                let this = index;
                index += 1;
                match r {
                    Ok(mut spec) => {
                        spec.index = this;
                        Ok(spec)
                    }
                    Err(error) => Err(InvalidRequest {
                        index: this,
                        error: Box::new(error),
                    }),
                }
            })),
        }
    }
}

/// A request of the batch that could not be built, at its batch index.
#[derive(Debug, Clone)]
pub struct InvalidRequest {
    pub index: u64,
    pub error: Box<BatchError>,
}

/// The lazily built requests of a batch.
pub struct Requests {
    inner: Box<dyn Iterator<Item = Result<RequestSpec, InvalidRequest>> + Send>,
}

impl Iterator for Requests {
    type Item = Result<RequestSpec, InvalidRequest>;

    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next()
    }
}

#[allow(clippy::type_complexity)]
fn parse_json(
    text: &str,
    path: &Path,
) -> Result<(BatchSettings, Vec<EntrySpec>, Option<coalesce::RawCoalesce>), BatchError> {
    let first = text.trim_start().chars().next();
    match first {
        Some('[') => Ok((
            BatchSettings::default(),
            deserialize::<Vec<EntrySpec>>(text, path, 1)?,
            None,
        )),
        Some('{') => {
            let raw: RawBatch = deserialize(text, path, 1)?;
            let settings = BatchSettings {
                base_url: raw.base_url,
                headers: raw.headers,
                timeout: raw.timeout,
                max_at_once: raw.max_at_once,
                per_second: raw.per_second,
                burst: raw.burst,
                retries: raw.retries,
                http2: raw.http2,
                respect_limits: raw.respect_limits,
                profile: raw
                    .profile
                    .map(|stages| {
                        crate::engine::profile::Profile::stages(
                            stages.into_iter().map(|s| (s.per_second, s.duration)),
                        )
                    })
                    .transpose()
                    .map_err(|e| BatchError::new(path, e).field("profile"))?,
                // Resolved once the base URL is known (--base-url wins).
                coalesce: None,
            };
            Ok((settings, raw.requests, raw.coalesce))
        }
        _ => {
            let (line, column) = first_token_position(text);
            Err(BatchError::new(
                path,
                "expected a JSON object with a `requests` list, or a JSON array of requests",
            )
            .at(line, column))
        }
    }
}

fn first_token_position(text: &str) -> (usize, usize) {
    for (i, line) in text.lines().enumerate() {
        if let Some(col) = line.find(|c: char| !c.is_whitespace()) {
            return (i + 1, col + 1);
        }
    }
    (1, 1)
}

fn parse_jsonl(text: &str, path: &Path) -> Result<Vec<EntrySpec>, BatchError> {
    let mut entries = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let entry: EntrySpec =
            deserialize(line, path, i + 1).map_err(|e| e.entry(entries.len()))?;
        entries.push(entry);
    }
    Ok(entries)
}

fn parse_text(text: &str, path: &Path) -> Result<Vec<EntrySpec>, BatchError> {
    let mut entries = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let fail = |msg: String| {
            BatchError::new(path, msg)
                .at(i + 1, line.find(trimmed).unwrap_or(0) + 1)
                .entry(entries.len())
        };
        let mut words = trimmed.split_whitespace();
        let (method, url) = match (words.next(), words.next(), words.next()) {
            (Some(url), None, None) => (None, url),
            (Some(method), Some(url), None) => (Some(method), url),
            _ => {
                return Err(fail(format!(
                    "expected one URL per line (optionally `METHOD URL`), found {trimmed:?}"
                )));
            }
        };
        let json = serde_json::json!({ "url": url, "method": method.unwrap_or("GET") });
        let entry = serde_json::from_value::<EntrySpec>(json).map_err(|e| fail(e.to_string()))?;
        entries.push(entry);
    }
    Ok(entries)
}

/// Deserializes a whole JSON document, errors positioned and naming the
/// field (for importers of JSON formats).
pub(crate) fn deserialize_json<T: DeserializeOwned>(
    text: &str,
    path: &Path,
) -> Result<T, BatchError> {
    deserialize(text, path, 1)
}

/// Deserializes with the path to the failing field, mapping serde's errors
/// onto positions; `first_line` offsets lines (JSON Lines parse per line).
fn deserialize<T: DeserializeOwned>(
    text: &str,
    path: &Path,
    first_line: usize,
) -> Result<T, BatchError> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let at = e.path().to_string();
        let inner = e.into_inner();
        locate(
            BatchError::new(path, strip_position(&inner)),
            &inner,
            first_line,
            &at,
        )
    })?;
    de.end().map_err(|e| {
        let msg = format!("{}: expected one JSON value", strip_position(&e));
        locate(BatchError::new(path, msg), &e, first_line, ".")
    })?;
    Ok(value)
}

fn locate(
    mut err: BatchError,
    inner: &serde_json::Error,
    first_line: usize,
    at: &str,
) -> BatchError {
    if inner.line() > 0 {
        err = err.at(first_line + inner.line() - 1, inner.column());
    }
    // Paths look like `requests[3].method` or `[3].params.a`.
    let rest = at.strip_prefix("requests").unwrap_or(at);
    if let Some(after) = rest.strip_prefix('[')
        && let Some((index, field)) = after.split_once(']')
    {
        if let Ok(index) = index.parse() {
            err = err.entry(index);
        }
        let field = field.trim_start_matches('.');
        if !field.is_empty() {
            err = err.field(field);
        }
        return err;
    }
    if at != "." && !at.is_empty() {
        err = err.field(at);
    }
    err
}
