//! Reading operator input: files, `-` for stdin, with plain errors (exit 2).

use std::io::Read;
use std::path::Path;

use crate::error::CliError;

/// The whole of a file (or stdin for `-`) as bytes.
///
/// # Errors
/// A missing or unreadable file.
pub fn read_bytes(path: &Path) -> Result<Vec<u8>, CliError> {
    if path.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .map_err(|e| CliError::input("<stdin>", e))?;
        return Ok(buf);
    }
    std::fs::read(path).map_err(|e| CliError::input(path.display(), io_message(&e)))
}

/// The whole of a file (or stdin for `-`) as UTF-8 text.
///
/// # Errors
/// A missing or unreadable file, or text that is not UTF-8.
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
