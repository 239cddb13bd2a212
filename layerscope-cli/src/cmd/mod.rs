//! One file per command: its arguments, their validation into options (before any I/O),
//! one pipeline run, and the rendering.

pub(crate) mod analyze;
pub(crate) mod check;
pub(crate) mod churn;
pub(crate) mod diff;
pub(crate) mod explore;
pub(crate) mod fleet;
pub(crate) mod recommend;
pub(crate) mod simulate;
pub(crate) mod tree;
