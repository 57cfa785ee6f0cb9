//! Atomic file publication: write to `<name>.tmp` in the destination folder, `fsync` it, rename
//! it over `<name>` and `fsync` the folder. A reader (or a crash) therefore sees either the old
//! complete file or the new complete file, never a partial one. The rename is atomic because the
//! temporary file lies on the same file system as the destination.

use anyhow::{anyhow, Context, Result};
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The temporary name used while `path` is being written: `<name>.tmp` in the same folder.
pub fn tmp_path(path: &Path) -> Result<PathBuf> {
    let name = path
        .file_name()
        .ok_or_else(|| anyhow!("{} has no file name", path.display()))?;
    let mut tmp = name.to_os_string();
    tmp.push(".tmp");
    Ok(path.with_file_name(tmp))
}

/// Writes `bytes` to `path` atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = tmp_path(path)?;
    let written = (|| -> std::io::Result<()> {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("cannot write {}", tmp.display()));
    }
    commit(&tmp, path)
}

/// Copies `src` to `dst` atomically (`dst` is replaced if it exists).
pub fn copy_atomic(src: &Path, dst: &Path) -> Result<()> {
    let tmp = tmp_path(dst)?;
    let copied = (|| -> std::io::Result<()> {
        fs::copy(src, &tmp)?;
        File::options().write(true).open(&tmp)?.sync_all()
    })();
    if let Err(e) = copied {
        let _ = fs::remove_file(&tmp);
        return Err(e)
            .with_context(|| format!("cannot copy {} to {}", src.display(), tmp.display()));
    }
    commit(&tmp, dst)
}

/// Publishes a finished temporary file: syncs `tmp`, renames it to `dst` and syncs the folder.
/// For writers that create the temporary file themselves (e.g. the HDF5 library); on error the
/// temporary file is removed.
pub fn commit(tmp: &Path, dst: &Path) -> Result<()> {
    let done = (|| -> std::io::Result<()> {
        File::options().write(true).open(tmp)?.sync_all()?;
        fs::rename(tmp, dst)
    })();
    if let Err(e) = done {
        let _ = fs::remove_file(tmp);
        return Err(e)
            .with_context(|| format!("cannot move {} to {}", tmp.display(), dst.display()));
    }
    sync_parent(dst);
    Ok(())
}

/// Makes a rename in `path`'s folder durable. Best effort: not every platform or file system
/// can sync a directory, and the file content itself is already synced.
fn sync_parent(path: &Path) {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tmp_name_is_next_to_the_target() {
        assert_eq!(
            tmp_path(Path::new("runs/a/fields.h5")).unwrap(),
            PathBuf::from("runs/a/fields.h5.tmp")
        );
        assert_eq!(
            tmp_path(Path::new("x.csv")).unwrap(),
            PathBuf::from("x.csv.tmp")
        );
        assert!(tmp_path(Path::new("/")).is_err());
    }
}
