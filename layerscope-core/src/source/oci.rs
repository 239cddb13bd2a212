//! OCI image layouts (directory, oci-archive, Docker 25+ `docker save`), read through
//! `index.json` only (image-spec image-layout.md): nested indexes are walked, attestation
//! manifests skipped, unknown media types ignored, and a manifest chosen by platform.

use super::store::Store;
use super::{LayerAvailability, LayerRef, Resolved, load_config, parse_json, read_required};
use crate::digest;
use crate::error::{Error, Result};
use oci_spec::image::{Descriptor, ImageIndex, ImageManifest, MediaType};
use std::fmt;
use std::path::Path;

/// How deep nested indexes may go before the input is taken as hostile.
const MAX_INDEX_DEPTH: usize = 8;

/// A `--platform` value: `os/arch[/variant]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PlatformWanted {
    os: String,
    arch: String,
    variant: Option<String>,
}

impl PlatformWanted {
    pub(crate) fn parse(s: &str) -> Option<PlatformWanted> {
        let mut parts = s.split('/');
        let os = parts.next().filter(|p| !p.is_empty())?.to_string();
        let arch = parts.next().filter(|p| !p.is_empty())?.to_string();
        let variant = parts.next().filter(|p| !p.is_empty()).map(str::to_string);
        parts
            .next()
            .is_none()
            .then_some(PlatformWanted { os, arch, variant })
    }

    /// Does a platform match? A variant in the request must match; none in the request
    /// matches any variant.
    pub(crate) fn matches(&self, os: &str, arch: &str, variant: Option<&str>) -> bool {
        self.os == os
            && self.arch == arch
            && self.variant.as_deref().is_none_or(|v| variant == Some(v))
    }
}

impl fmt::Display for PlatformWanted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.variant {
            Some(v) => write!(f, "{}/{}/{}", self.os, self.arch, v),
            None => write!(f, "{}/{}", self.os, self.arch),
        }
    }
}

/// A manifest found while walking the index.
#[derive(Debug)]
struct Candidate {
    descriptor: Descriptor,
    reference: Option<String>,
}

impl Candidate {
    fn platform(&self) -> Option<(String, String, Option<String>)> {
        self.descriptor.platform().as_ref().map(|p| {
            (
                p.os().to_string(),
                p.architecture().to_string(),
                p.variant().clone(),
            )
        })
    }

    fn platform_text(&self) -> String {
        match self.platform() {
            Some((os, arch, Some(v))) => format!("{os}/{arch}/{v}"),
            Some((os, arch, None)) => format!("{os}/{arch}"),
            None => "unspecified".into(),
        }
    }
}

fn blob_member(digest: &str) -> Option<String> {
    digest::split_digest(digest).map(|(alg, enc)| format!("blobs/{alg}/{enc}"))
}

fn is_index(mt: &MediaType) -> bool {
    matches!(mt, MediaType::ImageIndex)
        || mt.to_string() == "application/vnd.docker.distribution.manifest.list.v2+json"
}

fn is_manifest(mt: &MediaType) -> bool {
    matches!(mt, MediaType::ImageManifest)
        || mt.to_string() == "application/vnd.docker.distribution.manifest.v2+json"
}

fn is_attestation(d: &Descriptor) -> bool {
    let unknown = d.platform().as_ref().is_some_and(|p| {
        p.os().to_string() == "unknown" && p.architecture().to_string() == "unknown"
    });
    let annotated = d.annotations().as_ref().is_some_and(|a| {
        a.get("vnd.docker.reference.type")
            .is_some_and(|t| t == "attestation-manifest")
    });
    unknown || annotated
}

fn reference_of(d: &Descriptor) -> Option<String> {
    let a = d.annotations().as_ref()?;
    a.get("io.containerd.image.name")
        .or_else(|| a.get("org.opencontainers.image.ref.name"))
        .cloned()
}

/// Where an index walk is, and what it has found.
struct Walk<'a> {
    store: &'a Store,
    image: &'a Path,
    out: Vec<Candidate>,
    warnings: &'a mut Vec<String>,
}

fn walk(
    w: &mut Walk<'_>,
    index: &ImageIndex,
    document: &str,
    depth: usize,
    inherited_ref: Option<&str>,
) -> Result<()> {
    let (store, image) = (w.store, w.image);
    if depth > MAX_INDEX_DEPTH {
        return Err(Error::InvalidMetadata {
            image: image.to_path_buf(),
            document: document.to_string(),
            reason: format!("indexes nested more than {MAX_INDEX_DEPTH} deep"),
        });
    }
    for d in index.manifests() {
        let reference = reference_of(d).or_else(|| inherited_ref.map(str::to_string));
        let mt = d.media_type();
        if is_attestation(d) {
            continue;
        }
        if is_index(mt) {
            let digest = d.digest().to_string();
            let member = blob_member(&digest).ok_or_else(|| Error::InvalidMetadata {
                image: image.to_path_buf(),
                document: document.to_string(),
                reason: format!("invalid digest {digest:?}"),
            })?;
            let bytes = read_required(store, image, &member, "nested index")?;
            verify_blob(image, &bytes, &digest, &member)?;
            let nested: ImageIndex = parse_json(&bytes, image, &member)?;
            walk(w, &nested, &member, depth + 1, reference.as_deref())?;
        } else if is_manifest(mt) {
            w.out.push(Candidate {
                descriptor: d.clone(),
                reference,
            });
        } else {
            w.warnings
                .push(format!("{document}: skipped an entry of media type {mt}"));
        }
    }
    Ok(())
}

fn verify_blob(image: &Path, bytes: &[u8], expected: &str, member: &str) -> Result<()> {
    if expected.starts_with("sha256:") {
        let actual = digest::sha256_of(bytes);
        if actual != expected {
            return Err(Error::DigestMismatch {
                image: image.to_path_buf(),
                what: member.to_string(),
                expected: expected.to_string(),
                actual,
            });
        }
    }
    Ok(())
}

fn choose(
    image: &Path,
    store: &Store,
    candidates: Vec<Candidate>,
    want: Option<&PlatformWanted>,
    warnings: &mut Vec<String>,
) -> Result<Candidate> {
    let listing = |c: &[Candidate]| {
        let mut v: Vec<String> = c.iter().map(Candidate::platform_text).collect();
        v.sort();
        v.dedup();
        v.join(", ")
    };
    if candidates.is_empty() {
        return Err(Error::InvalidMetadata {
            image: image.to_path_buf(),
            document: "index.json".into(),
            reason: "no image manifest in the index".into(),
        });
    }
    if let Some(want) = want {
        let all = listing(&candidates);
        let mut matching: Vec<Candidate> = candidates
            .into_iter()
            .filter(|c| match c.platform() {
                Some((os, arch, variant)) => want.matches(&os, &arch, variant.as_deref()),
                // No platform on the descriptor: decided from the config later.
                None => true,
            })
            .collect();
        if matching.is_empty() {
            return Err(Error::Platform {
                image: image.to_path_buf(),
                reason: format!("no manifest for platform {want}; the image has: {all}"),
            });
        }
        return Ok(matching.remove(0));
    }
    let distinct_platforms = {
        let mut p: Vec<String> = candidates.iter().map(Candidate::platform_text).collect();
        p.sort();
        p.dedup();
        p.len()
    };
    if candidates.len() == 1 || distinct_platforms == 1 {
        if candidates.len() > 1 {
            warnings.push(format!(
                "the index lists {} manifests; analyzing the first ({})",
                candidates.len(),
                candidates[0].reference.as_deref().unwrap_or("untagged")
            ));
        }
        return candidates
            .into_iter()
            .next()
            .ok_or_else(|| unreachable_empty(image));
    }
    // Several platforms: linux/amd64 if present (and its blob is here), else ask.
    let all = listing(&candidates);
    let amd64 = PlatformWanted {
        os: "linux".into(),
        arch: "amd64".into(),
        variant: None,
    };
    let present = |c: &Candidate| {
        blob_member(c.descriptor.digest().as_ref()).is_some_and(|m| store.exists(&m))
    };
    if let Some(c) = candidates.iter().position(|c| {
        c.platform()
            .is_some_and(|(os, arch, v)| amd64.matches(&os, &arch, v.as_deref()))
            && present(c)
    }) {
        return candidates
            .into_iter()
            .nth(c)
            .ok_or_else(|| unreachable_empty(image));
    }
    let present_count = candidates.iter().filter(|c| present(c)).count();
    if present_count == 1 {
        // A containerd-store `docker save` keeps the full index but only one platform's blobs.
        return candidates
            .into_iter()
            .find(present)
            .ok_or_else(|| unreachable_empty(image));
    }
    Err(Error::Platform {
        image: image.to_path_buf(),
        reason: format!(
            "the image has several platforms ({all}) and no linux/amd64: choose one with --platform"
        ),
    })
}

fn unreachable_empty(image: &Path) -> Error {
    Error::InvalidMetadata {
        image: image.to_path_buf(),
        document: "index.json".into(),
        reason: "no image manifest in the index".into(),
    }
}

/// The distinct platforms (`os/arch[/variant]`, sorted) of the manifests an index lists and
/// the layout holds, for `--platform all`.
pub(crate) fn platforms(store: &Store, image: &Path) -> Result<Vec<String>> {
    let bytes = read_required(store, image, "index.json", "index.json")?;
    let index: ImageIndex = parse_json(&bytes, image, "index.json")?;
    let mut warnings = Vec::new();
    let mut w = Walk {
        store,
        image,
        out: Vec::new(),
        warnings: &mut warnings,
    };
    walk(&mut w, &index, "index.json", 0, None)?;
    let mut v: Vec<String> = w
        .out
        .iter()
        .filter(|c| blob_member(c.descriptor.digest().as_ref()).is_some_and(|m| store.exists(&m)))
        .map(Candidate::platform_text)
        .collect();
    v.sort();
    v.dedup();
    Ok(v)
}

pub(crate) fn resolve(
    store: &Store,
    image: &Path,
    want: Option<&PlatformWanted>,
    reference: Option<&str>,
) -> Result<Resolved> {
    let bytes = read_required(store, image, "index.json", "index.json")?;
    let index: ImageIndex = parse_json(&bytes, image, "index.json")?;
    let mut warnings = Vec::new();
    if !store.exists("oci-layout") {
        warnings.push("index.json without an oci-layout file; read as an OCI layout anyway".into());
    }
    let mut w = Walk {
        store,
        image,
        out: Vec::new(),
        warnings: &mut warnings,
    };
    walk(&mut w, &index, "index.json", 0, None)?;
    let mut candidates = w.out;
    // `oci:DIR:REF` names the manifest whose `org.opencontainers.image.ref.name` is REF
    // (image-spec annotations.md; skopeo's oci transport).
    if let Some(wanted) = reference {
        let mut known: Vec<String> = candidates
            .iter()
            .filter_map(|c| c.reference.clone())
            .collect();
        known.sort();
        known.dedup();
        candidates.retain(|c| c.reference.as_deref() == Some(wanted));
        if candidates.is_empty() {
            return Err(Error::InvalidMetadata {
                image: image.to_path_buf(),
                document: "index.json".into(),
                reason: format!(
                    "no manifest named {wanted:?}; the index names: {}",
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                ),
            });
        }
    }
    let chosen = choose(image, store, candidates, want, &mut warnings)?;
    let manifest_digest = chosen.descriptor.digest().to_string();
    let member = blob_member(&manifest_digest).ok_or_else(|| Error::InvalidMetadata {
        image: image.to_path_buf(),
        document: "index.json".into(),
        reason: format!("invalid digest {manifest_digest:?}"),
    })?;
    let bytes = read_required(store, image, &member, "manifest")?;
    verify_blob(image, &bytes, &manifest_digest, &member)?;
    let manifest: ImageManifest = parse_json(&bytes, image, &format!("manifest {member}"))?;
    let config_desc = manifest.config();
    let config_type = config_desc.media_type().to_string();
    if config_type == "application/vnd.oci.empty.v1+json" || manifest.artifact_type().is_some() {
        return Err(Error::InvalidMetadata {
            image: image.to_path_buf(),
            document: format!("manifest {member}"),
            reason: "an artifact manifest, not a container image".into(),
        });
    }
    let config_digest = config_desc.digest().to_string();
    let config_member = blob_member(&config_digest).ok_or_else(|| Error::InvalidMetadata {
        image: image.to_path_buf(),
        document: format!("manifest {member}"),
        reason: format!("invalid config digest {config_digest:?}"),
    })?;
    let (config_digest, config) = load_config(store, image, &config_member, Some(&config_digest))?;
    let manifest_layers = manifest.layers();
    super::check_config(
        image,
        &config,
        want,
        manifest_layers.len(),
        &format!("manifest {member}"),
    )?;
    let diff_ids = &config.rootfs.diff_ids;
    let mut layers = Vec::with_capacity(manifest_layers.len());
    for (index, (d, diff_id)) in manifest_layers.iter().zip(diff_ids).enumerate() {
        let media_type = d.media_type().to_string();
        let digest = d.digest().to_string();
        let foreign =
            super::classify_layer_media_type(&media_type).ok_or_else(|| Error::Layer {
                image: image.to_path_buf(),
                index,
                digest: digest.clone(),
                entry: String::new(),
                reason: format!("unknown layer media type {media_type:?}"),
            })?;
        let layer_member = blob_member(&digest).ok_or_else(|| Error::InvalidMetadata {
            image: image.to_path_buf(),
            document: format!("manifest {member}"),
            reason: format!("layer {index}: invalid digest {digest:?}"),
        })?;
        let availability = if store.exists(&layer_member) {
            LayerAvailability::Present
        } else if foreign {
            warnings.push(format!(
                "layer {index}: non-distributable layer {digest} is not in the image; its files are not counted"
            ));
            LayerAvailability::MissingForeign
        } else {
            return Err(Error::MissingBlob {
                image: image.to_path_buf(),
                what: format!("layer {index}"),
                member: layer_member,
            });
        };
        layers.push(LayerRef {
            index,
            digest: Some(digest),
            diff_id: Some(diff_id.clone()),
            media_type,
            size: Some(d.size()),
            availability,
            member: layer_member,
            annotations: d
                .annotations()
                .as_ref()
                .map(|a| a.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default(),
        });
    }
    Ok(Resolved {
        format: super::ImageFormat::OciLayout,
        reference: chosen.reference,
        manifest_digest: Some(manifest_digest),
        config_digest,
        config,
        layers,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_parsing() {
        let p = PlatformWanted::parse("linux/arm64/v8").unwrap();
        assert!(p.matches("linux", "arm64", Some("v8")));
        assert!(!p.matches("linux", "arm64", None));
        let p = PlatformWanted::parse("linux/amd64").unwrap();
        assert!(p.matches("linux", "amd64", Some("v2")));
        assert!(PlatformWanted::parse("linux").is_none());
        assert!(PlatformWanted::parse("a/b/c/d").is_none());
    }
}
