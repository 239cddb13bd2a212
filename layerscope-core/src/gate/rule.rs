//! The gate's rules by name: [`RuleId`] is the one place their kebab-case names are written
//! (the `[rules]` keys of `.layerscope.toml`, the `id` of each result in the JSON outcome,
//! SARIF's `ruleId` and JUnit's test-case names), and [`describe_rule`] says what each checks.
//!
//! The three dive rules keep the names dive's `.dive-ci` uses in kebab-case (dive's
//! `runtime/ci/rules.go`: `lowestEfficiency`, `highestWastedBytes`,
//! `highestUserWastedPercent`).

use crate::tree::WasteKind;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A gate rule. Its name (`Display`, `FromStr`, serde) is the rule's key in the config.
///
/// ```
/// use layerscope_core::RuleId;
///
/// assert_eq!(RuleId::MaxWasteDeleted.as_str(), "max-waste.deleted");
/// assert_eq!("lowest-efficiency".parse::<RuleId>(), Ok(RuleId::LowestEfficiency));
/// assert!("max-sise".parse::<RuleId>().is_err());
/// ```
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    strum::Display,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::EnumIter,
)]
#[strum(serialize_all = "kebab-case")]
#[non_exhaustive]
pub enum RuleId {
    /// dive's `lowestEfficiency`.
    LowestEfficiency,
    /// dive's `highestWastedBytes`.
    HighestWastedBytes,
    /// dive's `highestUserWastedPercent`.
    HighestUserWastedPercent,
    /// `max-size`.
    MaxSize,
    /// `max-compressed-size`.
    MaxCompressedSize,
    /// `max-layers`.
    MaxLayers,
    /// `max-layer-size`.
    MaxLayerSize,
    /// `max-waste.overwritten` (the `[rules.max-waste]` table).
    #[strum(serialize = "max-waste.overwritten")]
    MaxWasteOverwritten,
    /// `max-waste.metadata-copy-up`.
    #[strum(serialize = "max-waste.metadata-copy-up")]
    MaxWasteMetadataCopyUp,
    /// `max-waste.deleted`.
    #[strum(serialize = "max-waste.deleted")]
    MaxWasteDeleted,
    /// `max-waste.hidden-by-opaque`.
    #[strum(serialize = "max-waste.hidden-by-opaque")]
    MaxWasteHiddenByOpaque,
    /// `deny-paths`.
    DenyPaths,
    /// `max-growth-bytes` (against a baseline).
    MaxGrowthBytes,
    /// `max-growth-percent`.
    MaxGrowthPercent,
    /// `max-compressed-growth-bytes`.
    MaxCompressedGrowthBytes,
    /// `max-compressed-growth-percent`.
    MaxCompressedGrowthPercent,
    /// `max-layer-growth-bytes`.
    MaxLayerGrowthBytes,
    /// `max-layer-growth-percent`.
    MaxLayerGrowthPercent,
    /// `max-instruction-growth-bytes`.
    MaxInstructionGrowthBytes,
    /// `max-instruction-growth-percent`.
    MaxInstructionGrowthPercent,
    /// `max-new-waste-items`.
    MaxNewWasteItems,
    /// `max-new-waste-bytes`.
    MaxNewWasteBytes,
    /// `recommendations`: codes set to `deny` in the `[recommendations]` table.
    Recommendations,
}

impl RuleId {
    /// The kebab-case name, e.g. `max-layer-size`.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Every rule, in declaration order.
    pub fn all() -> impl Iterator<Item = RuleId> {
        <RuleId as strum::IntoEnumIterator>::iter()
    }

    /// The `[rules.max-waste]` rule of a waste kind.
    pub fn max_waste(kind: WasteKind) -> RuleId {
        match kind {
            WasteKind::Overwritten => RuleId::MaxWasteOverwritten,
            WasteKind::MetadataCopyUp => RuleId::MaxWasteMetadataCopyUp,
            WasteKind::Deleted => RuleId::MaxWasteDeleted,
            WasteKind::HiddenByOpaque => RuleId::MaxWasteHiddenByOpaque,
        }
    }

    /// True for the rules that measure a change against a baseline (their thresholds are
    /// growths: `+20 MB`, `+5%`).
    pub fn is_growth(self) -> bool {
        matches!(
            self,
            RuleId::MaxGrowthBytes
                | RuleId::MaxGrowthPercent
                | RuleId::MaxCompressedGrowthBytes
                | RuleId::MaxCompressedGrowthPercent
                | RuleId::MaxLayerGrowthBytes
                | RuleId::MaxLayerGrowthPercent
                | RuleId::MaxInstructionGrowthBytes
                | RuleId::MaxInstructionGrowthPercent
        )
    }
}

impl Serialize for RuleId {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for RuleId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        name.parse()
            .map_err(|_| serde::de::Error::custom(format!("{name:?} is not a gate rule")))
    }
}

/// A short description of a rule, for tool metadata (SARIF's `shortDescription`, JUnit).
pub fn describe_rule(id: RuleId) -> &'static str {
    match id {
        RuleId::LowestEfficiency => {
            "Image efficiency (visible bytes / shipped bytes) must not fall below the threshold"
        }
        RuleId::HighestWastedBytes => {
            "Bytes shipped but hidden in the final image must not exceed the threshold"
        }
        RuleId::HighestUserWastedPercent => {
            "Waste hidden by the user's layers, as a share of their bytes, must not exceed the threshold"
        }
        RuleId::MaxSize => {
            "The image (sum of uncompressed layer sizes) must not exceed the threshold"
        }
        RuleId::MaxCompressedSize => {
            "The compressed image (sum of layer blobs) must not exceed the threshold"
        }
        RuleId::MaxLayers => "The image must not have more layers than the threshold",
        RuleId::MaxLayerSize => "No layer may exceed the threshold",
        RuleId::MaxWasteOverwritten => {
            "Copies replaced by different content must not exceed the threshold"
        }
        RuleId::MaxWasteMetadataCopyUp => {
            "Copies re-shipped only for a metadata change must not exceed the threshold"
        }
        RuleId::MaxWasteDeleted => "Copies removed by a later layer must not exceed the threshold",
        RuleId::MaxWasteHiddenByOpaque => {
            "Copies hidden by an opaque directory must not exceed the threshold"
        }
        RuleId::DenyPaths => "Denied paths must not be in any layer of the image",
        RuleId::MaxGrowthBytes => {
            "The image must not grow by more bytes than the threshold against the baseline"
        }
        RuleId::MaxGrowthPercent => {
            "The image must not grow by more percent than the threshold against the baseline"
        }
        RuleId::MaxCompressedGrowthBytes => {
            "The compressed image must not grow by more bytes than the threshold"
        }
        RuleId::MaxCompressedGrowthPercent => {
            "The compressed image must not grow by more percent than the threshold"
        }
        RuleId::MaxLayerGrowthBytes => {
            "No layer may grow by more bytes than the threshold against the baseline"
        }
        RuleId::MaxLayerGrowthPercent => {
            "No layer may grow by more percent than the threshold against the baseline"
        }
        RuleId::MaxInstructionGrowthBytes => {
            "No Dockerfile instruction's layers may grow by more bytes than the threshold"
        }
        RuleId::MaxInstructionGrowthPercent => {
            "No Dockerfile instruction's layers may grow by more percent than the threshold"
        }
        RuleId::MaxNewWasteItems => {
            "No more new waste items than the threshold against the baseline"
        }
        RuleId::MaxNewWasteBytes => {
            "No more bytes of new waste than the threshold against the baseline"
        }
        RuleId::Recommendations => "Recommendations whose code is set to deny fail the gate",
    }
}
