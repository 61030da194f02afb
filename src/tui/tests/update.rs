use super::*;

#[test]
fn a_loaded_batch_sets_the_sliders() {
    let app = app();
    assert_eq!(app.limits, Limits::new(10, 20.0));
    assert_eq!(app.stats.total, Some(100));
}

#[test]
fn slider_steps_reach_the_engine_only_while_running() {
    let mut app = app();
    assert_eq!(app.selected, Slider::MaxAtOnce);
    assert_eq!(
        app.update(key(KeyCode::Right)),
        [],
        "idle: no engine to tell"
    );
    assert_eq!(app.limits.max_at_once, Some(20));
    running(&mut app);
    assert_eq!(
        app.update(key(KeyCode::Right)),
        [Effect::Send(Command::SetLimits(Limits::new(50, 20.0)))]
    );
    assert_eq!(
        app.update(key(KeyCode::Left)),
        [Effect::Send(Command::SetLimits(Limits::new(20, 20.0)))]
    );
    app.update(key(KeyCode::Tab));
    assert_eq!(app.selected, Slider::PerSecond);
    assert_eq!(
        app.update(key(KeyCode::Right)),
        [Effect::Send(Command::SetLimits(Limits::new(20, 50.0)))]
    );
    assert_eq!(
        app.update(ch('u')),
        [Effect::Send(Command::SetLimits(Limits::new(20, 0.0)))],
        "u: unlimited"
    );
    assert_eq!(
        app.update(key(KeyCode::Left)),
        [Effect::Send(Command::SetLimits(Limits::new(20, 10_000.0)))]
    );
    // Stepping past the top is unlimited too.
    assert_eq!(
        app.update(key(KeyCode::Right)),
        [Effect::Send(Command::SetLimits(Limits::new(20, 0.0)))]
    );
}

#[test]
fn typing_an_exact_value() {
    let mut app = app();
    running(&mut app);
    app.update(key(KeyCode::Tab));
    assert_eq!(app.update(ch('2')), []);
    assert_eq!(
        input(&app).map(|i| (&i.prompt, i.text.as_str())),
        Some((&Prompt::Value(Slider::PerSecond), "2"))
    );
    app.update(ch('x'));
    app.update(ch('.'));
    app.update(ch('5'));
    assert_eq!(
        app.update(key(KeyCode::Enter)),
        [Effect::Send(Command::SetLimits(Limits::new(10, 2.5)))]
    );
    assert!(input(&app).is_none());
    // Escape cancels; 0 means unlimited; a fraction is refused for max at once.
    app.update(ch('7'));
    app.update(key(KeyCode::Esc));
    assert_eq!(app.limits.per_second, Some(2.5));
    app.update(ch('0'));
    assert_eq!(
        app.update(key(KeyCode::Enter)),
        [Effect::Send(Command::SetLimits(Limits::new(10, 0.0)))]
    );
    app.update(key(KeyCode::Tab));
    for c in "2.5".chars() {
        app.update(ch(c));
    }
    assert_eq!(app.update(key(KeyCode::Enter)), []);
    assert!(
        matches!(&app.notice, Some(Notice::Error(e)) if e.contains("whole number")),
        "{:?}",
        app.notice
    );
    assert_eq!(app.limits.max_at_once, Some(10));
}

#[test]
fn pause_resume_stop_and_rerun() {
    let mut app = app();
    assert_eq!(app.update(ch('p')), [], "nothing to pause");
    running(&mut app);
    assert_eq!(app.update(ch('p')), [Effect::Send(Command::Pause)]);
    assert_eq!(app.state, RunState::Paused);
    assert_eq!(app.update(ch(' ')), [Effect::Send(Command::Resume)]);
    assert_eq!(app.update(ch('r')), [], "no second run while one is going");
    assert!(matches!(app.notice, Some(Notice::Error(_))));
    assert_eq!(
        app.update(ch('s')),
        [Effect::Send(Command::Stop { grace: None })]
    );
    assert_eq!(app.state, RunState::Stopping);
    app.update(Msg::Engine(Event::Finished(Box::new(RunSummary {
        totals: Totals {
            done: 40,
            ok: 40,
            ..Totals::default()
        },
        stopped: true,
        ..RunSummary::default()
    }))));
    assert_eq!(app.state, RunState::Done);
    assert!(
        matches!(&app.notice, Some(Notice::Info(m)) if m.contains("40 requests") && m.contains("stopped"))
    );
    let effects = app.update(ch('r'));
    assert!(started(&effects).is_some(), "r runs again when done");
    assert_eq!(app.runs, 2);
}

#[test]
fn quitting_asks_while_a_run_is_going() {
    let mut app = app();
    running(&mut app);
    assert_eq!(app.update(ch('q')), []);
    assert!((app.overlay == Some(Overlay::ConfirmQuit)));
    assert_eq!(app.update(ch('n')), []);
    assert!(!(app.overlay == Some(Overlay::ConfirmQuit)));
    app.update(ch('q'));
    assert_eq!(
        app.update(ch('y')),
        [
            Effect::Send(Command::Stop {
                grace: Some(Duration::ZERO)
            }),
            Effect::Quit
        ]
    );
    let ctrl_c = Msg::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
    let mut idle = super::app();
    assert_eq!(idle.update(ctrl_c), [Effect::Quit]);
    assert_eq!(idle.update(ch('q')), [Effect::Quit], "idle: no question");
}

#[test]
fn key_releases_are_ignored_and_help_closes_on_any_key() {
    let mut app = app();
    let mut release = KeyEvent::new(KeyCode::Char('r'), KeyModifiers::NONE);
    release.kind = KeyEventKind::Release;
    assert_eq!(app.update(Msg::Key(release)), []);
    assert_eq!(app.state, RunState::Idle);
    app.update(ch('?'));
    assert!((app.overlay == Some(Overlay::Help)));
    assert_eq!(app.update(ch('r')), [], "the key only closes the help");
    assert!(!(app.overlay == Some(Overlay::Help)));
}

#[test]
fn opening_needs_a_batch_and_no_run() {
    let mut empty = App::new(Start::default());
    assert_eq!(empty.update(ch('r')), []);
    assert!(matches!(&empty.notice, Some(Notice::Error(e)) if e.contains("no batch")));
    empty.update(ch('o'));
    for c in "b.json".chars() {
        empty.update(ch(c));
    }
    assert_eq!(
        empty.update(key(KeyCode::Enter)),
        [Effect::OpenBatch("b.json".into())]
    );
    let mut busy = app();
    running(&mut busy);
    busy.update(ch('o'));
    assert!(input(&busy).is_none());
}

#[test]
fn selection_shows_without_colour() {
    // The selected slider is reversed even under NO_COLOR's plain theme.
    let terminal = render(&app());
    let buffer = terminal.backend().buffer();
    let row: Vec<_> = (0..80).map(|x| buffer[(x, 2)].clone()).collect();
    let label_start = row.iter().position(|c| c.symbol() == "m").unwrap();
    assert!(
        row[label_start]
            .modifier
            .contains(ratatui::style::Modifier::REVERSED)
    );
    let per_second = (0..80).find(|x| buffer[(*x, 2)].symbol() == "p").unwrap();
    assert!(
        !buffer[(per_second, 2)]
            .modifier
            .contains(ratatui::style::Modifier::REVERSED)
    );
}

#[test]
fn rerun_failed_and_export_keys() {
    let mut app = app();
    assert_eq!(app.update(ch('f')), []);
    assert!(matches!(&app.notice, Some(Notice::Error(e)) if e.contains("no run yet")));
    assert_eq!(app.update(ch('e')), []);
    assert!(matches!(&app.notice, Some(Notice::Error(e)) if e.contains("no results")));
    running(&mut app);
    app.journal = Some("/tmp/x/inventory-1-run1.jsonl".into());
    app.update(Msg::Engine(Event::Finished(Box::new(RunSummary {
        totals: Totals {
            done: 100,
            ok: 98,
            failed: 2,
            ..Totals::default()
        },
        ..RunSummary::default()
    }))));
    let effects = app.update(ch('f'));
    assert_eq!(
        started(&effects).map(|r| &r.rows),
        Some(&Rows::FailedIn("/tmp/x/inventory-1-run1.jsonl".into())),
        "the session reads the failures from the last run's journal"
    );
    assert_eq!(app.stats.total, Some(2), "the re-run is the failed two");
    app.update(Msg::Engine(Event::Finished(Box::default())));
    let effects = app.update(ch('r'));
    assert_eq!(
        started(&effects).map(|r| &r.rows),
        Some(&Rows::All),
        "r runs the whole batch again"
    );
    app.update(Msg::Engine(Event::Finished(Box::default())));
    app.update(ch('e'));
    assert_eq!(
        input(&app).map(|i| i.text.as_str()),
        Some("inventory-1-run1.csv"),
        "a sensible default name"
    );
    // An extension that names no format is refused, with the list.
    for c in "ar".chars() {
        app.update(ch(c));
    }
    assert_eq!(app.update(key(KeyCode::Enter)), []);
    assert!(
        matches!(&app.notice, Some(Notice::Error(e)) if e.contains("inventory-1-run1.csvar") && e.contains(".csv, .json, .jsonl, .har or .xlsx")),
        "{:?}",
        app.notice
    );
    app.update(ch('e'));
    for _ in 0..3 {
        app.update(key(KeyCode::Backspace));
    }
    for c in "json".chars() {
        app.update(ch(c));
    }
    let effects = app.update(key(KeyCode::Enter));
    assert_eq!(
        effects,
        [Effect::Export {
            journal: "/tmp/x/inventory-1-run1.jsonl".into(),
            out: "/tmp/x/inventory-1-run1.json".into(),
            format: crate::export::ExportFormat::Json
        }],
        "a bare name goes beside the run's results, by its full path"
    );
    app.update(Msg::Exported(Ok(("out.json".into(), 7))));
    assert!(matches!(&app.notice, Some(Notice::Info(m)) if m.contains("exported 7 results")));
    app.update(Msg::Exported(Err("cannot export to /nope: denied".into())));
    assert!(
        matches!(&app.notice, Some(Notice::Error(e)) if e.contains("denied")),
        "a failed export is a message"
    );
}

#[test]
fn the_batch_editor_validates_generations_and_applies() {
    use super::super::app::View;
    let mut app = app();
    app.batch_text = Some("[\"http://h/a\", \"http://h/b\"]".into());
    let effects = app.update(ch('b'));
    assert_eq!(app.view, View::Batch);
    let Some(Effect::Validate {
        generation: first,
        text,
        ..
    }) = effects.first().cloned()
    else {
        panic!("{effects:?}")
    };
    assert_eq!(text, "[\"http://h/a\", \"http://h/b\"]");
    // Keys edit the text: `q` and `r` are letters here, not commands.
    app.update(key(KeyCode::End));
    let effects = app.update(ch('q'));
    let Some(Effect::Validate {
        generation: second,
        text,
        ..
    }) = effects.first().cloned()
    else {
        panic!("{effects:?}")
    };
    assert!(second > first);
    assert!(text.ends_with("]q"));
    assert_eq!(app.state, RunState::Idle);
    // A stale result is ignored; the current one is kept.
    let parse = |t: &str| Batch::parse_str(t, Path::new("b.json"), &LoadOptions::default());
    app.update(Msg::Validated {
        generation: first,
        result: parse("[\"http://h/a\"]"),
    });
    assert!(app.editor.validation.is_none());
    app.update(Msg::Validated {
        generation: second,
        result: parse(&text),
    });
    assert!(matches!(&app.editor.validation, Some(Err(e)) if e.line == Some(1)));
    let ctrl_s = Msg::Key(KeyEvent::new(KeyCode::Char('s'), KeyModifiers::CONTROL));
    app.update(ctrl_s.clone());
    assert!(matches!(&app.notice, Some(Notice::Error(e)) if e.contains("not applied")));
    assert_eq!(app.stats.total, Some(100), "the old batch stays");
    // Fix it, and apply.
    let effects = app.update(key(KeyCode::Backspace));
    let Some(Effect::Validate {
        generation, text, ..
    }) = effects.first().cloned()
    else {
        panic!()
    };
    app.update(Msg::Validated {
        generation,
        result: parse(&text),
    });
    app.update(ctrl_s);
    assert_eq!(app.stats.total, Some(2));
    assert_eq!(app.batch.as_ref().map(Batch::len), Some(2));
    app.update(key(KeyCode::Esc));
    assert_eq!(app.view, View::Dashboard);
}

#[test]
fn the_results_table_keys() {
    use super::super::app::View;
    use crate::export::{ResultFilter, ResultOrder};
    let mut app = app();
    assert_eq!(app.update(ch('v')), []);
    assert!(matches!(&app.notice, Some(Notice::Error(e)) if e.contains("no results yet")));
    app.journal = Some("/tmp/j.jsonl".into());
    let load = |filter, order| Effect::LoadResults {
        journal: "/tmp/j.jsonl".into(),
        filter,
        order,
        around: 0,
    };
    assert_eq!(
        app.update(ch('v')),
        [load(ResultFilter::All, ResultOrder::Index)]
    );
    assert_eq!(app.view, View::Results);
    assert_eq!(
        app.update(key(KeyCode::Enter)),
        [],
        "Enter on an empty table does nothing"
    );
    assert!(input(&app).is_none() && !(app.overlay == Some(Overlay::Detail)));
    let rows: Vec<_> = (0..30)
        .map(|i| result_record(i, Some(200), i as f64))
        .collect();
    let (_dir, loaded) = indexed(&rows);
    app.update(loaded);
    app.results.height.set(10);
    app.update(key(KeyCode::PageDown));
    app.update(key(KeyCode::Down));
    assert_eq!(app.results.selected, 11);
    app.update(key(KeyCode::End));
    assert_eq!(app.results.selected, 29);
    assert_eq!(
        app.update(key(KeyCode::Tab)),
        [load(ResultFilter::Ok, ResultOrder::Index)]
    );
    assert_eq!(app.results.selected, 0);
    assert_eq!(
        app.update(key(KeyCode::BackTab)),
        [load(ResultFilter::All, ResultOrder::Index)]
    );
    assert_eq!(
        app.update(ch('o')),
        [load(ResultFilter::All, ResultOrder::SlowestFirst)]
    );
    app.update(key(KeyCode::Enter));
    assert!((app.overlay == Some(Overlay::Detail)));
    app.update(key(KeyCode::Esc));
    assert!(
        !(app.overlay == Some(Overlay::Detail)),
        "Esc closes the details first"
    );
    app.update(key(KeyCode::Esc));
    assert_eq!(app.view, View::Dashboard);
    // Global keys still work from the table.
    app.view = View::Results;
    assert!(started(&app.update(ch('r'))).is_some());
}

#[test]
fn the_results_table_pages_through_a_long_journal() {
    use super::super::app::View;
    use crate::tui::results::PAGE;
    let mut app = app();
    app.journal = Some("/tmp/j.jsonl".into());
    app.view = View::Results;
    let rows: Vec<_> = (0..3_000)
        .map(|i| result_record(i, Some(200), i as f64))
        .collect();
    let (_dir, loaded) = indexed(&rows);
    app.update(loaded);
    app.results.height.set(20);
    assert_eq!(app.results.len(), 3_000);
    assert_eq!(app.results.rows.len(), PAGE, "one page in memory");
    // Moving well inside the page reads nothing.
    for _ in 0..5 {
        assert_eq!(app.update(key(KeyCode::PageDown)), []);
    }
    assert_eq!(app.results.selected, 100);
    // Near its end, the next page is asked for, once.
    let mut asked = vec![];
    for _ in 0..15 {
        asked.extend(app.update(key(KeyCode::PageDown)));
    }
    assert_eq!(app.results.selected, 400);
    let [Effect::LoadPage { index, offset }] = asked.as_slice() else {
        panic!("one page read: {asked:?}");
    };
    assert_eq!(
        *offset,
        400 - PAGE / 2,
        "centred on the selection that asked"
    );
    // The page arrives: the selection's row is in memory again.
    let page = index.page(*offset, PAGE).unwrap();
    assert_eq!(
        app.update(Msg::ResultsPage {
            index: index.clone(),
            offset: *offset,
            rows: Ok(page),
        }),
        []
    );
    assert_eq!(app.results.selected_row().unwrap().index, 400);
    // End jumps to the last result and reads the last page.
    let effects = app.update(key(KeyCode::End));
    assert_eq!(app.results.selected, 2_999);
    assert!(app.results.selected_row().is_none(), "not read yet");
    let [Effect::LoadPage { index, offset }] = effects.as_slice() else {
        panic!("{effects:?}");
    };
    assert_eq!(*offset, 3_000 - PAGE);
    let page = index.page(*offset, PAGE).unwrap();
    app.update(Msg::ResultsPage {
        index: index.clone(),
        offset: *offset,
        rows: Ok(page),
    });
    assert_eq!(app.results.selected_row().unwrap().index, 2_999);
    assert_eq!(app.results.rows.len(), PAGE, "still one page in memory");
    // A page read for an index since replaced is dropped.
    let (_dir2, reloaded) = indexed(&rows[..10]);
    app.update(reloaded);
    app.update(Msg::ResultsPage {
        index: index.clone(),
        offset: 0,
        rows: Ok(index.page(0, PAGE).unwrap()),
    });
    assert_eq!(app.results.rows.len(), 10);
}

#[test]
fn the_runs_view_marks_two_to_compare() {
    use super::super::app::View;
    let mut app = app();
    app.runs_log = vec![
        run_entry(1, 10, 20.0, 19.9, 0),
        run_entry(2, 20, 50.0, 48.7, 3),
        run_entry(3, 20, 50.0, 48.0, 1),
    ];
    app.update(ch('c'));
    assert_eq!(app.view, crate::tui::app::View::Runs);
    app.update(ch(' ')); // the most recent: run 3 (index 2)
    app.update(key(KeyCode::Down));
    app.update(ch(' ')); // run 2
    assert_eq!(app.runs_view.marked, [2, 1]);
    app.update(key(KeyCode::Down));
    app.update(ch(' ')); // run 1: the oldest mark goes
    assert_eq!(app.runs_view.marked, [1, 0]);
    app.update(ch(' ')); // unmark run 1
    assert_eq!(app.runs_view.marked, [1]);
    app.update(key(KeyCode::Esc));
    assert_eq!(app.view, View::Dashboard);
}

#[test]
fn the_errors_overlay_selects_a_group_and_shows_its_results() {
    use super::super::app::View;
    use crate::export::{ResultFilter, ResultOrder};
    let mut app = app();
    assert_eq!(app.update(ch('x')), []);
    assert!(
        errors_at(&app).is_none(),
        "nothing to show before a failure"
    );
    let mut app = scripted(RunState::Running, 40);
    app.update(ch('x'));
    assert_eq!(errors_at(&app), Some(0));
    app.update(key(KeyCode::Down));
    app.update(key(KeyCode::Down));
    app.update(key(KeyCode::Down));
    assert_eq!(errors_at(&app), Some(2), "stops at the last group");
    app.update(key(KeyCode::Up));
    assert_eq!(
        app.stats.errors[1].class,
        FailureClass::Status(503),
        "the busiest groups first (by answers, then final results)"
    );
    // Enter shows the group's requests in the results table.
    let effects = app.update(key(KeyCode::Enter));
    assert_eq!(app.view, View::Results);
    assert_eq!(errors_at(&app), None);
    assert_eq!(
        effects,
        [Effect::LoadResults {
            journal: "/tmp/ratebench/inventory-run1.jsonl".into(),
            filter: ResultFilter::ServerError,
            order: ResultOrder::Index,
            around: 0,
        }]
    );
    // The timeout group maps to every failed request; 429s to theirs.
    app.view = View::Dashboard;
    app.update(ch('x'));
    app.update(key(KeyCode::Down));
    app.update(key(KeyCode::Down));
    app.update(key(KeyCode::Enter));
    assert_eq!(app.results.filter, ResultFilter::Failed);
    app.view = View::Dashboard;
    app.update(ch('x'));
    app.update(key(KeyCode::Enter));
    assert_eq!(app.results.filter, ResultFilter::RateLimited);
    // Esc closes without moving.
    app.view = View::Dashboard;
    app.update(ch('x'));
    app.update(key(KeyCode::Esc));
    assert_eq!((errors_at(&app), app.view), (None, View::Dashboard));
}

#[test]
fn export_progress_shows_until_the_export_ends() {
    let mut app = scripted(RunState::Done, 100);
    let progress = crate::export::Progress {
        records: 10_000,
        bytes_read: 1_000,
        bytes_total: 4_000,
    };
    app.update(Msg::ExportProgress(progress));
    assert_eq!(app.exporting, Some(progress));
    let screen = format!("{}", render(&app).backend());
    assert!(screen.contains(" 25 % · 10000 results"), "{screen}");
    app.update(Msg::Exported(Ok(("out.csv".into(), 40_000))));
    assert_eq!(app.exporting, None);
    assert!(matches!(&app.notice, Some(Notice::Info(m)) if m.contains("exported 40000")));
    app.update(Msg::ExportProgress(progress));
    app.update(Msg::Exported(Err("cannot export to /x: denied".into())));
    assert_eq!(app.exporting, None);
    assert!(matches!(&app.notice, Some(Notice::Error(_))));
}

#[test]
fn auto_tune_moves_the_rate_settles_and_gives_the_controls_back() {
    let mut app = app();
    assert_eq!(app.update(ch('a')), []);
    assert!(app.autotune.is_none(), "only during a run");
    running(&mut app);
    app.update(Msg::Stats(Box::new(limited_stats(&[], 20.0))));
    // From the slider's rate (20/s in this batch).
    assert_eq!(app.update(ch('a')), []);
    assert!(app.autotune.is_some());
    // A second at 20/s, all fine: it climbs.
    let effects = app.update(Msg::Stats(Box::new(limited_stats(&[20.0], 20.0))));
    assert_eq!(
        effects,
        [Effect::Send(Command::Tune(Limits::new(10, 40.0)))],
        "a controller's change, so the run's timeline says auto-tune"
    );
    // Less than a second later: nothing new.
    let mut early = limited_stats(&[20.0], 20.0);
    early.elapsed += Duration::from_millis(500);
    assert_eq!(app.update(Msg::Stats(Box::new(early))), []);
    // Keep answering like a 20/s limiter until it settles.
    let mut rates = vec![20.0];
    for _ in 0..60 {
        rates.push(app.limits.per_second.unwrap());
        app.update(Msg::Stats(Box::new(limited_stats(&rates, 20.0))));
        if app.autotune.is_none() {
            break;
        }
    }
    assert!(app.autotune.is_none(), "settled within a minute");
    let tuned = app.tuned.clone().unwrap();
    let rate = app.limits.per_second.unwrap();
    assert_eq!(rate, tuned.per_second);
    assert!((18.0..=20.6).contains(&rate), "{rate}");
    assert_eq!(app.limits.max_at_once, Some(tuned.max_at_once));
    assert!(matches!(&app.notice, Some(Notice::Info(m)) if m.contains("auto-tune settled")));
    let screen = format!("{}", render(&app).backend());
    assert!(screen.contains(&format!("tuned {rate}")), "{screen}");

    // Touching a limit takes the controls back at once.
    app.update(ch('a'));
    assert!(app.autotune.is_some());
    app.update(key(KeyCode::Left));
    assert!(app.autotune.is_none());
    assert!(matches!(&app.notice, Some(Notice::Info(m)) if m.contains("auto-tune off")));
}

#[test]
fn the_plan_shows_under_the_chart_until_taken_over() {
    use crate::model::Profile;
    let mut app = app();
    app.profile = Some(
        Profile::stages([
            (10.0, Duration::from_secs(30)),
            (100.0, Duration::from_secs(60)),
        ])
        .unwrap(),
    );
    let screen = format!("{}", render(&app).backend());
    assert!(screen.contains("plan 10/s 30s → 100/s 1m"), "{screen}");
    running(&mut app);
    app.update(key(KeyCode::Right));
    let screen = format!("{}", render(&app).backend());
    assert!(screen.contains("taken over"), "{screen}");
}

#[test]
fn t_shows_the_rate_limits_panel() {
    let mut app = scripted(RunState::Running, 40);
    let screen = format!("{}", render(&app).backend());
    assert!(!screen.contains("rate limits"));
    app.update(ch('t'));
    let screen = format!("{}", render(&app).backend());
    assert!(screen.contains("20 per 1 s (20.0/s)"), "{screen}");
    assert!(screen.contains("0.5 now"), "{screen}");
    // A tall terminal shows it beside the endpoints, without asking.
    app.update(ch('t'));
    let tall = format!("{}", render_at(&app, 100, 32).backend());
    assert!(
        tall.contains("rate limits") && tall.contains("endpoints"),
        "{tall}"
    );
}

#[test]
fn auto_tune_lifts_a_cap_that_binds() {
    let mut app = app();
    running(&mut app);
    app.update(Msg::Stats(Box::new(limited_stats(&[], 1000.0))));
    app.update(ch('a'));
    let mut s = limited_stats(&[20.0], 1000.0);
    s.binding = Binding::MaxAtOnce;
    let effects = app.update(Msg::Stats(Box::new(s)));
    assert_eq!(
        effects.last(),
        Some(&Effect::Send(Command::Tune(Limits::new(20, 40.0))))
    );
    assert_eq!(app.limits.max_at_once, Some(20));
}

#[test]
fn a_coalesced_batch_shows_calls_and_jobs_beside_items() {
    let text = r#"{"base_url": "http://127.0.0.1:3000",
        "coalesce": {"url": "/batch/geocode", "max_items": 10},
        "requests": [{"url": "/geocode?text={{i}}", "for_each": {"i": {"range": [0, 100]}}}]}"#;
    let batch = Batch::parse_str(text, Path::new("c.json"), &LoadOptions::default()).unwrap();
    let mut app = App::new(Start {
        limits: Limits::new(10, 20.0),
        ..Start::default()
    });
    app.set_batch(batch);
    running(&mut app);
    let mut s = snapshot_stats(RunState::Running, 40);
    s.jobs_pending = 3;
    s.oldest_job = Some(Duration::from_millis(1_500));
    s.start_rate = 2.5;
    s.batches = Some(crate::stats::BatchStats {
        calls: 4,
        items_per_call: 10.0,
        polling: Percentiles {
            p50: 350.0,
            p99: 610.0,
            ..Percentiles::default()
        },
        arrivals: None,
    });
    app.update(Msg::Stats(Box::new(s)));
    let screen = format!("{}", render_at(&app, 100, 32).backend());
    assert!(screen.contains("calls 2.5/s"), "{screen}");
    assert!(screen.contains("jobs pending 3 (oldest 1.5s)"), "{screen}");
    assert!(
        screen.contains("4 calls · 10 items each · jobs done in p50 350 ms, p99 610 ms"),
        "{screen}"
    );
}

#[test]
fn k_and_brackets_steer_coalescing() {
    let text = r#"{"base_url": "http://127.0.0.1:3000",
        "coalesce": {"url": "/batch/geocode", "max_items": 10},
        "requests": [{"url": "/geocode?text={{i}}", "for_each": {"i": {"range": [0, 100]}}}]}"#;
    let batch = Batch::parse_str(text, Path::new("c.json"), &LoadOptions::default()).unwrap();
    // Opened with the batch, as `ratebench BATCH` does, or loaded later.
    assert!(
        App::new(Start {
            batch: Some(batch.clone()),
            ..Start::default()
        })
        .coalescing()
    );
    let mut app = App::new(Start {
        limits: Limits::new(10, 20.0),
        ..Start::default()
    });
    app.set_batch(batch);
    assert!(app.coalescing());
    assert_eq!(app.update(ch(']')), [], "idle: nothing to tell the engine");
    assert_eq!(app.max_items, Some(20));
    running(&mut app);
    assert_eq!(
        app.update(ch('[')),
        [Effect::Send(Command::SetMaxItems(10))]
    );
    let screen = format!("{}", render(&app).backend());
    assert!(screen.contains("10 per call"), "{screen}");
    app.update(ch('k'));
    assert!(!app.coalescing());
    let screen = format!("{}", render(&app).backend());
    assert!(screen.contains("one by one"), "{screen}");
    // A batch without a coalesce section has nothing to toggle.
    let mut plain = self::app();
    plain.update(ch('k'));
    assert!(matches!(&plain.notice, Some(Notice::Error(e)) if e.contains("no coalesce section")));
}

#[test]
fn a_pasted_curl_command_becomes_a_request_of_the_batch() {
    use super::super::app::View;
    let mut app = app();
    app.batch_text = Some(r#"{"max_at_once": 2, "requests": ["http://127.0.0.1:3000/a"]}"#.into());
    // On the dashboard, a curl paste opens the editor with the request added.
    let effects = app.update(Msg::Paste(
        "curl 'http://127.0.0.1:3000/b' \\\n  -H 'X-Trace: 1' \\\n  --data-raw '{\"n\":1}' -H 'Content-Type: application/json'".into(),
    ));
    assert_eq!(app.view, View::Batch);
    assert!(
        matches!(effects.last(), Some(Effect::Validate { .. })),
        "{effects:?}"
    );
    let batch = editor_json(&app);
    assert_eq!(batch["max_at_once"], 2, "the rest of the batch is kept");
    let added = &batch["requests"][1];
    assert_eq!(added["method"], "POST");
    assert_eq!(added["url"], "http://127.0.0.1:3000/b");
    assert_eq!(added["headers"]["X-Trace"], "1");
    assert_eq!(added["json"], serde_json::json!({"n": 1}));
    assert!(matches!(&app.notice, Some(Notice::Info(m)) if m.contains("added 1 request")));
    // Other text pasted in the editor is inserted as typed.
    app.update(Msg::Paste("\n".into()));
    assert_eq!(
        app.editor.textarea.lines().last().map(String::as_str),
        Some("")
    );
    // A broken command adds nothing and says why.
    let before = app.editor.textarea.lines().to_vec();
    app.update(Msg::Paste("curl --nope https://a/x".into()));
    assert_eq!(app.editor.textarea.lines(), before.as_slice());
    assert!(
        matches!(&app.notice, Some(Notice::Error(m)) if m.contains("unknown curl option `--nope`"))
    );
    // Outside the editor, other text is not taken for a request.
    let mut other = self::app();
    other.update(Msg::Paste("hello".into()));
    assert_eq!(other.view, View::Dashboard);
    assert!(matches!(&other.notice, Some(Notice::Error(_))));
    // A URL list takes a plain request, and refuses one with headers.
    let mut list = App::new(Start::default());
    list.set_batch(
        Batch::parse_str(
            "http://h/a\n",
            Path::new("urls.txt"),
            &LoadOptions::default(),
        )
        .unwrap(),
    );
    list.batch_text = Some("http://h/a\n".into());
    list.update(Msg::Paste("curl -X DELETE http://h/b".into()));
    assert_eq!(
        list.editor.textarea.lines(),
        ["http://h/a", "DELETE http://h/b"]
    );
    list.update(Msg::Paste("curl -H 'A: 1' http://h/c".into()));
    assert!(matches!(&list.notice, Some(Notice::Error(m)) if m.contains("URL list")));
}

#[test]
fn the_resume_offer_shows_and_r_starts_the_rest() {
    let mut app = app();
    assert!(app.update(ch('R')).is_empty(), "nothing to resume yet");
    app.update(Msg::InterruptedFound(Some(crate::session::Interrupted {
        journal: "j.jsonl".into(),
        done: 40,
        total: 100,
    })));
    assert!(
        matches!(&app.notice, Some(Notice::Info(m)) if m.contains("has 40 of 100 results: R resumes it"))
    );
    let effects = app.update(ch('R'));
    let run = started(&effects).expect("R starts a run");
    assert_eq!(
        run.rows,
        Rows::Resume {
            retry_failed: false,
            force: false
        }
    );
    assert_eq!(
        run.resume,
        Some("j.jsonl".into()),
        "appending to its journal"
    );
    assert_eq!(app.stats.total, Some(60));
}

#[test]
fn pasting_into_a_value_prompt_takes_only_what_typing_would() {
    let mut app = app();
    app.update(ch('5'));
    let before = input(&app).expect("a value prompt").text.clone();
    app.update(Msg::Paste("0x1.5 per second\nignored".into()));
    assert_eq!(input(&app).unwrap().text, format!("{before}01.5"));
}

#[test]
fn a_batch_that_ends_before_auto_tune_settles_leaves_the_best_rate_that_held() {
    let mut app = app();
    running(&mut app);
    app.update(Msg::Stats(Box::new(limited_stats(&[], 30.0))));
    app.update(ch('a'));
    // 20/s held for two seconds; 40/s was refused; then the batch ended
    // in the middle of the search.
    let mut rates = vec![];
    for _ in 0..3 {
        rates.push(app.limits.per_second.unwrap());
        app.update(Msg::Stats(Box::new(limited_stats(&rates, 30.0))));
    }
    assert!(app.autotune.is_some(), "still searching");
    assert!(app.limits.per_second != Some(20.0), "on a trial");
    app.update(Msg::Engine(Event::Finished(Box::default())));
    assert!(app.autotune.is_none());
    assert_eq!(
        app.limits.per_second,
        Some(20.0),
        "the best rate held, not the trial"
    );
    assert!(
        matches!(&app.notice, Some(Notice::Info(m)) if m.contains("ended before auto-tune settled: best held 20/s for 1 s")),
        "{:?}",
        app.notice
    );

    // Nothing held at all: the limits go back to where they were.
    let mut app = self::app();
    running(&mut app);
    app.update(Msg::Stats(Box::new(limited_stats(&[], 10.0))));
    app.update(ch('a'));
    app.update(Msg::Stats(Box::new(limited_stats(&[20.0], 10.0))));
    app.update(Msg::Engine(Event::Finished(Box::default())));
    assert_eq!(app.limits, Limits::new(10, 20.0), "as before auto-tune");
    assert!(
        matches!(&app.notice, Some(Notice::Info(m)) if m.contains("no rate held")),
        "{:?}",
        app.notice
    );
}

#[test]
fn esc_goes_back_and_never_quits() {
    let mut app = app();
    assert_eq!(
        app.update(key(KeyCode::Esc)),
        [],
        "Esc on the dashboard does nothing"
    );
    app.update(ch('c'));
    assert_eq!(app.view, crate::tui::app::View::Runs);
    assert_eq!(app.update(key(KeyCode::Esc)), []);
    assert_eq!(app.view, crate::tui::app::View::Dashboard, "Esc goes back");
    assert_eq!(app.update(ch('q')), [Effect::Quit], "q quits");
}

#[test]
fn every_notice_goes_to_the_message_log_newest_first() {
    let mut app = app();
    app.update(ch('f'));
    app.update(ch('e'));
    assert_eq!(app.messages.len(), 2);
    assert!(matches!(&app.messages[1].1, Notice::Error(e) if e.contains("no results")));
    assert_eq!(
        app.messages[1].0.len(),
        8,
        "a time of day: {}",
        app.messages[1].0
    );
    app.update(ch('m'));
    assert_eq!(app.overlay, Some(Overlay::Messages));
    let screen = draw_to_string(&app, 80, 24);
    let first = screen.find("no results").expect(&screen);
    let second = screen.find("no run yet").expect(&screen);
    assert!(first < second, "newest first:\n{screen}");
    app.update(ch('x'));
    assert_eq!(app.overlay, None, "any key closes it");
}

#[test]
fn a_notice_too_long_for_the_line_points_at_the_log() {
    let mut app = app();
    app.update(Msg::Exported(Err(format!(
        "cannot export to /a/very/long/path/{}/results.csv: permission denied",
        "deep/".repeat(20)
    ))));
    let screen = draw_to_string(&app, 80, 24);
    let footer = screen.lines().last().unwrap();
    assert!(footer.ends_with("… (m)"), "{footer}");
    assert!(
        app.messages.back().unwrap().1 == app.notice.clone().unwrap(),
        "whole in the log"
    );
}

#[test]
fn a_small_terminal_keeps_the_limits_the_progress_and_the_keys() {
    let app = app();
    let screen = draw_to_string(&app, 60, 15);
    assert!(screen.contains("max at once"), "{screen}");
    assert!(screen.contains("progress"), "{screen}");
    assert!(
        screen.contains("enlarge the terminal for the panels"),
        "{screen}"
    );
    assert!(!screen.contains("latency"), "no squashed panels:\n{screen}");
    assert!(screen.lines().last().unwrap().contains("r run"), "{screen}");
}

#[test]
fn t_says_where_the_limits_panel_is_when_it_is_on_screen_already() {
    let mut app = app();
    app.drew(40);
    app.update(ch('t'));
    assert!(!app.show_limits);
    assert!(matches!(&app.notice, Some(Notice::Info(m)) if m.contains("on screen")));
    app.drew(24);
    app.update(ch('t'));
    assert!(app.show_limits, "on a shorter screen it swaps the panel in");
}

#[test]
fn saving_over_a_file_asks_first() {
    let dir = tempfile::tempdir().unwrap();
    let existing = dir.path().join("b.json");
    let mut app = app();
    app.update(ch('w'));
    let typed = |app: &mut App, text: &str| {
        app.update(ctrl('u'));
        for c in text.chars() {
            app.update(ch(c));
        }
        app.update(key(KeyCode::Enter))
    };
    let effects = typed(&mut app, existing.to_str().unwrap());
    let [save @ Effect::SaveBatch { replace: false, .. }] = effects.as_slice() else {
        panic!("{effects:?}");
    };
    let save = save.clone();
    // The loop finds the file there (off the UI thread) and asks.
    app.update(Msg::WouldReplace(Box::new(save.clone())));
    assert!(matches!(app.overlay, Some(Overlay::ConfirmOverwrite(_))));
    let screen = draw_to_string(&app, 100, 24);
    assert!(
        screen.contains("exists: replace it?") && screen.contains("y replace"),
        "{screen}"
    );
    assert_eq!(app.update(ch('n')), []);
    assert!(matches!(&app.notice, Some(Notice::Info(m)) if m.contains("not saved")));
    app.update(Msg::WouldReplace(Box::new(save)));
    let effects = app.update(ch('y'));
    assert!(
        matches!(effects.as_slice(), [Effect::SaveBatch { path, replace: true, .. }] if *path == existing),
        "{effects:?}"
    );
}

#[test]
fn prompts_edit_like_a_shell_and_complete_paths() {
    let mut app = app();
    app.update(ch('o'));
    for c in "/tmp/some dir/file.json".chars() {
        app.update(ch(c));
    }
    let text = |app: &App| input(app).map(|i| (i.text.clone(), i.cursor)).unwrap();
    app.update(ctrl('w'));
    assert_eq!(text(&app), ("/tmp/some dir/".into(), 14), "Ctrl-W: a word");
    app.update(key(KeyCode::Home));
    app.update(ch('x'));
    assert_eq!(
        text(&app),
        ("x/tmp/some dir/".into(), 1),
        "Home, then typing there"
    );
    app.update(key(KeyCode::End));
    app.update(key(KeyCode::Left));
    app.update(key(KeyCode::Backspace));
    assert_eq!(text(&app), ("x/tmp/some di/".into(), 13));
    app.update(ctrl('u'));
    assert_eq!(text(&app), (String::new(), 0), "Ctrl-U: the line");
    for c in "sample-batches/inv".chars() {
        app.update(ch(c));
    }
    let effects = app.update(key(KeyCode::Tab));
    assert_eq!(effects, [Effect::CompletePath("sample-batches/inv".into())]);
    app.update(Msg::Completed {
        typed: "sample-batches/inv".into(),
        completed: "sample-batches/inventory.json".into(),
        candidates: vec!["inventory.json".into()],
    });
    assert_eq!(text(&app), ("sample-batches/inventory.json".into(), 29));
}

#[test]
fn the_results_table_refreshes_while_the_run_goes_on_at_most_once_a_second() {
    let mut app = app();
    running(&mut app);
    app.journal = Some("/tmp/x/r.jsonl".into());
    app.update(ch('v'));
    app.results.loading = false;
    let stats_at = |ms: u64| {
        let mut s = StatsSnapshot::initial(Some(100), app_limits());
        s.state = RunState::Running;
        s.elapsed = Duration::from_millis(ms);
        Msg::Stats(Box::new(s))
    };
    let loads = |effects: &[Effect]| {
        effects
            .iter()
            .filter(|e| matches!(e, Effect::LoadResults { .. }))
            .count()
    };
    assert_eq!(loads(&app.update(stats_at(1_000))), 1, "read again");
    app.results.loading = false;
    assert_eq!(
        loads(&app.update(stats_at(1_500))),
        0,
        "not twice in a second"
    );
    assert_eq!(loads(&app.update(stats_at(2_100))), 1);
    app.results.loading = true;
    assert_eq!(
        loads(&app.update(stats_at(3_500))),
        0,
        "not while a read is under way"
    );
    app.results.loading = false;
    app.update(key(KeyCode::Esc));
    assert_eq!(
        loads(&app.update(stats_at(5_000))),
        0,
        "only with the table open"
    );
}

fn app_limits() -> Limits {
    Limits::new(10, 20.0)
}

#[test]
fn limits_do_not_move_while_they_are_not_on_screen() {
    let mut app = app();
    let before = app.limits;
    app.update(ch('c'));
    for k in [
        KeyCode::Right,
        KeyCode::Left,
        KeyCode::Char('u'),
        KeyCode::Char('5'),
    ] {
        assert_eq!(app.update(key(k)), []);
    }
    assert_eq!(app.limits, before);
    assert!(matches!(&app.notice, Some(Notice::Info(m)) if m.contains("Esc goes back")));
    app.update(key(KeyCode::Esc));
    app.update(key(KeyCode::Right));
    assert_ne!(app.limits, before, "on the dashboard they move");
}

/// The workbench with a batch whose items arrive at 200/s, 100 a call
/// on a 50 ms window.
fn arrivals_app() -> App {
    let text = r#"{"base_url": "http://127.0.0.1:3000",
        "coalesce": {"url": "/batch/geocode", "max_items": 100, "window": "50ms"},
        "arrivals": {"rate": 200},
        "requests": [{"url": "/geocode?text={{i}}", "for_each": {"i": {"range": [0, 100]}}}]}"#;
    let batch = Batch::parse_str(text, Path::new("c.json"), &LoadOptions::default()).unwrap();
    let mut app = App::new(Start {
        limits: Limits::new(10, 20.0),
        ..Start::default()
    });
    app.set_batch(batch);
    app
}

#[test]
fn arrivals_are_a_third_slider_and_braces_move_the_window() {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    let mut app = arrivals_app();
    let screen = format!("{}", render(&app).backend());
    assert!(
        screen.contains("arrivals") && screen.contains("200/s"),
        "{screen}"
    );
    assert!(screen.contains("window 50 ms"), "{screen}");
    running(&mut app);
    let tab = || Msg::Key(KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE));
    let right = || Msg::Key(KeyEvent::new(KeyCode::Right, KeyModifiers::NONE));
    app.update(tab());
    app.update(tab());
    assert_eq!(app.selected, Slider::Arrivals);
    assert_eq!(
        app.update(right()),
        [Effect::Send(Command::SetArrivalRate(500.0))],
        "200 → 500 on the 1-2-5 steps, sent at once"
    );
    assert_eq!(
        app.update(ch('}')),
        [Effect::Send(Command::SetWindow(
            std::time::Duration::from_millis(100)
        ))]
    );
    assert_eq!(
        app.update(ch('{')),
        [Effect::Send(Command::SetWindow(
            std::time::Duration::from_millis(50)
        ))]
    );
    app.update(tab());
    assert_eq!(app.selected, Slider::MaxAtOnce, "Tab goes round the three");
    // Without arrivals, there are two sliders and no window.
    let mut plain = self::app();
    plain.update(tab());
    plain.update(tab());
    assert_eq!(plain.selected, Slider::MaxAtOnce);
    plain.update(ch('}'));
    assert!(matches!(&plain.notice, Some(Notice::Error(e)) if e.contains("arrive over time")));
}

#[test]
fn the_batching_line_splits_an_items_time_and_counts_refused_calls() {
    let mut app = arrivals_app();
    running(&mut app);
    let mut s = snapshot_stats(RunState::Running, 40);
    let p = |p50, p99| Percentiles {
        p50,
        p99,
        ..Percentiles::default()
    };
    s.batches = Some(crate::stats::BatchStats {
        calls: 12,
        items_per_call: 11.0,
        polling: p(0.0, 0.0),
        arrivals: Some(crate::stats::ArrivalStats {
            queued: p(28.0, 51.0),
            call: p(3.0, 9.0),
            full_share: 0.25,
        }),
    });
    s.endpoints.push(crate::stats::EndpointStats {
        key: "batch calls".into(),
        count: 0,
        p50_ms: 0.0,
        p99_ms: 0.0,
        failed: 0,
        answers: 15,
        rate_limited: 3,
        errors: 0,
    });
    app.update(Msg::Stats(Box::new(s)));
    let screen = format!("{}", render_at(&app, 120, 36).backend());
    assert!(
        screen.contains("11 per call · 25% full · 3 refused · ms p50/p99: queued 28/51 call 3/9"),
        "{screen}"
    );
}

#[test]
fn parentheses_steer_the_connection_cap_and_the_in_flight_panel_shows_it() {
    let mut app = self::app();
    app.limits = Limits::new(16, 20.0);
    // Idle: the next run takes it.
    assert!(app.update(ch('(')).is_empty());
    let effects = app.update(ch('r'));
    assert_eq!(started(&effects).unwrap().max_connections, Some(Some(8)));
    // Running: sent at once, from the engine's cap.
    let mut s = snapshot_stats(RunState::Running, 10);
    s.connections = crate::stats::ConnectionCount {
        open: 8,
        opened: 8,
        cap: Some(8),
    };
    app.update(Msg::Stats(Box::new(s.clone())));
    assert_eq!(
        app.update(ch('(')),
        [Effect::Send(Command::SetMaxConnections(Some(4)))]
    );
    s.connections.cap = Some(4);
    s.connections.open = 4;
    app.update(Msg::Stats(Box::new(s.clone())));
    let screen = format!("{}", render(&app).backend());
    assert!(screen.contains("conns 4 / 4"), "{screen}");
    assert_eq!(
        app.update(ch(')')),
        [Effect::Send(Command::SetMaxConnections(Some(8)))]
    );
    s.connections.cap = Some(8);
    app.update(Msg::Stats(Box::new(s)));
    // Doubling to max at once lifts the cap.
    assert_eq!(
        app.update(ch(')')),
        [Effect::Send(Command::SetMaxConnections(None))]
    );
}
