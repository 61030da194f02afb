//! Value types every layer shares: the limits and rate profiles a run
//! is given, the state it is in, and the record of each request's result.
//! Below everything but [`crate::signals`]: no module here imports the
//! batch, the engine, the stats or the formats, so all of them can use it.

pub mod arrivals;
mod limits;
pub mod profile;
pub mod record;
mod state;

pub use arrivals::{ArrivalRate, Arrivals, Pattern};
pub use limits::{ChangedBy, Limit, LimitChange, Limits};
pub use profile::Profile;
pub use record::{
    AttemptEntry, BatchInfo, ErrorKind, RequestRecord, SentRequest, is_selected_header,
};
pub use state::{Binding, RunState};
