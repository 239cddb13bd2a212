//! Test tiers that need a system tool (git, util-linux `script`): without the tool a test
//! skips with a message, but when CI asks for the tier (`.ci/run` exports
//! `LAYERSCOPE_REQUIRE_GIT=1`, `LAYERSCOPE_REQUIRE_SCRIPT=1`; scripts/test.sh installs the
//! packages) a missing tool is a failure.
#![allow(dead_code, reason = "each test crate uses part of it")]

use std::process::Command;

/// `true` when `tool --version` runs; otherwise skips (returns `false`) or, when the
/// `switch` environment variable is `1`, panics naming the test and the tool.
pub fn have(test: &str, tool: &str, switch: &str) -> bool {
    let ok = Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var(switch).as_deref() != Ok("1"),
            "{test}: {switch}=1 but `{tool}` cannot run"
        );
        eprintln!("{test}: SKIPPED: `{tool}` is not installed (scripts/test.sh installs it)");
    }
    ok
}

/// git, for the git tier.
pub fn git(test: &str) -> bool {
    have(test, "git", "LAYERSCOPE_REQUIRE_GIT")
}

/// util-linux `script`, for the pseudo-terminal tier.
pub fn script(test: &str) -> bool {
    have(test, "script", "LAYERSCOPE_REQUIRE_SCRIPT")
}
