//! Best-effort placement of layers on Dockerfile lines, from each layer's history
//! `created_by` text searched among the target stage's instructions. It is enough to put a
//! gate result on the line that made the layer; the precise history-to-line mapping (build
//! args, multi-stage copies, squashed builds) belongs to attribution.

use crate::dockerfile::{CommandForm, Dockerfile, Instruction, InstructionKind, Keyword};

/// What a history `created_by` says about the instruction that wrote it.
#[derive(Debug, PartialEq)]
enum Made {
    /// A `RUN`: its shell command.
    Run(String),
    /// Another instruction as the builder recorded it (`COPY file:<hash> in ./`,
    /// `COPY . .`, `WORKDIR /app`).
    Other(String),
}

/// Read a `created_by` as the classic builder, buildah, BuildKit and kaniko write it (the
/// attribution module's reader).
fn parse_created_by(created_by: &str) -> Made {
    let h = crate::attribution::parse_created_by(created_by);
    if h.keyword == "RUN" {
        Made::Run(h.text)
    } else {
        Made::Other(format!("{} {}", h.keyword, h.text))
    }
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `./tools/` and `./tools` name one destination.
fn loose_dest(d: &str) -> &str {
    if d.len() > 1 {
        d.trim_end_matches('/')
    } else {
        d
    }
}

/// Does the instruction match? `loose` also accepts a COPY/ADD destination that differs
/// only by a trailing slash.
fn matches(made: &Made, instruction: &Instruction, loose: bool) -> bool {
    match (made, &instruction.kind) {
        (Made::Run(cmd), InstructionKind::Run(args)) => {
            let written = match &args.form {
                CommandForm::Shell(text) => text.clone(),
                CommandForm::Exec(argv) => argv.join(" "),
            };
            let (cmd, written) = (collapse(cmd), collapse(&written));
            cmd == written || (loose && collapse(&instruction.original).ends_with(&cmd))
        }
        (Made::Other(text), kind) => {
            let mut words = text.split_whitespace();
            let Some(keyword) = words.next().and_then(Keyword::from_word) else {
                return false;
            };
            if keyword != kind.keyword() {
                return false;
            }
            if collapse(text) == collapse(&instruction.original) {
                return true;
            }
            // The classic builder and buildah write `COPY file:<hash> in <dest>`.
            let (InstructionKind::Copy(args) | InstructionKind::Add(args)) = kind else {
                return false;
            };
            let Some(dest) = text.rsplit_once(" in ").map(|(_, d)| d.trim()) else {
                return false;
            };
            dest == args.dest || (loose && loose_dest(dest) == loose_dest(&args.dest))
        }
        _ => false,
    }
}

/// For each layer (its `created_by` and whether it belongs to the base image), the 1-based
/// line of the target stage's instruction that made it, if found. Layers keep their order:
/// exact matches are placed first, each after the previous one (so that two `COPY ... ./`
/// stay in order); then a layer left over may match loosely, but only between the exact
/// matches around it, so a loose match never takes an instruction another layer fits exactly.
pub(crate) fn locate_layers(
    layers: &[(Option<&str>, bool)],
    dockerfile: &Dockerfile,
) -> Vec<Option<usize>> {
    let instructions = dockerfile.target_stage().instructions();
    let made: Vec<Option<Made>> = layers
        .iter()
        .map(|(created_by, base)| {
            if *base {
                None
            } else {
                created_by.map(parse_created_by)
            }
        })
        .collect();
    let find = |made: &Made, from: usize, to: usize, loose: bool| {
        (from..to).find(|&k| instructions.get(k).is_some_and(|i| matches(made, i, loose)))
    };
    let mut at: Vec<Option<usize>> = vec![None; made.len()];
    let mut cursor = 0;
    for (slot, m) in at.iter_mut().zip(&made) {
        if let Some(m) = m
            && let Some(k) = find(m, cursor, instructions.len(), false)
        {
            *slot = Some(k);
            cursor = k + 1;
        }
    }
    for i in 0..made.len() {
        let (Some(None), Some(Some(m))) = (at.get(i), made.get(i)) else {
            continue;
        };
        let before = at.get(..i).unwrap_or(&[]);
        let after = at.get(i + 1..).unwrap_or(&[]);
        let from = before.iter().rev().find_map(|k| *k).map_or(0, |k| k + 1);
        let to = after.iter().find_map(|k| *k).unwrap_or(instructions.len());
        if let Some(k) = find(m, from, to, true)
            && let Some(slot) = at.get_mut(i)
        {
            *slot = Some(k);
        }
    }
    at.into_iter()
        .map(|k| {
            k.and_then(|k| instructions.get(k))
                .map(|i| i.span.first_line)
        })
        .collect()
}

/// The line image-wide results are placed on: the target stage's `FROM`.
pub(crate) fn image_line(dockerfile: &Dockerfile) -> usize {
    dockerfile.target_stage().from_instruction().span.first_line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_by_forms() {
        assert_eq!(
            parse_created_by("/bin/sh -c #(nop) COPY file:abc in ./ "),
            Made::Other("COPY file:abc in ./".into())
        );
        assert_eq!(
            parse_created_by("/bin/sh -c sh x.sh && rm -rf /r"),
            Made::Run("sh x.sh && rm -rf /r".into())
        );
        assert_eq!(
            parse_created_by("RUN |1 V=2 /bin/sh -c make # buildkit"),
            Made::Run("make".into())
        );
        assert_eq!(
            parse_created_by("COPY . . # buildkit"),
            Made::Other("COPY . .".into())
        );
    }

    #[test]
    fn layers_on_lines_in_order() {
        let df = Dockerfile::parse(
            "FROM base\nWORKDIR /app\nCOPY package.json ./\nCOPY tools/ ./tools/\nRUN sh a.sh \\\n  && rm -rf /x\nCOPY . .\nCMD [\"x\"]\n",
        )
        .unwrap();
        let layers = [
            (Some("/bin/sh -c #(nop) ADD file:aa in / "), true),
            (Some("/bin/sh -c #(nop) COPY file:bb in ./ "), false),
            (Some("/bin/sh -c #(nop) COPY dir:cc in ./tools/ "), false),
            (Some("/bin/sh -c sh a.sh   && rm -rf /x"), false),
            (Some("/bin/sh -c #(nop) COPY dir:dd in . "), false),
            (Some("RUN /bin/sh -c not-in-the-file # buildkit"), false),
            (None, false),
        ];
        assert_eq!(
            locate_layers(&layers, &df),
            vec![None, Some(3), Some(4), Some(5), Some(7), None, None]
        );
        assert_eq!(image_line(&df), 1);
        // BuildKit's created_by is the instruction itself.
        let bk = [(Some("COPY . . # buildkit"), false)];
        assert_eq!(locate_layers(&bk, &df), vec![Some(7)]);
        // `in ./` fits `COPY . .` only loosely; the exact `in .` layer after it keeps line 7.
        let loose = [
            (Some("/bin/sh -c #(nop) COPY file:bb in ./ "), false),
            (Some("/bin/sh -c #(nop) COPY dir:dd in . "), false),
        ];
        let only_copy_all = Dockerfile::parse("FROM b\nWORKDIR /app\nCOPY . .\n").unwrap();
        assert_eq!(locate_layers(&loose, &only_copy_all), vec![None, Some(3)]);
        assert_eq!(locate_layers(&loose[..1], &only_copy_all), vec![Some(3)]);
    }
}
