//! Sub-millisecond wake-ups for the pacer.
//!
//! tokio's timer wheel is millisecond-grained: a start due at 20.0 ms
//! wakes anywhere in 20–21 ms. Against a server that allows one request
//! every 20 ms with no burst, that jitter alone gets a steady 48/s answered
//! 429 about one time in eight (measured). This timer hands each deadline
//! to a thread of its own that sleeps with the OS timer (tens of
//! microseconds late on Linux) and then completes a oneshot, which the
//! dispatcher awaits like any other future.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::mpsc;
use std::time::Instant;

use tokio::sync::oneshot;

struct Wake {
    at: Instant,
    seq: u64,
    done: oneshot::Sender<()>,
}

impl PartialEq for Wake {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Wake {}
impl PartialOrd for Wake {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Wake {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

/// A handle on the timer thread; the thread ends when this is dropped.
#[derive(Debug)]
pub struct PreciseTimer {
    requests: mpsc::Sender<Wake>,
    seq: u64,
    /// The wake-up asked for last, reused while the deadline is the same
    /// (the dispatcher's loop asks again after every event).
    pending: Option<(Instant, oneshot::Receiver<()>)>,
}

impl PreciseTimer {
    pub fn new() -> std::io::Result<Self> {
        let (requests, inbox) = mpsc::channel::<Wake>();
        std::thread::Builder::new()
            .name("ratebench-pacer".into())
            .spawn(move || serve(inbox))?;
        Ok(Self {
            requests,
            seq: 0,
            pending: None,
        })
    }

    /// Completes at `at`, give or take the OS timer's slack.
    pub async fn sleep_until(&mut self, at: tokio::time::Instant) {
        let at = at.into_std();
        let reuse = matches!(&self.pending, Some((pending, _)) if *pending == at);
        if !reuse {
            let (done, woken) = oneshot::channel();
            self.seq += 1;
            let wake = Wake {
                at,
                seq: self.seq,
                done,
            };
            if self.requests.send(wake).is_err() {
                // The thread is gone (it cannot panic, but be safe): fall
                // back to tokio's timer.
                tokio::time::sleep_until(at.into()).await;
                return;
            }
            self.pending = Some((at, woken));
        }
        let (_, woken) = self.pending.as_mut().expect("set above");
        let _ = woken.await;
        self.pending = None;
    }
}

/// The timer thread: fire each wake-up at its instant, earliest first.
fn serve(inbox: mpsc::Receiver<Wake>) {
    let mut due: BinaryHeap<Reverse<Wake>> = BinaryHeap::new();
    loop {
        let now = Instant::now();
        while due.peek().is_some_and(|w| w.0.at <= now) {
            let Reverse(wake) = due.pop().expect("peeked");
            let _ = wake.done.send(());
        }
        // Wake-ups nobody waits for any more are dropped unfired.
        due.retain(|w| !w.0.done.is_closed());
        let next = match due.peek() {
            None => inbox.recv().ok(),
            Some(w) => match inbox.recv_timeout(w.0.at.saturating_duration_since(now)) {
                Ok(wake) => Some(wake),
                Err(mpsc::RecvTimeoutError::Timeout) => continue,
                Err(mpsc::RecvTimeoutError::Disconnected) => None,
            },
        };
        match next {
            Some(wake) => due.push(Reverse(wake)),
            None => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    // How close to the instant it wakes is measured in BENCHMARKS.md
    // ("Pacing against a limiter with no burst"), not asserted here.

    #[tokio::test]
    async fn wakes_in_order_whatever_order_it_is_asked() {
        let mut timer = PreciseTimer::new().unwrap();
        let now = tokio::time::Instant::now();
        for ms in [3u64, 1, 2] {
            timer.sleep_until(now + Duration::from_millis(ms)).await;
            assert!(tokio::time::Instant::now() >= now + Duration::from_millis(ms));
        }
    }

    #[tokio::test]
    async fn an_earlier_deadline_is_not_held_up_by_a_later_one() {
        let mut timer = PreciseTimer::new().unwrap();
        let now = tokio::time::Instant::now();
        // Ask for a far wake-up, abandon it, then ask for a near one.
        let far = timer.sleep_until(now + Duration::from_secs(10));
        let _ = tokio::time::timeout(Duration::from_millis(1), far).await;
        timer.pending = None;
        timer.sleep_until(now + Duration::from_millis(5)).await;
        assert!(now.elapsed() < Duration::from_secs(1));
    }
}
