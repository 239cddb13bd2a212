//! Random access to the members of an image: files of a directory, or members of a tar
//! archive indexed once by offset. Nothing here decompresses layers; a gzip- or
//! zstd-compressed outer archive, and standard input, are spooled (decompressed) to one
//! temporary file first, because layers are then read in parallel at their offsets.

use crate::error::{Cause, Error, Result};
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// How many link hops are followed when resolving a member (podman's `<id>/layer.tar`
/// symlinks need one; duplicate layers can add another).
const MAX_LINK_HOPS: usize = 8;

#[derive(Debug, Clone)]
pub(crate) enum MemberKind {
    File { offset: u64, size: u64 },
    Link(String),
}

/// Where the bytes of an image live.
#[derive(Debug)]
pub(crate) enum Store {
    /// An unpacked directory (OCI layout directory, or an extracted docker save).
    Dir(PathBuf),
    /// A tar archive on disk, indexed by member name.
    Tar {
        file: PathBuf,
        members: HashMap<String, MemberKind>,
        /// Keeps a spooled temporary file alive as long as the store.
        _spool: Option<tempfile::TempPath>,
    },
    /// A registry repository presented as an OCI layout (`registry.rs`).
    Remote(super::registry::Registry),
    /// An archive read once as a stream (`daemon.rs`): its small members in memory, and the
    /// sizes of the layer members that were read as they passed.
    Memory {
        small: HashMap<String, Vec<u8>>,
        layers: HashMap<String, u64>,
        links: HashMap<String, String>,
    },
}

/// Clean a member name: strip `./` and leading `/`, resolve `.` and `..` lexically.
/// Returns `None` when the name climbs above the root (a hostile name never maps to a file
/// outside the image).
pub(crate) fn clean_member(name: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

fn join_relative(base_member: &str, target: &str) -> Option<String> {
    if target.starts_with('/') {
        return clean_member(target);
    }
    let dir = match base_member.rfind('/') {
        Some(i) => &base_member[..i],
        None => "",
    };
    clean_member(&format!("{dir}/{target}"))
}

impl Store {
    /// Index a tar archive on disk (uncompressed). `display` is the path the user gave.
    pub(crate) fn index_tar(
        file: PathBuf,
        display: &Path,
        spool: Option<tempfile::TempPath>,
    ) -> Result<Store> {
        let f = File::open(&file).map_err(|e| Error::io(display, e))?;
        let file_len = f.metadata().map_err(|e| Error::io(display, e))?.len();
        let mut archive = tar::Archive::new(BufReader::with_capacity(64 * 1024, f));
        let mut members = HashMap::new();
        let bad = |reason: String, source: Option<Cause>| Error::UnknownFormat {
            path: display.to_path_buf(),
            reason,
            source,
        };
        let entries = archive
            .entries_with_seek()
            .map_err(|e| bad("not a tar archive".into(), Some(e.into())))?;
        let mut count = 0usize;
        for entry in entries {
            let entry = entry.map_err(|e| {
                let reason = if count == 0 {
                    "not a tar archive".to_string()
                } else {
                    format!("corrupt or truncated archive after {count} members")
                };
                bad(reason, Some(e.into()))
            })?;
            count += 1;
            let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            let Some(name) = clean_member(&raw) else {
                continue;
            };
            let header = entry.header();
            let kind = match header.entry_type() {
                tar::EntryType::Regular
                | tar::EntryType::Continuous
                | tar::EntryType::GNUSparse => {
                    let offset = entry.raw_file_position();
                    let size = entry.size();
                    if offset.saturating_add(size) > file_len {
                        return Err(bad(
                            format!(
                                "truncated archive: member {name:?} needs {size} bytes at offset \
                             {offset}, the file has {file_len}"
                            ),
                            None,
                        ));
                    }
                    MemberKind::File { offset, size }
                }
                tar::EntryType::Symlink => {
                    let target = entry
                        .link_name_bytes()
                        .map(|b| String::from_utf8_lossy(&b).into_owned())
                        .unwrap_or_default();
                    match join_relative(&name, &target) {
                        Some(t) => MemberKind::Link(t),
                        None => continue,
                    }
                }
                tar::EntryType::Link => {
                    let target = entry
                        .link_name_bytes()
                        .map(|b| String::from_utf8_lossy(&b).into_owned())
                        .unwrap_or_default();
                    match clean_member(&target) {
                        Some(t) => MemberKind::Link(t),
                        None => continue,
                    }
                }
                _ => continue,
            };
            members.insert(name, kind);
        }
        if count == 0 {
            return Err(bad(
                if file_len == 0 {
                    "empty file".to_string()
                } else {
                    "not a tar archive (no tar header found)".to_string()
                },
                None,
            ));
        }
        Ok(Store::Tar {
            file,
            members,
            _spool: spool,
        })
    }

    fn resolve(&self, name: &str) -> Option<(u64, u64)> {
        let Store::Tar { members, .. } = self else {
            return None;
        };
        let mut current = clean_member(name)?;
        for _ in 0..=MAX_LINK_HOPS {
            match members.get(&current)? {
                MemberKind::File { offset, size } => return Some((*offset, *size)),
                MemberKind::Link(t) => current = t.clone(),
            }
        }
        None
    }

    /// A member name of a `Memory` store after its links.
    pub(crate) fn memory_member(&self, name: &str) -> Option<String> {
        let Store::Memory {
            small,
            layers,
            links,
        } = self
        else {
            return None;
        };
        let mut current = clean_member(name)?;
        for _ in 0..=MAX_LINK_HOPS {
            if small.contains_key(&current) || layers.contains_key(&current) {
                return Some(current);
            }
            current = links.get(&current)?.clone();
        }
        None
    }

    fn dir_path(root: &Path, name: &str) -> Option<PathBuf> {
        let clean = clean_member(name)?;
        if clean.is_empty() {
            return None;
        }
        Some(root.join(clean))
    }

    /// Does the member exist (after following links)?
    pub(crate) fn exists(&self, name: &str) -> bool {
        match self {
            Store::Dir(root) => Self::dir_path(root, name).is_some_and(|p| p.is_file()),
            Store::Tar { .. } => self.resolve(name).is_some(),
            Store::Remote(r) => r.exists(name),
            Store::Memory { .. } => self.memory_member(name).is_some(),
        }
    }

    /// Size in bytes of a member, if it exists.
    pub(crate) fn size(&self, name: &str) -> Option<u64> {
        match self {
            Store::Dir(root) => Self::dir_path(root, name)
                .and_then(|p| std::fs::metadata(p).ok())
                .map(|m| m.len()),
            Store::Tar { .. } => self.resolve(name).map(|(_, size)| size),
            Store::Remote(_) => None,
            Store::Memory { small, layers, .. } => {
                let m = self.memory_member(name)?;
                small
                    .get(&m)
                    .map(|b| b.len() as u64)
                    .or_else(|| layers.get(&m).copied())
            }
        }
    }

    /// Where a member's bytes lie in a plain file on disk: (file, offset, size), for the
    /// stores that have one (a directory, or a tar archive on disk or spooled to one).
    pub(crate) fn file_range(&self, name: &str) -> Option<(PathBuf, u64, u64)> {
        match self {
            Store::Dir(root) => {
                let path = Self::dir_path(root, name)?;
                let meta = std::fs::metadata(&path).ok()?;
                meta.is_file().then_some((path, 0, meta.len()))
            }
            Store::Tar { file, .. } => self
                .resolve(name)
                .map(|(offset, size)| (file.clone(), offset, size)),
            Store::Remote(_) | Store::Memory { .. } => None,
        }
    }

    /// Open a member for streaming. `Ok(None)` when it does not exist.
    pub(crate) fn open(
        &self,
        name: &str,
        display: &Path,
    ) -> Result<Option<(Box<dyn Read + Send>, u64)>> {
        match self {
            Store::Remote(r) => r.open_blob(name, None),
            Store::Memory { small, .. } => {
                // Layers read while streaming are not here: the image hands out their summaries.
                Ok(self
                    .memory_member(name)
                    .and_then(|m| small.get(&m))
                    .map(|b| {
                        let len = b.len() as u64;
                        (
                            Box::new(io::Cursor::new(b.clone())) as Box<dyn Read + Send>,
                            len,
                        )
                    }))
            }
            Store::Dir(root) => {
                let Some(path) = Self::dir_path(root, name) else {
                    return Ok(None);
                };
                match File::open(&path) {
                    Ok(f) => {
                        let len = f.metadata().map_err(|e| Error::io(&path, e))?.len();
                        if !f.metadata().map(|m| m.is_file()).unwrap_or(false) {
                            return Ok(None);
                        }
                        Ok(Some((Box::new(f), len)))
                    }
                    Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(Error::io(path, e)),
                }
            }
            Store::Tar { file, .. } => {
                let Some((offset, size)) = self.resolve(name) else {
                    return Ok(None);
                };
                let member_path = || display.join(name);
                let mut f = File::open(file).map_err(|e| Error::io(member_path(), e))?;
                f.seek(SeekFrom::Start(offset))
                    .map_err(|e| Error::io(member_path(), e))?;
                Ok(Some((Box::new(f.take(size)), size)))
            }
        }
    }

    /// Read a small member (metadata documents) fully, refusing anything over `limit` bytes.
    pub(crate) fn read_small(
        &self,
        name: &str,
        display: &Path,
        limit: u64,
    ) -> Result<Option<Vec<u8>>> {
        if let Store::Remote(r) = self {
            return r.read_small(name, limit);
        }
        let Some((reader, size)) = self.open(name, display)? else {
            return Ok(None);
        };
        if size > limit {
            return Err(Error::InvalidMetadata {
                image: display.to_path_buf(),
                document: name.to_string(),
                reason: format!(
                    "{size} bytes is more than the {limit}-byte limit for a metadata document"
                ),
                source: None,
            });
        }
        let mut buf = Vec::with_capacity(size as usize);
        reader
            .take(limit)
            .read_to_end(&mut buf)
            .map_err(|e| Error::io(display.join(name), e))?;
        Ok(Some(buf))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_member_names() {
        assert_eq!(
            clean_member("./manifest.json").as_deref(),
            Some("manifest.json")
        );
        assert_eq!(clean_member("/a/./b//c").as_deref(), Some("a/b/c"));
        assert_eq!(clean_member("a/../b").as_deref(), Some("b"));
        assert_eq!(clean_member("../../etc/passwd"), None);
    }

    #[test]
    fn relative_symlink_targets() {
        assert_eq!(
            join_relative("abc/layer.tar", "../123.tar").as_deref(),
            Some("123.tar")
        );
        assert_eq!(join_relative("abc/layer.tar", "../../x"), None);
        assert_eq!(join_relative("top.tar", "/x/y").as_deref(), Some("x/y"));
    }
}
