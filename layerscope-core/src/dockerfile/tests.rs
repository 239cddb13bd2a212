//! Tests of the Dockerfile model: each parses an inline Dockerfile and checks the expected
//! structure, error position, or evaluation. The `fixtures/real/*/Dockerfile` files are
//! copied in verbatim (tests must not read the shared fixture tree).

use std::collections::BTreeMap;
use std::time::Duration;

use proptest::prelude::*;

use super::*;
use crate::Error;

fn parse(text: &str) -> Dockerfile {
    Dockerfile::parse(text).unwrap_or_else(|e| panic!("{e}\n--- input ---\n{text}"))
}

/// The (line, column, reason) of a parse error.
fn parse_err(text: &str) -> (usize, usize, String) {
    match Dockerfile::parse(text) {
        Err(Error::Dockerfile {
            line,
            column,
            reason,
            ..
        }) => (line, column, reason),
        Err(other) => panic!("unexpected error kind: {other}"),
        Ok(df) => panic!("expected an error, parsed {} stages", df.stages().len()),
    }
}

fn eval_err(df: &Dockerfile, stage: usize, args: &BTreeMap<String, String>) -> (usize, String) {
    match df.evaluate(stage, args) {
        Err(Error::Dockerfile { line, reason, .. }) => (line, reason),
        Err(other) => panic!("unexpected error kind: {other}"),
        Ok(_) => panic!("expected an evaluation error"),
    }
}

fn args(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn opt(pairs: &[(&str, Option<&str>)]) -> Vec<(String, Option<String>)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.map(str::to_string)))
        .collect()
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// (keyword, first line, last line) of every instruction, in file order.
fn spans(df: &Dockerfile) -> Vec<(Keyword, usize, usize)> {
    df.instructions()
        .map(|i| (i.keyword, i.span.first_line, i.span.last_line))
        .collect()
}

fn run(inst: &Instruction) -> &RunArgs {
    match &inst.kind {
        InstructionKind::Run(r) => r,
        other => panic!("not RUN: {other:?}"),
    }
}

fn copy(inst: &Instruction) -> &CopyArgs {
    match &inst.kind {
        InstructionKind::Copy(c) | InstructionKind::Add(c) => c,
        other => panic!("not COPY/ADD: {other:?}"),
    }
}

fn shell(s: &str) -> CommandForm {
    CommandForm::Shell(s.to_string())
}

fn exec(items: &[&str]) -> CommandForm {
    CommandForm::Exec(strings(items))
}

use Keyword as K;

// ---------------------------------------------------------------- directives

#[test]
fn directives_syntax_escape_check() {
    let df = parse(
        "# Syntax = docker/dockerfile:1.7\n\
         #escape=`\n\
         #  check = skip=JSONArgsRecommended, StageNameCasing ;error=true\n\
         FROM alpine\n",
    );
    let d = df.directives();
    assert_eq!(d.syntax.as_deref(), Some("docker/dockerfile:1.7"));
    assert_eq!(d.escape, '`');
    let check = d.check.as_ref().unwrap();
    assert_eq!(
        check.skip,
        strings(&["JSONArgsRecommended", "StageNameCasing"])
    );
    assert!(check.error && !check.skip_all);
    assert_eq!(spans(&df), [(K::From, 4, 4)]);

    let all = parse("# check=skip=all\nFROM a\n");
    let c = all.directives().check.as_ref().unwrap();
    assert!(c.skip_all && !c.error);
    assert_eq!(Directives::default().escape, '\\');
}

/// BuildKit's `linter.ParseLintOptions` (frontend/dockerfile/linter/linter.go) cuts the value
/// into at most three `;` parts: `skip=`, `error=` and `experimental=` (a name list or `all`).
#[test]
fn check_directive_three_parts_and_experimental() {
    let df = parse("# check=skip=A;error=true;experimental=all\nFROM a\n");
    let c = df.directives().check.as_ref().unwrap();
    assert_eq!(c.skip, strings(&["A"]));
    assert!(c.error && c.experimental_all && !c.skip_all);
    assert!(c.experimental.is_empty());

    let df = parse("# check=experimental=InvalidDefinitionDescription, CopyIgnoredFile\nFROM a\n");
    let c = df.directives().check.as_ref().unwrap();
    assert_eq!(
        c.experimental,
        strings(&["InvalidDefinitionDescription", "CopyIgnoredFile"])
    );
    assert!(!c.experimental_all && !c.error && c.skip.is_empty());

    // Any order; the last of a repeated key wins, as in BuildKit's loop.
    let df = parse("# check=experimental=all;skip=all;error=false\nFROM a\n");
    let c = df.directives().check.as_ref().unwrap();
    assert!(c.experimental_all && c.skip_all && !c.error);

    // A fourth part stays in the third one's value (SplitN(.., 3)): here the error flag's
    // value is `true;experimental=all`, which is not a boolean.
    let (line, col, reason) =
        parse_err("# check=skip=A;skip=B;error=true;experimental=all\nFROM a\n");
    assert_eq!((line, col), (1, 9));
    assert_eq!(
        reason,
        "failed to parse check options: failed to parse check option \"error=true;experimental=all\""
    );
    // ... and in a name list it is kept as one name.
    let df = parse("# check=error=1;skip=A;experimental=B;skip=C\nFROM a\n");
    let c = df.directives().check.as_ref().unwrap();
    assert_eq!(c.experimental, strings(&["B;skip=C"]));
    assert_eq!(c.skip, strings(&["A"]));
    assert!(c.error);

    // A part without `=` is refused, naming it.
    let (_, _, reason) = parse_err("# check=experimental\nFROM a\n");
    assert_eq!(
        reason,
        "failed to parse check options: invalid check option \"experimental\""
    );
}

#[test]
fn directive_scanning_stops_at_comment_blank_line_or_unknown_directive() {
    // An unknown directive is a comment and ends the scan: the escape below is ignored.
    let df = parse("# syntax=x\n# foo=bar\n# escape=`\nFROM a\nRUN echo a \\\n  b\n");
    assert_eq!(df.directives().escape, '\\');
    assert_eq!(df.directives().syntax.as_deref(), Some("x"));
    assert_eq!(spans(&df), [(K::From, 4, 4), (K::Run, 5, 6)]);

    let df = parse("# syntax=x\n\n# escape=`\nFROM a\n");
    assert_eq!(df.directives().escape, '\\');
    let df = parse("# a plain comment\n# escape=`\nFROM a\n");
    assert_eq!(df.directives().escape, '\\');
    // After an instruction, directive-like lines are comments.
    let df = parse("FROM a\n# escape=`\n");
    assert_eq!(df.directives().escape, '\\');
}

#[test]
fn directive_errors() {
    assert_eq!(
        parse_err("# escape=`\n# escape=\\\nFROM a\n"),
        (
            2,
            1,
            "only one escape parser directive can be used".to_string()
        )
    );
    assert_eq!(
        parse_err("# escape=x\nFROM a\n"),
        (
            1,
            10,
            "invalid escape token 'x' does not match ` or \\".to_string()
        )
    );
    let (line, col, reason) = parse_err("# check=skip=A;bogus=1\nFROM a\n");
    assert_eq!((line, col), (1, 9));
    assert!(
        reason.contains("invalid check option \"bogus\""),
        "{reason}"
    );
    let (_, _, reason) = parse_err("# check=error=maybe\nFROM a\n");
    assert!(reason.contains("failed to parse check option"), "{reason}");
}

#[test]
fn windows_escape_backtick_continuations() {
    let df = parse(
        "# escape=`\n\
         \n\
         FROM mcr.microsoft.com/windows/servercore:ltsc2022\n\
         SHELL [\"powershell\", \"-Command\"]\n\
         COPY testfile.txt c:\\\n\
         RUN New-Item -ItemType Directory C:\\Example `\n\
         \x20   # a comment inside the continuation\n\
         \x20   ; Get-ChildItem C:\\Example\n\
         ENV PATH=\"C:\\tools;${PATH}\" GREETING=hello` world\n",
    );
    assert_eq!(df.directives().escape, '`');
    assert_eq!(
        spans(&df),
        [
            (K::From, 3, 3),
            (K::Shell, 4, 4),
            (K::Copy, 5, 5),
            (K::Run, 6, 8),
            (K::Env, 9, 9)
        ]
    );
    let stage = df.target_stage();
    // A trailing backslash is an ordinary character when the escape is a backtick.
    assert_eq!(copy(&stage.instructions()[1]).dest, "c:\\");
    assert_eq!(
        run(&stage.instructions()[2]).form,
        shell("New-Item -ItemType Directory C:\\Example     ; Get-ChildItem C:\\Example")
    );
    let eval = df.evaluate(0, &BTreeMap::new()).unwrap();
    let InstructionKind::Env(env) = &eval.steps[3].kind else {
        panic!()
    };
    assert_eq!(
        env,
        &owned(&[("PATH", "C:\\tools;"), ("GREETING", "hello world")])
    );
}

// ------------------------------------------------------- lines and comments

#[test]
fn continuations_with_comment_and_empty_lines() {
    let text = "FROM alpine\n\
                RUN echo hello \\\n\
                # a comment line is dropped\n\
                \x20   world \\\n\
                \n\
                \x20 && true\n\
                CMD [\"sh\"]\n";
    let df = parse(text);
    assert_eq!(
        spans(&df),
        [(K::From, 1, 1), (K::Run, 2, 6), (K::Cmd, 7, 7)]
    );
    let inst = &df.target_stage().instructions()[0];
    assert_eq!(inst.original, "RUN echo hello     world   && true");
    assert_eq!(run(inst).form, shell("echo hello     world   && true"));
    assert_eq!(
        df.snippet(&inst.span),
        "RUN echo hello \\\n# a comment line is dropped\n    world \\\n\n  && true"
    );
}

#[test]
fn continuation_edge_cases() {
    // Trailing blanks after the escape, an escape alone on a line, an escaped escape.
    let df = parse("FROM a\nRUN a \\   \n\\\nb\nRUN echo one \\\\\nRUN echo two\nRUN last \\");
    let i = df.target_stage().instructions();
    assert_eq!(run(&i[0]).form, shell("a b"));
    assert_eq!(i[0].span.first_line..=i[0].span.last_line, 2..=4);
    assert_eq!(run(&i[1]).form, shell("echo one \\\\"));
    assert_eq!(run(&i[2]).form, shell("echo two"));
    // A continuation at the end of the file just ends the instruction.
    assert_eq!(run(&i[3]).form, shell("last"));
}

#[test]
fn comments_whitespace_and_case() {
    let df = parse(
        "  # indented comment\n\
         \tfrom alpine as Base\n\
         \x20   rUn echo # not a comment\n\
         Copy . /src # also an argument\n",
    );
    assert_eq!(
        spans(&df),
        [(K::From, 2, 2), (K::Run, 3, 3), (K::Copy, 4, 4)]
    );
    let stage = df.target_stage();
    assert_eq!(stage.name(), Some("base"));
    assert_eq!(
        run(&stage.instructions()[0]).form,
        shell("echo # not a comment")
    );
    assert_eq!(
        copy(&stage.instructions()[1]).sources,
        strings(&[".", "/src", "#", "also", "an"])
    );
    assert_eq!(copy(&stage.instructions()[1]).dest, "argument");
}

#[test]
fn crlf_and_byte_order_mark() {
    let df = parse("\u{feff}FROM a\r\nRUN echo a \\\r\n  b\r\nCOPY <<EOF /x\r\nhello\r\nEOF\r\n");
    assert_eq!(
        spans(&df),
        [(K::From, 1, 1), (K::Run, 2, 3), (K::Copy, 4, 6)]
    );
    let i = df.target_stage().instructions();
    assert_eq!(run(&i[0]).form, shell("echo a   b"));
    assert_eq!(copy(&i[1]).heredocs[0].body, "hello\r\n");
    assert_eq!(df.lines()[0], "FROM a");
    assert_eq!(df.lines().len(), 6);
}

// --------------------------------------------------------------- heredocs

#[test]
fn heredocs_several_per_instruction_tabs_and_quotes() {
    let text = "FROM alpine\n\
                RUN <<EOF\n\
                echo hello\n\
                EOF\n\
                RUN <<-EOT bash && <<'END' cat > /x\n\
                \techo tabbed\n\
                \t\techo more\n\
                \tEOT\n\
                $NOT_EXPANDED\n\
                END\n\
                COPY <<conf.txt <<\"raw.txt\" /etc/\n\
                a=$A\n\
                conf.txt\n\
                b=$B\n\
                raw.txt\n\
                RUN [\"sh\", \"-c\", \"cat <<EOF\"]\n\
                CMD done\n";
    let df = parse(text);
    assert_eq!(
        spans(&df),
        [
            (K::From, 1, 1),
            (K::Run, 2, 4),
            (K::Run, 5, 10),
            (K::Copy, 11, 15),
            (K::Run, 16, 16),
            (K::Cmd, 17, 17)
        ]
    );
    let i = df.target_stage().instructions();
    let first = run(&i[0]);
    assert_eq!(first.form, shell("<<EOF"));
    assert_eq!(
        first.heredocs,
        [Heredoc {
            name: "EOF".into(),
            quoted: false,
            strip_tabs: false,
            fd: 0,
            body: "echo hello\n".into()
        }]
    );
    let second = run(&i[1]);
    assert_eq!(second.form, shell("<<-EOT bash && <<'END' cat > /x"));
    let summary: Vec<_> = second
        .heredocs
        .iter()
        .map(|h| (h.name.as_str(), h.quoted, h.strip_tabs, h.body.as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            ("EOT", false, true, "echo tabbed\necho more\n"),
            ("END", true, false, "$NOT_EXPANDED\n")
        ]
    );
    let c = copy(&i[2]);
    assert!(c.sources.is_empty());
    assert_eq!(c.dest, "/etc/");
    let inline: Vec<_> = c
        .heredocs
        .iter()
        .map(|h| (h.name.as_str(), h.quoted, h.body.as_str()))
        .collect();
    assert_eq!(
        inline,
        [("conf.txt", false, "a=$A\n"), ("raw.txt", true, "b=$B\n")]
    );
    // The exec form has no heredocs: `<<EOF` is just an argument there.
    assert!(run(&i[3]).heredocs.is_empty());
    assert_eq!(run(&i[3]).form, exec(&["sh", "-c", "cat <<EOF"]));
}

#[test]
fn heredoc_details() {
    // fd prefix, partly quoted delimiter, heredoc behind ONBUILD, ADD heredoc, empty body.
    let df = parse(
        "FROM a\n\
         RUN 3<<IN cat <&3\n\
         x\n\
         IN\n\
         RUN <<E\"O\"F cat\n\
         $x\n\
         EOF\n\
         ONBUILD RUN <<EOF\n\
         echo child\n\
         EOF\n\
         ADD <<EOF /x\n\
         EOF\n",
    );
    assert_eq!(
        spans(&df),
        [
            (K::From, 1, 1),
            (K::Run, 2, 4),
            (K::Run, 5, 7),
            (K::Onbuild, 8, 10),
            (K::Add, 11, 12)
        ]
    );
    let i = df.target_stage().instructions();
    assert_eq!(run(&i[0]).heredocs[0].fd, 3);
    assert_eq!(run(&i[0]).heredocs[0].name, "IN");
    assert!(run(&i[1]).heredocs[0].quoted);
    assert_eq!(run(&i[1]).heredocs[0].name, "EOF");
    let InstructionKind::Onbuild(trigger) = &i[2].kind else {
        panic!()
    };
    assert_eq!(trigger.original, "RUN <<EOF");
    assert_eq!(run(trigger).heredocs[0].body, "echo child\n");
    assert_eq!(copy(&i[3]).heredocs[0].body, "");
}

#[test]
fn unterminated_heredoc_is_an_error() {
    let (line, col, reason) = parse_err("FROM a\nRUN cat <<EOF\nhello\n");
    assert_eq!((line, col), (2, 9));
    assert!(reason.contains("unterminated heredoc"), "{reason}");
    // The second of two heredocs never ends.
    let (line, col, _) = parse_err("FROM a\nRUN <<A <<B\nA\nno end\n");
    assert_eq!((line, col), (2, 9));
    // `<<-` only strips tabs, not spaces, from the terminator.
    let (line, _, _) = parse_err("FROM a\nRUN <<-EOF\n  EOF\n");
    assert_eq!(line, 2);
    // A heredoc cannot be a destination.
    let (line, col, reason) = parse_err("FROM a\nCOPY x <<EOF\nEOF\n");
    assert_eq!((line, col), (2, 8));
    assert_eq!(reason, "COPY cannot accept a heredoc as a destination");
}

// ------------------------------------------------------------------ forms

#[test]
fn exec_shell_and_invalid_json_fallback() {
    let df = parse(
        "FROM a\n\
         CMD [\"a\", \"b c\"]\n\
         CMD [a, b]\n\
         ENTRYPOINT [\"x\"] trailing\n\
         RUN [ \"echo\" , \"hi\\\\there\" ]\n\
         CMD\n\
         ENTRYPOINT []\n\
         RUN ['single', 'quotes']\n",
    );
    let kinds: Vec<_> = df
        .target_stage()
        .instructions()
        .iter()
        .map(|i| i.kind.clone())
        .collect();
    assert_eq!(
        kinds,
        [
            InstructionKind::Cmd(exec(&["a", "b c"])),
            InstructionKind::Cmd(shell("[a, b]")),
            InstructionKind::Entrypoint(shell("[\"x\"] trailing")),
            InstructionKind::Run(RunArgs {
                form: exec(&["echo", "hi\\there"]),
                mounts: vec![],
                network: None,
                security: None,
                devices: vec![],
                heredocs: vec![],
            }),
            InstructionKind::Cmd(shell("")),
            InstructionKind::Entrypoint(exec(&[])),
            InstructionKind::Run(RunArgs {
                form: shell("['single', 'quotes']"),
                mounts: vec![],
                network: None,
                security: None,
                devices: vec![],
                heredocs: vec![],
            }),
        ]
    );
    assert_eq!(
        parse_err("FROM a\nCMD [\"a\", 1]\n"),
        (
            2,
            5,
            "when using JSON array syntax, arrays must be comprised of strings only".into()
        )
    );
}

#[test]
fn json_forms_of_copy_volume_shell() {
    let df = parse(
        "FROM a\n\
         COPY [\"my file.txt\", \"other file\", \"/dst dir/\"]\n\
         VOLUME [\"/data\", \"/var/log\"]\n\
         VOLUME /a /b\n\
         SHELL [\"/bin/bash\", \"-o\", \"pipefail\", \"-c\"]\n",
    );
    let i = df.target_stage().instructions();
    let c = copy(&i[0]);
    assert!(c.json);
    assert_eq!(c.sources, strings(&["my file.txt", "other file"]));
    assert_eq!(c.dest, "/dst dir/");
    assert_eq!(
        i[1].kind,
        InstructionKind::Volume(strings(&["/data", "/var/log"]))
    );
    assert_eq!(i[2].kind, InstructionKind::Volume(strings(&["/a", "/b"])));
    assert_eq!(
        i[3].kind,
        InstructionKind::Shell(strings(&["/bin/bash", "-o", "pipefail", "-c"]))
    );
    assert_eq!(
        parse_err("FROM a\nSHELL /bin/bash -c\n"),
        (
            2,
            7,
            "SHELL requires the arguments to be in JSON form".into()
        )
    );
    assert_eq!(
        parse_err("FROM a\nSHELL []\n"),
        (2, 7, "SHELL requires at least one argument".into())
    );
    assert_eq!(
        parse_err("FROM a\nVOLUME [\" \"]\n"),
        (2, 8, "VOLUME specified can not be an empty string".into())
    );
}

// ------------------------------------------------------------------ flags

#[test]
fn copy_and_add_flags() {
    let df = parse(
        "FROM a AS build\n\
         FROM b\n\
         COPY --from=build --chown=app:app --chmod=0644 --link --parents --exclude=*.md --exclude=.git ./src /app/\n\
         COPY --link=false [\"my file.txt\", \"/dst/\"]\n\
         ADD --checksum=sha256:abc --keep-git-dir=true --unpack=false --link https://example.com/x.tar /opt/\n\
         ADD --chown=1:1 --exclude=x a b /dir/\n\
         COPY --parents=FALSE --link=True \"quoted\" /q/\n",
    );
    let i = df.target_stage().instructions();
    assert_eq!(
        copy(&i[0]),
        &CopyArgs {
            sources: strings(&["./src"]),
            dest: "/app/".into(),
            from: Some("build".into()),
            chown: Some("app:app".into()),
            chmod: Some("0644".into()),
            link: true,
            parents: true,
            excludes: strings(&["*.md", ".git"]),
            ..CopyArgs::default()
        }
    );
    let json = copy(&i[1]);
    assert!(!json.link && json.json);
    assert_eq!(json.sources, strings(&["my file.txt"]));
    assert_eq!(
        copy(&i[2]),
        &CopyArgs {
            sources: strings(&["https://example.com/x.tar"]),
            dest: "/opt/".into(),
            checksum: Some("sha256:abc".into()),
            keep_git_dir: true,
            unpack: Some(false),
            link: true,
            ..CopyArgs::default()
        }
    );
    let add = copy(&i[3]);
    assert_eq!(add.sources, strings(&["a", "b"]));
    assert_eq!(add.chown.as_deref(), Some("1:1"));
    assert_eq!(add.excludes, strings(&["x"]));
    assert_eq!(add.unpack, None);
    let q = copy(&i[4]);
    assert!(!q.parents && q.link);
    // Whitespace splitting keeps quotes; evaluation removes them.
    assert_eq!(q.sources, strings(&["\"quoted\""]));
}

#[test]
fn run_flags_and_mounts() {
    let df = parse(
        "FROM a AS deps\n\
         FROM b\n\
         RUN --mount=type=cache,target=/root/.cache,sharing=locked \\\n\
         \x20   --mount=type=bind,from=deps,source=/out,target=/in \\\n\
         \x20   --mount=type=tmpfs,target=/tmp \\\n\
         \x20   --mount=type=secret,id=token,dst=/run/secrets/token,required \\\n\
         \x20   --mount=type=ssh \\\n\
         \x20   --network=none --security=insecure \\\n\
         \x20   make all\n",
    );
    assert_eq!(spans(&df)[2], (K::Run, 3, 9));
    let r = run(&df.target_stage().instructions()[0]);
    assert_eq!(r.form, shell("make all"));
    assert_eq!(r.network.as_deref(), Some("none"));
    assert_eq!(r.security.as_deref(), Some("insecure"));
    let types: Vec<_> = r.mounts.iter().map(|m| m.mount_type).collect();
    assert_eq!(
        types,
        [
            MountType::Cache,
            MountType::Bind,
            MountType::Tmpfs,
            MountType::Secret,
            MountType::Ssh
        ]
    );
    let cache = &r.mounts[0];
    assert_eq!(
        (
            cache.target.as_deref(),
            cache.sharing.as_deref(),
            cache.readonly
        ),
        (Some("/root/.cache"), Some("locked"), false)
    );
    let bind = &r.mounts[1];
    assert_eq!(
        (
            bind.from.as_deref(),
            bind.source.as_deref(),
            bind.target.as_deref(),
            bind.readonly
        ),
        (Some("deps"), Some("/out"), Some("/in"), true)
    );
    let secret = &r.mounts[3];
    assert_eq!(secret.id.as_deref(), Some("token"));
    assert_eq!(secret.target.as_deref(), Some("/run/secrets/token"));
    assert!(secret.required);
    assert_eq!(
        secret.options,
        opt(&[
            ("type", Some("secret")),
            ("id", Some("token")),
            ("dst", Some("/run/secrets/token")),
            ("required", None)
        ])
    );
    assert_eq!(
        secret.spec,
        "type=secret,id=token,dst=/run/secrets/token,required"
    );
}

#[test]
fn flag_errors_point_at_the_flag() {
    assert_eq!(
        parse_err("FROM a\nCOPY --chwon=a b c\n"),
        (2, 6, "unknown flag: chwon".into())
    );
    assert_eq!(
        parse_err("FROM a\nCOPY --link=maybe a b\n"),
        (
            2,
            6,
            "expecting boolean value for flag link, not: maybe".into()
        )
    );
    assert_eq!(
        parse_err("FROM a\nCOPY --link= a b\n"),
        (2, 6, "missing a value on flag: link".into())
    );
    assert_eq!(
        parse_err("FROM a\nCOPY --from a b\n"),
        (2, 6, "missing a value on flag: from".into())
    );
    assert_eq!(
        parse_err("FROM a\nCOPY --chown=a --chown=b x y\n"),
        (2, 16, "duplicate flag specified: chown".into())
    );
    assert_eq!(
        parse_err("FROM a\nRUN --network=bridge x\n"),
        (2, 5, "unsupported network mode \"bridge\"".into())
    );
    assert_eq!(
        parse_err("FROM a\nRUN --security=root x\n"),
        (2, 5, "unsupported security mode \"root\"".into())
    );
    let (line, col, reason) = parse_err("FROM a\nRUN --mount=type=nfs,target=/x x\n");
    assert_eq!((line, col), (2, 5));
    assert!(
        reason.contains("unsupported mount type \"nfs\""),
        "{reason}"
    );
    assert_eq!(
        parse_err("FROM a\nWORKDIR --foo /x\n"),
        (2, 9, "unknown flag: foo".into())
    );
    assert_eq!(
        parse_err("FROM --plattform=linux/amd64 a\n"),
        (1, 6, "unknown flag: plattform".into())
    );
    assert_eq!(
        parse_err("FROM a\nADD --from=x a b\n"),
        (2, 5, "unknown flag: from".into())
    );
    // A flag on a continuation line is reported there.
    assert_eq!(
        parse_err("FROM a\nRUN --mount=type=cache,target=/x \\\n    --bogus=1 make\n"),
        (3, 5, "unknown flag: bogus".into())
    );
    // Quotes and escapes inside flags are removed before the flag is read.
    let df = parse("FROM a\nCOPY --chown=\"a b\" --chmod=7\\55 x y\n");
    let c = copy(&df.target_stage().instructions()[0]);
    assert_eq!(
        (c.chown.as_deref(), c.chmod.as_deref()),
        (Some("a b"), Some("755"))
    );
    // STOPSIGNAL flags are ignored, as by BuildKit.
    let df = parse("FROM a\nSTOPSIGNAL --x SIGINT\n");
    assert_eq!(
        df.target_stage().instructions()[0].kind,
        InstructionKind::StopSignal("SIGINT".into())
    );
}

// ------------------------------------------------------- ENV, LABEL, ARG

#[test]
fn env_label_arg_forms() {
    let df = parse(
        "FROM a\n\
         ENV A=1 B=\"two words\" C=three\\ words D=\n\
         ENV LEGACY some value with  spaces\n\
         LABEL \"com.example.vendor\"=\"ACME Inc\" version=1.0\n\
         LABEL legacy value\n\
         ARG X Y=2 Z=\n",
    );
    let i = df.target_stage().instructions();
    assert_eq!(
        i[0].kind,
        InstructionKind::Env(owned(&[
            ("A", "1"),
            ("B", "\"two words\""),
            ("C", "three\\ words"),
            ("D", "")
        ]))
    );
    assert_eq!(
        i[1].kind,
        InstructionKind::Env(owned(&[("LEGACY", "some value with  spaces")]))
    );
    assert_eq!(
        i[2].kind,
        InstructionKind::Label(owned(&[
            ("\"com.example.vendor\"", "\"ACME Inc\""),
            ("version", "1.0")
        ]))
    );
    assert_eq!(
        i[3].kind,
        InstructionKind::Label(owned(&[("legacy", "value")]))
    );
    assert_eq!(
        i[4].kind,
        InstructionKind::Arg(opt(&[("X", None), ("Y", Some("2")), ("Z", Some(""))]))
    );
    let eval = df.evaluate(0, &BTreeMap::new()).unwrap();
    assert_eq!(
        eval.steps[0].kind,
        InstructionKind::Env(owned(&[
            ("A", "1"),
            ("B", "two words"),
            ("C", "three words"),
            ("D", "")
        ]))
    );
    assert_eq!(
        eval.steps[2].kind,
        InstructionKind::Label(owned(&[
            ("com.example.vendor", "ACME Inc"),
            ("version", "1.0")
        ]))
    );
}

#[test]
fn env_label_arg_errors() {
    assert_eq!(
        parse_err("FROM a\nENV A\n"),
        (2, 5, "ENV must have two arguments".into())
    );
    assert_eq!(
        parse_err("FROM a\nENV A=1 B\n"),
        (
            2,
            9,
            "Syntax error - can't find = in \"B\". Must be of the form: name=value".into()
        )
    );
    assert_eq!(
        parse_err("FROM a\nLABEL =x\n"),
        (2, 7, "LABEL names can not be blank".into())
    );
    assert_eq!(
        parse_err("FROM a\nENV\n"),
        (2, 4, "ENV requires at least one argument".into())
    );
    assert_eq!(
        parse_err("FROM a\nARG =x\n"),
        (2, 5, "ARG names can not be blank".into())
    );
    assert_eq!(
        parse_err("FROM a\nARG\n"),
        (2, 4, "ARG requires at least one argument".into())
    );
    let (line, col, reason) = parse_err("FROM a\nENV A=${B\n");
    assert_eq!((line, col), (2, 5));
    assert!(reason.contains("syntax error: missing '}'"), "{reason}");
    let (line, col, reason) = parse_err("FROM a\nCOPY ${x:y} /d\n");
    assert_eq!((line, col), (2, 6));
    assert!(reason.contains("unsupported modifier (:y)"), "{reason}");
    let (_, _, reason) = parse_err("FROM a\nWORKDIR \"/unterminated\n");
    assert!(reason.contains("matching double-quote"), "{reason}");
}

// -------------------------------------------------------------- expansion

#[test]
fn evaluation_expands_words_with_every_form() {
    let text = "ARG BASE=alpine\n\
                ARG TAG=3.19\n\
                FROM ${BASE}:${TAG} AS build\n\
                ARG V=1.2.3\n\
                ENV FILE=app-${V}.tar.gz MAJOR=${V%%.*} MINOR=${V#*.} PATCH=${V##*.}\n\
                ENV a=bye\n\
                ENV a=hi b=$a\n\
                WORKDIR /src/${MAJOR}\n\
                WORKDIR sub/../sub2\n\
                COPY --chown=${OWNER:-app}:app ${FILE} '$FILE' \\$FILE ${FILE/tar/TAR} ./\n\
                RUN echo $V\n";
    let df = parse(text);
    assert_eq!(
        df.target_stage().base_ref(),
        Some(&BaseRef::Image("alpine:3.19".into()))
    );
    let e = df.evaluate(0, &BTreeMap::new()).unwrap();
    assert_eq!(e.base, BaseRef::Image("alpine:3.19".into()));
    assert_eq!(
        e.global_args,
        opt(&[("BASE", Some("alpine")), ("TAG", Some("3.19"))])
    );
    // The global TAG is not redeclared, so the stage does not see it.
    assert_eq!(e.steps[0].args, vec![]);
    assert_eq!(
        e.steps[0].kind,
        InstructionKind::Arg(opt(&[("V", Some("1.2.3"))]))
    );
    assert_eq!(
        e.steps[1].kind,
        InstructionKind::Env(owned(&[
            ("FILE", "app-1.2.3.tar.gz"),
            ("MAJOR", "1"),
            ("MINOR", "2.3"),
            ("PATCH", "3")
        ]))
    );
    // Values are taken as of the start of the instruction: b sees the old a.
    assert_eq!(
        e.steps[3].kind,
        InstructionKind::Env(owned(&[("a", "hi"), ("b", "bye")]))
    );
    assert_eq!(e.steps[4].kind, InstructionKind::Workdir("/src/1".into()));
    assert_eq!(e.steps[6].workdir, "/src/1/sub2");
    let c = copy_kind(&e.steps[6].kind);
    assert_eq!(c.chown.as_deref(), Some("app:app"));
    assert_eq!(
        c.sources,
        strings(&["app-1.2.3.tar.gz", "$FILE", "$FILE", "app-1.2.3.TAR.gz"])
    );
    assert_eq!(c.dest, "./");
    let last = &e.steps[7];
    assert_eq!(last.args, opt(&[("V", Some("1.2.3"))]));
    assert_eq!(
        last.env,
        owned(&[
            ("V", "1.2.3"),
            ("FILE", "app-1.2.3.tar.gz"),
            ("MAJOR", "1"),
            ("MINOR", "2.3"),
            ("PATCH", "3"),
            ("a", "hi"),
            ("b", "bye")
        ])
    );
    // RUN text is left to the shell.
    assert_eq!(run_kind(&last.kind).form, shell("echo $V"));

    // Build arguments override defaults; undeclared ones (OWNER) are ignored.
    let e = df
        .evaluate(
            0,
            &args(&[("TAG", "3.20"), ("V", "2.0.1"), ("OWNER", "root")]),
        )
        .unwrap();
    assert_eq!(e.base, BaseRef::Image("alpine:3.20".into()));
    assert_eq!(e.steps[7].args, opt(&[("V", Some("2.0.1"))]));
    assert_eq!(
        copy_kind(&e.steps[6].kind).chown.as_deref(),
        Some("app:app")
    );
    assert_eq!(e.steps[4].kind, InstructionKind::Workdir("/src/2".into()));
}

fn copy_kind(kind: &InstructionKind) -> &CopyArgs {
    match kind {
        InstructionKind::Copy(c) | InstructionKind::Add(c) => c,
        other => panic!("not COPY/ADD: {other:?}"),
    }
}

fn run_kind(kind: &InstructionKind) -> &RunArgs {
    match kind {
        InstructionKind::Run(r) => r,
        other => panic!("not RUN: {other:?}"),
    }
}

#[test]
fn nested_defaults_and_required_values_in_evaluation() {
    let df = parse(
        "FROM a\n\
         ARG A\n\
         ARG B=\n\
         ENV X=${A:-${B:-${C-fallback}}} Y=${B-unset} Z=${B:+set} W=${A+a-set}\n\
         ENV R=\"${REQUIRED:?pass --build-arg REQUIRED}\"\n",
    );
    let (line, reason) = eval_err(&df, 0, &BTreeMap::new());
    assert_eq!(line, 5);
    assert!(
        reason.contains("REQUIRED: pass --build-arg REQUIRED"),
        "{reason}"
    );
    let df = parse(
        "FROM a\n\
         ARG A\n\
         ARG B=\n\
         ENV X=${A:-${B:-${C-fallback}}} Y=${B-unset} Z=${B:+set} W=${A+a-set}\n",
    );
    let e = df.evaluate(0, &BTreeMap::new()).unwrap();
    assert_eq!(
        e.steps[2].kind,
        InstructionKind::Env(owned(&[("X", "fallback"), ("Y", ""), ("Z", ""), ("W", "")]))
    );
    let e = df.evaluate(0, &args(&[("A", "")])).unwrap();
    assert_eq!(
        e.steps[2].kind,
        InstructionKind::Env(owned(&[
            ("X", "fallback"),
            ("Y", ""),
            ("Z", ""),
            ("W", "a-set")
        ]))
    );
}

// ------------------------------------------------------------ ARG scoping

#[test]
fn arg_scope_global_redeclared_inherited() {
    let text = "ARG GLOBAL=g\n\
                ARG OTHER=o\n\
                FROM alpine AS base\n\
                RUN echo before $GLOBAL\n\
                ARG GLOBAL\n\
                ARG LOCAL=l-$GLOBAL\n\
                ENV LOCAL=from-env\n\
                RUN echo after\n\
                FROM base AS child\n\
                ARG OTHER\n\
                RUN echo child\n";
    let df = parse(text);
    assert_eq!(df.stages()[1].base_ref(), Some(&BaseRef::Stage(0)));
    let base = df.evaluate(0, &BTreeMap::new()).unwrap();
    // Before its declaration an ARG is not in scope (and globals never are).
    assert!(base.steps[0].args.is_empty() && base.steps[0].env.is_empty());
    assert_eq!(
        base.steps[1].kind,
        InstructionKind::Arg(opt(&[("GLOBAL", Some("g"))]))
    );
    assert_eq!(
        base.steps[2].kind,
        InstructionKind::Arg(opt(&[("LOCAL", Some("l-g"))]))
    );
    // ENV overrides the ARG of the same name.
    assert_eq!(
        base.steps[4].args,
        opt(&[("GLOBAL", Some("g")), ("LOCAL", Some("from-env"))])
    );

    let child = df.evaluate(1, &BTreeMap::new()).unwrap();
    assert_eq!(child.base, BaseRef::Stage(0));
    assert_eq!(child.steps.len(), 2);
    assert_eq!(
        child.steps[0].kind,
        InstructionKind::Arg(opt(&[("OTHER", Some("o"))]))
    );
    // The child inherits the parent's ARGs and ENV.
    assert_eq!(
        child.steps[1].args,
        opt(&[
            ("GLOBAL", Some("g")),
            ("LOCAL", Some("from-env")),
            ("OTHER", Some("o"))
        ])
    );
    assert_eq!(
        child.steps[1].env,
        owned(&[("GLOBAL", "g"), ("LOCAL", "from-env"), ("OTHER", "o")])
    );

    // A changed build argument shows up in the first RUN after its declaration in scope,
    // not in the RUN before it.
    let changed = df.evaluate(0, &args(&[("GLOBAL", "G2")])).unwrap();
    assert_eq!(changed.steps[0].args, base.steps[0].args);
    assert_ne!(changed.steps[4].args, base.steps[4].args);
    assert_eq!(
        changed.steps[4].args[0],
        ("GLOBAL".to_string(), Some("G2".to_string()))
    );
    // ... and the child that inherits it.
    let child2 = df.evaluate(1, &args(&[("GLOBAL", "G2")])).unwrap();
    assert_ne!(child2.steps[1].args, child.steps[1].args);
}

#[test]
fn arg_env_precedence_and_sequential_args() {
    let df = parse(
        "ARG V=1\n\
         FROM alpine\n\
         ENV X=${V:-not-visible}\n\
         ARG A=1 B=$A\n\
         ARG P=arg\n\
         ENV P=env\n\
         ENV Q=env\n\
         ARG Q=arg\n\
         ARG NODEFAULT\n\
         RUN true\n",
    );
    let e = df.evaluate(0, &BTreeMap::new()).unwrap();
    // A global ARG is visible in a stage only once redeclared.
    assert_eq!(
        e.steps[0].kind,
        InstructionKind::Env(owned(&[("X", "not-visible")]))
    );
    // ARG declarations are dispatched one at a time: B sees A.
    assert_eq!(
        e.steps[1].kind,
        InstructionKind::Arg(opt(&[("A", Some("1")), ("B", Some("1"))]))
    );
    let last = &e.steps[7];
    // ENV after ARG wins; BuildKit lets a later ARG override an earlier ENV too.
    assert_eq!(
        last.args,
        opt(&[
            ("A", Some("1")),
            ("B", Some("1")),
            ("P", Some("env")),
            ("Q", Some("arg")),
            ("NODEFAULT", None)
        ])
    );
    assert!(!last.env.iter().any(|(k, _)| k == "NODEFAULT"));
    let e = df
        .evaluate(0, &args(&[("NODEFAULT", "given"), ("P", "cli")]))
        .unwrap();
    let last = &e.steps[7];
    assert!(
        last.args
            .contains(&("NODEFAULT".to_string(), Some("given".to_string())))
    );
    assert!(
        last.args
            .contains(&("P".to_string(), Some("env".to_string())))
    );
}

#[test]
fn global_args_and_from() {
    let df = parse(
        "ARG REGISTRY=docker.io\n\
         ARG IMAGE=${REGISTRY}/library/node\n\
         ARG VERSION\n\
         ARG BUILDPLATFORM\n\
         ARG BASE\n\
         FROM --platform=$BUILDPLATFORM ${IMAGE}:${VERSION:-20} AS build\n\
         FROM ${BASE:?set_BASE}\n",
    );
    assert_eq!(df.global_args().len(), 5);
    assert_eq!(df.stages()[0].platform(), Some("$BUILDPLATFORM"));
    assert_eq!(df.stages()[0].base(), "${IMAGE}:${VERSION:-20}");
    // An unset global is empty in FROM (BuildKit sets it to ""): `:-` falls back.
    assert_eq!(
        df.stages()[0].base_ref(),
        Some(&BaseRef::Image("docker.io/library/node:20".into()))
    );
    // Needs a build argument: unresolved at parse time.
    assert_eq!(df.stages()[1].base_ref(), None);
    let e = df
        .evaluate(
            0,
            &args(&[
                ("BUILDPLATFORM", "linux/arm64"),
                ("VERSION", "22"),
                ("BASE", "x"),
            ]),
        )
        .unwrap();
    assert_eq!(e.base, BaseRef::Image("docker.io/library/node:22".into()));
    assert_eq!(e.platform.as_deref(), Some("linux/arm64"));
    let (line, reason) = eval_err(&df, 0, &BTreeMap::new());
    assert_eq!(line, 6);
    assert!(reason.contains("empty platform value"), "{reason}");
    let (line, reason) = eval_err(&df, 1, &BTreeMap::new());
    assert_eq!(line, 7);
    assert!(reason.contains("BASE: set_BASE"), "{reason}");
    let e = df.evaluate(1, &args(&[("BASE", "debian:12")])).unwrap();
    assert_eq!(e.base, BaseRef::Image("debian:12".into()));
    // Only declared ARGs take build arguments.
    let df2 = parse("FROM ${BASE:-alpine}\n");
    let e = df2.evaluate(0, &args(&[("BASE", "debian:12")])).unwrap();
    assert_eq!(e.base, BaseRef::Image("alpine".into()));
    // A base that expands to nothing is an error.
    let df = parse("ARG EMPTY=\nFROM $EMPTY\n");
    assert_eq!(df.stages()[0].base_ref(), None);
    let (line, reason) = eval_err(&df, 0, &BTreeMap::new());
    assert_eq!(
        (line, reason.as_str()),
        (2, "base name ($EMPTY) should not be blank")
    );
    // No such stage.
    let (_, reason) = eval_err(&df, 7, &BTreeMap::new());
    assert!(reason.contains("no stage with index 7"), "{reason}");
}

#[test]
fn evaluation_of_heredocs_mounts_expose_user_shell() {
    let df = parse(
        "FROM a\n\
         ARG NAME=world\n\
         ARG PORT=8080\n\
         COPY <<greeting.txt <<'raw.txt' /srv/\n\
         hello $NAME \"quoted\" \\$HOME\n\
         greeting.txt\n\
         raw $NAME\n\
         raw.txt\n\
         RUN --mount=type=cache,id=cache-$NAME,target=/root/.cache make\n\
         EXPOSE $PORT/tcp 443\n\
         USER ${NAME}\n\
         SHELL [\"/bin/bash\", \"-c\"]\n\
         RUN true\n",
    );
    let e = df.evaluate(0, &BTreeMap::new()).unwrap();
    let c = copy_kind(&e.steps[2].kind);
    assert_eq!(c.heredocs[0].body, "hello world \"quoted\" $HOME\n");
    assert_eq!(c.heredocs[1].body, "raw $NAME\n");
    let r = run_kind(&e.steps[3].kind);
    assert_eq!(r.mounts[0].id.as_deref(), Some("cache-world"));
    assert_eq!(
        run(&df.target_stage().instructions()[3]).mounts[0]
            .id
            .as_deref(),
        Some("cache-$NAME")
    );
    assert_eq!(
        e.steps[4].kind,
        InstructionKind::Expose(strings(&["8080/tcp", "443"]))
    );
    assert_eq!(e.steps[5].kind, InstructionKind::User("world".into()));
    let last = &e.steps[7];
    assert_eq!(last.user.as_deref(), Some("world"));
    assert_eq!(last.shell, strings(&["/bin/bash", "-c"]));
    assert_eq!(e.steps[0].shell, strings(&["/bin/sh", "-c"]));
    assert_eq!(last.index, 7);
    assert_eq!(last.span.first_line, 13);
}

// ------------------------------------------------------------- multi-stage

#[test]
fn stages_by_name_and_index() {
    let df = parse(
        "FROM golang:1.22 AS Build\n\
         RUN go build -o /out/app\n\
         FROM build AS test\n\
         RUN go test\n\
         FROM scratch\n\
         COPY --from=build /out/app /app\n\
         COPY --from=0 /out/app /app2\n\
         COPY --from=nginx:latest /etc/nginx/nginx.conf /nginx.conf\n\
         RUN --mount=from=test,target=/t true\n\
         FROM test\n",
    );
    let stages = df.stages();
    assert_eq!(stages.len(), 4);
    assert_eq!(stages[0].name(), Some("build"));
    assert_eq!(
        stages[0].base_ref(),
        Some(&BaseRef::Image("golang:1.22".into()))
    );
    assert_eq!(stages[1].base_ref(), Some(&BaseRef::Stage(0)));
    assert_eq!(stages[2].base_ref(), Some(&BaseRef::Scratch));
    assert_eq!(stages[2].name(), None);
    assert_eq!(stages[3].base_ref(), Some(&BaseRef::Stage(1)));
    assert_eq!(stages[2].span().first_line, 5);
    assert_eq!(stages[2].instructions().len(), 4);
    for (i, s) in stages.iter().enumerate() {
        assert_eq!(s.index(), i);
    }
    assert_eq!(
        df.stage_by_name_or_index("BUILD").map(Stage::index),
        Some(0)
    );
    assert_eq!(df.stage_by_name_or_index("1").map(Stage::index), Some(1));
    assert_eq!(df.stage_by_name_or_index("9").map(Stage::index), None);
    assert_eq!(df.stage_by_name_or_index("-1").map(Stage::index), None);
    assert_eq!(
        df.stage_by_name_or_index("nginx:latest").map(Stage::index),
        None
    );
    assert_eq!(df.target_stage().index(), 3);
    assert_eq!(
        copy(&stages[2].instructions()[2]).from.as_deref(),
        Some("nginx:latest")
    );
    let e = df.evaluate(3, &BTreeMap::new()).unwrap();
    assert_eq!(e.base, BaseRef::Stage(1));
    assert!(e.steps.is_empty());
    // A name used before its stage is defined is an image, as in BuildKit.
    let df = parse("FROM later\nFROM b AS later\n");
    assert_eq!(
        df.stages()[0].base_ref(),
        Some(&BaseRef::Image("later".into()))
    );
}

#[test]
fn stage_reference_errors() {
    assert_eq!(
        parse_err("FROM a\nCOPY --from=later /x /y\nFROM b AS later\n"),
        (
            2,
            13,
            "cannot copy from stage \"later\", it needs to be defined before current stage \"stage-0\""
                .into()
        )
    );
    assert_eq!(
        parse_err("FROM a AS me\nCOPY --from=me /x /y\n"),
        (
            2,
            13,
            "cannot copy from stage \"me\", it needs to be defined before current stage \"me\""
                .into()
        )
    );
    assert_eq!(
        parse_err("FROM a\nFROM b\nCOPY --from=5 /x /y\n"),
        (3, 13, "invalid stage index 5".into())
    );
    assert_eq!(
        parse_err("FROM a\nRUN --mount=from=1,target=/x true\nFROM b\n").2,
        "cannot copy from stage \"1\", it needs to be defined before current stage \"stage-0\""
    );
    assert_eq!(
        parse_err("FROM a AS 1st\n"),
        (
            1,
            11,
            "invalid name for build stage: \"1st\", name can't start with a number or contain symbols"
                .into()
        )
    );
    assert_eq!(
        parse_err("FROM a b\n"),
        (1, 6, "FROM requires either one or three arguments".into())
    );
    assert_eq!(
        parse_err("FROM a AS\n"),
        (1, 6, "FROM requires either one or three arguments".into())
    );
    assert_eq!(
        parse_err("FROM\n"),
        (1, 5, "FROM requires either one or three arguments".into())
    );
}

// ------------------------------------------------------------------ errors

#[test]
fn unknown_instruction_and_missing_from() {
    assert_eq!(
        parse_err("FROM a\n  FOO bar\n"),
        (2, 3, "unknown instruction: FOO".into())
    );
    assert_eq!(
        parse_err("FROM a\nRUNN x \\\n y\n"),
        (2, 1, "unknown instruction: RUNN".into())
    );
    let (line, col, reason) = parse_err("# comment\nARG A\n  RUN echo\nFROM a\n");
    assert_eq!((line, col), (3, 3));
    assert!(
        reason.contains("no build stage in current context"),
        "{reason}"
    );
    assert!(reason.contains("RUN"), "{reason}");
    let (line, _, reason) = parse_err("ARG A=1\nARG B\n");
    assert_eq!(line, 2);
    assert!(reason.contains("no FROM instruction"), "{reason}");
    assert_eq!(parse_err(""), (1, 1, "file with no instructions".into()));
    assert_eq!(
        parse_err("# only\n\n   # comments\n"),
        (3, 1, "file with no instructions".into())
    );
    let e = Dockerfile::parse_named("FROM a\nBAD x\n", "build/Dockerfile").unwrap_err();
    assert_eq!(
        e.to_string(),
        "build/Dockerfile:2:1: unknown instruction: BAD"
    );
}

#[test]
fn argument_count_errors() {
    let cases = [
        (
            "FROM a\nCOPY a\n",
            (2, 6),
            "COPY requires at least two arguments",
        ),
        (
            "FROM a\nADD\n",
            (2, 4),
            "ADD requires at least two arguments",
        ),
        (
            "FROM a\nWORKDIR\n",
            (2, 8),
            "WORKDIR requires exactly one argument",
        ),
        (
            "FROM a\nUSER\n",
            (2, 5),
            "USER requires exactly one argument",
        ),
        (
            "FROM a\nMAINTAINER\n",
            (2, 11),
            "MAINTAINER requires exactly one argument",
        ),
        (
            "FROM a\nSTOPSIGNAL\n",
            (2, 11),
            "STOPSIGNAL requires exactly one argument",
        ),
        (
            "FROM a\nEXPOSE\n",
            (2, 7),
            "EXPOSE requires at least one argument",
        ),
        (
            "FROM a\nVOLUME\n",
            (2, 7),
            "VOLUME requires at least one argument",
        ),
        (
            "FROM a\nSHELL\n",
            (2, 6),
            "SHELL requires at least one argument",
        ),
        (
            "FROM a\nHEALTHCHECK\n",
            (2, 12),
            "HEALTHCHECK requires at least one argument",
        ),
        (
            "FROM a\nONBUILD\n",
            (2, 8),
            "ONBUILD requires at least one argument",
        ),
    ];
    for (text, pos, reason) in cases {
        let (line, col, got) = parse_err(text);
        assert_eq!((line, col), pos, "{text:?}: {got}");
        assert!(got.starts_with(reason), "{text:?}: {got}");
    }
}

// ------------------------------------------------------------------ ONBUILD

#[test]
fn onbuild_triggers_and_forbidden_ones() {
    let df = parse("FROM a\nONBUILD COPY --chown=x . /app\nonbuild run echo hi\n");
    let i = df.target_stage().instructions();
    let InstructionKind::Onbuild(trigger) = &i[0].kind else {
        panic!()
    };
    assert_eq!(trigger.keyword, K::Copy);
    assert_eq!(trigger.original, "COPY --chown=x . /app");
    assert_eq!(copy(trigger).chown.as_deref(), Some("x"));
    assert_eq!(trigger.span, i[0].span);
    let InstructionKind::Onbuild(trigger) = &i[1].kind else {
        panic!()
    };
    assert_eq!(run(trigger).form, shell("echo hi"));

    assert_eq!(
        parse_err("FROM a\nONBUILD ONBUILD RUN x\n"),
        (
            2,
            9,
            "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed".into()
        )
    );
    assert_eq!(
        parse_err("FROM a\nONBUILD from b\n"),
        (2, 9, "FROM isn't allowed as an ONBUILD trigger".into())
    );
    assert_eq!(
        parse_err("FROM a\nONBUILD MAINTAINER me\n"),
        (
            2,
            9,
            "MAINTAINER isn't allowed as an ONBUILD trigger".into()
        )
    );
    assert_eq!(
        parse_err("FROM a\nONBUILD BOGUS x\n"),
        (2, 9, "unknown instruction: BOGUS".into())
    );
    assert_eq!(
        parse_err("FROM a\nONBUILD COPY --bad=1 a b\n"),
        (2, 14, "unknown flag: bad".into())
    );
    // A trigger names stages of the downstream build: no check against this file.
    parse("FROM a\nONBUILD COPY --from=later /x /y\n");
    // Triggers are not expanded by evaluation.
    let df = parse("FROM a\nARG X=1\nONBUILD RUN echo $X\n");
    let e = df.evaluate(0, &BTreeMap::new()).unwrap();
    assert_eq!(e.steps[1].kind, df.target_stage().instructions()[1].kind);
}

// ------------------------------------------------------------- HEALTHCHECK

#[test]
fn healthcheck_forms_and_errors() {
    let df = parse(
        "FROM a\n\
         HEALTHCHECK --interval=1m30s --timeout=500ms --start-period=2s --start-interval=0s --retries=3 CMD [\"curl\", \"-f\", \"http://x/\"]\n\
         HEALTHCHECK CMD curl -f http://x/ || exit 1\n\
         HEALTHCHECK none\n",
    );
    let i = df.target_stage().instructions();
    assert_eq!(
        i[0].kind,
        InstructionKind::Healthcheck(Healthcheck::Cmd {
            form: exec(&["curl", "-f", "http://x/"]),
            interval: Some(Duration::from_secs(90)),
            timeout: Some(Duration::from_millis(500)),
            start_period: Some(Duration::from_secs(2)),
            start_interval: None,
            retries: Some(3),
        })
    );
    assert_eq!(
        i[1].kind,
        InstructionKind::Healthcheck(Healthcheck::Cmd {
            form: shell("curl -f http://x/ || exit 1"),
            interval: None,
            timeout: None,
            start_period: None,
            start_interval: None,
            retries: None,
        })
    );
    assert_eq!(i[2].kind, InstructionKind::Healthcheck(Healthcheck::None));
    let cases = [
        (
            "HEALTHCHECK --interval=5 CMD x",
            "time: missing unit in duration \"5\"",
        ),
        (
            "HEALTHCHECK --interval=1.5.s CMD x",
            "time: invalid duration \"1.5.s\"",
        ),
        (
            "HEALTHCHECK --timeout=3x CMD x",
            "time: unknown unit \"x\" in duration \"3x\"",
        ),
        (
            "HEALTHCHECK --interval=10us CMD x",
            "Interval \"interval\" cannot be less than 1ms",
        ),
        (
            "HEALTHCHECK --timeout=-1s CMD x",
            "Interval \"timeout\" cannot be less than 1ms",
        ),
        (
            "HEALTHCHECK --retries=-1 CMD x",
            "--retries cannot be negative (-1)",
        ),
        (
            "HEALTHCHECK --retries=many CMD x",
            "strconv.ParseInt: parsing \"many\": invalid syntax",
        ),
        ("HEALTHCHECK CMD", "Missing command after HEALTHCHECK CMD"),
        (
            "HEALTHCHECK FOO x",
            "Unknown type \"FOO\" in HEALTHCHECK (try CMD)",
        ),
        ("HEALTHCHECK NONE x", "HEALTHCHECK NONE takes no arguments"),
        ("HEALTHCHECK --bogus=1 CMD x", "unknown flag: bogus"),
    ];
    for (line, reason) in cases {
        let (l, _, got) = parse_err(&format!("FROM a\n{line}\n"));
        assert_eq!((l, got.as_str()), (2, reason), "{line}");
    }
}

// ------------------------------------------------------- every instruction

#[test]
fn every_instruction() {
    let df = parse(
        "FROM alpine:3.20 AS base\n\
         RUN apk add curl\n\
         CMD [\"curl\"]\n\
         LABEL a=b\n\
         MAINTAINER someone <x@example.com>\n\
         EXPOSE 80/tcp 443\n\
         ENV K=V\n\
         ADD a.tar /\n\
         COPY b /b\n\
         ENTRYPOINT exec curl\n\
         VOLUME /data /logs\n\
         USER 1000:1000\n\
         WORKDIR /w x\n\
         ARG X\n\
         ONBUILD RUN echo\n\
         STOPSIGNAL SIGKILL\n\
         HEALTHCHECK NONE\n\
         SHELL [\"/bin/ash\", \"-c\"]\n",
    );
    let got: Vec<_> = df
        .instructions()
        .map(|i| (i.keyword, i.span.first_line))
        .collect();
    let want: Vec<_> = [
        K::From,
        K::Run,
        K::Cmd,
        K::Label,
        K::Maintainer,
        K::Expose,
        K::Env,
        K::Add,
        K::Copy,
        K::Entrypoint,
        K::Volume,
        K::User,
        K::Workdir,
        K::Arg,
        K::Onbuild,
        K::Stopsignal,
        K::Healthcheck,
        K::Shell,
    ]
    .into_iter()
    .zip(1..)
    .collect();
    assert_eq!(got, want);
    let mut covered: Vec<_> = got.iter().map(|(k, _)| *k).collect();
    covered.sort();
    let mut all = Keyword::ALL.to_vec();
    all.sort();
    assert_eq!(covered, all);
    for inst in df.instructions() {
        assert_eq!(inst.kind.keyword(), inst.keyword);
    }
    let i = df.target_stage().instructions();
    assert_eq!(
        i[3].kind,
        InstructionKind::Maintainer("someone <x@example.com>".into())
    );
    assert_eq!(
        i[4].kind,
        InstructionKind::Expose(strings(&["80/tcp", "443"]))
    );
    // WORKDIR, USER, STOPSIGNAL take the rest of the line as one value.
    assert_eq!(i[11].kind, InstructionKind::Workdir("/w x".into()));
    assert_eq!(i[10].kind, InstructionKind::User("1000:1000".into()));
    assert_eq!(i[14].kind, InstructionKind::StopSignal("SIGKILL".into()));
    assert_eq!(
        df.stages()[0].from_instruction().kind,
        InstructionKind::From {
            base: "alpine:3.20".into(),
            name: Some("base".into()),
            platform: None
        }
    );
    for k in Keyword::ALL {
        assert_eq!(Keyword::from_word(&k.as_str().to_lowercase()), Some(k));
        assert_eq!(k.to_string(), k.as_str());
    }
    assert_eq!(Keyword::from_word("RUNS"), None);
    let json = serde_json::to_value(&df).unwrap();
    assert_eq!(json["stages"][0]["instructions"][0]["keyword"], "RUN");
    assert_eq!(
        json["stages"][0]["instructions"][0]["span"]["first_line"],
        2
    );
}

#[test]
fn spans_file_names_and_snippets() {
    let df =
        Dockerfile::parse_named("ARG V=1\nFROM a\nRUN one \\\n  two\n", "app/Dockerfile").unwrap();
    assert_eq!(df.file_name(), "app/Dockerfile");
    assert_eq!(
        spans(&df),
        [(K::Arg, 1, 1), (K::From, 2, 2), (K::Run, 3, 4)]
    );
    let run_span = &df.target_stage().instructions()[0].span;
    assert_eq!(run_span.file, "app/Dockerfile");
    assert_eq!(run_span.to_string(), "app/Dockerfile:3-4");
    assert_eq!(df.stages()[0].span().to_string(), "app/Dockerfile:2");
    assert_eq!(df.snippet(run_span), "RUN one \\\n  two");
    assert_eq!(
        df.global_args()[0].kind,
        InstructionKind::Arg(opt(&[("V", Some("1"))]))
    );
    assert_eq!(Dockerfile::parse("FROM a").unwrap().file_name(), "<memory>");
    // An indented directive is still a directive.
    let df = parse("  # escape=`\nFROM a\nRUN a `\n b\n");
    assert_eq!(df.directives().escape, '`');
    assert_eq!(spans(&df)[1], (K::Run, 3, 4));
}

#[test]
fn evaluation_state_is_inherited_and_quotes_suppress_expansion() {
    let df = parse(
        "FROM a AS base\n\
         WORKDIR /app\n\
         USER builder\n\
         SHELL [\"/bin/bash\", \"-c\"]\n\
         ENV E=1\n\
         ARG A=$E\n\
         ENV S='$E' D=\"$E\" X=\\$E Y=a\\ b\n\
         FROM base\n\
         WORKDIR ../srv\n\
         RUN --device=/dev/fuse true\n",
    );
    let base = df.evaluate(0, &BTreeMap::new()).unwrap();
    assert_eq!(
        base.steps[4].kind,
        InstructionKind::Arg(opt(&[("A", Some("1"))]))
    );
    assert_eq!(
        base.steps[5].kind,
        InstructionKind::Env(owned(&[("S", "$E"), ("D", "1"), ("X", "$E"), ("Y", "a b")]))
    );
    let child = df.evaluate(1, &BTreeMap::new()).unwrap();
    let last = &child.steps[1];
    assert_eq!(last.workdir, "/srv");
    assert_eq!(last.user.as_deref(), Some("builder"));
    assert_eq!(last.shell, strings(&["/bin/bash", "-c"]));
    assert_eq!(last.args, opt(&[("A", Some("1"))]));
    assert_eq!(run_kind(&last.kind).devices, strings(&["/dev/fuse"]));
    assert_eq!(MountType::Cache.as_str(), "cache");
    let (line, reason) = eval_err(&parse("FROM a\nWORKDIR $NOTHING\n"), 0, &BTreeMap::new());
    assert_eq!(line, 2);
    assert!(reason.contains("cannot normalize nothing"), "{reason}");
}

/// The evaluator that keeps each stage's end state gives, in any order and with a warm
/// cache, what a fresh evaluation of each stage gives (a new evaluator that runs the
/// stage's chain from its root without recording it).
#[test]
fn evaluator_with_kept_parent_states_matches_fresh_evaluations() {
    let mut text = String::from("ARG G=g\nFROM scratch AS s0\nARG G\nENV E0=$G\nWORKDIR /w0\n");
    for i in 1..40 {
        // A chain, with a branch every fifth stage back to an earlier one and a stage name
        // used twice (a later FROM refers to the last earlier stage of that name).
        let parent = if i % 5 == 0 { i / 2 } else { i - 1 };
        text.push_str(&format!(
            "FROM s{parent} AS s{i}\nARG A{i}=$E{parent}-{i}\nENV E{i}=${{A{i}}}x\nWORKDIR w{i}\nRUN echo $E{i}\n"
        ));
    }
    text.push_str("FROM s39 AS s1\nUSER u\nFROM s1\nCOPY --from=s1 /a /b\n");
    let df = parse(&text);
    let build_args = args(&[("G", "v"), ("A7", "seven")]);
    let fresh: Vec<_> = (0..df.stages().len())
        .map(|s| df.evaluate(s, &build_args).unwrap())
        .collect();
    let mut orders: Vec<Vec<usize>> = vec![
        (0..df.stages().len()).collect(),
        (0..df.stages().len()).rev().collect(),
    ];
    orders.push(
        (0..df.stages().len())
            .map(|i| (i * 17) % df.stages().len())
            .collect(),
    );
    for order in orders {
        let mut ev = df.evaluator(&build_args).unwrap();
        for s in order {
            assert_eq!(ev.evaluate(s).unwrap(), fresh[s], "stage {s}");
        }
    }
    // Spot checks worked out by hand: s7's ARG takes the build argument, s8 sees it through E7.
    let s8 = &fresh[8].steps;
    assert_eq!(
        s8[1].kind,
        InstructionKind::Env(owned(&[("E8", "sevenx-8x")]))
    );
    // s8's chain is 0, 1, 2, 5 (built on s2), 6, 7.
    assert_eq!(s8[2].workdir, "/w0/w1/w2/w5/w6/w7");
    assert_eq!(s8[3].workdir, "/w0/w1/w2/w5/w6/w7/w8");
    assert_eq!(
        fresh[0].steps[1].kind,
        InstructionKind::Env(owned(&[("E0", "v")]))
    );
    // The last stage is built on the second `s1` (stage 40), whose USER it inherits.
    assert_eq!(fresh[41].base, BaseRef::Stage(40));
    assert_eq!(fresh[41].steps[0].user.as_deref(), Some("u"));
}

// ------------------------------------------------------- real Dockerfiles

/// `fixtures/real/busybox-base/Dockerfile`, verbatim.
const BUSYBOX_BASE: &str = r##"FROM scratch
ADD rootfs.tar /
CMD ["/bin/sh"]
"##;

/// `fixtures/real/node-bad/Dockerfile`, verbatim.
const NODE_BAD: &str = r##"FROM localhost/busybox-base
WORKDIR /usr/src/app
# BAD: any source edit invalidates the dependency install below
COPY . .
RUN sh tools/fake-npm-install.sh
EXPOSE 3000
CMD ["node", "index.js"]
"##;

/// `fixtures/real/node-good/Dockerfile`, verbatim.
const NODE_GOOD: &str = r##"FROM localhost/busybox-base
WORKDIR /usr/src/app
COPY package.json ./
COPY tools/ ./tools/
RUN sh tools/fake-npm-install.sh && rm -rf /root/.npm
COPY . .
EXPOSE 3000
CMD ["node", "index.js"]
"##;

/// `fixtures/real/nonroot/Dockerfile`, verbatim.
const NONROOT: &str = r##"FROM localhost/busybox-base
LABEL org.opencontainers.image.title="nonroot-demo"
ARG APP_VERSION=1.2.3
ENV APP_HOME=/srv APP_VERSION=${APP_VERSION}
# Debian's busybox-static has no adduser/addgroup: edit passwd/group directly
RUN echo 'app:x:10001:10001:app:/home/app:/bin/sh' >> /etc/passwd \
 && echo 'app:x:10001:' >> /etc/group && mkdir -p /home/app && chown 10001:10001 /home/app
WORKDIR /srv/www
COPY --chown=10001:10001 index.html ./
ADD server.sh /usr/local/bin/server.sh
RUN chmod 0755 /usr/local/bin/server.sh
SHELL ["/bin/sh", "-ec"]
VOLUME ["/srv/data"]
USER app:app
EXPOSE 8080/tcp
EXPOSE 9090/udp
HEALTHCHECK --interval=30s --timeout=3s CMD wget -q -O- http://127.0.0.1:8080/ || exit 1
STOPSIGNAL SIGTERM
ONBUILD RUN echo child build
ENTRYPOINT ["/usr/local/bin/server.sh"]
CMD ["--verbose"]
"##;

/// `fixtures/real/overwrite-opaque/Dockerfile`, verbatim.
const OVERWRITE_OPAQUE: &str = r##"FROM localhost/busybox-base
RUN mkdir -p /etc/app/conf.d /data \
 && echo v1 > /etc/app/config.txt \
 && echo x > /etc/app/conf.d/old1.conf && echo y > /etc/app/conf.d/old2.conf \
 && dd if=/dev/urandom of=/data/blob.bin bs=1k count=512 2>/dev/null \
 && dd if=/dev/zero of=/data/big.bin bs=1k count=1024 2>/dev/null
# overwrite a file from a lower layer (old 3-byte copy becomes shadowed)
RUN echo v2-overwritten-config > /etc/app/config.txt
# replace a whole directory -> opaque whiteout (.wh..wh..opq) with the overlay driver
RUN rm -rf /etc/app/conf.d && mkdir /etc/app/conf.d && echo new > /etc/app/conf.d/new.conf
# delete a file from a lower layer -> .wh.blob.bin (512 KiB wasted)
RUN rm /data/blob.bin
# overwrite a 1 MiB file with a 1 MiB file (1 MiB shadowed)
RUN dd if=/dev/zero of=/data/big.bin bs=1k count=1024 2>/dev/null
COPY conf.d/ /etc/app/conf.d/
CMD ["cat", "/etc/app/config.txt"]
"##;

#[test]
fn real_busybox_base() {
    let df = parse(BUSYBOX_BASE);
    assert_eq!(
        spans(&df),
        [(K::From, 1, 1), (K::Add, 2, 2), (K::Cmd, 3, 3)]
    );
    assert_eq!(df.target_stage().base_ref(), Some(&BaseRef::Scratch));
    let i = df.target_stage().instructions();
    assert_eq!(copy(&i[0]).sources, strings(&["rootfs.tar"]));
    assert_eq!(copy(&i[0]).dest, "/");
    assert_eq!(i[1].kind, InstructionKind::Cmd(exec(&["/bin/sh"])));
}

#[test]
fn real_node_bad() {
    let df = parse(NODE_BAD);
    assert_eq!(
        spans(&df),
        [
            (K::From, 1, 1),
            (K::Workdir, 2, 2),
            (K::Copy, 4, 4),
            (K::Run, 5, 5),
            (K::Expose, 6, 6),
            (K::Cmd, 7, 7)
        ]
    );
    assert_eq!(
        df.target_stage().base_ref(),
        Some(&BaseRef::Image("localhost/busybox-base".into()))
    );
    let e = df.evaluate(0, &BTreeMap::new()).unwrap();
    assert_eq!(e.steps[2].workdir, "/usr/src/app");
    assert_eq!(
        run_kind(&e.steps[2].kind).form,
        shell("sh tools/fake-npm-install.sh")
    );
}

#[test]
fn real_node_good() {
    let df = parse(NODE_GOOD);
    assert_eq!(
        spans(&df),
        [
            (K::From, 1, 1),
            (K::Workdir, 2, 2),
            (K::Copy, 3, 3),
            (K::Copy, 4, 4),
            (K::Run, 5, 5),
            (K::Copy, 6, 6),
            (K::Expose, 7, 7),
            (K::Cmd, 8, 8)
        ]
    );
    let i = df.target_stage().instructions();
    assert_eq!(copy(&i[1]).sources, strings(&["package.json"]));
    assert_eq!(copy(&i[2]).dest, "./tools/");
    assert_eq!(i[6].kind, InstructionKind::Cmd(exec(&["node", "index.js"])));
}

#[test]
fn real_nonroot() {
    let df = parse(NONROOT);
    assert_eq!(
        spans(&df),
        [
            (K::From, 1, 1),
            (K::Label, 2, 2),
            (K::Arg, 3, 3),
            (K::Env, 4, 4),
            (K::Run, 6, 7),
            (K::Workdir, 8, 8),
            (K::Copy, 9, 9),
            (K::Add, 10, 10),
            (K::Run, 11, 11),
            (K::Shell, 12, 12),
            (K::Volume, 13, 13),
            (K::User, 14, 14),
            (K::Expose, 15, 15),
            (K::Expose, 16, 16),
            (K::Healthcheck, 17, 17),
            (K::Stopsignal, 18, 18),
            (K::Onbuild, 19, 19),
            (K::Entrypoint, 20, 20),
            (K::Cmd, 21, 21)
        ]
    );
    let stage = df.target_stage();
    let i = stage.instructions();
    assert_eq!(
        run(&i[3]).form,
        shell(
            "echo 'app:x:10001:10001:app:/home/app:/bin/sh' >> /etc/passwd  && echo 'app:x:10001:' >> /etc/group && mkdir -p /home/app && chown 10001:10001 /home/app"
        )
    );
    assert_eq!(copy(&i[5]).chown.as_deref(), Some("10001:10001"));
    assert_eq!(
        i[13].kind,
        InstructionKind::Healthcheck(Healthcheck::Cmd {
            form: shell("wget -q -O- http://127.0.0.1:8080/ || exit 1"),
            interval: Some(Duration::from_secs(30)),
            timeout: Some(Duration::from_secs(3)),
            start_period: None,
            start_interval: None,
            retries: None,
        })
    );
    assert_eq!(
        df.snippet(&i[3].span),
        "RUN echo 'app:x:10001:10001:app:/home/app:/bin/sh' >> /etc/passwd \\\n \
         && echo 'app:x:10001:' >> /etc/group && mkdir -p /home/app && chown 10001:10001 /home/app"
    );
    let e = df.evaluate(0, &args(&[("APP_VERSION", "9.9")])).unwrap();
    assert_eq!(
        e.steps[2].kind,
        InstructionKind::Env(owned(&[("APP_HOME", "/srv"), ("APP_VERSION", "9.9")]))
    );
    assert_eq!(
        e.steps[0].kind,
        InstructionKind::Label(owned(&[("org.opencontainers.image.title", "nonroot-demo")]))
    );
    assert_eq!(
        e.steps[1].kind,
        InstructionKind::Arg(opt(&[("APP_VERSION", Some("9.9"))]))
    );
    // The RUN after the ARG carries it (ENV set the same value).
    assert_eq!(e.steps[3].args, opt(&[("APP_VERSION", Some("9.9"))]));
    assert_eq!(e.steps[8].shell, strings(&["/bin/sh", "-c"]));
    assert_eq!(e.steps[9].shell, strings(&["/bin/sh", "-ec"]));
    assert_eq!(e.steps[17].user.as_deref(), Some("app:app"));
    assert_eq!(e.steps[17].workdir, "/srv/www");
    assert_eq!(e.steps.len(), 18);
}

#[test]
fn real_overwrite_opaque() {
    let df = parse(OVERWRITE_OPAQUE);
    assert_eq!(
        spans(&df),
        [
            (K::From, 1, 1),
            (K::Run, 2, 6),
            (K::Run, 8, 8),
            (K::Run, 10, 10),
            (K::Run, 12, 12),
            (K::Run, 14, 14),
            (K::Copy, 15, 15),
            (K::Cmd, 16, 16)
        ]
    );
    let i = df.target_stage().instructions();
    let CommandForm::Shell(text) = &run(&i[0]).form else {
        panic!()
    };
    assert!(text.starts_with("mkdir -p /etc/app/conf.d /data  && echo v1"));
    assert!(text.ends_with("count=1024 2>/dev/null"));
    assert!(!text.contains('\\'));
}

// ------------------------------------------------------------------ proptest

const TOKENS: &[&str] = &[
    "FROM",
    "from",
    "RUN",
    "COPY",
    "ADD",
    "ARG",
    "ENV",
    "LABEL",
    "ONBUILD",
    "HEALTHCHECK",
    "CMD",
    "ENTRYPOINT",
    "SHELL",
    "WORKDIR",
    "USER",
    "EXPOSE",
    "VOLUME",
    "STOPSIGNAL",
    "MAINTAINER",
    "NONE",
    "AS",
    "as",
    "scratch",
    "alpine",
    "x",
    "a=b",
    "=",
    "<<EOF",
    "<<-EOF",
    "<<'EOF'",
    "2<<EOF",
    "EOF",
    "\tEOF",
    "\\",
    "`",
    "#",
    "# escape=`",
    "# syntax=x",
    "# check=skip=all",
    "--mount=type=cache,target=/x",
    "--mount=type=secret",
    "--mount=",
    "--from=0",
    "--from=x",
    "--chown=a",
    "--link",
    "--link=maybe",
    "--exclude=*",
    "--network=none",
    "--interval=5s",
    "--retries=1",
    "--",
    "--platform=$P",
    "${a:-b}",
    "${a",
    "${a:?}",
    "$a",
    "${a//b/c}",
    "${a#*}",
    "${a%%\\*}",
    "${",
    "'",
    "\"",
    "[",
    "]",
    "[\"a\"]",
    "[1]",
    ",",
    "é",
    "\t",
    "\r",
    " ",
    "CMD",
    "0",
    "-1",
    "../",
    "/dst/",
];

fn token_line() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(TOKENS), 0..10).prop_map(|t| t.join(" "))
}

fn token_file() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(token_line(), 0..14),
        prop::sample::select(&["\n", "\r\n", " \\\n", "\n\n"][..]),
    )
        .prop_map(|(lines, sep)| lines.join(sep))
}

/// Parsing (and evaluating what parses) must not panic; errors must carry a position.
fn exercise(text: &str) {
    match Dockerfile::parse(text) {
        Ok(df) => {
            for stage in df.stages() {
                let _ = df.evaluate(stage.index(), &BTreeMap::new());
                let _ = df.evaluate(stage.index(), &args(&[("a", "v"), ("P", "linux/amd64")]));
            }
            for inst in df.instructions() {
                assert!(inst.span.first_line >= 1 && inst.span.first_line <= inst.span.last_line);
                assert!(inst.span.last_line <= df.lines().len());
                let _ = df.snippet(&inst.span);
            }
            let _ = df.stage_by_name_or_index("0");
            let _ = serde_json::to_string(&df);
        }
        Err(Error::Dockerfile { line, column, .. }) => {
            assert!(line >= 1 && column >= 1);
            assert!(
                line <= text.split('\n').count().max(1),
                "line {line} past the end"
            );
        }
        Err(other) => panic!("unexpected error kind: {other}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        exercise(&text);
    }

    #[test]
    fn printable_text_never_panics(text in "(\\PC|\n|\t|\\\\|`){0,300}") {
        exercise(&text);
    }

    #[test]
    fn dockerfile_like_lines_never_panic(body in token_file(), prefix in token_line()) {
        exercise(&body);
        exercise(&format!("FROM {prefix}\n{body}"));
        exercise(&format!("FROM a\n{body}\n"));
    }

    #[test]
    fn expansion_never_panics(word in "(\\$|\\{|\\}|:|-|\\+|\\?|#|%|/|\\*|\\\\|'|\"|a|b|x| ){0,40}") {
        let lookup = |k: &str| (k == "a").then(|| "a*b/x".to_string());
        let _ = expand(&word, lookup);
        let _ = expand_with_escape(&word, '`', lookup);
    }
}
