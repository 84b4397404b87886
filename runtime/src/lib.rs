//! The Prism runtime: values, the interpreter, builtins, agents and the plan executor.
