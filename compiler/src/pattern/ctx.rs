//! The loading context: the diagnostics collected so far, and every place where the file
//! embeds an expression (a [`Site`]), which [`crate::pattern::refs`] checks once all names
//! are known. Also walks value trees (`output`, step `input`, …) and their helpers.

use serde_json::Value;

use crate::pattern::check::{Checker, suggest};
use crate::pattern::codes;
use crate::pattern::yaml::Yaml;
use crate::plan::compiled::CompiledExpr;
use crate::plan::output::OutputValue;
use crate::span::Span;

/// The output helpers (§1.9).
pub const HELPERS: &[&str] = &[
    "$template",
    "$switch",
    "$filter",
    "$map",
    "$formula",
    "$min",
    "$max",
    "$average",
    "$sum",
    "$all",
    "$any",
];

/// How an embedded text is read.
#[derive(Debug, Clone, PartialEq)]
pub enum SiteKind {
    /// A value: an expression when it starts with `$` (not `$$`), else a literal.
    Value,
    /// Always an expression (`match`, `condition`, …); bare names are not checked.
    Expr,
    /// An expression whose bare names must be in `names` (`$formula`: the sibling keys;
    /// `fallback.condition`, confidence expressions: their documented names).
    Names {
        /// The names in scope.
        names: Vec<String>,
        /// What the names are, for the message (`sibling keys`, …).
        what: &'static str,
    },
    /// A `$template` string with `{{expr}}` holes.
    Template,
}

/// What is in scope at a site besides the pattern-wide names.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scope {
    /// The alias of the enclosing step's aggregation (`vote`, …).
    pub step_alias: Option<&'static str>,
    /// Inside a step (so `$result` means the step's aggregated value).
    pub in_step: bool,
    /// `$item` / `$index` are bound (batch tasks, `$filter`, `$map`).
    pub items: bool,
}

/// One embedded expression or value.
#[derive(Debug, Clone, PartialEq)]
pub struct Site {
    /// The text as YAML gave it.
    pub text: String,
    /// The span of the YAML scalar.
    pub span: Span,
    /// How to read it.
    pub kind: SiteKind,
    /// Extra names in scope.
    pub scope: Scope,
    /// Where it is (`output.summary`), for messages.
    pub path: String,
}

/// A name the pattern defines: a step id, a step's output name, a group, an assigned value.
#[derive(Debug, Clone, PartialEq)]
pub struct Defined {
    /// The name (without `$`).
    pub name: String,
    /// Where it is defined.
    pub span: Span,
    /// What defines it (`step`, `output`, `group`, `value`).
    pub what: &'static str,
}

/// Loader state for one file.
#[derive(Debug)]
pub struct Ctx<'s> {
    /// Names the pattern defines, in order.
    pub defined: Vec<Defined>,
    /// Where each name is in `defined` (a pattern of thousands of steps looks names up in
    /// constant time).
    by_name: std::collections::HashMap<String, Vec<usize>>,
    /// Diagnostics.
    pub cx: Checker,
    /// Expression sites found so far.
    pub sites: Vec<Site>,
    /// The file's text.
    pub source: &'s str,
    /// The scope new sites get.
    pub scope: Scope,
    /// Expressions already compiled (the output's), by text: the check reads their parse
    /// instead of parsing them again.
    pub compiled: std::collections::HashMap<String, CompiledExpr>,
}

impl<'s> Ctx<'s> {
    /// A fresh context for `source`.
    pub fn new(source: &'s str) -> Self {
        Ctx {
            defined: Vec::new(),
            by_name: std::collections::HashMap::new(),
            cx: Checker::default(),
            sites: Vec::new(),
            source,
            scope: Scope::default(),
            compiled: std::collections::HashMap::new(),
        }
    }

    /// Records a name the pattern defines.
    pub fn define(&mut self, name: &str, span: Span, what: &'static str) {
        self.by_name
            .entry(name.to_string())
            .or_default()
            .push(self.defined.len());
        self.defined.push(Defined {
            name: name.to_string(),
            span,
            what,
        });
    }

    /// Is `name` defined (as anything)?
    pub fn is_defined(&self, name: &str) -> bool {
        self.by_name.contains_key(name)
    }

    /// The first definition of `name` as a `what` (`step`, `group`, …).
    pub fn defined_as(&self, name: &str, what: &str) -> Option<&Defined> {
        self.by_name
            .get(name)?
            .iter()
            .filter_map(|&i| self.defined.get(i))
            .find(|d| d.what == what)
    }

    /// Records an expression site for a scalar node (other nodes are a bad value).
    pub fn site(&mut self, node: &Yaml, kind: SiteKind, path: &str) -> Option<String> {
        let Some(text) = node.scalar_text() else {
            if !node.is_null() {
                self.cx.bad(
                    format!(
                        "`{path}` must be an expression (a string), found {}",
                        node.type_name()
                    ),
                    node.span,
                    None,
                );
            }
            return None;
        };
        self.sites.push(Site {
            text: text.to_string(),
            span: node.span,
            kind,
            scope: self.scope.clone(),
            path: path.to_string(),
        });
        Some(text.to_string())
    }

    /// Walks a free-form value (output, step input, assign values, …): `$` strings are
    /// expressions and single-key `$helper` mappings compute values. Returns it as JSON.
    pub fn value_tree(&mut self, node: &Yaml, path: &str) -> Value {
        if let Some(s) = node.as_scalar() {
            if node.as_str().is_some() && s.text.starts_with('$') && !s.text.starts_with("$$") {
                self.site(node, SiteKind::Value, path);
            }
            return node.to_json();
        }
        if let Some(items) = node.as_seq() {
            for (i, item) in items.iter().enumerate() {
                self.value_tree(item, &format!("{path}[{i}]"));
            }
            return node.to_json();
        }
        let Some(entries) = node.as_map() else {
            return node.to_json();
        };
        let siblings: Vec<String> = entries
            .iter()
            .filter_map(|(k, _)| k.key_text().map(str::to_string))
            .collect();
        for (k, v) in entries {
            let Some(key) = k.key_text() else { continue };
            let sub = format!("{path}.{key}");
            if key.starts_with('$') && !key.starts_with("$$") {
                if entries.len() == 1 && HELPERS.contains(&key) {
                    self.helper(key, v, &sub, path, &siblings);
                } else if HELPERS.contains(&key) {
                    self.cx.bad(
                        format!(
                            "a helper mapping has exactly one key; `{path}` has {}",
                            entries.len()
                        ),
                        k.span,
                        None,
                    );
                } else {
                    self.cx.unknown_key(key, k.span, path, HELPERS);
                }
                continue;
            }
            match v.as_map() {
                Some([(hk, hv)]) if hk.key_text() == Some("$formula") => {
                    let names: Vec<String> = siblings
                        .iter()
                        .filter(|s| s.as_str() != key)
                        .cloned()
                        .collect();
                    self.site(
                        hv,
                        SiteKind::Names {
                            names,
                            what: "sibling keys",
                        },
                        &format!("{sub}.$formula"),
                    );
                }
                _ => {
                    self.value_tree(v, &sub);
                }
            }
        }
        node.to_json()
    }

    /// Checks a free-form value (the `output`, a step's input or output shape, a record
    /// literal, …) as [`Ctx::value_tree`] does and builds its typed tree, its expressions
    /// compiled once (the check of its sites reuses them).
    pub fn typed_value(&mut self, node: &Yaml, path: &str) -> OutputValue {
        self.value_tree(node, path);
        self.tree_of(node)
    }

    /// The typed tree of a value already checked, its expressions compiled once (the check of
    /// its sites reuses them).
    pub fn tree_of(&mut self, node: &Yaml) -> OutputValue {
        let tree = OutputValue::from_yaml(node);
        for e in tree.exprs() {
            self.compiled
                .entry(e.text().to_string())
                .or_insert_with(|| e.compiled.clone());
        }
        tree
    }

    fn helper(&mut self, key: &str, v: &Yaml, path: &str, parent: &str, siblings: &[String]) {
        match key {
            "$template" => {
                self.site(v, SiteKind::Template, path);
            }
            "$formula" => {
                // A `$formula` directly at a value's top: its siblings are the keys beside it.
                let _ = (parent, siblings);
                self.site(
                    v,
                    SiteKind::Names {
                        names: Vec::new(),
                        what: "sibling keys",
                    },
                    path,
                );
            }
            "$switch" => {
                let Some(f) = self.cx.map(v, path, &["value", "cases", "default"]) else {
                    return;
                };
                if self.cx.require(&f, "value")
                    && let Some(val) = f.value("value")
                {
                    self.site(val, SiteKind::Expr, &f.sub("value"));
                }
                if let Some(cases) = f.value("cases")
                    && let Some(entries) = self.cx.any_map(cases, &f.sub("cases"))
                {
                    for (ck, cv) in entries {
                        let label = ck.key_text().unwrap_or_default();
                        self.value_tree(cv, &format!("{path}.cases.{label}"));
                    }
                }
                if let Some(d) = f.get("default") {
                    self.value_tree(d, &f.sub("default"));
                }
            }
            "$filter" | "$map" => {
                let body = if key == "$filter" {
                    "condition"
                } else {
                    "transform"
                };
                let Some(f) = self.cx.map(v, path, &["items", body]) else {
                    return;
                };
                if self.cx.require(&f, "items")
                    && let Some(items) = f.value("items")
                {
                    self.value_tree(items, &f.sub("items"));
                }
                let saved = self.scope.items;
                self.scope.items = true;
                if self.cx.require(&f, body)
                    && let Some(b) = f.value(body)
                {
                    self.expr_tree(b, &f.sub(body));
                }
                self.scope.items = saved;
            }
            _ => {
                // $min $max $average $sum $all $any: a list, or a reference to one.
                if let Some(items) = v.as_seq() {
                    for (i, item) in items.iter().enumerate() {
                        self.value_tree(item, &format!("{path}[{i}]"));
                    }
                } else if v.as_scalar().is_some() {
                    self.site(v, SiteKind::Expr, path);
                } else {
                    self.cx.bad(
                        format!("`{path}` takes a list or a reference to one"),
                        v.span,
                        None,
                    );
                }
            }
        }
    }

    /// A tree whose string leaves are all expressions (`$map` transforms).
    pub fn expr_tree(&mut self, node: &Yaml, path: &str) {
        if node.as_scalar().is_some() {
            if !node.is_null() && node.as_str().is_some() {
                self.site(node, SiteKind::Expr, path);
            }
        } else if let Some(items) = node.as_seq() {
            for (i, item) in items.iter().enumerate() {
                self.expr_tree(item, &format!("{path}[{i}]"));
            }
        } else if let Some(entries) = node.as_map() {
            for (k, v) in entries {
                let key = k.key_text().unwrap_or_default();
                self.expr_tree(v, &format!("{path}.{key}"));
            }
        }
    }

    /// Reports a key the spec documents but we reject, with a reason.
    pub fn rejected_key(&mut self, key: &str, span: Span, path: &str, why: &str) {
        let what = if path.is_empty() {
            "the pattern".to_string()
        } else {
            format!("`{path}`")
        };
        self.cx.push(
            crate::diagnostic::Diagnostic::error(
                codes::UNKNOWN_KEY,
                format!("unknown key `{key}` in {what}"),
                span,
            )
            .with_help(why.to_string()),
        );
    }

    /// Suggests among `candidates` for a misspelt name.
    pub fn did_you_mean<'c>(
        name: &str,
        candidates: impl IntoIterator<Item = &'c str>,
    ) -> Option<String> {
        suggest(name, candidates).map(|s| format!("did you mean `{s}`?"))
    }
}
