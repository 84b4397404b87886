//! `execution` (§1.4): how an agent group dispatches.

settings_enum! {
    /// How the agents of a group are called.
    pub enum ExecutionStrategy {
        /// All at once (the default).
        Parallel = "parallel",
        /// In agent order, each request carrying the previous answer.
        Sequential = "sequential",
        /// The first good enough answer wins (`first` is an alias).
        Race = "race" | "first",
        /// An org-chart role: its agents take the role's tasks in turn.
        Rotation = "rotation",
    }
}

settings_struct! {
    /// The `execution` of an agent group.
    pub struct ExecutionSettings {
        /// `strategy` (`parallel`).
        strategy: ExecutionStrategy = "strategy",
        /// `timeout` ms for the phase.
        timeout: u64 = "timeout",
        /// `waitForAll` (true).
        wait_for_all: bool = "waitForAll",
        /// `minResults` (1).
        min_results: u64 = "minResults",
        /// `stopOnError` (true, sequential).
        stop_on_error: bool = "stopOnError",
        /// `steps`: a sequential pipeline.
        steps: Vec<PipelineStep> = "steps",
        /// `minConfidence` (0, race).
        min_confidence: super::Num = "minConfidence",
    }
}

settings_struct! {
    /// One entry of a sequential pipeline (`execution.steps`).
    pub struct PipelineStep {
        /// `capability` the entry's agent must have.
        capability: String = "capability",
        /// `input`: the request input shape, free-form (its strings may be expressions).
        input: crate::plan::output::OutputValue = "input",
        /// `output`: a name for the entry's answer.
        output: String = "output",
    }
}

impl ExecutionSettings {
    /// Settings with only a strategy.
    pub fn with_strategy(strategy: ExecutionStrategy) -> Self {
        ExecutionSettings {
            strategy: Some(strategy),
            ..Self::default()
        }
    }

    /// The strategy (`parallel` when absent).
    pub fn strategy(&self) -> ExecutionStrategy {
        self.strategy.unwrap_or(ExecutionStrategy::Parallel)
    }

    /// `waitForAll` (true when absent).
    pub fn wait_for_all(&self) -> bool {
        self.wait_for_all.unwrap_or(true)
    }

    /// `stopOnError` (true when absent).
    pub fn stop_on_error(&self) -> bool {
        self.stop_on_error.unwrap_or(true)
    }

    /// `minConfidence` (0 when absent).
    pub fn min_confidence(&self) -> f64 {
        self.min_confidence.as_ref().map_or(0.0, super::Num::get)
    }
}
