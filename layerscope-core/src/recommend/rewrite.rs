//! Text rewrites of the Dockerfile that cache findings propose: each takes the file's lines
//! and returns the whole new text (one trailing newline), leaving every line it does not move
//! or edit as it was, comments and continuations included. The caller parses the result
//! again and simulates it before proposing it.

/// Lines `[first, last)` (0-based, end exclusive) of an instruction with 1-based `span`
/// lines `first_line..=last_line`.
pub(super) fn line_range(span: &crate::dockerfile::Span) -> (usize, usize) {
    (span.first_line.saturating_sub(1), span.last_line)
}

fn join(lines: impl IntoIterator<Item = String>) -> String {
    let mut text = lines.into_iter().collect::<Vec<_>>().join("\n");
    text.push('\n');
    text
}

fn owned<'l>(
    lines: &'l [&str],
    range: std::ops::Range<usize>,
) -> impl Iterator<Item = String> + 'l {
    lines
        .get(range)
        .unwrap_or(&[])
        .iter()
        .map(|s| s.to_string())
}

/// split-dependency-copy: the COPY at lines `copy` is preceded by COPYs of the `early` files
/// (manifests and files the install names) into `dest`, then the install RUN at lines `run`
/// moves above the broad COPY, and the steps that stood between them follow it. `None` when
/// the RUN does not come after the COPY within the file.
pub(super) fn split_copy(
    lines: &[&str],
    copy: (usize, usize),
    run: (usize, usize),
    early: &[String],
    dest: &str,
) -> Option<String> {
    let ((c0, c1), (r0, r1)) = (copy, run);
    if c1 > r0 || r1 > lines.len() {
        return None;
    }
    let dest_dir = if dest.ends_with('/') {
        dest.to_string()
    } else {
        format!("{dest}/")
    };
    let mut out: Vec<String> = owned(lines, 0..c0).collect();
    out.push(
        "# Dependency manifests first: the install below stays cached until they change.".into(),
    );
    let top: Vec<&str> = early
        .iter()
        .filter(|p| !p.contains('/'))
        .map(String::as_str)
        .collect();
    if !top.is_empty() {
        out.push(format!("COPY {} {dest_dir}", top.join(" ")));
    }
    for p in early.iter().filter(|p| p.contains('/')) {
        let parent = p.rsplit_once('/').map_or("", |(d, _)| d);
        out.push(format!("COPY {p} {dest_dir}{parent}/"));
    }
    out.extend(owned(lines, r0..r1));
    out.extend(owned(lines, c0..c1));
    out.extend(owned(lines, c1..r0));
    out.extend(owned(lines, r1..lines.len()));
    Some(join(out))
}

/// use-copy-link: `--link` inserted after the `COPY` keyword on 0-based line `index`. `None`
/// when that line has no `COPY`.
pub(super) fn add_link(lines: &[String], index: usize) -> Option<String> {
    let mut lines = lines.to_vec();
    let l = lines.get_mut(index)?;
    let pos = l.to_ascii_uppercase().find("COPY")?;
    l.insert_str(pos + 4, " --link");
    Some(lines.join("\n") + "\n")
}

/// reorder-for-cache: the instruction at lines `b` moves above the one at lines `a` (`a`
/// before `b`, the lines between them stay between). `None` when they are out of order or
/// outside the file.
pub(super) fn move_above(lines: &[&str], a: (usize, usize), b: (usize, usize)) -> Option<String> {
    let ((a0, a1), (b0, b1)) = (a, b);
    if a1 > b0 || b1 > lines.len() {
        return None;
    }
    let mut out: Vec<&str> = lines.get(..a0).unwrap_or(&[]).to_vec();
    out.extend(lines.get(b0..b1).unwrap_or(&[]));
    out.extend(lines.get(a1..b0).unwrap_or(&[]));
    out.extend(lines.get(a0..a1).unwrap_or(&[]));
    out.extend(lines.get(b1..).unwrap_or(&[]));
    Some(out.join("\n") + "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_copy_moves_the_install_above_the_broad_copy() {
        let lines = [
            "FROM node:20",
            "WORKDIR /app",
            "COPY . .",
            "EXPOSE 3000",
            "RUN npm ci",
            "CMD [\"node\", \"app.js\"]",
        ];
        let early = [
            "package-lock.json".to_string(),
            "package.json".to_string(),
            "scripts/postinstall.sh".to_string(),
        ];
        let text = split_copy(&lines, (2, 3), (4, 5), &early, ".").unwrap();
        assert_eq!(
            text,
            "FROM node:20\nWORKDIR /app\n\
             # Dependency manifests first: the install below stays cached until they change.\n\
             COPY package-lock.json package.json ./\n\
             COPY scripts/postinstall.sh ./scripts/\n\
             RUN npm ci\nCOPY . .\nEXPOSE 3000\nCMD [\"node\", \"app.js\"]\n"
        );
        assert_eq!(split_copy(&lines, (4, 5), (2, 3), &early, "."), None);
    }

    #[test]
    fn link_and_move() {
        let lines: Vec<String> = ["FROM a", "copy x /x", "RUN y"].map(String::from).to_vec();
        assert_eq!(
            add_link(&lines, 1).unwrap(),
            "FROM a\ncopy --link x /x\nRUN y\n"
        );
        assert_eq!(add_link(&lines, 2), None);
        let lines = [
            "FROM a",
            "COPY src /src",
            "# keep",
            "COPY cfg /cfg",
            "RUN b",
        ];
        assert_eq!(
            move_above(&lines, (1, 2), (3, 4)).unwrap(),
            "FROM a\nCOPY cfg /cfg\n# keep\nCOPY src /src\nRUN b\n"
        );
        assert_eq!(move_above(&lines, (3, 4), (1, 2)), None);
    }
}
