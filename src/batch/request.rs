//! A fully resolved request: what the engine sends, built from an entry and
//! one set of `for_each` bindings.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, Url};
use serde_json::Value;

use super::model::{BodySpec, EntrySpec};
use super::template::{MAX_RENDERED, RenderError, render};

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
    pub body: Option<Bytes>,
    /// Per-request timeout; `None` means the batch default.
    pub timeout: Option<Duration>,
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
) -> Result<RequestSpec, (String, String)> {
    let fill = |field: &str, text: &str| {
        render(text, |n| vars.get(n)).map_err(|e| {
            let name = match e {
                RenderError::Unknown(name) => name,
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
            let name = HeaderName::from_bytes(k.trim().as_bytes())
                .map_err(|_| (field.to_owned(), format!("invalid header name {k:?}")))?;
            let value = HeaderValue::from_str(&fill(field, v)?)
                .map_err(|_| (field.to_owned(), format!("invalid value for header `{k}`")))?;
            headers.insert(name, value);
        }
    }

    let body = match &entry.body {
        BodySpec::None => None,
        BodySpec::Text(text) => Some(Bytes::from(fill("body", text)?)),
        BodySpec::Json(json) => {
            let rendered = render_json(json, &fill)?;
            headers
                .entry(CONTENT_TYPE)
                .or_insert(HeaderValue::from_static("application/json"));
            Some(Bytes::from(
                serde_json::to_vec(&rendered).expect("a Value always serialises"),
            ))
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
            Some(Bytes::from(ser.finish()))
        }
    };

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
    let joined = if url.contains("://") {
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
