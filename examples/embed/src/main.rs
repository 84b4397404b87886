//! Embedding Prism in a Rust program: a support desk that hands each ticket to a Prism script
//! (with a native Rust function it can call) and to a triage pattern answered by agents
//! written in Rust, and reads confident results back into Rust types.
//!
//! Run it with `cargo run -p prism-embed-example`.

use std::collections::HashMap;
use std::process::ExitCode;
use std::time::Duration;

use prism_lang::{
    Agent, AgentAnswer, AgentFuture, AgentInfo, AgentRequest, Confident, Engine, Error, Limits,
    Pattern,
};
use serde::{Deserialize, Serialize};

/// What the host passes in.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Ticket {
    id: u32,
    customer_id: String,
    subject: String,
    body: String,
}

/// What the script answers.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Assessment {
    priority: Confident<String>,
    sla_hours: u32,
}

/// What the pattern answers.
#[derive(Debug, Deserialize)]
struct Routing {
    queue: String,
    agreement: f64,
}

/// A classifier agent written in Rust: routes to `queue` when the ticket mentions one of
/// its keywords, with its confidence; otherwise answers `general`, less sure.
struct KeywordClassifier {
    info: AgentInfo,
    keywords: &'static [&'static str],
    queue: &'static str,
    confidence: f64,
}

impl KeywordClassifier {
    fn new(
        name: &str,
        keywords: &'static [&'static str],
        queue: &'static str,
        confidence: f64,
    ) -> Self {
        KeywordClassifier {
            info: AgentInfo::new(name, vec!["classification".into()]),
            keywords,
            queue,
            confidence,
        }
    }
}

impl Agent for KeywordClassifier {
    fn info(&self) -> &AgentInfo {
        &self.info
    }

    fn analyze<'a>(&'a self, request: &'a AgentRequest) -> AgentFuture<'a> {
        Box::pin(async move {
            let text = format!(
                "{} {}",
                request.input["subject"].as_str().unwrap_or_default(),
                request.input["body"].as_str().unwrap_or_default()
            )
            .to_lowercase();
            Ok(if self.keywords.iter().any(|k| text.contains(k)) {
                AgentAnswer::new(self.queue.into(), self.confidence)
            } else {
                AgentAnswer::new("general".into(), 0.4)
            })
        })
    }
}

/// The script the host runs for each ticket: `ticket` and `customerTier` come from Rust.
const ASSESS: &str = r#"
let tier = customerTier(ticket.customerId)
let urgent = ticket.body.includes("twice") || ticket.subject.includes("down")
let priority = "normal"
uncertain if (tier) {
  high { priority = urgent ? "high" : "normal" }
  medium { priority = "normal" }
  low { priority = "low" }
}
print("ticket", ticket.id, "tier", tier, "urgent", urgent)
let assessment = { priority: priority ~> (<~ tier), slaHours: priority == "high" ? 4 : 24 }
assessment
"#;

fn engine() -> Result<Engine, Error> {
    let tiers: HashMap<&str, Confident<&str>> = HashMap::from([
        ("c-100", Confident::new("gold", 0.9)),
        ("c-200", Confident::new("basic", 0.6)),
    ]);
    let mut engine = Engine::new();
    // A native function: Rust data in, a confident value out.
    engine.register_fn("customerTier", move |id: String| {
        tiers
            .get(id.as_str())
            .copied()
            .unwrap_or(Confident::new("unknown", 0.2))
    });
    for agent in [
        KeywordClassifier::new("billing-bot", &["refund", "charge"], "billing", 0.9),
        KeywordClassifier::new("payments-bot", &["charged", "invoice"], "billing", 0.7),
        KeywordClassifier::new("tech-bot", &["error", "crash"], "technical", 0.8),
    ] {
        engine.register_agent(agent);
    }
    // Untrusted scripts must not hang the desk.
    engine.set_limits(
        Limits::default()
            .with_max_steps(1_000_000)
            .with_timeout(Duration::from_secs(5)),
    );
    Ok(engine)
}

fn run() -> Result<(), Error> {
    let engine = engine()?;
    let ticket = Ticket {
        id: 4711,
        customer_id: "c-100".into(),
        subject: "Refund for a double charge".into(),
        body: "I was charged twice for my subscription.".into(),
    };

    // A script: the ticket goes in as a global, the assessment comes back typed.
    let mut per_ticket = engine.clone();
    per_ticket.set_global("ticket", &ticket)?;
    let out = per_ticket.run_named("assess.prism", ASSESS)?;
    print!("{}", out.stdout());
    let assessment: Assessment = out.get()?;
    println!(
        "priority: {} (SLA {} h)",
        assessment.priority, assessment.sla_hours
    );

    // A pattern: the Rust agents vote on the queue.
    let pattern = Pattern::compile("triage.yaml", include_str!("../triage.yaml"))?;
    let routed = engine.run_pattern_blocking(&pattern, &ticket)?;
    let routing: Confident<Routing> = routed.get()?;
    println!(
        "queue: {} ~> {:.2} (agreement {:.2}, {} agents)",
        routing.value.queue,
        routing.confidence,
        routing.value.agreement,
        routed.record().agent_results.len()
    );

    // The example is run in CI: fail loudly if embedding stopped working.
    let expected = assessment.priority == Confident::new("high".into(), 0.9)
        && assessment.sla_hours == 4
        && routing.value.queue == "billing"
        && (routing.confidence - 0.8 * 2.0 / 3.0).abs() < 1e-9;
    if !expected {
        return Err(Error::Host(format!(
            "unexpected results: {assessment:?}, {routing:?}"
        )));
    }
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
