//! Binding patterns (declarations, parameters, destructuring) and `match` patterns.

use crate::ast::*;

use super::Formatter;
use super::doc::{Doc, concat, text};
use super::expr::{ASSIGN, Elem, ListStyle, POSTFIX, key_literal};

impl Formatter<'_> {
    /// A binding pattern. `as_expression`: the pattern of a destructuring assignment, which is
    /// read as an array or object literal, so `{a = 1}` must be written `{a: a = 1}`.
    pub(super) fn pattern(&mut self, p: &Pattern, as_expression: bool) -> Doc {
        match p {
            Pattern::Ident(id) => text(id.name.to_string()),
            Pattern::Array { elems, rest, .. } => {
                let mut items: Vec<Elem> = elems
                    .iter()
                    .map(|e| match e {
                        None => Elem::hole(),
                        Some(e) => self.element(None, |f| {
                            let t = f.pattern(&e.target, as_expression);
                            f.pattern_suffix(t, e.threshold.as_ref(), e.default.as_ref())
                        }),
                    })
                    .collect();
                if let Some(r) = rest {
                    items.push(self.element(None, |f| {
                        concat(vec![text("..."), f.pattern(r, as_expression)])
                    }));
                }
                self.list("[", "]", items, 0, ListStyle::default())
            }
            Pattern::Object { props, rest, .. } => {
                let mut items: Vec<Elem> = props
                    .iter()
                    .map(|p| {
                        self.element(None, |f| {
                            let shorthand = matches!(&p.target, Pattern::Ident(t) if t.name == p.key.name)
                                && (!as_expression
                                    || (p.default.is_none() && p.threshold.is_none()));
                            let base = if shorthand {
                                text(p.key.name.to_string())
                            } else {
                                concat(vec![
                                    text(key_literal(&p.key.name)),
                                    text(": "),
                                    f.pattern(&p.target, as_expression),
                                ])
                            };
                            f.pattern_suffix(base, p.threshold.as_ref(), p.default.as_ref())
                        })
                    })
                    .collect();
                if let Some(r) = rest {
                    items.push(self.element(None, |_| text(format!("...{}", r.name))));
                }
                self.list("{", "}", items, 0, ListStyle::default())
            }
        }
    }

    /// `target ~> threshold = default`
    fn pattern_suffix(
        &mut self,
        target: Doc,
        threshold: Option<&Expr>,
        default: Option<&Expr>,
    ) -> Doc {
        let mut parts = vec![target];
        if let Some(t) = threshold {
            parts.push(text(" ~> "));
            parts.push(self.expr(t, POSTFIX));
        }
        if let Some(d) = default {
            parts.push(text(" = "));
            parts.push(self.expr(d, ASSIGN));
        }
        concat(parts)
    }

    /// A pattern of a `match` arm.
    pub(super) fn match_pattern(&mut self, p: &MatchPattern) -> Doc {
        match p {
            MatchPattern::Wildcard(_) => text("_"),
            MatchPattern::Binding(id) => text(id.name.to_string()),
            MatchPattern::Literal(e) => match &e.kind {
                ExprKind::Number(_) | ExprKind::String(_) => {
                    let t = self.slice(e.span);
                    match t.strip_prefix('-') {
                        Some(rest) => text(format!("-{}", rest.trim_start())),
                        None => text(t.to_string()),
                    }
                }
                _ => self.expr(e, ASSIGN),
            },
            MatchPattern::Array { elems, rest, .. } => {
                let mut items: Vec<Elem> = elems
                    .iter()
                    .map(|e| {
                        self.element(None, |f| {
                            let p = f.match_pattern(&e.pattern);
                            f.pattern_suffix(p, e.threshold.as_ref(), None)
                        })
                    })
                    .collect();
                if let Some(r) = rest {
                    items.push(self.element(None, |_| text(format!("...{}", r.name))));
                }
                self.list("[", "]", items, 0, ListStyle::default())
            }
            MatchPattern::Object { props, rest, .. } => {
                let mut items: Vec<Elem> = props
                    .iter()
                    .map(|p| {
                        self.element(None, |f| {
                            let base = match &p.pattern {
                                None => text(p.key.name.to_string()),
                                Some(inner) => concat(vec![
                                    text(format!("{}: ", p.key.name)),
                                    f.match_pattern(inner),
                                ]),
                            };
                            f.pattern_suffix(base, p.threshold.as_ref(), None)
                        })
                    })
                    .collect();
                if let Some(r) = rest {
                    items.push(self.element(None, |_| text(format!("...{}", r.name))));
                }
                self.list("{", "}", items, 0, ListStyle::default())
            }
        }
    }
}
