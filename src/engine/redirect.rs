//! Redirects, followed by the engine rather than the HTTP client: each hop
//! is a request the server sees, so it passes the pacer and the cap like
//! any other and is counted as an answer (its 3xx). This module says what
//! the next hop sends; the dispatcher decides when.

use http::Method;
use http::header::{self, HeaderMap};

use crate::batch::RequestSpec;
use crate::export::redact::is_secret_header;

/// The default of `--max-redirects`: what browsers and curl's `-L` allow
/// give or take (curl 50, browsers about 20); 10 is reqwest's and ours.
pub const MAX_REDIRECTS: u32 = 10;

/// Whether `status` sends the client elsewhere with a Location to follow.
pub fn is_redirect(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

/// The request the next hop sends after `sent` got `status` with
/// `location`: 303 (and a POST under 301 or 302) becomes a GET without a
/// body; 307 and 308 keep method and body. Credentials (Authorization,
/// Cookie, key-like headers) stay behind when the origin changes.
pub fn next_hop(sent: &RequestSpec, status: u16, location: &str) -> Result<RequestSpec, String> {
    let url = sent
        .url
        .join(location.trim())
        .map_err(|e| format!("redirect to {location:?}, which is not an address: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "redirect to a {}: address, which is not HTTP",
            url.scheme()
        ));
    }
    let mut next = sent.clone();
    let to_get = status == 303 && sent.method != Method::HEAD
        || matches!(status, 301 | 302) && sent.method == Method::POST;
    if to_get {
        next.method = Method::GET;
        next.body = None;
        drop_body_headers(&mut next.headers);
    }
    if url.origin() != sent.url.origin() {
        drop_credentials(&mut next.headers);
    }
    next.url = url;
    Ok(next)
}

fn drop_body_headers(headers: &mut HeaderMap) {
    for name in [
        header::CONTENT_TYPE,
        header::CONTENT_LENGTH,
        header::CONTENT_ENCODING,
        header::TRANSFER_ENCODING,
    ] {
        headers.remove(name);
    }
}

/// What must not follow a request to another origin: credentials, and a
/// Host the batch set for the first one.
fn drop_credentials(headers: &mut HeaderMap) {
    let gone: Vec<_> = headers
        .keys()
        .filter(|name| is_secret_header(name.as_str()) || *name == header::HOST)
        .cloned()
        .collect();
    for name in gone {
        headers.remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::Body;
    use bytes::Bytes;

    fn post(url: &str) -> RequestSpec {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, "Bearer s3cret".parse().unwrap());
        headers.insert(header::COOKIE, "id=1".parse().unwrap());
        headers.insert("x-api-key", "k".parse().unwrap());
        headers.insert(header::CONTENT_TYPE, "application/json".parse().unwrap());
        headers.insert("x-trace", "t".parse().unwrap());
        RequestSpec {
            index: 0,
            name: None,
            method: Method::POST,
            url: url.parse().unwrap(),
            headers,
            body: Some(Body::Bytes(Bytes::from_static(b"{}"))),
            timeout: None,
        }
    }

    #[test]
    fn see_other_and_a_moved_post_become_gets_without_a_body() {
        for status in [301, 302, 303] {
            let next = next_hop(&post("http://a/x"), status, "/y").unwrap();
            assert_eq!(next.method, Method::GET, "{status}");
            assert!(next.body.is_none() && !next.headers.contains_key(header::CONTENT_TYPE));
            assert_eq!(next.url.as_str(), "http://a/y");
        }
        let mut put = post("http://a/x");
        put.method = Method::PUT;
        assert_eq!(next_hop(&put, 301, "/y").unwrap().method, Method::PUT);
        assert_eq!(next_hop(&put, 303, "/y").unwrap().method, Method::GET);
    }

    #[test]
    fn temporary_and_permanent_redirects_keep_method_and_body() {
        for status in [307, 308] {
            let next = next_hop(&post("http://a/x"), status, "y?q=1").unwrap();
            assert_eq!(next.method, Method::POST);
            assert!(next.body.is_some());
            assert_eq!(next.url.as_str(), "http://a/y?q=1");
        }
    }

    #[test]
    fn credentials_stay_behind_when_the_origin_changes() {
        let same = next_hop(&post("http://a/x"), 307, "http://a:80/y").unwrap();
        assert!(same.headers.contains_key(header::AUTHORIZATION));
        for other in ["http://b/y", "https://a/y", "http://a:8080/y"] {
            let next = next_hop(&post("http://a/x"), 307, other).unwrap();
            for name in ["authorization", "cookie", "x-api-key"] {
                assert!(!next.headers.contains_key(name), "{name} to {other}");
            }
            assert!(next.headers.contains_key("x-trace"));
        }
    }

    #[test]
    fn a_location_that_is_no_http_address_is_refused() {
        assert!(next_hop(&post("http://a/x"), 302, "ftp://b/").is_err());
        assert!(next_hop(&post("http://a/x"), 302, "http://[bad").is_err());
    }
}
