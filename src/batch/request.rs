//! A fully resolved request: what the engine sends, built from an entry and
//! one set of `for_each` bindings.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::Method;
use http::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;
use url::Url;

use super::model::{BodySpec, EntrySpec};
use super::template::{Generate, MAX_RENDERED, RenderError, render};
use super::upload::{FIXED_BOUNDARY, Part, PartContent, Upload, fresh_boundary};

/// One request, ready to send. Cheap to clone for retries (the body is
/// reference-counted).
#[derive(Debug, Clone)]
pub struct RequestSpec {
    /// Position in the expanded batch (0-based); joins results to input rows.
    pub index: u64,
    /// Label for reports, from the entry's `name`.
    pub name: Option<String>,
    pub method: Method,
    pub url: Url,
    pub headers: HeaderMap,
    pub body: Option<Body>,
    /// Per-request timeout; `None` means the batch default.
    pub timeout: Option<Duration>,
}

/// What a request sends: bytes, or a body read from files as it goes.
#[derive(Debug, Clone)]
pub enum Body {
    Bytes(Bytes),
    Upload(Arc<Upload>),
}

impl Body {
    /// The bytes of a body held in memory (`None` for an upload).
    pub fn bytes(&self) -> Option<&Bytes> {
        match self {
            Body::Bytes(b) => Some(b),
            Body::Upload(_) => None,
        }
    }

    /// The body as text for a person: bytes as UTF-8 (lossy), an upload
    /// with its files named instead of their contents.
    pub fn describe(&self) -> String {
        match self {
            Body::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
            Body::Upload(u) => u.describe(),
        }
    }
}

impl From<String> for Body {
    fn from(text: String) -> Self {
        Body::Bytes(Bytes::from(text))
    }
}

impl RequestSpec {
    /// The body's bytes when it is held in memory (not an upload).
    pub fn body_bytes(&self) -> Option<&[u8]> {
        self.body.as_ref().and_then(Body::bytes).map(|b| &b[..])
    }
}

impl From<Bytes> for Body {
    fn from(bytes: Bytes) -> Self {
        Body::Bytes(bytes)
    }
}

/// Variable bindings of one expanded request, in `for_each` order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Bindings(pub Vec<(Arc<str>, String)>);

impl Bindings {
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| &**k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Batch-wide values every request inherits.
#[derive(Debug, Clone, Default)]
pub(crate) struct Defaults {
    pub base_url: Option<String>,
    pub headers: Vec<(String, String)>,
    /// The batch file's folder: upload paths are relative to it.
    pub dir: std::path::PathBuf,
}

/// The longest URL sent (the `http` crate's limit on a URI).
pub const MAX_URL_LEN: usize = u16::MAX as usize - 1;

/// Builds the request for `entry` under `vars`; the error says which field
/// failed and why.
pub(crate) fn build(
    index: u64,
    entry: &EntrySpec,
    defaults: &Defaults,
    vars: &Bindings,
    generate: Generate,
) -> Result<RequestSpec, (String, String)> {
    let fill = |field: &str, text: &str| {
        render(text, |n| vars.get(n), generate).map_err(|e| {
            let name = match e {
                RenderError::Unknown(name) => name,
                RenderError::Function(message) => return (field.to_owned(), message),
                RenderError::TooLarge(name) => {
                    return (
                        field.to_owned(),
                        format!(
                            "filled with `{{{{{name}}}}}` the text grows past {} MB: expected a \
                             value under that",
                            MAX_RENDERED >> 20
                        ),
                    );
                }
            };
            let why = if vars.0.is_empty() {
                "the entry has no `for_each`".to_owned()
            } else {
                let known: Vec<&str> = vars.0.iter().map(|(k, _)| &**k).collect();
                format!("known variables: {}", known.join(", "))
            };
            (
                field.to_owned(),
                format!("unknown placeholder `{{{{{name}}}}}` ({why})"),
            )
        })
    };

    let raw_url = fill("url", &entry.url)?;
    let mut url =
        resolve_url(defaults.base_url.as_deref(), &raw_url).map_err(|m| ("url".to_owned(), m))?;
    if !entry.params.is_empty() {
        let mut rendered = Vec::with_capacity(entry.params.len());
        for (k, v) in &entry.params {
            rendered.push((fill("params", k)?, fill("params", v)?));
        }
        url.query_pairs_mut().extend_pairs(rendered);
    }
    // The HTTP stack takes URIs up to 65,534 bytes; a longer one would
    // fail every send at run time.
    if url.as_str().len() > MAX_URL_LEN {
        return Err((
            "url".to_owned(),
            format!(
                "the URL is {} bytes long, more than the {MAX_URL_LEN} bytes HTTP here accepts: \
                 send the data in a body instead",
                url.as_str().len()
            ),
        ));
    }

    let mut headers = HeaderMap::new();
    for (field, list) in [("headers", &defaults.headers), ("headers", &entry.headers)] {
        for (k, v) in list {
            let mut name = fill(field, k)?;
            if generate == Generate::Calls && name.contains("{{") {
                // A generated name (`{{uuid()}}`) is checked as the token
                // it will be.
                name = name.replace(|c: char| !c.is_ascii_alphanumeric(), "-");
            }
            let name = HeaderName::from_bytes(name.trim().as_bytes())
                .map_err(|_| (field.to_owned(), format!("invalid header name {k:?}")))?;
            let value = HeaderValue::from_str(&fill(field, v)?)
                .map_err(|_| (field.to_owned(), format!("invalid value for header `{k}`")))?;
            headers.insert(name, value);
        }
    }

    let body = body(entry, defaults, &mut headers, &fill, generate)?;

    Ok(RequestSpec {
        index,
        name: entry.name.as_deref().map(|n| fill("name", n)).transpose()?,
        method: entry.method.clone(),
        url,
        headers,
        body,
        timeout: entry.timeout,
    })
}

/// The entry's body, and the Content-Type it needs where the entry set
/// none (a multipart body's replaces any: its boundary is this body's).
fn body(
    entry: &EntrySpec,
    defaults: &Defaults,
    headers: &mut HeaderMap,
    fill: &Fill<'_>,
    generate: Generate,
) -> Result<Option<Body>, (String, String)> {
    Ok(match &entry.body {
        BodySpec::None => None,
        BodySpec::Text(text) => Some(Bytes::from(fill("body", text)?).into()),
        BodySpec::Json(json) => {
            let rendered = render_json(json, &fill)?;
            headers
                .entry(CONTENT_TYPE)
                .or_insert(HeaderValue::from_static("application/json"));
            Some(
                Bytes::from(serde_json::to_vec(&rendered).expect("a Value always serialises"))
                    .into(),
            )
        }
        BodySpec::Form(pairs) => {
            let mut ser = url::form_urlencoded::Serializer::new(String::new());
            for (k, v) in pairs {
                ser.append_pair(&fill("form", k)?, &fill("form", v)?);
            }
            headers
                .entry(CONTENT_TYPE)
                .or_insert(HeaderValue::from_static(
                    "application/x-www-form-urlencoded",
                ));
            Some(Bytes::from(ser.finish()).into())
        }
        BodySpec::Multipart(specs) => {
            let mut parts = Vec::with_capacity(specs.len());
            for p in specs {
                let opt = |field: &str, v: &Option<String>| {
                    v.as_deref().map(|v| fill(field, v)).transpose()
                };
                let content = match (&p.value, &p.file) {
                    (Some(value), _) => PartContent::Text(fill("multipart", value)?),
                    (None, Some(file)) => {
                        PartContent::File(upload_path(defaults, &fill("multipart", file)?)?)
                    }
                    (None, None) => unreachable!("the model requires a value or a file"),
                };
                parts.push(Part {
                    name: fill("multipart", &p.name)?,
                    filename: opt("multipart", &p.filename)?,
                    content_type: opt("multipart", &p.content_type)?,
                    content,
                });
            }
            let boundary = match generate {
                Generate::Values => fresh_boundary(),
                Generate::Calls => FIXED_BOUNDARY.to_owned(),
            };
            let upload = Upload::Multipart { boundary, parts };
            // The boundary is this body's: a Content-Type the batch set
            // (a recording's, with its own boundary) would not match it.
            let ct = upload.content_type().expect("a multipart body has a type");
            headers.insert(
                CONTENT_TYPE,
                HeaderValue::from_str(&ct).expect("a boundary is a valid header value"),
            );
            Some(Body::Upload(Arc::new(upload)))
        }
        BodySpec::File(file) => {
            let path = upload_path(defaults, &fill("body_file", file)?)
                .map_err(|(_, m)| ("body_file".to_owned(), m))?;
            Some(Body::Upload(Arc::new(Upload::File(path))))
        }
    })
}

/// An upload's file, relative to the batch file's folder: it must be a
/// regular file now (a device such as `/dev/zero` would never end).
fn upload_path(defaults: &Defaults, file: &str) -> Result<std::path::PathBuf, (String, String)> {
    let path = defaults.dir.join(file);
    match std::fs::metadata(&path) {
        Ok(m) if m.is_file() => Ok(path),
        Ok(_) => Err((
            "multipart".to_owned(),
            format!(
                "{} is not a regular file: expected a file to upload",
                path.display()
            ),
        )),
        Err(e) => Err((
            "multipart".to_owned(),
            format!("cannot read {}: {e}", path.display()),
        )),
    }
}

type Fill<'a> = dyn Fn(&str, &str) -> Result<String, (String, String)> + 'a;

fn render_json(value: &Value, fill: &Fill<'_>) -> Result<Value, (String, String)> {
    Ok(match value {
        Value::String(s) => Value::String(fill("json", s)?),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| render_json(v, fill))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), render_json(v, fill)?)))
                .collect::<Result<_, (String, String)>>()?,
        ),
        other => other.clone(),
    })
}

/// Joins a request URL to the base URL the way httpx does: an absolute URL
/// stands alone; otherwise the path is appended to the base's path (so
/// `http://h/api` + `/items` is `http://h/api/items`).
pub(crate) fn resolve_url(base: Option<&str>, url: &str) -> Result<Url, String> {
    let url = url.trim();
    // Absolute when it starts with a scheme: "://" in a query
    // (`/to?at=http://x`) does not make a URL absolute.
    let absolute = url
        .find("://")
        .is_some_and(|i| !url[..i].contains(['/', '?', '#']));
    let joined = if absolute {
        url.to_owned()
    } else {
        let base = base.ok_or_else(|| {
            format!("relative URL {url:?} needs a base URL: set `base_url` in the batch file or pass --base-url")
        })?;
        format!(
            "{}/{}",
            base.trim_end_matches('/'),
            url.trim_start_matches('/')
        )
    };
    let parsed = Url::parse(&joined).map_err(|e| format!("invalid URL {joined:?}: {e}"))?;
    match parsed.scheme() {
        "http" | "https" => Ok(parsed),
        other => Err(format!(
            "unsupported URL scheme `{other}` in {joined:?}: expected http or https"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_in_a_relative_urls_query_keeps_it_relative() {
        let url = resolve_url(Some("http://h:1/api"), "/to?at=http://x/y").unwrap();
        assert_eq!(url.as_str(), "http://h:1/api/to?at=http://x/y");
        let url = resolve_url(None, "https://x/y?back=http://z").unwrap();
        assert_eq!(url.as_str(), "https://x/y?back=http://z");
    }

    #[test]
    fn url_joining_follows_httpx() {
        let base = Some("http://h:1/api/");
        assert_eq!(
            resolve_url(base, "/items").unwrap().as_str(),
            "http://h:1/api/items"
        );
        assert_eq!(
            resolve_url(Some("http://h:1/api"), "items?a=1")
                .unwrap()
                .as_str(),
            "http://h:1/api/items?a=1"
        );
        assert_eq!(
            resolve_url(base, "https://x.org/y").unwrap().as_str(),
            "https://x.org/y"
        );
        assert!(
            resolve_url(None, "/items")
                .unwrap_err()
                .contains("needs a base URL")
        );
        assert!(
            resolve_url(None, "ftp://x/y")
                .unwrap_err()
                .contains("unsupported URL scheme")
        );
    }
}
