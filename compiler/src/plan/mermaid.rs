//! Mermaid flowcharts: each node with its settings and confidence estimate ([`describe`]), a
//! legend for the estimate; `-->` control, `-->|label|` branches, `-.->|$name|` data, `-.->|retry|`
//! retries; loop and batch bodies as subgraphs.

use petgraph::visit::{EdgeRef, IntoEdgeReferences};

use crate::plan::{Edge, Graph, NodeKind, Plan, describe};

/// Renders the plan as a mermaid `flowchart TD`.
pub fn render(plan: &Plan) -> String {
    let mut out = String::from("flowchart TD\n");
    let mut counter = 0usize;
    graph(&plan.graph, &mut out, &mut counter, 1);
    let legend = describe::LEGEND
        .iter()
        .map(|l| escape(l))
        .collect::<Vec<_>>()
        .join("<br/>");
    out.push_str(&format!("    prismLegend[/\"Legend<br/>{legend}\"/]\n"));
    out
}

fn graph(g: &Graph, out: &mut String, counter: &mut usize, depth: usize) {
    let pad = "    ".repeat(depth);
    let mut ids = std::collections::HashMap::new();
    for i in g.node_indices() {
        let Some(n) = g.node_weight(i) else { continue };
        let id = format!("n{counter}");
        *counter += 1;
        ids.insert(i, id.clone());
        let label = describe::lines(n)
            .iter()
            .map(|l| escape(l))
            .collect::<Vec<_>>()
            .join("<br/>");
        let shape = match n.kind {
            NodeKind::Switch { .. } | NodeKind::Gate { .. } => format!("{id}{{\"{label}\"}}"),
            NodeKind::Input { .. } | NodeKind::Output { .. } => format!("{id}([\"{label}\"])"),
            _ => format!("{id}[\"{label}\"]"),
        };
        out.push_str(&format!("{pad}{shape}\n"));
        if let NodeKind::Loop { body, .. } | NodeKind::Batch { body, .. } = &n.kind {
            out.push_str(&format!(
                "{pad}subgraph {id}_body[\"{} body\"]\n",
                escape(&n.id)
            ));
            graph(&body.graph, out, counter, depth + 1);
            out.push_str(&format!("{pad}end\n{pad}{id} -.-> {id}_body\n"));
        }
    }
    for e in g.edge_references() {
        let (Some(a), Some(b)) = (ids.get(&e.source()), ids.get(&e.target())) else {
            continue;
        };
        let arrow = match e.weight() {
            Edge::Control => "-->".to_string(),
            Edge::Branch { label } => format!("-->|\"{}\"|", escape(label.as_str())),
            Edge::Data { name } => format!("-.->|\"{}\"|", escape(name.as_str())),
            Edge::Retry { max, .. } => format!("-.->|\"retry ≤{max}\"|"),
        };
        out.push_str(&format!("{pad}{a} {arrow} {b}\n"));
    }
}

fn escape(s: &str) -> String {
    s.replace('"', "#quot;")
        .replace('<', "#lt;")
        .replace('>', "#gt;")
}
