//! The batching pattern as a library: callers submit one item at a time
//! and await their own result, while a background task groups items into
//! batch calls (up to `max_items`, waiting at most `window` after the first
//! item of a batch) and hands each caller the result at its position.
//!
//! What the well-known asyncio sketch of this pattern leaves out, done
//! here: an error reaches every caller it concerns (a failed batch call
//! fails all its items; an answer with fewer results than items fails
//! exactly the missing ones); nothing loops while idle (the task waits for
//! an item to arrive); and [`Coalescer::shutdown`] sends the open window at
//! once and waits for batch calls in flight. The window and the batch size
//! can change while it runs.
//!
//! It stands apart from the engine's coalescing (`engine/batching.rs`) on
//! purpose: here the caller's own function makes the batch call and items
//! arrive from callers awaiting their result, while the engine groups a
//! batch file's requests under its pacer and cap, makes the call over HTTP
//! itself, polls asynchronous jobs and writes a record per item. What the
//! two have in common is the grouping rule, the same in both: a call goes
//! when it is full (`max_items`) or when its oldest item has waited the
//! window, whichever first. Two edges differ by their settings, not the
//! rule: the engine's call also waits for its limits (items arriving
//! meanwhile join it, up to `max_items`), and when no item is left to
//! come it goes at once (here, [`Coalescer::shutdown`] does that). A batch
//! file without `arrivals` has every item ready at the start, so its calls
//! go full and the window changes nothing.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

/// How items are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CoalesceConfig {
    /// Most items in one batch call.
    pub max_items: usize,
    /// Longest an item waits for others before its batch goes.
    pub window: Duration,
}

/// Why an item has no result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CoalesceError {
    /// The batch call failed; every item of it gets the message.
    #[error("the batch call failed: {0}")]
    Batch(String),
    /// The batch call answered fewer results than it was sent items.
    #[error("the batch answered {got} results for {sent} items; none for item {position}")]
    Missing {
        sent: usize,
        got: usize,
        position: usize,
    },
    /// The coalescer was shut down before the item was taken.
    #[error("the coalescer is shut down")]
    Closed,
}

/// How one item fared, with what it cost: its wait in the window and its
/// batch's size.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome<O> {
    pub result: Result<O, CoalesceError>,
    /// From submission to its batch being sent.
    pub waited: Duration,
    /// Items in its batch.
    pub batch_size: usize,
    /// Its position in the batch.
    pub position: usize,
}

type BatchFuture<O> = Pin<Box<dyn Future<Output = Result<Vec<O>, String>> + Send>>;
type SendBatch<I, O> = Arc<dyn Fn(Vec<I>) -> BatchFuture<O> + Send + Sync>;

struct Pending<I, O> {
    item: I,
    since: Instant,
    reply: oneshot::Sender<Outcome<O>>,
}

/// Groups single items into batch calls. Share it behind an `Arc`: every
/// method takes `&self`.
pub struct Coalescer<I, O> {
    items: mpsc::UnboundedSender<Pending<I, O>>,
    config: watch::Sender<CoalesceConfig>,
    /// Set by `shutdown`; the grouping task sends what it holds and ends.
    closing: watch::Sender<bool>,
    /// Set by the grouping task when every call has answered.
    finished: watch::Receiver<bool>,
}

impl<I: Send + 'static, O: Send + 'static> Coalescer<I, O> {
    /// Starts the grouping task. `send_batch` makes one batch call with the
    /// items in order and returns their results in the same order (or why
    /// the call failed as a whole).
    pub fn new<F, Fut>(config: CoalesceConfig, send_batch: F) -> Self
    where
        F: Fn(Vec<I>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Vec<O>, String>> + Send + 'static,
    {
        let (items, inbox) = mpsc::unbounded_channel();
        let (config, watch) = watch::channel(config);
        let (closing, closed) = watch::channel(false);
        let (done, finished) = watch::channel(false);
        let send: SendBatch<I, O> = Arc::new(move |batch| Box::pin(send_batch(batch)));
        tokio::spawn(async move {
            group(inbox, watch, closed, send).await;
            let _ = done.send(true);
        });
        Self {
            items,
            config,
            closing,
            finished,
        }
    }

    /// Submits one item and waits for its own result.
    pub async fn call(&self, item: I) -> Result<O, CoalesceError> {
        self.submit(item).await.result
    }

    /// Submits one item and waits for its outcome: the result and what it
    /// cost (wait in the window, batch size).
    pub async fn submit(&self, item: I) -> Outcome<O> {
        let (reply, answer) = oneshot::channel();
        let pending = Pending {
            item,
            since: Instant::now(),
            reply,
        };
        if *self.closing.borrow() || self.items.send(pending).is_err() {
            return closed();
        }
        answer.await.unwrap_or_else(|_| closed())
    }

    /// Changes the grouping from the next batch on.
    pub fn set_config(&self, config: CoalesceConfig) {
        self.config.send_replace(config);
    }

    pub fn config(&self) -> CoalesceConfig {
        *self.config.borrow()
    }

    /// Stops taking items, sends the open window (and anything submitted
    /// but not yet grouped) at once, and waits for every batch call in
    /// flight to answer its callers. Later submissions get `Closed`.
    pub async fn shutdown(&self) {
        self.closing.send_replace(true);
        let mut finished = self.finished.clone();
        let _ = finished.wait_for(|done| *done).await;
    }
}

fn closed<O>() -> Outcome<O> {
    Outcome {
        result: Err(CoalesceError::Closed),
        waited: Duration::ZERO,
        batch_size: 0,
        position: 0,
    }
}

/// The grouping task: wait for a first item (no polling while idle), then
/// for more until the batch is full or the window closes, then send it and
/// start over. Batch calls run concurrently; their answers go to callers.
async fn group<I: Send + 'static, O: Send + 'static>(
    mut inbox: mpsc::UnboundedReceiver<Pending<I, O>>,
    config: watch::Receiver<CoalesceConfig>,
    mut closing: watch::Receiver<bool>,
    send: SendBatch<I, O>,
) {
    let mut calls = JoinSet::new();
    let mut open = true;
    while open {
        // Idle: wait for an item, while answering finished calls.
        let first = tokio::select! {
            item = inbox.recv() => item,
            Some(_) = calls.join_next(), if !calls.is_empty() => continue,
            _ = closing.wait_for(|c| *c) => None,
        };
        let Some(first) = first else {
            break;
        };
        let max_items = config.borrow().max_items.max(1);
        let closes = first.since + config.borrow().window;
        let mut batch = vec![first];
        while batch.len() < max_items {
            tokio::select! {
                item = inbox.recv() => match item {
                    Some(item) => batch.push(item),
                    None => {
                        open = false;
                        break;
                    }
                },
                _ = tokio::time::sleep_until(closes) => break,
                // Shutting down: the open window goes now.
                _ = closing.wait_for(|c| *c) => {
                    open = false;
                    break;
                }
            }
        }
        calls.spawn(answer(batch, send.clone()));
    }
    // Items submitted before the shutdown but not yet grouped go too.
    inbox.close();
    let max_items = config.borrow().max_items.max(1);
    let mut rest = Vec::new();
    while let Some(item) = inbox.recv().await {
        rest.push(item);
        if rest.len() == max_items {
            calls.spawn(answer(std::mem::take(&mut rest), send.clone()));
        }
    }
    if !rest.is_empty() {
        calls.spawn(answer(rest, send.clone()));
    }
    while calls.join_next().await.is_some() {}
}

/// Makes one batch call and answers each of its callers.
async fn answer<I, O>(batch: Vec<Pending<I, O>>, send: SendBatch<I, O>) {
    let sent_at = Instant::now();
    let size = batch.len();
    let (items, waiting): (Vec<I>, Vec<_>) = batch
        .into_iter()
        .map(|p| (p.item, (p.since, p.reply)))
        .unzip();
    let results = send(items).await;
    let mut results = match results {
        Ok(results) => {
            let got = results.len();
            results
                .into_iter()
                .map(Ok)
                .chain((got..size).map(|position| {
                    Err(CoalesceError::Missing {
                        sent: size,
                        got,
                        position,
                    })
                }))
                .collect::<Vec<_>>()
        }
        Err(e) => (0..size)
            .map(|_| Err(CoalesceError::Batch(e.clone())))
            .collect(),
    }
    .into_iter();
    for (position, (since, reply)) in waiting.into_iter().enumerate() {
        let result = results.next().unwrap_or(Err(CoalesceError::Missing {
            sent: size,
            got: position,
            position,
        }));
        let _ = reply.send(Outcome {
            result,
            waited: sent_at.saturating_duration_since(since),
            batch_size: size,
            position,
        });
    }
}
