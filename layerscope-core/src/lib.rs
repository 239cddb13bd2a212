//! layerscope-core: see how a container image uses the layer cache.
#![deny(missing_docs)]

mod error;
mod dockerfile;
mod context;

pub use error::{Error, Result};
// dockerfile: (helper adds its pub use line below)
// context: (helper adds its pub use line below)
