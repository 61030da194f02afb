//! Kept bodies a server compressed (Content-Encoding gzip, deflate, br,
//! zstd), decoded for display and parsing. Nothing asks for compression
//! unless the batch sets Accept-Encoding; bytes are counted as received.

use std::io::Read;

/// How far past the kept size an encoded body is read before decoding:
/// compressed text is rarely more than this many times smaller.
pub const ENCODED_SHARE: usize = 16;

/// Whether `encoding` (a Content-Encoding value) is one we decode.
pub fn is_decodable(encoding: &str) -> bool {
    let e = encoding.trim();
    ["gzip", "x-gzip", "deflate", "br", "zstd"]
        .iter()
        .any(|known| e.eq_ignore_ascii_case(known))
}

/// `raw` decoded as `encoding` says, at most `cap` bytes of it. A body cut
/// short (a kept prefix) decodes as far as it goes; one that is not what
/// its header says is kept as received.
pub fn decode(encoding: &str, raw: &[u8], cap: usize) -> Vec<u8> {
    let e = encoding.trim().to_ascii_lowercase();
    let reader: Box<dyn Read + '_> = match e.as_str() {
        "gzip" | "x-gzip" => Box::new(flate2::read::MultiGzDecoder::new(raw)),
        // "deflate" is zlib-wrapped by the standard, raw by some servers.
        "deflate" if raw.first().is_some_and(|b| b & 0x0f == 8) => {
            Box::new(flate2::read::ZlibDecoder::new(raw))
        }
        "deflate" => Box::new(flate2::read::DeflateDecoder::new(raw)),
        "br" => Box::new(brotli_decompressor::Decompressor::new(raw, 4096)),
        "zstd" => match ruzstd::decoding::StreamingDecoder::new(raw) {
            Ok(decoder) => Box::new(decoder),
            Err(_) => return raw[..raw.len().min(cap)].to_vec(),
        },
        _ => return raw[..raw.len().min(cap)].to_vec(),
    };
    let mut out = Vec::new();
    let mut limited = reader.take(cap as u64);
    // Read what decodes; a cut-off stream ends in an error after it.
    let mut buf = [0u8; 8192];
    loop {
        match limited.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(_) => break,
        }
    }
    if out.is_empty() && !raw.is_empty() {
        return raw[..raw.len().min(cap)].to_vec();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const TEXT: &[u8] = b"{\"hello\": \"world\", \"n\": [1, 2, 3, 4, 5, 6, 7, 8, 9]}";

    #[test]
    fn gzip_and_both_deflates_decode() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(TEXT).unwrap();
        assert_eq!(decode("gzip", &gz.finish().unwrap(), 1024), TEXT);
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(TEXT).unwrap();
        assert_eq!(decode("Deflate", &z.finish().unwrap(), 1024), TEXT);
        let mut d = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        d.write_all(TEXT).unwrap();
        assert_eq!(decode("deflate", &d.finish().unwrap(), 1024), TEXT);
    }

    #[test]
    fn the_cap_and_a_cut_body_keep_what_decodes() {
        let long: Vec<u8> = TEXT.iter().copied().cycle().take(100_000).collect();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&long).unwrap();
        let encoded = gz.finish().unwrap();
        assert_eq!(decode("gzip", &encoded, 100), &long[..100]);
        let cut = decode("gzip", &encoded[..encoded.len() / 2], 1_000_000);
        assert!(!cut.is_empty() && long.starts_with(&cut), "{}", cut.len());
    }

    #[test]
    fn a_body_that_is_not_what_its_header_says_is_kept_as_received() {
        assert_eq!(decode("gzip", b"plain text", 5), b"plain");
        assert_eq!(decode("zstd", b"plain text", 100), b"plain text");
        assert_eq!(decode("compress", b"plain text", 100), b"plain text");
    }
}
