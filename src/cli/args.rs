//! clap definitions. Flags override the batch file's settings.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use ratebench::export::ExportFormat;
use ratebench::model::Limit;

#[derive(Debug, Parser)]
#[command(
    name = "ratebench",
    version,
    about = "Run batches of HTTP requests under a concurrency cap and a rate limit you can change while they run",
    long_about = "Run batches of HTTP requests under a concurrency cap and a rate limit you can change while they run.\n\nWith no command, opens the terminal workbench (with BATCH loaded, if given). Start with `ratebench demo`.",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Cmd>,

    #[command(flatten)]
    pub tui: TuiArgs,

    /// Worker threads for the async runtime [default: 1 for `run`, which
    /// measured fastest against a local target on a small machine; all
    /// cores otherwise].
    #[arg(long, global = true, value_name = "N", env = "RATEBENCH_THREADS", value_parser = parse_threads)]
    pub threads: Option<usize>,
}

impl Cli {
    /// The runtime's worker threads for this command.
    pub fn worker_threads(&self) -> usize {
        self.threads.unwrap_or_else(|| match self.command {
            Some(Cmd::Run(_)) => 1,
            _ => std::thread::available_parallelism().map_or(2, |n| n.get()),
        })
    }
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Run a batch headless: progress on stderr, summary at the end.
    Run(RunArgs),
    /// Serve the built-in mock API (latency, faults, rate limits, batch jobs).
    Mock(MockArgs),
    /// Find the highest rate the API sustains: ramp up, back off, settle.
    #[command(mut_arg("max_at_once", |a| a.help(
        "Most requests in flight at once while probing; 0 or \"unlimited\" for no cap [default: 256, so the rate is what the server answers to]"
    )))]
    Probe(ProbeArgs),
    /// Rebuild a run's summary from its results journal (JSON Lines).
    ExportSummary(ExportSummaryArgs),
    /// Write a results journal (JSON Lines) in another format: CSV, JSON,
    /// HAR or an Excel workbook.
    Export(ExportArgs),
    /// Turn curl commands, a .http file, a HAR or a Postman collection into
    /// a batch file (JSON) you can edit.
    Import(ImportArgs),
    /// Load and validate a batch (any format, imported ones too) without
    /// sending anything: its requests, endpoints and the environment it reads.
    Check(CheckArgs),
    /// Open the terminal workbench, with BATCH loaded if given.
    Tui(TuiArgs),
    /// The mock API on a free port and the workbench aimed at it: start here.
    Demo,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The batch file to check.
    pub batch: PathBuf,

    /// Base URL for relative request URLs (overrides the file's base_url).
    #[arg(long, value_name = "URL", value_parser = parse_base_url)]
    pub base_url: Option<String>,

    /// The most requests the batch may expand to [default: 100000000].
    #[arg(long, value_name = "N")]
    pub max_requests: Option<u64>,
}

/// The workbench's arguments.
#[derive(Debug, Args)]
pub struct TuiArgs {
    /// Batch file to load: .json, .jsonl/.ndjson or .txt, or imported
    /// on the way: .curl, .http/.rest, .har, .postman_collection.json.
    pub batch: Option<PathBuf>,

    #[command(flatten)]
    pub settings: SettingsArgs,
}

/// Settings shared by `run` and the workbench; they override the file's.
#[derive(Debug, Args)]
pub struct SettingsArgs {
    /// Base URL for relative request URLs (overrides the file's base_url).
    #[arg(long, value_name = "URL", value_parser = parse_base_url)]
    pub base_url: Option<String>,

    /// Most requests in flight at once; 0 or "unlimited" for no cap [default: 10].
    #[arg(long, short = 'c', value_name = "N", allow_negative_numbers = true)]
    pub max_at_once: Option<Limit<u64>>,

    /// Most request starts per second, evenly spaced; fractions allowed; 0 or
    /// "unlimited" for no limit [default: unlimited].
    #[arg(long, short = 'r', value_name = "R", allow_negative_numbers = true)]
    pub per_second: Option<Limit<f64>>,

    /// Starts allowed back to back under --per-second [default: 1].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub burst: Option<u32>,

    /// Retries per request on connect errors, timeouts, 429 and 5xx [default: 0].
    #[arg(long, value_name = "N")]
    pub retries: Option<u32>,

    /// Per-request timeout, e.g. 30s, 500ms [default: 30s].
    #[arg(long, value_name = "DUR", value_parser = parse_timeout)]
    pub timeout: Option<Duration>,

    /// The longest wait the server may ask for (Retry-After, or a reset
    /// under --respect-limits); a request asked to wait longer fails with
    /// the reason recorded, rather than hang the run [default: 60s].
    #[arg(long, value_name = "DUR", value_parser = parse_duration)]
    pub max_wait: Option<Duration>,

    /// Speak HTTP/2 (prior knowledge) instead of HTTP/1.1; on https, h2
    /// is offered by ALPN without it.
    #[arg(long)]
    pub http2: bool,

    /// Most open connections per origin, apart from --max-at-once: with
    /// HTTP/1.1 a request waits for a free one; 0 or "unlimited" for no
    /// cap [default: unlimited].
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub max_connections: Option<Limit<u64>>,

    /// Redirects followed per request, each one paced and counted as the
    /// request it is; 0 to take a 3xx as the answer [default: 10].
    #[arg(long, value_name = "N")]
    pub max_redirects: Option<u32>,

    /// Accept any TLS certificate (a self-signed one on a test server).
    #[arg(long, short = 'k')]
    pub insecure: bool,

    /// Send through this HTTP proxy (http://[user:pass@]host:port); https
    /// goes through a CONNECT tunnel [default: no proxy].
    #[arg(long, value_name = "URL", conflicts_with = "proxy_from_env")]
    pub proxy: Option<String>,

    /// Use the proxies HTTP_PROXY, HTTPS_PROXY, ALL_PROXY and NO_PROXY name
    /// (off by default: a load test goes where it says).
    #[arg(long)]
    pub proxy_from_env: bool,

    /// Follow the server's limits: pace starts a little under the rate it
    /// advertises (RateLimit-Policy, X-RateLimit-Limit), slowing on each
    /// refusal; with no rate advertised, hold new starts for a 429's or
    /// 503's Retry-After, or until the reset when it says none remain.
    #[arg(long)]
    pub respect_limits: bool,

    /// Move the rate linearly from FROM to TO per second over DURATION
    /// (e.g. 10..500/60s), then hold TO; overrides the file's profile.
    #[arg(long, value_name = "FROM..TO/DUR", value_parser = ratebench::model::Profile::parse_ramp)]
    pub ramp: Option<ratebench::model::Profile>,

    /// Send the items one by one even when the batch has a `coalesce`
    /// section (to compare with coalescing).
    #[arg(long)]
    pub no_coalesce: bool,

    /// A coalescing batch's items arrive over time at RATE items per
    /// second, Poisson (independent callers) or evenly spaced; overrides
    /// the file's `arrivals`.
    #[arg(long, value_name = "RATE[/poisson|/even]", value_parser = ratebench::model::Arrivals::parse_flag)]
    pub arrival_rate: Option<ratebench::model::Arrivals>,

    /// A coalescing run's window (e.g. 50ms): with arrivals, a call goes
    /// when full or when its oldest item has waited this long.
    #[arg(long = "batch-window", value_name = "DURATION", value_parser = ratebench::batch::parse_duration)]
    pub batch_window: Option<std::time::Duration>,

    /// The most requests a batch may expand to; it is counted before it
    /// is built, so a typo (a range of 10^12) fails at once [default: 100000000].
    #[arg(long, value_name = "N")]
    pub max_requests: Option<u64>,

    /// Keep response bodies in the results, up to SIZE each [default: 64KiB when given].
    #[arg(long, value_name = "SIZE", num_args = 0..=1, default_missing_value = "64KiB", value_parser = parse_size)]
    pub keep_body: Option<usize>,
}

#[derive(Debug, Args)]
pub struct MockArgs {
    /// Port to listen on (0 picks a free one).
    #[arg(long, short = 'p', default_value_t = 3000)]
    pub port: u16,

    /// Address to listen on; anything but loopback must be asked for here.
    #[arg(long, default_value = "127.0.0.1", value_name = "IP")]
    pub bind: std::net::IpAddr,

    /// Latency of every route: 200ms, 10ms..50ms, or 10ms:90,500ms:10 [default: 200ms on /inventory only].
    #[arg(long, value_name = "DUR|MIN..MAX")]
    pub latency: Option<String>,

    /// Probability (0 to 1) of answering 500 or 503.
    #[arg(long, value_name = "P", value_parser = parse_probability)]
    pub error_rate: Option<f64>,

    /// A global token bucket: R[/s][,burst=B] (burst defaults to 1).
    #[arg(long, value_name = "R[/s][,burst=B]")]
    pub rate_limit: Option<String>,

    /// Give each caller its own --rate-limit bucket, told apart by a
    /// header or a query parameter (header:X-Api-Key, query:key).
    #[arg(long, value_name = "header:NAME|query:NAME", requires = "rate_limit")]
    pub limit_by: Option<String>,

    /// Answer 503 while more than K requests are in flight.
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_concurrent: Option<u64>,

    /// Requests per second every route can serve; past it requests queue
    /// and latency climbs (no 429s): a server with a knee.
    #[arg(long, value_name = "R", value_parser = parse_capacity)]
    pub capacity: Option<f64>,

    /// TOML scenario file with global and per-route knobs (flags override it).
    #[arg(long, value_name = "FILE")]
    pub scenario: Option<PathBuf>,
}

fn parse_capacity(s: &str) -> Result<f64, String> {
    match s.trim().trim_end_matches("/s").parse::<f64>() {
        Ok(r) if r.is_finite() && r > 0.0 => Ok(r),
        _ => Err(format!("expected requests per second > 0, got {s:?}")),
    }
}

fn parse_probability(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
        _ => Err(format!("expected a probability from 0 to 1, got {s:?}")),
    }
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// What the file holds.
    #[arg(value_enum)]
    pub kind: ratebench::import::Source,

    /// The file to import; `-` reads standard input.
    pub file: PathBuf,

    /// Write the batch here instead of to standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// HAR: keep only entries whose URL matches this regular expression.
    #[arg(long, value_name = "REGEX")]
    pub filter_url: Option<String>,

    /// HAR: keep only these methods (comma-separated, e.g. GET,POST).
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub methods: Option<Vec<String>>,

    /// Keep recorded credentials: a HAR's Cookie, Authorization and
    /// key-like headers (X-Api-Key), a Postman collection's Cookie headers
    /// (dropped by default).
    #[arg(long)]
    pub keep_auth: bool,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The results journal (`run --out FILE.jsonl`, or the workbench's).
    pub journal: PathBuf,

    /// The file to write.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: PathBuf,

    /// Its format [default: from its extension, else jsonl].
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<ExportFormat>,
}

#[derive(Debug, Args)]
pub struct ExportSummaryArgs {
    /// The results journal (`run --out FILE.jsonl`, or the workbench's).
    pub journal: PathBuf,

    /// Also write the summary as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub summary_json: Option<PathBuf>,

    /// Also write the summary as Markdown to FILE.
    #[arg(long, value_name = "FILE")]
    pub summary_md: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// Batch file; its requests are sent over and over while probing.
    pub batch: PathBuf,

    #[command(flatten)]
    pub settings: SettingsArgs,

    /// The first rate tried, per second.
    #[arg(long, value_name = "R", default_value = "5", value_parser = parse_capacity)]
    pub start: f64,

    /// Never try more than this per second.
    #[arg(long, value_name = "R", default_value = "100000", value_parser = parse_capacity)]
    pub max: f64,

    /// How long the best rate must hold without throttling.
    #[arg(long, value_name = "DUR", default_value = "10s", value_parser = parse_duration)]
    pub window: Duration,

    /// Stop after this long with the best rate so far.
    #[arg(long, value_name = "DUR", default_value = "2m", value_parser = parse_duration)]
    pub max_time: Duration,

    /// Write the recommendation, its evidence and the timeline as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub summary_json: Option<PathBuf>,

    /// Write every result to FILE as it completes.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// Write the batch with the recommended limits to FILE (may be BATCH itself).
    #[arg(long, value_name = "FILE")]
    pub save: Option<PathBuf>,

    /// No per-second lines on stderr.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Batch file: .json, .jsonl/.ndjson or .txt (content decides
    /// otherwise), or imported: .curl, .http/.rest, .har,
    /// .postman_collection.json.
    pub batch: PathBuf,

    #[command(flatten)]
    pub settings: SettingsArgs,

    /// Write every result to FILE as it completes (the journal).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// Format of --out [default: from its extension, else jsonl]. har
    /// records what was sent and every response header (secrets
    /// redacted); xlsx journals JSON Lines beside it (FILE.jsonl) and
    /// writes the workbook at the end.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<ExportFormat>,

    /// Write the run summary as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub summary_json: Option<PathBuf>,

    /// Write the summary and the settings as Markdown to FILE (for a pull
    /// request or an issue).
    #[arg(long, value_name = "FILE")]
    pub summary_md: Option<PathBuf>,

    /// Go on with an interrupted run: read --out (JSON Lines), skip every
    /// row that has a final result there, and append the rest.
    #[arg(long, requires = "out")]
    pub resume: bool,

    /// With --resume, also send again the rows that failed.
    #[arg(long, requires = "resume")]
    pub retry_failed: bool,

    /// With --resume, go on even if the journal's sidecar says it is the
    /// journal of another batch (or has no sidecar).
    #[arg(long, requires = "resume")]
    pub force: bool,

    /// Record URLs as sent, without masking key-like query values.
    #[arg(long)]
    pub no_redact: bool,

    /// After Ctrl-C, how long in-flight requests may finish before they are cancelled.
    #[arg(long, value_name = "DUR", default_value = "5s", value_parser = parse_duration)]
    pub grace: Duration,

    /// No progress bar and no summary table.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    ratebench::batch::parse_duration(s)
}

/// `--base-url`: an absolute http(s) URL, checked here so the error
/// names the flag rather than the file's `base_url`.
fn parse_base_url(s: &str) -> Result<String, String> {
    match url::Url::parse(s) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.has_host() => Ok(s.to_owned()),
        _ => Err(format!(
            "expected an absolute http(s) URL like http://127.0.0.1:3000, got {s:?}"
        )),
    }
}

/// Worker threads: 1 to 1024 (more is a typo, and would exhaust the
/// system's threads).
fn parse_threads(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if (1..=1024).contains(&n) => Ok(n),
        _ => Err(format!("expected 1 to 1024 worker threads, got {s:?}")),
    }
}

fn parse_timeout(s: &str) -> Result<Duration, String> {
    match parse_duration(s)? {
        t if t.is_zero() => {
            Err("a timeout of 0 would fail every request: expected a duration like 30s".into())
        }
        t => Ok(t),
    }
}

fn parse_size(s: &str) -> Result<usize, String> {
    let size: bytesize::ByteSize = s
        .trim()
        .parse()
        .map_err(|e| format!("invalid size {s:?}: {e}"))?;
    usize::try_from(size.as_u64()).map_err(|_| format!("size {s:?} is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_parsers() {
        assert_eq!(parse_size("64KiB"), Ok(65536));
        assert_eq!(parse_size("100"), Ok(100));
    }
}
