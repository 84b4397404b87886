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
