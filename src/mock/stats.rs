//! What the mock saw: requests per route and status, in flight, faults.
//! `/__stats` serves it; tests compare it with what a client sent.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use serde::{Deserialize, Serialize};

#[derive(Debug, Default)]
pub struct MockStats {
    requests: AtomicU64,
    in_flight: AtomicU64,
    max_in_flight: AtomicU64,
    rate_limited: AtomicU64,
    closed: AtomicU64,
    truncated: AtomicU64,
    /// route → status (or "closed") → count
    by_route: Mutex<BTreeMap<String, BTreeMap<String, u64>>>,
}

/// The JSON of `GET /__stats`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StatsReport {
    pub requests: u64,
    pub in_flight: u64,
    pub max_in_flight: u64,
    /// 429 answers sent.
    pub rate_limited: u64,
    /// Connections closed without a response (fault injection).
    pub closed: u64,
    /// Answers cut off halfway (fault injection).
    pub truncated: u64,
    /// Batch jobs held (pending or finished, not yet expired).
    pub jobs: u64,
    pub routes: BTreeMap<String, BTreeMap<String, u64>>,
}

impl StatsReport {
    /// Answers with a status in `range` (e.g. 200..300), over all routes.
    pub fn count_status(&self, range: std::ops::Range<u16>) -> u64 {
        self.routes
            .values()
            .flat_map(|m| m.iter())
            .filter(|(k, _)| k.parse::<u16>().is_ok_and(|s| range.contains(&s)))
            .map(|(_, v)| v)
            .sum()
    }
}

/// Decrements the in-flight count when a request is done, however it ends.
pub struct InFlight<'a>(&'a MockStats);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Relaxed);
    }
}

impl MockStats {
    /// Counts an arrival; returns the in-flight count including it.
    pub fn arrive(&self) -> (InFlight<'_>, u64) {
        self.requests.fetch_add(1, Relaxed);
        let now = self.in_flight.fetch_add(1, Relaxed) + 1;
        self.max_in_flight.fetch_max(now, Relaxed);
        (InFlight(self), now)
    }

    pub fn answered(&self, route: &str, status: u16) {
        if status == 429 {
            self.rate_limited.fetch_add(1, Relaxed);
        }
        self.bump(route, status.to_string());
    }

    pub fn closed(&self, route: &str) {
        self.closed.fetch_add(1, Relaxed);
        self.bump(route, "closed".to_owned());
    }

    pub fn truncated(&self) {
        self.truncated.fetch_add(1, Relaxed);
    }

    fn bump(&self, route: &str, key: String) {
        let mut map = self.by_route.lock().unwrap_or_else(|p| p.into_inner());
        *map.entry(route.to_owned())
            .or_default()
            .entry(key)
            .or_default() += 1;
    }

    pub fn report(&self) -> StatsReport {
        StatsReport {
            requests: self.requests.load(Relaxed),
            in_flight: self.in_flight.load(Relaxed),
            max_in_flight: self.max_in_flight.load(Relaxed),
            rate_limited: self.rate_limited.load(Relaxed),
            closed: self.closed.load(Relaxed),
            truncated: self.truncated.load(Relaxed),
            jobs: 0,
            routes: self
                .by_route
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
        }
    }

    /// Forgets everything but the requests in flight right now.
    pub fn reset(&self) {
        self.requests.store(0, Relaxed);
        self.max_in_flight
            .store(self.in_flight.load(Relaxed), Relaxed);
        self.rate_limited.store(0, Relaxed);
        self.closed.store(0, Relaxed);
        self.truncated.store(0, Relaxed);
        self.by_route
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }
}
