//! A run's settings from the front end's flags, the batch file, and the
//! defaults, in that order. Written once so a batch opened in the
//! workbench gets its own retries, timeout and the rest, as `run` does.

use std::sync::Arc;
use std::time::Duration;

use crate::batch::BatchSettings;
use crate::engine::RunConfig;
use crate::model::{Limit, Limits, Profile};

/// What the user fixed for every batch of a session (command-line flags);
/// `None` and `false` leave it to each batch file.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub max_at_once: Option<Limit<u64>>,
    pub per_second: Option<Limit<f64>>,
    pub burst: Option<u32>,
    pub retries: Option<u32>,
    pub timeout: Option<Duration>,
    pub max_wait: Option<Duration>,
    pub http2: bool,
    /// `--max-connections` (0 or "unlimited": no cap).
    pub max_connections: Option<Limit<u64>>,
    pub max_redirects: Option<u32>,
    pub insecure: bool,
    pub proxy: crate::engine::Proxy,
    pub respect_limits: bool,
    pub ramp: Option<Profile>,
    pub no_coalesce: bool,
    pub keep_body: Option<usize>,
    /// `--arrival-rate`: a coalescing batch's items arrive over time.
    pub arrivals: Option<crate::model::Arrivals>,
    /// `--batch-window`: a coalescing run's window.
    pub window: Option<Duration>,
}

impl Overrides {
    /// The run config for a batch with these `file` settings: flags win
    /// over the file, which wins over `defaults` (whose other fields, such
    /// as the snapshot period, are kept).
    pub fn apply(&self, file: &BatchSettings, defaults: RunConfig) -> RunConfig {
        let max_at_once = self
            .max_at_once
            .or(file.max_at_once)
            .map_or(defaults.limits.max_at_once, Limit::get);
        let per_second = self.per_second.or(file.per_second).and_then(Limit::get);
        let burst = self.burst.or(file.burst).unwrap_or(1);
        RunConfig {
            limits: Limits {
                max_at_once,
                per_second,
                burst: 1,
            }
            .with_burst(burst),
            retries: self.retries.or(file.retries).unwrap_or(defaults.retries),
            timeout: self.timeout.or(file.timeout).unwrap_or(defaults.timeout),
            max_wait: self.max_wait.or(file.max_wait).unwrap_or(defaults.max_wait),
            http2: self.http2 || file.http2.unwrap_or(defaults.http2),
            max_connections: self
                .max_connections
                .or(file.max_connections)
                .map_or(defaults.max_connections, Limit::get),
            max_redirects: self
                .max_redirects
                .or(file.max_redirects)
                .unwrap_or(defaults.max_redirects),
            insecure: self.insecure || defaults.insecure,
            proxy: match &self.proxy {
                crate::engine::Proxy::Direct => defaults.proxy.clone(),
                chosen => chosen.clone(),
            },
            keep_body: self.keep_body.or(defaults.keep_body),
            respect_limits: self.respect_limits
                || file.respect_limits.unwrap_or(defaults.respect_limits),
            profile: self.ramp.clone().or_else(|| file.profile.clone()),
            coalesce: file
                .coalesce
                .clone()
                .filter(|_| !self.no_coalesce)
                .map(|mut c| {
                    c.window = self.window.or(c.window);
                    c
                })
                .map(Arc::new),
            arrivals: self
                .arrivals
                .clone()
                .or_else(|| file.arrivals.clone())
                .filter(|_| !self.no_coalesce && file.coalesce.is_some()),
            ..defaults
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_the_file_which_wins_over_the_defaults() {
        let file = BatchSettings {
            retries: Some(5),
            max_connections: Some(Limit::count(2)),
            max_redirects: Some(3),
            timeout: Some(Duration::from_secs(2)),
            respect_limits: Some(true),
            ..BatchSettings::default()
        };
        let defaults = RunConfig {
            snapshot_every: Duration::from_millis(7),
            ..RunConfig::default()
        };
        let from_file = Overrides::default().apply(&file, defaults.clone());
        assert_eq!(from_file.retries, 5);
        assert_eq!(from_file.max_connections, Some(2));
        assert_eq!(from_file.max_redirects, 3);
        assert_eq!(from_file.timeout, Duration::from_secs(2));
        assert!(from_file.respect_limits);
        assert_eq!(from_file.snapshot_every, Duration::from_millis(7));
        let flags = Overrides {
            retries: Some(1),
            ..Overrides::default()
        };
        assert_eq!(flags.apply(&file, defaults.clone()).retries, 1);
        let none = Overrides::default().apply(&BatchSettings::default(), defaults);
        assert_eq!(none.retries, 0);
        assert!(!none.respect_limits);
    }
}
