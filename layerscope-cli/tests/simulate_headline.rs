//! `simulate`'s headline tells apart what rebuilds for sure and what rebuilds only if a
//! re-run step's output differs (the build stage's `RUN` below).

use assert_cmd::Command;

#[test]
fn headline_counts_certain_and_conditional_steps() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Dockerfile"),
        "FROM scratch AS build\nCOPY src/ /src/\nRUN build\n\
         FROM scratch\nCOPY app.txt /app.txt\nCOPY --from=build /out /out\nCOPY conf /conf\n",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("src")).unwrap();
    for (p, c) in [("src/a.c", "int x;"), ("app.txt", "v1"), ("conf", "c")] {
        std::fs::write(dir.path().join(p), c).unwrap();
    }
    let run = |changed: &str| {
        let out = Command::cargo_bin("layerscope")
            .unwrap()
            .args(["simulate", "-f"])
            .arg(dir.path().join("Dockerfile"))
            .arg("--context")
            .arg(dir.path())
            .args(["--changed", changed])
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    // The build stage's COPY (line 2) and RUN (3) rebuild for sure; line 6 reads the RUN's
    // output and line 7 follows it: both only if that output differs.
    let text = run("src/a.c");
    assert!(
        text.contains(
            "src/a.c: 2 steps rebuild for sure, 2 more if a re-run step's output differs (give the image for bytes)"
        ),
        "{text}"
    );
    // app.txt: line 5 and the two after it rebuild for sure.
    let text = run("app.txt");
    assert!(
        text.contains(
            "app.txt: 3 steps rebuild for sure, 0 more if a re-run step's output differs (give the image for bytes)"
        ),
        "{text}"
    );
}
