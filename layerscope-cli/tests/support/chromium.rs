//! Headless Chromium for the HTML report tests of `tests/html_browser.rs`. No DevTools client: the page honours URL-hash
//! parameters (views, filters, and `do=` actions through its own event handlers), finishes
//! by setting `<body data-ready="1">`, and `--dump-dom` prints the resulting DOM.
//!
//! Chromium runs offline and stateless: a fresh profile each time, no background
//! networking, no component updates, no QUIC.
#![allow(dead_code, reason = "each test crate uses part of it")]

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A Chromium binary: `LAYERSCOPE_CHROMIUM_BIN`, else `chromium` (Debian's package) or a
/// Chrome on `PATH`.
pub fn find() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("LAYERSCOPE_CHROMIUM_BIN") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    [
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ]
    .iter()
    .flat_map(|name| std::env::split_paths(&path).map(move |d| d.join(name)))
    .find(|c| c.is_file())
}

/// The cargo target directory of the running test binary (`target/<profile>/deps/x`).
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    exe.ancestors()
        .nth(3)
        .map(Path::to_path_buf)
        .unwrap_or_else(std::env::temp_dir)
}

/// Where tests leave their pages and screenshots (not committed).
pub fn artifacts() -> PathBuf {
    let d = target_dir().join("html-tests");
    std::fs::create_dir_all(&d).expect("create target/html-tests");
    d
}

/// One headless Chromium binary.
pub struct Browser {
    bin: PathBuf,
    timeout: Duration,
}

impl Browser {
    /// `None` (with a message saying why the test is skipped) when Chromium is absent.
    pub fn new(test: &str) -> Option<Browser> {
        match find() {
            Some(bin) => Some(Browser {
                bin,
                timeout: Duration::from_secs(180),
            }),
            None => {
                // CI installs chromium: there a missing browser is a failure, not a skip.
                assert!(
                    std::env::var("LAYERSCOPE_REQUIRE_CHROMIUM").as_deref() != Ok("1"),
                    "{test}: LAYERSCOPE_REQUIRE_CHROMIUM=1 but no chromium was found"
                );
                eprintln!(
                    "{test}: SKIPPED: no chromium on PATH (apt-get install chromium; \
                     scripts/test.sh installs it, or set LAYERSCOPE_CHROMIUM_BIN)"
                );
                None
            }
        }
    }

    /// The DOM after the page's scripts ran (`budget_ms` of virtual time).
    pub fn dump_dom(&self, page: &Path, hash: &str, budget_ms: u32) -> String {
        let out = self.run(
            &["--dump-dom".to_string()],
            &[(String::from("--virtual-time-budget"), budget_ms.to_string())],
            page,
            hash,
        );
        assert!(
            out.contains("data-ready=\"1\""),
            "the page did not finish drawing ({} with #{hash}):\n{}",
            page.display(),
            &out[..out.len().min(2000)]
        );
        out
    }

    /// A PNG of the first `width` x `height` pixels of the page.
    pub fn screenshot(&self, page: &Path, hash: &str, png: &Path, width: u32, height: u32) {
        let _ = std::fs::remove_file(png);
        self.run(
            &["--hide-scrollbars".to_string()],
            &[
                (String::from("--virtual-time-budget"), "5000".to_string()),
                (String::from("--window-size"), format!("{width},{height}")),
                (String::from("--screenshot"), png.display().to_string()),
            ],
            page,
            hash,
        );
        let bytes = std::fs::read(png).unwrap_or_default();
        assert!(
            bytes.starts_with(b"\x89PNG") && bytes.len() > 10_000,
            "no screenshot at {} ({} bytes)",
            png.display(),
            bytes.len()
        );
    }

    fn run(
        &self,
        flags: &[String],
        options: &[(String, String)],
        page: &Path,
        hash: &str,
    ) -> String {
        let profile = tempfile::tempdir().expect("profile dir");
        let mut cmd = Command::new(&self.bin);
        cmd.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--mute-audio",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(flags)
        .args(options.iter().map(|(k, v)| format!("{k}={v}")))
        .arg(file_url(page, hash))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
        let mut child = cmd.spawn().expect("start chromium");
        let mut stdout = child.stdout.take().expect("stdout");
        let reader = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = stdout.read_to_string(&mut s);
            s
        });
        let start = Instant::now();
        loop {
            match child.try_wait().expect("wait for chromium") {
                Some(_) => break,
                None if start.elapsed() > self.timeout => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("chromium did not finish within {:?}", self.timeout);
                }
                None => std::thread::sleep(Duration::from_millis(50)),
            }
        }
        reader.join().unwrap_or_default()
    }
}

fn file_url(page: &Path, hash: &str) -> String {
    let abs = std::fs::canonicalize(page).expect("page exists");
    let mut url = String::from("file://");
    for b in abs.to_string_lossy().bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' | b'~' => {
                url.push(b as char)
            }
            _ => url.push_str(&format!("%{b:02X}")),
        }
    }
    if !hash.is_empty() {
        url.push('#');
        url.push_str(hash);
    }
    url
}

/// A start tag of the dumped DOM: name and attributes (entities decoded).
#[derive(Debug, Clone)]
pub struct Tag {
    pub name: String,
    pub attrs: HashMap<String, String>,
    /// Byte offset just after the tag in the DOM text.
    pub end: usize,
}

impl Tag {
    pub fn get(&self, k: &str) -> Option<&str> {
        self.attrs.get(k).map(String::as_str)
    }
    pub fn num(&self, k: &str) -> Option<f64> {
        self.get(k)?.parse().ok()
    }
    pub fn has_class(&self, c: &str) -> bool {
        self.get("class")
            .is_some_and(|v| v.split_whitespace().any(|x| x == c))
    }
}

/// Every start tag of Chromium's serialised DOM (attributes double-quoted, `&`, `<`, `>`,
/// `"` escaped as entities); script and style contents are skipped.
pub fn tags(dom: &str) -> Vec<Tag> {
    let b = dom.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(off) = dom[i..].find('<') {
        i += off + 1;
        let Some(&c) = b.get(i) else { break };
        if !c.is_ascii_alphabetic() {
            continue;
        }
        let name_end = dom[i..]
            .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
            .map_or(dom.len(), |e| i + e);
        let name = dom[i..name_end].to_ascii_lowercase();
        let mut attrs = HashMap::new();
        let mut j = name_end;
        loop {
            while j < b.len() && (b[j] as char).is_whitespace() {
                j += 1;
            }
            if j >= b.len() || b[j] == b'>' || b[j] == b'/' {
                break;
            }
            let k_end = dom[j..]
                .find(|c: char| c == '=' || c == '>' || c.is_whitespace())
                .map_or(dom.len(), |e| j + e);
            let key = dom[j..k_end].to_string();
            j = k_end;
            if b.get(j) == Some(&b'=') && b.get(j + 1) == Some(&b'"') {
                let v_end = dom[j + 2..].find('"').map_or(dom.len(), |e| j + 2 + e);
                attrs.insert(key, decode(&dom[j + 2..v_end]));
                j = v_end + 1;
            } else {
                attrs.insert(key, String::new());
            }
        }
        let end = dom[j..].find('>').map_or(dom.len(), |e| j + e + 1);
        i = end;
        if name == "script" || name == "style" {
            // Raw text: skip to the end tag.
            let close = format!("</{name}");
            i = dom[end..].find(&close).map_or(dom.len(), |e| end + e);
        }
        out.push(Tag { name, attrs, end });
    }
    out
}

/// The text right after a tag, up to the next tag.
pub fn text_after(dom: &str, tag: &Tag) -> String {
    let rest = &dom[tag.end..];
    decode(&rest[..rest.find('<').unwrap_or(rest.len())])
}

fn decode(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&")
}
