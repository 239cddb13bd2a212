//! layerscope-core: see how a container image uses the layer cache.
#![deny(missing_docs)]

mod analysis;
mod attribution;
mod digest;
mod report;
mod layer;
mod tree;
#[cfg(any(test, feature = "testkit"))]
#[doc(hidden)]
pub mod testkit;
mod error;
mod source;
mod dockerfile;
mod context;

pub use analysis::{Analysis, AnalysisOptions};
pub use attribution::{HistoryAlignment, align_history};
pub use error::{Error, Result};
pub use report::{
    BaseSplit, DuplicateGroup, FileRecord, HistoryInfo, ImageInfo, LayerReport, Report, SCHEMA_VERSION,
    ToolInfo, Totals, WasteItem,
};
pub use layer::{Compression, EntryKind};
pub use tree::{ChangeKind, WasteKind};
pub use source::{
    HistoryEntry, Image, ImageConfig, ImageFormat, LayerAvailability, LayerRef, OpenOptions,
    RootFs, RuntimeConfig,
};
// dockerfile: (helper adds its pub use line below)
// context: (helper adds its pub use line below)
