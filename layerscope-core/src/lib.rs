//! layerscope-core: see how a container image uses the layer cache.
#![deny(missing_docs)]

mod analysis;
mod attribution;
mod context;
mod digest;
mod dockerfile;
mod error;
mod layer;
mod report;
mod source;
#[cfg(any(test, feature = "testkit"))]
#[doc(hidden)]
pub mod testkit;
mod tree;

pub use analysis::{Analysis, AnalysisOptions};
pub use attribution::{HistoryAlignment, align_history};
pub use error::{Error, Result};
pub use layer::{Compression, EntryKind};
pub use report::{
    BaseSplit, DuplicateGroup, FileRecord, HistoryInfo, ImageInfo, LayerReport, Report,
    SCHEMA_VERSION, ToolInfo, Totals, WasteItem,
};
pub use source::{
    HistoryEntry, Image, ImageConfig, ImageFormat, LayerAvailability, LayerRef, OpenOptions,
    RootFs, RuntimeConfig,
};
pub use tree::{ChangeKind, WasteKind};
// dockerfile: (helper adds its pub use line below)
// context: (helper adds its pub use line below)
