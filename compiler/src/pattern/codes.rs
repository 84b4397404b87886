//! The diagnostic codes of patterns, org charts, headers and directives (`patterns.md`).

/// The file is not valid YAML.
pub const YAML_SYNTAX: &str = "prism::yaml::syntax";
/// A required key is absent.
pub const MISSING_KEY: &str = "prism::pattern::missing-key";
/// A key this mapping does not accept.
pub const UNKNOWN_KEY: &str = "prism::pattern::unknown-key";
/// A value of the wrong type or outside its allowed set.
pub const BAD_VALUE: &str = "prism::pattern::bad-value";
/// A `$reference` to no known name.
pub const UNKNOWN_REF: &str = "prism::pattern::unknown-ref";
/// `$name.field` where the record `$name` has no such field (a warning with "did you mean"
/// when the value may still hold it; an error for `$execution` and `$validation`).
pub const UNKNOWN_FIELD: &str = "prism::pattern::unknown-field";
/// A bare name in `$formula`, `fallback.condition` or a confidence expression that is unknown.
pub const UNKNOWN_NAME: &str = "prism::pattern::unknown-name";
/// A step without an id, of no kind, or of an unsupported type.
pub const STEP: &str = "prism::pattern::step";
/// A `pattern:` composition that cannot be resolved (not found, ambiguous or cyclic).
pub const UNRESOLVED_PATTERN: &str = "prism::pattern::unresolved-pattern";
/// A malformed `/** @tag … */` header of a `.prism` pattern.
pub const HEADER: &str = "prism::pattern::header";
/// Warning: a pattern that calls no agent.
pub const NO_AGENTS: &str = "prism::pattern::no-agents";
/// Warning: a user name hides a built-in reference.
pub const SHADOW: &str = "prism::pattern::shadow";
/// Warning: a header tag we do not know (kept in `metadata`).
pub const UNKNOWN_TAG: &str = "prism::pattern::unknown-tag";
/// Warning: a granted directive of an included pattern means something else there.
pub const NESTED_DIRECTIVE: &str = "prism::pattern::nested-directive";
/// Warning: a plan node no control path reaches.
pub const UNREACHABLE: &str = "prism::pattern::unreachable";
/// A malformed schedule, persistence or versioning directive.
pub const DIRECTIVE_INVALID: &str = "prism::directive::invalid";
