//! Importers: requests written for other tools, turned into a batch.
//!
//! ```text
//!  curl lines │ .http file │ HAR │ Postman v2.1 ──importer──▶ [Request] ──▶ batch JSON
//! ```
//! Every importer produces the same [`Request`]s, which become the JSON
//! object form of a batch: `ratebench import` writes it for the user to
//! edit, and the loader opens these formats directly through the same path.
//! Literal text is escaped for the batch syntax (`${` becomes `$${`), so only
//! what the source meant as a variable is read from the environment.

pub mod curl;
pub mod har;
pub mod http;
pub mod postman;
mod vars;

use std::path::Path;

use serde_json::{Map, Value, json};

use crate::batch::BatchError;
pub use crate::batch::Source;

/// Choices the importers take beyond the file itself.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// HAR: keep only entries whose URL matches.
    pub filter_url: Option<regex::Regex>,
    /// HAR: keep only these methods (upper case).
    pub methods: Option<Vec<String>>,
    /// Keep recorded credentials (dropped by default: a recording's
    /// session is rarely what a batch should send): a HAR's Cookie,
    /// Authorization and key-like headers, a Postman collection's Cookie.
    pub keep_auth: bool,
}

/// The largest file read as a body or a batch (1 GiB), unless
/// `RATEBENCH_MAX_FILE_SIZE` (e.g. `4GiB`) says otherwise.
pub fn max_file_size() -> u64 {
    std::env::var("RATEBENCH_MAX_FILE_SIZE")
        .ok()
        .and_then(|v| v.trim().parse::<bytesize::ByteSize>().ok())
        .map_or(1 << 30, |s| s.as_u64())
}

/// Reads a text file a batch names (a body file) or is: a regular file
/// or a pipe (never a device such as `/dev/zero`, which never ends, nor a
/// folder), at most [`max_file_size`], UTF-8, a leading byte-order mark
/// dropped. The error is a sentence without the path (callers name it).
pub fn read_text_file(path: &Path) -> Result<String, String> {
    use std::io::Read;
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    #[cfg(unix)]
    let pipe = std::os::unix::fs::FileTypeExt::is_fifo(&meta.file_type());
    #[cfg(not(unix))]
    let pipe = false;
    if meta.is_dir() {
        return Err("it is a folder, not a file".into());
    }
    if !meta.is_file() && !pipe {
        return Err("it is not a regular file (a device or a socket)".into());
    }
    let limit = max_file_size();
    if meta.len() > limit {
        return Err(format!(
            "it is {}, larger than the limit of {} (RATEBENCH_MAX_FILE_SIZE raises it)",
            bytesize::ByteSize(meta.len()),
            bytesize::ByteSize(limit)
        ));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(limit + 1).read_to_end(&mut bytes))
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > limit {
        return Err(format!(
            "it is larger than the limit of {} (RATEBENCH_MAX_FILE_SIZE raises it)",
            bytesize::ByteSize(limit)
        ));
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        let before = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = before.iter().filter(|b| **b == b'\n').count() + 1;
        format!("line {line}: the file is not valid UTF-8 text")
    })?;
    Ok(match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_owned(),
        None => text,
    })
}

/// One imported request, in batch syntax (literal `${` already escaped).
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub name: Option<String>,
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Body,
    /// Per-request timeout in seconds (curl `--max-time`).
    pub timeout_s: Option<f64>,
    /// Where in the source it was written (1-based line), for errors.
    pub line: usize,
}

/// An imported body.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    None,
    Text(String),
    Json(Value),
    Form(Vec<(String, String)>),
    /// A `multipart/form-data` body (the batch's `multipart`).
    Multipart(Vec<Part>),
    /// A file sent as the body (the batch's `body_file`), relative to the
    /// imported file.
    File(String),
}

/// One field of an imported multipart body: a value or a file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Part {
    pub name: String,
    pub value: Option<String>,
    pub file: Option<String>,
    pub filename: Option<String>,
    pub content_type: Option<String>,
}

impl Part {
    fn to_value(&self) -> Value {
        let mut part = Map::new();
        part.insert("name".into(), json!(self.name));
        for (key, v) in [
            ("value", &self.value),
            ("file", &self.file),
            ("filename", &self.filename),
            ("content_type", &self.content_type),
        ] {
            if let Some(v) = v {
                part.insert(key.into(), json!(v));
            }
        }
        Value::Object(part)
    }
}

/// The result of an import: the batch and what the user should know.
#[derive(Debug, Clone)]
pub struct Imported {
    pub requests: Vec<Request>,
    /// Things skipped or changed on the way, one sentence each.
    pub warnings: Vec<String>,
}

impl Imported {
    /// The batch in its JSON object form.
    pub fn to_batch(&self) -> Value {
        let requests = self.requests.iter().map(Request::to_entry).collect();
        json!({ "requests": Value::Array(requests) })
    }

    /// The batch as the pretty JSON text `ratebench import` writes.
    pub fn to_json_text(&self) -> String {
        let mut text =
            serde_json::to_string_pretty(&self.to_batch()).expect("a Value always serialises");
        text.push('\n');
        text
    }
}

impl Request {
    /// The entry's object form in a batch file.
    pub fn to_entry(&self) -> Value {
        let mut entry = Map::new();
        if let Some(name) = &self.name {
            entry.insert("name".into(), json!(name));
        }
        if self.method != "GET" {
            entry.insert("method".into(), json!(self.method));
        }
        entry.insert("url".into(), json!(self.url));
        if !self.headers.is_empty() {
            let mut headers = Map::new();
            for (name, value) in &self.headers {
                // The batch holds one value per name: join repeats as HTTP does.
                let joined = match headers.get(name).and_then(Value::as_str) {
                    Some(prev) if name.eq_ignore_ascii_case("cookie") => format!("{prev}; {value}"),
                    Some(prev) => format!("{prev}, {value}"),
                    None => value.clone(),
                };
                headers.insert(name.clone(), json!(joined));
            }
            entry.insert("headers".into(), Value::Object(headers));
        }
        match &self.body {
            Body::None => {}
            Body::Text(text) => {
                entry.insert("body".into(), json!(text));
            }
            Body::Json(value) => {
                entry.insert("json".into(), value.clone());
            }
            Body::Form(pairs) => {
                let mut names: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
                names.sort_unstable();
                let repeated = names.windows(2).any(|w| w[0] == w[1]);
                // Fields as an object; a repeated one (`foo=bar&foo=`) as a
                // list of pairs, so none is lost and the order stays.
                let form = if repeated {
                    Value::Array(pairs.iter().map(|(k, v)| json!([k, v])).collect())
                } else {
                    Value::Object(pairs.iter().map(|(k, v)| (k.clone(), json!(v))).collect())
                };
                entry.insert("form".into(), form);
            }
            Body::Multipart(parts) => {
                entry.insert(
                    "multipart".into(),
                    Value::Array(parts.iter().map(Part::to_value).collect()),
                );
            }
            Body::File(path) => {
                entry.insert("body_file".into(), json!(path));
            }
        }
        if let Some(t) = self.timeout_s {
            entry.insert("timeout".into(), json!(format!("{t}s")));
        }
        Value::Object(entry)
    }
}

/// `batch` (a batch's text in `format`) with `pasted` (curl commands)
/// added as its last requests, in the batch's own form.
pub fn append_curl(
    batch: &str,
    format: crate::batch::Format,
    pasted: &str,
) -> Result<(String, usize), String> {
    use crate::batch::Format;
    let imported = curl::import_line(pasted)?;
    let n = imported.requests.len();
    let mut out = batch.trim_end().to_owned();
    match format {
        Format::Imported(Source::Curl) => {
            out.push('\n');
            out.push_str(pasted.trim());
        }
        Format::Imported(other) => {
            return Err(format!(
                "this batch is a {} file: paste curl commands into a JSON batch",
                other.name()
            ));
        }
        Format::JsonLines => {
            for r in &imported.requests {
                out.push('\n');
                out.push_str(&r.to_entry().to_string());
            }
        }
        Format::Text => {
            for r in &imported.requests {
                if !r.headers.is_empty() || r.body != Body::None || r.timeout_s.is_some() {
                    return Err(
                        "a URL list holds no headers or bodies: paste into a JSON batch".into(),
                    );
                }
                out.push('\n');
                out.push_str(&format!("{} {}", r.method, r.url));
            }
        }
        Format::Json if !batch.trim().is_empty() => {
            // The batch stays as written: the new entries go at the end of
            // its list, and nothing else is printed again.
            serde_json::from_str::<Value>(batch)
                .map_err(|e| format!("the batch is not valid JSON yet ({e}): fix it first"))?;
            let entries: Vec<String> = imported
                .requests
                .iter()
                .map(|r| r.to_entry().to_string())
                .collect();
            let list_end = if out.trim_start().starts_with('[') {
                out.len() - 1
            } else {
                let keys = crate::batch::json_text::top_level_values(&out)
                    .ok_or("the batch is not a JSON object or array")?;
                let &(start, end, ..) = keys
                    .get("requests")
                    .ok_or("the batch has no `requests` list")?;
                if !out[start..end].starts_with('[') {
                    return Err("the batch's `requests` is not a list".into());
                }
                end - 1
            };
            let inside = &out[..list_end];
            let open = inside.rfind('[').unwrap_or(0);
            let empty = out[..list_end].trim_end().ends_with('[');
            // One entry per line, indented like the list's last line, when
            // the list spans lines; else on the same line.
            let multi_line = out[open..list_end].contains('\n');
            let indent = if multi_line {
                let last_line = inside.trim_end().rsplit('\n').next().unwrap_or("");
                let width = last_line.len() - last_line.trim_start().len();
                format!("\n{}", " ".repeat(width))
            } else {
                " ".to_owned()
            };
            let trimmed_end = inside.trim_end().len();
            let mut added = String::new();
            for (i, entry) in entries.iter().enumerate() {
                if i > 0 || !empty {
                    added.push(',');
                }
                added.push_str(&indent);
                added.push_str(entry);
            }
            out.insert_str(trimmed_end, &added);
        }
        Format::Json => {
            let entries = imported.requests.iter().map(Request::to_entry);
            let mut value = if batch.trim().is_empty() {
                Value::Array(vec![])
            } else {
                serde_json::from_str::<Value>(batch)
                    .map_err(|e| format!("the batch is not valid JSON yet ({e}): fix it first"))?
            };
            let list = match &mut value {
                Value::Array(list) => list,
                Value::Object(map) => match map.get_mut("requests") {
                    Some(Value::Array(list)) => list,
                    _ => return Err("the batch has no `requests` list".into()),
                },
                _ => return Err("expected a JSON object or array".into()),
            };
            list.extend(entries);
            out = serde_json::to_string_pretty(&value).map_err(|e| e.to_string())?;
        }
    }
    out.push('\n');
    Ok((out, n))
}

/// Imports `text` (read from `path`, which names it in errors and anchors
/// relative file references) as `source`.
pub fn import(
    source: Source,
    text: &str,
    path: &Path,
    options: &ImportOptions,
) -> Result<Imported, BatchError> {
    let imported = match source {
        Source::Curl => curl::import(text, path)?,
        Source::Http => http::import(text, path)?,
        Source::Har => har::import(text, path, options)?,
        Source::Postman => postman::import(text, path, options)?,
    };
    if imported.requests.is_empty() {
        let mut message = format!("no requests found in this {} file", source.name());
        if let Some(first) = imported.warnings.first() {
            message.push_str(&format!(" ({first})"));
        }
        return Err(BatchError::new(path, message));
    }
    Ok(imported)
}

/// A body from text and its content type: JSON when the type says JSON and
/// the text parses, a form when it says form-urlencoded, else the text.
/// `literal` escapes text for the batch syntax; `text` is already escaped.
pub(crate) fn body_from(text: &str, content_type: Option<&str>) -> Body {
    let ct = content_type.unwrap_or("").to_ascii_lowercase();
    // JSON as a `json` body only when it is sent as written: the batch
    // serialises it compactly, and spaces or key order a source wrote
    // must not change on the wire.
    if ct.contains("json")
        && let Ok(value) = serde_json::from_str::<Value>(text)
        && serde_json::to_string(&value).is_ok_and(|compact| compact == text)
    {
        return Body::Json(value);
    }
    if ct.starts_with("application/x-www-form-urlencoded") {
        // A form only when it encodes back to the same bytes: the batch
        // re-encodes a form, and what is sent must not change.
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(text.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let again = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&pairs)
            .finish();
        if again == text && pairs.iter().all(|(k, _)| !k.is_empty()) {
            return Body::Form(pairs);
        }
    }
    Body::Text(text.to_owned())
}

/// The value of header `name` (any case) among `headers`.
pub(crate) fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The lines holding a `"request"` key, in order: where each request of a
/// JSON source (HAR, Postman) starts, best effort, for errors about the
/// batch the import becomes.
pub(crate) fn request_key_lines(text: &str) -> Vec<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.contains("\"request\""))
        .map(|(i, _)| i + 1)
        .collect()
}

/// `Authorization: Basic …` for `user:password`.
pub(crate) fn basic_auth(credentials: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(credentials)
    )
}

#[cfg(test)]
mod append_tests {
    use super::*;
    use crate::batch::Format;

    #[test]
    fn a_pasted_curl_command_goes_at_the_end_of_the_list_and_nothing_else_moves() {
        let batch = "{\n  \"per_second\": 20,\n  \"requests\": [\n    {\"url\": \"http://h/a\", \"params\": {\"n\": 5}},\n    \"http://h/b\"\n  ]\n}\n";
        let (text, n) = append_curl(batch, Format::Json, "curl http://h/c").unwrap();
        assert_eq!(n, 1);
        assert_eq!(
            text,
            "{\n  \"per_second\": 20,\n  \"requests\": [\n    {\"url\": \"http://h/a\", \"params\": {\"n\": 5}},\n    \"http://h/b\",\n    {\"url\":\"http://h/c\"}\n  ]\n}\n"
        );
        // A one-line array stays one line.
        let (text, _) = append_curl(r#"["http://h/a"]"#, Format::Json, "curl http://h/c").unwrap();
        assert_eq!(text, "[\"http://h/a\", {\"url\":\"http://h/c\"}]\n");
        // An empty list gets no stray comma.
        let (text, _) =
            append_curl(r#"{"requests": []}"#, Format::Json, "curl http://h/c").unwrap();
        assert_eq!(text, "{\"requests\": [ {\"url\":\"http://h/c\"}]}\n");
        serde_json::from_str::<Value>(&text).unwrap();
    }
}
