//! `{{variable}}` resolution for the formats that have variables (.http,
//! Postman), producing text in batch syntax.
//!
//! A variable the file defines is substituted; one it does not (an editor
//! environment, a Postman environment) becomes `${NAME}`, read from the
//! process environment when the batch loads, so a secret never has to be
//! pasted into the batch. Values the tool generates (`{{$guid}}`,
//! `{{$timestamp}}`, `{{$randomInt}}`) become the batch's template
//! functions (`{{uuid()}}`, …), evaluated for each request; one without
//! an equivalent (`{{$randomFirstName}}`) is reported.

/// Text with its variables resolved, in batch syntax.
#[derive(Debug, Default)]
pub(crate) struct Resolved {
    pub text: String,
    /// Variables left to the environment, as the notes name them (a name
    /// that had to change: `client-id (as client_id)`).
    pub from_env: Vec<String>,
}

/// Why variables could not be resolved.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum VarError {
    /// A value the tool generates (`{{$guid}}`): the request is skipped.
    Dynamic(String),
    /// Variables that refer to each other in a circle (`a → b → a`).
    Cycle(String),
    /// A variable whose value grows past [`MAX_EXPANDED`] (nested
    /// variables can double at each level: a "billion laughs").
    TooLarge(String),
}

impl std::fmt::Display for VarError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VarError::Dynamic(name) => write!(f, "{name} is a value the tool generates"),
            VarError::Cycle(path) => write!(f, "variables refer to each other in a cycle: {path}"),
            VarError::TooLarge(name) => write!(
                f,
                "variable `{name}` expands to more than {} MB: expected a value under that",
                MAX_EXPANDED >> 20
            ),
        }
    }
}

/// The most text one field may expand to.
pub(crate) const MAX_EXPANDED: usize = 1 << 20;

/// Resolves every `{{name}}` in `input` with `lookup`; a dynamic variable
/// (`{{$…}}`) other than an environment read is an error naming it, as
/// are a cycle and a value that grows past [`MAX_EXPANDED`].
pub(crate) fn resolve(
    input: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Resolved, VarError> {
    let mut out = Resolved::default();
    expand(input, lookup, &mut Vec::new(), &mut out)?;
    Ok(out)
}

fn expand(
    input: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    within: &mut Vec<String>,
    out: &mut Resolved,
) -> Result<(), VarError> {
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
                _ => match generated(dynamic) {
                    Some(call) => {
                        out.text.push_str("{{");
                        out.text.push_str(&call);
                        out.text.push_str("}}");
                    }
                    None => return Err(VarError::Dynamic(format!("{{{{{name}}}}}"))),
                },
            }
        } else if let Some(value) = lookup(name) {
            if within.iter().any(|n| n == name) {
                let mut path = within.clone();
                path.push(name.to_owned());
                let from = path.iter().position(|n| n == name).unwrap_or(0);
                return Err(VarError::Cycle(path[from..].join(" → ")));
            }
            within.push(name.to_owned());
            expand(&value, lookup, within, out)?;
            within.pop();
        } else if is_env_name(name) {
            push_env(out, name);
        } else if let Some(mapped) = env_name_for(name) {
            // `{{client-id}}`: Postman allows names an environment variable
            // cannot have; it is read as `${client_id}` (the note says so).
            out.text.push_str(&format!("${{{mapped}}}"));
            let renamed = format!("{name} (as {mapped})");
            if !out.from_env.contains(&renamed) {
                out.from_env.push(renamed);
            }
        } else {
            push_literal(&mut out.text, &rest[start..start + 2 + end + 2]);
        }
        if out.text.len() > MAX_EXPANDED {
            let top = within.first().map_or(name, String::as_str);
            return Err(VarError::TooLarge(top.to_owned()));
        }
        rest = &after[end + 2..];
    }
    push_literal(&mut out.text, rest);
    if out.text.len() > MAX_EXPANDED {
        return Err(VarError::TooLarge(
            within.first().cloned().unwrap_or_default(),
        ));
    }
    Ok(())
}

/// The batch function that generates what a tool's dynamic variable does
/// (Postman, JetBrains, VS Code REST Client, httpyac, .NET), or `None`.
fn generated(dynamic: &str) -> Option<String> {
    let dynamic = dynamic.trim();
    // JetBrains' `$random.integer(1, 10)`: from inclusive, to exclusive.
    let (head, args) = match dynamic.split_once('(') {
        Some((head, rest)) => (head.trim(), Some(rest.strip_suffix(')')?)),
        None => (dynamic, None),
    };
    let mut words = head.split_whitespace();
    let name = words.next()?;
    let rest: Vec<&str> = words.collect();
    let ints = |list: &[&str]| -> Option<Vec<i64>> {
        list.iter().map(|a| a.trim().parse::<i64>().ok()).collect()
    };
    let arg_list: Vec<&str> = args
        .map(|a| a.split(',').filter(|s| !s.trim().is_empty()).collect())
        .unwrap_or_default();
    Some(match (name, rest.as_slice(), args.is_some()) {
        ("guid" | "uuid" | "randomUUID" | "random.uuid", [], false) => "uuid()".into(),
        ("timestamp", [], false) => "timestamp()".into(),
        ("isoTimestamp", [], false) => "iso_timestamp()".into(),
        ("datetime" | "localDatetime", ["iso8601"], false) => "iso_timestamp()".into(),
        ("datetime", ["rfc1123"], false) => "http_date()".into(),
        ("randomInt", [], false) => "random_int(0, 1000)".into(),
        // VS Code's `$randomInt min max`: max exclusive.
        ("randomInt", [_, _], false) => {
            let v = ints(&rest)?;
            (v[0] < v[1]).then(|| format!("random_int({}, {})", v[0], v[1] - 1))?
        }
        ("random.integer", [], true) => match ints(&arg_list)?.as_slice() {
            [] => "random_int(0, 1000)".into(),
            [from, to] if from < to => format!("random_int({from}, {})", to - 1),
            _ => return None,
        },
        ("randomAlphaNumeric", [], false) => "random_string(1)".into(),
        ("random.alphanumeric", [], true) => match ints(&arg_list)?.as_slice() {
            [n] if (1..=10_000).contains(n) => format!("random_string({n})"),
            _ => return None,
        },
        _ => return None,
    })
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
    out.push_str(&literal(text));
}

/// Literal text in batch syntax: `${` and `{{` escaped (`$${`,
/// `{{'{{'}}`), so a body that holds a template of its own loads and is
/// sent as it was.
pub(crate) fn literal(text: &str) -> String {
    crate::batch::template::escape_placeholders(&text.replace("${", "$${"))
}

/// The environment variable a tool's variable name stands for when it is
/// not one itself: `-`, `.` and spaces become `_` (a leading digit gets a
/// `_` before it). `None` for text that is no name at all (`{{#each}}`).
pub(crate) fn env_name_for(name: &str) -> Option<String> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ' '))
    {
        return None;
    }
    let mut mapped: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if mapped.starts_with(|c: char| c.is_ascii_digit()) {
        mapped.insert(0, '_');
    }
    Some(mapped)
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
    fn names_no_environment_variable_can_have_are_mapped_and_said() {
        let r = resolve(
            "{{host}}/x?id={{client-id}}&v={{api.version}}&t={{#each}}",
            &vars,
        )
        .unwrap();
        assert_eq!(
            r.text,
            "http://127.0.0.1:3000/x?id=${client_id}&v=${api_version}&t={{'{{'}}#each}}"
        );
        assert_eq!(
            r.from_env,
            ["client-id (as client_id)", "api.version (as api_version)"]
        );
    }

    #[test]
    fn dynamic_variables_become_functions_or_are_reported() {
        assert_eq!(
            resolve("{{$randomFirstName}}", &vars).unwrap_err(),
            VarError::Dynamic("{{$randomFirstName}}".into())
        );
        for (tool, batch) in [
            ("{{$guid}}", "{{uuid()}}"),
            ("{{$random.uuid}}", "{{uuid()}}"),
            ("{{$timestamp}}", "{{timestamp()}}"),
            ("{{$isoTimestamp}}", "{{iso_timestamp()}}"),
            ("{{$datetime iso8601}}", "{{iso_timestamp()}}"),
            ("{{$datetime rfc1123}}", "{{http_date()}}"),
            ("{{$randomInt}}", "{{random_int(0, 1000)}}"),
            ("{{$randomInt 5 10}}", "{{random_int(5, 9)}}"),
            ("{{$random.integer(1, 7)}}", "{{random_int(1, 6)}}"),
            ("{{$random.alphanumeric(8)}}", "{{random_string(8)}}"),
        ] {
            assert_eq!(resolve(tool, &vars).unwrap().text, batch, "{tool}");
        }
        let r = resolve("Bearer {{$processEnv TOKEN}}", &vars).unwrap();
        assert_eq!(r.text, "Bearer ${TOKEN}");
    }

    #[test]
    fn literal_text_round_trips_through_the_batch_templates() {
        use crate::batch::template::{Generate, render, substitute_env_with};
        for text in ["a {{b}} c", "${{x}}", "$${y}", "{{{{", "}}{{"] {
            let escaped = literal(text);
            let env = substitute_env_with(&escaped, |_| None).unwrap();
            let back = render(&env, |_| None, Generate::Values).unwrap();
            assert_eq!(back, text, "{escaped}");
        }
    }

    #[test]
    fn a_cycle_is_named_instead_of_recursing_forever() {
        let e = resolve("x {{loop}}", &vars).unwrap_err();
        assert_eq!(e, VarError::Cycle("loop → loop".into()));
        assert!(e.to_string().contains("cycle"), "{e}");
    }

    #[test]
    fn a_value_that_doubles_at_each_level_stops_at_a_megabyte() {
        // lol0 = "lol", lol(n) = lol(n-1) ten times: 3 × 10^9 bytes at 9.
        let lookup = |name: &str| -> Option<String> {
            let n: u32 = name.strip_prefix("lol")?.parse().ok()?;
            Some(if n == 0 {
                "lol".into()
            } else {
                format!("{{{{lol{}}}}}", n - 1).repeat(10)
            })
        };
        let started = std::time::Instant::now();
        let e = resolve("{{lol9}}", &lookup).unwrap_err();
        assert_eq!(e, VarError::TooLarge("lol9".into()));
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
    }
}
