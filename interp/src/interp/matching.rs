//! `match` expressions: literal, binding, wildcard, array and object patterns with confidence
//! thresholds and guards. No matching arm gives `null`.

use prism_compiler::ast::{Expr, Ident, MatchArm, MatchBody, MatchElem, MatchPattern, MatchProp};

use super::Interpreter;
use crate::error::Eval;
use crate::scope::{Env, Scope};
use crate::value::{Map, Value};

impl Interpreter {
    pub(crate) fn eval_match(&mut self, subject: &Expr, arms: &[MatchArm], env: &Env) -> Eval {
        let v = self.eval(subject, env)?;
        for arm in arms {
            let scope = Scope::child(env);
            let threshold = match &arm.threshold {
                Some(t) => {
                    Some(self.threshold_in(t, &scope, "Confidence threshold must be a number")?)
                }
                None => None,
            };
            if !self.match_pattern(&arm.pattern, &v, &scope, threshold)? {
                continue;
            }
            if let Some(g) = &arm.guard
                && !self.eval(g, &scope)?.is_truthy()
            {
                continue;
            }
            return match &arm.body {
                MatchBody::Expr(e) => self.eval(e, &scope),
                MatchBody::Block(b) => self.exec_block(b, &scope),
            };
        }
        Ok(Value::Null)
    }

    /// Tests `value` against `pattern`, binding names into `env` as it goes.
    fn match_pattern(
        &mut self,
        pattern: &MatchPattern,
        value: &Value,
        env: &Env,
        threshold: Option<f64>,
    ) -> Eval<bool> {
        if threshold.is_some_and(|t| value.confidence_or_one() < t) {
            return Ok(false);
        }
        let inner = value.unwrap_confident();
        match pattern {
            MatchPattern::Wildcard(_) => Ok(true),
            MatchPattern::Literal(e) => {
                let lit = self.eval(e, env)?;
                Ok(inner.strict_equals(lit.unwrap_confident()))
            }
            MatchPattern::Binding(id) => {
                if &*id.name != "_" {
                    env.define(&id.name, value.clone());
                }
                Ok(true)
            }
            MatchPattern::Array { elems, rest, .. } => {
                self.match_array(elems, rest.as_ref(), inner, env, threshold)
            }
            MatchPattern::Object { props, rest, .. } => {
                self.match_object(props, rest.as_ref(), inner, env, threshold)
            }
        }
    }

    /// Tests an unwrapped value against an array pattern: as many elements (at least, with a
    /// rest), each matching its pattern; the rest binds the remaining elements.
    fn match_array(
        &mut self,
        elems: &[MatchElem],
        rest: Option<&Ident>,
        inner: &Value,
        env: &Env,
        threshold: Option<f64>,
    ) -> Eval<bool> {
        let Value::Array(a) = inner else {
            return Ok(false);
        };
        let items = a.borrow().clone();
        let fits = match rest {
            Some(_) => items.len() >= elems.len(),
            None => items.len() == elems.len(),
        };
        if !fits {
            return Ok(false);
        }
        for (el, item) in elems.iter().zip(items.iter()) {
            let t = match &el.threshold {
                Some(t) => Some(self.threshold_in(
                    t,
                    env,
                    "Element confidence threshold must be a number",
                )?),
                None => threshold,
            };
            if !self.match_pattern(&el.pattern, item, env, t)? {
                return Ok(false);
            }
        }
        if let Some(rest) = rest
            && &*rest.name != "_"
        {
            let remaining = items[elems.len()..].to_vec();
            env.define(&rest.name, Value::array(remaining));
        }
        Ok(true)
    }

    /// Tests an unwrapped value against an object pattern: each key present and matching (or
    /// bound); the rest binds an object of the other keys.
    fn match_object(
        &mut self,
        props: &[MatchProp],
        rest: Option<&Ident>,
        inner: &Value,
        env: &Env,
        threshold: Option<f64>,
    ) -> Eval<bool> {
        let Value::Object(o) = inner else {
            return Ok(false);
        };
        let map = o.borrow().clone();
        for p in props {
            let Some(item) = map.get(&*p.key.name) else {
                return Ok(false);
            };
            let t = match &p.threshold {
                Some(t) => Some(self.threshold_in(
                    t,
                    env,
                    "Property confidence threshold must be a number",
                )?),
                None => threshold,
            };
            let matched = match &p.pattern {
                Some(sub) => self.match_pattern(sub, item, env, t)?,
                None => {
                    if t.is_some_and(|t| item.confidence_or_one() < t) {
                        false
                    } else {
                        env.define(&p.key.name, item.clone());
                        true
                    }
                }
            };
            if !matched {
                return Ok(false);
            }
        }
        if let Some(rest) = rest
            && &*rest.name != "_"
        {
            let mut remaining = Map::default();
            for (k, v) in map.iter() {
                if !props.iter().any(|p| *p.key.name == **k) {
                    remaining.insert(k.clone(), v.clone());
                }
            }
            env.define(&rest.name, Value::object(remaining));
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::run;

    #[test]
    fn patterns_guards_and_thresholds() {
        assert_eq!(
            run("let xs = [1, 2, 3]\nprint(match xs { [a, ...rest] => rest, _ => 0 })"),
            "[2, 3]\n"
        );
        assert_eq!(
            run("print(match {t: \"e\", m: \"x\"} { {t: \"e\", m} => m, _ => \"ok\" })"),
            "x\n"
        );
        assert_eq!(
            run("print(match 5 { x if x > 9 => \"big\", _ => \"small\" }, match 1 { 2 => 0 })"),
            "small null\n"
        );
        assert_eq!(
            run("print(match {s: 90 ~> 0.7} { {s: v ~> 0.8} => \"high\", _ => \"low\" })"),
            "low\n"
        );
    }
}
