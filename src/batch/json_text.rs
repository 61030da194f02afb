//! Editing JSON as the user wrote it: where a top-level key's value is
//! in the text, so a change touches only that value and every other byte
//! (spacing, number forms, one-line objects) stays as it was.

/// The top-level keys of a JSON object text: for each, where its value
/// starts and ends, and where its whole entry (key, value and the comma
/// after it) starts and ends.
pub(crate) fn top_level_values(
    text: &str,
) -> Option<std::collections::HashMap<String, (usize, usize, usize, usize)>> {
    let bytes = text.as_bytes();
    let mut found = std::collections::HashMap::new();
    let mut i = text.find('{')? + 1;
    let skip_ws = |mut i: usize| {
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        i
    };
    let string_end = |mut i: usize| {
        // `i` is at the opening quote.
        i += 1;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' => i += 2,
                b'"' => return Some(i + 1),
                _ => i += 1,
            }
        }
        None
    };
    loop {
        i = skip_ws(i);
        if i >= bytes.len() || bytes[i] == b'}' {
            return Some(found);
        }
        let entry_start = i;
        if bytes[i] != b'"' {
            return None;
        }
        let key_end = string_end(i)?;
        let key: String = serde_json::from_str(&text[i..key_end]).ok()?;
        i = skip_ws(key_end);
        if bytes.get(i) != Some(&b':') {
            return None;
        }
        let value_start = skip_ws(i + 1);
        // The value's end: depth-counting through strings and brackets.
        let mut j = value_start;
        let mut depth = 0i32;
        while j < bytes.len() {
            match bytes[j] {
                b'"' => {
                    j = string_end(j)?;
                    continue;
                }
                b'{' | b'[' => depth += 1,
                b'}' | b']' if depth == 0 => break,
                b'}' | b']' => depth -= 1,
                b',' if depth == 0 => break,
                _ => {}
            }
            j += 1;
        }
        let mut value_end = j;
        while value_end > value_start && bytes[value_end - 1].is_ascii_whitespace() {
            value_end -= 1;
        }
        // With a comma after it, the entry runs to the next key (so taking
        // it out leaves the next key where this one was); without, it
        // cannot go alone (the comma before it would dangle): empty.
        let entry_end = if bytes.get(j) == Some(&b',') {
            skip_ws(j + 1)
        } else {
            entry_start
        };
        found.insert(key, (value_start, value_end, entry_start, entry_end));
        if bytes.get(j) != Some(&b',') {
            return Some(found);
        }
        i = j + 1;
    }
}
