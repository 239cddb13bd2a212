//! Recommendations read from a Dockerfile alone (no image, no context): the practices each
//! line is checked against.

use layerscope_core::{Dockerfile, FindingCode, RecommendInput, recommend};

#[test]
fn dockerfile_practices() {
    let text = "FROM ubuntu\nFROM node:20 AS b\nCMD node server.js --port=3000\nCMD [\"node\"]\nFROM gcr.io/distroless/base:v1\nFROM registry.corp.example/base:1.2\nENTRYPOINT [\"app\", \"-p\", \"8080\"]\n";
    let df = Dockerfile::parse_named(text, "Dockerfile").unwrap();
    let mut input = RecommendInput::default();
    input.dockerfile = Some(&df);
    input.dockerfile_text = Some(text);
    let f = recommend(&input).unwrap().recommendations;
    let at = |code: FindingCode| {
        f.iter()
            .filter(|x| x.code == code)
            .map(|x| x.line.unwrap_or(0))
            .collect::<Vec<_>>()
    };
    assert_eq!(at(FindingCode::UnpinnedBaseImage), vec![1, 2, 5]); // own registry with a tag: fine
    assert_eq!(at(FindingCode::MultipleCmd), vec![3]);
    assert_eq!(at(FindingCode::ShellFormCmd), vec![3]);
    assert_eq!(at(FindingCode::MissingExpose), vec![7]);
}
