//! A headless probe: runs a batch (cycled, so it never runs out) under the
//! controller's rate, one observation a second, until it settles.

use std::time::Duration;

use serde::Serialize;

use super::{Controller, Observation, ProbeConfig, Recommendation, Step};
use crate::batch::Batch;
use crate::engine::{self, Command, EngineError, RunConfig};
use crate::export::RecordSink;
use crate::model::Limits;
use crate::stats::RunSummary;

/// What a probe found, and how it got there.
#[derive(Debug, Clone, Serialize)]
pub struct ProbeReport {
    pub recommendation: Recommendation,
    /// The rate tried each second, and what the second looked like.
    pub timeline: Vec<(f64, Observation)>,
    /// The whole run: every request the probe sent.
    pub summary: RunSummary,
}

/// Probes `batch` under `run` (its `per_second` is the controller's), writing
/// every result to `sink`. `on_second` sees each second as it passes.
pub async fn probe(
    batch: &Batch,
    run: RunConfig,
    config: ProbeConfig,
    sink: Box<dyn RecordSink>,
    mut on_second: impl FnMut(f64, &Observation),
) -> Result<ProbeReport, EngineError> {
    let mut controller = Controller::new(config);
    let limits = Limits {
        per_second: Some(controller.rate()),
        ..run.limits
    };
    let requests = batch.clone();
    // The batch over and over: a probe lasts as long as the search does.
    let cycled = std::iter::repeat_with(move || requests.requests()).flatten();
    let handle = engine::start(cycled, None, RunConfig { limits, ..run }, sink)?;
    let mut stats = handle.stats.clone();
    let mut before = stats.borrow().clone();
    let mut timeline = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    let recommendation = loop {
        tick.tick().await;
        let now = stats.borrow_and_update().clone();
        let observation = Observation::between(&before, &now);
        before = now;
        let rate = controller.rate();
        timeline.push((rate, observation));
        on_second(rate, &observation);
        match controller.observe(&observation) {
            Step::Rate(next) => handle.send(Command::Tune(Limits {
                per_second: Some(next),
                ..limits
            })),
            Step::Done(r) => break r,
        }
    };
    handle.send(Command::Stop {
        grace: Some(Duration::from_secs(1)),
    });
    let summary = handle.wait().await?;
    Ok(ProbeReport {
        recommendation,
        timeline,
        summary,
    })
}
