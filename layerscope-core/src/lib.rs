//! layerscope-core: see how a container image uses the layer cache.
#![deny(missing_docs)]

mod digest;
mod layer;
#[cfg(any(test, feature = "testkit"))]
#[doc(hidden)]
pub mod testkit;
mod error;
mod source;
mod dockerfile;
mod context;

pub use error::{Error, Result};
pub use layer::{Compression, EntryKind};
pub use source::{
    HistoryEntry, Image, ImageConfig, ImageFormat, LayerAvailability, LayerRef, OpenOptions,
    RootFs, RuntimeConfig,
};
// dockerfile: (helper adds its pub use line below)
// context: (helper adds its pub use line below)
