//! `ratebench check`: a batch loaded and validated, nothing sent. The
//! same load as `run` and the workbench's `o`, so what passes here loads
//! there.

use std::collections::BTreeMap;

use ratebench::batch::Batch;

use super::args::CheckArgs;
use super::{EXIT_OK, EXIT_USAGE};

/// Endpoints listed at most.
const SHOWN: usize = 12;

pub fn run(args: CheckArgs) -> u8 {
    let options = super::load_options(args.base_url.clone(), args.max_requests);
    let batch = match Batch::load_with(&args.batch, &options) {
        Ok(batch) => batch,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_USAGE;
        }
    };
    let format = match batch.format {
        ratebench::batch::Format::Json => "JSON",
        ratebench::batch::Format::JsonLines => "JSON Lines",
        ratebench::batch::Format::Text => "a URL list",
        ratebench::batch::Format::Imported(source) => source.name(),
    };
    println!(
        "ok: {}: {} requests ({format}); nothing sent",
        args.batch.display(),
        batch.len(),
    );
    let endpoints = endpoints(&batch);
    println!("endpoints:");
    for (key, n) in endpoints.iter().take(SHOWN) {
        println!("  {n:>9}  {key}");
    }
    if endpoints.len() > SHOWN {
        println!("  … and {} more", endpoints.len() - SHOWN);
    }
    let env = environment(&batch);
    if !env.is_empty() {
        println!(
            "environment: {} (read when the batch loads)",
            env.join(", ")
        );
    }
    for warning in &batch.warnings {
        println!("note: {warning}");
    }
    EXIT_OK
}

/// Requests per endpoint (method, then the entry's name or the URL's
/// host and path), most first.
fn endpoints(batch: &Batch) -> Vec<(String, u64)> {
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for spec in batch.requests().flatten() {
        let target = match &spec.name {
            Some(name) => name.clone(),
            None => {
                format!(
                    "{}{}",
                    spec.url.host_str().unwrap_or(""),
                    spec.url.port().map_or(String::new(), |p| format!(":{p}"))
                ) + spec.url.path()
            }
        };
        *counts
            .entry(format!("{} {target}", spec.method))
            .or_default() += 1;
    }
    let mut list: Vec<_> = counts.into_iter().collect();
    list.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    list
}

/// The environment variables the batch file reads (`${NAME}`, not the
/// escaped `$${`), in order of first use.
fn environment(batch: &Batch) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(&batch.path) else {
        return Vec::new();
    };
    let mut names: Vec<String> = Vec::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find("${") {
        let escaped = at > 0 && rest.as_bytes()[at - 1] == b'$';
        let after = &rest[at + 2..];
        if let Some(end) = after.find('}') {
            let name = &after[..end];
            let valid =
                !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !escaped && valid && !names.iter().any(|n| n == name) {
                names.push(name.to_owned());
            }
        }
        rest = after;
    }
    names
}
