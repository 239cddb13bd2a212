//! `layerscope`: the facade crate. Everything lives in [`layerscope_core`]; this crate re-exports it
//! and hosts the workspace's top-level benches, examples and end-to-end tests.
pub use layerscope_core::*;
