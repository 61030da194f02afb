//! Failures grouped by what went wrong: an error kind below HTTP (timeout,
//! reset...) or an error status (HTTP 503). Each group keeps its count,
//! its latest message and an example URL, so the errors panel can say
//! what happened and where without reading the journal. Bounded: there
//! are few kinds, and statuses are three digits.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::{AttemptEntry, ErrorKind, RequestRecord};

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

/// One group of failures, as shown: how many answers fell in it (a
/// retried 429 counts), how many of those were retried, and how many
/// requests ended in it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ErrorGroup {
    pub class: FailureClass,
    /// Answers (attempts) in this group.
    pub answers: u64,
    /// Of those, attempts that were retried.
    pub retried: u64,
    /// Requests whose final result is in this group.
    pub finals: u64,
    /// The latest failure's message (or its status line).
    pub message: String,
    /// The latest failure's URL (redacted like the records).
    pub url: String,
    /// The latest failure's batch index, to find it in the results.
    pub index: u64,
    pub attempts: u32,
}

impl ErrorGroup {
    /// `12 answers · 11 retried · 1 final`, leaving out what is 0.
    pub fn counts(&self) -> String {
        let mut parts = vec![format!(
            "{} answer{}",
            self.answers,
            if self.answers == 1 { "" } else { "s" }
        )];
        if self.retried > 0 {
            parts.push(format!("{} retried", self.retried));
        }
        parts.push(format!("{} final", self.finals));
        parts.join(" · ")
    }
}

/// One group as it is kept: the counts, and the latest failure's fields
/// reused in place (a storm of failures must not allocate a message each).
#[derive(Debug, Default)]
struct Tally {
    answers: u64,
    retried: u64,
    finals: u64,
    error: Option<String>,
    url: String,
    index: u64,
    attempts: u32,
}

impl Tally {
    fn latest(&mut self, r: &RequestRecord) {
        self.error.clone_from(&r.error);
        self.url.clone_from(&r.url);
        self.index = r.index;
        self.attempts = r.attempts;
    }
}

/// Failure groups of a run so far.
#[derive(Debug, Default)]
pub struct ErrorGroups {
    groups: BTreeMap<FailureClass, Tally>,
}

impl ErrorGroups {
    /// A request's final result, if it failed.
    pub fn add_final(&mut self, r: &RequestRecord) {
        let Some(class) = FailureClass::of(r) else {
            return;
        };
        let tally = self.groups.entry(class).or_default();
        tally.finals += 1;
        tally.latest(r);
    }

    /// An answer (the record's last attempt), if it was a failure.
    pub fn add_answer(&mut self, r: &RequestRecord, a: &AttemptEntry, retried: bool) {
        let class = match (a.status, a.error_kind) {
            (_, Some(kind)) => FailureClass::Error(kind),
            (Some(status), None) if status >= 400 => FailureClass::Status(status),
            _ => return,
        };
        let tally = self.groups.entry(class).or_default();
        tally.answers += 1;
        tally.retried += u64::from(retried);
        tally.latest(r);
    }

    /// The groups, most answers first.
    pub fn top(&self) -> Vec<ErrorGroup> {
        let mut groups: Vec<ErrorGroup> = self
            .groups
            .iter()
            .map(|(class, t)| ErrorGroup {
                class: *class,
                answers: t.answers,
                retried: t.retried,
                finals: t.finals,
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
        groups.sort_by(|a, b| {
            (b.answers.max(b.finals), b.finals)
                .cmp(&(a.answers.max(a.finals), a.finals))
                .then(a.class.cmp(&b.class))
        });
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

    /// As the aggregator takes a final result: as a result and an answer.
    fn add(groups: &mut ErrorGroups, r: &RequestRecord) {
        groups.add_final(r);
        groups.add_answer(r, &AttemptEntry::of(r), false);
    }

    #[test]
    fn groups_by_kind_and_status_with_the_latest_example() {
        let mut groups = ErrorGroups::default();
        add(&mut groups, &record(0, Some(200), None));
        add(&mut groups, &record(1, Some(503), None));
        add(&mut groups, &record(2, None, Some(ErrorKind::Timeout)));
        add(&mut groups, &record(3, Some(503), None));
        let top = groups.top();
        assert_eq!(top.len(), 2);
        assert_eq!(top[0].class, FailureClass::Status(503));
        assert_eq!((top[0].answers, top[0].finals), (2, 2));
        assert_eq!(top[0].index, 3);
        assert_eq!(top[0].url, "http://127.0.0.1/x/3");
        assert_eq!(top[0].message, "HTTP 503 after 1 attempt");
        assert_eq!(top[1].class.label(), "timeout");
        assert_eq!(top[1].message, "timeout happened");
    }

    #[test]
    fn a_retried_429_is_an_answer_in_its_group_though_nothing_ended_in_it() {
        let mut groups = ErrorGroups::default();
        let refused = record(0, Some(429), None);
        groups.add_answer(&refused, &AttemptEntry::of(&refused), true);
        groups.add_answer(&refused, &AttemptEntry::of(&refused), true);
        add(&mut groups, &record(0, Some(200), None));
        let top = groups.top();
        assert_eq!(top.len(), 1);
        assert_eq!(top[0].class, FailureClass::Status(429));
        assert_eq!(top[0].counts(), "2 answers · 2 retried · 0 final");
    }
}
