//! The integration tests, in one binary: every module talks to real HTTP
//! servers on 127.0.0.1 (the built-in mock, or a server written in the
//! test) through the library's entry points or the `ratebench` binary.
//! Shared setup lives in `common`.

mod arrivals;
mod common;
mod corpus;

mod batch;
mod cli;
mod coalesce;
mod engine;
mod export;
mod first_minutes;
mod hostile;
mod import;
mod mock;
mod probe;
mod safety;
mod session;
mod transport;
mod truth;
mod tui;
mod uploads;
