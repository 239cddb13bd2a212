//! Versions of the JSON layouts layerscope writes. Consumers (CI scripts, `--baseline`) read
//! these numbers: add fields freely, bump a version when a field is renamed or removed.

/// Version of the JSON report layout (`analyze`, `simulate`, `recommend`, `diff`, `churn`).
pub const SCHEMA_VERSION: u32 = 1;

/// Version of the `check --format json` layout ([`crate::CheckReport`]).
pub const CHECK_SCHEMA_VERSION: u32 = 1;
