//! Async batch jobs: `POST /batch/geocode` starts one, `GET
//! /batch/geocode?id=` polls it. A job's time is a fixed overhead plus a
//! per-item cost, so one batch of 100 costs far less than 100 singles.
//! Memory stays bounded: expired jobs are dropped, and past `MAX_JOBS` the
//! oldest go first.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use super::data::geocode;
use super::knobs::JobKnobs;

/// The most jobs kept at once.
pub const MAX_JOBS: usize = 10_000;
/// The most items one job may hold.
pub const MAX_ITEMS: usize = 10_000;

#[derive(Debug)]
struct Job {
    created: Instant,
    ready_at: Instant,
    items: Vec<String>,
}

/// Where a job is.
#[derive(Debug, PartialEq)]
pub enum JobState {
    Pending { retry_after: Duration },
    Done(Vec<Value>),
    Unknown,
}

#[derive(Debug, Default)]
pub struct Jobs {
    jobs: Mutex<HashMap<String, Job>>,
}

impl Jobs {
    /// Starts a job; returns its id and when it will be done.
    pub fn create(&self, items: Vec<String>, knobs: &JobKnobs, now: Instant) -> (String, Duration) {
        let cost = knobs.overhead + knobs.per_item * items.len() as u32;
        let id = format!("{:016x}", fastrand::u64(..));
        let mut jobs = self.jobs.lock().unwrap_or_else(|p| p.into_inner());
        jobs.retain(|_, job| now < job.ready_at + knobs.ttl);
        while jobs.len() >= MAX_JOBS {
            let oldest = jobs
                .iter()
                .min_by_key(|(_, j)| j.created)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(k) => jobs.remove(&k),
                None => break,
            };
        }
        jobs.insert(
            id.clone(),
            Job {
                created: now,
                ready_at: now + cost,
                items,
            },
        );
        (id, cost)
    }

    pub fn poll(&self, id: &str, knobs: &JobKnobs, now: Instant) -> JobState {
        let jobs = self.jobs.lock().unwrap_or_else(|p| p.into_inner());
        match jobs.get(id) {
            None => JobState::Unknown,
            Some(job) if now >= job.ready_at + knobs.ttl => JobState::Unknown,
            Some(job) if now < job.ready_at => JobState::Pending {
                retry_after: job.ready_at - now,
            },
            Some(job) => JobState::Done(job.items.iter().map(|t| geocode(t)).collect()),
        }
    }

    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        self.jobs.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn life_cycle_and_expiry() {
        let jobs = Jobs::default();
        let knobs = JobKnobs {
            overhead: Duration::from_millis(100),
            per_item: Duration::from_millis(10),
            ttl: Duration::from_secs(1),
        };
        let t0 = Instant::now();
        let (id, cost) = jobs.create(vec!["a".into(), "b".into()], &knobs, t0);
        assert_eq!(cost, Duration::from_millis(120));
        assert_eq!(
            jobs.poll(&id, &knobs, t0 + Duration::from_millis(20)),
            JobState::Pending {
                retry_after: Duration::from_millis(100)
            }
        );
        let JobState::Done(results) = jobs.poll(&id, &knobs, t0 + cost) else {
            panic!("not done")
        };
        assert_eq!(results, vec![geocode("a"), geocode("b")]);
        assert_eq!(
            jobs.poll(&id, &knobs, t0 + cost + Duration::from_secs(1)),
            JobState::Unknown
        );
        assert_eq!(jobs.poll("nope", &knobs, t0), JobState::Unknown);
        // Creating drops the expired.
        jobs.create(vec![], &knobs, t0 + Duration::from_secs(5));
        assert_eq!(jobs.len(), 1);
    }
}
