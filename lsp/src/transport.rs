//! A guard in front of the JSON-RPC reader. `tower-lsp-server` stops reading at the first
//! message it cannot decode (bad framing, invalid JSON, a JSON value that is not a message),
//! which would end the session; this pump passes on only well-formed messages and drops the
//! rest with a line on standard error.

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};

/// Largest message body accepted (a whole document in `didOpen` fits many times over).
const MAX_BODY: usize = 256 << 20;

/// Copies framed messages from `input` to `output` until `input` ends, dropping malformed
/// ones.
pub(crate) async fn pump<I, O>(input: I, mut output: O)
where
    I: AsyncRead + Unpin,
    O: AsyncWrite + Unpin,
{
    let mut input = BufReader::new(input);
    loop {
        let mut length: Option<usize> = None;
        let mut saw_header = false;
        loop {
            let mut line = String::new();
            match input.read_line(&mut line).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            let line = line.trim_end_matches(['\r', '\n']);
            if line.is_empty() {
                if saw_header {
                    break;
                }
                continue;
            }
            saw_header = true;
            if let Some((name, value)) = line.split_once(':')
                && name.trim().eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().ok();
            }
        }
        let Some(length) = length.filter(|&l| l <= MAX_BODY) else {
            eprintln!("prism-lsp: dropped a message without a valid Content-Length");
            continue;
        };
        let mut body = vec![0u8; length];
        if input.read_exact(&mut body).await.is_err() {
            return;
        }
        if !is_message(&body) {
            eprintln!("prism-lsp: dropped a message that is not JSON-RPC");
            continue;
        }
        let header = format!("Content-Length: {length}\r\n\r\n");
        if output.write_all(header.as_bytes()).await.is_err()
            || output.write_all(&body).await.is_err()
            || output.flush().await.is_err()
        {
            return;
        }
    }
}

/// A JSON-RPC 2.0 request, notification or response object.
fn is_message(body: &[u8]) -> bool {
    let Ok(Value::Object(m)) = serde_json::from_slice::<Value>(body) else {
        return false;
    };
    if m.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return false;
    }
    let id_ok = m
        .get("id")
        .is_none_or(|id| id.is_string() || id.is_i64() || id.is_u64() || id.is_null());
    let is_call = m.get("method").is_some_and(Value::is_string);
    let is_response = m.contains_key("id") && (m.contains_key("result") || m.contains_key("error"));
    id_ok && (is_call || is_response)
}

#[cfg(test)]
mod tests {
    use super::is_message;

    #[test]
    fn only_json_rpc_objects_pass() {
        assert!(is_message(br#"{"jsonrpc":"2.0","id":1,"method":"x"}"#));
        assert!(is_message(br#"{"jsonrpc":"2.0","method":"x","params":{}}"#));
        assert!(!is_message(b"{not json"));
        assert!(!is_message(b"[1,2,3]"));
        assert!(!is_message(br#"{"jsonrpc":"2.0","id":{},"method":"x"}"#));
        assert!(!is_message(br#"{"id":1,"method":"x"}"#));
    }
}
