//! Org charts (§2) as Prism: the roles filled in file order, then the workflow's steps —
//! each task through `orgTask` (rotation and the role's confidence policy), `${…}` task
//! texts through `interpolate` — and the workflow's value.

use serde_json::Value;

use super::{Writer, compact, ident, string};
use crate::pattern::model::{OrgChart, OrgStep, OrgStepKind};
use crate::plan::{NodeKind, Plan};

struct Ctx {
    /// `<path>_result` names defined so far, in order.
    results: Vec<String>,
    /// Those defined by a `const` (always set once defined).
    definite: Vec<String>,
}

/// Writes the script of an org chart.
pub(super) fn body(plan: &Plan, o: &OrgChart, w: &mut Writer) {
    w.blank();
    w.line("// roles (§2): filled in file order, agents no other role uses first");
    for (_, n) in plan.nodes() {
        if let NodeKind::AgentGroup {
            selection,
            role: Some(role),
            ..
        } = &n.kind
        {
            w.line(format!(
                "fillRole({}, {})",
                string(role),
                compact(&selection.to_json())
            ));
        }
    }
    w.blank();
    w.line("// the last step's record (what review and approve judge) and the last task's answers (what aggregate combines)");
    w.line("let previous = null");
    w.line("let answers = []");
    let mut ctx = Ctx {
        results: Vec::new(),
        definite: Vec::new(),
    };
    for s in &o.steps {
        step(&mut ctx, s, w, "const ");
    }
    let name = crate::plan::build_other::org_result(o);
    let name = name
        .trim_start_matches("${")
        .trim_end_matches('}')
        .to_string();
    let result = if ctx.definite.contains(&name) {
        ident(&name)
    } else if ctx.results.contains(&name) {
        let record = name.trim_end_matches("_result");
        format!(
            "{} != null ? {} : previous?.value",
            ident(record),
            ident(&name)
        )
    } else {
        "previous?.value".to_string()
    };
    let workflow = plan
        .meta
        .extra
        .get("workflow")
        .cloned()
        .unwrap_or_else(|| Value::from(plan.meta.name.as_str()));
    w.uses("mean");
    w.uses("usedAgents");
    w.blank();
    w.line("// confidence: the mean over every answer of the run");
    w.line("const answersOfRun = runAnswers()");
    w.line(
        "const confidence = mean(answersOfRun.filter(a => a.error == null).map(a => a.confidence))",
    );
    w.blank();
    w.line("// output: the workflow's value");
    w.open("const output = {");
    w.line(format!("patternName: {},", string(&plan.meta.name)));
    w.line(format!("workflow: {},", compact(&workflow)));
    w.line(format!("result: {result},"));
    w.line("roles: roleAgents(),");
    w.line("agentsUsed: usedAgents(answersOfRun),");
    w.line("confidence: confidence");
    w.close("}");
    w.line("output ~> confidence");
}

/// The names `${…}` holes and checks may use here: `input` and the results so far.
fn names(ctx: &Ctx) -> String {
    let mut parts = vec!["input".to_string()];
    parts.extend(ctx.results.iter().map(|r| ident(r)));
    format!("{{{}}}", parts.join(", "))
}

/// Every `<path>_result` a step may define.
fn defined(s: &OrgStep, out: &mut Vec<String>) {
    match &s.kind {
        OrgStepKind::Sequential(subs) => subs.iter().for_each(|x| defined(x, out)),
        OrgStepKind::Parallel(subs) => {
            subs.iter().for_each(|x| defined(x, out));
            out.push(format!("{}_result", s.path));
        }
        OrgStepKind::Condition {
            then, otherwise, ..
        } => {
            defined(then, out);
            if let Some(o) = otherwise {
                defined(o, out);
            }
        }
        _ => out.push(format!("{}_result", s.path)),
    }
}

/// One workflow step: a task for a role, an aggregation, steps in order or in parallel, or
/// a condition.
fn step(ctx: &mut Ctx, s: &OrgStep, w: &mut Writer, decl: &str) {
    w.blank();
    match &s.kind {
        OrgStepKind::Assign { role, task } => {
            w.line(format!("// {}: assign to `{role}`", s.path));
            let text = if task.contains("${") {
                format!("interpolate({}, {})", string(task), names(ctx))
            } else {
                string(task)
            };
            task_call(ctx, s, w, decl, "assign", role, Some(text));
        }
        OrgStepKind::Review { role } => {
            w.line(format!(
                "// {}: `{role}` reviews the previous result",
                s.path
            ));
            task_call(ctx, s, w, decl, "review", role, None);
        }
        OrgStepKind::Approve { role } => {
            w.line(format!(
                "// {}: `{role}` approves or rejects the previous result",
                s.path
            ));
            task_call(ctx, s, w, decl, "approve", role, None);
        }
        OrgStepKind::Select { role } => {
            w.line(format!(
                "// {}: every agent of `{role}` answers, the most confident wins",
                s.path
            ));
            task_call(ctx, s, w, decl, "select", role, None);
        }
        OrgStepKind::Aggregate { method } => aggregate_step(ctx, s, method, w, decl),
        OrgStepKind::Sequential(subs) => {
            w.line(format!("// {}: one after another", s.path));
            for sub in subs {
                step(ctx, sub, w, decl);
            }
        }
        OrgStepKind::Parallel(subs) => parallel_step(ctx, s, subs, w, decl),
        OrgStepKind::Condition {
            check,
            then,
            otherwise,
        } => condition_step(ctx, s, check, then, otherwise.as_deref(), w),
    }
}

/// `aggregate`: the last task's answers aggregated by the method's strategy.
fn aggregate_step(ctx: &mut Ctx, s: &OrgStep, method: &str, w: &mut Writer, decl: &str) {
    let rec = ident(&s.path);
    let result = ident(&format!("{}_result", s.path));
    let config = crate::plan::build_other::org_aggregation(method);
    w.line(format!(
        "// {}: aggregate the last task's answers ({method})",
        s.path
    ));
    w.line(format!(
        "{decl}{rec} = aggregate(answers, {})",
        compact(&config)
    ));
    w.line(format!("{decl}{result} = {rec}.value"));
    w.line(format!("previous = {rec}"));
    ctx.defined(s, decl);
}

/// `parallel`: the steps in order, then the list of their results as one record.
fn parallel_step(ctx: &mut Ctx, s: &OrgStep, subs: &[OrgStep], w: &mut Writer, decl: &str) {
    let rec = ident(&s.path);
    let result = ident(&format!("{}_result", s.path));
    w.line(format!(
        "// {}: the plan runs these concurrently; here they run in order",
        s.path
    ));
    for sub in subs {
        step(ctx, sub, w, decl);
    }
    w.uses("mean");
    let mut values = Vec::new();
    let mut records = Vec::new();
    for sub in subs {
        let mut d = Vec::new();
        defined(sub, &mut d);
        if d.contains(&format!("{}_result", sub.path)) {
            values.push(format!("{}.value", ident(&sub.path)));
            records.push(ident(&sub.path));
        }
    }
    w.line(format!("// {}: the list of its steps' results", s.path));
    w.line(format!(
        "{decl}{rec} = {{value: [{}], confidence: mean([{}].map(r => r.confidence))}}",
        values.join(", "),
        records.join(", ")
    ));
    w.line(format!("{decl}{result} = {rec}.value"));
    w.line(format!("previous = {rec}"));
    w.line(format!(
        "answers = runAnswers().filter(a => a.step != null && a.step.startsWith({}) && a.step != {})",
        string(&s.path),
        string(&s.path)
    ));
    ctx.defined(s, decl);
}

/// `condition`: the variables either branch defines, then `if (check) {…} else {…}`.
fn condition_step(
    ctx: &mut Ctx,
    s: &OrgStep,
    check: &str,
    then: &OrgStep,
    otherwise: Option<&OrgStep>,
    w: &mut Writer,
) {
    let c = check.trim();
    let c = c
        .strip_prefix("${")
        .and_then(|x| x.strip_suffix('}'))
        .unwrap_or(c);
    w.line(format!(
        "// {}: condition `{}`",
        s.path,
        c.replace('\n', " ")
    ));
    let mut d = Vec::new();
    defined(then, &mut d);
    if let Some(o) = otherwise {
        defined(o, &mut d);
    }
    for r in &d {
        w.line(format!(
            "let {} = null",
            ident(r.trim_end_matches("_result"))
        ));
        w.line(format!("let {} = null", ident(r)));
    }
    w.open(format!("if ({c}) {{"));
    step(ctx, then, w, "");
    match otherwise {
        Some(o) => {
            w.mid("} else {");
            step(ctx, o, w, "");
            w.close("}");
        }
        None => w.close("}"),
    }
}

fn task_call(
    ctx: &mut Ctx,
    s: &OrgStep,
    w: &mut Writer,
    decl: &str,
    action: &str,
    role: &str,
    task: Option<String>,
) {
    let rec = ident(&s.path);
    let mut req = vec![
        format!("action: {}", string(action)),
        format!("role: {}", string(role)),
    ];
    if let Some(t) = task {
        req.push(format!("task: {t}"));
    }
    req.push(format!("step: {}", string(&s.path)));
    if matches!(action, "review" | "approve") {
        req.push("subject: previous?.value".into());
    }
    w.line(format!(
        "{decl}{rec} = await orgTask({{{}}})",
        req.join(", ")
    ));
    w.line(format!(
        "{decl}{} = {rec}.value",
        ident(&format!("{}_result", s.path))
    ));
    w.line(format!("previous = {rec}"));
    w.line(format!("answers = {rec}.answers"));
    ctx.defined(s, decl);
}

impl Ctx {
    /// Notes that a step's result is defined (for good when written with `const`).
    fn defined(&mut self, s: &OrgStep, decl: &str) {
        let name = format!("{}_result", s.path);
        if decl.starts_with("const") {
            self.definite.push(name.clone());
        }
        self.results.push(name);
    }
}
