//! The signals that stop a run: Ctrl-C (SIGINT), SIGTERM (a service
//! manager, `kill`, a CI timeout) and SIGHUP (the terminal went away).
//! Each stops the run the same way (results flushed, the terminal given
//! back); the exit status says which.

/// A stopping signal.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stop {
    Interrupt,
    Terminate,
    HangUp,
}

impl Stop {
    /// 128 + the signal's number, as shells report it: 130, 143, 129.
    pub fn exit_status(self) -> u8 {
        match self {
            Stop::Interrupt => 130,
            Stop::Terminate => 143,
            Stop::HangUp => 129,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Stop::Interrupt => "Ctrl-C",
            Stop::Terminate => "SIGTERM",
            Stop::HangUp => "SIGHUP",
        }
    }
}

/// The stopping signals, as they arrive. Listening replaces their
/// default action (ending the process at once, results unflushed).
pub struct Signals {
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    hup: Option<tokio::signal::unix::Signal>,
}

impl Default for Signals {
    fn default() -> Self {
        Self::new()
    }
}

impl Signals {
    pub fn new() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Self {
                term: signal(SignalKind::terminate()).ok(),
                hup: signal(SignalKind::hangup()).ok(),
            }
        }
        #[cfg(not(unix))]
        Self {}
    }

    /// The next stopping signal (`None`: none can be listened to).
    pub async fn next(&mut self) -> Option<Stop> {
        #[cfg(unix)]
        {
            async fn one(s: &mut Option<tokio::signal::unix::Signal>) -> Option<()> {
                match s {
                    Some(s) => s.recv().await,
                    None => std::future::pending().await,
                }
            }
            tokio::select! {
                r = tokio::signal::ctrl_c() => r.ok().map(|()| Stop::Interrupt),
                Some(()) = one(&mut self.term) => Some(Stop::Terminate),
                Some(()) = one(&mut self.hup) => Some(Stop::HangUp),
            }
        }
        #[cfg(not(unix))]
        tokio::signal::ctrl_c().await.ok().map(|()| Stop::Interrupt)
    }
}
