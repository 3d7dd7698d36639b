//! Files the server creates that hold secrets (the development `SECRET_KEY`, the SQLite
//! database): readable by their owner only, in folders only their owner can list.

use std::io::Write;
use std::path::Path;

/// Creates `dir` (and its parents) if missing; the folders it creates are `0700`.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.exists() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

fn private_options() -> std::fs::OpenOptions {
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

/// Creates an empty `0600` file at `path` unless one exists (an existing file keeps its
/// permissions: the operator may have chosen them).
pub fn create_private_file(path: &Path) -> std::io::Result<()> {
    match private_options().create_new(true).open(path) {
        Ok(_) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(err) => Err(err),
    }
}

/// Writes `contents` to a new or truncated `0600` file.
pub fn write_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let mut file = private_options().create(true).truncate(true).open(path)?;
    // A file that existed keeps its mode through `open`: set it.
    #[cfg(unix)]
    std::fs::set_permissions(
        path,
        <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o600),
    )?;
    file.write_all(contents)
}
