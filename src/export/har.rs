//! HAR 1.2 export: every result as an entry a browser's devtools (or any
//! HAR viewer) opens.
//!
//! Written as it goes, framed like the JSON array; the entries are the
//! `har` crate's types. Headers and bodies are whatever the record holds:
//! from a capturing run (a HAR `--out`, or `--keep-body`) the request's
//! headers and body and every response header, secrets already redacted by
//! the engine; otherwise the response's rate-limit and content-type headers.

use std::io::Write;
use std::time::SystemTime;

use har::v1_2::{
    Cache, Content, Entries, Headers, PostData, QueryString, Request, Response, Timings,
};

use super::writer::{FramedJson, RecordSink};
use crate::model::RequestRecord;

/// Streams records out as a HAR 1.2 document.
pub fn writer<W: Write + Send>(out: W) -> impl RecordSink {
    let creator = serde_json::json!({
        "name": "ratebench",
        "version": env!("CARGO_PKG_VERSION"),
    });
    let head = format!("{{\"log\":{{\"version\":\"1.2\",\"creator\":{creator},\"entries\":[");
    // For entries never sent (HAR needs a start time for each).
    let opened_at = humantime::format_rfc3339_millis(SystemTime::now()).to_string();
    FramedJson::new(
        out,
        head,
        "]}}\n",
        move |out: &mut W, record: &RequestRecord| {
            Ok(serde_json::to_writer(out, &entry(record, &opened_at))?)
        },
    )
}

fn headers<'a>(pairs: impl Iterator<Item = (&'a String, &'a String)>) -> Vec<Headers> {
    pairs
        .map(|(name, value)| Headers {
            name: name.clone(),
            value: value.clone(),
            comment: None,
        })
        .collect()
}

/// The HAR entry of one result.
pub fn entry(r: &RequestRecord, fallback_start: &str) -> Entries {
    let query_string = url::Url::parse(&r.url)
        .map(|u| {
            u.query_pairs()
                .map(|(name, value)| QueryString {
                    name: name.into_owned(),
                    value: value.into_owned(),
                    comment: None,
                })
                .collect()
        })
        .unwrap_or_default();
    let sent = r.request.as_ref();
    let request_headers = sent.map(|s| headers(s.headers.iter())).unwrap_or_default();
    let post_data = sent.and_then(|s| s.body.as_ref()).map(|text| PostData {
        mime_type: sent
            .and_then(|s| s.headers.get("content-type"))
            .cloned()
            .unwrap_or_default(),
        text: Some(text.clone()),
        params: None,
        comment: None,
    });
    let content_type = r.headers.get("content-type").cloned();
    let status = r.status.unwrap_or(0);
    let latency = r.latency_ms.unwrap_or(0.0);
    let mut comment = Vec::new();
    if r.attempts > 1 {
        comment.push(format!("{} attempts", r.attempts));
    }
    if let Some(error) = &r.error {
        comment.push(error.clone());
    }
    Entries {
        pageref: None,
        started_date_time: r
            .started_at
            .clone()
            .unwrap_or_else(|| fallback_start.to_owned()),
        // The total: time held by the limits, then the request itself.
        time: r.wait_ms + latency,
        request: Request {
            method: r.method.clone(),
            url: r.url.clone(),
            http_version: "HTTP/1.1".into(),
            cookies: vec![],
            headers: request_headers,
            query_string,
            body_size: post_data
                .as_ref()
                .and_then(|p| p.text.as_ref())
                .map_or(0, |t| t.len() as i64),
            post_data,
            headers_size: -1,
            comment: None,
        },
        response: Response {
            status: i64::from(status),
            status_text: http::StatusCode::from_u16(status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("")
                .to_owned(),
            http_version: "HTTP/1.1".into(),
            cookies: vec![],
            headers: headers(r.headers.iter()),
            content: Content {
                size: r.bytes as i64,
                compression: None,
                mime_type: Some(content_type.unwrap_or_else(|| "x-unknown".into())),
                text: r.body.clone(),
                encoding: None,
                comment: None,
            },
            redirect_url: Some(String::new()),
            headers_size: -1,
            body_size: if r.status.is_some() {
                r.bytes as i64
            } else {
                -1
            },
            comment: None,
        },
        cache: Cache::default(),
        timings: Timings {
            // Held by ratebench's limits before sending, as browsers put
            // their own queueing under `blocked`.
            blocked: Some(r.wait_ms),
            dns: Some(-1.0),
            connect: Some(-1.0),
            send: 0.0,
            wait: latency,
            receive: 0.0,
            ssl: Some(-1.0),
            comment: None,
        },
        server_ip_address: None,
        connection: None,
        comment: (!comment.is_empty()).then(|| comment.join("; ")),
    }
}
