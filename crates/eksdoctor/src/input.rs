//! Reading operator input: files, `-` for stdin, with plain errors (exit 2).
//!
//! One reader for every command: gzip is recognised by its magic bytes (any
//! file name), binary data is refused after a look at the first bytes, and
//! every whole-document input (ConfigMaps, manifests, policies, key lists,
//! the credential report) is bounded by [`MAX_INPUT_BYTES`] after
//! decompression, so `/dev/zero` or an endless pipe ends with exit 2 at
//! once instead of filling memory. `explain` streams (flat memory, no size
//! limit) through [`open_sniffed`], which applies the same binary check.

use std::io::{BufRead, BufReader, Cursor, Read};
use std::path::{Path, PathBuf};

use crate::error::CliError;

/// The most a whole-document input may hold (after gunzip): 32 MiB. A
/// credential report of 100,000 users is about 30 MB; an aws-auth ConfigMap
/// is bounded by etcd's 1.5 MiB object limit.
pub const MAX_INPUT_BYTES: u64 = 32 * 1024 * 1024;

/// Human form of [`MAX_INPUT_BYTES`], for messages and docs.
pub const MAX_INPUT_TEXT: &str = "32 MiB";

/// How much of the (decompressed) start of an input decides "text or binary".
const SNIFF_BYTES: usize = 8 * 1024;

/// How much raw input is read ahead to find that much decompressed text.
const RAW_HEAD: u64 = 64 * 1024;

/// An input opened for reading: what it is called and its raw bytes, with
/// the first bytes already checked. `gzip` says whether they are compressed.
pub struct Sniffed {
    pub name: String,
    pub gzip: bool,
    pub reader: Box<dyn Read + Send>,
}

impl std::fmt::Debug for Sniffed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sniffed")
            .field("name", &self.name)
            .field("gzip", &self.gzip)
            .finish_non_exhaustive()
    }
}

fn open_raw(path: &Path) -> Result<Box<dyn Read + Send>, CliError> {
    if path.as_os_str() == "-" {
        return Ok(Box::new(std::io::stdin()));
    }
    if path.is_dir() {
        return Err(CliError::input(path.display(), "is a directory"));
    }
    let f =
        std::fs::File::open(path).map_err(|e| CliError::input(path.display(), io_message(&e)))?;
    Ok(Box::new(f))
}

/// Open a file (or stdin for `-`) and check its first bytes: a gzip stream
/// that does not decompress from byte 0, or binary data, is exit 2. The
/// reader returned gives every byte, compressed ones still compressed
/// (`explain` decompresses as it streams).
///
/// # Errors
/// A missing or unreadable file, a corrupt gzip, binary data.
pub fn open_sniffed(path: &Path) -> Result<Sniffed, CliError> {
    let name = display_name(path);
    let mut raw = open_raw(path)?;
    let mut head = Vec::new();
    (&mut raw)
        .take(RAW_HEAD)
        .read_to_end(&mut head)
        .map_err(|e| CliError::input(&name, io_message(&e)))?;
    let complete = (head.len() as u64) < RAW_HEAD;
    let gzip = head.starts_with(&[0x1f, 0x8b]);
    if gzip {
        let mut sample = Vec::new();
        let r = flate2::read::MultiGzDecoder::new(Cursor::new(&head))
            .take(SNIFF_BYTES as u64)
            .read_to_end(&mut sample);
        if let Err(e) = r {
            // A partial head may end mid-stream; that is only an error when
            // the whole file was read, or nothing decompressed at all.
            if sample.is_empty() && (complete || e.kind() != std::io::ErrorKind::UnexpectedEof) {
                return Err(CliError::input(
                    &name,
                    format!("not valid gzip data ({e}); nothing could be read"),
                ));
            }
        }
        check_text(&name, &sample)?;
    } else {
        check_text(&name, &head[..head.len().min(SNIFF_BYTES)])?;
    }
    Ok(Sniffed {
        name,
        gzip,
        reader: Box::new(Cursor::new(head).chain(raw)),
    })
}

/// Refuse what is clearly not text: a NUL byte, or more than one byte in
/// ten that is a control character or not UTF-8.
fn check_text(name: &str, sample: &[u8]) -> Result<(), CliError> {
    if let Some(at) = sample.iter().position(|b| *b == 0) {
        return Err(CliError::input(
            name,
            format!(
                "binary data, not text (a NUL byte at offset {at}; UTF-16 text must be converted to UTF-8 first)"
            ),
        ));
    }
    let control = sample
        .iter()
        .filter(|b| {
            (**b < 0x20 && !matches!(**b, b'\t' | b'\n' | b'\r' | 0x0c | 0x1b)) || **b == 0x7f
        })
        .count();
    let mut invalid = 0usize;
    let mut rest = sample;
    while !rest.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(_) => break,
            Err(e) => {
                let Some(len) = e.error_len() else { break }; // cut at the end of the sample
                invalid += len;
                rest = &rest[e.valid_up_to() + len..];
            }
        }
    }
    if (control + invalid) * 10 > sample.len() {
        return Err(CliError::input(
            name,
            format!(
                "binary data, not text ({} of the first {} bytes are control characters or not UTF-8)",
                control + invalid,
                sample.len()
            ),
        ));
    }
    Ok(())
}

/// The whole of a file (or stdin for `-`) as bytes: gunzipped when it is
/// gzip, refused when binary or larger than [`MAX_INPUT_BYTES`].
///
/// # Errors
/// A missing or unreadable file, corrupt gzip, binary data, too large.
pub fn read_bytes(path: &Path) -> Result<Vec<u8>, CliError> {
    let s = open_sniffed(path)?;
    let name = s.name;
    let reader: Box<dyn Read> = if s.gzip {
        Box::new(flate2::read::MultiGzDecoder::new(BufReader::new(s.reader)))
    } else {
        s.reader
    };
    let mut buf = Vec::new();
    reader
        .take(MAX_INPUT_BYTES + 1)
        .read_to_end(&mut buf)
        .map_err(|e| {
            if s.gzip {
                CliError::input(&name, format!("the gzip data is truncated or corrupt: {e}"))
            } else {
                CliError::input(&name, io_message(&e))
            }
        })?;
    if buf.len() as u64 > MAX_INPUT_BYTES {
        return Err(CliError::input(
            &name,
            format!("larger than {MAX_INPUT_TEXT}, the limit for this input; nothing was read"),
        ));
    }
    Ok(buf)
}

/// The whole of a file (or stdin for `-`) as UTF-8 text (see [`read_bytes`]).
///
/// # Errors
/// As [`read_bytes`], or text that is not UTF-8.
pub fn read_text(path: &Path) -> Result<String, CliError> {
    let bytes = read_bytes(path)?;
    String::from_utf8(bytes).map_err(|e| {
        CliError::input(
            display_name(path),
            format!(
                "not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        )
    })
}

/// A buffered line reader over the decompressed input (for streaming callers).
///
/// # Errors
/// As [`open_sniffed`].
pub fn open_text(path: &Path) -> Result<(String, Box<dyn BufRead>), CliError> {
    let s = open_sniffed(path)?;
    let reader: Box<dyn BufRead> = if s.gzip {
        Box::new(BufReader::new(flate2::read::MultiGzDecoder::new(
            BufReader::new(s.reader),
        )))
    } else {
        Box::new(BufReader::new(s.reader))
    };
    Ok((s.name, reader))
}

/// The files named: a directory is walked (sorted, hidden entries and
/// symbolic links to directories skipped) for files `keep` accepts; a
/// file named on its own is always kept. `-` is kept as is.
///
/// # Errors
/// A named path that does not exist, or a directory that cannot be read.
pub fn expand(paths: &[PathBuf], keep: impl Fn(&Path) -> bool) -> Result<Vec<PathBuf>, CliError> {
    let mut out = Vec::new();
    for p in paths {
        if p.as_os_str() != "-" && p.is_dir() {
            walk(p, &keep, &mut out, 0)?;
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

fn walk(
    dir: &Path,
    keep: &impl Fn(&Path) -> bool,
    out: &mut Vec<PathBuf>,
    depth: usize,
) -> Result<(), CliError> {
    if depth > 32 {
        return Ok(());
    }
    let entries =
        std::fs::read_dir(dir).map_err(|e| CliError::input(dir.display(), io_message(&e)))?;
    let mut list: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    list.sort();
    for p in list {
        let hidden = p
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        if hidden {
            continue;
        }
        let Ok(meta) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        if meta.is_dir() {
            walk(&p, keep, out, depth + 1)?;
        } else if (meta.is_file() || (meta.file_type().is_symlink() && p.is_file())) && keep(&p) {
            out.push(p);
        }
    }
    Ok(())
}

/// Whether a file name looks like a Kubernetes manifest (`.yaml`, `.yml`, `.json`, gzipped too).
#[must_use]
pub fn is_manifest_name(p: &Path) -> bool {
    let n = p
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let n = n.strip_suffix(".gz").unwrap_or(&n);
    n.ends_with(".yaml") || n.ends_with(".yml") || n.ends_with(".json")
}

/// `<stdin>` for `-`, else the path.
#[must_use]
pub fn display_name(path: &Path) -> String {
    if path.as_os_str() == "-" {
        "<stdin>".to_owned()
    } else {
        path.display().to_string()
    }
}

/// An io error in plain words.
#[must_use]
pub fn io_message(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        std::io::ErrorKind::IsADirectory => "is a directory".to_owned(),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Never panics, whatever the bytes.
        #[test]
        fn any_bytes_are_judged(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
            let _ = check_text("x", &bytes);
        }

        /// Text people paste (any Unicode without control characters, lines,
        /// tabs) is always text, even cut at any byte.
        #[test]
        fn text_is_text(s in "[^\\x00-\\x08\\x0b\\x0e-\\x1f\\x7f]{0,2000}", cut in 0usize..2000) {
            let b = s.as_bytes();
            let b = &b[..cut.min(b.len())];
            prop_assert!(check_text("x", b).is_ok());
        }
    }

    #[test]
    fn text_and_binary() {
        assert!(check_text("x", b"apiVersion: v1\nkind: ConfigMap\n").is_ok());
        assert!(check_text("x", "caf\u{e9} \u{2014} ok\n".as_bytes()).is_ok());
        assert!(check_text("x", &[0u8; 64]).is_err());
        assert!(check_text("x", &[0xffu8, 0xfe, 0x41, 0x00]).is_err());
        let junk: Vec<u8> = (0..255u8).map(|b| b.wrapping_mul(97) | 0x80).collect();
        assert!(check_text("x", &junk).is_err());
        // A sample cut inside a multi-byte character is still text.
        let s = "é".repeat(100);
        assert!(check_text("x", &s.as_bytes()[..s.len() - 1]).is_ok());
    }
}
