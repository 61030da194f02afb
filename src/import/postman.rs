//! Postman Collection v2.1 to requests.
//!
//! Parsed with the `postman_collection` crate's v2.1 types (through
//! serde_path_to_error, for positions). Folders are walked in order and
//! named into each request (`Folder / Request`); auth is inherited from the
//! nearest folder or the collection; collection variables are substituted
//! and the rest (a Postman environment's) are read from the process
//! environment. Scripts cannot run here and are reported.

use std::path::Path;

use indexmap::IndexMap;
use postman_collection::v2_1_0 as pm;
use serde_json::Value;

use super::vars::{Resolved, VarError, resolve};
use super::{Body, Imported, Request, basic_auth, body_from, header};
use crate::batch::BatchError;

/// Imports every request of a collection.
pub fn import(
    text: &str,
    path: &Path,
    options: &super::ImportOptions,
) -> Result<Imported, BatchError> {
    // Where each request is in the file as written (errors name it), before
    // any reshaping below.
    let lines = super::request_key_lines(text);
    let (readable, notes) = readable(text, path)?;
    let text = readable.as_deref().unwrap_or(text);
    let spec: pm::Spec = crate::batch::deserialize_json(text, path).map_err(|e| {
        // An item is a request or a folder (untagged): serde says only that
        // it matched neither. Say which field of which item is at fault.
        match serde_json::from_str::<Value>(text)
            .ok()
            .and_then(|v| item_fault(v.get("item")?, "item"))
        {
            Some(fault) => BatchError::new(path, fault),
            None => e,
        }
    })?;
    if !spec.info.schema.contains("v2.1") {
        return Err(BatchError::new(
            path,
            format!(
                "collection schema {:?}: expected a Postman Collection v2.1 (export it as \"Collection v2.1\")",
                spec.info.schema
            ),
        )
        .field("info.schema"));
    }
    let mut walk = Walk {
        variables: IndexMap::new(),
        imported: Imported {
            requests: Vec::new(),
            warnings: Vec::new(),
        },
        from_env: Vec::new(),
        scripts: 0,
        lines,
        fatal: None,
        keep_cookies: options.keep_auth,
        cookies_dropped: 0,
        dir: path.parent().unwrap_or(Path::new(".")).to_path_buf(),
    };
    for v in spec.variable.iter().flatten() {
        walk.add_variable(v);
    }
    walk.scripts += count_scripts(spec.event.as_deref());
    walk.items(&spec.item, &[], spec.auth.as_ref());
    if let Some(fatal) = walk.fatal {
        return Err(BatchError::new(path, fatal));
    }
    let mut imported = walk.imported;
    imported.warnings.extend(notes);
    if walk.cookies_dropped > 0 {
        imported.warnings.push(format!(
            "dropped {} Cookie headers (--keep-auth keeps them)",
            walk.cookies_dropped
        ));
    }
    if walk.scripts > 0 {
        imported.warnings.push(format!(
            "skipped {} pre-request and test scripts: ratebench sends the requests as they are written",
            walk.scripts
        ));
    }
    if !walk.from_env.is_empty() {
        imported.warnings.push(format!(
            "variables the collection does not define are read from the environment when the batch loads: {}",
            walk.from_env.join(", ")
        ));
    }
    Ok(imported)
}

/// The collection in the shape v2.1's types read, with notes on what
/// was left out: `None` when the text is that already. A version other
/// than v2.0 and v2.1 is refused first: such a collection fails the types
/// somewhere deep, and the message that helps is "export it as v2.1".
fn readable(text: &str, path: &Path) -> Result<(Option<String>, Vec<String>), BatchError> {
    let mut value: Value = crate::batch::deserialize_json(text, path)?;
    let mut changed = false;
    match value.pointer("/info/schema").and_then(Value::as_str) {
        // v2.0, also as its first schema address wrote it (`…/v2/…`).
        Some(schema) if schema.contains("v2.0") || schema.contains("/v2/") => {
            value["info"]["schema"] =
                "https://schema.getpostman.com/json/collection/v2.1.0/collection.json".into();
            changed = true;
        }
        Some(schema) if !schema.contains("v2.1") => {
            return Err(BatchError::new(
                path,
                format!(
                    "collection schema {schema:?}: expected a Postman Collection v2.1 or v2.0 (export it as \"Collection v2.1\")"
                ),
            )
            .field("info.schema"));
        }
        _ => {}
    }
    let mut notes = Vec::new();
    changed |= auth_lists(&mut value);
    changed |= drop_unknown_bodies(&mut value, &mut notes);
    // What we do not read may be anything: saved responses (their cookies'
    // `expires` as a number), the collection's version, a missing name.
    changed |= drop_responses(&mut value);
    if let Some(info) = value.get_mut("info").and_then(Value::as_object_mut) {
        if !info.contains_key("name") {
            info.insert("name".into(), Value::String("collection".into()));
            changed = true;
        }
        // Early v2 collections name their schema `_postman_schema`, or not
        // at all; what is read here is v2's either way.
        if !info.contains_key("schema") {
            info.insert(
                "schema".into(),
                "https://schema.getpostman.com/json/collection/v2.1.0/collection.json".into(),
            );
            changed = true;
        }
        // The collection's own version, in any of the shapes tools write.
        changed |= info.remove("version").is_some();
    }
    // Read again from the changed document (positions in errors are then
    // the serialised document's, which only a changed file pays).
    let text =
        changed.then(|| serde_json::to_string_pretty(&value).expect("a Value always serialises"));
    Ok((text, notes))
}

/// Takes out bodies of a mode Postman's schema does not know (a newer
/// app's, or `"mode": "unknown"`), noting each: the request is sent
/// without it rather than the file refused. Whether anything changed.
fn drop_unknown_bodies(value: &mut Value, notes: &mut Vec<String>) -> bool {
    const MODES: &[&str] = &["raw", "urlencoded", "formdata", "file", "graphql"];
    let mut changed = false;
    match value {
        Value::Object(map) => {
            let name = map.get("name").and_then(Value::as_str).map(str::to_owned);
            if let Some(Value::Object(request)) = map.get_mut("request")
                && let Some(mode) = request
                    .get("body")
                    .and_then(|b| b.get("mode"))
                    .and_then(Value::as_str)
                && !MODES.contains(&mode)
            {
                notes.push(format!(
                    "`{}`: a body of mode {mode:?} is not one Postman's format defines; the \
                     request is sent without it",
                    name.as_deref().unwrap_or("request")
                ));
                request.remove("body");
                changed = true;
            }
            for v in map.values_mut() {
                changed |= drop_unknown_bodies(v, notes);
            }
        }
        Value::Array(items) => {
            for v in items {
                changed |= drop_unknown_bodies(v, notes);
            }
        }
        _ => {}
    }
    changed
}

/// Takes out items' saved responses, which nothing here reads, and
/// gives a script written as a string (v2.0 allowed its id or code) the
/// object form.
fn drop_responses(value: &mut Value) -> bool {
    let mut changed = false;
    match value {
        Value::Object(map) => {
            // Saved responses in the way (an empty list reads fine, and
            // leaves the file as written).
            let saved = map
                .get("response")
                .is_some_and(|r| r.as_array().is_none_or(|list| !list.is_empty()));
            if map.contains_key("request") && saved {
                map.remove("response");
                changed = true;
            }
            if let Some(Value::Array(events)) = map.get_mut("event") {
                for event in events {
                    if let Some(script) = event.get_mut("script")
                        && let Value::String(code) = script
                    {
                        *script = serde_json::json!({ "exec": [code.clone()] });
                        changed = true;
                    }
                }
            }
            for v in map.values_mut() {
                changed |= drop_responses(v);
            }
        }
        Value::Array(items) => {
            for v in items {
                changed |= drop_responses(v);
            }
        }
        _ => {}
    }
    changed
}

/// Auth settings in v2.1's shape: v2.0 gives a helper's settings as an
/// object (`"bearer": {"token": "…"}`), v2.1 as a list of `{key, value}`
/// (the rest of what is read here is the same in both; collections
/// without a schema address mix them). Whether anything changed.
fn auth_lists(value: &mut Value) -> bool {
    let mut changed = false;
    match value {
        Value::Object(map) => {
            if let Some(Value::Object(auth)) = map.get_mut("auth") {
                for (key, settings) in auth.iter_mut() {
                    if key == "type" {
                        continue;
                    }
                    if let Value::Object(fields) = settings {
                        *settings = Value::Array(
                            fields
                                .iter()
                                .map(|(k, v)| serde_json::json!({"key": k, "value": v, "type": "string"}))
                                .collect(),
                        );
                        changed = true;
                    }
                }
            }
            for v in map.values_mut() {
                changed |= auth_lists(v);
            }
        }
        Value::Array(items) => {
            for v in items {
                changed |= auth_lists(v);
            }
        }
        _ => {}
    }
    changed
}

/// The first item of `items` (at `at`) that is neither a folder nor a
/// request, with the field at fault, as `item[0].request.url: …`.
fn item_fault(items: &Value, at: &str) -> Option<String> {
    let Value::Array(items) = items else {
        return Some(format!("field `{at}`: expected an array of items"));
    };
    items.iter().enumerate().find_map(|(i, item)| {
        let here = format!("{at}[{i}]");
        match item.get("item") {
            // A folder: its own items.
            Some(inner) => item_fault(inner, &format!("{here}.item")),
            None => serde_path_to_error::deserialize::<_, pm::Item>(item.clone())
                .err()
                .map(|e| format!("field `{here}.{}`: {}", e.path(), e.inner())),
        }
    })
}

struct Walk {
    variables: IndexMap<String, String>,
    imported: Imported,
    from_env: Vec<String>,
    scripts: usize,
    lines: Vec<usize>,
    /// The first error that fails the import (a variable cycle, a value
    /// too large).
    fatal: Option<String>,
    /// Keep `Cookie` headers (`--keep-auth`): a collection's cookies are
    /// someone's session, rarely what a batch should send.
    keep_cookies: bool,
    cookies_dropped: usize,
    /// The collection's folder: form-data and body files are found there.
    dir: std::path::PathBuf,
}

fn count_scripts(events: Option<&[pm::Event]>) -> usize {
    events
        .into_iter()
        .flatten()
        .filter(|e| e.disabled != Some(true) && e.script.as_ref().is_some_and(|s| s.exec.is_some()))
        .count()
}

fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

impl Walk {
    fn add_variable(&mut self, v: &pm::Variable) {
        if v.disabled == Some(true) {
            return;
        }
        if let (Some(key), Some(value)) = (v.key.as_ref().or(v.id.as_ref()), v.value.as_ref()) {
            self.variables.insert(key.clone(), value_text(value));
        }
    }

    fn items(&mut self, items: &[pm::Items], folders: &[String], auth: Option<&pm::Auth>) {
        for item in items {
            match item {
                pm::Items::ItemGroup(group) => {
                    self.scripts += count_scripts(group.event.as_deref());
                    for v in group.variable.iter().flatten() {
                        self.add_variable(v);
                    }
                    let mut path = folders.to_vec();
                    path.push(group.name.clone().unwrap_or_else(|| "folder".into()));
                    self.items(&group.item, &path, group.auth.as_ref().or(auth));
                }
                pm::Items::Item(item) => {
                    self.scripts += count_scripts(item.event.as_deref());
                    let mut name = folders.to_vec();
                    name.push(item.name.clone().unwrap_or_else(|| "request".into()));
                    let name = name.join(" / ");
                    let line = self
                        .lines
                        .get(self.imported.requests.len())
                        .copied()
                        .unwrap_or(1);
                    match self.request(&item.request, auth, &name, line) {
                        Ok(Some(request)) => self.imported.requests.push(request),
                        Ok(None) => {}
                        Err(VarError::Dynamic(dynamic)) => self.imported.warnings.push(format!(
                            "skipped `{name}`: `{dynamic}` is a value Postman generates, which a batch cannot"
                        )),
                        Err(e) => {
                            self.fatal.get_or_insert_with(|| format!("`{name}`: {e}"));
                        }
                    }
                }
            }
        }
    }

    fn resolve(&mut self, text: &str) -> Result<String, VarError> {
        let variables = &self.variables;
        let Resolved { text, from_env } = resolve(text, &|n| variables.get(n).cloned())?;
        for name in from_env {
            if !self.from_env.contains(&name) {
                self.from_env.push(name);
            }
        }
        Ok(text)
    }

    /// The request, `None` when it cannot be sent (reported), or the
    /// dynamic variable that stopped it.
    fn request(
        &mut self,
        request: &pm::RequestUnion,
        inherited: Option<&pm::Auth>,
        name: &str,
        line: usize,
    ) -> Result<Option<Request>, VarError> {
        let request = match request {
            pm::RequestUnion::String(url) => {
                return Ok(Some(Request {
                    name: Some(super::vars::literal(name)),
                    method: "GET".into(),
                    url: with_scheme(self.resolve(url)?),
                    headers: vec![],
                    body: Body::None,
                    timeout_s: None,
                    line,
                }));
            }
            pm::RequestUnion::RequestClass(r) => r,
        };
        let Some(url) = request.url.as_ref().map(url_text) else {
            self.imported
                .warnings
                .push(format!("skipped `{name}`: it has no URL"));
            return Ok(None);
        };
        let mut url = with_scheme(self.resolve(&url)?);
        let mut headers = Vec::new();
        match &request.header {
            Some(pm::HeaderUnion::HeaderArray(list)) => {
                for h in list.iter().filter(|h| h.disabled != Some(true)) {
                    headers.push((self.resolve(&h.key)?, self.resolve(&h.value)?));
                }
            }
            Some(pm::HeaderUnion::String(raw)) => {
                for line in raw.lines() {
                    if let Some((k, v)) = line.split_once(':') {
                        headers.push((k.trim().to_owned(), self.resolve(v.trim())?));
                    }
                }
            }
            None => {}
        }
        if !self.keep_cookies {
            let before = headers.len();
            headers.retain(|(k, _)| !k.eq_ignore_ascii_case("cookie"));
            self.cookies_dropped += before - headers.len();
        }
        match request.auth.as_ref().or(inherited) {
            None => {}
            Some(auth) => {
                if let Some((k, v, in_query)) = self.auth(auth, name)? {
                    if in_query {
                        url.push(if url.contains('?') { '&' } else { '?' });
                        url.push_str(&format!(
                            "{}={}",
                            url::form_urlencoded::byte_serialize(k.as_bytes()).collect::<String>(),
                            v
                        ));
                    } else if header(&headers, &k).is_none() {
                        headers.push((k, v));
                    }
                }
            }
        }
        let body = match &request.body {
            Some(body) if body.disabled != Some(true) => self.body(body, &mut headers, name)?,
            _ => Body::None,
        };
        Ok(Some(Request {
            name: Some(super::vars::literal(name)),
            method: request
                .method
                .clone()
                .unwrap_or_else(|| "GET".into())
                .to_ascii_uppercase(),
            url,
            headers,
            body,
            timeout_s: None,
            line,
        }))
    }

    /// The header (or query parameter, when the flag is set) an auth
    /// helper amounts to.
    fn auth(
        &mut self,
        auth: &pm::Auth,
        name: &str,
    ) -> Result<Option<(String, String, bool)>, VarError> {
        let attr = |list: &Option<Vec<pm::AuthAttribute>>, key: &str| -> Option<String> {
            list.as_ref()?
                .iter()
                .find(|a| a.key == key)
                .and_then(|a| a.value.as_ref())
                .map(value_text)
        };
        Ok(match auth.auth_type {
            pm::AuthType::Noauth => None,
            pm::AuthType::Bearer => {
                let token = attr(&auth.bearer, "token").unwrap_or_default();
                Some((
                    "Authorization".into(),
                    format!("Bearer {}", self.resolve(&token)?),
                    false,
                ))
            }
            pm::AuthType::Basic => {
                let user = attr(&auth.basic, "username").unwrap_or_default();
                let pass = attr(&auth.basic, "password").unwrap_or_default();
                let credentials = format!("{}:{}", self.resolve(&user)?, self.resolve(&pass)?);
                if credentials.replace("$${", "").contains("${") {
                    self.imported.warnings.push(format!(
                        "`{name}`: basic auth built from environment variables cannot be encoded ahead of time; the header was left out"
                    ));
                    return Ok(None);
                }
                Some((
                    "Authorization".into(),
                    basic_auth(&credentials.replace("$${", "${")),
                    false,
                ))
            }
            pm::AuthType::Apikey => {
                let key = attr(&auth.api_key, "key").unwrap_or_else(|| "X-API-Key".into());
                let value = attr(&auth.api_key, "value").unwrap_or_default();
                let in_query = attr(&auth.api_key, "in").as_deref() == Some("query");
                Some((key, self.resolve(&value)?, in_query))
            }
            ref other => {
                self.imported.warnings.push(format!(
                    "`{name}`: {other:?} auth is not supported; the request is sent without it"
                ));
                None
            }
        })
    }

    fn body(
        &mut self,
        body: &pm::Body,
        headers: &mut Vec<(String, String)>,
        name: &str,
    ) -> Result<Body, VarError> {
        Ok(match body.mode {
            Some(pm::Mode::Raw) | None => {
                let raw = body.raw.clone().unwrap_or_default();
                if raw.is_empty() {
                    return Ok(Body::None);
                }
                let language = body
                    .options
                    .as_ref()
                    .and_then(|o| o.pointer("/raw/language"))
                    .and_then(Value::as_str);
                if language == Some("json") && header(headers, "content-type").is_none() {
                    headers.push(("Content-Type".into(), "application/json".into()));
                }
                let text = self.resolve(&raw)?;
                body_from(&text, header(headers, "content-type"))
            }
            Some(pm::Mode::Urlencoded) => {
                let mut pairs = Vec::new();
                for p in body.urlencoded.iter().flatten() {
                    if p.disabled != Some(true) {
                        pairs.push((
                            p.key.clone(),
                            self.resolve(p.value.as_deref().unwrap_or(""))?,
                        ));
                    }
                }
                Body::Form(pairs)
            }
            Some(pm::Mode::Graphql) => {
                let graphql = body.graphql.clone().unwrap_or(Value::Null);
                let query = graphql.get("query").and_then(Value::as_str).unwrap_or("");
                // The variables are JSON text in which Postman
                // substitutes `{{…}}` before parsing.
                let variables = match graphql.get("variables").and_then(Value::as_str) {
                    Some(v) => {
                        serde_json::from_str::<Value>(&self.resolve(v)?).unwrap_or(Value::Null)
                    }
                    None => Value::Null,
                };
                let query = self.resolve(query)?;
                Body::Json(serde_json::json!({ "query": query, "variables": variables }))
            }
            Some(pm::Mode::Formdata) => {
                // The body draws its own boundary: a Content-Type set by
                // hand would name another.
                headers.retain(|(k, _)| !k.eq_ignore_ascii_case("content-type"));
                let mut parts = Vec::new();
                for p in body.formdata.iter().flatten() {
                    if p.disabled == Some(true) {
                        continue;
                    }
                    let key = super::vars::literal(&p.key);
                    let content_type = p.content_type.as_deref().map(super::vars::literal);
                    let files = match &p.src {
                        Some(pm::FormParameterSrcUnion::File(f)) => vec![f.clone()],
                        Some(pm::FormParameterSrcUnion::Files(list)) => list.clone(),
                        None => vec![],
                    };
                    if p.form_parameter_type.as_deref() == Some("file") {
                        for file in files {
                            if self.dir.join(&file).is_file() {
                                parts.push(super::Part {
                                    name: key.clone(),
                                    file: Some(super::vars::literal(&file)),
                                    content_type: content_type.clone(),
                                    ..Default::default()
                                });
                            } else {
                                self.imported.warnings.push(format!(
                                    "`{name}`: form field `{}` names file {file:?}, which is not \
                                     in {}: sent without it, as Postman does",
                                    p.key,
                                    self.dir.display()
                                ));
                            }
                        }
                    } else {
                        parts.push(super::Part {
                            name: key,
                            value: Some(self.resolve(p.value.as_deref().unwrap_or(""))?),
                            content_type,
                            ..Default::default()
                        });
                    }
                }
                Body::Multipart(parts)
            }
            Some(pm::Mode::File) => {
                let file = body.file.as_ref();
                match (
                    file.and_then(|f| f.src.as_ref()),
                    file.and_then(|f| f.content.as_ref()),
                ) {
                    (Some(src), _) if self.dir.join(src).is_file() => {
                        Body::File(super::vars::literal(src))
                    }
                    (_, Some(content)) => Body::Text(super::vars::literal(content)),
                    (src, None) => {
                        self.imported.warnings.push(format!(
                            "`{name}`: the body file {:?} is not in {}: sent without a body, as Postman does",
                            src.map_or("", String::as_str),
                            self.dir.display()
                        ));
                        Body::None
                    }
                }
            }
        })
    }
}

/// A URL as text: its `raw` form, or put together from its parts.
/// A raw URL without a scheme (`localhost:4042/1`) is `http://`, as
/// Postman sends it; one that starts with a variable is left to it.
fn with_scheme(url: String) -> String {
    if url.contains("://") || url.starts_with("${") {
        url
    } else {
        format!("http://{url}")
    }
}

fn url_text(url: &pm::Url) -> String {
    match url {
        pm::Url::String(s) => s.clone(),
        pm::Url::UrlClass(c) => {
            let mut text = match &c.raw {
                Some(raw) => raw.clone(),
                None => {
                    let host = match &c.host {
                        Some(pm::Host::String(h)) => h.clone(),
                        Some(pm::Host::StringArray(parts)) => parts.join("."),
                        None => String::new(),
                    };
                    let path = match &c.path {
                        Some(pm::UrlPath::String(p)) => p.trim_start_matches('/').to_owned(),
                        Some(pm::UrlPath::UnionArray(parts)) => parts
                            .iter()
                            .map(|p| match p {
                                pm::PathElement::String(s) => s.clone(),
                                pm::PathElement::PathClass(c) => {
                                    c.value.clone().unwrap_or_default()
                                }
                            })
                            .collect::<Vec<_>>()
                            .join("/"),
                        None => String::new(),
                    };
                    let scheme = c.protocol.clone().unwrap_or_else(|| "https".into());
                    let port = c.port.as_ref().map(|p| format!(":{p}")).unwrap_or_default();
                    let mut text = format!("{scheme}://{host}{port}/{path}");
                    let query: Vec<String> = c
                        .query
                        .iter()
                        .flatten()
                        .filter(|q| q.disabled != Some(true))
                        .filter_map(|q| {
                            Some(format!(
                                "{}={}",
                                q.key.as_ref()?,
                                q.value.clone().unwrap_or_default()
                            ))
                        })
                        .collect();
                    if !query.is_empty() {
                        text.push('?');
                        text.push_str(&query.join("&"));
                    }
                    text
                }
            };
            // Path variables (`/users/:id`) take their values.
            for v in c.variable.iter().flatten() {
                if let (Some(key), Some(value)) = (&v.key, &v.value) {
                    text = text.replace(&format!(":{key}"), &value_text(value));
                }
            }
            text
        }
    }
}
