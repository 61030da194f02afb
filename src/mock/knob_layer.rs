//! The middleware that makes a route behave as its knobs say, in order:
//! concurrency limit (503), rate limit (429), latency, injected faults
//! (close without a response, 5xx, truncated body); then it stamps the
//! rate-limit headers and counts the answer.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::stream;
use tokio::time::Instant;

use super::routes::error;
use super::{CloseConnection, MockState};

/// The route name a matched path belongs to (`None`: control routes).
fn route_name(path: &str) -> Option<&'static str> {
    let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
    Some(match first {
        "inventory" => "inventory",
        "anything" => "anything",
        "status" => "status",
        "delay" => "delay",
        "bytes" => "bytes",
        "drip" => "drip",
        "geocode" => "geocode",
        "batch" => "batch",
        _ => return None,
    })
}

/// Bodies up to this size can be truncated; larger ones pass untouched.
const TRUNCATE_LIMIT: usize = 16 << 20;

pub async fn apply(
    State(state): State<Arc<MockState>>,
    matched: Option<MatchedPath>,
    request: Request,
    next: Next,
) -> Response {
    let Some(route) = matched.as_ref().and_then(|m| route_name(m.as_str())) else {
        return next.run(request).await;
    };
    let (_guard, in_flight) = state.stats.arrive();
    let _route_guard = state.route_arrive(route);
    let knobs = state.knobs();
    let own = knobs.effective(route);

    let over = |limit: Option<u64>, now: u64| limit.is_some_and(|k| now > k);
    if over(knobs.global.max_concurrent, in_flight)
        || over(own.max_concurrent, state.route_in_flight(route))
    {
        state.stats.answered(route, 503);
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "too many concurrent requests",
        );
    }

    let verdict = state.limiters().check(
        route,
        request.headers(),
        request.uri().query(),
        Instant::now(),
    );
    if let Some(v) = verdict.filter(|v| !v.allowed) {
        state.stats.answered(route, 429);
        let mut response = error(StatusCode::TOO_MANY_REQUESTS, "rate limit exceeded");
        v.write_headers(response.headers_mut());
        return response;
    }

    if let Some(capacity) = own.capacity {
        let wait = state.queue_wait(route, capacity, Instant::now());
        tokio::time::sleep(wait).await;
    }
    if let Some(latency) = &own.latency {
        tokio::time::sleep(latency.sample()).await;
    }
    let roll = |p: Option<f64>| p.is_some_and(|p| fastrand::f64() < p);
    if roll(own.close_rate) {
        state.stats.closed(route);
        let mut response = StatusCode::INTERNAL_SERVER_ERROR.into_response();
        response.extensions_mut().insert(CloseConnection);
        return response;
    }
    let mut response = if roll(own.error_rate) {
        let codes = own.error_statuses.as_deref().unwrap_or(&[500, 503]);
        let code = codes[fastrand::usize(..codes.len())];
        let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        error(status, "injected error")
    } else {
        next.run(request).await
    };
    if roll(own.truncate_rate) {
        response = truncate(response).await;
        state.stats.truncated();
    }
    if let Some(v) = verdict {
        v.write_headers(response.headers_mut());
    }
    state.stats.answered(route, response.status().as_u16());
    response
}

/// Sends the head with the full Content-Length, then half the body, then
/// fails the body so the server drops the connection mid-answer.
async fn truncate(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let Ok(full) = axum::body::to_bytes(body, TRUNCATE_LIMIT).await else {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "body too large to truncate",
        );
    };
    let half = full.slice(..full.len() / 2);
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(full.len().max(1)));
    // Pause before failing: hyper writes the head and the first half only
    // when it gets to flush, and a failure at once would drop them unsent.
    let chunks = stream::unfold(Some(half), |half| async move {
        match half {
            Some(half) => Some((Ok(half), None)),
            None => {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                Some((Err(std::io::Error::other("injected truncation")), None))
            }
        }
    });
    Response::from_parts(parts, Body::from_stream(chunks))
}
