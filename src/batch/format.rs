//! The forms a batch file can take, and telling them apart by name or by
//! content. Recognising another tool's format is plain text sniffing, so
//! it lives here; reading one is the importers' work ((`import`)),
//! which the loader (`loader`) calls.

use std::path::Path;

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
    Imported(Source),
}

impl Format {
    /// The format an extension names, if it names one.
    pub fn from_path(path: &Path) -> Option<Self> {
        if let Some(source) = Source::from_path(path) {
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
        if let Some(source) = Source::sniff(text) {
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

/// The formats ratebench imports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Source {
    /// curl command lines, one per line or backslash-continued.
    Curl,
    /// A JetBrains / VS Code REST Client `.http` or `.rest` file.
    Http,
    /// An HTTP Archive 1.2, as browsers export it.
    Har,
    /// A Postman Collection v2.1.
    Postman,
}

impl Source {
    /// The format a file name implies, if it implies an imported one.
    pub fn from_path(path: &Path) -> Option<Self> {
        let name = path.file_name()?.to_str()?.to_ascii_lowercase();
        let ext = name.rsplit('.').next()?;
        match ext {
            "curl" => Some(Source::Curl),
            "http" | "rest" => Some(Source::Http),
            "har" => Some(Source::Har),
            _ if name.ends_with(".postman_collection.json") => Some(Source::Postman),
            _ => None,
        }
    }

    /// Recognises an imported format by content, for files whose extension
    /// says only `.json` or `.txt`: a HAR's top-level `log`, a Postman
    /// collection's schema address, a list of curl commands.
    pub fn sniff(text: &str) -> Option<Self> {
        let trimmed = text.trim_start();
        if let Some(object) = trimmed.strip_prefix('{') {
            if object.trim_start().starts_with("\"log\"") {
                return Some(Source::Har);
            }
            let mut end = trimmed.len().min(64 * 1024);
            while !trimmed.is_char_boundary(end) {
                end -= 1;
            }
            let head = &trimmed[..end];
            if head.contains("schema.getpostman.com") || head.contains("\"_postman_id\"") {
                return Some(Source::Postman);
            }
            return None;
        }
        let first = trimmed
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with('#'))?;
        let first = first.strip_prefix("$ ").unwrap_or(first);
        (first.starts_with("curl ") || first == "curl").then_some(Source::Curl)
    }

    pub fn name(self) -> &'static str {
        match self {
            Source::Curl => "curl",
            Source::Http => "http",
            Source::Har => "har",
            Source::Postman => "postman",
        }
    }
}
