//! Streaming `for_each` expansion: the product of an entry's variables is
//! produced one binding at a time (data files are re-read, never held), so
//! a batch of a million requests costs the memory of one.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::iter;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

use super::error::BatchError;
use super::model::AxisSpec;
use super::request::Bindings;

type BindingsIter = Box<dyn Iterator<Item = Result<Bindings, BatchError>> + Send>;

/// One `for_each` variable, ready to iterate.
#[derive(Debug, Clone)]
pub(crate) enum Axis {
    Values {
        var: Arc<str>,
        values: Arc<[String]>,
    },
    Range {
        var: Arc<str>,
        start: i64,
        end: i64,
        step: i64,
    },
    Rows {
        path: PathBuf,
        kind: RowsKind,
    },
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum RowsKind {
    Csv,
    Jsonl,
}

impl Axis {
    /// Compiles a spec; `dir` is the batch file's folder, against which
    /// data file paths are resolved.
    pub(crate) fn new(var: &str, spec: &AxisSpec, dir: &Path) -> Result<Self, String> {
        Ok(match spec {
            AxisSpec::Values(values) => Axis::Values {
                var: var.into(),
                values: values.clone().into(),
            },
            AxisSpec::Range { start, end, step } => Axis::Range {
                var: var.into(),
                start: *start,
                end: *end,
                step: *step,
            },
            AxisSpec::Rows(file) => {
                let path = dir.join(file);
                let kind = match path.extension().and_then(|e| e.to_str()) {
                    Some("csv") => RowsKind::Csv,
                    Some("jsonl" | "ndjson") => RowsKind::Jsonl,
                    _ => {
                        return Err(format!(
                            "`for_each.rows` file {file:?}: expected a .csv or .jsonl file"
                        ));
                    }
                };
                match std::fs::metadata(&path) {
                    Err(_) => {
                        return Err(format!(
                            "`for_each.rows` file {} does not exist",
                            path.display()
                        ));
                    }
                    Ok(m) if m.is_dir() => {
                        return Err(format!(
                            "`for_each.rows` file {} is a folder, not a file",
                            path.display()
                        ));
                    }
                    Ok(m) if !m.is_file() => {
                        return Err(format!(
                            "`for_each.rows` file {} is not a regular file (a FIFO, a socket \
                             or a device): rows are read from a file",
                            path.display()
                        ));
                    }
                    Ok(_) => {}
                }
                Axis::Rows { path, kind }
            }
        })
    }

    /// How many values the axis gives, without building them: a range by
    /// arithmetic, a data file by counting its rows.
    pub(crate) fn count(&self) -> Result<u64, String> {
        Ok(match self {
            Axis::Values { values, .. } => values.len() as u64,
            Axis::Range {
                start, end, step, ..
            } => {
                let (start, end, step) = (i128::from(*start), i128::from(*end), i128::from(*step));
                let span = if step > 0 { end - start } else { start - end };
                if span <= 0 {
                    0
                } else {
                    let step = step.abs();
                    u64::try_from((span + step - 1) / step).unwrap_or(u64::MAX)
                }
            }
            Axis::Rows {
                path,
                kind: RowsKind::Csv,
            } => {
                let mut reader = csv::ReaderBuilder::new()
                    .from_path(path)
                    .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                let mut record = csv::ByteRecord::new();
                let mut rows = 0;
                // A malformed row is counted here and reported by the walk.
                while reader.read_byte_record(&mut record).unwrap_or(true) {
                    rows += 1;
                }
                rows
            }
            Axis::Rows {
                path,
                kind: RowsKind::Jsonl,
            } => {
                let file =
                    File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                let mut rows = 0;
                for line in BufReader::new(file).split(b'\n') {
                    let line = line.map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                    rows += u64::from(!line.iter().all(u8::is_ascii_whitespace));
                }
                rows
            }
        })
    }

    fn iter(&self) -> BindingsIter {
        match self {
            Axis::Values { var, values } => {
                let (var, values) = (var.clone(), values.clone());
                Box::new(
                    (0..values.len())
                        .map(move |i| Ok(Bindings(vec![(var.clone(), values[i].clone())]))),
                )
            }
            Axis::Range {
                var,
                start,
                end,
                step,
            } => {
                let (var, end, step) = (var.clone(), *end, *step);
                let values = iter::successors(Some(*start), move |v| v.checked_add(step))
                    .take_while(move |v| if step > 0 { *v < end } else { *v > end });
                Box::new(values.map(move |v| Ok(Bindings(vec![(var.clone(), v.to_string())]))))
            }
            Axis::Rows {
                path,
                kind: RowsKind::Csv,
            } => csv_rows(path.clone()),
            Axis::Rows {
                path,
                kind: RowsKind::Jsonl,
            } => jsonl_rows(path.clone()),
        }
    }
}

/// Every combination of the axes' values; the first axis varies slowest.
pub(crate) fn product(axes: Arc<[Axis]>) -> BindingsIter {
    product_from(axes, 0, Bindings::default())
}

fn product_from(axes: Arc<[Axis]>, depth: usize, prefix: Bindings) -> BindingsIter {
    if depth == axes.len() {
        return Box::new(iter::once(Ok(prefix)));
    }
    let inner = axes[depth].iter();
    Box::new(inner.flat_map(move |item| -> BindingsIter {
        match item {
            Ok(bindings) => {
                let mut all = prefix.clone();
                all.0.extend(bindings.0);
                product_from(axes.clone(), depth + 1, all)
            }
            Err(e) => Box::new(iter::once(Err(e))),
        }
    }))
}

fn csv_rows(path: PathBuf) -> BindingsIter {
    let fail = {
        let path = path.clone();
        move |e: csv::Error| {
            let line = e.position().map(|p| p.line() as usize);
            let message = match e.kind() {
                csv::ErrorKind::UnequalLengths {
                    expected_len, len, ..
                } => format!("this row has {len} fields, but the header row has {expected_len}"),
                csv::ErrorKind::Utf8 { .. } => "this row is not valid UTF-8".to_owned(),
                _ => format!("invalid CSV: {e}"),
            };
            let mut err = BatchError::new(&path, message);
            err.line = line;
            err
        }
    };
    let mut reader = match csv::ReaderBuilder::new()
        .trim(csv::Trim::Headers)
        .from_path(&path)
    {
        Ok(r) => r,
        Err(e) => return Box::new(iter::once(Err(fail(e)))),
    };
    let headers: Vec<Arc<str>> = match reader.headers() {
        Ok(h) => h.iter().map(Arc::from).collect(),
        Err(e) => return Box::new(iter::once(Err(fail(e)))),
    };
    if headers.is_empty() {
        return Box::new(iter::once(Err(BatchError::new(
            &path,
            "the CSV file has no header row",
        )
        .line(1))));
    }
    Box::new(reader.into_records().map(move |record| {
        let record = record.map_err(&fail)?;
        Ok(Bindings(
            headers
                .iter()
                .cloned()
                .zip(record.iter().map(str::to_owned))
                .collect(),
        ))
    }))
}

fn jsonl_rows(path: PathBuf) -> BindingsIter {
    let file = match File::open(&path) {
        Ok(f) => f,
        Err(e) => {
            return Box::new(iter::once(Err(BatchError::new(
                &path,
                format!("cannot read: {e}"),
            ))));
        }
    };
    let lines = BufReader::new(file).lines().enumerate();
    Box::new(lines.filter_map(move |(i, line)| {
        let line_no = i + 1;
        let line = match line {
            Ok(l) => l,
            Err(e) => {
                return Some(Err(
                    BatchError::new(&path, format!("cannot read: {e}")).line(line_no)
                ));
            }
        };
        let line = if line_no == 1 {
            line.strip_prefix('\u{feff}')
                .map(str::to_owned)
                .unwrap_or(line)
        } else {
            line
        };
        if line.trim().is_empty() {
            return None;
        }
        Some(
            row_from_json(&line).map_err(|(msg, col)| BatchError::new(&path, msg).at(line_no, col)),
        )
    }))
}

fn row_from_json(line: &str) -> Result<Bindings, (String, usize)> {
    let value: Value = serde_json::from_str(line).map_err(|e| (strip_position(&e), e.column()))?;
    let Value::Object(map) = value else {
        return Err(("expected a JSON object of variables per line".into(), 1));
    };
    let mut out = Vec::with_capacity(map.len());
    for (key, value) in map {
        let text = match value {
            Value::String(s) => s,
            Value::Null => String::new(),
            Value::Array(_) | Value::Object(_) => value.to_string(),
            other => other.to_string(),
        };
        out.push((Arc::from(key.as_str()), text));
    }
    Ok(Bindings(out))
}

/// serde_json's message without its " at line L column C" suffix, which we
/// report in our own position fields.
pub(crate) fn strip_position(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    text.strip_suffix(&suffix)
        .map(str::to_owned)
        .unwrap_or(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(axis: &Axis) -> Vec<String> {
        axis.iter().map(|b| b.unwrap().0[0].1.clone()).collect()
    }

    #[test]
    fn ranges_are_half_open_with_steps() {
        let range = |start, end, step| Axis::Range {
            var: "i".into(),
            start,
            end,
            step,
        };
        assert_eq!(values(&range(0, 3, 1)), ["0", "1", "2"]);
        assert_eq!(values(&range(0, 10, 4)), ["0", "4", "8"]);
        assert_eq!(values(&range(3, 0, -1)), ["3", "2", "1"]);
    }

    #[test]
    fn product_varies_first_axis_slowest() {
        let axes: Arc<[Axis]> = vec![
            Axis::Values {
                var: "a".into(),
                values: vec!["x".to_owned(), "y".to_owned()].into(),
            },
            Axis::Range {
                var: "b".into(),
                start: 0,
                end: 2,
                step: 1,
            },
        ]
        .into();
        let got: Vec<String> = product(axes)
            .map(|b| {
                b.unwrap()
                    .0
                    .iter()
                    .map(|(_, v)| v.as_str())
                    .collect::<Vec<_>>()
                    .join("")
            })
            .collect();
        assert_eq!(got, ["x0", "x1", "y0", "y1"]);
    }
}
