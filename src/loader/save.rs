//! Writing a batch back with new limits: whatever form it was written in,
//! the result is the JSON object form, its entries untouched, so tuned
//! limits go straight into the file a production job will use.

use serde_json::{Map, Value, json};

use crate::batch::Format;
use crate::model::{Limit, Limits};

/// The batch `text` (in `format`) as a pretty JSON object carrying
/// `limits`. An unlimited limit is written as 0, which the loader reads
/// as unlimited (leaving the key out would mean the default instead).
pub fn with_limits(
    text: &str,
    format: Format,
    path: &std::path::Path,
    limits: Limits,
) -> Result<String, String> {
    // A JSON object keeps its own layout: only the limit keys change.
    if format == Format::Json
        && let Some(edited) = edit_in_place(text, limits)
    {
        return Ok(edited);
    }
    let mut object = match format {
        Format::Imported(source) => {
            let imported = crate::import::import(source, text, path, &Default::default())
                .map_err(|e| e.to_string())?;
            let requests = imported.requests.iter().map(|r| r.to_entry()).collect();
            Map::from_iter([("requests".to_owned(), Value::Array(requests))])
        }
        Format::Json => match serde_json::from_str::<Value>(text).map_err(|e| e.to_string())? {
            Value::Object(map) => map,
            Value::Array(requests) => {
                Map::from_iter([("requests".to_owned(), Value::Array(requests))])
            }
            _ => return Err("expected a JSON object or array".into()),
        },
        Format::JsonLines => {
            let requests = text
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| serde_json::from_str::<Value>(l).map_err(|e| e.to_string()))
                .collect::<Result<Vec<_>, _>>()?;
            Map::from_iter([("requests".to_owned(), Value::Array(requests))])
        }
        Format::Text => {
            let requests = text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(|l| match l.split_once(char::is_whitespace) {
                    Some((method, url)) => json!({"url": url.trim(), "method": method}),
                    None => Value::String(l.to_owned()),
                })
                .collect();
            Map::from_iter([("requests".to_owned(), Value::Array(requests))])
        }
    };
    // Limits first, before `requests`, where a reader looks for them.
    let requests = object.shift_remove("requests");
    object.insert("max_at_once".into(), json!(Limit::from(limits.max_at_once)));
    object.insert("per_second".into(), json!(Limit::from(limits.per_second)));
    if limits.burst > 1 {
        object.insert("burst".into(), json!(limits.burst));
    } else {
        object.shift_remove("burst");
    }
    if let Some(requests) = requests {
        object.insert("requests".into(), requests);
    }
    let mut out =
        serde_json::to_string_pretty(&Value::Object(object)).map_err(|e| e.to_string())?;
    out.push('\n');
    Ok(out)
}

/// `text`, a JSON object, with its top-level limit keys set to `limits`
/// by editing the text: every other byte stays as the user wrote it
/// (`20` stays `20`, one-line entries stay one-line). A key that is
/// missing goes in first, indented like the first key. `None` when the
/// text is not a JSON object.
fn edit_in_place(text: &str, limits: Limits) -> Option<String> {
    if !matches!(serde_json::from_str::<Value>(text), Ok(Value::Object(_))) {
        return None;
    }
    let number = |v: f64| {
        if v.fract() == 0.0 && v.abs() < 1e15 {
            format!("{}", v as i64)
        } else {
            format!("{v}")
        }
    };
    let mut wanted: Vec<(&str, Option<String>)> = vec![
        (
            "max_at_once",
            Some(limits.max_at_once.map_or("0".to_owned(), |n| n.to_string())),
        ),
        (
            "per_second",
            Some(limits.per_second.map_or("0".to_owned(), number)),
        ),
        (
            "burst",
            (limits.burst > 1).then(|| limits.burst.to_string()),
        ),
    ];
    let keys = crate::batch::json_text::top_level_values(text)?;
    let mut out = text.to_owned();
    // Replace (or remove) from the end, so earlier positions hold.
    let mut edits: Vec<(usize, usize, String)> = Vec::new();
    for (key, value) in &mut wanted {
        if let Some(&(start, end, entry_start, entry_end)) = keys.get(*key) {
            match value.take() {
                Some(v) => edits.push((start, end, v)),
                // `burst` 1: the key goes, with its comma (or, last in the
                // object, it says 1).
                None if entry_end > entry_start => {
                    edits.push((entry_start, entry_end, String::new()))
                }
                None => edits.push((start, end, "1".to_owned())),
            }
        }
    }
    edits.sort_by_key(|e| std::cmp::Reverse(e.0));
    for (start, end, v) in edits {
        out.replace_range(start..end, &v);
    }
    let missing: Vec<(&str, String)> = wanted
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect();
    if !missing.is_empty() {
        let open = out.find('{')?;
        let after = &out[open + 1..];
        let first_key = after.find('"')?;
        let gap = &after[..first_key];
        let after_comma = if gap.contains('\n') { "" } else { " " };
        let inserted: String = missing
            .iter()
            .map(|(k, v)| format!("{gap}\"{k}\": {v},{after_comma}"))
            .collect();
        out.insert_str(open + 1, &inserted);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::batch::{Batch, LoadOptions};

    fn reload(text: &str) -> Batch {
        Batch::parse_str(text, Path::new("saved.json"), &LoadOptions::default()).unwrap()
    }

    #[test]
    fn a_json_object_keeps_its_layout_only_the_limits_change() {
        let text = "{\n  \"base_url\": \"http://h\",\n  \"per_second\": 20,\n  \"max_at_once\": 3,\n  \"requests\": [{\"url\": \"/a\", \"params\": {\"n\": 5}}, \"/b\"]\n}\n";
        let saved = with_limits(
            text,
            Format::Json,
            Path::new("b.json"),
            Limits::new(10, 5.0),
        )
        .unwrap();
        assert_eq!(
            saved,
            "{\n  \"base_url\": \"http://h\",\n  \"per_second\": 5,\n  \"max_at_once\": 10,\n  \"requests\": [{\"url\": \"/a\", \"params\": {\"n\": 5}}, \"/b\"]\n}\n"
        );
        // Missing keys go in first, like the first key; a fraction stays one.
        let bare = "{\"requests\": [\"http://h/a\"]}";
        let saved =
            with_limits(bare, Format::Json, Path::new("b.json"), Limits::new(4, 2.5)).unwrap();
        assert_eq!(
            saved,
            "{\"max_at_once\": 4, \"per_second\": 2.5, \"requests\": [\"http://h/a\"]}"
        );
        assert_eq!(reload(&saved).len(), 1);
        // A burst back to 1 takes its key out, comma and all.
        let bursty =
            "{\"burst\": 5, \"max_at_once\": 1, \"per_second\": 1, \"requests\": [\"http://h/a\"]}";
        let saved = with_limits(
            bursty,
            Format::Json,
            Path::new("b.json"),
            Limits::new(2, 3.0),
        )
        .unwrap();
        assert_eq!(
            saved,
            "{\"max_at_once\": 2, \"per_second\": 3, \"requests\": [\"http://h/a\"]}"
        );
    }

    #[test]
    fn every_form_saves_with_limits_and_loads_the_same_requests() {
        let limits = Limits::new(25, 12.5);
        let cases = [
            (
                Format::Json,
                r#"{"base_url": "http://h", "max_at_once": 3, "requests": ["/a", ["/b", {"q": 1}]]}"#,
                "json object",
            ),
            (
                Format::Json,
                r#"["http://h/a", {"url": "http://h/b", "method": "POST"}]"#,
                "json array",
            ),
            (
                Format::JsonLines,
                "\"http://h/a\"\n{\"url\": \"http://h/b\", \"method\": \"POST\"}\n",
                "jsonl",
            ),
            (
                Format::Text,
                "# urls\nhttp://h/a\n\nPOST http://h/b\n",
                "text",
            ),
            (
                Format::Imported(crate::import::Source::Curl),
                "curl http://h/a\ncurl -X POST http://h/b\n",
                "curl",
            ),
        ];
        for (format, text, what) in cases {
            let saved = with_limits(text, format, Path::new("b.json"), limits).unwrap();
            let batch = reload(&saved);
            assert_eq!(
                batch.settings.max_at_once.and_then(Limit::get),
                Some(25),
                "{what}"
            );
            assert_eq!(
                batch.settings.per_second.and_then(Limit::get),
                Some(12.5),
                "{what}"
            );
            assert_eq!(batch.len(), 2, "{what}");
            let before = Batch::parse_str(
                text,
                Path::new(match format {
                    Format::Json => "b.json",
                    Format::JsonLines => "b.jsonl",
                    Format::Text => "b.txt",
                    Format::Imported(_) => "b.curl",
                }),
                &LoadOptions {
                    base_url: Some("http://h".into()),
                    format: None,
                    ..Default::default()
                },
            )
            .unwrap();
            let urls = |b: &Batch| {
                b.requests()
                    .map(|r| r.unwrap().url.to_string())
                    .collect::<Vec<_>>()
            };
            if format != Format::Json || what == "json array" {
                assert_eq!(urls(&batch), urls(&before), "{what}");
            }
        }
        // Unlimited is written as 0, which loads as unlimited, not the default.
        let saved = with_limits(
            "[\"http://h/a\"]",
            Format::Json,
            Path::new("b.json"),
            Limits::new(0, 0.0),
        )
        .unwrap();
        assert!(saved.contains("\"max_at_once\": 0"), "{saved}");
        // Other keys and their order survive; limits come before requests.
        let saved = with_limits(
            r#"{"base_url": "http://h", "retries": 2, "requests": ["/a"]}"#,
            Format::Json,
            Path::new("b.json"),
            limits,
        )
        .unwrap();
        assert_eq!(
            saved,
            r#"{"max_at_once": 25, "per_second": 12.5, "base_url": "http://h", "retries": 2, "requests": ["/a"]}"#,
            "edited in place, one line as it was"
        );
    }
}
