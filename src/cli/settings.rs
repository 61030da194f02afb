//! Run settings from flags, the batch file, and the defaults, in that order.

use ratebench::batch::BatchSettings;
use ratebench::engine::RunConfig;
use ratebench::session::Overrides;

use super::args::SettingsArgs;

/// What the flags fix for every batch of this invocation.
pub fn overrides(args: &SettingsArgs) -> Overrides {
    Overrides {
        max_at_once: args.max_at_once,
        per_second: args.per_second,
        burst: args.burst,
        retries: args.retries,
        timeout: args.timeout,
        max_wait: args.max_wait,
        http2: args.http2,
        max_connections: args.max_connections,
        max_redirects: args.max_redirects,
        insecure: args.insecure,
        proxy: match (&args.proxy, args.proxy_from_env) {
            (Some(url), _) => ratebench::engine::Proxy::Url(url.clone()),
            (None, true) => ratebench::engine::Proxy::FromEnv,
            (None, false) => ratebench::engine::Proxy::Direct,
        },
        respect_limits: args.respect_limits,
        ramp: args.ramp.clone(),
        no_coalesce: args.no_coalesce,
        keep_body: args.keep_body,
        arrivals: args.arrival_rate.clone(),
        window: args.batch_window,
    }
}

/// Flags win over the batch file, which wins over the defaults.
pub fn run_config(args: &SettingsArgs, file: &BatchSettings) -> RunConfig {
    overrides(args).apply(file, RunConfig::default())
}
