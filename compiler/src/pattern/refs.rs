//! Reference checks (§1.9): every `$name` of every expression site must be a built-in, an
//! aggregation alias the pattern has, or a name the pattern defines; bare names of
//! `$formula`, `fallback.condition` and confidence expressions must be in their scope.

use crate::diagnostic::Diagnostic;
use crate::pattern::chain;
use crate::pattern::check::suggest;
use crate::pattern::codes;
use crate::pattern::ctx::{Ctx, Site, SiteKind};
use crate::pattern::expr::{self, Scan};
use crate::pattern::fields::known_fields;
use crate::pattern::yaml::Yaml;
use crate::plan::compiled::CompiledExpr;
use crate::span::Span;

/// Built-in references available in every YAML pattern.
pub const BUILTINS: &[&str] = &[
    "input",
    "results",
    "validResults",
    "totalCount",
    "avgConfidence",
    "averageConfidence",
    "execution",
    "validation",
    "final",
    "result",
    "steps",
    "aggregation",
];
/// Aggregation aliases.
pub const ALIASES: &[&str] = &["vote", "consensus", "merged", "first", "best", "aggregated"];
/// Fields of `$execution`.
pub const EXECUTION_FIELDS: &[&str] = &[
    "agentCount",
    "duration",
    "startedAt",
    "attempt",
    "id",
    "pattern",
    "version",
];
/// Functions and globals a bare name may always use.
const GLOBALS: &[&str] = &[
    "Math",
    "JSON",
    "Object",
    "Array",
    "String",
    "Number",
    "Boolean",
    "Date",
    "min",
    "max",
    "abs",
    "round",
    "floor",
    "ceil",
    "sqrt",
    "pow",
    "average",
    "sum",
    "count",
    "len",
    "length",
    "now",
    "parseInt",
    "parseFloat",
    "isNaN",
    "synthesize",
    "majorityVote",
    "print",
];

/// What the pattern as a whole provides.
#[derive(Debug, Clone, Default)]
pub struct Provided {
    /// The strategy of the top-level aggregation, if any.
    pub top_strategy: Option<String>,
    /// The top-level aggregation's alias.
    pub top_alias: Option<&'static str>,
    /// True when the pattern has `steps`.
    pub has_steps: bool,
    /// The input field names (for "did you mean `$input.x`").
    pub input_fields: Vec<String>,
}

/// Checks every site recorded in `ctx` (`root` is the pattern's YAML tree), and warns where
/// user names shadow built-ins.
pub fn check(ctx: &mut Ctx<'_>, p: &Provided, root: Option<&Yaml>) {
    shadowing(ctx);
    let sites = std::mem::take(&mut ctx.sites);
    for site in &sites {
        check_site(ctx, site, p, root);
    }
    ctx.sites = sites;
}

fn shadowing(ctx: &mut Ctx<'_>) {
    let mut seen: std::collections::HashSet<&str> = std::collections::HashSet::new();
    let mut out = Vec::new();
    for d in &ctx.defined {
        if !seen.insert(&d.name) {
            continue;
        }
        if d.name == "input" {
            out.push(
                Diagnostic::error(
                    codes::BAD_VALUE,
                    format!("the {} name `input` would hide `$input`", d.what),
                    d.span,
                )
                .with_help("`$input` cannot be shadowed; choose another name"),
            );
        } else if BUILTINS.contains(&d.name.as_str()) || ALIASES.contains(&d.name.as_str()) {
            out.push(
                Diagnostic::warning(
                    codes::SHADOW,
                    format!(
                        "the {} name `{}` shadows the built-in `${}`",
                        d.what, d.name, d.name
                    ),
                    d.span,
                )
                .with_label("`$".to_string() + &d.name + "` now means this"),
            );
        }
    }
    ctx.cx.diags.extend(out);
}

/// Where `text` starts in the file, if it appears verbatim inside the scalar's span.
fn base_of(source: &str, site: &Site) -> Option<usize> {
    let (s, e) = (site.span.start as usize, site.span.end as usize);
    source.get(s..e)?.find(site.text.as_str()).map(|i| s + i)
}

fn check_site(ctx: &mut Ctx<'_>, site: &Site, p: &Provided, root: Option<&Yaml>) {
    let base = base_of(ctx.source, site);
    match &site.kind {
        SiteKind::Value if !site.text.starts_with('$') || site.text.starts_with("$$") => {}
        SiteKind::Template => {
            for (s, e) in expr::template_holes(&site.text) {
                check_expr(
                    ctx,
                    site,
                    &site.text[s..e],
                    base.map(|b| b + s),
                    p,
                    None,
                    root,
                );
            }
        }
        SiteKind::Names { names, what } => {
            check_expr(ctx, site, &site.text, base, p, Some((names, what)), root)
        }
        _ => check_expr(ctx, site, &site.text, base, p, None, root),
    }
}

/// `$name.field` where `$name`'s record is known and has no `field`: an error when nothing
/// else can follow (`$execution`), else a warning when `field` looks like a typo of a field
/// (`$vote.winer`), since other paths read into the value.
fn unknown_field(name: &str, field: &str, root: Option<&Yaml>) -> Option<Diagnostic> {
    let known = known_fields(name, root)?;
    if known.fields.iter().any(|f| f == field) {
        return None;
    }
    let close = suggest(field, known.fields.iter().map(String::as_str));
    let message = format!("{} has no field `{field}`", known.what);
    match (close, known.exact) {
        (Some(s), exact) => {
            let help = format!("did you mean `${name}.{s}`?");
            Some(if exact {
                Diagnostic::error(codes::UNKNOWN_FIELD, message, Span::default()).with_help(help)
            } else {
                Diagnostic::warning(
                    codes::UNKNOWN_FIELD,
                    format!("`${name}.{field}`: {message}; the path reads into its value, which is null unless the value has `{field}`"),
                    Span::default(),
                )
                .with_help(help)
            })
        }
        (None, true) => Some(
            Diagnostic::error(codes::UNKNOWN_FIELD, message, Span::default())
                .with_help(format!("fields: {}", known.fields.join(", "))),
        ),
        (None, false) => None,
    }
}

fn check_expr(
    ctx: &mut Ctx<'_>,
    site: &Site,
    text: &str,
    base: Option<usize>,
    p: &Provided,
    bare: Option<(&Vec<String>, &&'static str)>,
    root: Option<&Yaml>,
) {
    let scan: Scan = expr::scan(text);
    let at = |s: usize, e: usize| match base {
        Some(b) => Span::new(b + s, b + e),
        None => site.span,
    };
    for r in &scan.refs {
        if let Some(d) = unknown_ref(ctx, site, &r.name, r.field.as_deref(), p) {
            ctx.cx.push(d.relabel(at(r.start, r.end)));
        } else if let Some(field) = r.field.as_deref()
            && let Some(d) = unknown_field(&r.name, field, root)
        {
            let end = (r.end + 1 + field.len()).min(text.len());
            ctx.cx.push(d.relabel(at(r.start, end)));
        }
    }
    if let Some((names, what)) = bare {
        for b in &scan.bare {
            if names.contains(&b.name) || GLOBALS.contains(&b.name.as_str()) {
                continue;
            }
            let mut d = Diagnostic::error(
                codes::UNKNOWN_NAME,
                format!("unknown name `{}` in `{}`", b.name, site.path),
                at(b.start, b.end),
            )
            .with_label(format!("not one of the {what}"));
            let listed = if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            };
            d = if p.input_fields.contains(&b.name) {
                d.with_help(format!(
                    "did you mean `$input.{}`? ({what}: {listed})",
                    b.name
                ))
            } else if let Some(s) = Ctx::did_you_mean(&b.name, names.iter().map(String::as_str)) {
                d.with_help(s)
            } else {
                d.with_help(format!("{what}: {listed}"))
            };
            ctx.cx.push(d);
        }
    }
    for at_dollar in chain::stray_dollars(text) {
        ctx.cx.push(
            Diagnostic::error(
                codes::UNKNOWN_REF,
                format!("`$` starts no reference in `{}`", site.path),
                at(at_dollar, at_dollar + 1),
            )
            .with_label("a name must follow `$`")
            .with_help(
                "references are `$name` or `$name.path` (`$input.x`, `$step.confidence`); write `$$` for a literal `$` at the start of a value",
            ),
        );
    }
    // The syntax, where the text can be placed in the file; else against the scalar's span.
    let found = expr::check_syntax(text, &scan, base.unwrap_or(0));
    let found_any = !found.is_empty();
    if base.is_some() {
        ctx.cx.diags.extend(found);
    } else {
        ctx.cx.diags.extend(found.into_iter().map(|mut d| {
            for l in &mut d.labels {
                l.span = site.span;
            }
            d
        }));
    }
    // Then the text exactly as the executor parses it: what passes here parses at run time.
    if !found_any {
        let error = match ctx.compiled.get(text) {
            Some(compiled) => compiled.program().err().cloned(),
            None => CompiledExpr::compile(text).program().err().cloned(),
        };
        if let Some(e) = error {
            ctx.cx.push(
                Diagnostic::error(
                    e.code,
                    format!("`{}` is not a valid expression: {}", site.path, e.message),
                    at(0, text.len()),
                )
                .with_help("YAML expressions are single Prism expressions (`language.md`)"),
            );
        }
    }
}

trait Relabel {
    fn relabel(self, span: Span) -> Self;
}

impl Relabel for Diagnostic {
    fn relabel(mut self, span: Span) -> Self {
        if let Some(l) = self.labels.iter_mut().find(|l| l.primary) {
            l.span = span;
        }
        self
    }
}

/// The diagnostic for `$name` at `site`, or `None` when the name is known.
fn unknown_ref(
    ctx: &Ctx<'_>,
    site: &Site,
    name: &str,
    field: Option<&str>,
    p: &Provided,
) -> Option<Diagnostic> {
    if ctx.is_defined(name) {
        return None;
    }
    let err = |msg: String| Diagnostic::error(codes::UNKNOWN_REF, msg, site.span);
    match name {
        "item" | "index" if site.scope.items => None,
        "item" | "index" => Some(err(format!("`${name}` is only bound inside a batch task, `$filter` or `$map`"))),
        "steps" if !p.has_steps => Some(err("`$steps` used, but the pattern has no `steps`".into())),
        "aggregation" if p.top_alias.is_none() && site.scope.step_alias.is_none() => Some(
            err(format!("`$aggregation{}` used, but the pattern has no `aggregation`", field.map(|f| format!(".{f}")).unwrap_or_default()))
                .with_help("add an `aggregation` (voting, consensus, merge, first, best), or compute the value in `output`"),
        ),
        _ if BUILTINS.contains(&name) => None,
        _ if ALIASES.contains(&name) => {
            if p.top_alias == Some(alias(name)) || site.scope.step_alias == Some(alias(name)) {
                return None;
            }
            let why = match &p.top_strategy {
                Some(s) => format!("`${name}` used, but aggregation.strategy is {s}"),
                None => format!("`${name}` used, but the pattern has no `aggregation`"),
            };
            let needs = match name {
                "vote" => "voting",
                "merged" => "merge",
                "aggregated" => "per-field `fields`",
                other => other,
            };
            Some(err(why).with_help(format!("`${name}` is the record of a {needs} aggregation")))
        }
        "metadata" => {
            let target = match field {
                Some(f) if EXECUTION_FIELDS.contains(&f) => format!("$execution.{f}"),
                _ => "$execution".to_string(),
            };
            Some(
                err(format!("unknown reference `$metadata{}`", field.map(|f| format!(".{f}")).unwrap_or_default()))
                    .with_help(format!("did you mean `{target}`?")),
            )
        }
        _ => {
            let mut known: Vec<&str> = ctx.defined.iter().map(|d| d.name.as_str()).collect();
            known.extend(BUILTINS);
            known.extend(p.top_alias);
            let d = err(format!("unknown reference `${name}`"));
            Some(match Ctx::did_you_mean(name, known) {
                Some(s) => d.with_help(s.replacen('`', "`$", 1)),
                None => d.with_help("references name input fields (`$input.x`), steps, step outputs, groups, or built-ins like `$validResults`"),
            })
        }
    }
}

fn alias(name: &str) -> &'static str {
    ALIASES.iter().copied().find(|a| *a == name).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pattern::ctx::Scope;

    fn site(text: &str, kind: SiteKind) -> Site {
        Site {
            text: text.into(),
            span: Span::new(0, text.len()),
            kind,
            scope: Scope::default(),
            path: "output.x".into(),
        }
    }

    fn run(sites: Vec<Site>, p: &Provided) -> Vec<(String, &'static str)> {
        let src = sites.first().map(|s| s.text.clone()).unwrap_or_default();
        let mut ctx = Ctx::new(&src);
        ctx.define("summary", Span::default(), "group");
        ctx.sites = sites;
        check(&mut ctx, p, None);
        ctx.cx
            .diags
            .into_iter()
            .map(|d| (d.message, d.code))
            .collect()
    }

    #[test]
    fn aliases_need_their_aggregation() {
        let p = Provided {
            top_strategy: Some("consensus".into()),
            top_alias: Some("consensus"),
            ..Provided::default()
        };
        let d = run(vec![site("$vote.result", SiteKind::Value)], &p);
        assert_eq!(
            d,
            vec![(
                "`$vote` used, but aggregation.strategy is consensus".to_string(),
                codes::UNKNOWN_REF
            )]
        );
        assert!(
            run(
                vec![site("$consensus.result && $summary.x", SiteKind::Value)],
                &p
            )
            .is_empty()
        );
    }

    #[test]
    fn metadata_suggests_execution() {
        let d = run(
            vec![site("$metadata.duration", SiteKind::Value)],
            &Provided::default(),
        );
        assert_eq!(d[0].1, codes::UNKNOWN_REF);
    }

    #[test]
    fn formula_names_are_siblings() {
        let kind = SiteKind::Names {
            names: vec!["entities".into(), "invalid".into()],
            what: "sibling keys",
        };
        let d = run(
            vec![site("valid.length / (valid.length + invalid.length)", kind)],
            &Provided::default(),
        );
        assert_eq!(d.len(), 2);
        assert!(d.iter().all(|(_, c)| *c == codes::UNKNOWN_NAME));
    }

    #[test]
    fn literals_are_not_references() {
        assert!(
            run(
                vec![site("$$5", SiteKind::Value), site("plain", SiteKind::Value)],
                &Provided::default()
            )
            .is_empty()
        );
    }
}
