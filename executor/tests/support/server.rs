//! A local HTTP test server on 127.0.0.1: agents whose behaviour follows their path name
//! (`ok-yes`, `ok-no`, `fail`, `malformed`, `hang`, `refuse`, `flaky`, `badconf`, `clamp`)
//! and a fake OpenAI-compatible endpoint (`/llm/structured`, `/llm/logprobs`, `/llm/fail`).
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use tokio::sync::Notify;

/// What the server saw.
#[derive(Default)]
pub struct Seen {
    /// Calls per agent path.
    pub calls: HashMap<String, u32>,
    /// Every request body, in arrival order.
    pub bodies: Vec<(String, Value)>,
}

/// A running server.
#[derive(Clone)]
pub struct Server {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// Requests seen.
    pub seen: Arc<Mutex<Seen>>,
    /// Notified when a `hang` call arrives.
    pub hanging: Arc<Notify>,
}

impl Server {
    /// The URL of agent `name`.
    pub fn agent(&self, name: &str) -> String {
        format!("{}/{name}", self.url)
    }

    /// Calls made to `name`.
    pub fn calls(&self, name: &str) -> u32 {
        self.seen
            .lock()
            .map(|s| s.calls.get(name).copied().unwrap_or(0))
            .unwrap_or(0)
    }
}

/// Starts the server.
pub async fn start() -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = Server {
        url: format!("http://{addr}"),
        seen: Arc::default(),
        hanging: Arc::new(Notify::new()),
    };
    let app = Router::new()
        .route("/{agent}/analyze", post(analyze))
        .route("/{agent}/health", get(|| async { "ok" }))
        .route("/llm/{kind}/chat/completions", post(chat))
        .with_state(server.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    server
}

async fn analyze(
    State(s): State<Server>,
    Path(agent): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let n = {
        let mut seen = s.seen.lock().expect("lock");
        seen.bodies.push((agent.clone(), body.clone()));
        let c = seen.calls.entry(agent.clone()).or_insert(0);
        *c += 1;
        *c
    };
    let id = body.get("id").cloned().unwrap_or(Value::Null);
    match agent.as_str() {
        "ok-yes" => {
            Json(json!({"id": id, "value": "yes", "confidence": 0.9, "reasoning": "clear"}))
                .into_response()
        }
        "ok-yes2" => Json(json!({"id": id, "result": "yes", "confidence": 0.8})).into_response(),
        "ok-no" => Json(json!({"id": id, "value": "no", "confidence": 0.7})).into_response(),
        "fail" => (StatusCode::INTERNAL_SERVER_ERROR, "internal boom").into_response(),
        "malformed" => (StatusCode::OK, "this is not json").into_response(),
        "refuse" => Json(json!({"id": id, "error": "cannot do that"})).into_response(),
        "badconf" => Json(json!({"id": id, "value": "yes", "confidence": "high"})).into_response(),
        "clamp" => Json(json!({"id": id, "value": "yes", "confidence": 1.7})).into_response(),
        "flaky" if n == 1 => (StatusCode::SERVICE_UNAVAILABLE, "warming up").into_response(),
        "flaky" => Json(json!({"id": id, "value": "yes", "confidence": 0.6})).into_response(),
        "hang" => {
            s.hanging.notify_one();
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Json(json!({"value": "late"})).into_response()
        }
        _ => (StatusCode::NOT_FOUND, "no such agent").into_response(),
    }
}

async fn chat(Path(kind): Path<String>, Json(body): Json<Value>) -> Response {
    let model = body.get("model").cloned().unwrap_or(Value::Null);
    match kind.as_str() {
        "structured" => Json(json!({"model": model, "choices": [{"message": {"role": "assistant",
            "content": "{\"value\": \"Paris\", \"confidence\": 0.95, \"reasoning\": \"capital of France\"}"}}]})).into_response(),
        "logprobs" => Json(json!({"model": model, "choices": [{"message": {"role": "assistant", "content": "Paris"},
            "logprobs": {"content": [{"token": "Par", "logprob": -0.2}, {"token": "is", "logprob": 0.0}]}}]})).into_response(),
        _ => (StatusCode::BAD_GATEWAY, "upstream down").into_response(),
    }
}
