//! Run settings from flags, the batch file, and the defaults, in that order.

use ratebench::batch::BatchSettings;
use ratebench::engine::RunConfig;
use ratebench::model::{Limit, Limits};

use super::args::SettingsArgs;

/// Flags win over the batch file, which wins over the defaults.
pub fn run_config(args: &SettingsArgs, file: &BatchSettings) -> RunConfig {
    let defaults = RunConfig::default();
    let max_at_once = args
        .max_at_once
        .or(file.max_at_once)
        .map_or(defaults.limits.max_at_once, Limit::get);
    let per_second = args.per_second.or(file.per_second).and_then(Limit::get);
    let burst = args.burst.or(file.burst).unwrap_or(1);
    RunConfig {
        limits: Limits {
            max_at_once,
            per_second,
            burst: 1,
        }
        .with_burst(burst),
        retries: args.retries.or(file.retries).unwrap_or(defaults.retries),
        timeout: args.timeout.or(file.timeout).unwrap_or(defaults.timeout),
        http2: args.http2 || file.http2.unwrap_or(false),
        keep_body: args.keep_body,
        respect_limits: args.respect_limits || file.respect_limits.unwrap_or(false),
        profile: args.ramp.clone().or_else(|| file.profile.clone()),
        coalesce: file
            .coalesce
            .clone()
            .filter(|_| !args.no_coalesce)
            .map(std::sync::Arc::new),
        ..defaults
    }
}
