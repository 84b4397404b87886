//! The real `prism lsp` binary over stdio: a JSON-RPC session from `initialize` to `exit`
//! (diagnostics as the document changes, hover, completion, definition, references, rename,
//! formatting), a malformed frame in the middle, and a clean exit code at the end.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use libtest_mimic::{Failed, Trial};
use serde_json::{Value, json};

use crate::support::{prism, repo};

/// The LSP trials.
pub fn trials() -> Vec<Trial> {
    vec![
        Trial::test("lsp::stdio_session_from_initialize_to_exit", stdio_session),
        Trial::test(
            "lsp::published_diagnostics_are_capped",
            published_diagnostics_are_capped,
        ),
    ]
}

/// A document with 5,000 errors: the server publishes the first 200 and one diagnostic that
/// counts the rest, as `prism check` prints them.
fn published_diagnostics_are_capped() -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    let root = format!("file://{}", dir.path().display());
    let uri = format!("{root}/many.prism");
    let mut c = Client::start()?;
    c.request(
        1,
        "initialize",
        json!({"processId": null, "rootUri": root, "capabilities": {}}),
    )?;
    c.notify("initialized", json!({}))?;
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "prism", "version": 1, "text": "let = 1\n".repeat(5000)}}),
    )?;
    let diags = c.diagnostics(&uri)?;
    let all = diags.as_array().ok_or("diagnostics are not a list")?;
    if all.len() != 201 {
        return Err(format!("{} diagnostics published", all.len()).into());
    }
    let last = &all[200];
    let message = last["message"].as_str().unwrap_or("");
    if last["code"] != "prism::diagnostics::truncated"
        || !message.contains("more diagnostic(s)")
        || last["severity"] != 1
    {
        return Err(format!("the last diagnostic is {last}").into());
    }
    // It sits where the first one left out was: line 201 (0-based 200).
    if last["range"]["start"]["line"] != 200 {
        return Err(format!("the summary is at {}", last["range"]).into());
    }
    c.request(2, "shutdown", json!(null))?;
    c.notify("exit", json!(null))?;
    Ok(())
}

/// A client speaking to the child process.
struct Client {
    child: Child,
    stdin: ChildStdin,
    messages: Receiver<Value>,
    /// Notifications received while waiting for responses.
    notifications: Vec<Value>,
}

const LIMIT: Duration = Duration::from_secs(30);

impl Client {
    fn start() -> Result<Client, String> {
        let mut child = Command::new(prism())
            .arg("lsp")
            .current_dir(repo())
            .env_remove("PRISM_LICENSE_KEY")
            .env_remove("PARALLAX_LICENSE_KEY")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start prism lsp: {e}"))?;
        let stdin = child.stdin.take().ok_or("no stdin")?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            loop {
                let mut len = None;
                loop {
                    let mut line = String::new();
                    match r.read_line(&mut line) {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    }
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if let Some(v) = line.strip_prefix("Content-Length: ") {
                        len = v.parse::<usize>().ok();
                    }
                }
                let Some(len) = len else { return };
                let mut body = vec![0; len];
                if r.read_exact(&mut body).is_err() {
                    return;
                }
                let Ok(v) = serde_json::from_slice::<Value>(&body) else {
                    return;
                };
                if tx.send(v).is_err() {
                    return;
                }
            }
        });
        Ok(Client {
            child,
            stdin,
            messages: rx,
            notifications: Vec::new(),
        })
    }

    fn send_raw(&mut self, body: &str) -> Result<(), String> {
        let frame = format!("Content-Length: {}\r\n\r\n{body}", body.len());
        self.stdin
            .write_all(frame.as_bytes())
            .and_then(|()| self.stdin.flush())
            .map_err(|e| format!("write to prism lsp: {e}"))
    }

    fn notify(&mut self, method: &str, params: Value) -> Result<(), String> {
        self.send_raw(&json!({"jsonrpc": "2.0", "method": method, "params": params}).to_string())
    }

    fn request(&mut self, id: u64, method: &str, params: Value) -> Result<Value, String> {
        self.send_raw(
            &json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string(),
        )?;
        let deadline = Instant::now() + LIMIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let m = self
                .messages
                .recv_timeout(left)
                .map_err(|_| format!("no answer to {method} within {LIMIT:?}"))?;
            if m["id"] == json!(id) && m.get("method").is_none() {
                return Ok(m);
            }
            self.notifications.push(m);
        }
    }

    /// The next `publishDiagnostics` for `uri` (already received or still to come).
    fn diagnostics(&mut self, uri: &str) -> Result<Value, String> {
        let is_it = |m: &Value| {
            m["method"] == "textDocument/publishDiagnostics" && m["params"]["uri"] == uri
        };
        if let Some(i) = self.notifications.iter().position(is_it) {
            return Ok(self.notifications.remove(i)["params"]["diagnostics"].clone());
        }
        let deadline = Instant::now() + LIMIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let m = self
                .messages
                .recv_timeout(left)
                .map_err(|_| format!("no diagnostics for {uri} within {LIMIT:?}"))?;
            if is_it(&m) {
                return Ok(m["params"]["diagnostics"].clone());
            }
            self.notifications.push(m);
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn messages(diags: &Value) -> Vec<String> {
    diags
        .as_array()
        .map(|a| {
            a.iter()
                .map(|d| {
                    format!(
                        "{}:{} {} {}",
                        d["range"]["start"]["line"],
                        d["range"]["start"]["character"],
                        d["code"].as_str().unwrap_or(""),
                        d["message"].as_str().unwrap_or("")
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn stdio_session() -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    let root = format!("file://{}", dir.path().display());
    let uri = format!("{root}/main.prism");
    let mut c = Client::start()?;

    let init = c.request(
        1,
        "initialize",
        json!({"processId": null, "rootUri": root, "capabilities": {}}),
    )?;
    let caps = &init["result"]["capabilities"];
    for cap in [
        "hoverProvider",
        "completionProvider",
        "definitionProvider",
        "referencesProvider",
        "renameProvider",
        "documentFormattingProvider",
    ] {
        if caps.get(cap).is_none() || caps[cap] == json!(false) {
            return Err(format!("capability {cap} missing: {caps}").into());
        }
    }
    c.notify("initialized", json!({}))?;

    // A document with a syntax error, then fixed by an incremental change.
    let text = "let   total = 1 ~> 0.9\nlet other = total ~+ )\nprint(total, other)\n";
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "prism", "version": 1, "text": text}}),
    )?;
    let opened = messages(&c.diagnostics(&uri)?);
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [
            {"range": {"start": {"line": 1, "character": 21}, "end": {"line": 1, "character": 22}}, "text": "2"}
        ]}),
    )?;
    let changed = messages(&c.diagnostics(&uri)?);

    // A frame whose body is not JSON: the server must go on answering.
    c.send_raw("{this is not json")?;

    let hover = c.request(
        2,
        "textDocument/hover",
        json!({"textDocument": {"uri": uri}, "position": {"line": 2, "character": 1}}),
    )?;
    let completion = c.request(
        3,
        "textDocument/completion",
        json!({"textDocument": {"uri": uri}, "position": {"line": 2, "character": 0}}),
    )?;
    let items = completion["result"]
        .get("items")
        .unwrap_or(&completion["result"])
        .as_array()
        .map(|a| a.len())
        .unwrap_or(0);
    let labels: Vec<String> = completion["result"]
        .get("items")
        .unwrap_or(&completion["result"])
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|i| i["label"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let definition = c.request(
        4,
        "textDocument/definition",
        json!({"textDocument": {"uri": uri}, "position": {"line": 2, "character": 8}}),
    )?;
    let references = c.request(
        5,
        "textDocument/references",
        json!({"textDocument": {"uri": uri}, "position": {"line": 0, "character": 7},
               "context": {"includeDeclaration": true}}),
    )?;
    let rename = c.request(
        6,
        "textDocument/rename",
        json!({"textDocument": {"uri": uri}, "position": {"line": 0, "character": 7}, "newName": "sum"}),
    )?;
    let rename_edits = rename["result"]["changes"][&uri]
        .as_array()
        .map(|a| a.len())
        .unwrap_or(0);
    let formatting = c.request(
        7,
        "textDocument/formatting",
        json!({"textDocument": {"uri": uri}, "options": {"tabSize": 2, "insertSpaces": true}}),
    )?;
    let shutdown = c.request(8, "shutdown", json!(null))?;
    c.notify("exit", json!(null))?;
    let exit = wait_timeout::ChildExt::wait_timeout(&mut c.child, LIMIT)?;

    let offers = ["total", "other", "print", "let"]
        .iter()
        .all(|l| labels.iter().any(|x| x == l));
    let summary = json!({
        "diagnostics on open": opened,
        "diagnostics after the fix": changed,
        "hover": hover["result"]["contents"]["value"],
        "completion offers total, other, print and let": offers,
        "completion has items": items > 0,
        "definition": definition["result"],
        "references": references["result"].as_array().map(|a| a.len()),
        "rename edits": rename_edits,
        "formatting": formatting["result"],
        "shutdown": shutdown["result"],
        "exit code": exit.and_then(|s| s.code()),
    });
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(repo().join("tests/snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    let shown = serde_json::to_string_pretty(&summary)?.replace(&root, "file://[dir]");
    settings.bind(|| insta::assert_snapshot!("lsp__stdio_session", shown));
    Ok(())
}
