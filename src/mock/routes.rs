//! The mock API's routes. Handlers only answer; latency, faults and limits
//! are applied around them by the knobs middleware.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use futures_util::stream;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::MockState;
use super::data::{PERIOD, byte_at, geocode, inventory_item};
use super::jobs::{JobState, MAX_ITEMS};

/// Largest `/bytes/{n}` answer: 1 GiB (streamed, never held in memory).
pub const MAX_BYTES: u64 = 1 << 30;
/// Longest `/delay/{ms}` and `/drip` duration.
pub const MAX_DELAY: Duration = Duration::from_secs(60);
/// Largest `/drip` body.
pub const MAX_DRIP: u64 = 10 << 20;

pub fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (
        status,
        Json(json!({"error": message.into(), "status": status.as_u16()})),
    )
        .into_response()
}

#[derive(Deserialize)]
pub struct IdQuery {
    id: Option<String>,
}

pub async fn inventory(Path(kind): Path<String>, Query(q): Query<IdQuery>) -> Response {
    let Some(id) = q.id.as_deref().and_then(|s| s.parse::<u64>().ok()) else {
        return error(
            StatusCode::BAD_REQUEST,
            "expected ?id=N with a whole number N",
        );
    };
    match inventory_item(&kind, id) {
        Some(item) => Json(item).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            format!("unknown inventory type `{kind}`: expected products or materials"),
        ),
    }
}

/// httpbin-style echo of the request.
pub async fn anything(
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let args: BTreeMap<String, String> =
        url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let header_map: BTreeMap<String, String> = headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let json_body = if content_type.starts_with("application/json") {
        serde_json::from_slice::<Value>(&body).ok()
    } else {
        None
    };
    let form: BTreeMap<String, String> =
        if content_type.starts_with("application/x-www-form-urlencoded") {
            url::form_urlencoded::parse(&body).into_owned().collect()
        } else {
            BTreeMap::new()
        };
    Json(json!({
        "method": method.as_str(),
        "url": uri.to_string(),
        "args": args,
        "headers": header_map,
        "json": json_body,
        "form": form,
        "data": String::from_utf8_lossy(&body),
    }))
    .into_response()
}

pub async fn status(Path(code): Path<u16>) -> Response {
    match StatusCode::from_u16(code) {
        Ok(status) if (200..600).contains(&code) => {
            if matches!(code, 204 | 304) {
                status.into_response()
            } else {
                (status, Json(json!({"status": code}))).into_response()
            }
        }
        _ => error(
            StatusCode::BAD_REQUEST,
            format!("status {code}: expected a code from 200 to 599"),
        ),
    }
}

pub async fn delay(Path(ms): Path<u64>) -> Response {
    let wait = Duration::from_millis(ms).min(MAX_DELAY);
    tokio::time::sleep(wait).await;
    Json(json!({"delay_ms": wait.as_millis() as u64})).into_response()
}

/// `n` deterministic bytes, streamed in 64 KiB chunks.
pub async fn bytes(Path(n): Path<u64>) -> Response {
    if n > MAX_BYTES {
        return error(
            StatusCode::BAD_REQUEST,
            format!("at most {MAX_BYTES} bytes"),
        );
    }
    const CHUNK: u64 = 64 * 1024;
    // The pattern repeats every PERIOD bytes, so each chunk is a zero-copy
    // slice of one precomputed buffer.
    static PATTERN: LazyLock<Bytes> =
        LazyLock::new(|| Bytes::from((0..CHUNK + PERIOD).map(byte_at).collect::<Vec<u8>>()));
    let chunks = stream::iter((0..n.div_ceil(CHUNK)).map(move |c| {
        let start = c * CHUNK;
        let len = (n - start).min(CHUNK) as usize;
        let offset = (start % PERIOD) as usize;
        Ok::<_, std::io::Error>(PATTERN.slice(offset..offset + len))
    }));
    let mut response = Body::from_stream(chunks).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        "application/octet-stream".parse().expect("static"),
    );
    headers.insert(header::CONTENT_LENGTH, n.into());
    response
}

#[derive(Deserialize)]
pub struct DripQuery {
    bytes: Option<u64>,
    duration: Option<String>,
}

/// A slow body: `bytes` bytes spread evenly over `duration`.
pub async fn drip(Query(q): Query<DripQuery>) -> Response {
    let n = q.bytes.unwrap_or(10).min(MAX_DRIP);
    let duration = match q
        .duration
        .as_deref()
        .map(crate::batch::parse_duration)
        .transpose()
    {
        Ok(d) => d.unwrap_or(Duration::from_secs(2)).min(MAX_DELAY),
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    let pieces = n.clamp(1, 100);
    let step = duration / pieces as u32;
    let chunks = stream::unfold(0u64, move |i| async move {
        if i >= pieces {
            return None;
        }
        tokio::time::sleep(step).await;
        let size = n / pieces + u64::from(i < n % pieces);
        Some((
            Ok::<_, std::io::Error>(Bytes::from(vec![b'*'; size as usize])),
            i + 1,
        ))
    });
    let mut response = Body::from_stream(chunks).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_LENGTH, n.into());
    response
}

#[derive(Deserialize)]
pub struct GeocodeQuery {
    text: Option<String>,
}

pub async fn geocode_one(Query(q): Query<GeocodeQuery>) -> Response {
    match q.text {
        Some(text) => Json(geocode(&text)).into_response(),
        None => error(StatusCode::BAD_REQUEST, "expected ?text=ADDRESS"),
    }
}

/// `POST /batch/geocode`: a JSON array of addresses starts a job.
pub async fn batch_create(State(state): State<Arc<MockState>>, body: Bytes) -> Response {
    let items: Vec<String> = match serde_json::from_slice::<Vec<Value>>(&body) {
        Ok(values) => match values.into_iter().map(address).collect::<Option<Vec<_>>>() {
            Some(items) => items,
            None => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "expected a JSON array of address strings",
                );
            }
        },
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("expected a JSON array of address strings: {e}"),
            );
        }
    };
    if items.len() > MAX_ITEMS {
        return error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("at most {MAX_ITEMS} items per job"),
        );
    }
    let knobs = state.knobs().jobs.clone();
    let (id, cost) = state.jobs.create(items, &knobs, Instant::now());
    let location = format!("/batch/geocode?id={id}");
    let retry_after = cost.as_secs_f64().ceil().max(1.0) as u64;
    (
        StatusCode::ACCEPTED,
        [
            (header::LOCATION, location),
            (header::RETRY_AFTER, retry_after.to_string()),
        ],
        Json(json!({"status": "pending", "id": id})),
    )
        .into_response()
}

fn address(v: Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s),
        Value::Object(mut o) => match o.remove("text") {
            Some(Value::String(s)) => Some(s),
            _ => None,
        },
        _ => None,
    }
}

/// `GET /batch/geocode?id=ID`: pending until done, then the results.
pub async fn batch_poll(State(state): State<Arc<MockState>>, Query(q): Query<IdQuery>) -> Response {
    let Some(id) = q.id else {
        return error(StatusCode::BAD_REQUEST, "expected ?id=JOB_ID");
    };
    let knobs = state.knobs().jobs.clone();
    match state.jobs.poll(&id, &knobs, Instant::now()) {
        JobState::Unknown => error(
            StatusCode::NOT_FOUND,
            format!("no job `{id}` (unknown or expired)"),
        ),
        JobState::Pending { retry_after } => {
            let secs = retry_after.as_secs_f64().ceil().max(1.0) as u64;
            (
                [(header::RETRY_AFTER, secs.to_string())],
                Json(json!({"status": "pending", "id": id})),
            )
                .into_response()
        }
        JobState::Done(results) => Json(Value::Array(results)).into_response(),
    }
}

/// `GET /`: what this server offers.
pub async fn index() -> Response {
    Json(json!({
        "service": "ratebench mock API",
        "routes": super::ROUTE_LIST,
    }))
    .into_response()
}
