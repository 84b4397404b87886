//! The steps of a YAML pattern (§1.5) as Prism: agent steps, composition, parallel steps,
//! loops, batches, `assign`, `default` and `escalate`, with conditions and `onError`; and the
//! step machine that switches, gates and `then` jumps need.

use serde_json::Value;

use super::expr::{Bare, Names, paren, translate, tree};
use super::yaml::{
    Ctx, STEP_FIELDS, aggregation_fields, bound_names, declare, describe_aggregation, groups,
    phase_record, request, selection, validation_check,
};
use super::{Writer, compact, ident, key, literal, string};
use crate::pattern::model::{Jump, Phase, Step, StepKind, StepOutput};
use crate::plan::NodeKind;
use crate::plan::settings::AssignValues;

/// Writes one step; `top` is true for a step of the top-level list outside the machine.
pub(super) fn step(ctx: &mut Ctx<'_>, s: &Step, w: &mut Writer, top: bool) {
    let simple = top && !ctx.machine && s.condition.is_none() && s.on_error.is_none();
    w.blank();
    w.line(format!("// step `{}` ({})", s.id.value, s.kind.word()));
    if !simple && top && !ctx.machine {
        let mut names = Vec::new();
        bound_names(s, &mut names);
        declare(&names, w);
        for n in &names {
            ctx.names.record(n, ident(n), true, Vec::new());
        }
    }
    let decl = if simple { "const " } else { "" };
    guarded_body(ctx, s, w, decl);
}

/// A step's body, in `if (condition) {…} else {skipped}` when it has a condition and in
/// `try {…} catch` when its `onError` handles a failure.
fn guarded_body(ctx: &mut Ctx<'_>, s: &Step, w: &mut Writer, decl: &str) {
    if let Some(cond) = &s.condition {
        let c = paren(cond, &ctx.names, Bare::Keep, w);
        w.open(format!("if {c} {{"));
    }
    let on_error = handled_error(s);
    if on_error.is_some() {
        w.open("try {");
    }
    step_body(ctx, s, w, decl);
    if let Some(e) = on_error {
        catch_error(ctx, s, e, w);
    }
    if s.condition.is_some() {
        w.mid("} else {");
        skipped(s, w);
        w.close("}");
    }
}

/// A step's `onError` when it does more than fail the run (the step then runs in `try`).
fn handled_error(s: &Step) -> Option<&Value> {
    s.on_error
        .as_ref()
        .filter(|e| e.get("type").and_then(Value::as_str).unwrap_or("fail") != "fail")
}

/// `} catch (error) {`: the record `onError` gives the failed step, up to the closing `}`.
fn catch_error(ctx: &Ctx<'_>, s: &Step, e: &Value, w: &mut Writer) {
    let id = ident(&s.id.value);
    w.mid("} catch (error) {");
    match e.get("type").and_then(Value::as_str) {
        Some("default") => w.line(format!(
            "{id} = {{...recordLiteral({}), success: false, error: error}}",
            compact(e.get("value").unwrap_or(&Value::Null))
        )),
        _ => w.line(format!(
            "{id} = {{value: null, confidence: 0, success: false, error: error}}"
        )),
    }
    if ctx.last {
        w.line(format!("last = {id}"));
    }
    w.close("}");
}

/// The record of a skipped step, under its id and its output name.
fn skipped(s: &Step, w: &mut Writer) {
    w.uses("skipped");
    let id = ident(&s.id.value);
    w.line(format!("{id} = skipped({})", string(&s.id.value)));
    if let Some(StepOutput::Name(n)) = &s.output
        && ident(&n.value) != id
    {
        w.line(format!("{} = {id}", ident(&n.value)));
    }
}

/// Binds a step's record under its id and output name and keeps `last`, `steps` and
/// `contributed` (the executor's `set_step_record`).
fn set_record(
    ctx: &mut Ctx<'_>,
    s: &Step,
    rec: &str,
    decl: &str,
    contributes: bool,
    w: &mut Writer,
    fields: Vec<&'static str>,
) {
    let id = ident(&s.id.value);
    if rec != id {
        w.line(format!("{decl}{id} = {rec}"));
    }
    if let Some(StepOutput::Shape(shape)) = &s.output {
        let mut names = ctx.names.clone();
        names.record("result", id.clone(), false, fields.clone());
        let v = tree(shape, &names, Bare::Keep, w, 0);
        w.line(format!("{id}.value = {v}"));
    }
    let maybe = !decl.starts_with("const");
    ctx.names.record(
        &s.id.value,
        id.clone(),
        maybe && ctx.machine,
        fields.clone(),
    );
    if let Some(StepOutput::Name(n)) = &s.output {
        let alias = ident(&n.value);
        if alias != id {
            w.line(format!("{decl}{alias} = {id}"));
        }
        ctx.names
            .record(&n.value, alias, maybe && ctx.machine, fields);
    }
    if ctx.steps {
        w.line(format!(
            "steps[{}] = {{output: {id}.value, confidence: {id}.confidence}}",
            string(&s.id.value)
        ));
        if let Some(StepOutput::Name(n)) = &s.output {
            w.line(format!(
                "steps[{}] = {{output: {id}.value, confidence: {id}.confidence}}",
                string(&n.value)
            ));
        }
    }
    if ctx.last {
        w.line(format!("last = {id}"));
    }
    if ctx.contributed && contributes {
        w.line(format!("contributed[{}] = {id}", string(&s.id.value)));
    }
}

fn step_body(ctx: &mut Ctx<'_>, s: &Step, w: &mut Writer, decl: &str) {
    let id = ident(&s.id.value);
    match &s.kind {
        StepKind::Agent { phase: ph, .. } => agent_step(ctx, s, ph, w, decl),
        StepKind::Pattern { name, .. } => pattern_step(ctx, s, name, &id, w, decl),
        StepKind::Parallel(branches) => parallel_step(ctx, s, branches, id, w, decl),
        StepKind::Switch { value: v, cases } => switch(ctx, s, v, cases, w, decl),
        StepKind::Gate {
            condition,
            on_pass,
            on_fail,
        } => gate(ctx, s, &condition.to_json(), on_pass, on_fail, w, decl),
        StepKind::Loop {
            steps,
            max_iterations,
            condition,
        } => loop_step(
            ctx,
            s,
            steps,
            *max_iterations,
            condition.as_deref(),
            &id,
            w,
            decl,
        ),
        StepKind::Batch {
            items,
            task,
            concurrency,
        } => batch_step(ctx, s, items, task, *concurrency, &id, w, decl),
        StepKind::Assign(values) => assign_step(ctx, s, values, id, w, decl),
        StepKind::Default(v) => {
            let e = tree(v, &ctx.names, Bare::Keep, w, 0);
            w.line(format!("{decl}{id} = recordLiteral({e})"));
            set_record(ctx, s, &id, decl, false, w, Vec::new());
        }
        StepKind::Escalate { to, context } => {
            let c = context.as_ref().map_or("null".to_string(), |c| {
                tree(c, &ctx.names, Bare::Keep, w, 0)
            });
            w.line(format!(
                "escalate({{target: {}, reason: {}, context: {c}}})",
                string(to.as_deref().unwrap_or("human")),
                string(&format!("step `{}` escalated", s.id.value))
            ));
        }
    }
}

/// A composed pattern: `runPattern` with the resolved path and the shaped input.
fn pattern_step(ctx: &mut Ctx<'_>, s: &Step, name: &str, id: &str, w: &mut Writer, decl: &str) {
    let resolved = ctx.plan.nodes().find_map(|(_, n)| match &n.kind {
        NodeKind::SubPattern {
            resolved: Some(r),
            input,
            ..
        } if n.step.as_deref() == Some(s.id.value.as_str()) => {
            Some((r.path.clone(), input.clone()))
        }
        _ => None,
    });
    let (path, input) = resolved.unwrap_or_default();
    let input = input.map_or("null".to_string(), |i| {
        tree(&i, &ctx.names, Bare::Keep, w, 0)
    });
    w.line(format!(
        "{decl}{id} = await runPattern({}, {}, {input}, {})",
        string(name),
        string(&path),
        string(&s.id.value)
    ));
    set_record(ctx, s, id, decl, true, w, STEP_FIELDS.to_vec());
}

/// Parallel branches, written one after the other.
fn parallel_step(
    ctx: &mut Ctx<'_>,
    s: &Step,
    branches: &[Step],
    id: String,
    w: &mut Writer,
    decl: &str,
) {
    let mut names = Vec::new();
    branches.iter().for_each(|b| bound_names(b, &mut names));
    if !ctx.machine && decl.starts_with("const") {
        declare(&names, w);
    }
    for n in &names {
        ctx.names.record(n, ident(n), true, Vec::new());
    }
    w.line("// branches: the plan runs them concurrently, here they run in order");
    for b in branches {
        step_inner(ctx, b, w);
    }
    w.line(format!("{decl}{id} = null"));
    ctx.names.record(&s.id.value, id, true, Vec::new());
}

/// A loop: a `while` over the body at most `max_iterations` times, its record the last
/// body step's with `iterations`.
#[allow(clippy::too_many_arguments)]
fn loop_step(
    ctx: &mut Ctx<'_>,
    s: &Step,
    steps: &[Step],
    max_iterations: u32,
    condition: Option<&str>,
    id: &str,
    w: &mut Writer,
    decl: &str,
) {
    let mut names = Vec::new();
    steps.iter().for_each(|b| bound_names(b, &mut names));
    if !ctx.machine {
        declare(&names, w);
    }
    for n in &names {
        ctx.names.record(n, ident(n), true, Vec::new());
    }
    ctx.names.plain("iteration", "iteration");
    w.line("let iteration = 0");
    w.open(format!("while (iteration < {max_iterations}) {{"));
    w.line("iteration = iteration + 1");
    for b in steps {
        step_inner(ctx, b, w);
    }
    if let Some(c) = condition {
        let c = paren(c, &ctx.names, Bare::Keep, w);
        w.line(format!("if (!{c}) {{ break }}"));
    }
    w.close("}");
    let exit = steps
        .last()
        .map_or("null".to_string(), |b| ident(&b.id.value));
    let rec = if ctx.last {
        format!("{{...({exit} ?? last ?? {{value: null, confidence: 0}}), iterations: iteration}}")
    } else {
        format!("{{...({exit} ?? {{value: null, confidence: 0}}), iterations: iteration}}")
    };
    w.line(format!("{decl}{id} = {rec}"));
    set_record(ctx, s, id, decl, false, w, vec!["iterations"]);
}

/// A batch: the task run over each item with `mapLimit`, its record the values and the
/// mean confidence.
#[allow(clippy::too_many_arguments)]
fn batch_step(
    ctx: &mut Ctx<'_>,
    s: &Step,
    items: &str,
    task: &[Step],
    concurrency: u32,
    id: &str,
    w: &mut Writer,
    decl: &str,
) {
    w.uses("asItems");
    w.uses("mapLimit");
    w.uses("mean");
    let list = translate(items, &ctx.names, Bare::Keep, w);
    let saved = ctx.names.clone();
    let saved_machine = ctx.machine;
    ctx.machine = false;
    ctx.names.plain("item", "item");
    ctx.names.plain("index", "index");
    w.open(format!(
        "const {id}_items = await mapLimit(asItems({list}), {concurrency}, async (item, index) => {{"
    ));
    let mut names = Vec::new();
    task.iter().for_each(|b| bound_names(b, &mut names));
    declare(&names, w);
    for n in &names {
        ctx.names.record(n, ident(n), true, Vec::new());
    }
    for b in task {
        step_inner(ctx, b, w);
    }
    let exit = task
        .last()
        .map_or("null".to_string(), |b| ident(&b.id.value));
    w.line(format!("return {exit} ?? ({{value: null, confidence: 0}})"));
    w.close("})");
    ctx.names = saved;
    ctx.machine = saved_machine;
    w.line(format!(
        "{decl}{id} = {{value: {id}_items.map(r => r.value), confidence: mean({id}_items.map(r => r.confidence))}}"
    ));
    set_record(ctx, s, id, decl, false, w, Vec::new());
}

/// Assignments: a record for each name, and the step's record of them all.
fn assign_step(
    ctx: &mut Ctx<'_>,
    s: &Step,
    values: &AssignValues,
    id: String,
    w: &mut Writer,
    decl: &str,
) {
    let mut parts = Vec::new();
    for (k, v) in values {
        let e = tree(v, &ctx.names, Bare::Keep, w, 0);
        let name = ident(k);
        w.line(format!("{decl}{name} = {{value: {e}, confidence: 1}}"));
        ctx.names.record(k, name.clone(), false, Vec::new());
        parts.push(format!("{}: {name}.value", key(k)));
    }
    w.line(format!(
        "{decl}{id} = {{value: {{{}}}, confidence: 1}}",
        parts.join(", ")
    ));
    ctx.names.record(&s.id.value, id, false, Vec::new());
}

/// A step nested in a parallel step, loop or batch (its variables are declared).
fn step_inner(ctx: &mut Ctx<'_>, s: &Step, w: &mut Writer) {
    let machine = ctx.machine;
    ctx.machine = false;
    w.line(format!("// step `{}` ({})", s.id.value, s.kind.word()));
    guarded_body(ctx, s, w, "");
    ctx.machine = machine;
}

fn agent_step(ctx: &mut Ctx<'_>, s: &Step, ph: &Phase, w: &mut Writer, decl: &str) {
    let id = ident(&s.id.value);
    let answers = format!("{id}_answers");
    let Some(a) = &ph.agents else {
        w.line(format!("{decl}{id} = recordLiteral(null)"));
        set_record(ctx, s, &id, decl, true, w, Vec::new());
        return;
    };
    let sel = selection(&a.selection.to_json(), &ctx.names, w);
    let req = request(Some(s), ph, &ctx.names, w);
    let dispatch = format!("await callAgents({sel}, {req})");
    let agg_fields = ph
        .aggregation
        .as_ref()
        .map(|g| aggregation_fields(&g.config()))
        .unwrap_or_default();
    let Some(validation) = &ph.validation else {
        w.line(format!("const {answers} = {dispatch}"));
        if !ph.groups.is_empty() {
            w.uses("isValid");
            w.line(format!("const {id}_valid = {answers}.filter(isValid)"));
            groups(ctx, ph, &format!("{id}_valid"), "", w);
        }
        if let Some(agg) = &ph.aggregation {
            w.line(format!(
                "// aggregation: {}",
                describe_aggregation(&agg.config())
            ));
        }
        let rec = phase_record(ph, &answers, &ctx.names, w);
        w.line(format!(
            "{decl}{id} = stepRecord({rec}, {}, {answers})",
            string(&s.id.value)
        ));
        let mut fields = STEP_FIELDS.to_vec();
        fields.extend(agg_fields);
        set_record(ctx, s, &id, decl, true, w, fields);
        return;
    };
    let check = format!("{id}_check");
    let attempts = format!("{id}_attempts");
    w.line(format!("let {answers} = null"));
    w.line(format!("let {check} = null"));
    w.line(format!("let {attempts} = 0"));
    w.open("while (true) {");
    w.line(format!("{attempts} = {attempts} + 1"));
    w.line(format!("{answers} = {dispatch}"));
    if !ph.groups.is_empty() {
        w.uses("isValid");
        w.line(format!("const {id}_valid = {answers}.filter(isValid)"));
        groups(ctx, ph, &format!("{id}_valid"), "", w);
    }
    let rec = phase_record(ph, &answers, &ctx.names, w);
    validation_check(
        ctx,
        &validation.config(),
        ph,
        &rec,
        &answers,
        &check,
        &attempts,
        w,
    );
    w.close("}");
    w.line(format!(
        "const {id}_validated = settleValidation({check}.record, {check}.failure, {attempts}, {}, {})",
        compact(&validation.config()),
        string(&s.id.value)
    ));
    w.line(format!(
        "{decl}{id} = {{...stepRecord({id}_validated.record, {}, {answers}), passed: {id}_validated.validation.passed, attempts: {id}_validated.validation.attempts, validation: {id}_validated.validation}}",
        string(&s.id.value)
    ));
    let mut fields = STEP_FIELDS.to_vec();
    fields.extend(["passed", "validation"]);
    set_record(ctx, s, &id, decl, true, w, fields);
}

/// Where a jump goes, as statements (machine mode: they set `next`).
fn jump_code(ctx: &mut Ctx<'_>, s: &Step, j: &Jump, label: &str, kind: &str, w: &mut Writer) {
    let following = following(ctx, &s.id.value);
    match j {
        Jump::Continue => goto(ctx, following.as_deref(), w),
        Jump::Finish(r) => {
            let rec = match r.as_deref() {
                Some(text) => {
                    let name = text.trim_start_matches('$');
                    let name = name.split('.').next().unwrap_or(name);
                    match ctx.names.get(name) {
                        Some(b) if b.kind == super::expr::Kind::Record => b.ident.clone(),
                        Some(b) => format!("{{value: {}, confidence: 1}}", b.ident),
                        None => format!(
                            "{{value: {}, confidence: 1}}",
                            translate(text, &ctx.names, Bare::Keep, w)
                        ),
                    }
                }
                None => "last".to_string(),
            };
            if ctx.last {
                if rec == "last" {
                    w.line("finished = last");
                } else {
                    // An unset record finishes as null (the executor's unbound reference).
                    w.line(format!(
                        "finished = {rec} ?? ({{value: null, confidence: 1}})"
                    ));
                }
            }
            w.line("next = null // finish: go to the output");
        }
        Jump::Next { target, max } => {
            let forward = position(ctx, &target.value) > position(ctx, &s.id.value);
            if forward {
                goto(ctx, Some(&target.value), w);
            } else {
                back(ctx, &target.value, *max, following.as_deref(), w);
            }
        }
        Jump::Retry { target, max } => {
            let to = match target {
                Some(t) => Some(t.value.clone()),
                None => preceding_agent(ctx, &s.id.value),
            };
            match to {
                Some(t) => back(ctx, &t, *max, following.as_deref(), w),
                None => goto(ctx, following.as_deref(), w),
            }
        }
        Jump::Escalate(to) => w.line(format!(
            "escalate({{target: {}, reason: {}, context: null}})",
            string(to.as_deref().unwrap_or("human")),
            string(&format!("step `{}` escalated", s.id.value))
        )),
        Jump::Fail => {
            let msg = if kind == "gate" {
                format!("gate {} failed", s.id.value)
            } else {
                format!("switch {}: case `{label}` fails the run", s.id.value)
            };
            w.line(format!("fail({})", string(&msg)));
        }
        Jump::Inline(inner) => {
            step_inner(ctx, inner, w);
            goto(ctx, following.as_deref(), w);
        }
    }
}

fn position(ctx: &Ctx<'_>, id: &str) -> usize {
    ctx.order.iter().position(|s| s == id).unwrap_or(0)
}

fn following(ctx: &Ctx<'_>, id: &str) -> Option<String> {
    let i = ctx.order.iter().position(|s| s == id)?;
    ctx.order.get(i + 1).cloned()
}

fn preceding_agent(ctx: &Ctx<'_>, id: &str) -> Option<String> {
    let i = ctx.order.iter().position(|s| s == id)?;
    let agents: Vec<String> = ctx
        .plan
        .nodes()
        .filter(|(_, n)| matches!(n.kind, NodeKind::AgentGroup { .. }))
        .filter_map(|(_, n)| n.step.clone())
        .collect();
    ctx.order[..i]
        .iter()
        .rev()
        .find(|s| agents.contains(s))
        .cloned()
}

fn goto(ctx: &Ctx<'_>, target: Option<&str>, w: &mut Writer) {
    if ctx.machine {
        match target {
            Some(t) => w.line(format!("next = {}", string(t))),
            None => w.line("next = null"),
        }
    }
}

/// A backward jump, taken at most `max` times from this site.
fn back(ctx: &mut Ctx<'_>, target: &str, max: u32, following: Option<&str>, w: &mut Writer) {
    ctx.sites += 1;
    let counter = format!("jumps{}", ctx.sites);
    w.open(format!("if ({counter} < {max}) {{"));
    w.line(format!("{counter} = {counter} + 1"));
    w.line(format!(
        "next = {} // back, at most {max} times",
        string(target)
    ));
    w.mid("} else {");
    goto(ctx, following, w);
    w.close("}");
    ctx.counters.push(counter);
}

fn switch(
    ctx: &mut Ctx<'_>,
    s: &Step,
    v: &str,
    cases: &[crate::pattern::model::Case],
    w: &mut Writer,
    decl: &str,
) {
    let id = ident(&s.id.value);
    let val = format!("{id}_value");
    if decl.starts_with("const") {
        w.line(format!("let {id} = null"));
    }
    let decl = "";
    let e = translate(v, &ctx.names, Bare::Keep, w);
    w.line(format!("const {val} = {e}"));
    let mut first = true;
    let mut has_default = false;
    for c in cases {
        if c.label == "default" {
            has_default = true;
            continue;
        }
        let test = match &c.condition {
            Some(cond) => case_test(cond, &val, &ctx.names, w),
            None => {
                w.uses("isLabel");
                format!("isLabel({val}, {})", string(&c.label))
            }
        };
        let kw = if first { "if" } else { "} else if" };
        if first {
            w.open(format!("{kw} ({test}) {{"));
        } else {
            w.mid(format!("{kw} ({test}) {{"));
        }
        first = false;
        w.line(format!(
            "{decl}{id} = {{value: {val}, confidence: 1, case: {}}}",
            string(&c.label)
        ));
        jump_code(ctx, s, &c.jump, &c.label, "switch", w);
    }
    let default = cases.iter().find(|c| c.label == "default");
    if first {
        w.open("{");
    } else {
        w.mid("} else {");
    }
    match default {
        Some(c) if has_default => {
            w.line(format!(
                "{decl}{id} = {{value: {val}, confidence: 1, case: \"default\"}}"
            ));
            jump_code(ctx, s, &c.jump, "default", "switch", w);
        }
        _ => w.line(format!(
            "fail({} + JSON.stringify({val}))",
            string(&format!("switch {}: no case matches ", s.id.value))
        )),
    }
    w.close("}");
    ctx.names.record(&s.id.value, id, true, vec!["case"]);
}

/// A switch case condition: `gte 0.8` form on a number, else an expression over `value`.
fn case_test(cond: &str, val: &str, names: &Names, w: &mut Writer) -> String {
    let mut parts = cond.split_whitespace();
    if let (Some(op), Some(num), None) = (parts.next(), parts.next(), parts.next())
        && num.parse::<f64>().is_ok()
    {
        let op = match op {
            "eq" => Some("=="),
            "ne" => Some("!="),
            "gt" => Some(">"),
            "gte" => Some(">="),
            "lt" => Some("<"),
            "lte" => Some("<="),
            _ => None,
        };
        if let Some(op) = op {
            return format!("{val} {op} {num}");
        }
    }
    paren(cond, names, Bare::Map(&[("value", val.to_string())]), w)
}

fn gate(
    ctx: &mut Ctx<'_>,
    s: &Step,
    condition: &Value,
    on_pass: &Jump,
    on_fail: &Jump,
    w: &mut Writer,
    decl: &str,
) {
    let id = ident(&s.id.value);
    let test = |c: &Value, ctx: &Ctx<'_>, w: &mut Writer| match c {
        Value::String(t) => paren(t, &ctx.names, Bare::Keep, w),
        Value::Bool(b) => b.to_string(),
        other => format!("({})", literal(other)),
    };
    let passed = match condition {
        Value::Object(m) if m.contains_key("$all") || m.contains_key("$any") => {
            let all = m.contains_key("$all");
            let body = if all { &m["$all"] } else { &m["$any"] };
            match body {
                Value::Array(items) => {
                    let tests: Vec<String> = items.iter().map(|i| test(i, ctx, w)).collect();
                    let how = if all { "every" } else { "some" };
                    format!("[{}].{how}(x => x ? true : false)", tests.join(", "))
                }
                other => test(other, ctx, w),
            }
        }
        other => test(other, ctx, w),
    };
    w.line(format!("const {id}_passed = {passed} ? true : false"));
    w.line(format!(
        "{decl}{id} = {{value: {id}_passed, confidence: 1, passed: {id}_passed}}"
    ));
    ctx.names
        .record(&s.id.value, id.clone(), false, vec!["passed"]);
    w.open(format!("if ({id}_passed) {{"));
    jump_code(ctx, s, on_pass, "pass", "gate", w);
    w.mid("} else {");
    jump_code(ctx, s, on_fail, "fail", "gate", w);
    w.close("}");
}

/// The step machine: each pass runs the step named by `next`.
pub(super) fn machine(ctx: &mut Ctx<'_>, steps: &[Step], w: &mut Writer) {
    let start = w.mark();
    w.blank();
    w.line(format!(
        "let next = {}",
        steps
            .first()
            .map_or("null".to_string(), |s| string(&s.id.value))
    ));
    w.open("while (next != null) {");
    for (i, s) in steps.iter().enumerate() {
        let kw = if i == 0 { "if" } else { "} else if" };
        if i == 0 {
            w.open(format!("{kw} (next == {}) {{", string(&s.id.value)));
        } else {
            w.mid(format!("{kw} (next == {}) {{", string(&s.id.value)));
        }
        machine_step(ctx, s, w);
    }
    w.mid("} else {");
    w.line("next = null");
    w.close("}");
    w.close("}");
    let counters = std::mem::take(&mut ctx.counters);
    if !counters.is_empty() {
        let decls: Vec<String> = counters.iter().map(|c| format!("let {c} = 0")).collect();
        w.insert_at(
            start,
            &format!(
                "\n// backward jumps taken so far, per site\n{}\n",
                decls.join("\n")
            ),
        );
    }
}

fn machine_step(ctx: &mut Ctx<'_>, s: &Step, w: &mut Writer) {
    w.line(format!("// step `{}` ({})", s.id.value, s.kind.word()));
    let following = following(ctx, &s.id.value);
    let jumps_itself = matches!(s.kind, StepKind::Switch { .. } | StepKind::Gate { .. });
    if let Some(cond) = &s.condition {
        let c = paren(cond, &ctx.names, Bare::Keep, w);
        w.open(format!("if (!{c}) {{"));
        skipped(s, w);
        then_or_next(ctx, s, following.as_deref(), w);
        w.mid("} else {");
    }
    let on_error = handled_error(s);
    if on_error.is_some() {
        w.open("try {");
    }
    step_body(ctx, s, w, "");
    if let Some(e) = on_error {
        catch_error(ctx, s, e, w);
    }
    if !jumps_itself {
        then_or_next(ctx, s, following.as_deref(), w);
    }
    if s.condition.is_some() {
        w.close("}");
    }
}

/// After a step: its `then.next` (forward, or back at most twice), else the next step.
fn then_or_next(ctx: &mut Ctx<'_>, s: &Step, following: Option<&str>, w: &mut Writer) {
    match &s.then {
        Some(t) if position(ctx, &t.value) > position(ctx, &s.id.value) => {
            goto(ctx, Some(&t.value), w)
        }
        Some(t) => back(ctx, &t.value, 2, following, w),
        None => goto(ctx, following, w),
    }
}
