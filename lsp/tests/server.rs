//! The language server driven over JSON-RPC, as an editor drives it: initialize, open and
//! change documents, ask every request, shut down. Answers are snapshotted.

mod support;

use serde_json::{Value, json};
use support::{TestClient, at};

const MAIN: &str = "file:///virtual/main.prism";
const LIB: &str = "file:///virtual/lib.prism";

const MAIN_TEXT: &str = r#"import {scale} from "./lib.prism"
let base = 1 ~> 0.9
let other = 2 ~> 0.6
let total = base + other
let config = {mode: "fast", retries: 3}
print(scale(total), config.mode, threshold(0.5))
"#;

const LIB_TEXT: &str = "export function scale(x) {\n  return x * 2\n}\n";

async fn opened() -> TestClient {
    let mut c = TestClient::start();
    c.initialize().await;
    c.open(LIB, "prism", LIB_TEXT).await;
    c.open(MAIN, "prism", MAIN_TEXT).await;
    let d = c.diagnostics(LIB).await;
    assert_eq!(d, json!([]), "lib diagnostics");
    let d = c.diagnostics(MAIN).await;
    assert_eq!(d, json!([]), "main diagnostics");
    c
}

/// A workspace edit with its files in a stable order.
fn sorted_edit(v: &Value) -> Value {
    let mut files: Vec<(String, Value)> = v["changes"]
        .as_object()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    files.sort_by(|a, b| a.0.cmp(&b.0));
    Value::Array(
        files
            .into_iter()
            .map(|(k, v)| json!({"uri": k, "edits": v}))
            .collect(),
    )
}

fn labels(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|i| i["label"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn initialize_announces_the_capabilities() {
    let mut c = TestClient::start();
    let caps = c.initialize().await;
    insta::assert_json_snapshot!("capabilities", caps);
    assert_eq!(c.request("shutdown", Value::Null).await, Value::Null);
    c.notify("exit", Value::Null).await;
}

#[tokio::test]
async fn diagnostics_follow_incremental_changes() {
    let mut c = opened().await;
    // Break two lines: every syntax error is reported, plus an undefined name.
    c.notify(
        "textDocument/didChange",
        json!({
            "textDocument": {"uri": MAIN, "version": 2},
            "contentChanges": [
                {"range": {"start": {"line": 1, "character": 9}, "end": {"line": 1, "character": 10}}, "text": "= ="},
                {"range": {"start": {"line": 3, "character": 12}, "end": {"line": 3, "character": 16}}, "text": "missing )"},
                {"range": {"start": {"line": 6, "character": 0}, "end": {"line": 6, "character": 0}}, "text": "let unused = map([1])\n"}
            ]
        }),
    )
    .await;
    let d = c.diagnostics(MAIN).await;
    insta::assert_json_snapshot!("diagnostics_after_change", d);
    let errors = d
        .as_array()
        .map(|a| a.iter().filter(|x| x["severity"] == 1).count())
        .unwrap_or(0);
    assert!(errors >= 2, "every syntax error: {d}");
}

#[tokio::test]
async fn hover_builtin_variable_and_confidence_band() {
    let mut c = opened().await;
    let print = c.request("textDocument/hover", at(MAIN, 5, 2)).await;
    let total = c.request("textDocument/hover", at(MAIN, 5, 14)).await;
    let band = c.request("textDocument/hover", at(MAIN, 1, 17)).await;
    let imported = c.request("textDocument/hover", at(MAIN, 5, 8)).await;
    insta::assert_json_snapshot!(
        "hover",
        json!({"print": print, "total": total, "band": band, "imported": imported})
    );
    assert!(
        band["contents"]["value"]
            .as_str()
            .unwrap_or("")
            .contains("high")
    );
}

#[tokio::test]
async fn completion_offers_scope_builtins_keywords_and_object_keys() {
    let mut c = opened().await;
    c.notify(
        "textDocument/didChange",
        json!({
            "textDocument": {"uri": MAIN, "version": 2},
            "contentChanges": [{"range": {"start": {"line": 6, "character": 0}, "end": {"line": 6, "character": 0}}, "text": "config.\nMath.\n"}]
        }),
    )
    .await;
    let _ = c.diagnostics(MAIN).await;
    let keys = c.request("textDocument/completion", at(MAIN, 6, 7)).await;
    let math = c.request("textDocument/completion", at(MAIN, 7, 5)).await;
    let top = c.request("textDocument/completion", at(MAIN, 8, 0)).await;
    let keys = labels(&keys);
    assert!(
        keys.contains(&"mode".into()) && keys.contains(&"retries".into()),
        "{keys:?}"
    );
    let math = labels(&math);
    assert!(
        math.contains(&"max".into()) && math.contains(&"PI".into()),
        "{math:?}"
    );
    let top = labels(&top);
    for want in [
        "total",
        "config",
        "scale",
        "print",
        "threshold",
        "uncertain",
        "let",
    ] {
        assert!(
            top.contains(&want.to_string()),
            "{want} missing from {top:?}"
        );
    }
    insta::assert_json_snapshot!("completion_keys", keys);
}

#[tokio::test]
async fn yaml_pattern_completion_and_non_patterns_ignored() {
    let mut c = TestClient::start();
    c.initialize().await;
    let uri = "file:///virtual/p.yaml";
    c.open(
        uri,
        "yaml",
        "name: p\ninput: {}\noutput: $input\naggregation:\n  strategy: \n",
    )
    .await;
    let _ = c.diagnostics(uri).await;
    let values = c.request("textDocument/completion", at(uri, 4, 12)).await;
    let values = labels(&values);
    assert!(values.contains(&"consensus".into()), "{values:?}");
    // A YAML file that is not a pattern gets no diagnostics and no completion.
    let other = "file:///virtual/ci.yaml";
    c.open(other, "yaml", "on: push\njobs: {}\n").await;
    let r = c.request("textDocument/completion", at(other, 0, 0)).await;
    assert_eq!(r, Value::Null);
}

#[tokio::test]
async fn definition_references_and_rename_cross_modules() {
    let mut c = opened().await;
    let def = c.request("textDocument/definition", at(MAIN, 5, 8)).await;
    assert_eq!(def["uri"], LIB, "{def}");
    let local = c.request("textDocument/definition", at(MAIN, 3, 13)).await;
    let mut refs_params = at(MAIN, 5, 8);
    refs_params["context"] = json!({"includeDeclaration": true});
    let refs = c.request("textDocument/references", refs_params).await;
    let prepare = c
        .request("textDocument/prepareRename", at(MAIN, 3, 5))
        .await;
    let mut rename = at(MAIN, 5, 8);
    rename["newName"] = json!("double");
    let edit = c.request("textDocument/rename", rename).await;
    insta::assert_json_snapshot!(
        "navigation",
        json!({"definition": def, "local": local, "references": refs, "prepare": prepare, "rename": sorted_edit(&edit)})
    );
    let mut bad = at(MAIN, 3, 5);
    bad["newName"] = json!("not a name");
    let r = c.request_raw("textDocument/rename", bad).await;
    assert!(r.get("error").is_some(), "{r}");
}

#[tokio::test]
async fn formatting_symbols_folding_tokens_signatures_and_hints() {
    let mut c = opened().await;
    let messy = "let  x=1~>0.9\nfunction f(a,b){\nreturn a~+b}\nprint( f(x,2) )\n";
    let uri = "file:///virtual/messy.prism";
    c.open(uri, "prism", messy).await;
    let _ = c.diagnostics(uri).await;
    let fmt = c
        .request(
            "textDocument/formatting",
            json!({"textDocument": {"uri": uri}, "options": {"tabSize": 2, "insertSpaces": true}}),
        )
        .await;
    let symbols = c
        .request(
            "textDocument/documentSymbol",
            json!({"textDocument": {"uri": uri}}),
        )
        .await;
    let folding = c
        .request(
            "textDocument/foldingRange",
            json!({"textDocument": {"uri": LIB}}),
        )
        .await;
    let sig = c
        .request("textDocument/signatureHelp", at(MAIN, 5, 44))
        .await;
    let hints = c
        .request(
            "textDocument/inlayHint",
            json!({"textDocument": {"uri": MAIN}, "range": {"start": {"line": 0, "character": 0}, "end": {"line": 9, "character": 0}}}),
        )
        .await;
    let ws = c.request("workspace/symbol", json!({"query": "sca"})).await;
    insta::assert_json_snapshot!(
        "editing",
        json!({"formatting": fmt, "symbols": symbols, "folding": folding, "signature": sig, "hints": hints, "workspace": ws})
    );
    let tokens = c
        .request(
            "textDocument/semanticTokens/full",
            json!({"textDocument": {"uri": MAIN}}),
        )
        .await;
    let data: Vec<u64> = tokens["data"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default();
    assert_eq!(data.len() % 5, 0);
    // Token type 10 is `confidenceOperator`: the two `~>` of MAIN.
    let conf_ops = data.chunks(5).filter(|t| t[3] == 10).count();
    assert_eq!(conf_ops, 2, "{data:?}");
    assert_eq!(hints[0]["label"], "~0.60", "{hints}");
}

#[tokio::test]
async fn malformed_requests_and_documents_do_not_crash_the_server() {
    let mut c = TestClient::start();
    c.initialize().await;
    // Not JSON at all, then JSON that is not a request.
    c.send_raw("{this is not json").await;
    c.send_raw("[1, 2, 3]").await;
    // Unknown method, missing and wrong parameters.
    let r = c.request_raw("prism/unknown", json!({})).await;
    assert!(r.get("error").is_some(), "{r}");
    let r = c.request_raw("textDocument/hover", json!({})).await;
    assert!(r.get("error").is_some(), "{r}");
    let r = c
        .request_raw(
            "textDocument/hover",
            json!({"textDocument": 5, "position": "x"}),
        )
        .await;
    assert!(r.get("error").is_some(), "{r}");
    // Requests about documents nobody opened.
    let r = c
        .request("textDocument/hover", at("file:///nowhere.prism", 0, 0))
        .await;
    assert_eq!(r, Value::Null);
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": "file:///nowhere.prism", "version": 2}, "contentChanges": [{"text": "x"}]}),
    )
    .await;
    // Documents that are garbage, deeply nested, or edited out of range.
    let uri = "file:///virtual/junk.prism";
    let junk = format!(
        "{}\n\u{0}\u{7f}😀 ~> ~> ((( {}\nlet = = =\n\"unterminated\n/* open",
        "(".repeat(300),
        "[".repeat(300)
    );
    c.open(uri, "prism", &junk).await;
    let d = c.diagnostics(uri).await;
    assert!(d.as_array().is_some_and(|a| !a.is_empty()));
    c.notify(
        "textDocument/didChange",
        json!({
            "textDocument": {"uri": uri, "version": 2},
            "contentChanges": [
                {"range": {"start": {"line": 900, "character": 5}, "end": {"line": 2, "character": 0}}, "text": "x"},
                {"range": {"start": {"line": 0, "character": 99999}, "end": {"line": 99999, "character": 99999}}, "text": "😀"}
            ]
        }),
    )
    .await;
    let _ = c.diagnostics(uri).await;
    for method in [
        "textDocument/hover",
        "textDocument/completion",
        "textDocument/definition",
        "textDocument/signatureHelp",
        "textDocument/prepareRename",
    ] {
        let r = c
            .request_raw(method, at(uri, 4_000_000_000, 4_000_000_000))
            .await;
        assert!(r.get("result").is_some(), "{method}: {r}");
    }
    let r = c
        .request_raw(
            "textDocument/formatting",
            json!({"textDocument": {"uri": uri}, "options": {"tabSize": 2, "insertSpaces": true}}),
        )
        .await;
    assert!(r.get("result").is_some(), "{r}");
    // Still serving: a fresh document gets a real answer.
    c.open(MAIN, "prism", MAIN_TEXT).await;
    let _ = c.diagnostics(MAIN).await;
    let h = c.request("textDocument/hover", at(MAIN, 5, 2)).await;
    assert!(
        h["contents"]["value"]
            .as_str()
            .unwrap_or("")
            .contains("print")
    );
    assert_eq!(c.request("shutdown", Value::Null).await, Value::Null);
}
