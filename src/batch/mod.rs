//! Batches: the request list a run works through.
//!
//! ```text
//!  file ──detect format──▶ parse + validate (serde, positions) ──▶ entries
//!  entries ──for_each product (streamed)──▶ RequestSpec, RequestSpec, ...
//! ```
//! Parsing validates the whole batch, including one full pass over the
//! expansion, so a bad batch fails before anything is sent; the requests
//! themselves are produced lazily when the engine asks for them. Reading
//! a file and another tool's formats is the loader's (`loader`:
//! `Batch::load`), which sits above this module and the importers.

pub mod coalesce;
mod error;
mod expand;
mod format;
pub(crate) mod json_text;
mod model;
mod request;
pub mod template;
pub mod upload;

pub use model::parse_duration;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;

use crate::model::Limit;

pub use error::{BatchError, escape_controls};
pub use format::{Format, Source};
pub use model::{AxisSpec, BodySpec, EntrySpec, PartSpec};
pub use request::{Body, RequestSpec};

use expand::{Axis, product, strip_position};
use model::RawBatch;
use request::{Bindings, Defaults, build, resolve_url};
use template::Generate;

/// Batch-wide settings from the file; CLI flags and the UI override them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BatchSettings {
    pub base_url: Option<String>,
    pub headers: Vec<(String, String)>,
    pub timeout: Option<Duration>,
    /// The longest wait a server may ask for (`max_wait`).
    pub max_wait: Option<Duration>,
    pub max_at_once: Option<Limit<u64>>,
    pub per_second: Option<Limit<f64>>,
    pub burst: Option<u32>,
    pub retries: Option<u32>,
    pub http2: Option<bool>,
    /// Most open connections per origin (`max_connections`).
    pub max_connections: Option<Limit<u64>>,
    /// Redirects followed per request (`max_redirects`; 0: none).
    pub max_redirects: Option<u32>,
    /// Hold starts while the server says to (Retry-After, none remaining).
    pub respect_limits: Option<bool>,
    /// Planned rates over time, instead of one `per_second`.
    pub profile: Option<crate::model::Profile>,
    /// Send the items through a batch API instead of one by one.
    pub coalesce: Option<coalesce::CoalesceSpec>,
    /// How the items arrive (with `coalesce`); `None`: all at the start.
    pub arrivals: Option<crate::model::Arrivals>,
}

/// Options that change how a batch resolves while loading.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Overrides the file's `base_url` (the `--base-url` flag).
    pub base_url: Option<String>,
    /// Forces a format instead of detecting it.
    pub format: Option<Format>,
    /// The most requests a batch may expand to (`--max-requests`);
    /// `None`: [`MAX_REQUESTS`].
    pub max_requests: Option<u64>,
    /// Told (requests checked, of how many) while a large batch is
    /// checked, about every 64k requests: a front end's progress bar.
    pub progress: Option<fn(u64, u64)>,
}

/// The default ceiling on a batch's requests: far beyond any run worth
/// its time, and low enough that a typo (`10^12`) fails at once.
pub const MAX_REQUESTS: u64 = 100_000_000;

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
    fingerprint: u64,
}

/// FNV-1a, 64 bits, over the expanded requests: stable across runs and
/// versions (unlike std's hasher), and fast enough to go along with the
/// load's one pass over the expansion.
struct Fingerprint(u64);

impl Default for Fingerprint {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl Fingerprint {
    fn bytes(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
        // A separator, so ("ab", "c") and ("a", "bc") differ.
        self.0 ^= 0xff;
        self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
    }

    fn add(&mut self, r: &RequestSpec) {
        self.bytes(r.method.as_str().as_bytes());
        self.bytes(r.url.as_str().as_bytes());
        for (name, value) in &r.headers {
            self.bytes(name.as_str().as_bytes());
            self.bytes(value.as_bytes());
        }
        match &r.body {
            None => self.bytes(b""),
            Some(Body::Bytes(b)) => self.bytes(b),
            Some(Body::Upload(u)) => self.bytes(u.describe().as_bytes()),
        }
    }
}

#[derive(Debug)]
struct Entry {
    spec: EntrySpec,
    axes: Arc<[Axis]>,
}

impl Batch {
    /// Parses batch text in one of ratebench's own formats, as if it were
    /// the file at `path` (which names it in errors and anchors data
    /// files). Another tool's format is turned into the JSON form first:
    /// that is the loader's work ([`Batch::parse_str`]).
    pub fn parse_native(
        text: &str,
        path: &Path,
        format: Format,
        options: &LoadOptions,
    ) -> Result<Self, BatchError> {
        let (mut settings, specs, coalesce) = match format {
            Format::Json => parse_json(text, path)?,
            Format::JsonLines => (BatchSettings::default(), parse_jsonl(text, path)?, None),
            Format::Text => (BatchSettings::default(), parse_text(text, path)?, None),
            Format::Imported(source) => {
                return Err(BatchError::new(
                    path,
                    format!("a {} file is imported by the loader", source.name()),
                ));
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
        check_arrivals(&settings, path)?;
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
        let count = count_requests(&entries, path, options.max_requests.unwrap_or(MAX_REQUESTS))?;
        let mut batch = Batch {
            path: path.to_path_buf(),
            format,
            defaults: Arc::new(Defaults {
                base_url: settings.base_url.clone(),
                headers: settings.headers.clone(),
                dir: dir.clone(),
            }),
            settings,
            warnings: Vec::new(),
            entries: entries.into(),
            total: 0,
            fingerprint: 0,
        };
        // One full pass builds every request, so any error (a bad row, an
        // unknown placeholder, a URL that does not parse) surfaces now.
        let mut total = 0;
        let mut fingerprint = Fingerprint::default();
        let started = std::time::Instant::now();
        let mut shown = false;
        // Generated values stay calls here: the batch is the same batch
        // whatever values a run draws.
        for request in batch.requests_generating(Generate::Calls) {
            let request = request.map_err(|invalid| *invalid.error)?;
            fingerprint.add(&request);
            total += 1;
            if total % 65_536 == 0
                && let Some(progress) = options.progress
                && started.elapsed() > std::time::Duration::from_secs(1)
            {
                progress(total, count);
                shown = true;
            }
        }
        if let (true, Some(progress)) = (shown, options.progress) {
            progress(total, total);
        }
        batch.total = total;
        batch.fingerprint = fingerprint.0;
        batch.warnings.extend(window_note(&batch.settings));
        Ok(batch)
    }

    /// A hash of every request the batch expands to (method, URL, headers,
    /// body), the same from run to run and version to version: what a
    /// journal's sidecar and the runs log identify the batch by.
    pub fn fingerprint(&self) -> String {
        format!("{:016x}", self.fingerprint)
    }

    /// The files the batch reads: its own, and the data files its rows
    /// come from (a run must not write over them).
    pub fn inputs(&self) -> Vec<PathBuf> {
        let rows = self
            .entries
            .iter()
            .flat_map(|e| e.axes.iter())
            .filter_map(|a| match a {
                Axis::Rows { path, .. } => Some(path.clone()),
                _ => None,
            });
        std::iter::once(self.path.clone()).chain(rows).collect()
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
        self.requests_generating(Generate::Values)
    }

    fn requests_generating(&self, generate: Generate) -> Requests {
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
                .then(|| {
                    build(
                        0,
                        &entries[i].spec,
                        &defaults,
                        &Bindings::default(),
                        generate,
                    )
                    .ok()
                })
                .flatten();
            bindings.map(move |vars| {
                let vars = vars.map_err(|e| if e.entry.is_none() { e.entry(i) } else { e })?;
                if let Some(spec) = &fixed {
                    return Ok(spec.clone());
                }
                build(0, &entries[i].spec, &defaults, &vars, generate)
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

/// `arrivals` belong to a coalescing batch.
fn check_arrivals(settings: &BatchSettings, path: &Path) -> Result<(), BatchError> {
    if settings.arrivals.is_some() && settings.coalesce.is_none() {
        return Err(BatchError::new(
            path,
            "`arrivals` says how a coalescing batch's items arrive: add a `coalesce` section",
        )
        .field("arrivals"));
    }
    Ok(())
}

/// A window with every item ready at the start changes nothing: said, not
/// silently accepted.
fn window_note(settings: &BatchSettings) -> Option<String> {
    let window = settings.coalesce.as_ref().and_then(|c| c.window);
    (settings.arrivals.is_none() && window.is_some()).then(|| {
        "`coalesce.window` changes nothing while every item is ready at the start: \
         it applies with `arrivals` (or --arrival-rate)"
            .to_owned()
    })
}

/// How many requests `entries` expand to, counted from their axes before
/// anything is built (a range by arithmetic, a data file by its rows): a
/// range of 10^12 or a product of 2^70 fails here, in milliseconds, as
/// does a batch of none.
fn count_requests(entries: &[Entry], path: &Path, max: u64) -> Result<u64, BatchError> {
    let count = entries.iter().enumerate().try_fold(0u128, |sum, (i, e)| {
        let n = e.axes.iter().try_fold(1u128, |product, axis| {
            axis.count()
                .map(|n| product.saturating_mul(u128::from(n)))
                .map_err(|m| BatchError::new(path, m).entry(i).field("for_each"))
        })?;
        Ok::<_, BatchError>(sum.saturating_add(n))
    })?;
    if count > u128::from(max) {
        return Err(BatchError::new(
            path,
            format!(
                "the batch expands to {} requests, more than the limit of {max} \
                 (--max-requests raises it)",
                if count == u128::MAX {
                    "more than 10^38".to_owned()
                } else {
                    count.to_string()
                }
            ),
        ));
    }
    if count == 0 {
        return Err(BatchError::new(
            path,
            "the batch has no requests: expected at least one entry (its data files \
             and ranges give none)",
        ));
    }
    Ok(count as u64)
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
                max_wait: raw.max_wait,
                max_at_once: raw.max_at_once,
                per_second: raw.per_second,
                burst: raw.burst,
                retries: raw.retries,
                http2: raw.http2,
                max_connections: raw.max_connections,
                max_redirects: raw.max_redirects,
                respect_limits: raw.respect_limits,
                profile: raw
                    .profile
                    .map(|stages| {
                        crate::model::Profile::stages(
                            stages.into_iter().map(|s| (s.per_second, s.duration)),
                        )
                    })
                    .transpose()
                    .map_err(|e| BatchError::new(path, e).field("profile"))?,
                // Resolved once the base URL is known (--base-url wins).
                coalesce: None,
                arrivals: raw
                    .arrivals
                    .map(model::RawArrivals::resolve)
                    .transpose()
                    .map_err(|e| BatchError::new(path, e).field("arrivals"))?,
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
