//! The library part of the `layerscope` command line: the interactive explorer, kept out of
//! the binary so that its tests and its benchmark can drive it.

pub mod explore;
