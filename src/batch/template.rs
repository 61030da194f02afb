//! String templating: `${ENV_VAR}` (resolved once, at load time) and
//! `{{var}}` placeholders (resolved per expanded request).

/// Replaces every `${NAME}` with the environment variable `NAME`.
///
/// `$${` escapes a literal `${`. An unset variable is an error naming it, so
/// a missing API key is caught before anything is sent.
pub fn substitute_env(input: &str) -> Result<String, String> {
    substitute_env_with(input, |name| std::env::var(name).ok())
}

pub(crate) fn substitute_env_with(
    input: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<String, String> {
    if !input.contains("${") {
        return Ok(input.to_owned());
    }
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let tail = &rest[pos..];
        if let Some(after) = tail.strip_prefix("$${") {
            out.push_str("${");
            rest = after;
        } else if let Some(after) = tail.strip_prefix("${") {
            let end = after
                .find('}')
                .ok_or_else(|| format!("unterminated `${{` in {input:?}: expected `${{NAME}}`"))?;
            let name = &after[..end];
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(format!(
                    "invalid environment variable name {name:?} in `${{{name}}}`: expected letters, digits and `_`"
                ));
            }
            let value = lookup(name).ok_or_else(|| {
                format!("environment variable `{name}` is not set (used as `${{{name}}}`)")
            })?;
            out.push_str(&value);
            rest = &after[end + 1..];
        } else {
            out.push('$');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// Why a template could not be filled.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RenderError {
    /// A placeholder no variable fills.
    Unknown(String),
    /// The text grew past [`MAX_RENDERED`] at this variable.
    TooLarge(String),
    /// A function call that cannot be made (`{{random_int(a)}}`): the
    /// message says why.
    Function(String),
}

/// The most text one field of one request may fill to (1 MiB): values
/// repeated in a template multiply.
pub(crate) const MAX_RENDERED: usize = 1 << 20;

/// Whether generated values (`{{uuid()}}`) are made, or written back as
/// the call: a batch's identity (its fingerprint, what `--resume` checks)
/// must not change with the values a run happens to draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Generate {
    Values,
    Calls,
}

/// The functions a placeholder may call, evaluated for each request (and
/// each retry sends the same request).
pub const FUNCTIONS: &[&str] = &[
    "uuid()",
    "timestamp()",
    "timestamp_ms()",
    "iso_timestamp()",
    "http_date()",
    "random_int(min, max)",
    "random_string(length)",
];

/// Replaces each `{{var}}` with its value, `{{fn(args)}}` with a value
/// generated now, and `{{'text'}}` with `text` (how a literal `{{` is
/// written: `{{'{{'}}`); or fails naming the first variable `lookup` does
/// not know, the call that cannot be made, or the placeholder at which
/// the text passes [`MAX_RENDERED`].
pub(crate) fn render<'a>(
    input: &str,
    lookup: impl Fn(&str) -> Option<&'a str>,
    generate: Generate,
) -> Result<String, RenderError> {
    if !input.contains("{{") {
        return Ok(input.to_owned());
    }
    let mut out = String::with_capacity(input.len() + 16);
    let mut rest = input;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        out.push_str(&rest[..start]);
        let name = after[..end].trim();
        if let Some(text) = quoted(name) {
            out.push_str(text);
        } else if let Some((function, args)) = call(name) {
            let value = generated(function, args).map_err(RenderError::Function)?;
            match generate {
                Generate::Values => out.push_str(&value),
                Generate::Calls => {
                    out.push_str("{{");
                    out.push_str(name);
                    out.push_str("}}");
                }
            }
        } else {
            out.push_str(lookup(name).ok_or_else(|| RenderError::Unknown(name.to_owned()))?);
        }
        if out.len() > MAX_RENDERED {
            return Err(RenderError::TooLarge(name.to_owned()));
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// `'text'` (or `"text"`) as a placeholder: literal text.
fn quoted(name: &str) -> Option<&str> {
    let q = name.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    name.strip_prefix(q)?.strip_suffix(q)
}

/// `name(args)` as a placeholder: a function call, split.
fn call(name: &str) -> Option<(&str, &str)> {
    let (function, rest) = name.split_once('(')?;
    let args = rest.strip_suffix(')')?;
    let function = function.trim();
    (!function.is_empty()
        && function
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_'))
    .then_some((function, args))
}

/// One generated value, or why the call cannot be made.
fn generated(function: &str, args: &str) -> Result<String, String> {
    let args: Vec<&str> = args
        .split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .collect();
    let none = |value: String| {
        if args.is_empty() {
            Ok(value)
        } else {
            Err(format!("`{function}()` takes no arguments"))
        }
    };
    let int = |a: &str| {
        a.parse::<i64>()
            .map_err(|_| format!("`{function}`: {a:?} is not a whole number"))
    };
    let now = std::time::SystemTime::now();
    let since_epoch = now
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    match function {
        "uuid" => none(uuid_v4(fastrand::u128(..))),
        "timestamp" => none(since_epoch.as_secs().to_string()),
        "timestamp_ms" => none(since_epoch.as_millis().to_string()),
        "iso_timestamp" => none(humantime::format_rfc3339_millis(now).to_string()),
        "http_date" => none(httpdate::fmt_http_date(now)),
        "random_int" => {
            let (min, max) = match args.as_slice() {
                [] => (0, 1000),
                [min, max] => (int(min)?, int(max)?),
                _ => {
                    return Err(
                        "`random_int(min, max)` takes two whole numbers (or none: 0 to 1000)"
                            .into(),
                    );
                }
            };
            if min > max {
                return Err(format!("`random_int({min}, {max})`: min is above max"));
            }
            Ok(fastrand::i64(min..=max).to_string())
        }
        "random_string" => {
            let len = match args.as_slice() {
                [] => 16,
                [n] => int(n)?,
                _ => return Err("`random_string(length)` takes one length".into()),
            };
            if !(1..=10_000).contains(&len) {
                return Err(format!(
                    "`random_string({len})`: expected a length from 1 to 10000"
                ));
            }
            Ok((0..len).map(|_| fastrand::alphanumeric()).collect())
        }
        other => Err(format!(
            "unknown function `{other}()`: expected one of {}",
            FUNCTIONS.join(", ")
        )),
    }
}

/// A random (version 4) UUID from 128 random bits.
fn uuid_v4(bits: u128) -> String {
    let bits = (bits & !(0xf << 76) | (0x4 << 76)) & !(0x3 << 62) | (0x2 << 62);
    let hex = format!("{bits:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// Text in which every `{{` is literal, in template syntax.
pub fn escape_placeholders(text: &str) -> String {
    text.replace("{{", "{{'{{'}}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        (name == "API_KEY").then(|| "s3cret".to_owned())
    }

    #[test]
    fn env_substitution() {
        assert_eq!(
            substitute_env_with("k=${API_KEY}!", env).unwrap(),
            "k=s3cret!"
        );
        assert_eq!(substitute_env_with("cost $5", env).unwrap(), "cost $5");
        assert_eq!(
            substitute_env_with("$${API_KEY}", env).unwrap(),
            "${API_KEY}"
        );
        let err = substitute_env_with("${MISSING_VAR}", env).unwrap_err();
        assert!(err.contains("`MISSING_VAR` is not set"), "{err}");
        assert!(
            substitute_env_with("${API_KEY", env)
                .unwrap_err()
                .contains("unterminated")
        );
        assert!(
            substitute_env_with("${A-B}", env)
                .unwrap_err()
                .contains("invalid")
        );
    }

    #[test]
    fn placeholder_render() {
        let lookup = |n: &str| match n {
            "a" => Some("A"),
            "b" => Some("7"),
            _ => None,
        };
        assert_eq!(
            render("/x/{{a}}?id={{ b }}", lookup, Generate::Values).unwrap(),
            "/x/A?id=7"
        );
        assert_eq!(
            render("/x/{{c}}", lookup, Generate::Values).unwrap_err(),
            RenderError::Unknown("c".into())
        );
        let big = "x".repeat(600_000);
        let twice = |_: &str| Some(big.as_str());
        assert_eq!(
            render("{{a}}{{b}}", twice, Generate::Values).unwrap_err(),
            RenderError::TooLarge("b".into())
        );
    }

    #[test]
    fn functions_generate_a_value_per_call_and_stay_calls_for_the_fingerprint() {
        let none = |_: &str| None;
        let a = render("{{uuid()}}", none, Generate::Values).unwrap();
        let b = render("{{ uuid() }}", none, Generate::Values).unwrap();
        assert_ne!(a, b);
        let re = regex::Regex::new(
            "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$",
        )
        .unwrap();
        assert!(re.is_match(&a), "{a}");
        for _ in 0..200 {
            let n: i64 = render("{{random_int(-2, 2)}}", none, Generate::Values)
                .unwrap()
                .parse()
                .unwrap();
            assert!((-2..=2).contains(&n));
        }
        let t: u64 = render("{{timestamp()}}", none, Generate::Values)
            .unwrap()
            .parse()
            .unwrap();
        assert!(t > 1_700_000_000);
        assert!(
            render("{{iso_timestamp()}}", none, Generate::Values)
                .unwrap()
                .ends_with('Z')
        );
        assert_eq!(
            render("{{random_string(5)}}", none, Generate::Values)
                .unwrap()
                .len(),
            5
        );
        assert_eq!(
            render("id={{uuid()}}", none, Generate::Calls).unwrap(),
            "id={{uuid()}}"
        );
        for bad in [
            "{{random_int(1)}}",
            "{{random_int(5, 1)}}",
            "{{uuid(3)}}",
            "{{guid()}}",
        ] {
            assert!(
                matches!(
                    render(bad, none, Generate::Calls),
                    Err(RenderError::Function(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_quoted_placeholder_is_literal_text() {
        let none = |_: &str| None;
        let text = "{{#each items}} and {{ x }}";
        let escaped = escape_placeholders(text);
        assert_eq!(render(&escaped, none, Generate::Values).unwrap(), text);
    }
}
