//! Reading the small files keyway is pointed at (a config file, a component definition, a
//! passphrase file, an export): regular files only, and never more than a stated size. A FIFO, a
//! device or a directory where a file is expected would otherwise hang keyway or feed it without
//! end (`--config /dev/zero`). The file is opened without blocking and checked on the opened
//! descriptor, so a path swapped for a FIFO between a check and the open cannot hang it either.

use std::fs::{File, Metadata, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// Why a file was not read; each reads after the file's name.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("is {0}, not a regular file")]
    NotRegular(&'static str),
    #[error("is larger than {} KiB, the most keyway reads for it", .0 / 1024)]
    TooLarge(u64),
    #[error("cannot be read: {0}")]
    Io(#[from] io::Error),
}

impl ReadError {
    pub fn not_found(&self) -> bool {
        matches!(self, ReadError::Io(e) if e.kind() == io::ErrorKind::NotFound)
    }
}

/// What a file that is not a regular one is, in words.
pub fn kind_of(meta: &Metadata) -> Option<&'static str> {
    let t = meta.file_type();
    if t.is_file() {
        None
    } else if t.is_dir() {
        Some("a directory")
    } else if t.is_fifo() {
        Some("a FIFO")
    } else if t.is_socket() {
        Some("a socket")
    } else if t.is_char_device() {
        Some("a character device")
    } else if t.is_block_device() {
        Some("a block device")
    } else {
        Some("not a file")
    }
}

/// Opens `path` (following symlinks) for reading if it is a regular file.
pub fn open_regular(path: &Path) -> Result<(File, Metadata), ReadError> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)?;
    let meta = file.metadata()?;
    if let Some(kind) = kind_of(&meta) {
        return Err(ReadError::NotRegular(kind));
    }
    Ok((file, meta))
}

/// The bytes of the regular file `path`, refused beyond `limit` bytes.
pub fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let (file, meta) = open_regular(path)?;
    if meta.len() > limit {
        return Err(ReadError::TooLarge(limit));
    }
    // Sized up front, so a secret read here is not copied about by a growing buffer.
    let mut bytes = Vec::with_capacity(meta.len() as usize + 1);
    // The length may have changed since the stat: read at most one byte past the limit.
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        zeroize::Zeroize::zeroize(&mut bytes);
        return Err(ReadError::TooLarge(limit));
    }
    Ok(bytes)
}

/// `read_bounded`, as UTF-8 text.
pub fn read_text(path: &Path, limit: u64) -> Result<String, ReadError> {
    String::from_utf8(read_bounded(path, limit)?).map_err(|e| {
        let mut bytes = e.into_bytes();
        zeroize::Zeroize::zeroize(&mut bytes);
        ReadError::Io(io::Error::new(
            io::ErrorKind::InvalidData,
            "it is not UTF-8 text",
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_within_the_limit_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, b"hello").unwrap();
        assert_eq!(read_bounded(&file, 5).unwrap(), b"hello");
        assert!(matches!(
            read_bounded(&file, 4),
            Err(ReadError::TooLarge(4))
        ));
        assert!(matches!(
            read_bounded(dir.path(), 100),
            Err(ReadError::NotRegular("a directory"))
        ));
        assert!(matches!(
            read_bounded(Path::new("/dev/zero"), 100),
            Err(ReadError::NotRegular("a character device"))
        ));
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: mkfifo reads the NUL-terminated path only.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        assert!(matches!(
            read_bounded(&fifo, 100),
            Err(ReadError::NotRegular("a FIFO"))
        ));
        assert!(read_bounded(&dir.path().join("missing"), 1)
            .unwrap_err()
            .not_found());
        std::fs::write(&file, b"\xff\xfe").unwrap();
        assert!(read_text(&file, 10).is_err());
    }
}
