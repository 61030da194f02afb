//! Keeps secrets out of results: key-like query values are masked.

use url::Url;

/// What a secret value is replaced with.
pub const REDACTED: &str = "REDACTED";

/// Query parameter names (lower-cased substrings) that carry secrets.
const SECRET_PARAMS: &[&str] = &[
    "key",
    "token",
    "secret",
    "password",
    "passwd",
    "signature",
    "sig",
    "auth",
    "credential",
    "session",
];

/// Header names that carry credentials whatever they are called.
const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
];

/// Whether a header (request or response) looks like it holds a secret:
/// credentials, cookies, or a key-like name (`X-Api-Key`, `X-Auth-Token`).
pub fn is_secret_header(name: &str) -> bool {
    SECRET_HEADERS.iter().any(|s| name.eq_ignore_ascii_case(s)) || is_secret_param(name)
}

/// Whether a query parameter name looks like it holds a secret.
pub fn is_secret_param(name: &str) -> bool {
    // No lower-cased copy: this runs for every header of every answer.
    let name = name.as_bytes();
    SECRET_PARAMS.iter().any(|s| {
        name.windows(s.len())
            .any(|w| w.eq_ignore_ascii_case(s.as_bytes()))
    })
}

/// The URL as text, with secret query values and any userinfo password
/// replaced by `REDACTED`.
pub fn redact_url(url: &Url) -> String {
    let needs = url.password().is_some() || url.query_pairs().any(|(k, _)| is_secret_param(&k));
    if !needs {
        return url.to_string();
    }
    let mut out = url.clone();
    if out.password().is_some() {
        let _ = out.set_password(Some(REDACTED));
    }
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let v = if is_secret_param(&k) {
                REDACTED.to_owned()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    out.query_pairs_mut().clear().extend_pairs(pairs);
    out.to_string()
}

/// Text (an error message) with every URL in it redacted as
/// [`redact_url`] does: the HTTP stack names the URL it failed on.
pub fn redact_urls_in(text: &str) -> std::borrow::Cow<'_, str> {
    static URLS: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r#"(?i)\bhttps?://[^\s)"'<>]+"#).expect("a valid pattern")
    });
    URLS.replace_all(text, |m: &regex::Captures| match Url::parse(&m[0]) {
        Ok(url) => redact_url(&url),
        Err(_) => m[0].to_owned(),
    })
}

/// A response header's value as results keep it: a credential's hidden;
/// a URL's (`Location`, `Content-Location`) redacted like the request's.
pub fn redact_header(name: &str, value: &str) -> String {
    if is_secret_header(name) {
        REDACTED.to_owned()
    } else if name.eq_ignore_ascii_case("location") || name.eq_ignore_ascii_case("content-location")
    {
        match Url::parse(value) {
            Ok(url) => redact_url(&url),
            // A relative Location: its query is masked the same way.
            Err(_) => Url::parse("http://x")
                .and_then(|base| base.join(value))
                .map(|joined| {
                    let redacted = redact_url(&joined);
                    redacted
                        .strip_prefix("http://x")
                        .unwrap_or(&redacted)
                        .to_owned()
                })
                .unwrap_or_else(|_| value.to_owned()),
        }
    } else {
        value.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_inside_error_text_and_location_headers_are_redacted() {
        let text = "error sending request for url (https://h:1/x?api_key=SECRET&q=1): client error";
        assert_eq!(
            redact_urls_in(text),
            "error sending request for url (https://h:1/x?api_key=REDACTED&q=1): client error"
        );
        assert_eq!(
            redact_header("Location", "http://h/next?token=abc&page=2"),
            "http://h/next?token=REDACTED&page=2"
        );
        assert_eq!(
            redact_header("location", "/next?token=abc"),
            "/next?token=REDACTED"
        );
        assert_eq!(redact_header("X-Api-Key", "k"), REDACTED);
        assert_eq!(redact_header("Content-Type", "text/plain"), "text/plain");
    }

    #[test]
    fn masks_key_like_params_only() {
        let url = Url::parse("http://u:pw@h/x?q=cats&api_key=abc&AccessToken=t&page=2").unwrap();
        assert_eq!(
            redact_url(&url),
            "http://u:REDACTED@h/x?q=cats&api_key=REDACTED&AccessToken=REDACTED&page=2"
        );
        let plain = Url::parse("http://h/x?q=1").unwrap();
        assert_eq!(redact_url(&plain), "http://h/x?q=1");
    }
}
