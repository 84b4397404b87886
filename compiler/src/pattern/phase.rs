//! The parts of a phase (§1.3–1.8): `agents`, `execution`, `groups`, `aggregation`,
//! `validation`, and the pattern-level `confidence` and `fallback`.

use serde_json::{Map, Value, json};

use crate::pattern::check::Fields;
use crate::pattern::codes;
use crate::pattern::ctx::{Ctx, SiteKind};
use crate::pattern::model::{
    Agents, Aggregation, Conf, Execution, Fallback, Group, Phase, Validation,
};
use crate::pattern::yaml::Yaml;
use crate::plan::settings::{
    AgentsSelection, AggregationSettings, ConfidenceSettings, ExecutionSettings, FallbackSettings,
    SettingsError, ValidationSettings,
};

/// The keys of `agents` (§1.3).
pub const AGENTS_KEYS: &[&str] = &[
    "capabilities",
    "min",
    "max",
    "prefer",
    "exclude",
    "region",
    "distribution",
    "taskTimeout",
    "retries",
    "healthy",
];
/// The keys of `execution` (§1.4).
pub const EXECUTION_KEYS: &[&str] = &[
    "strategy",
    "timeout",
    "waitForAll",
    "minResults",
    "stopOnError",
    "steps",
    "minConfidence",
];
/// The keys of `aggregation` (§1.6).
pub const AGGREGATION_KEYS: &[&str] = &[
    "strategy",
    "method",
    "threshold",
    "minVotes",
    "key",
    "weights",
    "conflictResolution",
    "fields",
    "arrayStrategy",
    "deduplication",
    "deduplicationKey",
    "by",
    "expression",
    "minConfidence",
];
const FIELD_KEYS: &[&str] = &[
    "name",
    "strategy",
    "method",
    "threshold",
    "minVotes",
    "key",
    "weights",
    "conflictResolution",
    "arrayStrategy",
    "deduplication",
    "deduplicationKey",
    "by",
    "expression",
    "minConfidence",
];
/// The keys of `validation`.
pub const VALIDATION_KEYS: &[&str] = &[
    "minConfidence",
    "schema",
    "maxLatency",
    "$custom",
    "onFailure",
    "onInvalid",
    "onTimeout",
    "maxRetries",
    "retryDelay",
    "fallback",
];
const STRATEGIES: &[&str] = &["voting", "consensus", "merge", "first", "best", "custom"];
/// The strategies of an aggregation field (`aggregation.fields`).
pub const FIELD_STRATEGIES: &[&str] = &[
    "voting",
    "consensus",
    "merge",
    "first",
    "best",
    "average",
    "min",
    "max",
];
/// What `validation` does on failure (`onFailure`, `onInvalid`, `onTimeout`).
pub const POLICIES: &[&str] = &["fail", "retry", "fallback"];
/// The keys of `agents.distribution`.
pub const DISTRIBUTION_KEYS: &[&str] = &["regions", "minPerRegion"];
/// The strategies of `execution`.
pub const EXECUTION_STRATEGIES: &[&str] = &["parallel", "sequential", "race", "first"];
/// What a group keeps of its agents' results (`take`).
pub const GROUP_TAKE: &[&str] = &["first", "last", "all"];
/// How a merge combines arrays (`arrayStrategy`).
pub const ARRAY_STRATEGIES: &[&str] = &["union", "concat", "replace"];
/// How `best` picks (`by`).
pub const BEST_BY: &[&str] = &["confidence", "custom"];
/// The most agents one step may ask for (`agents.min`, `agents.max`, `@minAgents`).
pub const MAX_AGENTS: u32 = 10_000;

/// The methods of `confidence` (§1.7).
pub const CONFIDENCE_METHODS: &[&str] = &["average", "min", "max", "weighted", "custom"];
/// The keys of the top-level `fallback` (§1.8).
pub const FALLBACK_KEYS: &[&str] = &["condition", "action", "target", "value", "maxRetries"];
/// The actions of the top-level `fallback`.
pub const FALLBACK_ACTIONS: &[&str] = &["default", "retry", "escalate"];

/// Reads the phase keys present in the mapping `f` (the top level or an agent step).
pub fn phase(ctx: &mut Ctx<'_>, f: &Fields<'_>) -> Phase {
    let mut p = Phase::default();
    if let Some(a) = f.value("agents") {
        p.agents = agents(ctx, a, &f.sub("agents"));
    }
    if let Some(e) = f.value("execution") {
        p.execution = execution(ctx, e, &f.sub("execution"));
    }
    if let Some(g) = f.value("groups") {
        p.groups = groups(ctx, g, &f.sub("groups"));
    }
    if let Some(a) = f.value("aggregation") {
        p.aggregation = aggregation(ctx, a, &f.sub("aggregation"));
        if let Some(agg) = &p.aggregation {
            ctx.scope.step_alias = Some(agg.alias());
        }
    }
    if let Some(v) = f.value("validation") {
        p.validation = validation(ctx, v, &f.sub("validation"));
    }
    p
}

/// `agents` (§1.3).
pub fn agents(ctx: &mut Ctx<'_>, node: &Yaml, path: &str) -> Option<Agents> {
    let f = ctx.cx.map(node, path, AGENTS_KEYS)?;
    let capabilities = agent_capabilities(ctx, &f, path);
    let (min, max) = agent_counts(ctx, &f, path);
    let mut config = agent_filters(ctx, &f, path);
    for (key, min) in [("taskTimeout", 1), ("retries", 0)] {
        if let Some(n) = ctx.cx.int(&f, key, min) {
            config.insert(key.into(), n.into());
        }
    }
    if let Some(h) = ctx.cx.boolean(&f, "healthy") {
        config.insert("healthy".into(), h.into());
    }
    config.insert("capabilities".into(), json!(capabilities));
    config.insert("min".into(), min.into());
    if let Some(m) = max {
        config.insert("max".into(), m.into());
    }
    let selection = typed(
        ctx,
        &Value::Object(config),
        path,
        node,
        AgentsSelection::parse,
    );
    Some(Agents {
        capabilities,
        min,
        max,
        selection: Box::new(selection),
        span: node.span,
    })
}

/// `agents.capabilities`: the names, `$…` entries checked as expressions.
fn agent_capabilities(ctx: &mut Ctx<'_>, f: &Fields<'_>, path: &str) -> Vec<String> {
    let mut capabilities = Vec::new();
    if let Some(caps) = ctx.cx.string_list(f, "capabilities") {
        for (i, (c, _)) in caps.iter().enumerate() {
            if c.starts_with('$')
                && let Some(item) = f
                    .get("capabilities")
                    .and_then(|l| l.as_seq())
                    .and_then(|l| l.get(i))
            {
                ctx.site(item, SiteKind::Value, &format!("{path}.capabilities[{i}]"));
            }
            capabilities.push(c.clone());
        }
    }
    capabilities
}

/// `agents.min` (1) and `agents.max`, each at most [`MAX_AGENTS`], `max` not below `min`.
fn agent_counts(ctx: &mut Ctx<'_>, f: &Fields<'_>, path: &str) -> (u32, Option<u32>) {
    let min = ctx.cx.int(f, "min", 0).unwrap_or(1);
    let max = ctx.cx.int(f, "max", 1);
    for (key, n) in [("min", min), ("max", max.unwrap_or(0))] {
        if n > i64::from(MAX_AGENTS)
            && let Some(v) = f.value(key)
        {
            ctx.cx.bad(
                format!(
                    "`{path}.{key}` ({n}) is more than the {MAX_AGENTS} agents a step can call"
                ),
                v.span,
                None,
            );
        }
    }
    let min = min.min(i64::from(MAX_AGENTS)) as u32;
    let max = max.map(|m| m.min(i64::from(MAX_AGENTS)) as u32);
    if let Some(m) = max
        && m < min
        && let Some(v) = f.value("max")
    {
        ctx.cx.bad(
            format!("`{path}.max` ({m}) is less than `min` ({min})"),
            v.span,
            None,
        );
    }
    (min, max)
}

/// `agents.prefer`, `exclude`, `region` and `distribution`, checked, as a mapping in that order.
fn agent_filters(ctx: &mut Ctx<'_>, f: &Fields<'_>, path: &str) -> Map<String, Value> {
    let mut config = Map::new();
    if let Some(p) = ctx.cx.string_list(f, "prefer") {
        config.insert(
            "prefer".into(),
            json!(p.into_iter().map(|(s, _)| s).collect::<Vec<_>>()),
        );
    }
    if let Some(x) = f.value("exclude") {
        if x.as_seq().is_some() || x.as_scalar().is_some() {
            config.insert("exclude".into(), ctx.value_tree(x, &f.sub("exclude")));
        } else {
            ctx.cx.bad(
                format!("`{path}.exclude` must be a list of names or a reference"),
                x.span,
                None,
            );
        }
    }
    if let Some(r) = f.value("region") {
        if r.as_scalar().is_some() {
            config.insert("region".into(), ctx.value_tree(r, &f.sub("region")));
        } else {
            ctx.cx
                .bad(format!("`{path}.region` must be a string"), r.span, None);
        }
    }
    if let Some(d) = f.value("distribution") {
        let dpath = f.sub("distribution");
        if let Some(df) = ctx.cx.map(d, &dpath, DISTRIBUTION_KEYS) {
            ctx.cx.string_list(&df, "regions");
            ctx.cx.int(&df, "minPerRegion", 1);
            config.insert("distribution".into(), d.to_json());
        }
    }
    config
}

/// `execution` (§1.4).
pub fn execution(ctx: &mut Ctx<'_>, node: &Yaml, path: &str) -> Option<Execution> {
    let f = ctx.cx.map(node, path, EXECUTION_KEYS)?;
    let kind = match ctx.cx.one_of(&f, "strategy", EXECUTION_STRATEGIES) {
        Some("first") | Some("race") => "race",
        Some(k) => k,
        None => "parallel",
    };
    ctx.cx.int(&f, "timeout", 1);
    ctx.cx.boolean(&f, "waitForAll");
    ctx.cx.int(&f, "minResults", 1);
    ctx.cx.boolean(&f, "stopOnError");
    ctx.cx.number(&f, "minConfidence", 0.0, 1.0);
    if let Some(steps) = f.value("steps") {
        match steps.as_seq() {
            Some(items) => {
                for (i, item) in items.iter().enumerate() {
                    let p = format!("{path}.steps[{i}]");
                    if let Some(sf) = ctx.cx.map(item, &p, &["capability", "input", "output"]) {
                        ctx.cx.string(&sf, "capability");
                        if let Some(inp) = sf.get("input") {
                            ctx.value_tree(inp, &sf.sub("input"));
                        }
                        ctx.cx.string(&sf, "output");
                    }
                }
            }
            None => ctx
                .cx
                .bad(format!("`{path}.steps` must be a list"), steps.span, None),
        }
    }
    let mut config = node.to_json();
    if let Value::Object(m) = &mut config {
        m.insert("strategy".into(), kind.into());
    }
    Some(Execution {
        settings: typed(ctx, &config, path, node, ExecutionSettings::parse),
        span: node.span,
    })
}

/// The typed form of a checked settings mapping. A value the checks let through but the
/// typed form cannot hold is an error (unless the file already has one); it is left out.
pub(crate) fn typed<T>(
    ctx: &mut Ctx<'_>,
    config: &Value,
    path: &str,
    node: &Yaml,
    parse: fn(&Value) -> (T, Vec<SettingsError>),
) -> T {
    let (settings, errors) = parse(config);
    if let Some(e) = errors.first()
        && !ctx.cx.has_errors()
    {
        ctx.cx.bad(e.at(path), node.span, None);
    }
    settings
}

/// `groups` (§1.9).
pub fn groups(ctx: &mut Ctx<'_>, node: &Yaml, path: &str) -> Vec<Group> {
    let mut out = Vec::new();
    let Some(entries) = ctx.cx.any_map(node, path) else {
        return out;
    };
    for (k, v) in entries {
        let Some(name) = k.key_text() else { continue };
        let gpath = format!("{path}.{name}");
        let Some(f) = ctx.cx.map(v, &gpath, &["match", "take"]) else {
            continue;
        };
        ctx.cx.require(&f, "match");
        let matcher = f
            .value("match")
            .and_then(|m| ctx.site(m, SiteKind::Expr, &f.sub("match")))
            .unwrap_or_default();
        let take = ctx.cx.one_of(&f, "take", GROUP_TAKE).unwrap_or("first");
        out.push(Group {
            name: name.to_string(),
            matcher,
            take: take.to_string(),
            span: k.span,
        });
    }
    out
}

/// `aggregation` (§1.6).
pub fn aggregation(ctx: &mut Ctx<'_>, node: &Yaml, path: &str) -> Option<Aggregation> {
    let f = ctx.cx.map(node, path, AGGREGATION_KEYS)?;
    let strategy = match f.value("strategy") {
        Some(s) => ctx.cx.choice(s, &f.sub("strategy"), STRATEGIES),
        None if f.has("fields") => Some("fields"),
        None => {
            ctx.cx.require(&f, "strategy");
            None
        }
    };
    if strategy == Some("custom") {
        if let Some(s) = f.value("strategy") {
            ctx.cx.bad(
                format!("`{path}.strategy: custom` is not supported"),
                s.span,
                Some("custom aggregation belongs in a .prism pattern".into()),
            );
        }
        return None;
    }
    let strategy = strategy.unwrap_or("voting");
    rules(ctx, &f, path, strategy);
    if let Some(fields) = f.value("fields") {
        agg_fields(ctx, fields, &f.sub("fields"), strategy);
    }
    let method = match strategy {
        "voting" => Some(
            ctx.cx
                .one_of(
                    &f,
                    "method",
                    &["majority", "plurality", "unanimous", "weighted"],
                )
                .unwrap_or("majority"),
        ),
        "merge" => Some(
            ctx.cx
                .one_of(
                    &f,
                    "method",
                    &["shallow", "deep", "concat", "union", "intersection"],
                )
                .unwrap_or("shallow"),
        ),
        _ => {
            if let Some(m) = f.value("method") {
                ctx.cx.bad(
                    format!("`{path}.method` applies to voting and merge only"),
                    m.span,
                    None,
                );
            }
            None
        }
    };
    let threshold =
        (strategy == "consensus").then(|| ctx.cx.number(&f, "threshold", 0.0, 1.0).unwrap_or(0.7));
    let mut config = node.to_json();
    if let Value::Object(m) = &mut config {
        m.insert("strategy".into(), strategy.into());
        if let Some(me) = method {
            m.insert("method".into(), me.into());
        }
        if let Some(t) = threshold {
            m.insert("threshold".into(), json!(t));
        }
    }
    Some(Aggregation {
        strategy: strategy.to_string(),
        method: method.map(str::to_string),
        threshold,
        settings: typed(ctx, &config, path, node, AggregationSettings::parse),
        span: node.span,
    })
}

/// The per-strategy keys shared by `aggregation` and its `fields` entries.
fn rules(ctx: &mut Ctx<'_>, f: &Fields<'_>, path: &str, strategy: &str) {
    if strategy != "consensus" {
        ctx.cx.number(f, "threshold", 0.0, 1.0);
    }
    ctx.cx.int(f, "minVotes", 1);
    ctx.cx.string(f, "key");
    ctx.cx.boolean(f, "deduplication");
    ctx.cx.string(f, "deduplicationKey");
    ctx.cx.number(f, "minConfidence", 0.0, 1.0);
    let resolutions: &[&str] = match strategy {
        "consensus" => &["weighted", "highest-confidence", "first"],
        _ => &["highest-confidence", "last", "majority"],
    };
    ctx.cx.one_of(f, "conflictResolution", resolutions);
    ctx.cx.one_of(f, "arrayStrategy", ARRAY_STRATEGIES);
    if ctx.cx.one_of(f, "by", BEST_BY) == Some("custom") && !f.has("expression") {
        ctx.cx.error(
            codes::MISSING_KEY,
            format!("`{path}.by: custom` needs an `expression`"),
            f.key_span("by"),
        );
    }
    if let Some(e) = f.value("expression") {
        ctx.site(e, SiteKind::Expr, &f.sub("expression"));
    }
    if let Some(w) = f.value("weights")
        && let Some(entries) = ctx.cx.any_map(w, &f.sub("weights"))
    {
        for (k, v) in entries {
            let key = k.key_text().unwrap_or_default();
            if v.as_f64().is_none() {
                ctx.value_tree(v, &format!("{path}.weights.{key}"));
                if !v.scalar_text().is_some_and(|t| t.starts_with('$')) {
                    ctx.cx.bad(
                        format!("`{path}.weights.{key}` must be a number or an expression"),
                        v.span,
                        None,
                    );
                }
            }
        }
    }
}

fn agg_fields(ctx: &mut Ctx<'_>, node: &Yaml, path: &str, strategy: &str) {
    let Some(items) = node.as_seq() else {
        ctx.cx
            .bad(format!("`{path}` must be a list"), node.span, None);
        return;
    };
    for (i, item) in items.iter().enumerate() {
        if item.as_scalar().is_some() && item.as_str().is_some() {
            continue;
        }
        let p = format!("{path}[{i}]");
        let Some(f) = ctx.cx.map(item, &p, FIELD_KEYS) else {
            continue;
        };
        ctx.cx.require(&f, "name");
        let s = ctx.cx.one_of(&f, "strategy", FIELD_STRATEGIES);
        if strategy == "fields" && s.is_none() && !f.has("strategy") {
            ctx.cx.require(&f, "strategy");
        }
        let s = s.unwrap_or(strategy);
        rules(ctx, &f, &p, s);
        match s {
            "voting" => {
                ctx.cx.one_of(
                    &f,
                    "method",
                    &["majority", "plurality", "unanimous", "weighted"],
                );
            }
            "merge" => {
                ctx.cx.one_of(
                    &f,
                    "method",
                    &["shallow", "deep", "concat", "union", "intersection"],
                );
            }
            _ => {}
        }
    }
}

/// `validation` (§1.8).
pub fn validation(ctx: &mut Ctx<'_>, node: &Yaml, path: &str) -> Option<Validation> {
    let f = ctx.cx.map(node, path, VALIDATION_KEYS)?;
    let min_confidence = ctx.cx.number(&f, "minConfidence", 0.0, 1.0);
    if let Some(s) = f.value("schema") {
        ctx.cx.any_map(s, &f.sub("schema"));
    }
    ctx.cx.int(&f, "maxLatency", 1);
    ctx.cx.int(&f, "maxRetries", 0);
    ctx.cx.int(&f, "retryDelay", 0);
    let mut wants_fallback = false;
    for key in ["onFailure", "onInvalid", "onTimeout"] {
        wants_fallback |= ctx.cx.one_of(&f, key, POLICIES) == Some("fallback");
    }
    if let Some(c) = f.value("$custom") {
        let cpath = f.sub("$custom");
        if let Some(cf) = ctx.cx.map(c, &cpath, &["condition", "action", "value"]) {
            if ctx.cx.require(&cf, "condition")
                && let Some(cond) = cf.value("condition")
            {
                ctx.site(cond, SiteKind::Expr, &cf.sub("condition"));
            }
            ctx.cx.one_of(&cf, "action", &["override", "fail", "retry"]);
            if let Some(v) = cf.get("value") {
                ctx.value_tree(v, &cf.sub("value"));
            }
        }
    }
    match f.value("fallback") {
        Some(fb) => {
            let fpath = f.sub("fallback");
            if let Some(ff) = ctx.cx.map(fb, &fpath, &["type", "value", "maxAge", "to"]) {
                ctx.cx.require(&ff, "type");
                ctx.cx
                    .one_of(&ff, "type", &["default", "cached", "escalate"]);
                ctx.cx.int(&ff, "maxAge", 0);
                ctx.cx.string(&ff, "to");
                if let Some(v) = ff.get("value") {
                    ctx.value_tree(v, &ff.sub("value"));
                }
            }
        }
        None if wants_fallback => {
            ctx.cx.error(
                codes::MISSING_KEY,
                format!("`{path}` uses the `fallback` policy but has no `fallback`"),
                f.head(),
            );
        }
        None => {}
    }
    Some(Validation {
        min_confidence,
        settings: typed(ctx, &node.to_json(), path, node, ValidationSettings::parse),
        span: node.span,
    })
}

/// `confidence` (§1.7): a method name or `{method, weights, expression}`.
pub fn confidence(ctx: &mut Ctx<'_>, node: &Yaml, names: Vec<String>) -> Option<Conf> {
    if node.as_scalar().is_some() {
        let m = ctx.cx.choice(node, "confidence", CONFIDENCE_METHODS)?;
        if m == "custom" {
            ctx.cx.error(
                codes::MISSING_KEY,
                "`confidence: custom` needs an `expression`",
                node.span,
            );
        }
        return Some(Conf {
            method: m.to_string(),
            settings: ConfidenceSettings::parse(&json!({ "method": m })).0,
            span: node.span,
        });
    }
    let f = ctx
        .cx
        .map(node, "confidence", &["method", "weights", "expression"])?;
    let method = ctx
        .cx
        .one_of(&f, "method", CONFIDENCE_METHODS)
        .unwrap_or("average");
    if method == "custom" && f.value("expression").is_none() {
        ctx.cx.error(
            codes::MISSING_KEY,
            "`confidence.method: custom` needs an `expression`",
            f.key_span("method"),
        );
    }
    if let Some(e) = f.value("expression") {
        ctx.site(
            e,
            SiteKind::Names {
                names,
                what: "names of a confidence expression",
            },
            "confidence.expression",
        );
    }
    if let Some(w) = f.value("weights")
        && let Some(entries) = ctx.cx.any_map(w, "confidence.weights")
    {
        for (k, v) in entries {
            if v.as_f64().is_none_or(|x| x < 0.0) {
                let key = k.key_text().unwrap_or_default();
                ctx.cx.bad(
                    format!("`confidence.weights.{key}` must be a number ≥ 0"),
                    v.span,
                    None,
                );
            }
        }
    }
    let mut config = node.to_json();
    if let Value::Object(m) = &mut config {
        m.insert("method".into(), method.into());
    }
    Some(Conf {
        method: method.to_string(),
        settings: typed(ctx, &config, "confidence", node, ConfidenceSettings::parse),
        span: node.span,
    })
}

/// Top-level `fallback` (§1.8).
pub fn fallback(ctx: &mut Ctx<'_>, node: &Yaml) -> Option<Fallback> {
    let f = ctx.cx.map(node, "fallback", FALLBACK_KEYS)?;
    ctx.cx.require(&f, "action");
    let action = ctx.cx.one_of(&f, "action", FALLBACK_ACTIONS);
    if let Some(c) = f.value("condition") {
        let names = vec![
            "confidence".to_string(),
            "result".to_string(),
            "input".to_string(),
        ];
        ctx.site(
            c,
            SiteKind::Names {
                names,
                what: "names of `fallback.condition` (confidence, result, input)",
            },
            "fallback.condition",
        );
    }
    ctx.cx.string(&f, "target");
    ctx.cx.int(&f, "maxRetries", 0);
    if let Some(v) = f.get("value") {
        ctx.value_tree(v, "fallback.value");
    }
    if action == Some("default") && !f.has("value") {
        ctx.cx.error(
            codes::MISSING_KEY,
            "`fallback.action: default` needs a `value`",
            f.key_span("action"),
        );
    }
    let action = action?.to_string();
    Some(Fallback {
        action,
        settings: typed(
            ctx,
            &node.to_json(),
            "fallback",
            node,
            FallbackSettings::parse,
        ),
        span: node.span,
    })
}
