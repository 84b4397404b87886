//! Slot frames: functions (and top-level loops) compiled to a form whose names are resolved
//! to frame slots ([`compile`]), run on a stack of slots shared by all calls ([`frame`]).
//!
//! A compiled body runs with the environment it was created in (a closure's scope, or the
//! program's scope for a top-level loop): names that no slot binds are looked up there, so a
//! slot that is not bound yet is transparent, exactly as a binding that does not exist yet in
//! a scope of the tree-walking evaluator. Names a nested function may capture are bound by
//! name in a scope object of their scope (made where the tree walker makes a scope), which the
//! closures made there share. Code the compiler does not cover yet (`match`, destructuring,
//! modules) runs on the tree-walking evaluator.

pub(crate) mod compile;
mod frame;
pub(crate) mod ir;
pub(crate) mod layout;
mod run_expr;
mod run_stmt;
#[cfg(test)]
mod tests;

pub(crate) use frame::Slot;
