//! The gate configuration: `.layerscope.toml` (the documented schema, `docs/gate.md`) and
//! dive's `.dive-ci` (YAML), read into one [`GateConfig`]. Unknown keys and bad values are
//! errors that name the file, the key and (from the parsers) the line.

use super::rule::RuleId;
use crate::error::{Error, Hint, Hinted, Result};
use crate::recommend::FindingCode;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// A threshold as written in a config file, before its unit is known: `0.9`, `5`,
/// `"20MB"`, `"10%"`, `"off"`.
#[derive(Debug, Clone)]
enum Raw {
    Int(i64),
    Float(f64),
    Str(String),
}

impl<'de> Deserialize<'de> for Raw {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Raw, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Raw;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number or a string (such as 0.9, 5, \"20MB\", \"10%\" or \"off\")")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> std::result::Result<Raw, E> {
                Ok(Raw::Int(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> std::result::Result<Raw, E> {
                i64::try_from(v)
                    .map(Raw::Int)
                    .map_err(|_| E::custom("number out of range"))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> std::result::Result<Raw, E> {
                Ok(Raw::Float(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Raw, E> {
                Ok(Raw::Str(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// A threshold type that can be read from a config value.
trait FromRaw: Sized {
    fn from_raw(raw: Raw) -> std::result::Result<Self, String>;
}

/// A number written as a number or as a string holding one (dive writes `"0.9"` too).
fn number(raw: &Raw) -> Option<f64> {
    match raw {
        Raw::Int(i) => Some(*i as f64),
        Raw::Float(f) => Some(*f),
        Raw::Str(s) => s.trim().parse().ok(),
    }
}

/// A number of bytes: an integer, or a string such as `"20MB"` (10^6) or `"20MiB"` (2^20)
/// read by [`crate::parse_size`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ByteSize(pub u64);

impl FromRaw for ByteSize {
    fn from_raw(raw: Raw) -> std::result::Result<Self, String> {
        match raw {
            Raw::Int(i) => u64::try_from(i).map(ByteSize).map_err(|_| {
                format!("{i} is negative: expected a size such as 20MB, 20MiB or 1048576")
            }),
            Raw::Float(f) if f >= 0.0 && f.fract() == 0.0 && f < u64::MAX as f64 => {
                Ok(ByteSize(f as u64))
            }
            Raw::Float(f) => Err(format!(
                "{f} is not a whole number of bytes: expected a size such as 20MB, 20MiB or 1048576"
            )),
            Raw::Str(s) => crate::parse_size(&s).map(ByteSize).map_err(|e| match e {
                Error::Config { reason, .. } => format!("{s:?}: {reason}"),
                other => other.to_string(),
            }),
        }
    }
}

/// A ratio between 0 and 1 (`0.9` = 90 %), as dive writes efficiency and user waste;
/// `"90%"` is read as 0.9.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize)]
pub struct Ratio(pub f64);

impl FromRaw for Ratio {
    fn from_raw(raw: Raw) -> std::result::Result<Self, String> {
        let value = match &raw {
            Raw::Str(s) if s.trim().ends_with('%') => s
                .trim()
                .trim_end_matches('%')
                .trim()
                .parse::<f64>()
                .ok()
                .map(|p| p / 100.0),
            other => number(other),
        };
        match value {
            Some(v) if v.is_finite() && (0.0..=1.0).contains(&v) => Ok(Ratio(v)),
            _ => Err(format!(
                "{} is not a ratio between 0 and 1 (0.1 = 10%, as dive reads it; \"10%\" works too)",
                raw_text(&raw)
            )),
        }
    }
}

/// A percentage (`5` = 5 %); `"5%"` works too.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize)]
pub struct Percent(pub f64);

impl FromRaw for Percent {
    fn from_raw(raw: Raw) -> std::result::Result<Self, String> {
        let value = match &raw {
            Raw::Str(s) => s.trim().trim_end_matches('%').trim().parse::<f64>().ok(),
            other => number(other),
        };
        match value {
            Some(v) if v.is_finite() && v >= 0.0 => Ok(Percent(v)),
            _ => Err(format!(
                "{} is not a percentage (a number >= 0; 5 = 5%)",
                raw_text(&raw)
            )),
        }
    }
}

/// A count (layers, waste items).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Count(pub u64);

impl FromRaw for Count {
    fn from_raw(raw: Raw) -> std::result::Result<Self, String> {
        let n = match &raw {
            Raw::Int(i) => u64::try_from(*i).ok(),
            Raw::Str(s) => s.trim().parse::<u64>().ok(),
            Raw::Float(_) => None,
        };
        n.map(Count)
            .ok_or_else(|| format!("{} is not a count (a whole number >= 0)", raw_text(&raw)))
    }
}

/// Each threshold type reads itself from a config value, so that a bad value is reported
/// by the parser with its key and line.
macro_rules! deserialize_from_raw {
    ($($t:ty),*) => {$(
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
                <$t>::from_raw(Raw::deserialize(d)?).map_err(de::Error::custom)
            }
        }
    )*};
}
deserialize_from_raw!(ByteSize, Ratio, Percent, Count);

fn raw_text(raw: &Raw) -> String {
    match raw {
        Raw::Int(i) => i.to_string(),
        Raw::Float(f) => f.to_string(),
        Raw::Str(s) => format!("{s:?}"),
    }
}

/// A rule's setting: a threshold, or turned off with `"off"` / `"disabled"` (dive's words).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Setting<T> {
    /// The rule is listed as skipped.
    Off,
    /// The rule's threshold.
    On(T),
}

impl<T> Setting<T> {
    /// The threshold, if the rule is on.
    pub fn value(&self) -> Option<&T> {
        match self {
            Setting::Off => None,
            Setting::On(v) => Some(v),
        }
    }
}

impl<'de, T: FromRaw> Deserialize<'de> for Setting<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let raw = Raw::deserialize(d)?;
        if let Raw::Str(s) = &raw
            && matches!(s.trim().to_ascii_lowercase().as_str(), "off" | "disabled")
        {
            return Ok(Setting::Off);
        }
        T::from_raw(raw).map(Setting::On).map_err(de::Error::custom)
    }
}

/// What a recommendation code does to the gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RecommendationAction {
    /// Not shown and never fails.
    Allow,
    /// Shown, never fails (the default for codes not listed).
    Warn,
    /// Fails the gate.
    Deny,
}

/// The `[rules]` table. A rule left out is not evaluated; a rule set to `"off"` is listed as
/// skipped. `docs/gate.md` documents each rule. Its keys are the [`RuleId`] names (those of
/// the `max-waste.*` rules in the `[rules.max-waste]` table), plus `percent-floor` and
/// `ignore-waste-paths`.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Rules {
    /// dive's `lowestEfficiency`: fail when efficiency is below this ratio.
    pub lowest_efficiency: Option<Setting<Ratio>>,
    /// dive's `highestWastedBytes`: fail when the wasted bytes are above this.
    pub highest_wasted_bytes: Option<Setting<ByteSize>>,
    /// dive's `highestUserWastedPercent`: fail when user waste / user size is above this ratio.
    pub highest_user_wasted_percent: Option<Setting<Ratio>>,
    /// Fail when the image (sum of layer sizes) is larger.
    pub max_size: Option<Setting<ByteSize>>,
    /// Fail when the compressed image (sum of blob sizes) is larger.
    pub max_compressed_size: Option<Setting<ByteSize>>,
    /// Fail when the image has more layers.
    pub max_layers: Option<Setting<Count>>,
    /// Fail when any layer is larger.
    pub max_layer_size: Option<Setting<ByteSize>>,
    /// Per-kind waste limits.
    pub max_waste: MaxWaste,
    /// Percentage rules never fail when the bytes behind the percentage are below this.
    pub percent_floor: Option<ByteSize>,
    /// Globs of paths that must not be in any layer of the image.
    pub deny_paths: Vec<String>,
    /// Globs of paths whose waste every waste rule ignores.
    pub ignore_waste_paths: Vec<String>,
    /// Against `--baseline`: fail when the image grew by more bytes.
    pub max_growth_bytes: Option<Setting<ByteSize>>,
    /// Against `--baseline`: fail when the image grew by more percent.
    pub max_growth_percent: Option<Setting<Percent>>,
    /// Against `--baseline`: compressed growth in bytes.
    pub max_compressed_growth_bytes: Option<Setting<ByteSize>>,
    /// Against `--baseline`: compressed growth in percent.
    pub max_compressed_growth_percent: Option<Setting<Percent>>,
    /// Against `--baseline`: growth of any one layer (paired by position), in bytes.
    pub max_layer_growth_bytes: Option<Setting<ByteSize>>,
    /// Against `--baseline`: growth of any one layer present in both, in percent.
    pub max_layer_growth_percent: Option<Setting<Percent>>,
    /// Against `--baseline`, with a Dockerfile: growth of any one instruction, in bytes.
    pub max_instruction_growth_bytes: Option<Setting<ByteSize>>,
    /// Against `--baseline`, with a Dockerfile: growth of any one instruction in both, in
    /// percent.
    pub max_instruction_growth_percent: Option<Setting<Percent>>,
    /// Against `--baseline`: how many waste items at paths the baseline had no waste at.
    pub max_new_waste_items: Option<Setting<Count>>,
    /// Against `--baseline`: bytes of those new waste items.
    pub max_new_waste_bytes: Option<Setting<ByteSize>>,
}

/// `[rules.max-waste]`: a limit per waste kind (the kinds of `totals.waste_by_kind`). Its keys
/// are the `max-waste.*` [`RuleId`] names without the table's prefix.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct MaxWaste {
    /// Copies replaced by different content.
    pub overwritten: Option<Setting<ByteSize>>,
    /// Copies re-shipped with the same content (chmod, chown, touch).
    pub metadata_copy_up: Option<Setting<ByteSize>>,
    /// Copies removed by whiteouts.
    pub deleted: Option<Setting<ByteSize>>,
    /// Copies hidden by opaque directories.
    pub hidden_by_opaque: Option<Setting<ByteSize>>,
}

/// A key of the `[rules]` table: a rule, named by its [`RuleId`] (the one place rule names
/// are written), the `[rules.max-waste]` table of the `max-waste.*` rules, or a setting that
/// is not a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RulesKey {
    Rule(RuleId),
    MaxWaste,
    PercentFloor,
    IgnoreWastePaths,
}

/// The `[rules.max-waste]` table's prefix in the names of its rules (`max-waste.deleted`).
const MAX_WASTE: &str = "max-waste";

impl RulesKey {
    fn name(self) -> &'static str {
        match self {
            RulesKey::Rule(id) => id.as_str(),
            RulesKey::MaxWaste => MAX_WASTE,
            RulesKey::PercentFloor => "percent-floor",
            RulesKey::IgnoreWastePaths => "ignore-waste-paths",
        }
    }

    /// Every key, in the order an unknown key's error lists them: the rules in [`RuleId`]
    /// order, the `max-waste.*` rules as their one table, the two path-glob settings and the
    /// percentage floor beside `deny-paths`; `recommendations` is a table of its own.
    fn all() -> &'static [RulesKey] {
        static KEYS: std::sync::LazyLock<Vec<RulesKey>> = std::sync::LazyLock::new(|| {
            let mut keys: Vec<RulesKey> = RuleId::all()
                .flat_map(|id| match id {
                    RuleId::Recommendations => vec![],
                    RuleId::DenyPaths => vec![
                        RulesKey::PercentFloor,
                        RulesKey::Rule(id),
                        RulesKey::IgnoreWastePaths,
                    ],
                    id if max_waste_key(id).is_some() => vec![RulesKey::MaxWaste],
                    id => vec![RulesKey::Rule(id)],
                })
                .collect();
            keys.dedup();
            keys
        });
        &KEYS
    }
}

/// The key of a `max-waste.*` rule in `[rules.max-waste]` (`deleted`).
fn max_waste_key(id: RuleId) -> Option<&'static str> {
    id.as_str()
        .strip_prefix(MAX_WASTE)
        .and_then(|k| k.strip_prefix('.'))
}

/// Names for serde's unknown-field error, which wants a `'static` list.
fn key_names(keys: impl Iterator<Item = &'static str>) -> &'static [&'static str] {
    keys.collect::<Vec<_>>().leak()
}

fn rules_key_names() -> &'static [&'static str] {
    static NAMES: std::sync::LazyLock<&'static [&'static str]> =
        std::sync::LazyLock::new(|| key_names(RulesKey::all().iter().map(|k| k.name())));
    &NAMES
}

fn max_waste_key_names() -> &'static [&'static str] {
    static NAMES: std::sync::LazyLock<&'static [&'static str]> =
        std::sync::LazyLock::new(|| key_names(RuleId::all().filter_map(max_waste_key)));
    &NAMES
}

/// A config table read key by key into its fields (`[rules]`, `[rules.max-waste]`), as a
/// map or, as serde's derive also reads a struct, as an array of its values in key order.
trait Table: Default {
    type Key: Copy + 'static;
    /// serde's name for it (`Rules`), said in type errors.
    const NAME: &'static str;
    /// Its keys, in order.
    fn keys() -> &'static [Self::Key];
    /// The name of each key, for serde's unknown-field error.
    fn names() -> &'static [&'static str];
    /// The key named `name`.
    fn find(name: &str) -> Option<Self::Key>;
    /// Read the value of `key` into its field; false when there is none.
    fn read<'de, S: Values<'de>>(
        &mut self,
        key: Self::Key,
        values: &mut S,
    ) -> std::result::Result<bool, S::Error>;
}

/// Reads a [`Table`]'s key: unknown keys are refused while the key is read, so that the
/// parser points at the key and lists the keys allowed there.
struct KeySeed<T>(std::marker::PhantomData<T>);

impl<'de, T: Table> de::DeserializeSeed<'de> for KeySeed<T> {
    type Value = T::Key;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<T::Key, D::Error> {
        d.deserialize_identifier(self)
    }
}

impl<T: Table> Visitor<'_> for KeySeed<T> {
    type Value = T::Key;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("field identifier")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<T::Key, E> {
        T::find(v).ok_or_else(|| E::unknown_field(v, T::names()))
    }
}

struct TableVisitor<T>(std::marker::PhantomData<T>);

impl<'de, T: Table> Visitor<'de> for TableVisitor<T> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "struct {}", T::NAME)
    }
    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> std::result::Result<T, A::Error> {
        let mut table = T::default();
        while let Some(key) = map.next_key_seed(KeySeed::<T>(std::marker::PhantomData))? {
            table.read(key, &mut MapValues(&mut map))?;
        }
        Ok(table)
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> std::result::Result<T, A::Error> {
        let mut table = T::default();
        let mut values = SeqValues(seq);
        let keys = T::keys();
        for (i, key) in keys.iter().enumerate() {
            if !table.read(*key, &mut values)? {
                let expected = format!("struct {} with {} elements", T::NAME, keys.len());
                return Err(de::Error::invalid_length(i, &expected.as_str()));
            }
        }
        Ok(table)
    }
}

fn deserialize_table<'de, T: Table, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<T, D::Error> {
    d.deserialize_struct(T::NAME, T::names(), TableVisitor(std::marker::PhantomData))
}

/// The values of a table read as a map (`key = value`) or, as serde's derive also reads a
/// struct, as an array of the values in key order.
trait Values<'de> {
    type Error: de::Error;
    /// The next value; `None` when an array ends.
    fn next<T: Deserialize<'de>>(&mut self) -> std::result::Result<Option<T>, Self::Error>;
}

struct MapValues<A>(A);

impl<'de, A: de::MapAccess<'de>> Values<'de> for MapValues<A> {
    type Error = A::Error;
    fn next<T: Deserialize<'de>>(&mut self) -> std::result::Result<Option<T>, A::Error> {
        self.0.next_value().map(Some)
    }
}

struct SeqValues<A>(A);

impl<'de, A: de::SeqAccess<'de>> Values<'de> for SeqValues<A> {
    type Error = A::Error;
    fn next<T: Deserialize<'de>>(&mut self) -> std::result::Result<Option<T>, A::Error> {
        self.0.next_element()
    }
}

/// Read the next value into `field`; false when there is none. The value is read as the
/// field's `Option` type, as serde's derive reads it (the parser then points at the value).
fn put<'de, T: Deserialize<'de>, S: Values<'de>>(
    field: &mut Option<T>,
    values: &mut S,
) -> std::result::Result<bool, S::Error> {
    Ok(values.next::<Option<T>>()?.map(|v| *field = v).is_some())
}

/// As [`put`], for a field whose absence is its default (an empty list or table).
fn put_or_default<'de, T: Deserialize<'de>, S: Values<'de>>(
    field: &mut T,
    values: &mut S,
) -> std::result::Result<bool, S::Error> {
    if let Some(v) = values.next()? {
        *field = v;
    }
    Ok(true)
}

impl<'de> Deserialize<'de> for Rules {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Rules, D::Error> {
        deserialize_table(d)
    }
}

impl Table for Rules {
    type Key = RulesKey;
    const NAME: &'static str = "Rules";

    fn keys() -> &'static [RulesKey] {
        RulesKey::all()
    }

    fn names() -> &'static [&'static str] {
        rules_key_names()
    }

    fn find(name: &str) -> Option<RulesKey> {
        RulesKey::all().iter().copied().find(|k| k.name() == name)
    }

    fn read<'de, S: Values<'de>>(
        &mut self,
        key: RulesKey,
        values: &mut S,
    ) -> std::result::Result<bool, S::Error> {
        let id = match key {
            RulesKey::MaxWaste => return put_or_default(&mut self.max_waste, values),
            RulesKey::PercentFloor => return put(&mut self.percent_floor, values),
            RulesKey::IgnoreWastePaths => {
                return put_or_default(&mut self.ignore_waste_paths, values);
            }
            RulesKey::Rule(id) => id,
        };
        match id {
            RuleId::LowestEfficiency => put(&mut self.lowest_efficiency, values),
            RuleId::HighestWastedBytes => put(&mut self.highest_wasted_bytes, values),
            RuleId::HighestUserWastedPercent => put(&mut self.highest_user_wasted_percent, values),
            RuleId::MaxSize => put(&mut self.max_size, values),
            RuleId::MaxCompressedSize => put(&mut self.max_compressed_size, values),
            RuleId::MaxLayers => put(&mut self.max_layers, values),
            RuleId::MaxLayerSize => put(&mut self.max_layer_size, values),
            RuleId::DenyPaths => put_or_default(&mut self.deny_paths, values),
            RuleId::MaxGrowthBytes => put(&mut self.max_growth_bytes, values),
            RuleId::MaxGrowthPercent => put(&mut self.max_growth_percent, values),
            RuleId::MaxCompressedGrowthBytes => put(&mut self.max_compressed_growth_bytes, values),
            RuleId::MaxCompressedGrowthPercent => {
                put(&mut self.max_compressed_growth_percent, values)
            }
            RuleId::MaxLayerGrowthBytes => put(&mut self.max_layer_growth_bytes, values),
            RuleId::MaxLayerGrowthPercent => put(&mut self.max_layer_growth_percent, values),
            RuleId::MaxInstructionGrowthBytes => {
                put(&mut self.max_instruction_growth_bytes, values)
            }
            RuleId::MaxInstructionGrowthPercent => {
                put(&mut self.max_instruction_growth_percent, values)
            }
            RuleId::MaxNewWasteItems => put(&mut self.max_new_waste_items, values),
            RuleId::MaxNewWasteBytes => put(&mut self.max_new_waste_bytes, values),
            // Not keys of [rules] (RulesKey::all leaves them out): the [rules.max-waste]
            // table and the [recommendations] table hold them.
            RuleId::MaxWasteOverwritten
            | RuleId::MaxWasteMetadataCopyUp
            | RuleId::MaxWasteDeleted
            | RuleId::MaxWasteHiddenByOpaque
            | RuleId::Recommendations => {
                Err(de::Error::unknown_field(id.as_str(), rules_key_names()))
            }
        }
    }
}

impl Table for MaxWaste {
    type Key = RuleId;
    const NAME: &'static str = "MaxWaste";

    fn keys() -> &'static [RuleId] {
        static IDS: std::sync::LazyLock<Vec<RuleId>> = std::sync::LazyLock::new(|| {
            RuleId::all()
                .filter(|id| max_waste_key(*id).is_some())
                .collect()
        });
        &IDS
    }

    fn names() -> &'static [&'static str] {
        max_waste_key_names()
    }

    fn find(name: &str) -> Option<RuleId> {
        RuleId::all().find(|id| max_waste_key(*id) == Some(name))
    }

    fn read<'de, S: Values<'de>>(
        &mut self,
        id: RuleId,
        values: &mut S,
    ) -> std::result::Result<bool, S::Error> {
        let field = match id {
            RuleId::MaxWasteOverwritten => &mut self.overwritten,
            RuleId::MaxWasteMetadataCopyUp => &mut self.metadata_copy_up,
            RuleId::MaxWasteDeleted => &mut self.deleted,
            RuleId::MaxWasteHiddenByOpaque => &mut self.hidden_by_opaque,
            other => {
                return Err(de::Error::unknown_field(
                    other.as_str(),
                    max_waste_key_names(),
                ));
            }
        };
        put(field, values)
    }
}

impl<'de> Deserialize<'de> for MaxWaste {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<MaxWaste, D::Error> {
        deserialize_table(d)
    }
}

/// Where a configuration came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConfigFormat {
    /// Built in code through the library (`GateConfig::default()` and its fields).
    #[default]
    Api,
    /// No file: dive's default rules ([`GateConfig::dive_defaults`]).
    Defaults,
    /// A `.layerscope.toml`.
    Toml,
    /// A dive `.dive-ci` (YAML).
    DiveCi,
}

/// A gate configuration: which rules, which thresholds, where the Dockerfile is, and what
/// each recommendation code does.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[non_exhaustive]
pub struct GateConfig {
    /// The Dockerfile the image is built from, relative to the config file (to place results
    /// on Dockerfile lines and to compare instructions).
    pub dockerfile: Option<PathBuf>,
    /// The rules.
    #[serde(default)]
    pub rules: Rules,
    /// Recommendation code -> `allow` | `warn` | `deny`. A code layerscope does not emit is
    /// refused by the parser, with its key and line: a typo must not silently do nothing.
    #[serde(default)]
    pub recommendations: BTreeMap<FindingCode, RecommendationAction>,
    #[serde(skip)]
    pub(crate) source: Option<String>,
    #[serde(skip)]
    pub(crate) format: ConfigFormat,
}

/// dive's `.dive-ci`: a `rules:` map with camelCase or kebab-case keys.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DiveCiFile {
    rules: Option<DiveCiRules>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DiveCiRules {
    #[serde(rename = "lowestEfficiency", alias = "lowest-efficiency")]
    lowest_efficiency: Option<Setting<Ratio>>,
    #[serde(rename = "highestWastedBytes", alias = "highest-wasted-bytes")]
    highest_wasted_bytes: Option<Setting<ByteSize>>,
    #[serde(
        rename = "highestUserWastedPercent",
        alias = "highest-user-wasted-percent"
    )]
    highest_user_wasted_percent: Option<Setting<Ratio>>,
}

impl GateConfig {
    /// dive's defaults, used when there is no config file: `lowest-efficiency` 0.9,
    /// `highest-user-wasted-percent` 0.1, `highest-wasted-bytes` off.
    pub fn dive_defaults() -> GateConfig {
        GateConfig {
            rules: Rules {
                lowest_efficiency: Some(Setting::On(Ratio(0.9))),
                highest_wasted_bytes: Some(Setting::Off),
                highest_user_wasted_percent: Some(Setting::On(Ratio(0.1))),
                ..Rules::default()
            },
            format: ConfigFormat::Defaults,
            ..GateConfig::default()
        }
    }

    /// Parse a `.layerscope.toml`; `source_name` (the file) is named in errors.
    ///
    /// # Errors
    /// [`Error::Config`] naming the file: TOML syntax, an unknown key (with the keys allowed
    /// there), a value of the wrong kind or out of range, a bad glob or recommendation code.
    pub fn from_toml(text: &str, source_name: &str) -> Result<GateConfig> {
        let mut config: GateConfig = toml::from_str(text).map_err(|e| Error::Config {
            source_name: source_name.to_string(),
            reason: String::new(),
            source: Some(if names_unknown_code(text, &e) {
                Hinted::new(e, Hint::RecommendationCodes).into()
            } else {
                e.into()
            }),
        })?;
        config.source = Some(source_name.to_string());
        config.format = ConfigFormat::Toml;
        config.validate()?;
        Ok(config)
    }

    /// Parse a dive `.dive-ci` file. Rules it leaves out take dive's defaults, as dive does.
    ///
    /// # Errors
    /// [`Error::Config`] naming the file: YAML syntax, an unknown key, a bad value.
    pub fn from_dive_ci(text: &str, source_name: &str) -> Result<GateConfig> {
        // An empty file (or one of comments only) is dive's defaults.
        let file: Option<DiveCiFile> = yaml_serde::from_str(text).map_err(|e| Error::Config {
            source_name: source_name.to_string(),
            reason: String::new(),
            source: Some(e.into()),
        })?;
        let rules = file.and_then(|f| f.rules).unwrap_or_default();
        let mut config = GateConfig::dive_defaults();
        if let Some(v) = rules.lowest_efficiency {
            config.rules.lowest_efficiency = Some(v);
        }
        if let Some(v) = rules.highest_wasted_bytes {
            config.rules.highest_wasted_bytes = Some(v);
        }
        if let Some(v) = rules.highest_user_wasted_percent {
            config.rules.highest_user_wasted_percent = Some(v);
        }
        config.source = Some(source_name.to_string());
        config.format = ConfigFormat::DiveCi;
        Ok(config)
    }

    /// Read a config file: dive's YAML when it is named `.dive-ci` or ends in `.yml` /
    /// `.yaml`, TOML otherwise.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read, otherwise as [`GateConfig::from_toml`] and
    /// [`GateConfig::from_dive_ci`].
    pub fn load(path: &Path) -> Result<GateConfig> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let name = path.display().to_string();
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let is_yaml = file_name == ".dive-ci"
            || path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("yml") || e.eq_ignore_ascii_case("yaml"));
        if is_yaml {
            GateConfig::from_dive_ci(&text, &name)
        } else {
            GateConfig::from_toml(&text, &name)
        }
    }

    /// The file it was read from (`None` for the defaults).
    pub fn source(&self) -> Option<&str> {
        self.source.as_deref()
    }

    /// How it was written.
    pub fn format(&self) -> ConfigFormat {
        self.format
    }

    /// Checks the parsers cannot make: globs compile.
    fn validate(&self) -> Result<()> {
        let bad = |reason: String| Error::Config {
            source_name: self.source.clone().unwrap_or_else(|| "config".into()),
            reason,
            source: None,
        };
        for (key, globs) in [
            ("rules.deny-paths", &self.rules.deny_paths),
            ("rules.ignore-waste-paths", &self.rules.ignore_waste_paths),
        ] {
            super::glob_set(globs).map_err(|e| bad(format!("{key}: {e}")))?;
        }
        Ok(())
    }
}

/// Whether a TOML error is [`FindingCode`]'s refusal of a `[recommendations]` key: the span
/// is the key, and the message is the one parsing that key as a code gives.
fn names_unknown_code(text: &str, e: &toml::de::Error) -> bool {
    let Some(key) = e.span().and_then(|s| text.get(s)) else {
        return false;
    };
    let key = key.trim_matches(|c| c == '"' || c == '\'');
    key.parse::<FindingCode>()
        .err()
        .is_some_and(|refusal| refusal == e.message())
}
