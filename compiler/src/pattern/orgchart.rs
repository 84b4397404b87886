//! Org-chart YAML (§2): `structure.roles` as agent groups and a `workflow` of role tasks,
//! including the documented short forms (`assign role: task`, `review role`, …).

use serde_json::{Map, Value};

use crate::diagnostic::Diagnostic;
use crate::pattern::check::Fields;
use crate::pattern::codes;
use crate::pattern::ctx::Ctx;
use crate::pattern::expr;
use crate::pattern::load;
use crate::pattern::model::{OrgChart, OrgStep, OrgStepKind, Role, Spanned};
use crate::pattern::phase::typed;
use crate::pattern::yaml::Yaml;
use crate::plan::settings::RolePolicy;
use crate::span::Span;

/// The keys of an org chart.
pub const TOP_KEYS: &[&str] = &[
    "name",
    "structure",
    "workflow",
    "version",
    "description",
    "workspace",
    "metadata",
    "schedule",
    "persistence",
    "versioning",
];
/// The keys of `structure`.
pub const STRUCTURE_KEYS: &[&str] = &["name", "description", "roles", "routing", "escalation"];
/// The keys of `workflow`.
pub const WORKFLOW_KEYS: &[&str] = &["name", "input", "steps", "output"];
const ROLE_KEYS: &[&str] = &[
    "id",
    "name",
    "description",
    "agentType",
    "capabilities",
    "expertise",
    "reportsTo",
    "singleton",
    "minInstances",
    "maxInstances",
    "agentConfig",
    "threadConfig",
    "confidence",
    "verify",
    "metadata",
];
const STEP_TYPES: &[&str] = &[
    "assign",
    "parallel",
    "sequential",
    "review",
    "approve",
    "aggregate",
    "condition",
    "select",
];

/// True when a YAML document is an org chart (it has `structure` or `workflow`).
pub fn is_org_chart(root: &Yaml) -> bool {
    root.get("structure").is_some() || root.get("workflow").is_some()
}

/// Loads an org chart.
pub fn load(ctx: &mut Ctx<'_>, root: &Yaml) -> Option<OrgChart> {
    let f = ctx.cx.map(root, "", TOP_KEYS)?;
    ctx.cx.require(&f, "name");
    ctx.cx.require(&f, "workflow");
    let mut context = Map::new();
    let mut roles = Vec::new();
    if let Some(s) = f.value("structure")
        && let Some(sf) = ctx.cx.map(s, "structure", STRUCTURE_KEYS)
    {
        ctx.cx.string(&sf, "name");
        ctx.cx.string(&sf, "description");
        if ctx.cx.require(&sf, "roles")
            && let Some(r) = sf.value("roles")
        {
            roles = load_roles(ctx, r);
        }
        let ids: Vec<String> = roles.iter().map(|r| r.id.clone()).collect();
        if let Some(r) = sf.value("routing") {
            routing(ctx, r, &ids);
            context.insert("routing".into(), r.to_json());
        }
        if let Some(e) = sf.value("escalation") {
            escalation(ctx, e, &ids);
            context.insert("escalation".into(), e.to_json());
        }
    }
    if let Some(w) = f.value("workspace") {
        ctx.cx.any_map(w, "workspace");
        context.insert("workspace".into(), w.to_json());
    }
    let Some(w) = f.value("workflow") else {
        load::meta(ctx, &f, "input");
        return None;
    };
    let wf = ctx.cx.map(w, "workflow", WORKFLOW_KEYS)?;
    let mut meta = load::meta(ctx, &f, "input");
    if let Some(i) = wf.get("input") {
        meta.input = Spanned::new(
            crate::pattern::input::schema(&mut ctx.cx, i, "workflow.input"),
            i.span,
        );
    }
    if let Some(n) = ctx.cx.string(&wf, "name") {
        meta.extra.insert("workflow".into(), n.into());
    }
    let role_ids: Vec<String> = roles.iter().map(|r| r.id.clone()).collect();
    let steps = match wf.value("steps") {
        Some(s) if ctx.cx.require(&wf, "steps") => match s.as_seq() {
            Some(items) => items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| step(ctx, item, format!("step_{i}"), &role_ids))
                .collect(),
            None => {
                ctx.cx.bad("`workflow.steps` must be a list", s.span, None);
                Vec::new()
            }
        },
        _ => {
            ctx.cx.require(&wf, "steps");
            Vec::new()
        }
    };
    let results = result_names(&steps);
    let output = wf.value("output").and_then(|o| {
        let name = o.scalar_text()?.to_string();
        if name != "finalResult" && !results.contains(&name) {
            let help = Ctx::did_you_mean(&name, results.iter().map(String::as_str));
            let mut d = Diagnostic::error(
                codes::UNKNOWN_REF,
                format!("`workflow.output: {name}` names no step result"),
                o.span,
            );
            d = d.with_help(
                help.unwrap_or_else(|| format!("results: finalResult, {}", results.join(", "))),
            );
            ctx.cx.push(d);
        }
        Some(Spanned::new(name, o.span))
    });
    check_holes(ctx, &steps_texts(w), &results);
    Some(OrgChart {
        meta,
        roles,
        steps,
        output,
        context: Value::Object(context),
    })
}

fn load_roles(ctx: &mut Ctx<'_>, node: &Yaml) -> Vec<Role> {
    let mut out = Vec::new();
    let Some(entries) = ctx.cx.any_map(node, "structure.roles") else {
        return out;
    };
    let ids: Vec<&str> = entries.iter().filter_map(|(k, _)| k.key_text()).collect();
    for (k, v) in entries {
        let Some(id) = k.key_text() else { continue };
        let path = format!("structure.roles.{id}");
        let Some(f) = ctx.cx.map(v, &path, ROLE_KEYS) else {
            continue;
        };
        for key in ["id", "name", "description"] {
            ctx.cx.string(&f, key);
        }
        let capabilities = list_or_null(ctx, &f, "capabilities");
        list_or_null(ctx, &f, "expertise");
        let agent_types = match f.value("agentType") {
            Some(a) if a.as_seq().is_some() => list_or_null(ctx, &f, "agentType"),
            Some(_) => ctx.cx.string(&f, "agentType").into_iter().collect(),
            None => Vec::new(),
        };
        let singleton = ctx.cx.boolean(&f, "singleton").unwrap_or(false);
        let min = if singleton {
            1
        } else {
            ctx.cx.int(&f, "minInstances", 0).unwrap_or(1) as u32
        };
        let max = if singleton {
            1
        } else {
            ctx.cx.int(&f, "maxInstances", 1).map_or(min, |m| m as u32)
        };
        if max < min
            && let Some(m) = f.value("maxInstances")
        {
            ctx.cx.bad(
                format!("`{path}.maxInstances` ({max}) is less than `minInstances` ({min})"),
                m.span,
                None,
            );
        }
        let reports_to = ctx.cx.string(&f, "reportsTo");
        if let Some(r) = &reports_to
            && !ids.contains(&r.as_str())
        {
            let help = Ctx::did_you_mean(r, ids.iter().copied());
            let span = f.value("reportsTo").map_or(k.span, |v| v.span);
            ctx.cx
                .bad(format!("`{path}.reportsTo: {r}` names no role"), span, help);
        }
        let mut policy = None;
        if let Some(c) = f.value("confidence")
            && let Some(cf) = ctx.cx.map(
                c,
                &f.sub("confidence"),
                &["accept", "retryBelow", "escalateBelow"],
            )
        {
            for key in ["accept", "retryBelow", "escalateBelow"] {
                ctx.cx.number(&cf, key, 0.0, 1.0);
            }
            let cpath = f.sub("confidence");
            policy = Some(typed(ctx, &c.to_json(), &cpath, c, RolePolicy::parse));
        }
        if let Some(v) = f.value("verify") {
            verify(ctx, v, &f.sub("verify"), &ids);
        }
        for key in ["agentConfig", "threadConfig"] {
            if let Some(m) = f.value(key) {
                ctx.cx.any_map(m, &f.sub(key));
            }
        }
        out.push(Role {
            id: id.to_string(),
            capabilities,
            agent_types,
            min,
            max,
            reports_to,
            policy,
            config: v.to_json(),
            span: k.span,
        });
    }
    out
}

fn list_or_null(ctx: &mut Ctx<'_>, f: &Fields<'_>, key: &str) -> Vec<String> {
    ctx.cx
        .string_list(f, key)
        .unwrap_or_default()
        .into_iter()
        .map(|(s, _)| s)
        .collect()
}

fn verify(ctx: &mut Ctx<'_>, node: &Yaml, path: &str, roles: &[&str]) {
    let items: Vec<&Yaml> = match node.as_seq() {
        Some(items) => items.iter().collect(),
        None => vec![node],
    };
    for (i, item) in items.into_iter().enumerate() {
        let p = format!("{path}[{i}]");
        let Some(f) = ctx.cx.map(
            item,
            &p,
            &["type", "run", "cwd", "scorePattern", "rubric", "role"],
        ) else {
            continue;
        };
        ctx.cx.require(&f, "type");
        match ctx.cx.one_of(&f, "type", &["command", "agent", "history"]) {
            Some("command") => {
                ctx.cx.require(&f, "run");
            }
            Some("agent") => {
                ctx.cx.require(&f, "rubric");
            }
            _ => {}
        }
        if let Some(role) = ctx.cx.string(&f, "role")
            && !roles.contains(&role.as_str())
        {
            let span = f.value("role").map_or(f.head(), |v| v.span);
            ctx.cx.bad(
                format!("`{p}.role: {role}` names no role"),
                span,
                Ctx::did_you_mean(&role, roles.iter().copied()),
            );
        }
    }
}

fn role_names(node: &Yaml) -> Vec<(&str, Span)> {
    match (node.as_seq(), node.scalar_text()) {
        (Some(items), _) => items
            .iter()
            .filter_map(|i| i.scalar_text().map(|t| (t, i.span)))
            .collect(),
        (None, Some(t)) => vec![(t, node.span)],
        _ => Vec::new(),
    }
}

fn routing(ctx: &mut Ctx<'_>, node: &Yaml, roles: &[String]) {
    let Some(items) = node.as_seq() else {
        ctx.cx
            .bad("`structure.routing` must be a list", node.span, None);
        return;
    };
    for (i, item) in items.iter().enumerate() {
        let p = format!("structure.routing[{i}]");
        let Some(f) = ctx.cx.map(
            item,
            &p,
            &[
                "from",
                "to",
                "topics",
                "messageTypes",
                "priority",
                "broadcast",
            ],
        ) else {
            continue;
        };
        for key in ["from", "to"] {
            for (name, span) in f.value(key).map(role_names).unwrap_or_default() {
                if name != "*" && !roles.iter().any(|r| r == name) {
                    ctx.cx.bad(
                        format!("`{p}.{key}: {name}` names no role"),
                        span,
                        Ctx::did_you_mean(name, roles.iter().map(String::as_str)),
                    );
                }
            }
        }
        list_or_null(ctx, &f, "topics");
        list_or_null(ctx, &f, "messageTypes");
        ctx.cx.boolean(&f, "broadcast");
    }
}

fn escalation(ctx: &mut Ctx<'_>, node: &Yaml, roles: &[String]) {
    let keys = [
        "defaultBehavior",
        "timeoutMs",
        "maxDepth",
        "onMaxDepth",
        "topicRoutes",
    ];
    let Some(f) = ctx.cx.map(node, "structure.escalation", &keys) else {
        return;
    };
    ctx.cx.string(&f, "defaultBehavior");
    ctx.cx.int(&f, "timeoutMs", 1);
    ctx.cx.int(&f, "maxDepth", 0);
    ctx.cx.one_of(
        &f,
        "onMaxDepth",
        &["surface_to_user", "fail", "return_best_effort"],
    );
    if let Some(t) = f.value("topicRoutes")
        && let Some(entries) = ctx.cx.any_map(t, "structure.escalation.topicRoutes")
    {
        for (_, v) in entries {
            if let Some(r) = v.scalar_text()
                && !roles.iter().any(|x| x == r)
            {
                ctx.cx
                    .bad(format!("topic route to `{r}` names no role"), v.span, None);
            }
        }
    }
}

/// Reads one workflow step (typed or a short form).
fn step(ctx: &mut Ctx<'_>, node: &Yaml, path: String, roles: &[String]) -> Option<OrgStep> {
    let span = node.span;
    let (kind, short) = if let Some(text) = node.as_str() {
        (short_text_step(ctx, text, span)?, true)
    } else {
        let Some(entries) = node.as_map() else {
            ctx.cx.push(Diagnostic::error(
                codes::STEP,
                format!("workflow step `{path}` must be a mapping or a short form"),
                span,
            ));
            return None;
        };
        if node.get("type").is_none() && entries.len() == 1 {
            let (k, v) = &entries[0];
            (short_map_step(ctx, k, v, &path, roles)?, true)
        } else {
            (typed_step(ctx, node, &path, roles)?, false)
        }
    };
    check_role(ctx, &kind, span, roles);
    Some(OrgStep {
        path,
        kind,
        short,
        span,
    })
}

/// `review architect` / `approve lead`.
fn short_text_step(ctx: &mut Ctx<'_>, text: &str, span: Span) -> Option<OrgStepKind> {
    let (verb, role) = text.split_once(' ').unwrap_or((text, ""));
    let role = role.trim().to_string();
    match verb {
        "review" => Some(OrgStepKind::Review { role }),
        "approve" => Some(OrgStepKind::Approve { role }),
        _ => {
            ctx.cx.push(
                Diagnostic::error(
                    codes::STEP,
                    format!("`{text}` is not a workflow step"),
                    span,
                )
                .with_help(
                    "write `review ROLE`, `approve ROLE`, `{assign ROLE: task}` or a typed step",
                ),
            );
            None
        }
    }
}

/// `{assign ROLE: task}`, `{parallel: [...]}` or `{sequential: [...]}`.
fn short_map_step(
    ctx: &mut Ctx<'_>,
    k: &Yaml,
    v: &Yaml,
    path: &str,
    roles: &[String],
) -> Option<OrgStepKind> {
    let key = k.key_text().unwrap_or_default();
    if let Some(role) = key.strip_prefix("assign ") {
        Some(OrgStepKind::Assign {
            role: role.trim().to_string(),
            task: v.scalar_text().unwrap_or_default().to_string(),
        })
    } else if key == "parallel" || key == "sequential" {
        let subs = sub_steps(ctx, v, path, roles);
        Some(if key == "parallel" {
            OrgStepKind::Parallel(subs)
        } else {
            OrgStepKind::Sequential(subs)
        })
    } else {
        ctx.cx.push(
            Diagnostic::error(
                codes::STEP,
                format!("`{key}` is not a workflow step"),
                k.span,
            )
            .with_help(format!("step types: {}", STEP_TYPES.join(", "))),
        );
        None
    }
}

/// The keys a typed step of type `ty` accepts besides `type`; `None` for an unknown type.
fn typed_step_keys(ty: &str) -> Option<&'static [&'static str]> {
    Some(match ty {
        "assign" => &["role", "task", "input"],
        "parallel" | "sequential" => &["steps"],
        "review" => &["reviewer", "subject"],
        "approve" => &["approver", "subject"],
        "aggregate" => &["method"],
        "condition" => &["check", "then", "else"],
        "select" => &["role", "criteria"],
        _ => return None,
    })
}

/// A step with a `type` and that type's keys.
fn typed_step(ctx: &mut Ctx<'_>, node: &Yaml, path: &str, roles: &[String]) -> Option<OrgStepKind> {
    let ty = node
        .get("type")
        .and_then(Yaml::scalar_text)
        .unwrap_or_default();
    let Some(extra) = typed_step_keys(ty) else {
        let span = node.get("type").map_or(node.span, |t| t.span);
        let msg = if ty.is_empty() {
            format!("workflow step `{path}` has no `type`")
        } else {
            format!("unknown workflow step type `{ty}`")
        };
        let help = Ctx::did_you_mean(ty, STEP_TYPES.iter().copied())
            .unwrap_or_else(|| format!("step types: {}", STEP_TYPES.join(", ")));
        ctx.cx
            .push(Diagnostic::error(codes::STEP, msg, span).with_help(help));
        return None;
    };
    let allowed: Vec<&str> = ["type"].iter().chain(extra).copied().collect();
    let f = ctx.cx.map(node, path, &allowed)?;
    let text = |ctx: &mut Ctx<'_>, key: &str| -> String {
        if ctx.cx.require(&f, key) {
            f.value(key)
                .and_then(Yaml::scalar_text)
                .unwrap_or_default()
                .to_string()
        } else {
            String::new()
        }
    };
    Some(match ty {
        "assign" => OrgStepKind::Assign {
            role: text(ctx, "role"),
            task: text(ctx, "task"),
        },
        "parallel" | "sequential" => {
            let subs = if ctx.cx.require(&f, "steps") {
                f.value("steps")
                    .map(|s| sub_steps(ctx, s, path, roles))
                    .unwrap_or_default()
            } else {
                Vec::new()
            };
            if ty == "parallel" {
                OrgStepKind::Parallel(subs)
            } else {
                OrgStepKind::Sequential(subs)
            }
        }
        "review" => OrgStepKind::Review {
            role: text(ctx, "reviewer"),
        },
        "approve" => OrgStepKind::Approve {
            role: text(ctx, "approver"),
        },
        "aggregate" => OrgStepKind::Aggregate {
            method: ctx
                .cx
                .one_of(&f, "method", &["consensus", "majority", "merge", "best"])
                .unwrap_or("majority")
                .to_string(),
        },
        "condition" => {
            let check = text(ctx, "check");
            let then = f
                .value("then")
                .and_then(|t| step(ctx, t, format!("{path}_0"), roles));
            if then.is_none() {
                ctx.cx.require(&f, "then");
            }
            let otherwise = f
                .value("else")
                .and_then(|e| step(ctx, e, format!("{path}_1"), roles))
                .map(Box::new);
            OrgStepKind::Condition {
                check,
                then: Box::new(then?),
                otherwise,
            }
        }
        _ => OrgStepKind::Select {
            role: text(ctx, "role"),
        },
    })
}

fn sub_steps(ctx: &mut Ctx<'_>, node: &Yaml, path: &str, roles: &[String]) -> Vec<OrgStep> {
    let Some(items) = node.as_seq() else {
        ctx.cx
            .bad(format!("`{path}.steps` must be a list"), node.span, None);
        return Vec::new();
    };
    items
        .iter()
        .enumerate()
        .filter_map(|(j, item)| step(ctx, item, format!("{path}_{j}"), roles))
        .collect()
}

fn check_role(ctx: &mut Ctx<'_>, kind: &OrgStepKind, span: Span, roles: &[String]) {
    let role = match kind {
        OrgStepKind::Assign { role, .. }
        | OrgStepKind::Review { role }
        | OrgStepKind::Approve { role }
        | OrgStepKind::Select { role } => role,
        _ => return,
    };
    if !roles.iter().any(|r| r == role) {
        let help = Ctx::did_you_mean(role, roles.iter().map(String::as_str))
            .unwrap_or_else(|| format!("roles: {}", roles.join(", ")));
        ctx.cx.push(
            Diagnostic::error(
                codes::UNKNOWN_REF,
                format!("`{role}` is not a role of `structure.roles`"),
                span,
            )
            .with_help(help),
        );
    }
}

/// Every `step_…_result` name the workflow binds.
pub fn result_names(steps: &[OrgStep]) -> Vec<String> {
    let mut out = Vec::new();
    fn walk(s: &OrgStep, out: &mut Vec<String>) {
        out.push(format!("{}_result", s.path));
        match &s.kind {
            OrgStepKind::Parallel(subs) | OrgStepKind::Sequential(subs) => {
                subs.iter().for_each(|x| walk(x, out))
            }
            OrgStepKind::Condition {
                then, otherwise, ..
            } => {
                walk(then, out);
                if let Some(o) = otherwise {
                    walk(o, out);
                }
            }
            _ => {}
        }
    }
    steps.iter().for_each(|s| walk(s, &mut out));
    out
}

/// The strings of the workflow that interpolate (`${…}`) or are `check` expressions.
fn steps_texts(workflow: &Yaml) -> Vec<(String, Span, bool)> {
    fn walk(n: &Yaml, key: &str, out: &mut Vec<(String, Span, bool)>) {
        if let Some(entries) = n.as_map() {
            for (k, v) in entries {
                walk(v, k.key_text().unwrap_or_default(), out);
            }
        } else if let Some(items) = n.as_seq() {
            items.iter().for_each(|i| walk(i, key, out));
        } else if let Some(t) = n.scalar_text()
            && (key == "check" || t.contains("${"))
        {
            out.push((t.to_string(), n.span, key == "check"));
        }
    }
    let mut out = Vec::new();
    if let Some(s) = workflow.get("steps") {
        walk(s, "steps", &mut out);
    }
    out
}

/// `${…}` holes (and `check` expressions) may name `input` and step results only.
fn check_holes(ctx: &mut Ctx<'_>, texts: &[(String, Span, bool)], results: &[String]) {
    for (text, span, is_check) in texts {
        let mut exprs: Vec<(usize, usize)> = Vec::new();
        let mut from = 0;
        while let Some(open) = text[from..].find("${") {
            let start = from + open + 2;
            let Some(close) = text[start..].find('}') else {
                break;
            };
            exprs.push((start, start + close));
            from = start + close + 1;
        }
        if *is_check && exprs.is_empty() {
            exprs.push((0, text.len()));
        }
        let base = ctx
            .source
            .get(span.start as usize..span.end as usize)
            .and_then(|s| s.find(text.as_str()))
            .map(|i| span.start as usize + i);
        for (s, e) in exprs {
            for b in expr::scan(&text[s..e]).bare {
                if b.name == "input" || results.contains(&b.name) || b.name == "finalResult" {
                    continue;
                }
                let at = base.map_or(*span, |base| {
                    Span::new(base + s + b.start, base + s + b.end)
                });
                let help = Ctx::did_you_mean(&b.name, results.iter().map(String::as_str))
                    .unwrap_or_else(|| "holes may use `input` and step results (`step_0_result`, `step_1_0_result`, …)".into());
                ctx.cx.push(
                    Diagnostic::error(
                        codes::UNKNOWN_REF,
                        format!("unknown name `{}` in `${{…}}`", b.name),
                        at,
                    )
                    .with_help(help),
                );
            }
        }
    }
}
