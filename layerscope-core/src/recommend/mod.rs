//! Recommendations: findings with stable kebab-case codes, each with its evidence (from the
//! image, the Dockerfile, the context and the simulator) and the bytes its fix saves.
//!
//! Where to look:
//!
//! - [`code`]: [`FindingCode`], the codes' names, severities and meanings ([`CODES`]);
//! - [`finding`]: [`Finding`], what every family below reports;
//! - one file per family of findings: [`waste`] (bytes hidden by later layers), [`leftovers`]
//!   (caches and toolchains the final image keeps, and the cache-mount alternative),
//!   [`hygiene`] (user, base image pins, CMD/ENTRYPOINT, EXPOSE) and [`cache`] (rewrites that
//!   make rebuilds cheaper);
//! - [`rewrite`]: the text edits behind the proposed Dockerfile;
//! - [`evaluate`]: how cache findings are priced, by simulating the Dockerfile before and
//!   after a rewrite ([`crate::simulate`]);
//! - [`savings`]: the bytes each fix removes, file by file; which findings overlap or are
//!   alternatives, and what all fixes save together with each byte counted once.
//!
//! [`recommend`] runs the families in that order, sorts the findings and marks overlaps.

mod cache;
mod code;
mod evaluate;
mod finding;
mod hygiene;
mod leftovers;
mod rewrite;
mod savings;
#[cfg(test)]
mod tests;
mod waste;

pub use code::{CODES, CodeInfo, FindingCode, Severity};
pub use finding::Finding;
pub use savings::{Overlap, Relation, SavedItem, total_bytes_saved};

use crate::Result;
use crate::analysis::Analysis;
use crate::attribution::Attribution;
use crate::context::{BuildContext, Churn};
use crate::dockerfile::Dockerfile;
use crate::version::SCHEMA_VERSION;
use serde::Serialize;
use std::collections::BTreeMap;

/// All findings, and the proposed Dockerfile when a rewrite was found.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Recommendations {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Findings, most bytes saved first, then by code and line.
    pub recommendations: Vec<Finding>,
    /// What applying every fix removes from the image, each byte counted once (the union of
    /// the findings' [`Finding::saved_items`]): less than the sum of `bytes_saved` when
    /// findings overlap or are alternatives. Savings per change (cache findings) are not
    /// image bytes and are not included.
    pub total_bytes_saved: u64,
    /// The Dockerfile with the cache rewrites applied.
    pub proposed_dockerfile: Option<String>,
    /// The Dockerfile as given (to diff against).
    pub original_dockerfile: Option<String>,
}

/// What recommendations are computed from; each part is optional, and findings need their
/// evidence: without a Dockerfile, only image findings; without an image, only Dockerfile
/// findings (cache findings are then simulated without bytes).
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct RecommendInput<'a> {
    /// The analysed image.
    pub analysis: Option<&'a Analysis>,
    /// The image's layers matched to the Dockerfile ([`Analysis::attribute`]), when already
    /// computed: saves computing it again.
    pub attribution: Option<&'a Attribution>,
    /// The Dockerfile it was built from.
    pub dockerfile: Option<&'a Dockerfile>,
    /// The Dockerfile's text (for rewrites).
    pub dockerfile_text: Option<&'a str>,
    /// The build context.
    pub context: Option<&'a BuildContext>,
    /// Git churn of the context, to weigh changes by how often files change.
    pub churn: Option<&'a Churn>,
    /// Build arguments of the build.
    pub build_args: BTreeMap<String, String>,
}

/// Compute every finding the inputs give evidence for.
///
/// # Errors
/// The Dockerfile cannot be evaluated, or the context cannot be read.
pub fn recommend(input: &RecommendInput<'_>) -> Result<Recommendations> {
    let mut out: Vec<Finding> = Vec::new();
    let report = input.analysis.map(Analysis::figures);
    let owned;
    let attribution = match (input.attribution, input.analysis, input.dockerfile) {
        (Some(a), _, _) => Some(a),
        (None, Some(a), Some(df)) => {
            owned = a.attribute(df, &input.build_args)?;
            Some(&owned)
        }
        _ => None,
    };
    let line_of_layer = |l: usize| -> Option<usize> {
        attribution?
            .instructions
            .iter()
            .find(|c| c.layers.contains(&l))
            .map(|c| c.line)
    };
    if let (Some(a), Some(r)) = (input.analysis, report) {
        waste::findings(r, &line_of_layer, &mut out);
        leftovers::findings(a, &line_of_layer, &mut out);
        hygiene::run_as_root(r, &mut out);
    }
    let mut proposed = None;
    if let Some(df) = input.dockerfile {
        hygiene::dockerfile_findings(df, report, &mut out);
        if let (Some(ctx), Some(text)) = (input.context, input.dockerfile_text) {
            let ev = evaluate::Evaluation::new(input, attribution, df, ctx);
            if let Some((f, rewritten)) = cache::split_dependency_copy(&ev, text)? {
                out.push(f);
                proposed = Some(rewritten);
            }
            out.extend(cache::use_copy_link(&ev)?);
            if let Some(churn) = input.churn {
                out.extend(cache::reorder_for_cache(&ev, text, churn)?);
            }
        }
        if report.is_some() {
            leftovers::cache_mounts(df, &mut out);
        }
    }
    // Equal savings: by severity, then code (the order of the codes' names), line and layer.
    out.sort_by(|a, b| {
        b.bytes_saved
            .cmp(&a.bytes_saved)
            .then(b.severity.cmp(&a.severity))
            .then(a.code.cmp(&b.code))
            .then(a.line.cmp(&b.line))
            .then(a.layer.cmp(&b.layer))
    });
    savings::mark_overlaps(&mut out);
    Ok(Recommendations {
        schema_version: SCHEMA_VERSION,
        total_bytes_saved: total_bytes_saved(&out),
        recommendations: out,
        proposed_dockerfile: proposed,
        original_dockerfile: input.dockerfile_text.map(str::to_string),
    })
}
