//! Where a run is, and what holds it back.

use serde::{Deserialize, Serialize};

/// Where a run is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    #[default]
    Idle,
    Running,
    Paused,
    Stopping,
    Done,
}

/// What holds back the next start right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Binding {
    /// Nothing: requests go out as soon as they are ready.
    #[default]
    None,
    /// The per-second pacer.
    Rate,
    /// The max-at-once cap.
    MaxAtOnce,
    /// The user paused the run.
    Paused,
    /// The server asked for a pause (Retry-After, or nothing remaining
    /// until a reset) and `respect_limits` is on.
    Server,
}
