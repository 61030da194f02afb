//! HAR 1.2 recordings (a browser's "Save all as HAR") to requests.
//!
//! Parsed with the `har` crate's types, through serde_path_to_error so a
//! broken file is reported with its line, column and field. Headers only a
//! browser sends (HTTP/2 pseudo-headers, `Host`, `Sec-Fetch-*`, …) are
//! dropped; cookies and authorization are dropped unless asked for.

use std::path::Path;

use har::v1_2;

use super::vars::literal;
use super::{Body, ImportOptions, Imported, Request, body_from};
use crate::batch::BatchError;

/// Request headers a browser adds on its own, which a batch must not copy
/// (the client sets them, or they describe the browser's connection).
fn browser_only(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.starts_with(':')
        || lower.starts_with("sec-")
        || matches!(
            lower.as_str(),
            "host"
                | "connection"
                | "content-length"
                | "keep-alive"
                | "transfer-encoding"
                | "te"
                | "upgrade"
                | "accept-encoding"
                | "upgrade-insecure-requests"
                | "priority"
                | "dnt"
                | "pragma"
                | "cache-control"
                | "if-none-match"
                | "if-modified-since"
        )
}

/// A recorded credential: cookies, authorization, and key-like headers
/// (`X-Api-Key`, `X-Auth-Token`), as results redact them.
fn is_auth(name: &str) -> bool {
    crate::export::redact::is_secret_header(name)
}

/// An entry with what we do not read filled in: the response, cache and
/// timings as empty as the format allows, and the request's bookkeeping
/// (HTTP version, cookies, sizes) defaulted where a tool left it out.
fn tolerant(entry: &serde_json::Value) -> serde_json::Value {
    use serde_json::json;
    let mut entry = entry.clone();
    let Some(fields) = entry.as_object_mut() else {
        return entry;
    };
    fields
        .entry("startedDateTime")
        .or_insert(json!("1970-01-01T00:00:00Z"));
    fields.entry("time").or_insert(json!(0));
    fields.insert(
        "response".into(),
        json!({"status": 0, "statusText": "", "httpVersion": "", "cookies": [], "headers": [],
               "content": {"size": 0, "mimeType": ""}, "redirectURL": "", "headersSize": -1,
               "bodySize": -1}),
    );
    fields.insert("cache".into(), json!({}));
    fields.insert(
        "timings".into(),
        json!({"send": 0, "wait": 0, "receive": 0}),
    );
    if let Some(request) = fields.get_mut("request").and_then(|r| r.as_object_mut()) {
        if let Some(post) = request.get_mut("postData").and_then(|p| p.as_object_mut()) {
            post.entry("mimeType").or_insert(json!(""));
        }
        request.entry("httpVersion").or_insert(json!("HTTP/1.1"));
        request.entry("cookies").or_insert(json!([]));
        request.entry("headers").or_insert(json!([]));
        request.entry("queryString").or_insert(json!([]));
        request.entry("headersSize").or_insert(json!(-1));
        request.entry("bodySize").or_insert(json!(-1));
    }
    entry
}

/// The entries of a HAR: its `log.entries`; or, as tools also exchange
/// them, a list of entries, one entry (`{"request": …}`), or one request
/// (`{"method", "url", …}`).
fn entries_of(har: &serde_json::Value) -> Option<Vec<serde_json::Value>> {
    use serde_json::{Value, json};
    let as_entry = |v: &Value| -> Option<Value> {
        if v.get("request").is_some_and(Value::is_object) {
            Some(v.clone())
        } else if v.get("method").is_some() && v.get("url").is_some() {
            Some(json!({ "request": v }))
        } else {
            None
        }
    };
    if let Some(entries) = har.pointer("/log/entries") {
        return entries.as_array().cloned();
    }
    match har {
        Value::Array(items) => items.iter().map(as_entry).collect(),
        other => as_entry(other).map(|e| vec![e]),
    }
}

/// An entry's body: the recorded text as it is, else its form params (a
/// multipart form as a multipart body, never URL-encoded); a multipart
/// body's recorded Content-Type leaves `kept` (its boundary is not ours).
fn body(post_data: Option<v1_2::PostData>, kept: &mut Vec<(String, String)>) -> Body {
    match post_data {
        None => Body::None,
        Some(data) => match (data.text, data.params) {
            // The recorded bytes, which match the recorded boundary.
            (Some(text), _) if !text.is_empty() => {
                body_from(&literal(&text), Some(&data.mime_type))
            }
            // Fields without the bytes: a multipart form is sent as
            // one (with a fresh boundary), never URL-encoded.
            (_, Some(params))
                if !params.is_empty()
                    && data
                        .mime_type
                        .to_ascii_lowercase()
                        .starts_with("multipart/") =>
            {
                kept.retain(|(k, _)| !k.eq_ignore_ascii_case("content-type"));
                Body::Multipart(
                    params
                        .into_iter()
                        .map(|p| super::Part {
                            name: literal(&p.name),
                            value: Some(literal(&p.value.unwrap_or_default())),
                            file: None,
                            filename: p.file_name.map(|f| literal(&f)),
                            content_type: p.content_type.map(|c| literal(&c)),
                        })
                        .collect(),
                )
            }
            (_, Some(params)) if !params.is_empty() => Body::Form(
                params
                    .into_iter()
                    .map(|p| (literal(&p.name), literal(&p.value.unwrap_or_default())))
                    .collect(),
            ),
            _ => Body::None,
        },
    }
}

/// Imports the entries of a HAR.
pub fn import(text: &str, path: &Path, options: &ImportOptions) -> Result<Imported, BatchError> {
    let har: serde_json::Value = crate::batch::deserialize_json(text, path)?;
    let Some(listed) = entries_of(&har) else {
        return Err(BatchError::new(
            path,
            "expected a HAR: an object with `log.entries`, a list (or an entry, a list of \
             entries, or one request with `method` and `url`)",
        )
        .field("log.entries"));
    };
    let lines = super::request_key_lines(text);
    let mut imported = Imported {
        requests: Vec::new(),
        warnings: Vec::new(),
    };
    // We read each request's method, URL, headers, query and body: any
    // HAR version (1.1, 1.2, 1.3, or none), and whatever a tool leaves out
    // of the rest, will do. A broken entry is skipped, named, and the
    // others import.
    let mut entries = Vec::with_capacity(listed.len());
    for (i, entry) in listed.iter().enumerate() {
        match serde_path_to_error::deserialize::<_, v1_2::Entries>(tolerant(entry)) {
            Ok(entry) => entries.push(entry),
            Err(e) => imported.warnings.push(format!(
                "skipped entries[{i}]: `entries[{i}].{}`: {}",
                e.path(),
                e.inner()
            )),
        }
    }
    let (mut not_http, mut filtered, mut auth_dropped) = (0, 0, 0);
    for (i, entry) in entries.into_iter().enumerate() {
        let v1_2::Request {
            method,
            mut url,
            headers,
            post_data,
            query_string,
            ..
        } = entry.request;
        // The URL holds the query; a tool that listed it only in
        // `queryString` (Insomnia's exports) has it added.
        if !url.contains('?') && !query_string.is_empty() {
            let query = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(query_string.iter().map(|q| (&q.name, &q.value)))
                .finish();
            url = format!("{url}?{query}");
        }
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            not_http += 1;
            continue;
        }
        let method = method.to_ascii_uppercase();
        let wanted_url = options.filter_url.as_ref().is_none_or(|r| r.is_match(&url));
        let wanted_method = options.methods.as_ref().is_none_or(|m| m.contains(&method));
        if !(wanted_url && wanted_method) {
            filtered += 1;
            continue;
        }
        let mut kept = Vec::new();
        for h in headers {
            if browser_only(&h.name) {
                continue;
            }
            if is_auth(&h.name) && !options.keep_auth {
                auth_dropped += 1;
                continue;
            }
            kept.push((h.name, literal(&h.value)));
        }
        let body = body(post_data, &mut kept);
        imported.requests.push(Request {
            name: None,
            method,
            url: literal(&url),
            headers: kept,
            body,
            timeout_s: None,
            line: lines.get(i).copied().unwrap_or(1),
        });
    }
    if not_http > 0 {
        imported.warnings.push(format!(
            "skipped {not_http} entries that are not http(s) (data:, blob:, extensions)"
        ));
    }
    if filtered > 0 {
        imported.warnings.push(format!(
            "skipped {filtered} entries that --filter-url or --methods left out"
        ));
    }
    if auth_dropped > 0 {
        imported.warnings.push(format!(
            "dropped {auth_dropped} credential headers (Cookie, Authorization, key- and token-like names; --keep-auth keeps them)"
        ));
    }
    Ok(imported)
}
