use super::*;

#[test]
fn snapshot_dashboard_empty() {
    snap!("dashboard_no_batch", App::new(Start::default()));
}

#[test]
fn snapshot_dashboard_tall_shows_endpoints() {
    snap!(
        "dashboard_running_100x32",
        scripted(RunState::Running, 40),
        100,
        32
    );
}

#[test]
fn snapshot_batch_editor() {
    let mut app = app();
    app.batch_text = Some(
        "{\n  \"base_url\": \"http://127.0.0.1:3000\",\n  \"requests\": [\n    {\"url\": \"/inventory/{{k}}?id={{i}}\",\n     \"for_each\": {\"k\": [\"materials\", \"products\"], \"i\": {\"range\": [0, 50]}}}\n  ]\n}".into(),
    );
    let Some(Effect::Validate {
        generation,
        text,
        path,
    }) = app.update(ch('b')).first().cloned()
    else {
        panic!()
    };
    let result = Batch::parse_str(&text, &path, &LoadOptions::default());
    app.update(Msg::Validated { generation, result });
    snap!("batch_editor_valid", app);
    app.update(key(KeyCode::End));
    let effects = app.update(key(KeyCode::Backspace));
    let Some(Effect::Validate {
        generation,
        text,
        path,
    }) = effects.first().cloned()
    else {
        panic!()
    };
    app.update(Msg::Validated {
        generation,
        result: Batch::parse_str(&text, &path, &LoadOptions::default()),
    });
    snap!("batch_editor_error", app);
}

#[test]
fn snapshot_results() {
    let mut app = scripted(RunState::Done, 100);
    app.view = super::super::app::View::Results;
    let rows = vec![
        result_record(0, Some(200), 201.5),
        result_record(1, Some(429), 3.2),
        result_record(2, Some(503), 12.0),
        result_record(3, None, 5000.0),
        result_record(4, Some(200), 188.25),
    ];
    let (_dir, loaded) = indexed(&rows);
    app.update(loaded);
    app.update(key(KeyCode::Down));
    snap!("results_table", app);
    app.update(key(KeyCode::Down));
    app.update(key(KeyCode::Down));
    app.update(key(KeyCode::Enter));
    snap!("results_detail", app);
}

#[test]
fn snapshot_runs() {
    let mut app = app();
    app.runs_log = vec![
        run_entry(1, 10, 20.0, 19.9, 0),
        run_entry(2, 20, 50.0, 48.7, 3),
        run_entry(3, 20, 50.0, 48.0, 1),
    ];
    app.update(ch('c'));
    app.update(key(KeyCode::Down));
    app.update(ch(' '));
    app.update(key(KeyCode::Down));
    app.update(ch(' '));
    snap!("runs_compare", app);
}

#[test]
fn snapshot_every_view_and_overlay_in_every_state() {
    let screens = [
        "dashboard",
        "help",
        "value",
        "open",
        "export",
        "save",
        "errors",
        "limits",
        "autotune",
        "quit",
        "batch",
        "results",
        "result_detail",
        "runs",
    ];
    let states = [
        ("idle", RunState::Idle),
        ("running", RunState::Running),
        ("paused", RunState::Paused),
        ("done", RunState::Done),
    ];
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots/states"));
    settings.set_prepend_module_to_snapshot(false);
    let _bound = settings.bind_to_scope();
    for (label, state) in states {
        for screen in screens {
            let (mut app, dir) = in_state(state);
            let journal = dir.as_ref().map(|d| d.path().join("j.jsonl"));
            open_screen(&mut app, screen, journal.as_deref());
            // Keys must not have changed the state being shown.
            assert_eq!(app.state, state, "{screen} in {label}");
            let terminal = render(&app);
            insta::assert_snapshot!(format!("{label}__{screen}"), terminal.backend());
        }
    }
    // The export progress bar, while an export runs after a run.
    let (mut app, _dir) = in_state(RunState::Done);
    app.update(Msg::ExportProgress(crate::export::Progress {
        records: 45_000,
        bytes_read: 450,
        bytes_total: 1_000,
    }));
    insta::assert_snapshot!("done__exporting", render(&app).backend());
}
