//! Graphviz dot: control edges solid, branches labelled, data edges dashed with the
//! reference name, retries dotted; loop and batch bodies as clusters.

use petgraph::visit::{EdgeRef, IntoEdgeReferences};

use crate::plan::{Edge, Graph, NodeKind, Plan};

/// Renders the plan as a dot digraph.
pub fn render(plan: &Plan) -> String {
    let mut out = String::new();
    out.push_str(&format!("digraph {} {{\n  rankdir=TB;\n  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n", quote(&plan.meta.name)));
    out.push_str(&format!(
        "  label={};\n  labelloc=t;\n",
        quote(&format!("{} {}", plan.meta.name, plan.meta.version))
    ));
    graph(&plan.graph, "", &mut out, 1);
    out.push_str("}\n");
    out
}

fn graph(g: &Graph, prefix: &str, out: &mut String, depth: usize) {
    let pad = "  ".repeat(depth);
    for i in g.node_indices() {
        let Some(n) = g.node_weight(i) else { continue };
        let id = format!("{prefix}{}", n.id);
        let mut label = format!("{}\\n{}", n.kind.name(), n.id);
        if let Some(e) = n.estimate {
            label.push_str(&format!("\\n~{:.2} (≥{:.2})", e.expected, e.lower));
        }
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

/// Quotes a label that already contains `\n` escapes.
fn quote_label(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\\\""))
}
