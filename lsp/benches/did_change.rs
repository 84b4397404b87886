//! Time from a `didChange` on a 5,000-line document to its diagnostics: once for the work
//! itself (apply the edit, parse, resolve names, lint, convert), once through the whole server
//! (JSON-RPC in, `publishDiagnostics` out) over an in-process pipe.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use prism_compiler::pattern::CompileOptions;
use prism_license::License;
use prism_lsp::document::Document;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tower_lsp_server::ls_types::{Position, Range, TextDocumentContentChangeEvent, Uri};

/// A realistic program of `lines` lines: functions, confidence, loops, uncertain branches.
fn program(lines: usize) -> String {
    let mut out = String::new();
    let mut i = 0;
    while out.lines().count() < lines {
        out.push_str(&format!(
            "// block {i}\n\
             function score{i}(items, weight) {{\n\
             \x20 let total = 0\n\
             \x20 for item in items {{\n\
             \x20   total = total + item.value * weight\n\
             \x20 }}\n\
             \x20 return total ~> 0.8\n\
             }}\n\
             let data{i} = [{{ value: 1 }}, {{ value: {i} }}]\n\
             let result{i} = score{i}(data{i}, 2) ~&& (0.9 ~> 0.7)\n\
             uncertain if (result{i}) {{\n\
             \x20 high {{ print(\"high\", result{i}) }}\n\
             \x20 medium {{ print(\"medium\") }}\n\
             \x20 low {{ print(map(data{i}, d => d.value)) }}\n\
             }}\n\n"
        ));
        i += 1;
    }
    out
}

fn edit(n: u32) -> TextDocumentContentChangeEvent {
    TextDocumentContentChangeEvent {
        range: Some(Range::new(Position::new(2, 14), Position::new(2, 15))),
        range_length: None,
        text: (n % 10).to_string(),
    }
}

fn direct(c: &mut Criterion) {
    let text = program(5000);
    let uri: Uri = "file:///bench/big.prism".parse().expect("uri");
    let license = License::open_source();
    let options = CompileOptions::default();
    let mut doc = Document::new(uri, "prism", text, 1, &options, &license);
    let mut n = 0;
    c.bench_function("didChange→diagnostics, 5000 lines (in process)", |b| {
        b.iter(|| {
            n += 1;
            doc.apply(vec![edit(n)], n as i32 + 1, &options, &license);
            let diags = prism_lsp::diagnostics::compute(&doc);
            let lsp: Vec<_> = diags
                .iter()
                .map(|d| prism_lsp::convert::to_lsp(d, &doc.uri, &doc.text, &doc.lines))
                .collect();
            black_box(lsp)
        })
    });
}

async fn send(w: &mut (impl AsyncWriteExt + Unpin), msg: Value) {
    let body = msg.to_string();
    let frame = format!("Content-Length: {}\r\n\r\n{body}", body.len());
    w.write_all(frame.as_bytes()).await.expect("write");
}

async fn recv(r: &mut (impl AsyncBufReadExt + Unpin)) -> Value {
    let mut len = 0;
    loop {
        let mut line = String::new();
        r.read_line(&mut line).await.expect("read");
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(v) = line.strip_prefix("Content-Length: ") {
            len = v.parse().expect("length");
        }
    }
    let mut body = vec![0; len];
    r.read_exact(&mut body).await.expect("body");
    serde_json::from_slice(&body).expect("json")
}

async fn until_diagnostics(r: &mut (impl AsyncBufReadExt + Unpin)) -> Value {
    loop {
        let m = recv(r).await;
        if m["method"] == "textDocument/publishDiagnostics" {
            return m;
        }
    }
}

fn through_server(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (client, server) = tokio::io::duplex(1 << 24);
    let (sr, sw) = tokio::io::split(server);
    rt.spawn(prism_lsp::serve(sr, sw));
    let (cr, mut cw) = tokio::io::split(client);
    let mut cr = BufReader::new(cr);
    let uri = "file:///bench/big.prism";
    rt.block_on(async {
        send(&mut cw, json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}}})).await;
        recv(&mut cr).await;
        send(&mut cw, json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {"uri": uri, "languageId": "prism", "version": 1, "text": program(5000)}}})).await;
        until_diagnostics(&mut cr).await;
    });
    let mut n = 1;
    c.bench_function("didChange→publishDiagnostics, 5000 lines (JSON-RPC)", |b| {
        b.iter(|| {
            n += 1;
            rt.block_on(async {
                let change = json!({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {
                    "textDocument": {"uri": uri, "version": n},
                    "contentChanges": [{"range": {"start": {"line": 2, "character": 14}, "end": {"line": 2, "character": 15}}, "text": (n % 10).to_string()}]
                }});
                send(&mut cw, change).await;
                black_box(until_diagnostics(&mut cr).await)
            })
        })
    });
}

criterion_group!(benches, direct, through_server);
criterion_main!(benches);
