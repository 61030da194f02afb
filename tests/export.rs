//! Exports round-trip: what a real run recorded reads back unchanged from
//! JSON Lines, JSON and CSV.

use crate::common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use ratebench::batch::{Batch, LoadOptions};
use ratebench::engine::{self, Limits, RunConfig};
use ratebench::export::{CsvRow, ExportFormat, MemorySink, writer};
use ratebench::model::RequestRecord;

/// A `Write` whose bytes the test can read after the sink is done.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `batch` run two at a time under `config`; its records in batch order.
async fn run_records(batch: &Batch, config: RunConfig) -> Vec<RequestRecord> {
    let sink = MemorySink::default();
    let config = RunConfig {
        limits: Limits::new(2, 0.0),
        ..config
    };
    let handle = engine::start(
        batch.requests(),
        Some(batch.len()),
        config,
        Box::new(sink.clone()),
    )
    .unwrap();
    handle.wait().await.unwrap();
    let mut records = sink.records();
    records.sort_by_key(|r| r.index);
    records
}

async fn real_records() -> Vec<RequestRecord> {
    let server = common::start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("b.json");
    std::fs::write(
        &path,
        r#"[
          {"url": "/echo", "method": "POST", "name": "echo, \"quoted\"", "body": "line one\nline two, with comma"},
          "/flaky/x", "/status/503", "/ok?token=abc"
        ]"#,
    )
    .unwrap();
    let batch = Batch::load_with(
        &path,
        &LoadOptions {
            base_url: Some(server.base()),
            format: None,
            ..Default::default()
        },
    )
    .unwrap();
    let records = run_records(
        &batch,
        RunConfig {
            keep_body: Some(1024),
            ..RunConfig::default()
        },
    )
    .await;
    assert_eq!(records.len(), 4);
    assert_eq!(
        records[0].body.as_deref(),
        Some("line one\nline two, with comma")
    );
    assert_eq!(
        records[1].headers.get("retry-after").map(String::as_str),
        Some("1")
    );
    assert_eq!(records[3].url.split_once('?').unwrap().1, "token=REDACTED");
    records
}

fn write_all(records: &[RequestRecord], format: ExportFormat) -> String {
    let out = Shared::default();
    let mut sink = writer(out.clone(), format).unwrap();
    for r in records {
        sink.write(r).unwrap();
    }
    sink.finish().unwrap();
    String::from_utf8(out.0.lock().unwrap().clone()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jsonl_json_and_csv_round_trip() {
    let records = real_records().await;

    let jsonl = write_all(&records, ExportFormat::Jsonl);
    let back: Vec<RequestRecord> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(back, records);

    let json = write_all(&records, ExportFormat::Json);
    let back: Vec<RequestRecord> = serde_json::from_str(&json).unwrap();
    assert_eq!(back, records);
    assert_eq!(
        serde_json::from_str::<Vec<RequestRecord>>(&write_all(&[], ExportFormat::Json)).unwrap(),
        []
    );

    let csv_text = write_all(&records, ExportFormat::Csv);
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let back: Vec<CsvRow> = reader.deserialize().map(Result::unwrap).collect();
    let expected: Vec<CsvRow> = records.iter().map(CsvRow::from).collect();
    assert_eq!(back, expected);
    assert_eq!(back[1].retry_after.as_deref(), Some("1"));
    assert_eq!(back[1].x_ratelimit_remaining.as_deref(), Some("0"));
    // One header row plus one row per request; every row has every column.
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let width = reader.headers().unwrap().len();
    assert!(reader.records().all(|r| r.unwrap().len() == width));
}

#[test]
fn format_follows_the_extension() {
    use std::path::Path;
    assert_eq!(
        ExportFormat::from_path(Path::new("a.csv")),
        ExportFormat::Csv
    );
    assert_eq!(
        ExportFormat::from_path(Path::new("a.JSON")),
        ExportFormat::Json
    );
    assert_eq!(
        ExportFormat::from_path(Path::new("a.jsonl")),
        ExportFormat::Jsonl
    );
    assert_eq!(
        ExportFormat::from_path(Path::new("a.out")),
        ExportFormat::Jsonl
    );
    assert_eq!(
        ExportFormat::from_path(Path::new("a.har")),
        ExportFormat::Har
    );
    assert_eq!(
        ExportFormat::from_path(Path::new("a.xlsx")),
        ExportFormat::Xlsx
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_journal_converts_to_every_format_and_lists_failures() {
    let records = real_records().await;
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("run.jsonl");
    std::fs::write(&journal, write_all(&records, ExportFormat::Jsonl)).unwrap();
    for (name, format) in [
        ("out.csv", ExportFormat::Csv),
        ("out.json", ExportFormat::Json),
        ("out.jsonl", ExportFormat::Jsonl),
    ] {
        let out = dir.path().join(name);
        assert_eq!(
            ratebench::export::convert(&journal, &out, format).unwrap(),
            4
        );
        let text = std::fs::read_to_string(&out).unwrap();
        assert_eq!(text, write_all(&records, format), "{name}");
    }
    let failed: Vec<u64> = ratebench::export::failed_indices(&journal)
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(failed, [1, 2], "the 429 and the 503");
    std::fs::write(&journal, "{\"index\": 1}\n").unwrap();
    let e = ratebench::export::convert(&journal, &dir.path().join("x.csv"), ExportFormat::Csv)
        .unwrap_err();
    assert!(e.to_string().contains("line 1"), "{e}");
}

#[test]
fn result_index_pages_a_filtered_ordered_journal() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("j.jsonl");
    let record = |index: u64, status: Option<u16>, latency: f64| RequestRecord {
        status,
        ok: status.is_some_and(|s| s < 400),
        attempts: 1,
        latency_ms: Some(latency),
        ..RequestRecord::new(index, "GET", format!("http://h/{index}"))
    };
    // Completion order, not index order; every 10th is a 503, every 7th got no answer.
    let all: Vec<RequestRecord> = (0..1000u64)
        .rev()
        .map(|i| {
            let status = if i % 7 == 0 {
                None
            } else if i % 10 == 0 {
                Some(503)
            } else {
                Some(200)
            };
            record(i, status, (i * 37 % 1000) as f64)
        })
        .collect();
    std::fs::write(&journal, write_all(&all, ExportFormat::Jsonl)).unwrap();
    use ratebench::export::{ResultFilter, ResultIndex, ResultOrder};
    let indices = |rows: &[RequestRecord]| rows.iter().map(|r| r.index).collect::<Vec<_>>();
    let index = ResultIndex::build(&journal, ResultFilter::All, ResultOrder::Index).unwrap();
    assert_eq!(index.len(), 1000);
    assert_eq!(
        indices(&index.page(0, 50).unwrap()),
        (0..50).collect::<Vec<_>>()
    );
    assert_eq!(
        indices(&index.page(990, 50).unwrap()),
        (990..1000).collect::<Vec<_>>(),
        "a page past the end is cut short"
    );
    assert!(index.page(2000, 5).unwrap().is_empty());
    let index =
        ResultIndex::build(&journal, ResultFilter::ServerError, ResultOrder::Index).unwrap();
    let expected: Vec<u64> = (0..1000).filter(|i| i % 10 == 0 && i % 7 != 0).collect();
    assert_eq!(index.len(), expected.len());
    assert_eq!(indices(&index.page(0, 1000).unwrap()), expected);
    let index = ResultIndex::build(&journal, ResultFilter::All, ResultOrder::SlowestFirst).unwrap();
    let mut slowest: Vec<f64> = all.iter().map(|r| r.latency_ms.unwrap()).collect();
    slowest.sort_by(|a, b| b.total_cmp(a));
    let latencies = |rows: Vec<RequestRecord>| -> Vec<f64> {
        rows.iter().map(|r| r.latency_ms.unwrap()).collect()
    };
    assert_eq!(latencies(index.page(0, 5).unwrap()), slowest[..5]);
    assert_eq!(latencies(index.page(500, 5).unwrap()), slowest[500..505]);
    let index = ResultIndex::build(&journal, ResultFilter::NoAnswer, ResultOrder::Index).unwrap();
    assert_eq!((index.len(), index.page(0, 3).unwrap().len()), (143, 3));
}

#[test]
fn conversion_reports_progress_and_the_index_skips_a_line_being_written() {
    use ratebench::export::{ResultFilter, ResultIndex, ResultOrder, convert_with_progress};
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("j.jsonl");
    let records: Vec<RequestRecord> = (0..25_000u64)
        .map(|index| RequestRecord {
            status: Some(200),
            ok: true,
            attempts: 1,
            latency_ms: Some(1.0),
            ..RequestRecord::new(index, "GET", format!("http://h/{index}"))
        })
        .collect();
    std::fs::write(&journal, write_all(&records, ExportFormat::Jsonl)).unwrap();
    let mut reports = vec![];
    let count = convert_with_progress(
        &journal,
        &dir.path().join("out.csv"),
        ExportFormat::Csv,
        |at| reports.push(at),
    )
    .unwrap();
    assert_eq!(count, 25_000);
    let seen: Vec<u64> = reports.iter().map(|p| p.records).collect();
    assert_eq!(seen, [10_000, 20_000, 25_000]);
    assert!(
        reports
            .windows(2)
            .all(|w| w[0].bytes_read < w[1].bytes_read)
    );
    assert_eq!(reports.last().unwrap().ratio(), 1.0);
    assert!(reports[0].ratio() > 0.3 && reports[0].ratio() < 0.5);

    // A record cut off mid-write (no newline yet) is left for later.
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&journal)
        .unwrap();
    std::io::Write::write_all(&mut file, b"{\"index\": 25000, \"ok\": tr").unwrap();
    let index = ResultIndex::build(&journal, ResultFilter::All, ResultOrder::Index).unwrap();
    assert_eq!(index.len(), 25_000);
}

/// A real run that keeps what it sent (as a HAR run does): a POST with a
/// secret header, a key in the query, a 503, and a refused connection.
async fn captured_records() -> Vec<RequestRecord> {
    let server = common::start().await;
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("b.json");
    std::fs::write(
        &path,
        format!(
            r#"{{"base_url": "{base}", "headers": {{"Authorization": "Bearer s3cret", "X-Api-Key": "k-1"}},
               "requests": [
                 {{"url": "/echo", "method": "POST", "json": {{"item": "tea"}}}},
                 "/ok?api_key=abc&page=2", "/status/503", "http://{closed}/gone"]}}"#,
            base = server.base()
        ),
    )
    .unwrap();
    let batch = Batch::load(&path).unwrap();
    let config = RunConfig {
        capture: true,
        ..RunConfig::default()
    };
    run_records(&batch, config).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn har_export_is_valid_har_1_2_with_what_was_sent_and_secrets_redacted() {
    let records = captured_records().await;
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("run.jsonl");
    std::fs::write(&journal, write_all(&records, ExportFormat::Jsonl)).unwrap();
    let out = dir.path().join("run.har");
    assert_eq!(
        ratebench::export::convert(&journal, &out, ExportFormat::from_path(&out)).unwrap(),
        4
    );
    let text = std::fs::read_to_string(&out).unwrap();

    // Valid against the HAR 1.2 schema.
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/har-1.2.schema.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&doc)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    // The schema is not vacuous: an entry without timings fails it.
    let mut broken = doc.clone();
    broken["log"]["entries"][0]
        .as_object_mut()
        .unwrap()
        .remove("timings");
    assert!(!validator.is_valid(&broken));

    // And it reads back with the har crate, as other tools read it.
    let har = har::from_str(&text).unwrap();
    let har::Spec::V1_2(log) = har.log else {
        panic!("not 1.2")
    };
    assert_eq!(log.entries.len(), 4);
    let post = &log.entries[0];
    assert_eq!(post.request.method, "POST");
    let sent = |name: &str| {
        post.request
            .headers
            .iter()
            .find(|h| h.name == name)
            .map(|h| h.value.as_str())
    };
    assert_eq!(sent("authorization"), Some("REDACTED"));
    assert_eq!(sent("x-api-key"), Some("REDACTED"));
    assert_eq!(sent("content-type"), Some("application/json"));
    let post_data = post.request.post_data.as_ref().unwrap();
    assert_eq!(post_data.text.as_deref(), Some(r#"{"item":"tea"}"#));
    assert_eq!(post.response.status, 200);
    assert!(post.time >= post.timings.wait);
    // Key-like query values are masked in the URL and the query list.
    let get = &log.entries[1];
    assert!(
        get.request.url.contains("api_key=REDACTED"),
        "{}",
        get.request.url
    );
    assert!(
        get.request
            .query_string
            .iter()
            .any(|q| q.name == "page" && q.value == "2")
    );
    assert_eq!(log.entries[2].response.status, 503);
    assert_eq!(log.entries[2].response.status_text, "Service Unavailable");
    // A refused connection is an entry with status 0 and the error.
    let refused = &log.entries[3];
    assert_eq!(refused.response.status, 0);
    assert!(
        refused.comment.as_deref().unwrap().contains("connect"),
        "{:?}",
        refused.comment
    );
    // The secrets appear nowhere in the file.
    assert!(!text.contains("s3cret") && !text.contains("k-1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xlsx_export_has_a_results_sheet_and_a_summary_sheet() {
    use calamine::{Data, Reader, Xlsx, open_workbook};
    let records = real_records().await;
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("run.jsonl");
    std::fs::write(&journal, write_all(&records, ExportFormat::Jsonl)).unwrap();
    let out = dir.path().join("run.xlsx");
    assert_eq!(
        ratebench::export::convert(&journal, &out, ExportFormat::from_path(&out)).unwrap(),
        4
    );

    let mut book: Xlsx<_> = open_workbook(&out).unwrap();
    assert_eq!(book.sheet_names(), ["Results", "Summary"]);
    let results = book.worksheet_range("Results").unwrap();
    assert_eq!(results.height(), 5, "a header and one row per request");
    let header: Vec<String> = results
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert_eq!(
        &header[..6],
        ["index", "name", "method", "url", "status", "ok"]
    );
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    for (row, record) in results.rows().skip(1).zip(&records) {
        assert_eq!(row[col("index")], Data::Float(record.index as f64));
        assert_eq!(
            row[col("status")],
            Data::Float(f64::from(record.status.unwrap()))
        );
        assert_eq!(row[col("ok")], Data::Bool(record.ok));
        assert_eq!(row[col("url")], Data::String(record.url.clone()));
    }
    assert_eq!(
        results.rows().nth(1).unwrap()[col("body")],
        Data::String("line one\nline two, with comma".into())
    );

    let summary = book.worksheet_range("Summary").unwrap();
    let value = |label: &str| {
        summary
            .rows()
            .find(|r| r[0] == Data::String(label.into()))
            .map(|r| r[1].clone())
    };
    assert_eq!(
        value("requests"),
        Some(Data::String("4 (2 ok, 2 failed)".into()))
    );
    assert_eq!(value("total"), Some(Data::Float(4.0)));
    assert_eq!(value("failed"), Some(Data::Float(2.0)));
    assert!(matches!(value("latency_ms.p50"), Some(Data::Float(p)) if p > 0.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runs_workbook_summary_is_the_runs_own() {
    use calamine::{Data, Reader, Xlsx, open_workbook};
    let server = common::start().await;
    let dir = tempfile::tempdir().unwrap();
    let batch = common::batch_file(
        dir.path(),
        "b.json",
        &common::n_requests(&server.base(), "/delay/50", 12, r#""max_at_once": 4, "#),
    );
    let (xlsx, json) = (dir.path().join("r.xlsx"), dir.path().join("s.json"));
    let out = common::ratebench(&[
        "run",
        batch.to_str().unwrap(),
        "--out",
        xlsx.to_str().unwrap(),
        "--summary-json",
        json.to_str().unwrap(),
        "--quiet",
    ])
    .await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let most = summary["max_in_flight"].as_f64().unwrap();
    assert!(most > 1.0, "{summary}");
    let mut book: Xlsx<_> = open_workbook(&xlsx).unwrap();
    let sheet = book.worksheet_range("Summary").unwrap();
    let figure = sheet
        .rows()
        .find(|r| r[0] == Data::String("max_in_flight".into()))
        .map(|r| r[1].clone());
    assert_eq!(figure, Some(Data::Float(most)), "what --summary-json says");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_captured_request_shows_the_headers_the_client_added() {
    let server = common::start().await;
    let dir = tempfile::tempdir().unwrap();
    let batch = common::batch_file(
        dir.path(),
        "b.json",
        &format!(
            r#"[{{"url": "{}/ok", "headers": {{"X-Mine": "1"}}}}]"#,
            server.base()
        ),
    );
    let har = dir.path().join("r.har");
    let out = common::ratebench(&[
        "run",
        batch.to_str().unwrap(),
        "--out",
        har.to_str().unwrap(),
        "--quiet",
    ])
    .await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log: serde_json::Value = serde_json::from_slice(&std::fs::read(&har).unwrap()).unwrap();
    let sent: std::collections::BTreeMap<String, String> =
        log["log"]["entries"][0]["request"]["headers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| {
                (
                    h["name"].as_str().unwrap().to_ascii_lowercase(),
                    h["value"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
    // What the server saw, header by header.
    let seen = &server.seen.hits()[0].headers;
    for name in ["user-agent", "accept", "accept-encoding", "x-mine"] {
        let on_wire = seen.get(name).and_then(|v| v.to_str().ok());
        assert_eq!(
            sent.get(name).map(String::as_str),
            on_wire,
            "{name}: {sent:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_cells_a_spreadsheet_would_run_are_defused() {
    use axum::http::HeaderMap;
    let app = axum::Router::new().route(
        "/evil",
        axum::routing::get(|| async {
            let mut h = HeaderMap::new();
            h.insert("x-ratelimit-limit", "=cmd|' /C calc'!A0".parse().unwrap());
            h.insert("content-type", "@text/plain".parse().unwrap());
            (h, "-2+3")
        }),
    );
    let base = common::serve(app).await;
    let dir = tempfile::tempdir().unwrap();
    let batch = common::batch_file(dir.path(), "b.json", &format!(r#"["{base}/evil"]"#));
    let csv = dir.path().join("r.csv");
    let out = common::ratebench(&[
        "run",
        batch.to_str().unwrap(),
        "--out",
        csv.to_str().unwrap(),
        "--keep-body",
        "--quiet",
    ])
    .await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut reader = csv::Reader::from_path(&csv).unwrap();
    let row: CsvRow = reader.deserialize().next().unwrap().unwrap();
    assert_eq!(
        row.x_ratelimit_limit.as_deref(),
        Some("'=cmd|' /C calc'!A0")
    );
    assert_eq!(row.content_type.as_deref(), Some("'@text/plain"));
    assert_eq!(row.body.as_deref(), Some("'-2+3"));
    assert_eq!(row.url, format!("{base}/evil"), "other text as it was");
    assert!(
        row.wait_ms >= 0.0 && row.latency_ms.unwrap() > 0.0,
        "numbers stay numbers"
    );
}
