//! The finding codes: one enum, [`FindingCode`], whose kebab-case names are written once (in
//! [`FindingCode::as_str`]) and used everywhere a code is shown, serialised or parsed; and
//! [`CODES`], the documentation of each (`layerscope recommend --list-codes`).

use serde::{Deserialize, Deserializer, Serialize, Serializer, de};
use std::fmt;

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Severity {
    /// Worth knowing.
    Info,
    /// Worth fixing.
    Warning,
    /// Fix it.
    Error,
}

/// A finding code. Serialised, displayed and parsed as its kebab-case name
/// (`cleanup-in-same-layer`); parsing accepts only the codes listed in [`CODES`], so a gate
/// config naming a code that does not exist is refused.
///
/// The variants are declared in the alphabetical order of their names, so that ordering
/// codes (findings with equal savings, a config's `[recommendations]` table) is ordering
/// their names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum FindingCode {
    /// `build-tools-in-final-image`.
    BuildToolsInFinalImage,
    /// `cleanup-in-same-layer`.
    CleanupInSameLayer,
    /// `deleted-in-later-layer`.
    DeletedInLaterLayer,
    /// `metadata-copy-up`.
    MetadataCopyUp,
    /// `missing-expose`.
    MissingExpose,
    /// `multiple-cmd`.
    MultipleCmd,
    /// `overwritten-in-later-layer`.
    OverwrittenInLaterLayer,
    /// `reorder-for-cache`.
    ReorderForCache,
    /// `run-as-root`.
    RunAsRoot,
    /// `shell-form-cmd`.
    ShellFormCmd,
    /// `split-dependency-copy`.
    SplitDependencyCopy,
    /// `unpinned-base-image`.
    UnpinnedBaseImage,
    /// `use-cache-mount`.
    UseCacheMount,
    /// `use-copy-link`.
    UseCopyLink,
}

impl FindingCode {
    /// The stable kebab-case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            FindingCode::BuildToolsInFinalImage => "build-tools-in-final-image",
            FindingCode::CleanupInSameLayer => "cleanup-in-same-layer",
            FindingCode::DeletedInLaterLayer => "deleted-in-later-layer",
            FindingCode::MetadataCopyUp => "metadata-copy-up",
            FindingCode::MissingExpose => "missing-expose",
            FindingCode::MultipleCmd => "multiple-cmd",
            FindingCode::OverwrittenInLaterLayer => "overwritten-in-later-layer",
            FindingCode::ReorderForCache => "reorder-for-cache",
            FindingCode::RunAsRoot => "run-as-root",
            FindingCode::ShellFormCmd => "shell-form-cmd",
            FindingCode::SplitDependencyCopy => "split-dependency-copy",
            FindingCode::UnpinnedBaseImage => "unpinned-base-image",
            FindingCode::UseCacheMount => "use-cache-mount",
            FindingCode::UseCopyLink => "use-copy-link",
        }
    }

    /// The default severity of findings with this code.
    pub const fn severity(self) -> Severity {
        match self {
            FindingCode::SplitDependencyCopy => Severity::Warning,
            FindingCode::ReorderForCache => Severity::Info,
            FindingCode::CleanupInSameLayer => Severity::Warning,
            FindingCode::MetadataCopyUp => Severity::Warning,
            FindingCode::DeletedInLaterLayer => Severity::Warning,
            FindingCode::OverwrittenInLaterLayer => Severity::Info,
            FindingCode::BuildToolsInFinalImage => Severity::Warning,
            FindingCode::RunAsRoot => Severity::Warning,
            FindingCode::MissingExpose => Severity::Info,
            FindingCode::UnpinnedBaseImage => Severity::Warning,
            FindingCode::MultipleCmd => Severity::Warning,
            FindingCode::ShellFormCmd => Severity::Warning,
            FindingCode::UseCopyLink => Severity::Info,
            FindingCode::UseCacheMount => Severity::Info,
        }
    }

    /// What the code means and how its saving is measured.
    pub const fn summary(self) -> &'static str {
        match self {
            FindingCode::SplitDependencyCopy => {
                "A broad COPY comes before the dependency install, so any source edit re-runs the install. Copy the dependency manifests first, install, then copy the rest. Saving: expected bytes rebuilt per change (or per commit with git history) before minus after, both simulated."
            }
            FindingCode::ReorderForCache => {
                "A step whose inputs change often sits above steps whose inputs rarely change. Saving: expected rebuilt bytes per commit before minus after the move, from git churn."
            }
            FindingCode::CleanupInSameLayer => {
                "A layer keeps package-manager caches or lists (apt lists, apk/dnf/yum caches, pip, npm, yarn caches). Saving: their bytes in the layer."
            }
            FindingCode::MetadataCopyUp => {
                "Files are shipped again with identical content because a later step changed their mode, owner or mtime (or copied them again). Saving: the hidden copies' bytes."
            }
            FindingCode::DeletedInLaterLayer => {
                "Files added by one layer are deleted by a later one and still shipped. Saving: the deleted bytes."
            }
            FindingCode::OverwrittenInLaterLayer => {
                "Files added by one layer are replaced by different content later; the first copy is still shipped. Saving: the replaced bytes."
            }
            FindingCode::BuildToolsInFinalImage => {
                "Compilers, headers or toolchains are in the final image. Move the build to a builder stage. Saving: their bytes."
            }
            FindingCode::RunAsRoot => "The image runs as root (no USER, or USER root/0).",
            FindingCode::MissingExpose => {
                "The command listens on a port (seen in CMD/ENTRYPOINT) that is not EXPOSEd."
            }
            FindingCode::UnpinnedBaseImage => {
                "A base image has no tag or uses latest; or, from a public registry, is not pinned by digest (info)."
            }
            FindingCode::MultipleCmd => {
                "A stage has more than one CMD or ENTRYPOINT; only the last counts."
            }
            FindingCode::ShellFormCmd => {
                "CMD or ENTRYPOINT in shell form: the process runs under /bin/sh -c and does not receive signals."
            }
            FindingCode::UseCopyLink => {
                "A COPY would keep its layer when earlier steps rebuild if it used --link. Saving: expected re-pushed bytes per change avoided, simulated."
            }
            FindingCode::UseCacheMount => {
                "A package-manager RUN leaves its download cache in the layer; RUN --mount=type=cache keeps it out and reuses it between builds. Saving: the cache bytes in the layer."
            }
        }
    }

    /// The code with its severity and summary, as [`CODES`] lists it.
    pub const fn doc(self) -> CodeInfo {
        CodeInfo {
            code: self,
            severity: self.severity(),
            summary: self.summary(),
        }
    }

    /// True when fixes with these two codes are two ways to save the same bytes, so that
    /// applying one leaves nothing for the other: a cache mount
    /// (`RUN --mount=type=cache`, Dockerfile reference, "RUN --mount=type=cache") keeps the
    /// package manager's cache out of the layer, which is what deleting it in the same `RUN`
    /// does too.
    pub fn is_alternative_to(self, other: FindingCode) -> bool {
        matches!(
            (self, other),
            (FindingCode::CleanupInSameLayer, FindingCode::UseCacheMount)
                | (FindingCode::UseCacheMount, FindingCode::CleanupInSameLayer)
        )
    }
}

impl AsRef<str> for FindingCode {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Display for FindingCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for FindingCode {
    type Err = String;
    fn from_str(code: &str) -> std::result::Result<Self, Self::Err> {
        CODES
            .iter()
            .map(|c| c.code)
            .find(|c| c.as_str() == code)
            .ok_or_else(|| format!("{code:?} is not a recommendation code"))
    }
}

impl Serialize for FindingCode {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for FindingCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        String::deserialize(d)?.parse().map_err(de::Error::custom)
    }
}

/// A documented finding code.
#[derive(Debug, Clone, Copy, Serialize)]
#[non_exhaustive]
pub struct CodeInfo {
    /// The stable code.
    pub code: FindingCode,
    /// Default severity.
    pub severity: Severity,
    /// What it means and how it is measured.
    pub summary: &'static str,
}

/// Every code layerscope can emit (`layerscope recommend --list-codes`), in the order listed.
pub const CODES: &[CodeInfo] = &[
    FindingCode::SplitDependencyCopy.doc(),
    FindingCode::ReorderForCache.doc(),
    FindingCode::CleanupInSameLayer.doc(),
    FindingCode::MetadataCopyUp.doc(),
    FindingCode::DeletedInLaterLayer.doc(),
    FindingCode::OverwrittenInLaterLayer.doc(),
    FindingCode::BuildToolsInFinalImage.doc(),
    FindingCode::RunAsRoot.doc(),
    FindingCode::MissingExpose.doc(),
    FindingCode::UnpinnedBaseImage.doc(),
    FindingCode::MultipleCmd.doc(),
    FindingCode::ShellFormCmd.doc(),
    FindingCode::UseCopyLink.doc(),
    FindingCode::UseCacheMount.doc(),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_documented_once() {
        let mut codes: Vec<FindingCode> = CODES.iter().map(|c| c.code).collect();
        codes.sort_unstable();
        let n = codes.len();
        codes.dedup();
        assert_eq!(codes.len(), n);
        assert_eq!(n, 14);
    }

    #[test]
    fn codes_order_as_their_names() {
        // Findings with equal savings are sorted by code: that must be the order of the
        // names, as it was when codes were strings.
        let mut by_enum: Vec<FindingCode> = CODES.iter().map(|c| c.code).collect();
        by_enum.sort_unstable();
        let mut by_name = by_enum.clone();
        by_name.sort_by_key(|c| c.as_str());
        assert_eq!(by_enum, by_name);
    }
}
