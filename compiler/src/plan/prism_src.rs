//! Prism source from a plan (placeholder while the emitter is written).

use crate::plan::Plan;

/// Renders an annotated `.prism` pattern for the plan.
pub fn render(plan: &Plan) -> String {
    format!(
        "/**\n * @name {}\n * @version {}\n */\n",
        plan.meta.name, plan.meta.version
    )
}
