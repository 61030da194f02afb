//! Bodies read from files when they are sent: a `multipart` form (fields
//! and file uploads) or a whole `body_file`. They are described here as a
//! list of segments (bytes, or a file's contents) and streamed by the
//! engine, so a batch of a thousand uploads of a large file holds none of
//! them in memory.

use std::path::{Path, PathBuf};

use bytes::Bytes;

/// A body made of literal bytes and files' contents.
#[derive(Debug, Clone, PartialEq)]
pub enum Upload {
    /// A file sent as the whole body.
    File(PathBuf),
    /// A `multipart/form-data` body.
    Multipart { boundary: String, parts: Vec<Part> },
}

/// One field of a multipart form.
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    pub name: String,
    /// The file name the server is told (uploads default to the file's).
    pub filename: Option<String>,
    pub content_type: Option<String>,
    pub content: PartContent,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PartContent {
    Text(String),
    File(PathBuf),
}

/// A piece of a body, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Segment {
    Bytes(Bytes),
    File(PathBuf),
}

impl Upload {
    /// The Content-Type this body needs (a multipart body's names its
    /// boundary), if any.
    pub fn content_type(&self) -> Option<String> {
        match self {
            Upload::File(_) => None,
            Upload::Multipart { boundary, .. } => {
                Some(format!("multipart/form-data; boundary={boundary}"))
            }
        }
    }

    /// The body, piece by piece.
    pub fn segments(&self) -> Vec<Segment> {
        match self {
            Upload::File(path) => vec![Segment::File(path.clone())],
            Upload::Multipart { boundary, parts } => {
                let mut out = Vec::with_capacity(parts.len() * 3 + 1);
                for part in parts {
                    out.push(Segment::Bytes(Bytes::from(part.head(boundary))));
                    out.push(match &part.content {
                        PartContent::Text(text) => Segment::Bytes(Bytes::from(text.clone())),
                        PartContent::File(path) => Segment::File(path.clone()),
                    });
                    out.push(Segment::Bytes(Bytes::from_static(b"\r\n")));
                }
                out.push(Segment::Bytes(Bytes::from(format!("--{boundary}--\r\n"))));
                out
            }
        }
    }

    /// The length of `segments` now (files as they are on disk), or
    /// `None` when a file cannot be read (sending then fails, and says
    /// why). Given the segments, so a send builds them once.
    pub fn length(segments: &[Segment]) -> Option<u64> {
        segments.iter().try_fold(0u64, |sum, s| {
            Some(
                sum + match s {
                    Segment::Bytes(b) => b.len() as u64,
                    Segment::File(p) => std::fs::metadata(p).ok().filter(|m| m.is_file())?.len(),
                },
            )
        })
    }

    /// The body as text for a person (a results detail, a HAR), each
    /// file's contents shown as `<file PATH>`.
    pub fn describe(&self) -> String {
        self.segments()
            .into_iter()
            .map(|s| match s {
                Segment::Bytes(b) => String::from_utf8_lossy(&b).into_owned(),
                Segment::File(p) => format!("<file {}>", p.display()),
            })
            .collect()
    }
}

impl Part {
    fn head(&self, boundary: &str) -> String {
        let mut head = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{}\"",
            quote(&self.name)
        );
        let filename = self.filename.clone().or_else(|| match &self.content {
            PartContent::File(path) => Some(
                path.file_name()
                    .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
            ),
            PartContent::Text(_) => None,
        });
        if let Some(filename) = filename {
            head.push_str(&format!("; filename=\"{}\"", quote(&filename)));
        }
        let content_type = self.content_type.clone().or_else(|| match &self.content {
            PartContent::File(path) => Some(guess_type(path).to_owned()),
            PartContent::Text(_) => None,
        });
        if let Some(ct) = content_type {
            head.push_str(&format!("\r\nContent-Type: {ct}"));
        }
        head.push_str("\r\n\r\n");
        head
    }
}

/// A name in a quoted header parameter, escaped as browsers do (WHATWG).
fn quote(text: &str) -> String {
    text.replace('"', "%22")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// The content type of an uploaded file, from its extension, as curl
/// guesses it; else `application/octet-stream`.
fn guess_type(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "txt" => "text/plain",
        "html" | "htm" => "text/html",
        "css" => "text/css",
        "csv" => "text/csv",
        "json" => "application/json",
        "xml" => "application/xml",
        "pdf" => "application/pdf",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "svg" => "image/svg+xml",
        "webp" => "image/webp",
        _ => "application/octet-stream",
    }
}

/// A boundary no part is likely to contain: 24 random letters and digits.
pub(crate) fn fresh_boundary() -> String {
    let random: String = (0..24).map(|_| fastrand::alphanumeric()).collect();
    format!("ratebench-{random}")
}

/// The boundary written while a batch's identity is computed (the real
/// one is drawn for each request).
pub(crate) const FIXED_BOUNDARY: &str = "ratebench-boundary";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_multipart_body_is_laid_out_as_rfc_7578_says() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pic.png");
        std::fs::write(&file, b"PNG!").unwrap();
        let upload = Upload::Multipart {
            boundary: "B".into(),
            parts: vec![
                Part {
                    name: "a\"b".into(),
                    filename: None,
                    content_type: None,
                    content: PartContent::Text("x".into()),
                },
                Part {
                    name: "f".into(),
                    filename: None,
                    content_type: None,
                    content: PartContent::File(file.clone()),
                },
            ],
        };
        let text = upload.describe();
        assert_eq!(
            text,
            format!(
                "--B\r\nContent-Disposition: form-data; name=\"a%22b\"\r\n\r\nx\r\n\
                 --B\r\nContent-Disposition: form-data; name=\"f\"; filename=\"pic.png\"\r\n\
                 Content-Type: image/png\r\n\r\n<file {}>\r\n--B--\r\n",
                file.display()
            )
        );
        let expected = text.len() - format!("<file {}>", file.display()).len() + 4;
        assert_eq!(Upload::length(&upload.segments()), Some(expected as u64));
        std::fs::remove_file(&file).unwrap();
        assert_eq!(Upload::length(&upload.segments()), None);
    }
}
