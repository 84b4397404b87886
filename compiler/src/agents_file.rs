//! Agents files (`patterns.md` §6, `docs/agents.md`): what a YAML file holds (a pattern, an
//! agents file, or neither — the rule folder walks and the language server share), and the
//! static check of an agents file, with a span and a "did you mean" for every problem. The
//! runtime builds agents only from files this check accepts.

use std::path::Path;

use crate::diagnostic::Diagnostic;
use crate::pattern::check::{Checker, Fields};
use crate::pattern::codes;
use crate::pattern::yaml::{self, Yaml};
use crate::span::Span;

/// An agents file that is not valid YAML.
pub const SYNTAX: &str = "prism::agents::syntax";
/// A required key of an agents file is absent.
pub const MISSING_KEY: &str = "prism::agents::missing-key";
/// A key an agents file does not accept.
pub const UNKNOWN_KEY: &str = "prism::agents::unknown-key";
/// A value of the wrong type or outside its allowed set.
pub const BAD_VALUE: &str = "prism::agents::bad-value";

/// The behaviours: each agent has exactly one.
pub const BEHAVIOURS: &[&str] = &[
    "respond", "echo", "choose", "function", "url", "command", "llm", "grpc",
];
/// The keys of one agent.
pub const AGENT_KEYS: &[&str] = &[
    "name",
    "id",
    "capabilities",
    "expertise",
    "region",
    "labels",
    "latencyMs",
    "confidence",
    "mode",
    "cwd",
    "maxAnswerBytes",
    "respond",
    "echo",
    "choose",
    "function",
    "url",
    "command",
    "llm",
    "grpc",
    "tls",
    "timeout",
];
/// The keys of `llm`.
pub const LLM_KEYS: &[&str] = &["endpoint", "model", "apiKeyEnv", "temperature"];
/// The modes of a `command` agent.
pub const MODES: &[&str] = &["lines", "oneshot"];
/// The keys of a `grpc` agent's `tls` mapping.
pub const TLS_KEYS: &[&str] = &["ca", "domain"];

/// What a YAML file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum YamlContent {
    /// A pattern or org chart.
    Pattern,
    /// An agents file.
    Agents,
    /// Something else (a `docker-compose.yaml`, a CI workflow, …): folder walks skip it.
    Other,
}

/// Keys only a pattern or org chart has at its top level.
const PATTERN_KEYS: &[&str] = &[
    "input",
    "structure",
    "workflow",
    "steps",
    "aggregation",
    "output",
    "execution",
    "validation",
    "groups",
    "fallback",
];

/// What a YAML text holds, from its top-level keys (no parsing, so a broken file is still
/// recognised): a pattern has `name` and a key only patterns have (`input`, `structure`,
/// `steps`, `output`, …, or an `agents` mapping); an agents file has an `agents` list and no
/// `name`. The language server and the folder walks of `check`, `build` and `serve` use it.
pub fn yaml_content(text: &str) -> YamlContent {
    let mut name = false;
    let mut pattern_key = false;
    let mut agents: Option<bool> = None;
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        if line.starts_with([' ', '\t', '-', '#']) || !line.contains(':') {
            continue;
        }
        let (key, rest) = line.split_once(':').unwrap_or((line, ""));
        match key.trim().trim_matches(|c| c == '"' || c == '\'') {
            "name" => name = true,
            "agents" => {
                let rest = rest.split(" #").next().unwrap_or("").trim();
                let list = if rest.is_empty() {
                    lines[i + 1..]
                        .iter()
                        .map(|l| l.trim_start())
                        .find(|l| !l.is_empty() && !l.starts_with('#'))
                        .is_some_and(|l| l.starts_with('-'))
                } else {
                    rest.starts_with('[')
                };
                agents = Some(list);
            }
            k if PATTERN_KEYS.contains(&k) => pattern_key = true,
            _ => {}
        }
    }
    if name && (pattern_key || agents == Some(false)) {
        YamlContent::Pattern
    } else if agents == Some(true) && !name {
        YamlContent::Agents
    } else {
        YamlContent::Other
    }
}

/// True for a file named as an agents file: `agents.yaml`/`.yml` or `*.agents.yaml`.
pub fn is_agents_file_name(path: &Path) -> bool {
    let yaml = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"));
    yaml && path
        .file_stem()
        .is_some_and(|s| s == "agents" || s.to_string_lossy().ends_with(".agents"))
}

/// Every problem of an agents file, each with its span (an empty list: the file is valid).
pub fn check(text: &str) -> Vec<Diagnostic> {
    check_parsed(text).1
}

/// [`check`], also giving the parsed tree (`None` when the YAML itself is broken), so that a
/// loader reads the file once.
pub fn check_parsed(text: &str) -> (Option<yaml::Yaml>, Vec<Diagnostic>) {
    let (root, mut diags) = yaml::parse(text);
    for d in &mut diags {
        if d.code == codes::YAML_SYNTAX {
            d.code = SYNTAX;
        }
    }
    if diags.iter().any(Diagnostic::is_error) {
        return (None, diags);
    }
    let mut cx = Checker::default();
    match &root {
        None => cx.error(
            MISSING_KEY,
            "an agents file needs a top-level `agents:` list",
            Span::default(),
        ),
        Some(root) => check_root(&mut cx, root),
    }
    diags.extend(cx.diags.into_iter().map(rename));
    (root, diags)
}

/// Gives the shared checker's pattern codes their agents-file names.
fn rename(mut d: Diagnostic) -> Diagnostic {
    d.code = match d.code {
        codes::MISSING_KEY => MISSING_KEY,
        codes::UNKNOWN_KEY => UNKNOWN_KEY,
        codes::BAD_VALUE => BAD_VALUE,
        other => other,
    };
    d.message = d
        .message
        .replace(" in the pattern", " at the top of the agents file");
    d
}

fn check_root(cx: &mut Checker, root: &Yaml) {
    let Some(top) = root.as_map() else {
        cx.bad(
            format!(
                "an agents file is a mapping with an `agents:` list, found {}",
                root.type_name()
            ),
            root.span,
            None,
        );
        return;
    };
    for (k, _) in top {
        match k.key_text() {
            Some("agents") => {}
            Some(key) => cx.unknown_key(key, k.span, "", &["agents"]),
            None => cx.bad("mapping keys must be plain strings", k.span, None),
        }
    }
    let Some(list) = root.get("agents") else {
        let at = top.first().map_or(root.span, |(k, _)| k.span);
        cx.error(MISSING_KEY, "missing the top-level `agents:` list", at);
        return;
    };
    let Some(items) = list.as_seq() else {
        cx.bad(
            format!(
                "`agents` must be a list of agents, found {}",
                list.type_name()
            ),
            list.span,
            Some("write each agent as a list item: `- name: a`".into()),
        );
        return;
    };
    let mut ids: rustc_hash::FxHashMap<String, Span> = Default::default();
    for (i, item) in items.iter().enumerate() {
        let path = format!("agents[{i}]");
        let Some(f) = cx.map(item, &path, AGENT_KEYS) else {
            continue;
        };
        check_agent(cx, &f);
        let id = f
            .value("id")
            .or_else(|| f.value("name"))
            .and_then(Yaml::scalar_text)
            .map(str::to_string);
        if let Some(id) = id {
            let span = f.value("id").map_or_else(|| f.key_span("name"), |v| v.span);
            match ids.get(&id) {
                Some(first) => cx.push(
                    Diagnostic::error(BAD_VALUE, format!("the id `{id}` is used twice"), span)
                        .with_secondary(*first, "first used here")
                        .with_help("give each agent its own `name` (or `id`)"),
                ),
                None => {
                    ids.insert(id, span);
                }
            }
        }
    }
}

fn check_agent(cx: &mut Checker, f: &Fields<'_>) {
    if cx.require(f, "name") {
        cx.string(f, "name");
    }
    if let Some(v) = f.value("id")
        && v.as_scalar().is_none()
    {
        cx.bad(format!("`{}` must be a string", f.sub("id")), v.span, None);
    }
    if let Some(v) = f.value("capabilities")
        && v.as_scalar().is_none()
    {
        cx.string_list(f, "capabilities");
    }
    if let Some(v) = f.value("labels")
        && v.as_scalar().is_none()
    {
        cx.string_list(f, "labels");
    }
    cx.number(f, "expertise", 0.0, 1.0);
    cx.number(f, "confidence", 0.0, 1.0);
    cx.string(f, "region");
    cx.int(f, "latencyMs", 0);
    cx.int(f, "maxAnswerBytes", 1);
    let present: Vec<&str> = BEHAVIOURS.iter().copied().filter(|b| f.has(b)).collect();
    match present.as_slice() {
        [] => cx.push(
            Diagnostic::error(
                MISSING_KEY,
                format!("`{}` has no behaviour", f.path),
                f.head(),
            )
            .with_help(format!("give one behaviour: {}", BEHAVIOURS.join(", "))),
        ),
        [one] => behaviour(cx, f, one),
        [first, rest @ ..] => {
            for extra in rest {
                cx.push(
                    Diagnostic::error(
                        BAD_VALUE,
                        format!("`{}` has two behaviours: `{first}` and `{extra}`", f.path),
                        f.key_span(extra),
                    )
                    .with_secondary(f.key_span(first), "the first behaviour")
                    .with_help("give one behaviour per agent"),
                );
            }
        }
    }
    for key in ["mode", "cwd"] {
        if f.has(key) && !f.has("command") {
            cx.bad(
                format!("`{}` applies to `command` agents only", f.sub(key)),
                f.key_span(key),
                None,
            );
        }
    }
    if f.has("command") {
        cx.one_of(f, "mode", MODES);
        cx.string(f, "cwd");
    }
    for key in ["tls", "timeout"] {
        if f.has(key) && !f.has("grpc") {
            cx.bad(
                format!("`{}` applies to `grpc` agents only", f.sub(key)),
                f.key_span(key),
                None,
            );
        }
    }
    if f.has("grpc") {
        cx.int(f, "timeout", 1);
        if let Some(v) = f.value("tls")
            && v.as_bool().is_none()
            && let Some(tf) = cx.map(v, &f.sub("tls"), TLS_KEYS)
        {
            cx.string(&tf, "ca");
            cx.string(&tf, "domain");
        }
    }
}

fn behaviour(cx: &mut Checker, f: &Fields<'_>, which: &str) {
    let Some(v) = f.get(which) else { return };
    let path = f.sub(which);
    match which {
        // A mapping with `value` is `{value, confidence?}`; any other value is the answer.
        "respond" if v.get("value").is_some() => {
            if let Some(rf) = cx.map(v, &path, &["value", "confidence"]) {
                cx.number(&rf, "confidence", 0.0, 1.0);
            }
        }
        "respond" => {}
        "echo" => {
            if v.as_map().is_some() {
                if let Some(ef) = cx.map(v, &path, &["confidence"]) {
                    cx.number(&ef, "confidence", 0.0, 1.0);
                }
            } else if v.as_bool().is_none() && !v.is_null() {
                cx.bad(
                    format!("`{path}` is `true` or `{{confidence: C}}`"),
                    v.span,
                    None,
                );
            }
        }
        "choose" => choose(cx, v, &path),
        "function" => match v.as_str() {
            Some(src) => {
                if crate::parse(&format!("let f = ({src})")).has_errors() {
                    cx.bad(
                        format!("`{path}` does not parse as a Prism function"),
                        v.span,
                        Some("write a lambda such as `(input) => input.text.length ~> 0.9`".into()),
                    );
                }
            }
            None => cx.bad(
                format!("`{path}` is the source of a Prism function (a string)"),
                v.span,
                None,
            ),
        },
        "url" => url(cx, v, &path),
        "grpc" => match v.as_str().map(grpc_address) {
            Some(Ok(())) => {}
            Some(Err(why)) => cx.bad(
                format!("`{path}` {why}"),
                v.span,
                Some("write the agent's host and port, e.g. `grpc: 127.0.0.1:50051`".into()),
            ),
            None => cx.bad(
                format!("`{path}` must be an address such as `127.0.0.1:50051`"),
                v.span,
                None,
            ),
        },
        "command" => {
            let ok = match (v.as_str(), v.as_seq()) {
                (Some(s), _) => !s.trim().is_empty(),
                (_, Some(items)) => {
                    !items.is_empty() && items.iter().all(|x| x.scalar_text().is_some())
                }
                _ => false,
            };
            if !ok {
                cx.bad(
                    format!("`{path}` is a shell command (a string) or a non-empty list of strings (program and arguments)"),
                    v.span,
                    None,
                );
            }
        }
        _ => llm(cx, v, &path),
    }
}

/// `choose`: a non-empty list, or `{values, seed?, confidence?}`.
fn choose(cx: &mut Checker, v: &Yaml, path: &str) {
    let values = if v.as_map().is_some() {
        let Some(cf) = cx.map(v, path, &["values", "seed", "confidence"]) else {
            return;
        };
        cx.require(&cf, "values");
        cx.int(&cf, "seed", 0);
        cx.number(&cf, "confidence", 0.0, 1.0);
        cf.value("values")
    } else {
        Some(v)
    };
    match values.map(|x| (x, x.as_seq())) {
        Some((_, Some(items))) if !items.is_empty() => {}
        Some((x, Some(_))) => cx.bad(format!("`{path}` needs at least one value"), x.span, None),
        Some((x, None)) => cx.bad(
            format!("`{path}` is a list of values or `{{values, seed?, confidence?}}`"),
            x.span,
            None,
        ),
        None => {}
    }
}

/// `llm`: `{endpoint, model, apiKeyEnv?, temperature?}`.
fn llm(cx: &mut Checker, v: &Yaml, path: &str) {
    let Some(lf) = cx.map(v, path, LLM_KEYS) else {
        return;
    };
    for key in ["endpoint", "model"] {
        cx.require(&lf, key);
    }
    if let Some(e) = lf.value("endpoint") {
        url(cx, e, &lf.sub("endpoint"));
    }
    cx.string(&lf, "model");
    if let Some(var) = cx.string(&lf, "apiKeyEnv")
        && (var.is_empty() || var.contains(['$', ' ', '=']))
    {
        cx.bad(
            format!(
                "`{}` names an environment variable, found `{var}`",
                lf.sub("apiKeyEnv")
            ),
            lf.value("apiKeyEnv").map_or(lf.head(), |x| x.span),
            Some("write the variable's name, e.g. `apiKeyEnv: OPENAI_API_KEY`".into()),
        );
    }
    cx.number(&lf, "temperature", 0.0, 2.0);
}

/// Checks a `grpc` address: `host:port`, optionally after `http://` or `https://`.
pub fn grpc_address(text: &str) -> Result<(), String> {
    let rest = text
        .strip_prefix("http://")
        .or_else(|| text.strip_prefix("https://"))
        .unwrap_or(text)
        .trim_end_matches('/');
    if rest.contains("://") {
        return Err(format!(
            "must be host:port (or http:// or https:// and host:port), found `{text}`"
        ));
    }
    let Some((host, port)) = rest.rsplit_once(':') else {
        return Err(format!("needs a port (host:port), found `{text}`"));
    };
    if host.is_empty() || host.contains('/') || port.parse::<u16>().is_err() {
        return Err(format!("must be host:port, found `{text}`"));
    }
    Ok(())
}

fn url(cx: &mut Checker, v: &Yaml, path: &str) {
    match v.as_str() {
        Some(u) if u.starts_with("http://") || u.starts_with("https://") => {}
        Some(u) => cx.bad(
            format!("`{path}` must start with http:// or https://, found `{u}`"),
            v.span,
            None,
        ),
        None => cx.bad(format!("`{path}` must be a URL"), v.span, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes_of(text: &str) -> Vec<(&'static str, String, Option<String>)> {
        check(text)
            .into_iter()
            .map(|d| (d.code, d.message, d.help))
            .collect()
    }

    #[test]
    fn yaml_files_are_told_apart() {
        use YamlContent::*;
        assert_eq!(yaml_content("name: x\ninput:\n  a: string\n"), Pattern);
        assert_eq!(yaml_content("name: x\nstructure:\n  roles: []\n"), Pattern);
        assert_eq!(yaml_content("name: x\noutput: $final\n"), Pattern);
        assert_eq!(
            yaml_content("name: x\nagents:\n  capabilities: [a]\n"),
            Pattern
        );
        assert_eq!(yaml_content("agents:\n  # two\n  - name: a\n"), Agents);
        assert_eq!(yaml_content("agents: []\n"), Agents);
        assert_eq!(
            yaml_content("name: x\non: push\njobs:\n  input: 1\n"),
            Other
        );
        assert_eq!(
            yaml_content("services:\n  web:\n    image: nginx\nname: app\n"),
            Other
        );
        assert_eq!(yaml_content("apiVersion: v1\nkind: Pod\n"), Other);
        assert!(is_agents_file_name(Path::new("dir/agents.yaml")));
        assert!(is_agents_file_name(Path::new("team.agents.yml")));
        assert!(!is_agents_file_name(Path::new("agents.prism")));
    }

    #[test]
    fn a_valid_file_has_no_problems() {
        let text = "agents:\n  - name: a\n    capabilities: [x]\n    respond: {value: yes, confidence: 0.9}\n  - name: b\n    echo: true\n  - name: c\n    command: [python3, agent.py]\n    mode: oneshot\n    cwd: tools\n  - name: d\n    llm: {endpoint: \"http://127.0.0.1:1/v1\", model: m, apiKeyEnv: KEY}\n  - name: e\n    choose: {values: [a, b], seed: 3}\n  - name: f\n    function: \"(input) => 1 ~> 0.5\"\n  - name: g\n    url: http://127.0.0.1:8080\n  - name: h\n    grpc: 127.0.0.1:50051\n    timeout: 500\n  - name: i\n    grpc: https://agents.example.com:443\n    tls: {ca: ca.pem, domain: agents.example.com}\n";
        assert_eq!(codes_of(text), vec![]);
    }

    #[test]
    fn problems_have_spans_and_suggestions() {
        let text = "agents:\n  - name: a\n    capabilites: [x]\n    echo: true\n";
        let d = check(text);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].code, UNKNOWN_KEY);
        assert_eq!(d[0].help.as_deref(), Some("did you mean `capabilities`?"));
        let span = d[0].primary_span();
        assert_eq!(&text[span.start as usize..span.end as usize], "capabilites");
        for (text, code, what) in [
            ("agents:\n  - name: a\n", MISSING_KEY, "has no behaviour"),
            (
                "agents:\n  - name: a\n    echo: true\n    url: http://x\n",
                BAD_VALUE,
                "two behaviours",
            ),
            (
                "agents:\n  - capabilities: [x]\n    echo: true\n",
                MISSING_KEY,
                "`agents[0].name`",
            ),
            ("agents: 3\n", BAD_VALUE, "must be a list"),
            ("agent:\n  - name: a\n", UNKNOWN_KEY, "`agent`"),
            (
                "agents:\n  - name: a\n    expertise: 2\n    echo: true\n",
                BAD_VALUE,
                "between 0 and 1",
            ),
            (
                "agents:\n  - name: a\n    mode: lines\n    echo: true\n",
                BAD_VALUE,
                "`command` agents only",
            ),
            (
                "agents:\n  - name: a\n    command: x\n    mode: once\n",
                BAD_VALUE,
                "not allowed",
            ),
            (
                "agents:\n  - name: a\n    llm: {model: m}\n",
                MISSING_KEY,
                "llm.endpoint",
            ),
            (
                "agents:\n  - name: a\n    url: ftp://x\n",
                BAD_VALUE,
                "http://",
            ),
            (
                "agents:\n  - name: a\n    echo: true\n  - name: a\n    echo: true\n",
                BAD_VALUE,
                "used twice",
            ),
            (
                "agents:\n  - name: a\n    function: \"(x) =>\"\n",
                BAD_VALUE,
                "does not parse",
            ),
            ("agents: [\n", SYNTAX, ""),
            (
                "agents:\n  - name: a\n    grpc: 127.0.0.1\n",
                BAD_VALUE,
                "needs a port",
            ),
            (
                "agents:\n  - name: a\n    echo: true\n    timeout: 5\n",
                BAD_VALUE,
                "`grpc` agents only",
            ),
            (
                "agents:\n  - name: a\n    grpc: h:1\n    tls: {cert: x}\n",
                UNKNOWN_KEY,
                "`cert`",
            ),
        ] {
            let d = codes_of(text);
            assert!(
                d.iter().any(|(c, m, _)| *c == code && m.contains(what)),
                "{text}: {d:?}"
            );
        }
        assert_eq!(
            codes_of("agent:\n  - name: a\n")[0].2.as_deref(),
            Some("did you mean `agents`?")
        );
    }
}
