//! Gate unit tests on in-memory images built by the test kit.

use super::*;
use crate::recommend::{FindingCode, Severity};
use crate::report::{CheckReport, Report};
use crate::testkit::{Hist, ImageBuilder, LayerBuilder, Layout};
use crate::version::CHECK_SCHEMA_VERSION;
use crate::{Analysis, AnalysisOptions, Image};
use std::path::Path;

struct Analysed {
    figures: ImageFigures,
    report: Report,
    files: Vec<FileRecord>,
}

fn analyse(builder: &ImageBuilder, base_layers: usize) -> Analysed {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("image.tar");
    std::fs::write(&p, builder.archive(Layout::DockerClassic)).unwrap();
    let image = Image::open(&p).unwrap();
    let a = Analysis::run(&image, &AnalysisOptions::default().base_layers(base_layers)).unwrap();
    Analysed {
        figures: a.figures().clone(),
        report: a.report(),
        files: a.final_files(),
    }
}

fn hist(lines: &[&str]) -> Vec<Hist> {
    lines
        .iter()
        .map(|l| Hist {
            created_by: l.to_string(),
            empty: false,
        })
        .collect()
}

const DOCKERFILE: &str = "FROM base\n\
COPY app/ /app/\n\
RUN chmod 600 /app/big.bin && rm /app/key.pem && echo > /etc/conf\n\
RUN rm -rf /var/cache && mkdir -p /var/cache && touch /var/cache/y\n";

/// Base layer (100 kB) + three user layers: 1 MB copied up by a chmod, a deleted 10-byte
/// key, a 100-byte file overwritten by 200 bytes, 5 kB hidden by an opaque directory.
///
/// size 2,105,311 = 100,000 + 1,005,110 + 1,000,200 + 1; wasted 1,005,110;
/// final 1,100,201; efficiency 0.5226; user size 2,005,311, user waste 1,005,110.
fn wasteful() -> ImageBuilder {
    ImageBuilder::new()
        .layer(LayerBuilder::new().file("bin/sh", &vec![1u8; 100_000]))
        .layer(
            LayerBuilder::new()
                .file("app/big.bin", &vec![2u8; 1_000_000])
                .file("app/key.pem", &[3u8; 10])
                .file("etc/conf", &[4u8; 100])
                .file("var/cache/x", &vec![5u8; 5000]),
        )
        .layer(
            LayerBuilder::new()
                .file_meta("app/big.bin", &vec![2u8; 1_000_000], 0o600, 0, 0, 1)
                .whiteout("app/key.pem")
                .file("etc/conf", &[6u8; 200]),
        )
        .layer(
            LayerBuilder::new()
                .opaque("var/cache")
                .file("var/cache/y", b"y"),
        )
        .history(hist(&[
            "/bin/sh -c #(nop) ADD file:aaaa in / ",
            "/bin/sh -c #(nop) COPY dir:bbbb in /app/ ",
            "/bin/sh -c chmod 600 /app/big.bin && rm /app/key.pem && echo > /etc/conf",
            "/bin/sh -c rm -rf /var/cache && mkdir -p /var/cache && touch /var/cache/y",
        ]))
}

/// 1,000 bytes overwritten by 10: efficiency 1 %, but only 1 kB at stake.
fn tiny() -> ImageBuilder {
    ImageBuilder::new()
        .layer(LayerBuilder::new().file("a", &[1u8; 1000]))
        .layer(LayerBuilder::new().file("a", &[2u8; 10]))
}

fn gate(toml: &str) -> Gate {
    Gate::new(GateConfig::from_toml(toml, "test.toml").unwrap()).unwrap()
}

/// The result of the rule named `id` (the name as a config or a CI log spells it).
fn rule<'o>(o: &'o GateOutcome, id: &str) -> &'o RuleResult {
    let want: RuleId = id.parse().unwrap_or_else(|_| panic!("{id} names no rule"));
    o.rules
        .iter()
        .find(|r| r.id == want)
        .unwrap_or_else(|| panic!("no rule {id} in {:?}", o.rules))
}

fn status(o: &GateOutcome, id: &str) -> RuleStatus {
    rule(o, id).status
}

fn config_error(toml: &str) -> String {
    GateConfig::from_toml(toml, "ci/.layerscope.toml")
        .unwrap_err()
        .chain_text()
}

#[test]
fn config_reads_every_key_and_size_unit() {
    let c = GateConfig::from_toml(
        r#"
dockerfile = "Dockerfile"
[rules]
lowest-efficiency = 0.9
highest-wasted-bytes = "20MB"
highest-user-wasted-percent = "10%"
max-size = "20MiB"
max-compressed-size = 1048576
max-layers = 12
max-layer-size = "1.5GB"
percent-floor = "1MB"
deny-paths = ["**/*.pem", "**/.git/**"]
ignore-waste-paths = ["var/cache/**"]
max-growth-bytes = "10MB"
max-growth-percent = 5
max-compressed-growth-bytes = "off"
max-compressed-growth-percent = "2.5%"
max-layer-growth-bytes = "disabled"
max-layer-growth-percent = 10
max-instruction-growth-bytes = "1MB"
max-instruction-growth-percent = 50
max-new-waste-items = 0
max-new-waste-bytes = "100kB"
[rules.max-waste]
overwritten = "1MB"
metadata-copy-up = 0
deleted = "5MiB"
hidden-by-opaque = "off"
[recommendations]
cleanup-in-same-layer = "deny"
split-dependency-copy = "warn"
run-as-root = "allow"
"#,
        "t.toml",
    )
    .unwrap();
    let r = &c.rules;
    assert_eq!(c.dockerfile.as_deref(), Some(Path::new("Dockerfile")));
    assert_eq!(r.lowest_efficiency, Some(Setting::On(Ratio(0.9))));
    assert_eq!(
        r.highest_wasted_bytes,
        Some(Setting::On(ByteSize(20_000_000)))
    );
    assert_eq!(r.highest_user_wasted_percent, Some(Setting::On(Ratio(0.1))));
    assert_eq!(r.max_size, Some(Setting::On(ByteSize(20 * 1024 * 1024))));
    assert_eq!(
        r.max_compressed_size,
        Some(Setting::On(ByteSize(1_048_576)))
    );
    assert_eq!(r.max_layers, Some(Setting::On(Count(12))));
    assert_eq!(r.max_layer_size, Some(Setting::On(ByteSize(1_500_000_000))));
    assert_eq!(r.percent_floor, Some(ByteSize(1_000_000)));
    assert_eq!(r.max_growth_percent, Some(Setting::On(Percent(5.0))));
    assert_eq!(r.max_compressed_growth_bytes, Some(Setting::Off));
    assert_eq!(
        r.max_compressed_growth_percent,
        Some(Setting::On(Percent(2.5)))
    );
    assert_eq!(r.max_layer_growth_bytes, Some(Setting::Off));
    assert_eq!(r.max_new_waste_items, Some(Setting::On(Count(0))));
    assert_eq!(r.max_waste.metadata_copy_up, Some(Setting::On(ByteSize(0))));
    assert_eq!(
        r.max_waste.deleted,
        Some(Setting::On(ByteSize(5 * 1024 * 1024)))
    );
    assert_eq!(r.max_waste.hidden_by_opaque, Some(Setting::Off));
    assert_eq!(
        c.recommendations.get(&FindingCode::CleanupInSameLayer),
        Some(&RecommendationAction::Deny)
    );
    assert_eq!(c.format(), ConfigFormat::Toml);
    assert_eq!(c.source(), Some("t.toml"));
}

#[test]
fn config_errors_name_the_file_the_key_and_the_line() {
    let e = config_error("[rules]\nmax-size = \"1GB\"\nmax-sise = \"1GB\"\n");
    assert!(e.starts_with("ci/.layerscope.toml: "), "{e}");
    assert!(e.contains("unknown field `max-sise`"), "{e}");
    assert!(e.contains("line 3"), "{e}");
    assert!(e.contains("max-size"), "lists the keys allowed: {e}");
    // The keys come from RuleId; the list (and its order) is what serde's derive wrote.
    assert!(
        e.ends_with(
            "unknown field `max-sise`, expected one of `lowest-efficiency`, \
             `highest-wasted-bytes`, `highest-user-wasted-percent`, `max-size`, \
             `max-compressed-size`, `max-layers`, `max-layer-size`, `max-waste`, \
             `percent-floor`, `deny-paths`, `ignore-waste-paths`, `max-growth-bytes`, \
             `max-growth-percent`, `max-compressed-growth-bytes`, \
             `max-compressed-growth-percent`, `max-layer-growth-bytes`, \
             `max-layer-growth-percent`, `max-instruction-growth-bytes`, \
             `max-instruction-growth-percent`, `max-new-waste-items`, `max-new-waste-bytes`"
        ),
        "{e}"
    );
    let e = config_error("[rules.max-waste]\ndeletd = 1\n");
    assert!(
        e.ends_with(
            "unknown field `deletd`, expected one of `overwritten`, `metadata-copy-up`, \
             `deleted`, `hidden-by-opaque`"
        ),
        "{e}"
    );
    // Rules put at the top level instead of under [rules].
    let e = config_error("max-size = \"1GB\"\n");
    assert!(
        e.contains("unknown field `max-size`") && e.contains("rules"),
        "{e}"
    );
    let e = config_error("[rules.max-waste]\ncopy-up = 1\n");
    assert!(e.contains("unknown field `copy-up`"), "{e}");
    let e = config_error("[rules]\nlowest-efficiency = 1.5\n");
    assert!(e.contains("1.5 is not a ratio between 0 and 1"), "{e}");
    let e = config_error("[rules]\nhighest-user-wasted-percent = 10\n");
    assert!(
        e.contains("10 is not a ratio"),
        "a percent written as 10: {e}"
    );
    let e = config_error("[rules]\nmax-size = \"20 parsecs\"\n");
    assert!(
        e.contains("\"20 parsecs\"") && e.contains("unknown unit"),
        "{e}"
    );
    let e = config_error("[rules]\nmax-size = -5\n");
    assert!(e.contains("-5 is negative"), "{e}");
    let e = config_error("[rules]\nmax-layers = 2.5\n");
    assert!(e.contains("2.5 is not a count"), "{e}");
    let e = config_error("[rules]\nmax-layers = true\n");
    assert!(e.contains("expected a number or a string"), "{e}");
    let e = config_error("[rules]\nmax-growth-percent = \"lots\"\n");
    assert!(e.contains("\"lots\" is not a percentage"), "{e}");
    let e = config_error("[rules]\ndeny-paths = [\"a[\"]\n");
    assert!(e.contains("rules.deny-paths") && e.contains("a["), "{e}");
    let e = config_error("[recommendations]\ncleanup-in-same-layer = \"block\"\n");
    assert!(e.contains("unknown variant `block`"), "{e}");
    let e = config_error("[recommendations]\nAptCache = \"deny\"\n");
    assert!(
        e.contains("\"AptCache\" is not a recommendation code"),
        "{e}"
    );
    let e = config_error("[rules\n");
    assert!(e.starts_with("ci/.layerscope.toml: "), "{e}");
}

#[test]
fn dive_ci_keys_values_and_defaults() {
    let c = GateConfig::from_dive_ci(
        "rules:\n  lowestEfficiency: 0.95\n  highestWastedBytes: 20MB\n  highestUserWastedPercent: disabled\n",
        ".dive-ci",
    )
    .unwrap();
    assert_eq!(c.rules.lowest_efficiency, Some(Setting::On(Ratio(0.95))));
    assert_eq!(
        c.rules.highest_wasted_bytes,
        Some(Setting::On(ByteSize(20_000_000)))
    );
    assert_eq!(c.rules.highest_user_wasted_percent, Some(Setting::Off));
    assert_eq!(c.format(), ConfigFormat::DiveCi);
    // kebab-case keys, string numbers, 20MiB; left-out rules take dive's defaults.
    let c = GateConfig::from_dive_ci(
        "rules:\n  highest-wasted-bytes: \"20MiB\"\n  lowest-efficiency: \"0.5\"\n",
        ".dive-ci",
    )
    .unwrap();
    assert_eq!(
        c.rules.highest_wasted_bytes,
        Some(Setting::On(ByteSize(20 * 1024 * 1024)))
    );
    assert_eq!(c.rules.lowest_efficiency, Some(Setting::On(Ratio(0.5))));
    assert_eq!(
        c.rules.highest_user_wasted_percent,
        Some(Setting::On(Ratio(0.1)))
    );
    for empty in ["", "# nothing\n", "rules:\n"] {
        let c = GateConfig::from_dive_ci(empty, ".dive-ci").unwrap();
        assert_eq!(c.rules.lowest_efficiency, Some(Setting::On(Ratio(0.9))));
        assert_eq!(c.rules.highest_wasted_bytes, Some(Setting::Off));
    }
    let e = GateConfig::from_dive_ci("rules:\n  lowestEfficency: 0.9\n", "app/.dive-ci")
        .unwrap_err()
        .chain_text();
    assert!(e.starts_with("app/.dive-ci: "), "{e}");
    assert!(e.contains("unknown field `lowestEfficency`"), "{e}");
    let e = GateConfig::from_dive_ci("rules:\n  lowestEfficiency: high\n", ".dive-ci")
        .unwrap_err()
        .chain_text();
    assert!(e.contains("\"high\" is not a ratio"), "{e}");
    assert!(GateConfig::from_dive_ci("rules: [1, 2]\n", ".dive-ci").is_err());
    assert!(GateConfig::from_dive_ci(": :\n  - [", ".dive-ci").is_err());
}

#[test]
fn load_picks_the_parser_by_file_name() {
    let dir = tempfile::tempdir().unwrap();
    let dive = dir.path().join(".dive-ci");
    std::fs::write(&dive, "rules:\n  lowestEfficiency: 0.5\n").unwrap();
    assert_eq!(
        GateConfig::load(&dive).unwrap().format(),
        ConfigFormat::DiveCi
    );
    let toml = dir.path().join("gate.toml");
    std::fs::write(&toml, "[rules]\nmax-layers = 3\n").unwrap();
    assert_eq!(
        GateConfig::load(&toml).unwrap().format(),
        ConfigFormat::Toml
    );
    let missing = dir.path().join("nope.toml");
    let e = GateConfig::load(&missing).unwrap_err().to_string();
    assert!(e.contains("nope.toml"), "{e}");
}

#[test]
fn dive_defaults_apply_and_say_so() {
    let a = analyse(&wasteful(), 1);
    let o = Gate::new(GateConfig::dive_defaults())
        .unwrap()
        .evaluate(&GateInput::new(&a.figures));
    assert_eq!(o.verdict, Verdict::Fail);
    assert_eq!(o.config.format, ConfigFormat::Defaults);
    assert!(
        o.config
            .note
            .as_deref()
            .unwrap()
            .contains("dive's default rules")
    );
    let ids: Vec<&str> = o.rules.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "lowest-efficiency",
            "highest-wasted-bytes",
            "highest-user-wasted-percent"
        ]
    );
    let eff = rule(&o, "lowest-efficiency");
    assert_eq!(eff.status, RuleStatus::Fail);
    assert_eq!(eff.threshold, Some(Amount::Float(0.9)));
    let Some(Amount::Float(measured)) = eff.measured else {
        panic!("{eff:?}")
    };
    assert!((measured - 1_100_201.0 / 2_105_311.0).abs() < 1e-12);
    assert_eq!(eff.offenders[0].path.as_deref(), Some("app/big.bin"));
    assert_eq!(status(&o, "highest-wasted-bytes"), RuleStatus::Skip);
    assert_eq!(status(&o, "highest-user-wasted-percent"), RuleStatus::Fail);
    assert_eq!(o.figures.wasted_bytes, 1_005_110);
    assert_eq!(o.figures.user_wasted_bytes, 1_005_110);
    assert_eq!(o.top_waste.len(), 4);
}

/// Every image rule, once passing and once failing, on the wasteful image.
#[test]
fn every_rule_passes_and_fails() {
    let a = analyse(&wasteful(), 1);
    let cases: &[(&str, &str, &str)] = &[
        ("lowest-efficiency", "0.5", "0.6"),
        ("highest-wasted-bytes", "\"1.1MB\"", "\"1MB\""),
        ("highest-user-wasted-percent", "0.51", "0.5"),
        ("max-size", "\"2.2MB\"", "\"2.1MB\""),
        ("max-layers", "4", "3"),
        ("max-layer-size", "\"1.1MB\"", "\"1MB\""),
    ];
    for (id, pass, fail) in cases {
        let o = gate(&format!("[rules]\n{id} = {pass}\n")).evaluate(&GateInput::new(&a.figures));
        assert_eq!(status(&o, id), RuleStatus::Pass, "{id} = {pass}: {o:#?}");
        assert_eq!(o.verdict, Verdict::Pass);
        let o = gate(&format!("[rules]\n{id} = {fail}\n")).evaluate(&GateInput::new(&a.figures));
        assert_eq!(status(&o, id), RuleStatus::Fail, "{id} = {fail}: {o:#?}");
        assert_eq!(o.verdict, Verdict::Fail);
    }
    // Compressed size is what the blobs weigh (plain tar here: bigger than the content).
    let c = a.report.totals.compressed_size_bytes;
    let o = gate(&format!("[rules]\nmax-compressed-size = {c}\n"))
        .evaluate(&GateInput::new(&a.figures));
    assert_eq!(status(&o, "max-compressed-size"), RuleStatus::Pass);
    let o = gate(&format!("[rules]\nmax-compressed-size = {}\n", c - 1))
        .evaluate(&GateInput::new(&a.figures));
    assert_eq!(status(&o, "max-compressed-size"), RuleStatus::Fail);
    assert_eq!(rule(&o, "max-compressed-size").offenders.len(), 4);
    // Per-kind waste: 100 overwritten, 1 MB copied up, 10 deleted, 5,000 hidden by opaque.
    for (kind, amount) in [
        ("overwritten", 100),
        ("metadata-copy-up", 1_000_000),
        ("deleted", 10),
        ("hidden-by-opaque", 5000),
    ] {
        let id = format!("max-waste.{kind}");
        let o = gate(&format!("[rules.max-waste]\n{kind} = {amount}\n"))
            .evaluate(&GateInput::new(&a.figures));
        assert_eq!(status(&o, &id), RuleStatus::Pass, "{id}");
        let o = gate(&format!("[rules.max-waste]\n{kind} = {}\n", amount - 1))
            .evaluate(&GateInput::new(&a.figures));
        let r = rule(&o, &id);
        assert_eq!(r.status, RuleStatus::Fail, "{id}");
        assert_eq!(r.measured, Some(Amount::Unsigned(amount)));
        assert_eq!(r.offenders.len(), 1, "{id}");
    }
    // max-layer-size names the offending layers.
    let o = gate("[rules]\nmax-layer-size = \"1MB\"\n").evaluate(&GateInput::new(&a.figures));
    let layers: Vec<Option<usize>> = rule(&o, "max-layer-size")
        .offenders
        .iter()
        .map(|o| o.layer)
        .collect();
    assert_eq!(layers, [Some(1), Some(2)]);
}

#[test]
fn off_rules_are_listed_as_skipped() {
    let a = analyse(&wasteful(), 1);
    let o = gate("[rules]\nlowest-efficiency = \"off\"\nmax-size = \"disabled\"\n")
        .evaluate(&GateInput::new(&a.figures));
    assert_eq!(o.verdict, Verdict::Pass);
    assert!(o.rules.iter().all(|r| r.status == RuleStatus::Skip));
    assert_eq!(rule(&o, "max-size").threshold, None);
    // An empty config evaluates nothing and passes.
    let o = gate("").evaluate(&GateInput::new(&a.figures));
    assert!(o.rules.is_empty());
    assert!(o.passed());
    // A config built in code is not "no config file".
    let o = Gate::new(GateConfig::default())
        .unwrap()
        .evaluate(&GateInput::new(&a.figures));
    assert_eq!(o.config.format, ConfigFormat::Api);
    assert!(o.config.note.is_none() && o.config.source.is_none());
}

#[test]
fn percentage_rules_obey_the_byte_floor() {
    let a = analyse(&tiny(), 1);
    let strict = "[rules]\nlowest-efficiency = 0.9\nhighest-user-wasted-percent = 0.1\n";
    let o = gate(strict).evaluate(&GateInput::new(&a.figures));
    assert_eq!(status(&o, "lowest-efficiency"), RuleStatus::Fail);
    assert_eq!(status(&o, "highest-user-wasted-percent"), RuleStatus::Fail);
    let o =
        gate(&format!("{strict}percent-floor = \"1kB\"\n")).evaluate(&GateInput::new(&a.figures));
    assert_eq!(
        status(&o, "lowest-efficiency"),
        RuleStatus::Fail,
        "1,000 >= 1 kB"
    );
    let o =
        gate(&format!("{strict}percent-floor = \"1KiB\"\n")).evaluate(&GateInput::new(&a.figures));
    assert_eq!(o.verdict, Verdict::Pass, "{o:#?}");
    let r = rule(&o, "lowest-efficiency");
    assert!(r.message.contains("percent-floor"), "{}", r.message);
    assert!(r.measured.is_some());
    // Byte rules ignore the floor.
    let o = gate("[rules]\npercent-floor = \"1MB\"\nhighest-wasted-bytes = 999\n")
        .evaluate(&GateInput::new(&a.figures));
    assert_eq!(status(&o, "highest-wasted-bytes"), RuleStatus::Fail);
}

#[test]
fn ignored_waste_paths_leave_every_waste_rule() {
    let a = analyse(&wasteful(), 1);
    let toml = "[rules]\nignore-waste-paths = [\"app/big.bin\", \"/var/cache/**\"]\n\
                highest-wasted-bytes = 110\nlowest-efficiency = 0.99\n\
                highest-user-wasted-percent = 0.00005\n\
                [rules.max-waste]\nmetadata-copy-up = 0\nhidden-by-opaque = 0\n";
    let o = gate(toml).evaluate(&GateInput::new(&a.figures));
    assert_eq!(o.figures.wasted_bytes, 110);
    assert_eq!(o.figures.ignored_waste_bytes, 1_005_000);
    assert_eq!(status(&o, "highest-wasted-bytes"), RuleStatus::Pass);
    assert_eq!(status(&o, "lowest-efficiency"), RuleStatus::Pass);
    assert_eq!(status(&o, "max-waste.metadata-copy-up"), RuleStatus::Pass);
    assert_eq!(status(&o, "max-waste.hidden-by-opaque"), RuleStatus::Pass);
    // 110 / 2,005,311 is still above 0.005 %.
    assert_eq!(status(&o, "highest-user-wasted-percent"), RuleStatus::Fail);
    assert!(o.top_waste.iter().all(|w| w.path != "app/big.bin"));
    assert!(rule(&o, "highest-wasted-bytes").message.contains("ignored"));
}

#[test]
fn denied_paths_are_found_in_every_layer() {
    let a = analyse(&wasteful(), 1);
    let toml = "[rules]\ndeny-paths = [\"**/*.pem\", \"**/.git/**\"]\n";
    let o = gate(toml).evaluate(&GateInput::new(&a.figures).final_files(&a.files));
    let r = rule(&o, "deny-paths");
    assert_eq!(r.status, RuleStatus::Fail);
    // Deleted by layer 2, but layer 1 still ships it.
    assert_eq!(r.offenders.len(), 1);
    assert_eq!(r.offenders[0].path.as_deref(), Some("app/key.pem"));
    assert_eq!(r.offenders[0].layer, Some(1));
    assert!(r.offenders[0].message.contains("still shipped"));
    // A visible file matches too.
    let o = gate("[rules]\ndeny-paths = [\"bin/*\"]\n")
        .evaluate(&GateInput::new(&a.figures).final_files(&a.files));
    assert_eq!(
        rule(&o, "deny-paths").offenders[0].path.as_deref(),
        Some("bin/sh")
    );
    let o = gate("[rules]\ndeny-paths = [\"**/.git/**\"]\n")
        .evaluate(&GateInput::new(&a.figures).final_files(&a.files));
    assert_eq!(status(&o, "deny-paths"), RuleStatus::Pass);
}

#[test]
fn results_land_on_dockerfile_lines() {
    let a = analyse(&wasteful(), 1);
    let df = Dockerfile::parse_named(DOCKERFILE, "Dockerfile").unwrap();
    let o = gate("[rules]\nhighest-wasted-bytes = 0\nmax-layer-size = \"1MB\"\n")
        .evaluate(&GateInput::new(&a.figures).dockerfile(&df));
    assert_eq!(o.dockerfile.as_deref(), Some("Dockerfile"));
    assert_eq!(o.image_line, Some(1));
    let lines: Vec<Option<usize>> = rule(&o, "highest-wasted-bytes")
        .offenders
        .iter()
        .map(|o| o.line)
        .collect();
    // Every hidden copy was shipped by the COPY on line 2.
    assert_eq!(lines, [Some(2); 4]);
    let lines: Vec<Option<usize>> = rule(&o, "max-layer-size")
        .offenders
        .iter()
        .map(|o| o.line)
        .collect();
    assert_eq!(lines, [Some(2), Some(3)]);
    assert!(o.notes.is_empty(), "{:?}", o.notes);
}

/// The wasteful image, grown: layer 1 gains 500 kB and a new layer adds a chmod copy-up.
fn grown() -> ImageBuilder {
    ImageBuilder::new()
        .layer(LayerBuilder::new().file("bin/sh", &vec![1u8; 100_000]))
        .layer(
            LayerBuilder::new()
                .file("app/big.bin", &vec![2u8; 1_000_000])
                .file("app/more.bin", &vec![7u8; 500_000])
                .file("app/key.pem", &[3u8; 10])
                .file("etc/conf", &[4u8; 100])
                .file("var/cache/x", &vec![5u8; 5000]),
        )
        .layer(
            LayerBuilder::new()
                .file_meta("app/big.bin", &vec![2u8; 1_000_000], 0o600, 0, 0, 1)
                .whiteout("app/key.pem")
                .file("etc/conf", &[6u8; 200]),
        )
        .layer(
            LayerBuilder::new()
                .opaque("var/cache")
                .file("var/cache/y", b"y"),
        )
        .layer(LayerBuilder::new().file_meta("app/more.bin", &vec![7u8; 500_000], 0o600, 0, 0, 1))
        .history(hist(&[
            "/bin/sh -c #(nop) ADD file:aaaa in / ",
            "/bin/sh -c #(nop) COPY dir:cccc in /app/ ",
            "/bin/sh -c chmod 600 /app/big.bin && rm /app/key.pem && echo > /etc/conf",
            "/bin/sh -c rm -rf /var/cache && mkdir -p /var/cache && touch /var/cache/y",
            "/bin/sh -c chmod 600 /app/more.bin",
        ]))
}

#[test]
fn a_baseline_regression_is_caught() {
    let before = analyse(&wasteful(), 1);
    let after = analyse(&grown(), 1);
    let baseline = Baseline::from_report(&before.report, "main.json").unwrap();
    let df = Dockerfile::parse_named(
        &format!("{DOCKERFILE}RUN chmod 600 /app/more.bin\n"),
        "Dockerfile",
    )
    .unwrap();
    let toml = "[rules]\nmax-growth-bytes = \"900kB\"\nmax-growth-percent = 40\n\
                max-compressed-growth-bytes = \"10MB\"\nmax-compressed-growth-percent = 60\n\
                max-layer-growth-bytes = \"400kB\"\nmax-layer-growth-percent = 40\n\
                max-instruction-growth-bytes = \"400kB\"\nmax-instruction-growth-percent = 60\n\
                max-new-waste-items = 0\nmax-new-waste-bytes = \"1MB\"\n";
    let o = gate(toml).evaluate(
        &GateInput::new(&after.figures)
            .baseline(&baseline)
            .dockerfile(&df),
    );
    // Size grew by 1,000,000: 500 kB in layer 1, 500 kB in the new layer 4 (47.5 %).
    let cmp = o.comparison.as_ref().unwrap();
    assert_eq!(cmp.size_bytes.change, 1_000_000);
    assert_eq!(cmp.baseline, "main.json");
    assert_eq!(cmp.layers.change, 1);
    let r = rule(&o, "max-growth-bytes");
    assert_eq!(r.status, RuleStatus::Fail);
    assert_eq!(r.measured, Some(Amount::Signed(1_000_000)));
    assert_eq!(
        r.offenders.iter().map(|o| o.layer).collect::<Vec<_>>(),
        [Some(1), Some(4)]
    );
    assert_eq!(status(&o, "max-growth-percent"), RuleStatus::Fail);
    assert_eq!(status(&o, "max-compressed-growth-bytes"), RuleStatus::Pass);
    assert_eq!(
        status(&o, "max-compressed-growth-percent"),
        RuleStatus::Pass
    );
    // Per layer: layer 1 grew 500 kB (+49.7 %); layer 4 is new (bytes rule only).
    let r = rule(&o, "max-layer-growth-bytes");
    assert_eq!(r.status, RuleStatus::Fail);
    assert_eq!(r.offenders.len(), 2);
    let r = rule(&o, "max-layer-growth-percent");
    assert_eq!(r.status, RuleStatus::Fail);
    assert_eq!(r.offenders.len(), 1);
    assert_eq!(r.offenders[0].layer, Some(1));
    // Per instruction: the COPY (line 2) grew 49.7 %, the new RUN (line 5) is new.
    let r = rule(&o, "max-instruction-growth-bytes");
    assert_eq!(r.status, RuleStatus::Fail);
    let lines: Vec<Option<usize>> = r.offenders.iter().map(|o| o.line).collect();
    assert_eq!(lines, [Some(2), Some(5)]);
    assert_eq!(
        status(&o, "max-instruction-growth-percent"),
        RuleStatus::Pass
    );
    // New waste: app/more.bin copied up by the new layer.
    let r = rule(&o, "max-new-waste-items");
    assert_eq!(r.status, RuleStatus::Fail);
    assert_eq!(r.offenders[0].path.as_deref(), Some("app/more.bin"));
    assert_eq!(r.offenders[0].line, Some(2));
    assert_eq!(status(&o, "max-new-waste-bytes"), RuleStatus::Pass);
    assert_eq!(cmp.new_waste.len(), 1);

    // Against itself nothing grew.
    let same = Baseline::from_report(&after.report, "same.json").unwrap();
    let o = gate(toml).evaluate(
        &GateInput::new(&after.figures)
            .baseline(&same)
            .dockerfile(&df),
    );
    assert!(o.passed(), "{o:#?}");

    // Shrinking is never growth.
    let o = gate(toml).evaluate(
        &GateInput::new(&before.figures)
            .baseline(&Baseline::from_report(&after.report, "x").unwrap()),
    );
    assert_eq!(status(&o, "max-growth-bytes"), RuleStatus::Pass);
    assert_eq!(
        rule(&o, "max-growth-bytes").measured,
        Some(Amount::Signed(-1_000_000))
    );
}

#[test]
fn growth_percent_obeys_the_floor() {
    let before = analyse(&tiny(), 1);
    let bigger = ImageBuilder::new()
        .layer(LayerBuilder::new().file("a", &[1u8; 1000]))
        .layer(LayerBuilder::new().file("a", &[2u8; 500]));
    let after = analyse(&bigger, 1);
    let baseline = Baseline::from_report(&before.report, "b.json").unwrap();
    let toml = "[rules]\nmax-growth-percent = 5\nmax-layer-growth-percent = 5\n";
    let o = gate(toml).evaluate(&GateInput::new(&after.figures).baseline(&baseline));
    assert_eq!(status(&o, "max-growth-percent"), RuleStatus::Fail);
    assert_eq!(status(&o, "max-layer-growth-percent"), RuleStatus::Fail);
    let o = gate(&format!("{toml}percent-floor = \"1MB\"\n"))
        .evaluate(&GateInput::new(&after.figures).baseline(&baseline));
    assert!(o.passed(), "{o:#?}");
}

#[test]
fn baseline_rules_skip_without_their_inputs() {
    let a = analyse(&wasteful(), 1);
    let toml = "[rules]\nmax-growth-bytes = 0\nmax-new-waste-items = 0\nmax-instruction-growth-bytes = 0\n";
    let o = gate(toml).evaluate(&GateInput::new(&a.figures));
    assert!(o.passed());
    assert_eq!(o.rules.len(), 3);
    for r in &o.rules {
        assert_eq!(r.status, RuleStatus::Skip);
        assert_eq!(r.skip_reason, Some(SkipReason::NoBaseline));
        assert_eq!(r.message, "needs a baseline report");
    }
    let baseline = Baseline::from_report(&a.report, "b.json").unwrap();
    let o = gate(toml).evaluate(&GateInput::new(&a.figures).baseline(&baseline));
    assert_eq!(status(&o, "max-growth-bytes"), RuleStatus::Pass);
    let r = rule(&o, "max-instruction-growth-bytes");
    assert_eq!(r.status, RuleStatus::Skip);
    assert_eq!(r.skip_reason, Some(SkipReason::NoDockerfile));
    assert!(r.message.contains("Dockerfile"));
}

#[test]
fn baselines_read_analyze_and_check_json() {
    let a = analyse(&wasteful(), 1);
    let analyze_json = serde_json::to_string_pretty(&a.report).unwrap();
    let b = Baseline::from_json(&analyze_json, "analyze.json").unwrap();
    assert_eq!(b.source(), "analyze.json");
    assert_eq!(b.report.totals.size_bytes, 2_105_311);
    assert!(!b.waste_list_partial());
    let o = gate("[rules]\nmax-layers = 9\n").evaluate(&GateInput::new(&a.figures));
    let check_json = serde_json::to_string(&CheckReport::new(&o, &a.report)).unwrap();
    let b = Baseline::from_json(&check_json, "check.json").unwrap();
    assert_eq!(b.report.layers.len(), 4);
    assert_eq!(b.report.waste.len(), 4);

    for (text, expect) in [
        ("not json", "not JSON"),
        ("{}", "not a layerscope report"),
        ("[1, 2]", "not a layerscope report"),
        ("{\"schema_version\": 1, \"layers\": []}", "missing field"),
        (
            "{\"schema_version\": 99}",
            "newer than this layerscope reads",
        ),
    ] {
        let e = Baseline::from_json(text, "prev.json")
            .unwrap_err()
            .chain_text();
        assert!(e.starts_with("prev.json: "), "{e}");
        assert!(e.contains(expect), "{text}: {e}");
    }
    let e = Baseline::load(Path::new("/nonexistent/prev.json"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("/nonexistent/prev.json"), "{e}");
}

#[test]
fn recommendations_follow_the_table() {
    let a = analyse(&tiny(), 1);
    let findings = [
        Finding::new(
            FindingCode::CleanupInSameLayer,
            Severity::Warning,
            "clean the apt cache",
        )
        .line(4)
        .bytes_saved(40_000_000),
        Finding::new(
            FindingCode::SplitDependencyCopy,
            Severity::Info,
            "copy the manifest first",
        )
        .line(3),
        Finding::new(FindingCode::RunAsRoot, Severity::Info, "never shown"),
        Finding::new(
            FindingCode::MissingExpose,
            Severity::Error,
            "warned by default",
        )
        .bytes_saved(5),
    ];
    let table = "[recommendations]\ncleanup-in-same-layer = \"deny\"\n\
                 split-dependency-copy = \"warn\"\nrun-as-root = \"allow\"\n";
    let o = gate(table).evaluate(&GateInput::new(&a.figures).findings(&findings));
    assert_eq!(o.verdict, Verdict::Fail);
    let r = rule(&o, "recommendations");
    assert_eq!(r.status, RuleStatus::Fail);
    assert_eq!(r.measured, Some(Amount::Unsigned(1)));
    assert_eq!(r.offenders[0].line, Some(4));
    assert!(
        r.offenders[0]
            .message
            .starts_with("cleanup-in-same-layer: ")
    );
    let shown: Vec<(FindingCode, RecommendationAction)> = o
        .recommendations
        .iter()
        .map(|r| (r.code, r.action))
        .collect();
    assert_eq!(
        shown,
        [
            (FindingCode::CleanupInSameLayer, RecommendationAction::Deny),
            (FindingCode::MissingExpose, RecommendationAction::Warn),
            (FindingCode::SplitDependencyCopy, RecommendationAction::Warn),
        ]
    );
    // Only warnings: the rule passes.
    let o = gate("[recommendations]\ncleanup-in-same-layer = \"warn\"\n")
        .evaluate(&GateInput::new(&a.figures).findings(&findings));
    assert_eq!(status(&o, "recommendations"), RuleStatus::Pass);
    // No table and no findings: no rule at all.
    let o = gate("").evaluate(&GateInput::new(&a.figures));
    assert!(o.rules.is_empty() && o.recommendations.is_empty());
}

#[test]
fn outcome_json_carries_threshold_and_measured() {
    let a = analyse(&wasteful(), 1);
    let o = gate("[rules]\nmax-size = \"2MB\"\nlowest-efficiency = 0.5\n")
        .evaluate(&GateInput::new(&a.figures));
    let v = serde_json::to_value(CheckReport::new(&o, &a.report)).unwrap();
    assert_eq!(v["schema_version"], CHECK_SCHEMA_VERSION);
    assert_eq!(v["gate"]["verdict"], "fail");
    let r = &v["gate"]["rules"][1];
    assert_eq!(r["id"], "max-size");
    assert_eq!(r["status"], "fail");
    assert_eq!(r["unit"], "bytes");
    assert_eq!(r["threshold"], 2_000_000);
    assert_eq!(r["measured"], 2_105_311);
    assert_eq!(v["gate"]["rules"][0]["threshold"], 0.5);
    assert_eq!(v["report"]["totals"]["size_bytes"], 2_105_311);
}

mod no_panics {
    use super::*;
    use proptest::prelude::*;

    const KEYS: &[&str] = &[
        "lowest-efficiency",
        "highest-wasted-bytes",
        "highest-user-wasted-percent",
        "max-size",
        "max-layers",
        "max-growth-percent",
        "percent-floor",
        "deny-paths",
        "max-waste",
    ];

    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<i64>().prop_map(|v| v.to_string()),
            any::<f64>().prop_map(|v| format!("{v:?}")),
            "[-0-9.eE%a-zA-Z ]{0,12}".prop_map(|v| format!("{v:?}")),
            Just("[\"a[\", \"**\"]".to_string()),
            Just("{ deleted = -1 }".to_string()),
            Just("true".to_string()),
        ]
    }

    proptest! {
        /// Config, .dive-ci and baseline text from users never panics: it parses or it is
        /// an error naming the file.
        #[test]
        fn arbitrary_text(text in "\\PC{0,200}") {
            for e in [
                GateConfig::from_toml(&text, "f").err(),
                GateConfig::from_dive_ci(&text, "f").err(),
                Baseline::from_json(&text, "f").err(),
            ].into_iter().flatten() {
                prop_assert!(e.chain_text().starts_with("f: "));
            }
        }

        #[test]
        fn arbitrary_values(key in prop::sample::select(KEYS), v in value()) {
            let toml = format!("[rules]\n{key} = {v}\n");
            if let Err(e) = GateConfig::from_toml(&toml, "f") {
                prop_assert!(e.chain_text().starts_with("f: "));
            }
            let yaml = format!("rules:\n  {key}: {v}\n");
            let _ = GateConfig::from_dive_ci(&yaml, "f");
        }
    }
}

#[test]
fn unknown_recommendation_codes_are_refused_with_their_line() {
    let e = GateConfig::from_toml(
        "[rules]\nmax-layers = 3\n\n[recommendations]\ncleanup-in-same-layer = \"deny\"\napt-cache-not-cleaned = \"deny\"\n",
        "ci/.layerscope.toml",
    )
    .unwrap_err()
    .chain_text();
    assert!(e.starts_with("ci/.layerscope.toml: "), "{e}");
    assert!(e.contains("line 6"), "{e}");
    assert!(
        e.contains("\"apt-cache-not-cleaned\" is not a recommendation code"),
        "{e}"
    );
    // Every listed code is accepted.
    for c in crate::CODES {
        let t = format!("[recommendations]\n{} = \"warn\"\n", c.code);
        assert!(GateConfig::from_toml(&t, "t.toml").is_ok(), "{}", c.code);
    }
}

/// Every rule name is unique and reads back as its rule; each is a key the config accepts
/// (`[rules]`, or `[rules.max-waste]` for `max-waste.*`), so config keys and result ids
/// cannot drift apart.
#[test]
fn rule_names_are_unique_round_trip_and_are_config_keys() {
    let mut seen = std::collections::BTreeSet::new();
    for id in RuleId::all() {
        let name = id.as_str();
        assert!(seen.insert(name), "{name} names two rules");
        assert_eq!(name.parse::<RuleId>(), Ok(id), "{name}");
        assert_eq!(id.to_string(), name);
        assert_eq!(serde_json::to_value(id).unwrap(), name);
        assert_eq!(
            serde_json::from_value::<RuleId>(serde_json::Value::from(name)).unwrap(),
            id
        );
        assert!(!describe_rule(id).is_empty());
        let toml = match (id, name.split_once('.')) {
            (RuleId::Recommendations, _) => continue,
            (RuleId::DenyPaths, _) => "[rules]\ndeny-paths = [\"/x\"]\n".to_string(),
            (_, Some((table, key))) => format!("[rules.{table}]\n{key} = 1\n"),
            (_, None) => format!("[rules]\n{name} = 1\n"),
        };
        GateConfig::from_toml(&toml, "t.toml").unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    assert_eq!(seen.len(), 23);
    assert!("max-waste-deleted".parse::<RuleId>().is_err());
}

/// Every finding code (`layerscope recommend --list-codes`) has a name of its own that reads
/// back as that code (text and serde), so a `[recommendations]` key names exactly one code.
#[test]
fn finding_codes_are_unique_and_round_trip() {
    let mut names = std::collections::BTreeSet::new();
    let mut codes = std::collections::BTreeSet::new();
    for c in crate::CODES {
        let name = c.code.as_str();
        assert!(names.insert(name), "{name} names two codes");
        assert!(codes.insert(c.code), "{name} is listed twice");
        assert_eq!(name.parse::<FindingCode>(), Ok(c.code), "{name}");
        assert_eq!(c.code.to_string(), name);
        assert_eq!(serde_json::to_value(c.code).unwrap(), name);
        assert_eq!(
            serde_json::from_value::<FindingCode>(serde_json::Value::from(name)).unwrap(),
            c.code
        );
        // No finding code is also a rule id: a name means one thing in configs and CI logs.
        assert!(name.parse::<RuleId>().is_err(), "{name} is also a rule");
    }
    assert_eq!(names.len(), 14);
    assert!("Cleanup-In-Same-Layer".parse::<FindingCode>().is_err());
}

/// The image the module's doctest opens, `layerscope-core/testdata/overwritten.tar`, is this
/// test-kit image: `a` (1,000 bytes) shipped by layer 0 and replaced by 10 bytes in layer 1,
/// so 1,000 bytes are wasted and 10 are visible. Regenerate it with
/// `LAYERSCOPE_WRITE_TESTDATA=1 cargo test -p layerscope-core --lib doc_image`.
#[test]
fn doc_image_is_the_test_kit_image() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/overwritten.tar");
    let built = tiny().archive(Layout::DockerClassic);
    if std::env::var_os("LAYERSCOPE_WRITE_TESTDATA").is_some() {
        std::fs::write(&path, &built).unwrap();
    }
    let committed = std::fs::read(&path).unwrap();
    assert!(
        committed == built,
        "{} differs from the test kit's image",
        path.display()
    );
    let a = analyse(&tiny(), 0);
    assert_eq!(a.figures.totals.wasted_bytes, 1000);
    assert_eq!(a.figures.totals.final_size_bytes, 10);
}
