//! Opening a database file: check it without writing, refuse what cannot be used,
//! then configure and migrate.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, MAIN_DB};

use crate::error::OpenError;
use crate::migrate::{migrate, schema_version, SCHEMA_VERSION};

/// How hard SQLite works to make each commit survive a power cut.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Synchronous {
    /// `synchronous=FULL`: every commit is on disk before it returns. The default.
    #[default]
    Full,
    /// `synchronous=NORMAL`: in WAL mode a commit survives a crash of the process but
    /// the last commits may be lost on power failure; several times faster.
    Normal,
}

impl Synchronous {
    fn pragma(self) -> &'static str {
        match self {
            Self::Full => "FULL",
            Self::Normal => "NORMAL",
        }
    }
}

/// Settings of a [`SqliteStore`](crate::SqliteStore).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SqliteOptions {
    /// Durability of each commit.
    pub synchronous: Synchronous,
    /// How long a connection waits for another one (in this or another process) to
    /// release the write lock before the unit counts as a transient conflict.
    pub busy_timeout: Duration,
    /// WAL frames (pages) after which a commit copies the WAL back into the database
    /// (`wal_autocheckpoint`). SQLite's default of 1,000 checkpoints every few hundred
    /// reservations, each time writing and syncing the same hot pages again; 10,000
    /// (about 40 MB of WAL) does it a tenth as often. Durability does not depend on it.
    pub checkpoint_pages: u32,
    /// Page cache of each connection, in KiB (`cache_size`; SQLite's default, 2,000 KiB,
    /// is the default here too). A bigger cache reads fewer pages from the OS, but every
    /// commit walks the whole cache's hash table (SQLite's `pcache1Truncate`): measured
    /// at 20-35% of the writer thread's time with 64 MiB and a million finished
    /// reservations behind it.
    pub cache_kib: u32,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            synchronous: Synchronous::Full,
            busy_timeout: Duration::from_secs(5),
            checkpoint_pages: 10_000,
            cache_kib: 2_000,
        }
    }
}

const MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// Reads the file's header (never writes): a file that exists must be empty or a
/// whole SQLite database.
fn check_header(path: &Path) -> Result<bool, OpenError> {
    let io = |source| OpenError::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(error) => return Err(io(error)),
    };
    let found = file.metadata().map_err(io)?.len();
    if found == 0 {
        return Ok(false);
    }
    let mut header = [0u8; 100];
    let read = file.read(&mut header).map_err(io)?;
    if read < MAGIC.len() || header[..MAGIC.len()] != MAGIC[..] {
        return Err(OpenError::NotADatabase {
            path: path.to_owned(),
        });
    }
    let truncated = |expected| OpenError::Truncated {
        path: path.to_owned(),
        expected,
        found,
    };
    if found < 100 {
        return Err(truncated(100));
    }
    let page_size = match u16::from_be_bytes([header[16], header[17]]) {
        1 => 65_536,
        size => u64::from(size),
    };
    let word = |at: usize| {
        u32::from_be_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]])
    };
    // The page count is trustworthy only when written by the same change as the header,
    // and only without a write-ahead log: a checkpoint interrupted by a crash may have
    // written page 1 before growing the file, and SQLite finishes it from the log.
    if word(92) == word(24) && !has_log(path) {
        let expected = page_size * u64::from(word(28));
        if found < expected {
            return Err(truncated(expected));
        }
    }
    Ok(true)
}

/// Whether a non-empty write-ahead log lies beside the database.
fn has_log(path: &Path) -> bool {
    let mut log = path.as_os_str().to_owned();
    log.push("-wal");
    std::fs::metadata(log).is_ok_and(|meta| meta.len() > 0)
}

fn sqlite(path: &Path) -> impl Fn(rusqlite::Error) -> OpenError + '_ {
    move |source| match source.sqlite_error_code() {
        Some(rusqlite::ErrorCode::NotADatabase) => OpenError::NotADatabase {
            path: path.to_owned(),
        },
        Some(rusqlite::ErrorCode::ReadOnly) => OpenError::ReadOnly {
            path: path.to_owned(),
        },
        _ => OpenError::Sqlite {
            path: path.to_owned(),
            source,
        },
    }
}

/// The writer and reader connections of a usable, migrated database at `path`.
pub(crate) fn open_connections(
    path: &Path,
    options: &SqliteOptions,
) -> Result<(Connection, Connection), OpenError> {
    let error = sqlite(path);
    if check_header(path)? {
        // Probe the version read-only, so a file we refuse is never opened for writing.
        let probe = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(&error)?;
        probe.busy_timeout(options.busy_timeout).map_err(&error)?;
        let found = schema_version(&probe).map_err(&error)?;
        if found > SCHEMA_VERSION {
            return Err(OpenError::SchemaTooNew {
                path: path.to_owned(),
                found,
                supported: SCHEMA_VERSION,
            });
        }
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let mut writer = Connection::open_with_flags(path, flags).map_err(&error)?;
    if writer.is_readonly(MAIN_DB).map_err(&error)? {
        return Err(OpenError::ReadOnly {
            path: path.to_owned(),
        });
    }
    writer.busy_timeout(options.busy_timeout).map_err(&error)?;
    let mode: String = writer
        .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
        .map_err(&error)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(OpenError::ReadOnly {
            path: path.to_owned(),
        });
    }
    writer
        .pragma_update(None, "synchronous", options.synchronous.pragma())
        .map_err(&error)?;
    writer
        .pragma_update(None, "wal_autocheckpoint", options.checkpoint_pages)
        .map_err(&error)?;
    let cache = -i64::from(options.cache_kib);
    writer
        .pragma_update(None, "cache_size", cache)
        .map_err(&error)?;
    let version = migrate(&mut writer).map_err(&error)?;
    if version > SCHEMA_VERSION {
        return Err(OpenError::SchemaTooNew {
            path: path.to_owned(),
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    let reader = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(&error)?;
    reader.busy_timeout(options.busy_timeout).map_err(&error)?;
    reader
        .pragma_update(None, "cache_size", cache)
        .map_err(&error)?;
    Ok((writer, reader))
}

/// The path as given, for error messages.
pub(crate) fn owned(path: &Path) -> PathBuf {
    path.to_owned()
}
