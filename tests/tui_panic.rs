//! A panic in a background task or thread ends the workbench's loop (the
//! panic hook has restored the terminal), instead of drawing on over the
//! panic message. Its own test binary: the panic hook is process-wide.

use std::time::Duration;

use futures_util::stream;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratebench::engine::RunConfig;
use ratebench::tui::{self, App, Start, TuiConfig};

/// Runs the loop with no input until it ends; `panic` is started beside
/// it once the loop has gone round.
async fn loop_with(panic: impl FnOnce()) -> std::io::Result<App> {
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    let app = App::new(Start::default());
    let (observer, mut status) = tokio::sync::watch::channel(app.status());
    let config = TuiConfig {
        run: RunConfig::default(),
        overrides: Default::default(),
        base_url: None,
        max_requests: None,
        journal_dir: std::env::temp_dir(),
        runs_file: None,
        observer: Some(observer),
    };
    // No keys at all: only a panic can end this loop.
    let input = Box::pin(stream::pending());
    let running = tui::run_loop(&mut terminal, app, input, config);
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        tokio::join!(running, async {
            // The loop has started: the runs log it reads at start is in.
            let _ = status.changed().await;
            panic();
        })
        .0
    });
    ended.await.expect("the loop ended after the panic")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_in_a_task_or_a_thread_ends_the_loop() {
    tui::install_panic_hook();
    let ended = loop_with(|| {
        tokio::spawn(async { panic!("a task fails on purpose") });
    })
    .await;
    let e = ended.expect_err("an error, not a normal exit");
    assert!(e.to_string().contains("panicked"), "{e}");

    let ended = loop_with(|| {
        std::thread::spawn(|| panic!("a thread fails on purpose"));
    })
    .await;
    assert!(ended.is_err(), "a thread's panic ends the loop too");
}
