//! Static confidence: what the `~` operators propagate when every operand's confidence is
//! known from literals (`let a = 1 ~> 0.9; let b = 2 ~> 0.6; a + b` is `~0.60`). Used for
//! inlay hints; unknown stays unknown (calls, member access, names assigned twice).

use std::collections::HashMap;

use crate::ast::*;

use super::{Analysis, SymbolId, Target};

/// A hint: the byte offset after an expression and its statically known confidence.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConfidenceHint {
    pub offset: usize,
    pub confidence: f64,
}

/// The confidence of each top-level expression of a statement (declaration initialisers,
/// assignments, expression statements, returns) that involves confidence and is known.
pub fn confidence_hints(a: &Analysis) -> Vec<ConfidenceHint> {
    let mut cx = Cx {
        a,
        known: HashMap::new(),
        hints: Vec::new(),
    };
    for s in &a.program.stmts {
        cx.stmt(s);
    }
    cx.hints
}

struct Cx<'a> {
    a: &'a Analysis,
    /// Confidence of single-assignment symbols, in source order.
    known: HashMap<SymbolId, f64>,
    hints: Vec<ConfidenceHint>,
}

/// A value's static confidence, and whether confidence was involved at all.
#[derive(Clone, Copy)]
struct Conf {
    c: f64,
    involved: bool,
}

impl Cx<'_> {
    fn symbol_at(&self, span: crate::Span) -> Option<SymbolId> {
        match self.a.occurrence_at(span.start as usize)?.target {
            Target::Symbol(id) => Some(id),
            _ => None,
        }
    }

    fn hint(&mut self, e: &Expr, trivial_ok: bool) -> Option<Conf> {
        let c = self.eval(e);
        if let Some(c) = c {
            let trivial = matches!(e.kind, ExprKind::Attach { .. } | ExprKind::Ident(_));
            if c.involved && (trivial_ok || !trivial) {
                self.hints.push(ConfidenceHint {
                    offset: e.span.end as usize,
                    confidence: c.c,
                });
            }
        }
        c
    }

    fn stmt(&mut self, s: &Stmt) {
        match &s.kind {
            StmtKind::Decl { decls, .. } => {
                for d in decls {
                    let Some(init) = &d.init else { continue };
                    let c = self.hint(init, false);
                    if let (Pattern::Ident(id), Some(c)) = (&d.target, c)
                        && let Some(sid) = self.symbol_at(id.span)
                        && self.a.symbols[sid].writes == 0
                    {
                        self.known.insert(sid, c.c);
                    }
                }
            }
            StmtKind::Expr(e) => {
                if let ExprKind::Assign {
                    op: AssignOp::Assign,
                    target,
                    value,
                } = &e.kind
                {
                    let c = self.hint(value, false);
                    if let (ExprKind::Ident(_), Some(c)) = (&target.kind, c)
                        && let Some(sid) = self.symbol_at(target.span)
                        && self.a.symbols[sid].writes == 0
                        && self.a.symbols[sid].span == target.span
                    {
                        self.known.insert(sid, c.c);
                    }
                } else {
                    self.hint(e, false);
                }
            }
            StmtKind::Return(Some(e)) => {
                self.hint(e, false);
            }
            StmtKind::Function(f) => self.body(&f.body),
            StmtKind::ExportDecl(inner) => self.stmt(inner),
            StmtKind::Block(b) => self.block(b),
            StmtKind::If {
                then, otherwise, ..
            } => {
                self.stmt(then);
                if let Some(o) = otherwise {
                    self.stmt(o);
                }
            }
            StmtKind::While { body, .. }
            | StmtKind::DoWhile { body, .. }
            | StmtKind::For { body, .. }
            | StmtKind::ForIn { body, .. } => self.stmt(body),
            StmtKind::UncertainIf { branches, .. }
            | StmtKind::UncertainWhile { branches, .. }
            | StmtKind::UncertainFor { branches, .. } => {
                for b in [
                    &branches.high,
                    &branches.medium,
                    &branches.low,
                    &branches.default,
                ]
                .into_iter()
                .flatten()
                {
                    self.block(b);
                }
            }
            StmtKind::Try {
                body,
                catch,
                finally,
            } => {
                self.block(body);
                if let Some(c) = catch {
                    self.block(&c.body);
                }
                if let Some(f) = finally {
                    self.block(f);
                }
            }
            _ => {}
        }
    }

    fn block(&mut self, b: &Block) {
        for s in &b.stmts {
            self.stmt(s);
        }
    }

    fn body(&mut self, b: &FunctionBody) {
        if let FunctionBody::Block(b) = b {
            self.block(b);
        }
    }

    fn eval(&self, e: &Expr) -> Option<Conf> {
        let plain = Some(Conf {
            c: 1.0,
            involved: false,
        });
        match &e.kind {
            ExprKind::Number(_)
            | ExprKind::String(_)
            | ExprKind::Bool(_)
            | ExprKind::Null
            | ExprKind::Undefined => plain,
            ExprKind::Ident(_) => {
                let sid = self.symbol_at(e.span)?;
                let c = *self.known.get(&sid)?;
                Some(Conf {
                    c,
                    involved: c < 1.0,
                })
            }
            ExprKind::Attach { confidence, .. } => {
                let c = number(confidence)?;
                Some(Conf { c, involved: true })
            }
            ExprKind::Unary { op, expr } => match op {
                UnaryOp::Extract | UnaryOp::Typeof | UnaryOp::Not => plain,
                UnaryOp::Neg | UnaryOp::Plus | UnaryOp::Tilde => self.eval(expr),
            },
            ExprKind::Binary { op, lhs, rhs } => {
                let (l, r) = (self.eval(lhs)?, self.eval(rhs)?);
                let involved = l.involved || r.involved || is_conf_op(*op);
                let c = match op {
                    BinaryOp::ConfOr => l.c.max(r.c),
                    BinaryOp::ConfCoalesce => {
                        if l.c >= 0.5 {
                            l.c
                        } else {
                            r.c
                        }
                    }
                    BinaryOp::ConfParallel => {
                        if r.c > l.c {
                            r.c
                        } else {
                            l.c
                        }
                    }
                    BinaryOp::ConfGate => {
                        if l.c >= 0.7 {
                            r.c
                        } else {
                            l.c * 0.5
                        }
                    }
                    BinaryOp::ConfPipe | BinaryOp::ConfThreshold => return None,
                    BinaryOp::Instanceof | BinaryOp::In => return None,
                    _ => l.c.min(r.c),
                };
                Some(Conf { c, involved })
            }
            _ => None,
        }
    }
}

fn is_conf_op(op: BinaryOp) -> bool {
    op.as_str().starts_with('~')
}

/// A confidence written as a number literal in [0, 1].
fn number(e: &Expr) -> Option<f64> {
    match &e.kind {
        ExprKind::Number(n) if (0.0..=1.0).contains(n) => Some(*n),
        _ => None,
    }
}

/// The band a confidence falls in (language.md: high ≥ 0.7, medium ≥ 0.5, low below).
pub fn band(c: f64) -> &'static str {
    if c >= 0.7 {
        "high"
    } else if c >= 0.5 {
        "medium"
    } else {
        "low"
    }
}
