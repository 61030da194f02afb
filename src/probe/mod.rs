//! Finding the highest rate an API sustains: the adaptive controller, and
//! a headless probe that drives a run with it.

pub mod controller;
mod run;

pub use controller::{Controller, Observation, Phase, ProbeConfig, Recommendation, Step};
pub use run::{ProbeReport, probe};
