//! The documentation against the code: every TOML example in `README.md` and the book in
//! `docs/src/` is loaded by the product's own loaders, every page of the book is in its
//! `SUMMARY.md`, and every relative link points at something that exists.
//!
//! A fenced block's info string says what the block is (`docs/src/checked-examples.md`
//! explains it for authors): ```` ```toml exercise ````, `plant`, `playbook`, `policy`,
//! `detectors` for a whole file, ```` ```toml fragment-of=plant ```` (or another kind) for a
//! part of one, and ```` ```text rules ```` for a Suricata rules file. Each is written into a
//! copy of `scenarios/` and loaded through [`Exercise::load`], which is what `otrange check`
//! runs: the plant is parsed and built into a world, the policy compiled against it, the
//! playbook resolved against it and the ATT&CK catalogue, the detectors placed and their
//! rules parsed. A fragment is first merged into the shipped file of its kind.

use otrange::scenario::Exercise;
use otrange_sim::base::config_error::FileError;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Component, Path, PathBuf};

/// The repository root.
fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

// ── Markdown ─────────────────────────────────────────────────────────────────────────────

/// A fenced code block.
#[derive(Debug, Clone)]
struct Block {
    /// Line of the opening fence, 1-based.
    line: usize,
    /// The info string, split into words.
    info: Vec<String>,
    /// The block's content.
    text: String,
}

/// A Markdown file split into its fenced blocks and the prose lines outside them.
struct Markdown {
    blocks: Vec<Block>,
    /// (1-based line, text) of every line outside fenced blocks.
    prose: Vec<(usize, String)>,
}

/// Opening fence: up to three spaces, then three or more backticks or tildes; a backtick
/// fence's info string has no backtick (CommonMark), so an inline code span at the start of
/// a line is no fence.
fn opening_fence(line: &str) -> Option<(char, usize, usize, String)> {
    let trimmed = line.trim_start_matches(' ');
    let indent = line.len() - trimmed.len();
    let c = trimmed.chars().next()?;
    if indent > 3 || (c != '`' && c != '~') {
        return None;
    }
    let n = trimmed.chars().take_while(|&x| x == c).count();
    let info = trimmed[n..].trim();
    if n < 3 || (c == '`' && info.contains('`')) {
        return None;
    }
    Some((c, n, indent, info.to_string()))
}

fn parse_markdown(md: &str) -> Markdown {
    let mut blocks = Vec::new();
    let mut prose = Vec::new();
    // (fence char, fence length, indent, the block so far)
    let mut open: Option<(char, usize, usize, Block)> = None;
    for (i, line) in md.lines().enumerate() {
        let n = i + 1;
        match &mut open {
            None => match opening_fence(line) {
                Some((c, len, indent, info)) => {
                    let info = info
                        .split(|ch: char| ch.is_whitespace() || ch == ',')
                        .filter(|w| !w.is_empty())
                        .map(str::to_string)
                        .collect();
                    open = Some((
                        c,
                        len,
                        indent,
                        Block {
                            line: n,
                            info,
                            text: String::new(),
                        },
                    ));
                }
                None => prose.push((n, line.to_string())),
            },
            Some((c, len, indent, block)) => {
                let t = line.trim_start_matches(' ');
                let run = t.chars().take_while(|x| x == c).count();
                if line.len() - t.len() <= 3 && run >= *len && t[run..].trim().is_empty() {
                    blocks.push(open.take().expect("open").3);
                } else {
                    // Content lines lose up to the fence's indentation.
                    let strip = line.len() - line.trim_start_matches(' ').len();
                    block.text.push_str(&line[strip.min(*indent)..]);
                    block.text.push('\n');
                }
            }
        }
    }
    // An unclosed fence runs to the end of the file.
    if let Some((_, _, _, block)) = open {
        blocks.push(block);
    }
    Markdown { blocks, prose }
}

/// A line with its inline code spans removed (links inside them are no links).
fn without_code_spans(line: &str) -> String {
    let b = line.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'`' {
            let n = b[i..].iter().take_while(|&&x| x == b'`').count();
            // The closing run has exactly the same length.
            let mut j = i + n;
            let mut close = None;
            while j < b.len() {
                if b[j] == b'`' {
                    let m = b[j..].iter().take_while(|&&x| x == b'`').count();
                    if m == n {
                        close = Some(j + m);
                        break;
                    }
                    j += m;
                } else {
                    j += 1;
                }
            }
            match close {
                Some(end) => {
                    out.push(' ');
                    i = end;
                }
                None => {
                    out.push_str(&line[i..i + n]);
                    i += n;
                }
            }
        } else {
            let ch = line[i..].chars().next().expect("char boundary");
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

/// (line, target) of every inline link, image and link reference definition in the prose.
fn links(md: &Markdown) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (n, line) in &md.prose {
        let line = without_code_spans(line);
        let trimmed = line.trim_start();
        if trimmed.starts_with('[')
            && let Some(close) = trimmed.find("]:")
            && !trimmed[1..close].contains(']')
        {
            if let Some(target) = trimmed[close + 2..].split_whitespace().next() {
                out.push((*n, target.trim_matches(['<', '>']).to_string()));
            }
            continue;
        }
        let mut rest = line.as_str();
        while let Some(k) = rest.find("](") {
            let after = &rest[k + 2..];
            let end = after.find([')', ' ']).unwrap_or(after.len());
            out.push((*n, after[..end].trim_matches(['<', '>']).to_string()));
            rest = &after[end..];
        }
    }
    out
}

/// The anchors of a Markdown file's headings, as mdBook and GitHub make them: the heading's
/// text without markup, lower case, spaces to `-`, other punctuation dropped; a repeated
/// heading gets `-1`, `-2`.
fn anchors(md: &Markdown) -> BTreeSet<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = BTreeSet::new();
    for (_, line) in &md.prose {
        let t = line.trim_start();
        let hashes = t.chars().take_while(|&c| c == '#').count();
        if !(1..=6).contains(&hashes) || !t[hashes..].starts_with(' ') {
            continue;
        }
        let mut text = t[hashes..].trim().trim_end_matches('#').trim().to_string();
        // A link in a heading keeps its text.
        while let (Some(a), Some(b)) = (text.find("]("), text.find(')')) {
            if b < a {
                break;
            }
            text.replace_range(a + 1..=b, "");
        }
        let id: String = text
            .chars()
            .filter_map(|c| {
                if c.is_alphanumeric() || c == '_' || c == '-' {
                    Some(c.to_lowercase().next().unwrap_or(c))
                } else if c.is_whitespace() {
                    Some('-')
                } else {
                    None
                }
            })
            .collect();
        let k = seen.entry(id.clone()).or_insert(0);
        out.insert(if *k == 0 { id.clone() } else { format!("{id}-{k}") });
        *k += 1;
    }
    out
}

/// `a/b/../c` without touching the file system.
fn normalise(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// Every `.md` file under `dir`, sorted.
fn markdown_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("cannot list {}: {e}", d.display())) {
            let p = e.expect("directory entry").path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "md") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The files whose examples and links are checked: the README and the whole book.
fn documentation() -> Vec<PathBuf> {
    let mut files = vec![root().join("README.md")];
    files.extend(markdown_files(&root().join("docs/src")));
    files
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()))
}

/// A path as the repository names it.
fn shown(p: &Path) -> String {
    p.strip_prefix(root()).unwrap_or(p).display().to_string()
}

/// Problems with the relative links of one Markdown file (`text`, at `file`).
fn link_problems(file: &Path, text: &str) -> Vec<String> {
    let md = parse_markdown(text);
    let dir = file.parent().unwrap_or(Path::new("."));
    let mut out = Vec::new();
    for (line, target) in links(&md) {
        let at = format!("{}:{line}: link {target:?}", shown(file));
        if target.is_empty() {
            out.push(format!("{at}: empty target"));
            continue;
        }
        if target.contains("://") || target.starts_with("mailto:") {
            continue;
        }
        let (path, anchor) = match target.split_once('#') {
            Some((p, a)) => (p, Some(a)),
            None => (target.as_str(), None),
        };
        let dest = if path.is_empty() {
            file.to_path_buf()
        } else {
            normalise(&dir.join(path))
        };
        if !dest.exists() {
            out.push(format!("{at}: {} does not exist", shown(&dest)));
            continue;
        }
        if let Some(anchor) = anchor
            && dest.extension().is_some_and(|x| x == "md")
        {
            let known = anchors(&parse_markdown(&read(&dest)));
            if !known.contains(anchor) {
                out.push(format!(
                    "{at}: {} has no heading #{anchor} (its headings: {})",
                    shown(&dest),
                    known.into_iter().collect::<Vec<_>>().join(", ")
                ));
            }
        }
    }
    out
}

// ── Loading examples ─────────────────────────────────────────────────────────────────────

/// What a checked block is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Exercise,
    Plant,
    Playbook,
    Policy,
    Detectors,
    Sweep,
    Rules,
    /// A Sigma rule (```` ```yaml sigma ````), loaded by a host detector.
    Sigma,
}

impl Kind {
    const FILES: [Kind; 6] = [
        Kind::Exercise,
        Kind::Plant,
        Kind::Playbook,
        Kind::Policy,
        Kind::Detectors,
        Kind::Sweep,
    ];

    fn name(self) -> &'static str {
        match self {
            Kind::Exercise => "exercise",
            Kind::Plant => "plant",
            Kind::Playbook => "playbook",
            Kind::Policy => "policy",
            Kind::Detectors => "detectors",
            Kind::Sweep => "sweep",
            Kind::Rules => "rules",
            Kind::Sigma => "sigma",
        }
    }

    /// A TOML file kind by its name in an info string.
    fn file(name: &str) -> Option<Kind> {
        Kind::FILES.into_iter().find(|k| k.name() == name)
    }

    /// The shipped file a fragment of this kind is merged into.
    fn base(self) -> &'static str {
        match self {
            Kind::Exercise => "scenarios/water-treatment.toml",
            Kind::Plant => "scenarios/water-treatment/plant.toml",
            Kind::Playbook => "scenarios/playbooks/oldsmar.toml",
            Kind::Policy => "scenarios/policies/zero-trust.toml",
            Kind::Detectors => "scenarios/detectors/plant-detection.toml",
            Kind::Sweep => "scenarios/sweeps/policies.toml",
            Kind::Rules | Kind::Sigma => unreachable!("rules blocks are whole files"),
        }
    }

    /// The loader that checks this kind, for the summary.
    fn loader(self) -> &'static str {
        match self {
            Kind::Exercise => "Exercise::load",
            Kind::Plant => "PlantConfig + plant::build (through Exercise::load)",
            Kind::Playbook => "PlaybookConfig::resolve (through Exercise::load)",
            Kind::Policy => "Policy::load (through Exercise::load)",
            Kind::Detectors => "DetectorSet::build (through Exercise::load)",
            Kind::Sweep => "Sweep::load (every cell's exercise through Exercise::load)",
            Kind::Rules => "RulesDetector::from_config (through Exercise::load)",
            Kind::Sigma => "HostDetector::from_config (through Exercise::load)",
        }
    }
}

/// A block's example: a whole file of a kind, or a part of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Example {
    kind: Kind,
    fragment: bool,
}

/// What the info string says the block is: None for a block that is not checked (a
/// command, an output, JSON), an error for a TOML block that does not say.
fn example(info: &[String]) -> Option<Result<Example, String>> {
    let lang = info.first()?.as_str();
    let marker = info.get(1).map(String::as_str);
    if lang == "rules" || (lang == "text" && marker == Some("rules")) {
        return Some(Ok(Example {
            kind: Kind::Rules,
            fragment: false,
        }));
    }
    if lang == "yaml" && marker == Some("sigma") {
        return Some(Ok(Example {
            kind: Kind::Sigma,
            fragment: false,
        }));
    }
    if lang != "toml" {
        return None;
    }
    let expected = "expected `toml exercise`, `toml plant`, `toml playbook`, `toml policy`, \
                    `toml detectors`, `toml sweep` or `toml fragment-of=<one of those>`";
    Some(match marker {
        None => Err(format!("a ```toml block must say what it is: {expected}")),
        Some(m) => match m.strip_prefix("fragment-of=") {
            Some(k) => Kind::file(k)
                .map(|kind| Example { kind, fragment: true })
                .ok_or_else(|| format!("unknown kind {k:?} in {m:?}: {expected}")),
            None => Kind::file(m)
                .map(|kind| Example {
                    kind,
                    fragment: false,
                })
                .ok_or_else(|| format!("unknown marker {m:?}: {expected}")),
        },
    })
}

/// A top-level piece of a TOML file: a table header and everything up to the next header
/// that is not one of its sub-tables (`[[plc]]` keeps its `[plc.modbus]`, `[[plc.io]]`).
#[derive(Debug)]
struct Section {
    path: String,
    array: bool,
    text: String,
}

/// `[a.b]` or `[[a.b]]` on a line of its own (plain keys only, which is all our files use);
/// None for anything else, such as `[0, 1],` inside a multi-line array.
fn header(line: &str) -> Option<(String, bool)> {
    let t = line.trim();
    let array = t.starts_with("[[");
    let (open, close) = if array { ("[[", "]]") } else { ("[", "]") };
    let inner_and_rest = t.strip_prefix(open)?;
    let end = inner_and_rest.find(close)?;
    let inner = inner_and_rest[..end].trim();
    let rest = inner_and_rest[end + close.len()..].trim();
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
    if inner.is_empty() || !inner.chars().all(plain) || !(rest.is_empty() || rest.starts_with('#')) {
        return None;
    }
    Some((inner.to_string(), array))
}

/// A TOML file as its preamble (before the first header) and its sections.
fn sections(text: &str) -> (String, Vec<Section>) {
    let mut pre = String::new();
    let mut out: Vec<Section> = Vec::new();
    let mut in_string = false;
    for line in text.split_inclusive('\n') {
        if !in_string && let Some((path, array)) = header(line) {
            let nested = out
                .last()
                .is_some_and(|s| path.starts_with(&format!("{}.", s.path)));
            if !nested {
                out.push(Section {
                    path,
                    array,
                    text: String::new(),
                });
            }
        }
        // Multi-line strings (a program in a playbook) may hold lines that look like headers.
        if (line.matches("\"\"\"").count() + line.matches("'''").count()) % 2 == 1 {
            in_string = !in_string;
        }
        match out.last_mut() {
            Some(s) => s.text.push_str(line),
            None => pre.push_str(line),
        }
    }
    (pre, out)
}

/// What a section replaces in the base file: a table, the table of the same path; an
/// element of an array of tables, the element with the same `name`, `host` or, for a link,
/// the same two ends. None: it replaces nothing and is added.
fn identity(s: &Section) -> Option<String> {
    if !s.array {
        return Some(String::new());
    }
    let doc = toml::Value::Table(toml::from_str::<toml::Table>(&s.text).ok()?);
    let mut v = &doc;
    for k in s.path.split('.') {
        v = v.get(k)?;
    }
    let el = v.as_array()?.first()?.as_table()?;
    let text = |k: &str| el.get(k).and_then(toml::Value::as_str);
    for k in ["name", "host"] {
        if let Some(x) = text(k) {
            return Some(format!("{k}={x}"));
        }
    }
    let (a, b) = (text("a")?, text("b")?);
    Some(format!("ends={}", if a < b { [a, b] } else { [b, a] }.join("+")))
}

/// `fragment` merged into `base`: the sections it replaces removed from the base, then the
/// fragment appended as it is. Returns the merged text and the line the fragment starts on.
fn merge(base: &str, fragment: &str) -> Result<(String, usize), String> {
    let (pre, base_sections) = sections(base);
    let (frag_pre, frag_sections) = sections(fragment);
    if frag_pre
        .lines()
        .any(|l| !l.trim().is_empty() && !l.trim().starts_with('#'))
    {
        return Err(
            "a fragment must start with a table header ([table] or [[array]]): keys before it \
                    would land in the base file's last table"
                .into(),
        );
    }
    if frag_sections.is_empty() {
        return Err("a fragment needs at least one [table] or [[array]] header".into());
    }
    let mut keep = vec![true; base_sections.len()];
    for f in &frag_sections {
        let Some(id) = identity(f) else { continue };
        let same = |(i, b): &(usize, &Section)| {
            keep[*i] && b.path == f.path && b.array == f.array && identity(b).as_deref() == Some(&id)
        };
        if let Some((i, _)) = base_sections.iter().enumerate().find(same) {
            keep[i] = false;
        }
    }
    let mut out = pre;
    for (s, _) in base_sections.iter().zip(&keep).filter(|(_, k)| **k) {
        out.push_str(&s.text);
    }
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out.push('\n');
    let first_line = out.matches('\n').count() + 1;
    out.push_str(fragment);
    Ok((out, first_line))
}

/// Why an example does not load.
#[derive(Debug)]
struct LoadError {
    /// The loader's message, paths shown relative to the scratch copy.
    message: String,
    /// The line of the example (1-based, in the block) the loader points at, if it is
    /// inside the example.
    line: Option<usize>,
}

/// A copy of `scenarios/` in which examples are written and loaded, so that their relative
/// paths resolve as in the shipped files.
struct Scratch {
    dir: tempfile::TempDir,
    count: usize,
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("creating {}: {e}", to.display()));
    for e in std::fs::read_dir(from).unwrap_or_else(|e| panic!("listing {}: {e}", from.display())) {
        let e = e.expect("directory entry");
        let (src, dst) = (e.path(), to.join(e.file_name()));
        if src.is_dir() {
            copy_dir(&src, &dst);
        } else {
            std::fs::copy(&src, &dst).unwrap_or_else(|e| panic!("copying {}: {e}", src.display()));
        }
    }
}

fn write(p: &Path, text: &str) {
    std::fs::write(p, text).unwrap_or_else(|e| panic!("writing {}: {e}", p.display()));
}

impl Scratch {
    fn new() -> Scratch {
        let dir = tempfile::tempdir().expect("temporary directory");
        copy_dir(&root().join("scenarios"), &dir.path().join("scenarios"));
        Scratch { dir, count: 0 }
    }

    fn scenarios(&self) -> PathBuf {
        self.dir.path().join("scenarios")
    }

    /// Loads a block as `ex` says it is, with the product's loader.
    fn load(&mut self, ex: Example, text: &str) -> Result<(), LoadError> {
        let (text, first_line) = if ex.fragment {
            let base = read(&root().join(ex.kind.base()));
            merge(&base, text).map_err(|message| LoadError { message, line: None })?
        } else {
            (text.to_string(), 1)
        };
        self.count += 1;
        let stem = format!("docs-example-{}", self.count);
        let sc = self.scenarios();
        let exercise = sc.join(format!("{stem}.toml"));
        let named = |key: &str, file: &str| {
            format!(
                "[exercise]\nname = \"docs example\"\nplant = \"water-treatment/plant.toml\"\n{key} = \"{file}\"\n"
            )
        };
        let file = match ex.kind {
            Kind::Exercise => exercise.clone(),
            Kind::Plant => {
                let f = sc.join(format!("{stem}-plant.toml"));
                write(
                    &exercise,
                    &format!("[exercise]\nname = \"docs example\"\nplant = \"{stem}-plant.toml\"\n"),
                );
                f
            }
            Kind::Playbook => {
                write(&exercise, &named("playbook", &format!("playbooks/{stem}.toml")));
                sc.join(format!("playbooks/{stem}.toml"))
            }
            Kind::Policy => {
                write(&exercise, &named("policy", &format!("policies/{stem}.toml")));
                sc.join(format!("policies/{stem}.toml"))
            }
            Kind::Detectors => {
                write(&exercise, &named("detectors", &format!("detectors/{stem}.toml")));
                sc.join(format!("detectors/{stem}.toml"))
            }
            Kind::Sweep => sc.join(format!("sweeps/{stem}.toml")),
            Kind::Rules => {
                write(&exercise, &named("detectors", &format!("detectors/{stem}.toml")));
                write(
                    &sc.join(format!("detectors/{stem}.toml")),
                    &format!(
                        "[[detector]]\nkind = \"rules\"\nname = \"docs example\"\nat = [\"sw-ctl\"]\nrules = \"rules/{stem}.rules\"\n"
                    ),
                );
                sc.join(format!("detectors/rules/{stem}.rules"))
            }
            Kind::Sigma => {
                write(&exercise, &named("detectors", &format!("detectors/{stem}.toml")));
                write(
                    &sc.join(format!("detectors/{stem}.toml")),
                    &format!(
                        "[[detector]]\nkind = \"host\"\nname = \"docs example\"\nrules = \"rules/{stem}.yml\"\n"
                    ),
                );
                sc.join(format!("detectors/rules/{stem}.yml"))
            }
        };
        write(&file, &text);
        let loaded = if ex.kind == Kind::Sweep {
            otrange::sweep::file::Sweep::load(&file).map(|_| ())
        } else {
            Exercise::load(&exercise).map(|_| ())
        };
        loaded.map_err(|e| {
            let line = self.line_in_example(&e, &file, first_line);
            let scratch = format!("{}/", self.dir.path().display());
            LoadError {
                message: e.to_string().replace(&scratch, ""),
                line,
            }
        })
    }

    /// The line of the example the loader's error points at: the error's line in the file
    /// that was loaded, less where the example starts in it (a fragment follows its base).
    fn line_in_example(&self, e: &FileError, file: &Path, first_line: usize) -> Option<usize> {
        let line = if e.file == file && e.line > 0 {
            e.line
        } else {
            // A rules file's error is inside the detector set's: "<path>:<line>: ...".
            let marker = format!("{}:", file.display());
            let at = e.message.find(&marker)? + marker.len();
            let digits: String = e.message[at..].chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()?
        };
        (line >= first_line).then(|| line - first_line + 1)
    }
}

/// An example that does not load, located in its page.
struct Problem {
    page: String,
    block: Block,
    error: LoadError,
    /// The page's line the error points at, and its text.
    at: Option<(usize, String)>,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: the ```{} block does not load: {}",
            self.page,
            self.block.line,
            self.block.info.join(" "),
            self.error.message
        )?;
        if let Some((n, text)) = &self.at {
            write!(f, "\n    at {}:{n}: {}", self.page, text.trim())?;
        }
        Ok(())
    }
}

/// Checks one block of a page; Ok(None) when the block is not an example.
fn check_block(
    scratch: &mut Scratch,
    page: &str,
    page_text: &str,
    block: &Block,
) -> Result<Option<Kind>, Box<Problem>> {
    let problem = |error: LoadError| {
        let at = error.line.map(|l| {
            let n = block.line + l;
            (n, page_text.lines().nth(n - 1).unwrap_or_default().to_string())
        });
        Box::new(Problem {
            page: page.to_string(),
            block: block.clone(),
            error,
            at,
        })
    };
    match example(&block.info) {
        None => Ok(None),
        Some(Err(message)) => Err(problem(LoadError { message, line: None })),
        Some(Ok(ex)) => scratch
            .load(ex, &block.text)
            .map(|()| Some(ex.kind))
            .map_err(problem),
    }
}

// ── The tests ────────────────────────────────────────────────────────────────────────────

#[test]
fn every_example_loads_with_the_products_loaders() {
    let mut scratch = Scratch::new();
    let mut checked: BTreeMap<Kind, usize> = BTreeMap::new();
    let mut problems = Vec::new();
    for file in documentation() {
        let text = read(&file);
        let page = shown(&file);
        for block in parse_markdown(&text).blocks {
            match check_block(&mut scratch, &page, &text, &block) {
                Ok(Some(kind)) => *checked.entry(kind).or_default() += 1,
                Ok(None) => {}
                Err(p) => problems.push(p.to_string()),
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} documentation example(s) do not load:\n\n{}",
        problems.len(),
        problems.join("\n\n")
    );
    for (kind, n) in &checked {
        println!("{n:3} {} block(s) loaded by {}", kind.name(), kind.loader());
    }
    // The book shows every file format; an extractor that found nothing would pass silently.
    for kind in Kind::FILES {
        assert!(
            checked.contains_key(&kind),
            "no checked ```toml {} example in the documentation",
            kind.name()
        );
    }
}

#[test]
fn summary_lists_every_page_and_only_pages_that_exist() {
    let src = root().join("docs/src");
    let summary = src.join("SUMMARY.md");
    let listed: BTreeSet<PathBuf> = links(&parse_markdown(&read(&summary)))
        .into_iter()
        .map(|(line, target)| {
            assert!(
                !target.is_empty(),
                "docs/src/SUMMARY.md:{line}: a chapter without a file"
            );
            let p = normalise(&src.join(&target));
            assert!(p.is_file(), "docs/src/SUMMARY.md:{line}: {target} does not exist");
            p
        })
        .collect();
    let unlisted: Vec<String> = markdown_files(&src)
        .into_iter()
        .filter(|p| *p != summary && !listed.contains(p))
        .map(|p| shown(&p))
        .collect();
    assert!(
        unlisted.is_empty(),
        "pages missing from docs/src/SUMMARY.md: {}",
        unlisted.join(", ")
    );
    assert!(
        std::fs::read_to_string(root().join("docs/book.toml")).is_ok_and(|t| t.contains("src = \"src\"")),
        "docs/book.toml must exist and say src = \"src\""
    );
}

#[test]
fn relative_links_point_at_existing_files_and_headings() {
    let problems: Vec<String> = documentation()
        .iter()
        .flat_map(|f| link_problems(f, &read(f)))
        .collect();
    assert!(
        problems.is_empty(),
        "{} broken link(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

// The checks themselves must be able to fail, and say where.

#[test]
fn a_broken_fragment_is_reported_at_its_line_in_the_page() {
    let page = "# Page\n\n```toml fragment-of=plant\n[[link]]\na = \"plc-dosing\"\nb = \"sw-nowhere\"\n```\n";
    let block = &parse_markdown(page).blocks[0];
    let p = check_block(&mut Scratch::new(), "page.md", page, block).expect_err("a link to no host");
    let shown = p.to_string();
    assert!(
        shown.starts_with("page.md:3: the ```toml fragment-of=plant block"),
        "{shown}"
    );
    assert!(shown.contains("link[") && shown.contains("sw-nowhere"), "{shown}");
    assert_eq!(p.at.as_ref().map(|a| a.0), Some(6), "{shown}");
}

#[test]
fn a_broken_whole_file_is_reported_at_its_line_in_the_page() {
    let page = "Text.\n\n```toml policy\n[policy]\nname = \"p\"\ndefault = \"maybe\"\n```\n";
    let block = &parse_markdown(page).blocks[0];
    let p = check_block(&mut Scratch::new(), "page.md", page, block).expect_err("no such default");
    assert!(p.to_string().contains("policy.default"), "{p}");
    assert_eq!(p.at.as_ref().map(|a| a.0), Some(6), "{p}");
}

#[test]
fn a_broken_rules_file_is_reported_at_its_line_in_the_page() {
    let page = "```text rules\n# a comment\nalert modbus any any -> any 502 (msg:\"x\"; modbus: fuction 8; sid:1;)\n```\n";
    let block = &parse_markdown(page).blocks[0];
    let p = check_block(&mut Scratch::new(), "page.md", page, block).expect_err("misspelt keyword");
    assert!(p.to_string().contains("fuction"), "{p}");
    assert_eq!(p.at.as_ref().map(|a| a.0), Some(3), "{p}");
}

#[test]
fn a_toml_block_must_say_what_it_is() {
    for info in ["```toml", "```toml plnat", "```toml fragment-of=nothing"] {
        let page = format!("{info}\n[plant]\nname = \"x\"\n```\n");
        let block = &parse_markdown(&page).blocks[0];
        let p = check_block(&mut Scratch::new(), "page.md", &page, block).expect_err(info);
        assert!(p.to_string().contains("expected `toml exercise`"), "{p}");
    }
    let page = "```sh\ncargo test\n```\n";
    let block = &parse_markdown(page).blocks[0];
    assert!(matches!(
        check_block(&mut Scratch::new(), "page.md", page, block),
        Ok(None)
    ));
}

#[test]
fn a_fragment_replaces_what_it_names_and_keeps_the_rest() {
    let base = "# top\n[plant]\nname = \"a\"\n\n[[host]]\nname = \"h1\"\n\n[[host]]\nname = \"h2\"\n\n[[plc]]\nhost = \"h1\"\n[plc.modbus]\ncoils = 1\n[[plc.io]]\nsignal = \"s\"\n";
    let frag = "[[plc]]\nhost = \"h1\"\n[plc.modbus]\ncoils = 2\n\n[[host]]\nname = \"h3\"\n";
    let (merged, first) = merge(base, frag).expect("merges");
    assert_eq!(merged.lines().nth(first - 1), Some("[[plc]]"), "{merged}");
    let doc: toml::Table = toml::from_str(&merged).expect("valid TOML");
    let hosts: Vec<&str> = doc["host"]
        .as_array()
        .expect("hosts")
        .iter()
        .map(|h| h["name"].as_str().expect("name"))
        .collect();
    assert_eq!(hosts, ["h1", "h2", "h3"]);
    let plcs = doc["plc"].as_array().expect("plcs");
    assert_eq!(plcs.len(), 1, "{merged}");
    assert_eq!(plcs[0]["modbus"]["coils"].as_integer(), Some(2));
    assert!(
        plcs[0].get("io").is_none(),
        "the replaced PLC's sub-tables go with it: {merged}"
    );
    assert!(
        merge(base, "name = \"x\"\n[plant]\n").is_err(),
        "keys before the first header"
    );
}

#[test]
fn broken_links_and_headings_are_found() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let page = dir.path().join("page.md");
    write(
        &dir.path().join("other.md"),
        "# Other page\n\n## A `code` heading\n",
    );
    let text = "# Title\n\n[ok](other.md), [ok](other.md#a-code-heading), [ok](#title), \
                [web](https://example.com)\n[missing](nowhere.md) and [bad anchor](other.md#nope)\n\
                `[in code](nowhere.md)`\n\n```text\n[in a block](nowhere.md)\n```\n\n[ref]: gone.md\n";
    write(&page, text);
    let problems = link_problems(&page, text);
    assert_eq!(problems.len(), 3, "{problems:#?}");
    assert!(
        problems[0].contains("nowhere.md") && problems[0].contains(":4:"),
        "{problems:#?}"
    );
    assert!(problems[1].contains("#nope"), "{problems:#?}");
    assert!(
        problems[2].contains("gone.md") && problems[2].contains(":11:"),
        "{problems:#?}"
    );
}
