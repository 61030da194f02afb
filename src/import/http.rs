//! `.http` / `.rest` files (JetBrains HTTP Client, VS Code REST Client).
//!
//! A parser of our own: the crate for the job (rest_parser 0.1.7) needs an
//! `HTTP/1.1` on every request line, which most files leave out, drops the
//! `Authorization` header, truncates `### names with spaces`, prints to
//! stdout on bad input (which would garble the workbench) and reports no
//! positions. The format is small: requests separated by `###`, `@var =
//! value` definitions, `{{var}}` uses, `#`/`//` comments, `# @name` labels,
//! a request line, headers, a blank line and a body.

use std::path::Path;

use indexmap::IndexMap;

use super::vars::{Resolved, VarError, resolve};
use super::{Imported, Request, body_from, header};
use crate::batch::BatchError;

const METHODS: &[&str] = &[
    "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE",
];

/// One request as written, its lines still raw.
#[derive(Debug, Default)]
struct Block {
    name: Option<String>,
    line: usize,
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    body: Vec<String>,
    /// Lines of the request left out, with why (a header spread).
    skipped: Vec<String>,
    /// The file's GraphQL fragments (name, text), for queries using them.
    fragments: Vec<(String, String)>,
}

/// Imports every request of an `.http` file.
pub fn import(text: &str, path: &Path) -> Result<Imported, BatchError> {
    let (blocks, variables, scripts) =
        parse(text).map_err(|(line, column, m)| BatchError::new(path, m).at(line, column))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    // A variable applies from its definition on (as JetBrains and
    // rest.nvim read it): a later `@host =` does not change the requests
    // above it.
    let at = |line: usize| {
        let variables = &variables;
        move |name: &str| {
            variables
                .get(name)?
                .iter()
                .rev()
                .find(|(defined, _)| *defined < line)
                .map(|(_, value)| value.clone())
        }
    };
    let mut imported = Imported {
        requests: Vec::new(),
        warnings: Vec::new(),
    };
    let mut from_env: Vec<String> = Vec::new();
    for block in blocks {
        let lookup = at(block.line);
        match convert(&block, &lookup, dir, path) {
            Ok((request, names)) => {
                for name in names {
                    if !from_env.contains(&name) {
                        from_env.push(name);
                    }
                }
                imported.warnings.extend(block.skipped.iter().cloned());
                imported.requests.push(request);
            }
            Err(Skip::Dynamic(dynamic)) => {
                let label = block
                    .name
                    .clone()
                    .unwrap_or_else(|| format!("{} {}", block.method, block.url));
                imported.warnings.push(format!(
                    "line {}: skipped `{label}`: `{dynamic}` is a value the editor generates, which a batch cannot",
                    block.line
                ));
            }
            Err(Skip::Unreadable(why)) => {
                let label = block
                    .name
                    .clone()
                    .unwrap_or_else(|| format!("{} {}", block.method, block.url));
                imported
                    .warnings
                    .push(format!("line {}: skipped `{label}`: {why}", block.line));
            }
            Err(Skip::Error(e)) => return Err(e),
        }
    }
    if scripts > 0 {
        imported.warnings.push(format!(
            "skipped {scripts} response handler and pre-request scripts (`{{% … %}}`): ratebench \
             sends the requests as they are written"
        ));
    }
    if !from_env.is_empty() {
        imported.warnings.push(format!(
            "variables the file does not define are read from the environment when the batch loads: {}",
            from_env.join(", ")
        ));
    }
    Ok(imported)
}

/// Why a block did not become a request.
enum Skip {
    /// It uses a value the editor generates (`{{$uuid}}`): skipped.
    Dynamic(String),
    /// Its body file cannot be read: that request is skipped, the rest
    /// import.
    Unreadable(String),
    /// The file cannot be read as a whole (a variable cycle): the import
    /// fails.
    Error(BatchError),
}

/// One block as a request, with the variables it leaves to the environment.
fn convert(
    block: &Block,
    lookup: &dyn Fn(&str) -> Option<String>,
    dir: &Path,
    path: &Path,
) -> Result<(Request, Vec<String>), Skip> {
    let mut names = Vec::new();
    let mut resolve_field = |text: &str| {
        let Resolved { text, from_env } = resolve(text, lookup).map_err(|e| match e {
            VarError::Dynamic(name) => Skip::Dynamic(name),
            e => Skip::Error(BatchError::new(path, e.to_string()).line(block.line)),
        })?;
        names.extend(from_env);
        Ok::<_, Skip>(text)
    };
    // Other protocols the editors speak (WebSocket, gRPC, MQTT, AMQP,
    // Kafka) are not HTTP requests: skipped, named.
    let scheme = block
        .url
        .split("://")
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    if block.url.contains("://")
        && !matches!(scheme.as_str(), "http" | "https")
        && !block.url.starts_with("{{")
        || matches!(
            block.method.as_str(),
            "GRPC" | "MQTT" | "AMQP" | "WS" | "WSS" | "KAFKA" | "RABBITMQ"
        )
    {
        return Err(Skip::Unreadable(format!(
            "`{} {}` is not an HTTP request",
            block.method, block.url
        )));
    }
    // httpyac puts a relative URL after the `host` variable.
    let written_url = if block.url.starts_with('/')
        && header(&block.headers, "host").is_none()
        && lookup("host").is_some()
    {
        format!("{{{{host}}}}{}", block.url)
    } else {
        block.url.clone()
    };
    let url = resolve_field(&written_url)?;
    let mut headers = Vec::new();
    for (k, v) in &block.headers {
        headers.push((k.clone(), resolve_field(v)?));
    }
    let raw_body = block.body.join("\n");
    let whole_file = match body_file(&raw_body, dir, lookup) {
        Some(Ok(BodyFile::Send(file))) => Some(file),
        Some(Ok(BodyFile::Text(text))) => {
            return finish_request(
                block,
                url,
                headers,
                resolve_field(&text).map(|t| body_from(&t, None))?,
                names,
            );
        }
        Some(Err(m)) => return Err(Skip::Unreadable(m)),
        None => None,
    };
    // GraphQL as JetBrains (`GRAPHQL`), VS Code REST Client
    // (`X-Request-Type: GraphQL`) and httpyac (a JSON POST whose body is a
    // query) write it.
    let request_type = header(&headers, "x-request-type").map(str::to_ascii_lowercase);
    headers.retain(|(k, _)| !k.eq_ignore_ascii_case("x-request-type"));
    let first_word = raw_body.split_whitespace().next().unwrap_or("");
    let graphql = block.method == "GRAPHQL"
        || request_type.as_deref() == Some("graphql")
        || (block.method == "POST"
            && header(&headers, "content-type").is_some_and(|c| c.contains("json"))
            && matches!(first_word, "query" | "mutation" | "subscription")
            || first_word.starts_with("query{"));
    let multipart = header(&headers, "content-type").and_then(boundary_of);
    let body = if let Some(file) = whole_file {
        super::Body::File(file)
    } else if let Some(boundary) = multipart
        && let Some(parts) = multipart_parts(&raw_body, &boundary, dir)
    {
        let parts = parts.map_err(Skip::Unreadable)?;
        let mut resolved = Vec::with_capacity(parts.len());
        for mut part in parts {
            if let Some(value) = &part.value {
                part.value = Some(resolve_field(value)?);
            }
            part.name = resolve_field(&part.name)?;
            resolved.push(part);
        }
        headers.retain(|(k, _)| !k.eq_ignore_ascii_case("content-type"));
        super::Body::Multipart(resolved)
    } else if graphql {
        // JetBrains' GRAPHQL: a POST of `{query, variables}` as JSON, the
        // variables an object after a blank line.
        let mut text = raw_body.clone();
        // The fragments the query spreads (`...Parts`), after it.
        for (name, fragment) in &block.fragments {
            if raw_body.contains(&format!("...{name}")) {
                let (query, rest) = split_variables(&text);
                text = format!("{query}\n\n{fragment}{rest}");
            }
        }
        graphql_body(&resolve_field(&text)?)
    } else if raw_body.trim().is_empty() {
        super::Body::None
    } else {
        body_from(&resolve_field(&raw_body)?, header(&headers, "content-type"))
    };
    finish_request(block, url, headers, body, names)
}

/// The request a block becomes, with the variables it reads.
fn finish_request(
    block: &Block,
    url: String,
    headers: Vec<(String, String)>,
    body: super::Body,
    names: Vec<String>,
) -> Result<(Request, Vec<String>), Skip> {
    let graphql = block.method == "GRAPHQL";
    let url = absolute(url, &headers);
    let request = Request {
        name: block.name.as_deref().map(super::vars::literal),
        method: if graphql {
            "POST".into()
        } else {
            block.method.clone()
        },
        url,
        headers: headers
            .into_iter()
            .filter(|(k, _)| !k.eq_ignore_ascii_case("host"))
            .collect(),
        body,
        timeout_s: None,
        line: block.line,
    };
    Ok((request, names))
}

/// A GraphQL request's body: the query, and the variables when the last
/// blank-line-separated part is a JSON object.
fn graphql_body(text: &str) -> super::Body {
    let text = text.trim();
    let (query, variables) = match text.rsplit_once("\n\n") {
        Some((query, last)) => match serde_json::from_str::<serde_json::Value>(last.trim()) {
            Ok(v @ serde_json::Value::Object(_)) => (query.trim(), Some(v)),
            _ => (text, None),
        },
        None => (text, None),
    };
    let mut body = serde_json::json!({ "query": query });
    if let Some(v) = variables {
        body["variables"] = v;
    }
    super::Body::Json(body)
}

/// What a body that is a file reference becomes.
enum BodyFile {
    /// `< ./body.bin`: the file as it is (JetBrains substitutes nothing
    /// in it), sent from disk.
    Send(String),
    /// `<@ ./body.json`: the file's text, its variables substituted.
    Text(String),
}

/// A GraphQL body split before its variables (the last blank-line
/// separated part, when it is a JSON object).
fn split_variables(text: &str) -> (&str, &str) {
    match text.trim_end().rfind("\n\n") {
        Some(at)
            if serde_json::from_str::<serde_json::Value>(text[at..].trim())
                .is_ok_and(|v| v.is_object()) =>
        {
            (&text[..at], &text[at..])
        }
        _ => (text, ""),
    }
}

/// A body that is a file reference (`< ./body.json`, `<@ ./t.json`).
fn body_file(
    body: &str,
    dir: &Path,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Option<Result<BodyFile, String>> {
    let rest = body.trim().strip_prefix('<')?;
    let (substitute, file) = match rest.strip_prefix('@') {
        // httpyac names an encoding first (`<@latin1 ./f`): read as is.
        Some(file) => match file.trim_start().split_once(char::is_whitespace) {
            Some((encoding, path))
                if !file.starts_with(char::is_whitespace) && !encoding.contains(['/', '.']) =>
            {
                (true, path.trim())
            }
            _ => (true, file.trim()),
        },
        None => (false, rest.trim()),
    };
    if file.is_empty()
        || file.contains('\n')
        || file.starts_with(['{', '%']) && !file.starts_with("{{")
    {
        return None;
    }
    // A path may use the file's variables (`< {{assetsDir}}body.json`).
    let file = match resolve(file, lookup) {
        Ok(r) if r.from_env.is_empty() => r.text.replace("$${", "${").replace("{{'{{'}}", "{{"),
        _ => {
            return Some(Err(format!(
                "the body file {file:?} names variables the file does not define"
            )));
        }
    };
    let file = file.as_str();
    let path = dir.join(file);
    if substitute {
        return Some(
            super::read_text_file(&path)
                .map(BodyFile::Text)
                .map_err(|e| format!("cannot read the body file {}: {e}", path.display())),
        );
    }
    Some(match std::fs::metadata(&path) {
        Ok(m) if m.is_file() => Ok(BodyFile::Send(super::vars::literal(file))),
        Ok(m) if m.is_dir() => Err(format!(
            "cannot read the body file {}: it is a folder, not a file",
            path.display()
        )),
        // A device such as /dev/zero would never end.
        Ok(_) => Err(format!(
            "cannot read the body file {}: it is not a regular file (a device or a socket)",
            path.display()
        )),
        Err(e) => Err(format!("cannot read the body file {}: {e}", path.display())),
    })
}

/// The boundary a `multipart/form-data` Content-Type names.
fn boundary_of(content_type: &str) -> Option<String> {
    if !content_type
        .trim()
        .to_ascii_lowercase()
        .starts_with("multipart/form-data")
    {
        return None;
    }
    content_type.split(';').find_map(|p| {
        let (k, v) = p.split_once('=')?;
        (k.trim().eq_ignore_ascii_case("boundary")).then(|| v.trim().trim_matches('"').to_owned())
    })
}

/// A multipart body written out in the file (as JetBrains' docs show,
/// a part's content may be `< ./file` to upload): its parts, or `None`
/// when it is not laid out as one (it is then sent as written). A file
/// that is not there is an error for this request.
fn multipart_parts(
    body: &str,
    boundary: &str,
    dir: &Path,
) -> Option<Result<Vec<super::Part>, String>> {
    let delimiter = format!("--{boundary}");
    let mut sections = body.split(&delimiter);
    if !sections.next()?.trim().is_empty() {
        return None;
    }
    let mut parts = Vec::new();
    for section in sections {
        if section.trim_start().starts_with("--") {
            break;
        }
        let section = section
            .strip_prefix("\r\n")
            .or_else(|| section.strip_prefix('\n'))?;
        let (head, content) = section
            .split_once("\n\n")
            .or_else(|| section.split_once("\r\n\r\n"))?;
        let mut part = super::Part::default();
        let mut named = false;
        for line in head.lines() {
            let (k, v) = line.split_once(':')?;
            if k.trim().eq_ignore_ascii_case("content-disposition") {
                for param in v.split(';').skip(1) {
                    let (pk, pv) = param.split_once('=')?;
                    let pv = pv.trim().trim_matches('"').to_owned();
                    match pk.trim() {
                        "name" => {
                            part.name = pv;
                            named = true;
                        }
                        "filename" => part.filename = Some(super::vars::literal(&pv)),
                        _ => {}
                    }
                }
            } else if k.trim().eq_ignore_ascii_case("content-type") {
                part.content_type = Some(super::vars::literal(v.trim()));
            }
        }
        if !named {
            return None;
        }
        let content = content.strip_suffix('\n').unwrap_or(content);
        let content = content.strip_suffix('\r').unwrap_or(content);
        match content.trim().strip_prefix('<') {
            Some(file) if !file.contains('\n') && !file.trim().is_empty() => {
                let file = file.trim_start_matches('@').trim();
                if !dir.join(file).is_file() {
                    return Some(Err(format!(
                        "cannot read {} (a part of the multipart body)",
                        dir.join(file).display()
                    )));
                }
                part.file = Some(super::vars::literal(file));
            }
            _ => part.value = Some(content.to_owned()),
        }
        parts.push(part);
    }
    Some(Ok(parts))
}

/// A URL written as a path takes its host from the `Host` header.
fn absolute(url: String, headers: &[(String, String)]) -> String {
    if url.contains("://") || url.starts_with("${") {
        return url;
    }
    match (url.starts_with('/'), header(headers, "host")) {
        // A Host header may carry its scheme (`Host: https://h`).
        (true, Some(host)) if host.contains("://") => {
            format!("{}{url}", host.trim_end_matches('/'))
        }
        (true, Some(host)) => format!("http://{host}{url}"),
        // A path alone stays relative, so `--base-url` applies.
        (true, None) => url,
        _ => format!("http://{url}"),
    }
}

/// The requests, each variable's definitions with their lines, and how
/// many scripts (`> {% … %}`, `< {% … %}`) were skipped.
type Parsed = (Vec<Block>, IndexMap<String, Vec<(usize, String)>>, usize);

/// An error at a line and column.
type LineError = (usize, usize, String);

/// Where the reader is in a request.
#[derive(PartialEq)]
enum Part {
    /// Between requests: comments, variables, then a request line.
    Before,
    Headers,
    Body,
}

/// Splits the file into requests and file variables; an error is a line,
/// a column and a message.
fn parse(text: &str) -> Result<Parsed, LineError> {
    let mut blocks = Vec::new();
    let mut variables = IndexMap::new();
    let mut block = Block::default();
    let mut part = Part::Before;
    let mut pending_name: Option<String> = None;
    // Inside a script (`> {%` or `< {%` up to `%}`): the editor's, skipped.
    let mut in_script = false;
    let mut scripts = 0;
    let mut extras = Extras::default();
    for (i, raw) in text.lines().enumerate() {
        let number = i + 1;
        let line = raw.trim_end_matches('\r');
        let trimmed = line.trim();
        if in_script {
            in_script = !trimmed.contains("%}");
            continue;
        }
        if extras.takes(line, part == Part::Before, &mut scripts) {
            continue;
        }
        if let Some(script) = trimmed
            .strip_prefix("> {%")
            .or_else(|| trimmed.strip_prefix("< {%"))
        {
            scripts += 1;
            in_script = !script.contains("%}");
            // A response handler ends the request's body; a pre-request
            // script comes before its request line.
            if part == Part::Body && trimmed.starts_with('>') {
                part = Part::Before;
                finish(&mut block, &mut blocks);
            }
            continue;
        }
        if let Some(rest) = trimmed.strip_prefix("###") {
            finish(&mut block, &mut blocks);
            part = Part::Before;
            let name = rest.trim();
            pending_name = (!name.is_empty()).then(|| name.to_owned());
            continue;
        }
        match part {
            Part::Before => {
                if let Some(started) = between(line, number, &mut pending_name, &mut variables)? {
                    block = started;
                    part = Part::Headers;
                }
            }
            Part::Headers if trimmed.is_empty() => part = Part::Body,
            // httpyac: a request line right after another starts the next
            // request; a body may start without the blank line (`{`, `[`,
            // `<`, a file reference).
            Part::Headers if next_request(trimmed) && !trimmed.contains(": ") => {
                finish(&mut block, &mut blocks);
                if let Some(started) = between(line, number, &mut pending_name, &mut variables)? {
                    block = started;
                }
            }
            Part::Headers if trimmed.starts_with(['{', '[', '<']) => {
                part = Part::Body;
                block.body.push(line.to_owned());
            }
            Part::Headers if trimmed.starts_with("...") => {
                block.skipped.push(format!(
                    "line {number}: skipped `{trimmed}`: headers spread from a script"
                ));
            }
            Part::Headers => header_line(line, trimmed, number, &mut block)?,
            // httpyac's style: a request line after a blank line starts
            // the next request without `###`.
            Part::Body
                if block.body.last().is_none_or(|l| l.trim().is_empty())
                    && next_request(trimmed) =>
            {
                finish(&mut block, &mut blocks);
                if let Some(started) = between(line, number, &mut pending_name, &mut variables)? {
                    block = started;
                    part = Part::Headers;
                }
            }
            Part::Body => {
                // A response handler (`> {% … %}`, `> file.js`) or response
                // reference (`<> file`) ends the body; it is the editor's.
                if trimmed.starts_with("> ")
                    || trimmed.starts_with(">>")
                    || trimmed.starts_with("<>")
                {
                    part = Part::Before;
                    finish(&mut block, &mut blocks);
                    continue;
                }
                block.body.push(line.to_owned());
            }
        }
    }
    finish(&mut block, &mut blocks);
    let fragments = extras.fragments();
    for block in &mut blocks {
        block.fragments = fragments.clone();
    }
    Ok((blocks, variables, scripts))
}

/// Whether a line in a body is rather the next request's line: a
/// standard method, a space, and a URL or path.
fn next_request(trimmed: &str) -> bool {
    let Some((method, rest)) = trimmed.split_once(' ') else {
        return false;
    };
    let target = rest.trim_start();
    METHODS.contains(&method)
        && (target.starts_with("http://")
            || target.starts_with("https://")
            || target.starts_with('/')
            || target.starts_with("{{"))
}

/// What httpyac writes between requests besides them: `/* … */`
/// comments and `{{ … }}` script blocks (skipped), GraphQL `fragment`s
/// (kept for the queries that spread them).
#[derive(Default)]
struct Extras {
    in_comment: bool,
    in_js: bool,
    fragment: Option<(String, Vec<String>)>,
    fragments: Vec<(String, String)>,
}

impl Extras {
    /// Whether `line` is one of these (and taken); `between` says the
    /// reader is between requests, where they start.
    fn takes(&mut self, line: &str, between: bool, scripts: &mut usize) -> bool {
        let trimmed = line.trim();
        if self.in_comment {
            self.in_comment = !trimmed.contains("*/");
            return true;
        }
        if self.in_js {
            self.in_js = trimmed != "}}";
            return true;
        }
        if let Some((_, lines)) = self.fragment.as_mut() {
            if trimmed.is_empty() {
                let (name, lines) = self.fragment.take().expect("a fragment");
                self.fragments.push((name, lines.join("\n")));
            } else {
                lines.push(line.to_owned());
            }
            return true;
        }
        if !between {
            return false;
        }
        if trimmed.starts_with("/*") {
            self.in_comment = !trimmed.contains("*/");
            return true;
        }
        if trimmed.starts_with("{{") && !trimmed.contains("}}") {
            *scripts += 1;
            self.in_js = true;
            return true;
        }
        if let Some(rest) = trimmed
            .strip_prefix("fragment ")
            .filter(|r| r.contains(" on "))
        {
            let name = rest.split_whitespace().next().unwrap_or("").to_owned();
            self.fragment = Some((name, vec![line.to_owned()]));
            return true;
        }
        false
    }

    /// The fragments read, a last one unfinished at the end included.
    fn fragments(mut self) -> Vec<(String, String)> {
        if let Some((name, lines)) = self.fragment.take() {
            self.fragments.push((name, lines.join("\n")));
        }
        self.fragments
    }
}

/// Ends the request being read, if there is one: trailing blank lines of
/// its body go.
fn finish(block: &mut Block, blocks: &mut Vec<Block>) {
    let mut done = std::mem::take(block);
    if done.method.is_empty() {
        return;
    }
    while done.body.last().is_some_and(|l| l.trim().is_empty()) {
        done.body.pop();
    }
    blocks.push(done);
}

/// A line between requests: a comment (`# @name` names the next request),
/// a variable definition, or the request line that starts a request.
fn between(
    line: &str,
    number: usize,
    pending_name: &mut Option<String>,
    variables: &mut IndexMap<String, Vec<(usize, String)>>,
) -> Result<Option<Block>, LineError> {
    let trimmed = line.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    if let Some(comment) = trimmed
        .strip_prefix('#')
        .or_else(|| trimmed.strip_prefix("//"))
    {
        let comment = comment.trim();
        if let Some(name) = comment.strip_prefix("@name") {
            let name = name.trim_start_matches([' ', '=']).trim();
            if !name.is_empty() {
                *pending_name = Some(name.to_owned());
            }
        }
        return Ok(None);
    }
    if let Some(def) = trimmed.strip_prefix('@') {
        let Some((name, value)) = def.split_once('=') else {
            return Err((
                number,
                1,
                format!("expected a variable definition `@name = value`, found {trimmed:?}"),
            ));
        };
        variables
            .entry(name.trim().to_owned())
            .or_default()
            .push((number, value.trim().to_owned()));
        return Ok(None);
    }
    let (method, url) =
        request_line(trimmed).map_err(|m| (number, line.len() - line.trim_start().len() + 1, m))?;
    Ok(Some(Block {
        name: pending_name.take(),
        line: number,
        method,
        url,
        ..Block::default()
    }))
}

/// A line among a request's headers (not blank): a header, a comment, or
/// the query continued on its own line.
fn header_line(
    line: &str,
    trimmed: &str,
    number: usize,
    block: &mut Block,
) -> Result<(), LineError> {
    let indented = line.starts_with([' ', '\t']);
    if block.headers.is_empty()
        && (trimmed.starts_with('?')
            || trimmed.starts_with('&')
            || (indented && trimmed.starts_with('/')))
    {
        // The URL continued on its own (indented) lines, as JetBrains
        // allows: `    /api`, `    ?id=1`, `    &page=2`.
        block.url.push_str(trimmed);
    } else if trimmed.starts_with('#') || trimmed.starts_with("//") {
    } else if let Some((name, value)) = trimmed.split_once(':') {
        let name = name.trim();
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err((
                number,
                1,
                format!("expected a header `Name: value`, found {trimmed:?}"),
            ));
        }
        block
            .headers
            .push((name.to_owned(), value.trim().to_owned()));
    } else {
        return Err((
            number,
            1,
            format!(
                "expected a header `Name: value` (or a blank line before the body), found {trimmed:?}"
            ),
        ));
    }
    Ok(())
}

/// `METHOD URL [HTTP/1.1]` or a bare URL (GET).
/// An upper-case word that can be a method (`PURGE`, `GRAPHQL`).
fn is_method_token(word: &str) -> bool {
    !word.is_empty() && word.chars().all(|c| c.is_ascii_uppercase())
}

fn request_line(line: &str) -> Result<(String, String), String> {
    let words = words_outside_placeholders(line);
    let version = |w: &str| w.to_ascii_uppercase().starts_with("HTTP/");
    match words.as_slice() {
        [method] if METHODS.contains(method) => Err(format!("expected a URL after `{method}`")),
        [url] => Ok(("GET".into(), (*url).to_owned())),
        [first, url] if version(url) => Ok(("GET".into(), (*first).to_owned())),
        // Any method token (`PURGE`, JetBrains' `GRAPHQL`): the batch's own
        // check names a typo of a standard one.
        [method, url] | [method, url, _] if METHODS.contains(method) || is_method_token(method) => {
            if let [_, _, v] = words.as_slice()
                && !version(v)
            {
                return Err(format!(
                    "expected `HTTP/1.1` or nothing after the URL, found {v:?}"
                ));
            }
            Ok(((*method).to_owned(), (*url).to_owned()))
        }
        [method, ..]
            if method.chars().all(|c| c.is_ascii_alphabetic()) && !method.contains('.') =>
        {
            Err(format!(
                "unknown method `{method}`: expected one of {} followed by a URL",
                METHODS.join(", ")
            ))
        }
        _ => Err(format!(
            "expected a request line `METHOD URL`, found {line:?}"
        )),
    }
}

/// The line's words, a `{{…}}` (which may hold spaces:
/// `{{$processEnv USER}}`) kept within its word.
fn words_outside_placeholders(line: &str) -> Vec<&str> {
    let mut words = Vec::new();
    let mut start = None;
    let mut depth = 0usize;
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if line[i..].starts_with("{{") {
            depth += 1;
            start.get_or_insert(i);
            i += 2;
            continue;
        }
        if depth > 0 && line[i..].starts_with("}}") {
            depth -= 1;
            i += 2;
            continue;
        }
        let c = bytes[i];
        if c.is_ascii_whitespace() && depth == 0 {
            if let Some(s) = start.take() {
                words.push(&line[s..i]);
            }
        } else {
            start.get_or_insert(i);
        }
        i += 1;
    }
    if let Some(s) = start {
        words.push(&line[s..]);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_lines_with_and_without_method_and_version() {
        assert_eq!(
            request_line("GET https://h/x?u={{$processEnv USER}} HTTP/1.1").unwrap(),
            ("GET".into(), "https://h/x?u={{$processEnv USER}}".into())
        );
        assert_eq!(
            request_line("https://a/x").unwrap(),
            ("GET".into(), "https://a/x".into())
        );
        assert_eq!(
            request_line("POST {{host}}/x HTTP/1.1").unwrap(),
            ("POST".into(), "{{host}}/x".into())
        );
        assert_eq!(
            request_line("PURGE /x").unwrap(),
            ("PURGE".into(), "/x".into()),
            "any method token"
        );
        assert!(
            request_line("Fetch /x")
                .unwrap_err()
                .contains("unknown method `Fetch`")
        );
    }
}
