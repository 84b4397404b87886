use serde_json::json;

use super::*;

#[test]
fn settings_serialize_in_written_order_then_filled_in() {
    let v = json!({"minResults": 2, "timeout": 5000, "strategy": "race"});
    let s = ExecutionSettings::from_value(&v).unwrap_or_default();
    assert_eq!(s.strategy(), ExecutionStrategy::Race);
    assert_eq!(s.min_results, Some(2));
    assert_eq!(
        serde_json::to_string(&s).ok(),
        serde_json::to_string(&v).ok()
    );
    let filled = ExecutionSettings {
        timeout: Some(9),
        ..ExecutionSettings::with_strategy(ExecutionStrategy::Parallel)
    };
    assert_eq!(
        serde_json::to_string(&filled).ok().as_deref(),
        Some(r#"{"strategy":"parallel","timeout":9}"#)
    );
}

#[test]
fn numbers_keep_their_form() {
    let v = json!({"minConfidence": 1, "strategy": "race"});
    let s = ExecutionSettings::from_value(&v).unwrap_or_default();
    assert_eq!(s.min_confidence(), 1.0);
    assert_eq!(s.to_json(), v);
}

#[test]
fn a_bad_value_is_named_and_left_out() {
    let (s, errors) = ExecutionSettings::parse(&json!({"strategy": "fastest", "timeout": 5}));
    assert_eq!(s.strategy, None);
    assert_eq!(s.timeout, Some(5));
    assert_eq!(
        errors.first().map(ToString::to_string).as_deref(),
        Some("`strategy` must be one of parallel, sequential, race, rotation")
    );
    let (_, errors) = ExecutionSettings::parse(&json!({"steps": [{"capability": "x", "oops": 1}]}));
    assert_eq!(
        errors.first().map(ToString::to_string).as_deref(),
        Some("`steps` must be a valid mapping (it has no setting `oops`)")
    );
    assert_eq!(
        errors.first().map(|e| e.at("execution")).as_deref(),
        Some("`execution.steps` must be a valid mapping (it has no setting `oops`)")
    );
    assert_eq!(
        ExecutionSettings::from_value(&json!([])),
        Err(SettingsError::NotAMapping)
    );
}

#[test]
fn a_selection_keeps_its_form_and_reads_names_one_or_many() {
    let v = json!({"prefer": ["a"], "exclude": "$gone", "capabilities": ["x"], "min": 2});
    let (s, errors) = AgentsSelection::parse(&v);
    assert!(errors.is_empty());
    assert_eq!(s.exclude, Some(Names::One("$gone".into())));
    assert_eq!(
        s.prefer.as_ref().map(Names::as_slice),
        Some(&["a".to_string()][..])
    );
    let sel = AgentSelection::Agents(s);
    assert_eq!(sel.to_json(), v);
    assert_eq!(sel.min(), Some(2));
    assert!(!sel.healthy());
    let (_, errors) = AgentsSelection::parse(&json!({"exclude": {"a": 1}, "healthy": "yes"}));
    let errors: Vec<String> = errors.iter().map(|e| e.at("agents")).collect();
    assert_eq!(
        errors,
        vec![
            "`agents.exclude` must be a name or a list of names",
            "`agents.healthy` must be true or false",
        ]
    );
}

#[test]
fn a_role_selection_shows_every_key() {
    let role = AgentSelection::Role(RoleSelection {
        capabilities: vec!["write".into()],
        agent_type: Vec::new(),
        min: 1,
        max: 2,
        reports_to: None,
        policy: RolePolicy::from_value(&json!({"retryBelow": 0.5, "accept": 0.9})).ok(),
        verify: serde_json::Value::Null,
    });
    assert_eq!(
        serde_json::to_string(&role).ok().as_deref(),
        Some(
            r#"{"capabilities":["write"],"agentType":[],"min":1,"max":2,"reportsTo":null,"policy":{"retryBelow":0.5,"accept":0.9},"verify":null}"#
        )
    );
    assert_eq!(role.min(), Some(1));
    assert_eq!(role.task_timeout(), None);
}

#[test]
fn an_aggregation_reads_fields_weights_and_its_strategy() {
    let v = json!({
        "strategy": "fields",
        "fields": ["title", {"name": "score", "strategy": "average"}],
        "weights": {"a": 2, "default": "$w", "b": true},
        "threshold": 0.70,
    });
    let (s, errors) = AggregationSettings::parse(&v);
    assert!(errors.is_empty());
    assert_eq!(s.strategy, Some(AggregationStrategy::Fields));
    let names: Vec<&str> = s
        .fields
        .iter()
        .flatten()
        .filter_map(AggregationField::as_name)
        .collect();
    assert_eq!(names, vec!["title"]);
    let rules: Vec<Option<AggregationStrategy>> = s.field_rules().map(|f| f.strategy).collect();
    assert_eq!(rules, vec![Some(AggregationStrategy::Average)]);
    assert!(matches!(
        s.weights.as_ref().and_then(|w| w.get("default")),
        Some(Weight::Expr(x)) if x == "$w"
    ));
    assert_eq!(s.to_json(), v);
    let (s, errors) = AggregationSettings::parse(&json!({"strategy": "loudest", "minVotes": 2}));
    assert_eq!((s.strategy, s.min_votes), (None, Some(2)));
    assert_eq!(
        errors.first().map(|e| e.at("aggregation")).as_deref(),
        Some(
            "`aggregation.strategy` must be one of voting, consensus, merge, first, best, custom, fields, average, min, max"
        )
    );
}

#[test]
fn validation_confidence_and_fallback_keep_their_order() {
    let v = json!({
        "onFailure": "fallback",
        "minConfidence": 0.8,
        "$custom": {"condition": "confidence < 0.9", "action": "override", "value": {"ok": 1}},
        "fallback": {"value": null, "type": "cached", "maxAge": 10},
    });
    let (s, errors) = ValidationSettings::parse(&v);
    assert!(errors.is_empty());
    assert_eq!(s.on_failure.as_deref(), Some("fallback"));
    assert_eq!(
        s.fallback.as_ref().map(ValidationFallback::kind),
        Some("cached")
    );
    assert_eq!(
        s.custom.as_ref().and_then(|c| c.action.as_deref()),
        Some("override")
    );
    assert_eq!(
        serde_json::to_string(&s).ok().as_deref(),
        Some(
            r#"{"onFailure":"fallback","minConfidence":0.8,"$custom":{"condition":"confidence < 0.9","action":"override","value":{"ok":1}},"fallback":{"type":"cached","maxAge":10}}"#
        )
    );
    let c =
        ConfidenceSettings::parse(&json!({"weights": {"b": 1, "a": 0.5}, "method": "weighted"})).0;
    assert_eq!(c.method(), "weighted");
    assert_eq!(
        serde_json::to_string(&c).ok().as_deref(),
        Some(r#"{"weights":{"b":1,"a":0.5},"method":"weighted"}"#)
    );
    assert_eq!(ConfidenceSettings::default().method(), "average");
    let (f, errors) = FallbackSettings::parse(&json!({"action": "retry", "maxRetries": "x"}));
    assert_eq!(f.action(), "retry");
    assert_eq!(
        errors.first().map(|e| e.at("fallback")).as_deref(),
        Some("`fallback.maxRetries` must be a whole number ≥ 0")
    );
    assert_eq!(FallbackSettings::default().action(), "default");
}

#[test]
fn a_gate_condition_is_one_test_or_all_or_any_of_a_list() {
    let all = json!({"$all": ["$a.confidence > 0.5", true]});
    let c = GateCondition::from_json(&all);
    assert_eq!(
        c,
        GateCondition::All(vec![
            GateTest::Expr("$a.confidence > 0.5".into()),
            GateTest::Literal(json!(true)),
        ])
    );
    assert_eq!(c.to_json(), all);
    assert_eq!(
        GateCondition::from_json(&json!({"$any": "$x"})),
        GateCondition::Any(vec![GateTest::Expr("$x".into())])
    );
    let one = json!("$score > 3");
    assert_eq!(GateCondition::from_json(&one).to_json(), one);
    assert_eq!(
        GateCondition::from_json(&serde_json::Value::Null),
        GateCondition::Test(GateTest::Literal(serde_json::Value::Null))
    );
}
