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
    let lower = name.to_ascii_lowercase();
    SECRET_PARAMS.iter().any(|s| lower.contains(s))
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

#[cfg(test)]
mod tests {
    use super::*;

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
