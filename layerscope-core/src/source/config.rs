//! The image configuration (OCI config.md / Docker image spec v1.2), read leniently: every
//! field a real builder may omit has a default, and unknown fields are ignored.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The parts of the image configuration layerscope uses.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[non_exhaustive]
pub struct ImageConfig {
    /// CPU architecture, e.g. `amd64`.
    #[serde(default)]
    pub architecture: String,
    /// Operating system, e.g. `linux`.
    #[serde(default)]
    pub os: String,
    /// Architecture variant, e.g. `v8`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// When the image was created (RFC 3339), if recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// Runtime configuration (`config` in the JSON).
    #[serde(default)]
    pub config: RuntimeConfig,
    /// The layer DiffIDs.
    #[serde(default)]
    pub rootfs: RootFs,
    /// Build history, first to last.
    #[serde(default, deserialize_with = "null_as_default")]
    pub history: Vec<HistoryEntry>,
}

/// `rootfs` of the config.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[non_exhaustive]
pub struct RootFs {
    /// Always `layers`.
    #[serde(default, rename = "type")]
    pub kind: String,
    /// sha256 of each uncompressed layer tar, base first.
    #[serde(default, deserialize_with = "null_as_default")]
    pub diff_ids: Vec<String>,
}

/// One `history` entry.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[non_exhaustive]
pub struct HistoryEntry {
    /// Creation time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// The command that made the entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    /// Free-form comment (BuildKit writes `buildkit.dockerfile.v0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Author.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// True when the entry made no layer.
    #[serde(default)]
    pub empty_layer: bool,
}

/// The runtime part of the config (`config` object), as Docker and OCI write it.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
#[non_exhaustive]
pub struct RuntimeConfig {
    /// `User`: empty means root.
    #[serde(default)]
    pub user: String,
    /// `ExposedPorts`: `"8080/tcp": {}`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub exposed_ports: BTreeMap<String, serde_json::Value>,
    /// `Env`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub env: Vec<String>,
    /// `Entrypoint`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub entrypoint: Vec<String>,
    /// `Cmd`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub cmd: Vec<String>,
    /// `WorkingDir`.
    #[serde(default)]
    pub working_dir: String,
    /// `Labels`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub labels: BTreeMap<String, String>,
    /// `Volumes`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub volumes: BTreeMap<String, serde_json::Value>,
    /// `OnBuild` triggers (Docker).
    #[serde(default, deserialize_with = "null_as_default")]
    pub on_build: Vec<String>,
    /// `StopSignal`.
    #[serde(default)]
    pub stop_signal: String,
}

fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nulls_and_missing_fields_are_tolerated() {
        let c: ImageConfig = serde_json::from_str(
            r#"{"architecture":"amd64","os":"linux","config":{"Env":null,"Cmd":null,"User":""},
                "rootfs":{"type":"layers","diff_ids":["sha256:aa"]},"history":null}"#,
        )
        .unwrap();
        assert_eq!(c.rootfs.diff_ids.len(), 1);
        assert!(c.history.is_empty());
        assert!(c.config.cmd.is_empty());
    }
}
