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
}

/// The most text one field of one request may fill to (1 MiB): values
/// repeated in a template multiply.
pub(crate) const MAX_RENDERED: usize = 1 << 20;

/// Replaces each `{{var}}` with its value, or fails naming the first
/// variable that `lookup` does not know, or the one at which the text
/// passes [`MAX_RENDERED`].
pub(crate) fn render<'a>(
    input: &str,
    lookup: impl Fn(&str) -> Option<&'a str>,
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
        out.push_str(lookup(name).ok_or_else(|| RenderError::Unknown(name.to_owned()))?);
        if out.len() > MAX_RENDERED {
            return Err(RenderError::TooLarge(name.to_owned()));
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
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
        assert_eq!(render("/x/{{a}}?id={{ b }}", lookup).unwrap(), "/x/A?id=7");
        assert_eq!(
            render("/x/{{c}}", lookup).unwrap_err(),
            RenderError::Unknown("c".into())
        );
        let big = "x".repeat(600_000);
        let twice = |_: &str| Some(big.as_str());
        assert_eq!(
            render("{{a}}{{b}}", twice).unwrap_err(),
            RenderError::TooLarge("b".into())
        );
    }
}
