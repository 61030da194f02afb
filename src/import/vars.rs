//! `{{variable}}` resolution for the formats that have variables (.http,
//! Postman), producing text in batch syntax.
//!
//! A variable the file defines is substituted; one it does not (an editor
//! environment, a Postman environment) becomes `${NAME}`, read from the
//! process environment when the batch loads, so a secret never has to be
//! pasted into the batch. Dynamic values (`{{$guid}}`, `{{$timestamp}}`)
//! have no batch equivalent and are reported.

/// Text with its variables resolved, in batch syntax.
#[derive(Debug, Default)]
pub(crate) struct Resolved {
    pub text: String,
    /// Variables left to the environment.
    pub from_env: Vec<String>,
}

/// How deep variables may refer to variables (guards against cycles).
const MAX_DEPTH: usize = 16;

/// Resolves every `{{name}}` in `input` with `lookup`; a dynamic variable
/// (`{{$…}}`) other than an environment read is an error naming it.
pub(crate) fn resolve(
    input: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Resolved, String> {
    let mut out = Resolved::default();
    expand(input, lookup, 0, &mut out)?;
    Ok(out)
}

fn expand(
    input: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    depth: usize,
    out: &mut Resolved,
) -> Result<(), String> {
    let mut rest = input;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        push_literal(&mut out.text, &rest[..start]);
        let name = after[..end].trim();
        if let Some(dynamic) = name.strip_prefix('$') {
            // VS Code REST Client: {{$processEnv NAME}}, {{$dotenv NAME}}.
            let mut words = dynamic.split_whitespace();
            match (words.next(), words.next()) {
                (Some("processEnv" | "dotenv"), Some(var)) if is_env_name(var) => {
                    push_env(out, var);
                }
                _ => return Err(format!("{{{{{name}}}}}")),
            }
        } else if let Some(value) = lookup(name).filter(|_| depth < MAX_DEPTH) {
            expand(&value, lookup, depth + 1, out)?;
        } else if is_env_name(name) {
            push_env(out, name);
        } else {
            push_literal(&mut out.text, &rest[start..start + 2 + end + 2]);
        }
        rest = &after[end + 2..];
    }
    push_literal(&mut out.text, rest);
    Ok(())
}

fn push_env(out: &mut Resolved, name: &str) {
    out.text.push_str("${");
    out.text.push_str(name);
    out.text.push('}');
    if !out.from_env.iter().any(|n| n == name) {
        out.from_env.push(name.to_owned());
    }
}

/// Appends literal text, escaping what the batch would read as syntax.
pub(crate) fn push_literal(out: &mut String, text: &str) {
    out.push_str(&text.replace("${", "$${"));
}

/// Literal text in batch syntax.
pub(crate) fn literal(text: &str) -> String {
    text.replace("${", "$${")
}

/// Whether `name` can be read with `${name}`.
pub(crate) fn is_env_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(name: &str) -> Option<String> {
        match name {
            "host" => Some("http://127.0.0.1:{{port}}".into()),
            "port" => Some("3000".into()),
            "loop" => Some("{{loop}}".into()),
            _ => None,
        }
    }

    #[test]
    fn resolves_nested_variables_and_leaves_unknown_ones_to_the_environment() {
        let r = resolve("{{host}}/x?k={{ API_KEY }}&p=${literal}", &vars).unwrap();
        assert_eq!(r.text, "http://127.0.0.1:3000/x?k=${API_KEY}&p=$${literal}");
        assert_eq!(r.from_env, ["API_KEY"]);
    }

    #[test]
    fn dynamic_variables_are_reported_except_environment_reads() {
        assert_eq!(resolve("{{$guid}}", &vars).unwrap_err(), "{{$guid}}");
        let r = resolve("Bearer {{$processEnv TOKEN}}", &vars).unwrap();
        assert_eq!(r.text, "Bearer ${TOKEN}");
    }

    #[test]
    fn a_cycle_stops_instead_of_recursing_forever() {
        let r = resolve("{{loop}}", &vars).unwrap();
        assert_eq!(r.text, "${loop}");
    }
}
