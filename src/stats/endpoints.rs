//! Per-endpoint aggregates, for a mixed batch: one row per request name,
//! or per URL pattern (method and path, numbers folded to `{n}`) for
//! requests without a name. Bounded: past `MAX_ENDPOINTS` keys, the rest
//! count under "(other)".

use std::collections::HashMap;

use serde::Serialize;

use super::LatencyHistogram;
use crate::model::{AttemptEntry, RequestRecord};

/// The most endpoints tracked apart.
pub const MAX_ENDPOINTS: usize = 64;
const OTHER: &str = "(other)";

/// One endpoint's figures, as shown: its requests' results, and every
/// answer it got (retried attempts included).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EndpointStats {
    pub key: String,
    /// Requests with a final result.
    pub count: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Requests that were not ok.
    pub failed: u64,
    /// Answers (attempts) it got.
    pub answers: u64,
    /// Answers with status 429.
    pub rate_limited: u64,
    /// Answers that were errors: a status of 400 or more other than 429,
    /// or no answer at all (a timeout, a reset).
    pub errors: u64,
}

#[derive(Debug, Default)]
struct Tally {
    count: u64,
    failed: u64,
    answers: u64,
    rate_limited: u64,
    errors: u64,
    latency: LatencyHistogram,
}

#[derive(Debug, Default)]
pub struct Endpoints {
    tallies: HashMap<String, Tally>,
    /// The key being looked up, reused: a run tallies every answer and
    /// result, and a fresh String each time showed in its profile.
    scratch: String,
}

/// The endpoint a record belongs to.
pub fn endpoint_key(record: &RequestRecord) -> String {
    let mut key = String::new();
    write_key(record, &mut key);
    key
}

/// [`endpoint_key`] into `out` (cleared first).
fn write_key(record: &RequestRecord, out: &mut String) {
    out.clear();
    if let Some(name) = &record.name {
        out.push_str(name);
        return;
    }
    let path = record
        .url
        .split_once("://")
        .map_or(record.url.as_str(), |(_, rest)| {
            rest.find('/').map_or("/", |i| &rest[i..])
        });
    let path = path.split(['?', '#']).next().unwrap_or("/");
    out.push_str(&record.method);
    out.push(' ');
    for (i, seg) in path.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        if !seg.is_empty() && seg.bytes().all(|c| c.is_ascii_digit()) {
            out.push_str("{n}");
        } else {
            out.push_str(seg);
        }
    }
}

impl Endpoints {
    /// The tally of the record's endpoint (past the bound, "(other)").
    fn tally(&mut self, record: &RequestRecord) -> &mut Tally {
        write_key(record, &mut self.scratch);
        if self.tallies.contains_key(self.scratch.as_str()) {
            return self
                .tallies
                .get_mut(self.scratch.as_str())
                .expect("present");
        }
        let key = if self.tallies.len() >= MAX_ENDPOINTS {
            OTHER.to_owned()
        } else {
            self.scratch.clone()
        };
        self.tallies.entry(key).or_default()
    }

    /// A request's final result.
    pub fn add(&mut self, record: &RequestRecord) {
        let tally = self.tally(record);
        tally.count += 1;
        tally.failed += u64::from(!record.ok);
        if let (Some(_), Some(ms)) = (record.status, record.latency_ms) {
            tally
                .latency
                .record(std::time::Duration::from_secs_f64(ms / 1000.0));
        }
    }

    /// An answer the record's endpoint got (`a`, the record's attempt).
    pub fn add_answer(&mut self, record: &RequestRecord, a: &AttemptEntry) {
        let tally = self.tally(record);
        tally.answers += 1;
        tally.rate_limited += u64::from(a.status == Some(429));
        tally.errors += u64::from(match a.status {
            Some(status) => status >= 400 && status != 429,
            None => true,
        });
    }

    /// The busiest `limit` endpoints, most requests first.
    pub fn top(&self, limit: usize) -> Vec<EndpointStats> {
        let mut rows: Vec<EndpointStats> = self
            .tallies
            .iter()
            .map(|(key, t)| EndpointStats {
                key: key.clone(),
                count: t.count,
                p50_ms: if t.latency.is_empty() {
                    0.0
                } else {
                    t.latency.quantile_ms(0.5)
                },
                p99_ms: if t.latency.is_empty() {
                    0.0
                } else {
                    t.latency.quantile_ms(0.99)
                },
                failed: t.failed,
                answers: t.answers,
                rate_limited: t.rate_limited,
                errors: t.errors,
            })
            .collect();
        rows.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
        rows.truncate(limit);
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: Option<&str>, url: &str, status: u16) -> RequestRecord {
        RequestRecord {
            name: name.map(str::to_owned),
            status: Some(status),
            ok: status < 400,
            attempts: 1,
            latency_ms: Some(10.0),
            ..RequestRecord::new(0, "GET", url)
        }
    }

    #[test]
    fn keys_fold_numbers_and_prefer_names() {
        assert_eq!(
            endpoint_key(&record(None, "http://h:1/items/42/parts?x=1", 200)),
            "GET /items/{n}/parts"
        );
        assert_eq!(
            endpoint_key(&record(Some("geocode"), "http://h/geocode?text=a", 200)),
            "geocode"
        );
        assert_eq!(endpoint_key(&record(None, "http://h", 200)), "GET /");
    }

    /// As the aggregator takes a final result: as a result and an answer.
    fn add(e: &mut Endpoints, r: &RequestRecord) {
        e.add(r);
        e.add_answer(r, &AttemptEntry::of(r));
    }

    #[test]
    fn tallies_and_bounds() {
        let mut e = Endpoints::default();
        add(&mut e, &record(None, "http://h/a/1", 200));
        add(&mut e, &record(None, "http://h/a/2", 429));
        add(&mut e, &record(Some("b"), "http://h/b", 500));
        // A retried 429 is one more answer, and no result.
        let refused = record(None, "http://h/a/3", 429);
        e.add_answer(&refused, &AttemptEntry::of(&refused));
        let top = e.top(10);
        assert_eq!(top[0].key, "GET /a/{n}");
        assert_eq!(
            (
                top[0].count,
                top[0].failed,
                top[0].answers,
                top[0].rate_limited
            ),
            (2, 1, 3, 2)
        );
        assert_eq!(
            (top[1].key.as_str(), top[1].failed, top[1].errors),
            ("b", 1, 1)
        );
        for i in 0..200 {
            add(&mut e, &record(Some(&format!("n{i}")), "http://h/", 200));
        }
        assert_eq!(e.tallies.len(), MAX_ENDPOINTS + 1);
        assert!(e.tallies.contains_key(OTHER));
    }
}
