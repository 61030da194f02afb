//! A batch file's `coalesce` section: how item requests become batch-API
//! calls, where each item's result sits in the answer, and how to poll an
//! asynchronous job until it is done. Paths into answers are simple JSON
//! paths: `$`, `$.field`, `$.a.b[0]`.

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

/// How items are sent together and their results found.
#[derive(Debug, Clone, PartialEq)]
pub struct CoalesceSpec {
    /// The batch endpoint, resolved against the base URL.
    pub url: url::Url,
    pub method: http::Method,
    /// Most items in one call.
    pub max_items: usize,
    /// With arrivals: a call goes when full or when its oldest item has
    /// waited this long, whichever first (`None`: at once).
    pub window: Option<Duration>,
    pub body: BodyShape,
    /// Where the array of per-item results is in the final answer.
    pub items: JsonPath,
    pub matching: Matching,
    pub poll: Option<PollSpec>,
}

/// How item payloads become the batch call's body. An item's payload is
/// its JSON body, or else its query parameters as an object.
#[derive(Debug, Clone, PartialEq)]
pub enum BodyShape {
    /// A JSON array of the payloads.
    JsonArray,
    /// This text with `{{items}}` replaced by that array.
    Template(String),
}

/// How results map back to items.
#[derive(Debug, Clone, PartialEq)]
pub enum Matching {
    /// The n-th result is the n-th item's.
    Index,
    /// A result belongs to the item whose payload field `item` equals the
    /// result's value at `result`.
    Key { result: JsonPath, item: String },
}

/// How to recognise a pending job and ask again.
#[derive(Debug, Clone, PartialEq)]
pub struct PollSpec {
    /// The answer is pending while the value at this path equals `value`.
    pub when: (JsonPath, Value),
    /// Where the job id is in the pending answer.
    pub id: JsonPath,
    /// The poll URL, with `{{id}}` replaced (relative to the batch URL).
    pub url: String,
    pub interval: Duration,
    pub timeout: Duration,
}

/// A path like `$.results[0].id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonPath(Vec<Step>);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Field(String),
    Index(usize),
}

impl JsonPath {
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = |why: &str| {
            format!("invalid path {text:?}: {why} (paths look like $.items or $.a[0].b)")
        };
        let rest = text
            .trim()
            .strip_prefix('$')
            .ok_or_else(|| bad("it must start with $"))?;
        let mut steps = Vec::new();
        let mut chars = rest.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '.' => {
                    let mut name = String::new();
                    while let Some(&c) = chars.peek() {
                        if c == '.' || c == '[' {
                            break;
                        }
                        name.push(c);
                        chars.next();
                    }
                    if name.is_empty() {
                        return Err(bad("a field name is missing"));
                    }
                    steps.push(Step::Field(name));
                }
                '[' => {
                    let digits: String = chars.by_ref().take_while(|c| *c != ']').collect();
                    let n = digits.parse().map_err(|_| bad("expected [NUMBER]"))?;
                    steps.push(Step::Index(n));
                }
                _ => return Err(bad("expected . or [")),
            }
        }
        Ok(Self(steps))
    }

    /// The value at this path, if there is one.
    pub fn get<'v>(&self, mut value: &'v Value) -> Option<&'v Value> {
        for step in &self.0 {
            value = match step {
                Step::Field(name) => value.get(name)?,
                Step::Index(i) => value.get(*i)?,
            };
        }
        Some(value)
    }
}

/// The section as written in the file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCoalesce {
    pub url: String,
    #[serde(default)]
    pub method: Option<String>,
    #[serde(default)]
    pub max_items: Option<usize>,
    #[serde(default)]
    pub window: Option<String>,
    #[serde(default)]
    pub body: Option<RawBody>,
    #[serde(default)]
    pub result: Option<RawResult>,
    #[serde(default)]
    pub poll: Option<RawPoll>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum RawBody {
    Shape(String),
    Template { template: String },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawResult {
    #[serde(default)]
    pub items: Option<String>,
    #[serde(default, rename = "match")]
    pub matching: Option<RawMatch>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum RawMatch {
    Index(String),
    Key { result: String, item: String },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPoll {
    pub when: serde_json::Map<String, Value>,
    pub id: String,
    pub url: String,
    #[serde(default)]
    pub interval: Option<String>,
    #[serde(default)]
    pub timeout: Option<String>,
}

/// Items per call when the file does not say.
pub const DEFAULT_MAX_ITEMS: usize = 50;

impl RawCoalesce {
    /// Validates the section; `base` resolves a relative `url`.
    pub(crate) fn resolve(self, base: Option<&str>) -> Result<CoalesceSpec, String> {
        let url = super::request::resolve_url(base, &self.url).map_err(|e| format!("url: {e}"))?;
        let method = match self.method.as_deref() {
            None => http::Method::POST,
            Some(m) => m
                .parse()
                .map_err(|_| format!("method: {m:?} is not an HTTP method"))?,
        };
        let max_items = self.max_items.unwrap_or(DEFAULT_MAX_ITEMS);
        if max_items == 0 {
            return Err("max_items: expected at least 1".into());
        }
        let body = match self.body {
            None => BodyShape::JsonArray,
            Some(RawBody::Shape(s)) if s == "json_array" => BodyShape::JsonArray,
            Some(RawBody::Shape(s)) => {
                return Err(format!(
                    "body: {s:?} is not known (expected \"json_array\" or {{\"template\": \"...{{{{items}}}}...\"}})"
                ));
            }
            Some(RawBody::Template { template }) if template.contains("{{items}}") => {
                BodyShape::Template(template)
            }
            Some(RawBody::Template { .. }) => {
                return Err("body: the template must contain {{items}}".into());
            }
        };
        let (items, matching) = match self.result {
            None => (JsonPath(vec![]), Matching::Index),
            Some(r) => {
                let items = JsonPath::parse(r.items.as_deref().unwrap_or("$"))
                    .map_err(|e| format!("result.items: {e}"))?;
                let matching = match r.matching {
                    None => Matching::Index,
                    Some(RawMatch::Index(s)) if s == "index" => Matching::Index,
                    Some(RawMatch::Index(s)) => {
                        return Err(format!(
                            "result.match: {s:?} is not known (expected \"index\" or {{\"result\": PATH, \"item\": FIELD}})"
                        ));
                    }
                    Some(RawMatch::Key { result, item }) => Matching::Key {
                        result: JsonPath::parse(&result)
                            .map_err(|e| format!("result.match.result: {e}"))?,
                        item,
                    },
                };
                (items, matching)
            }
        };
        let poll = self
            .poll
            .map(|p| -> Result<PollSpec, String> {
                let mut when = p.when.into_iter();
                let (path, value) = match (when.next(), when.next()) {
                    (Some(pair), None) => pair,
                    _ => {
                        return Err(
                            "poll.when: expected one field, e.g. {\"status\": \"pending\"}".into(),
                        );
                    }
                };
                let duration = |what: &str, text: Option<String>, default: Duration| {
                    text.map_or(Ok(default), |t| {
                        humantime::parse_duration(&t).map_err(|_| {
                            format!("poll.{what}: expected a duration like \"200ms\", got {t:?}")
                        })
                    })
                };
                Ok(PollSpec {
                    when: (
                        JsonPath::parse(&format!("$.{path}"))
                            .map_err(|e| format!("poll.when: {e}"))?,
                        value,
                    ),
                    id: JsonPath::parse(&p.id).map_err(|e| format!("poll.id: {e}"))?,
                    url: p.url,
                    interval: duration("interval", p.interval, Duration::from_millis(200))?,
                    timeout: duration("timeout", p.timeout, Duration::from_secs(60))?,
                })
            })
            .transpose()?;
        Ok(CoalesceSpec {
            url,
            method,
            max_items,
            window: self
                .window
                .as_deref()
                .map(super::model::parse_duration)
                .transpose()
                .map_err(|e| format!("window: {e}"))?,
            body,
            items,
            matching,
            poll,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_find_values() {
        let v = json!({"a": {"b": [10, {"c": "x"}]}});
        assert_eq!(JsonPath::parse("$").unwrap().get(&v), Some(&v));
        assert_eq!(
            JsonPath::parse("$.a.b[1].c").unwrap().get(&v),
            Some(&json!("x"))
        );
        assert_eq!(JsonPath::parse("$.a.z").unwrap().get(&v), None);
        for bad in ["a.b", "$.", "$[x]", "$..a", "$a"] {
            assert!(JsonPath::parse(bad).is_err(), "{bad}");
        }
    }
}
