//! ratebench: run batches of HTTP requests under a concurrency cap and a
//! rate limit that can change while the batch runs.
//!
//! # Layout
//!
//! Each module has one job; arrows point one way, from the front ends down
//! to the values everything shares:
//! - [`model`]: the shared value types: [`Limits`] (and the one rule for
//!   reading a limit a person typed), rate profiles, run state, the result
//!   record. Imports nothing but [`signals`] (rate-limit headers parsed).
//! - [`stats`]: records folded into counts and histograms, the
//!   [`StatsSnapshot`] front ends draw and the [`RunSummary`].
//! - [`batch`]: ratebench's own batch forms, expanded lazily;
//!   [`import`]: curl, .http, HAR and Postman as batches; [`loader`]:
//!   `Batch::load` over both, and saving a batch with new limits.
//! - [`export`]: the journal writers and every export format, and reading
//!   a journal back.
//! - [`engine`]: runs a batch under live limits via a [`RunHandle`]
//!   (commands in, events and stats out); it owns its whole pipeline, from
//!   the dispatcher to the aggregator.
//! - [`session`]: one run's life cycle around the engine (journal,
//!   sidecar, resume, failed-only re-runs, the runs log), shared by the
//!   command line and the workbench.
//! - [`probe`]: finding the highest rate a server sustains; [`coalesce`]:
//!   the batching pattern as a library; [`mock`]: the built-in mock API;
//!   [`tui`]: the workbench; [`stop_signals`]: the signals that stop a
//!   run (Ctrl-C, SIGTERM, SIGHUP), for both front ends.
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
pub mod session;
pub mod signals;
pub mod stats;
pub mod stop_signals;
pub mod tui;

pub use batch::{Batch, BatchError, LoadOptions, RequestSpec};
pub use engine::{Command, Event, RunConfig, RunHandle, start};
pub use model::{Limits, RequestRecord};
pub use stats::{RunSummary, StatsSnapshot};
