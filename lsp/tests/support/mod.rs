//! A JSON-RPC client for the language server, talking to it in-process over a duplex pipe
//! with the same framing (`Content-Length` headers) as `prism lsp` on stdio.

use std::collections::VecDeque;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, DuplexStream};

/// The client end of a running server.
pub struct TestClient {
    write: tokio::io::WriteHalf<DuplexStream>,
    read: BufReader<tokio::io::ReadHalf<DuplexStream>>,
    next_id: i64,
    /// Notifications received while waiting for a response.
    pub notifications: VecDeque<Value>,
}

impl TestClient {
    /// Starts a server on a pipe and returns the client end.
    pub fn start() -> TestClient {
        let (client, server) = tokio::io::duplex(1 << 22);
        let (sr, sw) = tokio::io::split(server);
        tokio::spawn(prism_lsp::serve(sr, sw));
        let (cr, cw) = tokio::io::split(client);
        TestClient {
            write: cw,
            read: BufReader::new(cr),
            next_id: 1,
            notifications: VecDeque::new(),
        }
    }

    /// Sends raw bytes as one framed message body.
    pub async fn send_raw(&mut self, body: &str) {
        let frame = format!("Content-Length: {}\r\n\r\n{body}", body.len());
        self.write
            .write_all(frame.as_bytes())
            .await
            .expect("write to server");
    }

    async fn send(&mut self, msg: &Value) {
        self.send_raw(&msg.to_string()).await;
    }

    /// Reads the next message (panics after 10 s of silence).
    pub async fn recv(&mut self) -> Value {
        tokio::time::timeout(Duration::from_secs(10), self.recv_inner())
            .await
            .expect("the server answered in time")
    }

    async fn recv_inner(&mut self) -> Value {
        let mut len = 0usize;
        loop {
            let mut line = String::new();
            self.read.read_line(&mut line).await.expect("read header");
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some(v) = line.strip_prefix("Content-Length: ") {
                len = v.parse().expect("length");
            }
        }
        let mut body = vec![0u8; len];
        self.read.read_exact(&mut body).await.expect("read body");
        serde_json::from_slice(&body).expect("JSON body")
    }

    /// Sends a request and waits for its response (the whole response object).
    pub async fn request_raw(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await;
        loop {
            let msg = self.recv().await;
            if msg.get("id") == Some(&json!(id)) && msg.get("method").is_none() {
                return msg;
            }
            self.notifications.push_back(msg);
        }
    }

    /// Sends a request and returns its result (panics on an error response).
    pub async fn request(&mut self, method: &str, params: Value) -> Value {
        let r = self.request_raw(method, params).await;
        assert!(r.get("error").is_none(), "{method} failed: {r}");
        r["result"].clone()
    }

    /// Sends a notification.
    pub async fn notify(&mut self, method: &str, params: Value) {
        self.send(&json!({"jsonrpc": "2.0", "method": method, "params": params}))
            .await;
    }

    /// Waits for the next diagnostics published for `uri`.
    pub async fn diagnostics(&mut self, uri: &str) -> Value {
        if let Some(i) = self.notifications.iter().position(|n| is_diags_for(n, uri)) {
            let n = self.notifications.remove(i).unwrap_or_default();
            return n["params"]["diagnostics"].clone();
        }
        loop {
            let msg = self.recv().await;
            if is_diags_for(&msg, uri) {
                return msg["params"]["diagnostics"].clone();
            }
            self.notifications.push_back(msg);
        }
    }

    /// `initialize` + `initialized`; returns the server capabilities.
    pub async fn initialize(&mut self) -> Value {
        let r = self
            .request(
                "initialize",
                json!({"processId": null, "rootUri": null, "capabilities": {}}),
            )
            .await;
        self.notify("initialized", json!({})).await;
        r["capabilities"].clone()
    }

    /// Opens a document.
    pub async fn open(&mut self, uri: &str, language: &str, text: &str) {
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": language, "version": 1, "text": text}}),
        )
        .await;
    }
}

fn is_diags_for(msg: &Value, uri: &str) -> bool {
    msg["method"] == "textDocument/publishDiagnostics" && msg["params"]["uri"] == uri
}

/// `{"textDocument": {"uri"}, "position": {line, character}}`
pub fn at(uri: &str, line: u32, character: u32) -> Value {
    json!({"textDocument": {"uri": uri}, "position": {"line": line, "character": character}})
}
