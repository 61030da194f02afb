//! `ratebench import`: another tool's requests as a batch file.

use std::io::Read;
use std::path::Path;

use ratebench::import::{ImportOptions, import};

use super::args::ImportArgs;
use super::{EXIT_ERROR, EXIT_OK, EXIT_USAGE};

pub fn run(args: ImportArgs) -> u8 {
    let stdin = args.file == Path::new("-");
    let text = if stdin {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map(|_| text.trim_start_matches('\u{feff}').to_owned())
            .map_err(|e| e.to_string())
    } else {
        ratebench::import::read_text_file(&args.file)
    };
    let text = match text {
        Ok(text) => text,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", args.file.display());
            return EXIT_USAGE;
        }
    };
    let filter_url = match args
        .filter_url
        .as_deref()
        .map(regex::Regex::new)
        .transpose()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: --filter-url: {e}");
            return EXIT_USAGE;
        }
    };
    let options = ImportOptions {
        filter_url,
        methods: args
            .methods
            .map(|m| m.iter().map(|m| m.trim().to_ascii_uppercase()).collect()),
        keep_auth: args.keep_auth,
    };
    let shown = if stdin {
        Path::new("<stdin>")
    } else {
        &args.file
    };
    let imported = match import(args.kind, &text, shown, &options) {
        Ok(imported) => imported,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_USAGE;
        }
    };
    for warning in &imported.warnings {
        eprintln!("note: {warning}");
    }
    let json = imported.to_json_text();
    match &args.out {
        None => print!("{json}"),
        Some(out) => {
            if let Err(e) = std::fs::write(out, json) {
                eprintln!("error: cannot write {}: {e}", out.display());
                return EXIT_ERROR;
            }
            eprintln!(
                "imported {} requests from {} into {}",
                imported.requests.len(),
                shown.display(),
                out.display()
            );
        }
    }
    EXIT_OK
}
