//! Runtime errors and the non-local control flow of the evaluator.

use std::fmt;

use prism_compiler::span::Span;

use crate::value::Value;

/// One entry of a runtime error's call stack: the function that was running and where it was
/// called from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The function's name (`lambda` for anonymous functions).
    pub name: String,
    /// The span of the call expression.
    pub call_span: Span,
    /// The file the call is in (as given to [`crate::Interpreter::run_program`] or the module
    /// path).
    pub file: String,
}

/// What kind of error stopped a program. Resource limits and cancellation are *fatal*: `try`
/// does not catch them, `finally` blocks do not run and async functions do not turn them into
/// rejected promises, so an untrusted script cannot outlive its limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A thrown value or a failed operation (catchable).
    #[default]
    Error,
    /// Calls nested deeper than [`crate::Options::max_call_depth`] (catchable).
    CallDepth,
    /// The run took more steps than [`crate::RunLimits::max_steps`] allows (fatal).
    StepLimit,
    /// The run's wall time passed [`crate::RunLimits::timeout`] (fatal).
    Timeout,
    /// The run's cancellation token was cancelled (fatal).
    Cancelled,
    /// The process held more memory than [`crate::RunLimits::max_memory`] allows (fatal).
    MemoryLimit,
}

impl ErrorKind {
    /// True for kinds that `try` does not catch.
    pub fn is_fatal(self) -> bool {
        matches!(
            self,
            ErrorKind::StepLimit
                | ErrorKind::Timeout
                | ErrorKind::Cancelled
                | ErrorKind::MemoryLimit
        )
    }
}

/// An error that stopped a Prism program (or was caught by `try`).
#[derive(Debug, Clone)]
pub struct RuntimeError {
    /// What went wrong, as the reference words it (`Division by zero`, `Undefined variable:
    /// x`, …), without any position: where it happened is [`RuntimeError::span`] and, for the
    /// errors the reference prefixes with a position, [`RuntimeError::located`].
    pub message: String,
    /// The span of the node that failed, if known.
    pub span: Option<Span>,
    /// The file `span` is in, if known.
    pub file: Option<String>,
    /// The calls that were active, innermost first.
    pub stack: Vec<Frame>,
    /// The thrown value, for `throw` and rejected promises.
    pub value: Option<Value>,
    /// What kind of error this is.
    pub kind: ErrorKind,
    /// For the errors the reference words as `Error at line L, column C: …` (undefined
    /// variables, bad calls, bad operands): that line (from 1) and column (from 0, as the
    /// reference counts it). [`RuntimeError::reference_text`] renders it; `catch (e)` binds
    /// that text, so programs that print a caught error print what the reference prints.
    pub located: Option<(u32, u32)>,
}

impl RuntimeError {
    /// An error with a message and the span of the failing node.
    pub fn new(message: impl Into<String>, span: Span) -> Self {
        RuntimeError {
            message: message.into(),
            span: Some(span),
            file: None,
            stack: Vec::new(),
            value: None,
            kind: ErrorKind::Error,
            located: None,
        }
    }

    /// An error without a position yet (the caller attaches one).
    pub fn msg(message: impl Into<String>) -> Self {
        RuntimeError {
            message: message.into(),
            span: None,
            file: None,
            stack: Vec::new(),
            value: None,
            kind: ErrorKind::Error,
            located: None,
        }
    }

    /// An error carrying a thrown value; its message is the value's text.
    pub fn thrown(value: Value, span: Span) -> Self {
        RuntimeError {
            message: crate::format::display(&value),
            span: Some(span),
            file: None,
            stack: Vec::new(),
            value: Some(value),
            kind: ErrorKind::Error,
            located: None,
        }
    }

    /// An error of a given kind.
    pub fn of_kind(kind: ErrorKind, message: impl Into<String>, span: Span) -> Self {
        RuntimeError {
            kind,
            ..RuntimeError::new(message, span)
        }
    }

    /// True if `try` must not catch this error (limits and cancellation).
    pub fn is_fatal(&self) -> bool {
        self.kind.is_fatal()
    }

    /// Sets the span if none is set yet.
    pub fn at(mut self, span: Span) -> Self {
        if self.span.is_none() {
            self.span = Some(span);
        }
        self
    }

    /// The error with the reference's position prefix: line from 1, column from 0.
    pub fn located_at(mut self, line: u32, column: u32) -> Self {
        self.located = Some((line, column));
        self
    }

    /// The text the reference gives this error (what `catch (e)` binds and what conformance
    /// output shows): `Error at line L, column C: message` for the errors it positions, the
    /// message alone for the rest.
    pub fn reference_text(&self) -> String {
        match self.located {
            Some((line, col)) if self.value.is_none() => {
                format!("Error at line {line}, column {col}: {}", self.message)
            }
            _ => self.message.clone(),
        }
    }

    /// The message as reported to a person: as [`RuntimeError::reference_text`], but with the
    /// column counted from 1 like every other position of a report (`file:2:14`).
    pub fn report_message(&self) -> String {
        match self.located {
            Some((line, col)) if self.value.is_none() => {
                format!("Error at line {line}, column {}: {}", col + 1, self.message)
            }
            _ => self.message.clone(),
        }
    }

    /// What a `catch (e)` binds: the thrown value, or the reference's text as a string.
    pub fn catch_value(&self) -> Value {
        match &self.value {
            Some(v) => v.clone(),
            None => Value::str(self.reference_text()),
        }
    }
}

impl fmt::Display for RuntimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reference_text())
    }
}

impl std::error::Error for RuntimeError {}

/// Why evaluation left the normal path: an error or a jump.
pub(crate) enum Flow {
    Error(Box<RuntimeError>),
    /// `return`, with the statement's span (an error outside a function).
    Return(Value, Span),
    /// `break` / `continue`, with the statement's span (an error outside a loop).
    Break(Span),
    Continue(Span),
}

impl Flow {
    /// The error a `break`, `continue` or `return` becomes when it leaves what it belongs to
    /// (a loop, a function): the reference raises these too, when the statement runs.
    pub(crate) fn into_error(self) -> Box<RuntimeError> {
        let (what, span) = match self {
            Flow::Error(e) => return e,
            Flow::Return(_, span) => ("`return` outside a function", span),
            Flow::Break(span) => ("`break` outside a loop", span),
            Flow::Continue(span) => ("`continue` outside a loop", span),
        };
        Box::new(RuntimeError::new(what, span))
    }
}

impl From<RuntimeError> for Flow {
    fn from(e: RuntimeError) -> Self {
        Flow::Error(Box::new(e))
    }
}

/// The result of evaluating an expression or statement.
pub(crate) type Eval<T = Value> = Result<T, Flow>;

/// Shorthand for an error result with a span.
pub(crate) fn fail<T>(message: impl Into<String>, span: Span) -> Eval<T> {
    Err(Flow::Error(Box::new(RuntimeError::new(message, span))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_count_columns_from_one() {
        let e = RuntimeError::new("Undefined variable: nope", Span::new(0, 1)).located_at(2, 13);
        assert_eq!(
            e.message, "Undefined variable: nope",
            "the message carries no position"
        );
        assert_eq!(
            e.report_message(),
            "Error at line 2, column 14: Undefined variable: nope"
        );
        assert_eq!(
            crate::format::display(&e.catch_value()),
            "Error at line 2, column 13: Undefined variable: nope",
            "`catch` keeps the reference's text"
        );
        let thrown = RuntimeError::thrown(
            Value::str("Error at line 1, column 0: mine"),
            Span::new(0, 1),
        );
        assert_eq!(thrown.report_message(), "Error at line 1, column 0: mine");
        assert_eq!(
            RuntimeError::msg("Division by zero").report_message(),
            "Division by zero"
        );
    }
}
