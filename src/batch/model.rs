//! The batch file's shape as serde sees it.
//!
//! Validation happens *inside* deserialization (`TryFrom` on the raw forms),
//! so serde_json attaches the line and column of the offending entry to
//! every error, and `serde_path_to_error` names the entry and field.

use std::time::Duration;

use http::Method;
use indexmap::IndexMap;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::template::substitute_env;
use crate::model::Limit;

/// The JSON-object batch form: settings plus `requests`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBatch {
    #[serde(default, deserialize_with = "de_env_string_opt")]
    pub base_url: Option<String>,
    #[serde(default, deserialize_with = "de_env_headers")]
    pub headers: Vec<(String, String)>,
    #[serde(default, deserialize_with = "de_timeout_opt")]
    pub timeout: Option<Duration>,
    #[serde(default, deserialize_with = "de_duration_opt")]
    pub max_wait: Option<Duration>,
    #[serde(default)]
    pub max_at_once: Option<Limit<u64>>,
    #[serde(default)]
    pub per_second: Option<Limit<f64>>,
    #[serde(default, deserialize_with = "de_burst_opt")]
    pub burst: Option<u32>,
    #[serde(default)]
    pub retries: Option<u32>,
    #[serde(default)]
    pub http2: Option<bool>,
    #[serde(default)]
    pub max_connections: Option<Limit<u64>>,
    #[serde(default)]
    pub max_redirects: Option<u32>,
    #[serde(default)]
    pub respect_limits: Option<bool>,
    #[serde(default)]
    pub profile: Option<Vec<RawStage>>,
    #[serde(default)]
    pub coalesce: Option<super::coalesce::RawCoalesce>,
    #[serde(default)]
    pub arrivals: Option<RawArrivals>,
    pub requests: Vec<EntrySpec>,
}

/// `arrivals`: a rate or a profile of rates, a pattern, a seed.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawArrivals {
    #[serde(default)]
    pub rate: Option<f64>,
    #[serde(default)]
    pub profile: Option<Vec<RawStage>>,
    #[serde(default)]
    pub pattern: Option<String>,
    #[serde(default)]
    pub seed: Option<u64>,
}

impl RawArrivals {
    pub(crate) fn resolve(self) -> Result<crate::model::Arrivals, String> {
        use crate::model::{ArrivalRate, Arrivals, Pattern};
        let rate = match (self.rate, self.profile) {
            (Some(r), None) => {
                crate::model::arrivals::check_rate(r)?;
                ArrivalRate::Fixed(r)
            }
            (None, Some(stages)) => ArrivalRate::Profile(crate::model::Profile::stages(
                stages.into_iter().map(|s| (s.per_second, s.duration)),
            )?),
            _ => {
                return Err(
                    "expected either `rate` (items per second) or `profile` (stages)".into(),
                );
            }
        };
        let pattern = match self.pattern.as_deref() {
            None | Some("poisson") => Pattern::Poisson,
            Some("even") => Pattern::Even,
            Some(other) => {
                return Err(format!(
                    "pattern: {other:?} is not known (expected \"poisson\" or \"even\")"
                ));
            }
        };
        Ok(Arrivals {
            rate,
            pattern,
            seed: self.seed.unwrap_or(1),
        })
    }
}

/// One stage of a `profile`: a rate held for a while.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStage {
    #[serde(deserialize_with = "de_stage_rate")]
    pub per_second: f64,
    #[serde(rename = "for", deserialize_with = "de_duration")]
    pub duration: Duration,
}

fn de_stage_rate<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let r = f64::deserialize(d)?;
    if r.is_finite() && r > 0.0 {
        Ok(r)
    } else {
        Err(de::Error::custom(format!(
            "invalid rate {r}: a profile stage needs a number of requests per second > 0"
        )))
    }
}

/// A timeout: a duration above zero (a zero timeout would fail every
/// request, or race).
fn de_timeout_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    match de_duration_opt(d)? {
        Some(t) if t.is_zero() => Err(de::Error::custom(
            "a timeout of 0 would fail every request: expected a duration like \"30s\"",
        )),
        t => Ok(t),
    }
}

/// A burst: starts allowed back to back, at least 1 (as `--burst`).
fn de_burst_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    match Option::<u32>::deserialize(d)? {
        Some(0) => Err(de::Error::custom(
            "invalid burst 0: expected at least 1 (1 = evenly spaced starts)",
        )),
        b => Ok(b),
    }
}

fn de_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    de_duration_opt(d)?.ok_or_else(|| de::Error::custom("expected a duration like \"30s\""))
}

/// One validated request entry, before expansion.
#[derive(Debug, Clone, PartialEq)]
pub struct EntrySpec {
    pub name: Option<String>,
    pub method: Method,
    pub url: String,
    pub params: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    pub body: BodySpec,
    pub timeout: Option<Duration>,
    /// Variables in declaration order; the first one varies slowest.
    pub for_each: Vec<(String, AxisSpec)>,
}

impl EntrySpec {
    /// Whether no field uses a `{{var}}` placeholder, so every expansion of
    /// the entry is the same request.
    pub fn is_static(&self) -> bool {
        let has = |s: &str| s.contains("{{");
        let pairs = |p: &[(String, String)]| p.iter().any(|(k, v)| has(k) || has(v));
        !(has(&self.url)
            || self.name.as_deref().is_some_and(has)
            || pairs(&self.params)
            || pairs(&self.headers)
            || match &self.body {
                BodySpec::None => false,
                BodySpec::Text(t) => has(t),
                BodySpec::Json(j) => has(&j.to_string()),
                BodySpec::Form(f) => pairs(f),
                // Each request draws its own boundary.
                BodySpec::Multipart(_) => true,
                BodySpec::File(path) => has(path),
            })
    }
}

/// What an entry sends as its body (at most one kind).
#[derive(Debug, Clone, PartialEq)]
pub enum BodySpec {
    None,
    Json(Value),
    Text(String),
    Form(Vec<(String, String)>),
    /// A `multipart/form-data` body.
    Multipart(Vec<PartSpec>),
    /// A file's contents (`body_file`), relative to the batch file.
    File(String),
}

/// One field of a `multipart` body: a `value`, or a `file` to upload.
#[derive(Debug, Clone, PartialEq)]
pub struct PartSpec {
    pub name: String,
    pub value: Option<String>,
    pub file: Option<String>,
    pub filename: Option<String>,
    pub content_type: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPart {
    name: String,
    #[serde(default)]
    value: Option<Value>,
    #[serde(default)]
    file: Option<String>,
    #[serde(default)]
    filename: Option<String>,
    #[serde(default)]
    content_type: Option<String>,
}

impl TryFrom<RawPart> for PartSpec {
    type Error = String;

    fn try_from(raw: RawPart) -> Result<Self, String> {
        let env = |s: Option<String>| s.as_deref().map(substitute_env).transpose();
        let value = match &raw.value {
            None => None,
            Some(v) => Some(scalar(v).ok_or_else(|| {
                format!(
                    "`multipart` field `{}`: `value` is a string, number or boolean",
                    raw.name
                )
            })?),
        };
        if value.is_some() == raw.file.is_some() {
            return Err(format!(
                "`multipart` field `{}`: expected either `value` or `file`",
                raw.name
            ));
        }
        Ok(PartSpec {
            name: substitute_env(&raw.name)?,
            value: env(value)?,
            file: env(raw.file)?,
            filename: env(raw.filename)?,
            content_type: env(raw.content_type)?,
        })
    }
}

/// One `for_each` variable: where its values come from.
#[derive(Debug, Clone, PartialEq)]
pub enum AxisSpec {
    /// An explicit list of values.
    Values(Vec<String>),
    /// A half-open integer range with a non-zero step.
    Range { start: i64, end: i64, step: i64 },
    /// A CSV or JSON Lines data file; each row binds its columns/keys.
    Rows(String),
}

const METHODS: &[&str] = &[
    "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE",
];

/// The object form of an entry, exactly as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawObject {
    url: String,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    params: Option<IndexMap<String, Value>>,
    #[serde(default)]
    headers: Option<IndexMap<String, String>>,
    #[serde(default)]
    json: Option<Value>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    form: Option<RawForm>,
    #[serde(default)]
    multipart: Option<Vec<RawPart>>,
    #[serde(default)]
    body_file: Option<String>,
    #[serde(default, deserialize_with = "de_timeout_opt")]
    timeout: Option<Duration>,
    #[serde(default)]
    for_each: Option<IndexMap<String, Value>>,
}

impl RawObject {
    fn from_url(url: String, params: Option<IndexMap<String, Value>>) -> Self {
        Self {
            url,
            method: None,
            name: None,
            params,
            headers: None,
            json: None,
            body: None,
            form: None,
            multipart: None,
            body_file: None,
            timeout: None,
            for_each: None,
        }
    }
}

/// A request's method: a standard one in any case (`post` is POST, as
/// Python clients read it); any other valid token (`PURGE`, `wHat`) as
/// written, since servers define their own; but a near miss of a standard
/// one (`GTE`, `PSOT`, `DELET`) is a typo, with the method it meant.
fn method(m: &str) -> Result<Method, String> {
    let upper = m.to_ascii_uppercase();
    if METHODS.contains(&upper.as_str()) {
        return Method::from_bytes(upper.as_bytes()).map_err(|e| e.to_string());
    }
    if let Some(meant) = METHODS.iter().find(|s| near_miss(&upper, s)) {
        return Err(format!(
            "unknown method `{m}`: did you mean {meant}? (a custom method is sent as written, \
             but this looks like a typo)"
        ));
    }
    Method::from_bytes(m.as_bytes()).map_err(|_| {
        format!(
            "invalid method `{m}`: expected one of {} or another token of letters, digits and \
             !#$%&'*+-.^_`|~",
            METHODS.join(", ")
        )
    })
}

/// One letter off, added, dropped, or two swapped.
fn near_miss(a: &str, b: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    match a.len() as isize - b.len() as isize {
        0 => {
            let diff: Vec<usize> = (0..a.len()).filter(|&i| a[i] != b[i]).collect();
            match diff.as_slice() {
                [_] => true,
                [i, j] => *j == i + 1 && a[*i] == b[*j] && a[*j] == b[*i],
                _ => false,
            }
        }
        1 | -1 => {
            let (long, short) = if a.len() > b.len() {
                (&a, &b)
            } else {
                (&b, &a)
            };
            (0..long.len()).any(|skip| {
                long.iter()
                    .enumerate()
                    .filter(|(i, _)| *i != skip)
                    .map(|(_, c)| c)
                    .eq(short.iter())
            })
        }
        _ => false,
    }
}

/// A `form` body: an object of fields (a list value repeats the field),
/// or a list of `[name, value]` pairs, which keeps any order and repeats
/// (`foo=bar&baz=1&foo=`), as a recorded form may have them.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawForm {
    Fields(IndexMap<String, Value>),
    Pairs(Vec<(String, Value)>),
}

impl TryFrom<RawObject> for EntrySpec {
    type Error = String;

    fn try_from(raw: RawObject) -> Result<Self, String> {
        let method = match raw.method {
            None => Method::GET,
            Some(m) => method(&m)?,
        };
        let bodies = [
            raw.json.is_some(),
            raw.body.is_some(),
            raw.form.is_some(),
            raw.multipart.is_some(),
            raw.body_file.is_some(),
        ];
        if bodies.iter().filter(|b| **b).count() > 1 {
            return Err(
                "an entry takes at most one of `json`, `body`, `form`, `multipart` and `body_file`"
                    .into(),
            );
        }
        let body = if let Some(json) = raw.json {
            BodySpec::Json(env_in_json(json)?)
        } else if let Some(text) = raw.body {
            BodySpec::Text(substitute_env(&text)?)
        } else if let Some(form) = raw.form {
            BodySpec::Form(match form {
                RawForm::Fields(map) => pairs("form", map)?,
                RawForm::Pairs(list) => list
                    .into_iter()
                    .map(|(k, v)| {
                        let v = scalar(&v).ok_or_else(|| bad_param("form", &k))?;
                        Ok((k, substitute_env(&v)?))
                    })
                    .collect::<Result<_, String>>()?,
            })
        } else if let Some(parts) = raw.multipart {
            BodySpec::Multipart(
                parts
                    .into_iter()
                    .map(PartSpec::try_from)
                    .collect::<Result<_, _>>()?,
            )
        } else if let Some(path) = raw.body_file {
            BodySpec::File(substitute_env(&path)?)
        } else {
            BodySpec::None
        };
        let url = substitute_env(&raw.url)?;
        if url.trim().is_empty() {
            return Err(
                "`url` is empty: expected a path like \"/items\" or an absolute URL".into(),
            );
        }
        Ok(EntrySpec {
            name: raw.name.as_deref().map(substitute_env).transpose()?,
            method,
            url,
            params: raw
                .params
                .map(|p| pairs("params", p))
                .transpose()?
                .unwrap_or_default(),
            headers: raw
                .headers
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| Ok((k, substitute_env(&v)?)))
                .collect::<Result<_, String>>()?,
            body,
            timeout: raw.timeout,
            for_each: raw.for_each.map(axes).transpose()?.unwrap_or_default(),
        })
    }
}

/// Query or form parameters: scalars, or lists of scalars for repeated keys.
fn pairs(what: &str, map: IndexMap<String, Value>) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::with_capacity(map.len());
    for (key, value) in map {
        match value {
            Value::Array(items) => {
                for item in items {
                    out.push((
                        key.clone(),
                        scalar(&item).ok_or_else(|| bad_param(what, &key))?,
                    ));
                }
            }
            other => out.push((
                key.clone(),
                scalar(&other).ok_or_else(|| bad_param(what, &key))?,
            )),
        }
    }
    out.into_iter()
        .map(|(k, v)| Ok((k, substitute_env(&v)?)))
        .collect()
}

fn bad_param(what: &str, key: &str) -> String {
    format!("`{what}.{key}`: expected a string, number, boolean, or a list of them")
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn axes(map: IndexMap<String, Value>) -> Result<Vec<(String, AxisSpec)>, String> {
    if map.is_empty() {
        return Err("`for_each` is empty: expected at least one variable".into());
    }
    map.into_iter()
        .map(|(name, value)| {
            let axis = match (name.as_str(), value) {
                ("rows", Value::String(path)) => AxisSpec::Rows(substitute_env(&path)?),
                (_, Value::Array(items)) => {
                    if items.is_empty() {
                        return Err(format!("`for_each.{name}` is an empty list"));
                    }
                    let values = items
                        .iter()
                        .map(|v| {
                            scalar(v).ok_or_else(|| {
                                format!("`for_each.{name}`: expected a list of strings or numbers")
                            })
                        })
                        .map(|v| v.and_then(|v| substitute_env(&v)))
                        .collect::<Result<_, _>>()?;
                    AxisSpec::Values(values)
                }
                (_, Value::Object(obj)) if obj.contains_key("range") && obj.len() == 1 => {
                    range(&name, &obj["range"])?
                }
                _ => {
                    return Err(format!(
                        "`for_each.{name}`: expected a list of values, {{\"range\": [start, end, step?]}}, or (for the key `rows`) a .csv or .jsonl file name"
                    ));
                }
            };
            Ok((name, axis))
        })
        .collect()
}

fn range(name: &str, value: &Value) -> Result<AxisSpec, String> {
    let err =
        || format!("`for_each.{name}.range`: expected [start, end] or [start, end, step] integers");
    let items = value.as_array().ok_or_else(err)?;
    if !(2..=3).contains(&items.len()) {
        return Err(err());
    }
    let ints: Vec<i64> = items
        .iter()
        .map(|v| v.as_i64().ok_or_else(err))
        .collect::<Result<_, _>>()?;
    let step = ints.get(2).copied().unwrap_or(1);
    if step == 0 {
        return Err(format!("`for_each.{name}.range`: step must not be 0"));
    }
    let (start, end) = (ints[0], ints[1]);
    if (step > 0 && start >= end) || (step < 0 && start <= end) {
        return Err(format!(
            "`for_each.{name}.range` [{start}, {end}, {step}] is empty (the end is excluded)"
        ));
    }
    Ok(AxisSpec::Range { start, end, step })
}

fn env_in_json(value: Value) -> Result<Value, String> {
    Ok(match value {
        Value::String(s) => Value::String(substitute_env(&s)?),
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(env_in_json)
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| Ok((k, env_in_json(v)?)))
                .collect::<Result<_, String>>()?,
        ),
        other => other,
    })
}

impl<'de> Deserialize<'de> for EntrySpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntryVisitor;

        impl<'de> Visitor<'de> for EntryVisitor {
            type Value = EntrySpec;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(
                    "a request: a URL string, a [url, params] pair, or an object with `url`",
                )
            }

            fn visit_str<E: de::Error>(self, url: &str) -> Result<EntrySpec, E> {
                EntrySpec::try_from(RawObject::from_url(url.to_owned(), None)).map_err(E::custom)
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<EntrySpec, A::Error> {
                let expected = &"a [url, params] pair";
                let url: String = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::invalid_length(0, expected))?;
                let params: Option<IndexMap<String, Value>> = seq.next_element()?;
                if seq.next_element::<de::IgnoredAny>()?.is_some() {
                    return Err(de::Error::invalid_length(3, expected));
                }
                EntrySpec::try_from(RawObject::from_url(url, params)).map_err(de::Error::custom)
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<EntrySpec, A::Error> {
                let raw = RawObject::deserialize(de::value::MapAccessDeserializer::new(map))?;
                EntrySpec::try_from(raw).map_err(de::Error::custom)
            }
        }

        deserializer.deserialize_any(EntryVisitor)
    }
}

/// Parses `"30s"`, `"250ms"`, `"1m"` (humantime) or a number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    if let Ok(secs) = text.trim().parse::<f64>() {
        return secs_to_duration(secs);
    }
    humantime::parse_duration(text.trim()).map_err(|e| {
        format!("invalid duration {text:?} ({e}): expected e.g. \"30s\", \"250ms\", \"1m\"")
    })
}

fn secs_to_duration(secs: f64) -> Result<Duration, String> {
    if (0.0..1e9).contains(&secs) {
        Ok(Duration::from_secs_f64(secs))
    } else {
        Err(format!(
            "invalid duration {secs}: expected a non-negative number of seconds"
        ))
    }
}

fn de_duration_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => parse_duration(&s).map(Some).map_err(de::Error::custom),
        Some(Value::Number(n)) => secs_to_duration(n.as_f64().unwrap_or(-1.0))
            .map(Some)
            .map_err(de::Error::custom),
        Some(_) => Err(de::Error::custom(
            "expected a duration like \"30s\" or a number of seconds",
        )),
    }
}

fn de_env_string_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Option::<String>::deserialize(d)?
        .map(|s| substitute_env(&s))
        .transpose()
        .map_err(de::Error::custom)
}

fn de_env_headers<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(String, String)>, D::Error> {
    IndexMap::<String, String>::deserialize(d)?
        .into_iter()
        .map(|(k, v)| Ok((k, substitute_env(&v).map_err(de::Error::custom)?)))
        .collect()
}
