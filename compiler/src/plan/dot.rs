//! Graphviz dot: each node with its settings and confidence estimate ([`describe`]), control
//! edges solid, branches labelled, data edges dashed with the reference name, retries dotted;
//! loop and batch bodies as clusters; a legend node explains the estimate.

use petgraph::visit::{EdgeRef, IntoEdgeReferences};

use crate::plan::{Edge, Graph, NodeKind, Plan, describe};

/// Renders the plan as a dot digraph.
pub fn render(plan: &Plan) -> String {
    let mut out = String::new();
    out.push_str(&format!("digraph {} {{\n  rankdir=TB;\n  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n", quote(&plan.meta.name)));
    out.push_str(&format!(
        "  label={};\n  labelloc=t;\n",
        quote(&format!("{} {}", plan.meta.name, plan.meta.version))
    ));
    graph(&plan.graph, "", &mut out, 1);
    let legend: String = describe::LEGEND
        .iter()
        .map(|l| format!("{}\\l", escape(l)))
        .collect();
    out.push_str(&format!(
        "  \"__legend\" [label=\"Legend\\l{legend}\", shape=note, fontsize=10];\n}}\n"
    ));
    out
}

fn graph(g: &Graph, prefix: &str, out: &mut String, depth: usize) {
    let pad = "  ".repeat(depth);
    for i in g.node_indices() {
        let Some(n) = g.node_weight(i) else { continue };
        let id = format!("{prefix}{}", n.id);
        let label = describe::lines(n)
            .iter()
            .map(|l| escape(l))
            .collect::<Vec<_>>()
            .join("\\n");
        let shape = match n.kind {
            NodeKind::Switch { .. } | NodeKind::Gate { .. } => "diamond",
            NodeKind::Input { .. } | NodeKind::Output { .. } => "ellipse",
            _ => "box",
        };
        out.push_str(&format!(
            "{pad}{} [label={}, shape={shape}];\n",
            quote(&id),
            quote_label(&label)
        ));
        if let NodeKind::Loop { body, .. } | NodeKind::Batch { body, .. } = &n.kind {
            out.push_str(&format!(
                "{pad}subgraph {} {{\n{pad}  label={};\n",
                quote(&format!("cluster_{id}")),
                quote(&format!("{} body", n.id))
            ));
            graph(&body.graph, &format!("{id}/"), out, depth + 1);
            out.push_str(&format!("{pad}}}\n"));
            if let Some(entry) = body.entry.and_then(|e| body.graph.node_weight(e)) {
                out.push_str(&format!(
                    "{pad}{} -> {} [style=dashed, label=\"body\"];\n",
                    quote(&id),
                    quote(&format!("{id}/{}", entry.id))
                ));
            }
        }
    }
    for e in g.edge_references() {
        let (Some(a), Some(b)) = (g.node_weight(e.source()), g.node_weight(e.target())) else {
            continue;
        };
        let attrs = match e.weight() {
            Edge::Control => String::new(),
            Edge::Data { name } => format!(
                " [style=dashed, color=gray40, label={}]",
                quote(name.as_str())
            ),
            Edge::Branch { label } => format!(" [label={}]", quote(label.as_str())),
            Edge::Retry { max, .. } => format!(
                " [style=dotted, color=red, constraint=false, label={}]",
                quote(&format!("retry ≤{max}"))
            ),
        };
        out.push_str(&format!(
            "{pad}{} -> {}{attrs};\n",
            quote(&format!("{prefix}{}", a.id)),
            quote(&format!("{prefix}{}", b.id))
        ));
    }
}

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Escapes text for a label that joins lines with `\n`: backslashes and quotes.
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Quotes a label that already contains `\n` escapes (its quotes already escaped).
fn quote_label(s: &str) -> String {
    format!("\"{s}\"")
}
