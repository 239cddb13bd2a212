//! `manifest.json` images: classic `docker save` (`<id>/layer.tar`), podman/buildah
//! docker-archive (root `<diffid>.tar` with `<id>/layer.tar` symlinks), and Docker 25+ saves
//! read without their index (only when `index.json` is absent).

use super::oci::PlatformWanted;
use super::store::Store;
use super::{LayerAvailability, LayerRef, Resolved, load_config, parse_json, read_required};
use crate::digest;
use crate::error::{Error, Result};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Deserialize)]
struct ManifestItem {
    #[serde(rename = "Config")]
    config: String,
    #[serde(rename = "RepoTags", default)]
    repo_tags: Option<Vec<String>>,
    #[serde(rename = "Layers", default)]
    layers: Vec<String>,
    #[serde(rename = "LayerSources", default)]
    layer_sources: Option<BTreeMap<String, LayerSource>>,
}

#[derive(Debug, Deserialize)]
struct LayerSource {
    #[serde(rename = "mediaType", default)]
    media_type: String,
    #[serde(default)]
    size: Option<u64>,
    #[serde(default)]
    digest: Option<String>,
}

pub(crate) fn resolve(
    store: &Store,
    image: &Path,
    platform: Option<&PlatformWanted>,
) -> Result<Resolved> {
    let bytes = read_required(store, image, "manifest.json", "manifest.json")?;
    let items: Vec<ManifestItem> = parse_json(&bytes, image, "manifest.json")?;
    let mut warnings = Vec::new();
    let Some(item) = items.first() else {
        return Err(Error::InvalidMetadata {
            image: image.to_path_buf(),
            document: "manifest.json".into(),
            reason: "the list of images is empty".into(),
        });
    };
    if items.len() > 1 {
        warnings.push(format!(
            "manifest.json holds {} images; analyzing the first ({})",
            items.len(),
            item.repo_tags
                .as_ref()
                .and_then(|t| t.first())
                .map_or("untagged", |s| s.as_str())
        ));
    }
    // The config member name is `<hex>.json` (classic, podman) or `blobs/sha256/<hex>`
    // (Docker 25+): either way its hex is the config digest.
    let stem = item
        .config
        .rsplit('/')
        .next()
        .unwrap_or("")
        .trim_end_matches(".json");
    let expected = digest::sha256_hex(&format!("sha256:{stem}")).map(|h| format!("sha256:{h}"));
    let (config_digest, config) = load_config(store, image, &item.config, expected.as_deref())?;
    super::check_config(image, &config, platform, item.layers.len(), "manifest.json")?;
    let diff_ids = &config.rootfs.diff_ids;
    let mut layers = Vec::with_capacity(item.layers.len());
    for (index, (member, diff_id)) in item.layers.iter().zip(diff_ids).enumerate() {
        let source = item.layer_sources.as_ref().and_then(|s| s.get(diff_id));
        let media_type = source
            .map(|s| s.media_type.clone())
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| "application/vnd.docker.image.rootfs.diff.tar".to_string());
        let foreign = super::classify_layer_media_type(&media_type).unwrap_or(false);
        let present = store.exists(member);
        let availability = if present {
            LayerAvailability::Present
        } else if foreign {
            warnings.push(format!("layer {index}: foreign layer {member} is not in the archive; its files are not counted"));
            LayerAvailability::MissingForeign
        } else {
            return Err(Error::MissingBlob {
                image: image.to_path_buf(),
                what: format!("layer {index}"),
                member: member.clone(),
            });
        };
        layers.push(LayerRef {
            index,
            digest: source.and_then(|s| s.digest.clone()),
            diff_id: Some(diff_id.clone()),
            media_type,
            size: store.size(member).or(source.and_then(|s| s.size)),
            availability,
            member: member.clone(),
            annotations: Default::default(),
        });
    }
    let reference = item.repo_tags.as_ref().and_then(|t| t.first()).cloned();
    Ok(Resolved {
        format: super::ImageFormat::DockerArchive,
        reference,
        manifest_digest: None,
        config_digest,
        config,
        layers,
        warnings,
    })
}
