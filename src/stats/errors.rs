//! Failures grouped by what went wrong: an error kind below HTTP (timeout,
//! reset...) or an error status (HTTP 503). Each group keeps its count,
//! its latest message and an example URL, so the errors panel can say
//! what happened and where without reading the journal. Bounded: there
//! are few kinds, and statuses are three digits.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::{ErrorKind, RequestRecord};

/// What a group of failures has in common.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureClass {
    /// No usable answer: the kind says why.
    Error(ErrorKind),
    /// An answer with this error status.
    Status(u16),
}

impl FailureClass {
    pub fn of(record: &RequestRecord) -> Option<Self> {
        if record.ok {
            return None;
        }
        Some(match (record.error_kind, record.status) {
            (Some(kind), _) => FailureClass::Error(kind),
            (None, Some(status)) => FailureClass::Status(status),
            (None, None) => FailureClass::Error(ErrorKind::Other),
        })
    }

    pub fn label(self) -> String {
        match self {
            FailureClass::Error(kind) => kind.as_str().to_owned(),
            FailureClass::Status(status) => format!("HTTP {status}"),
        }
    }
}

/// One group of failures, as shown.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ErrorGroup {
    pub class: FailureClass,
    pub count: u64,
    /// The latest failure's message (or its status line).
    pub message: String,
    /// The latest failure's URL (redacted like the records).
    pub url: String,
    /// The latest failure's batch index, to find it in the results.
    pub index: u64,
    pub attempts: u32,
}

/// One group as it is kept: the latest failure's fields, reused in place
/// (a storm of failures must not allocate a message each).
#[derive(Debug)]
struct Tally {
    count: u64,
    error: Option<String>,
    url: String,
    index: u64,
    attempts: u32,
}

/// Failure groups of a run so far.
#[derive(Debug, Default)]
pub struct ErrorGroups {
    groups: BTreeMap<FailureClass, Tally>,
}

impl ErrorGroups {
    pub fn add(&mut self, r: &RequestRecord) {
        let Some(class) = FailureClass::of(r) else {
            return;
        };
        let tally = self.groups.entry(class).or_insert_with(|| Tally {
            count: 0,
            error: None,
            url: String::new(),
            index: r.index,
            attempts: 0,
        });
        tally.count += 1;
        tally.error.clone_from(&r.error);
        tally.url.clone_from(&r.url);
        tally.index = r.index;
        tally.attempts = r.attempts;
    }

    /// The groups, most failures first.
    pub fn top(&self) -> Vec<ErrorGroup> {
        let mut groups: Vec<ErrorGroup> = self
            .groups
            .iter()
            .map(|(class, t)| ErrorGroup {
                class: *class,
                count: t.count,
                // An error status without a message says what it was.
                message: t.error.clone().unwrap_or_else(|| {
                    format!(
                        "{} after {} attempt{}",
                        class.label(),
                        t.attempts,
                        if t.attempts == 1 { "" } else { "s" }
                    )
                }),
                url: t.url.clone(),
                index: t.index,
                attempts: t.attempts,
            })
            .collect();
        groups.sort_by(|a, b| b.count.cmp(&a.count).then(a.class.cmp(&b.class)));
        groups
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(index: u64, status: Option<u16>, kind: Option<ErrorKind>) -> RequestRecord {
        RequestRecord {
            status,
            ok: status.is_some_and(|s| s < 400) && kind.is_none(),
            error_kind: kind,
            error: kind.map(|k| format!("{k} happened")),
            attempts: 1,
            ..RequestRecord::new(index, "GET", format!("http://127.0.0.1/x/{index}"))
        }
    }

    #[test]
    fn groups_by_kind_and_status_with_the_latest_example() {
        let mut groups = ErrorGroups::default();
        groups.add(&record(0, Some(200), None));
        groups.add(&record(1, Some(503), None));
        groups.add(&record(2, None, Some(ErrorKind::Timeout)));
        groups.add(&record(3, Some(503), None));
        let top = groups.top();
        assert_eq!(top.len(), 2);
        assert_eq!(top[0].class, FailureClass::Status(503));
        assert_eq!(top[0].count, 2);
        assert_eq!(top[0].index, 3);
        assert_eq!(top[0].url, "http://127.0.0.1/x/3");
        assert_eq!(top[0].message, "HTTP 503 after 1 attempt");
        assert_eq!(top[1].class.label(), "timeout");
        assert_eq!(top[1].message, "timeout happened");
    }
}
