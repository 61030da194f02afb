//! ratebench: run batches of HTTP requests under a concurrency cap and a
//! rate limit that can change while the batch runs.
//!
//! The library is the engine every front end drives:
//! - [`batch`]: load and validate batch files, expand them lazily;
//! - [`engine`]: run a batch under live [`engine::Limits`] via a
//!   [`engine::RunHandle`] (commands in, events and stats out);
//! - [`stats`]: snapshots and histograms;
//! - [`export`]: result records, the journal writers and the summary;
//! - [`import`]: curl, .http, HAR and Postman requests as batches.
//!
//! See `examples/run_batch.rs` for a complete program.

pub mod batch;
pub mod coalesce;
pub mod engine;
pub mod export;
pub mod import;
pub mod loader;
pub mod mock;
pub mod model;
pub mod probe;
pub mod signals;
pub mod stats;
pub mod tui;

pub use batch::{Batch, BatchError, LoadOptions, RequestSpec};
pub use engine::{Command, Event, RunConfig, RunHandle, start};
pub use model::{Limits, RequestRecord};
pub use stats::{RunSummary, StatsSnapshot};
