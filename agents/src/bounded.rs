//! Reading from agents with bounds: no answer line, output or body may grow past a limit, and
//! standard error is kept as a short tail however much of it there is. An agent that floods
//! fails alone; the orchestrator's memory stays bounded.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncReadExt};

/// The longest answer an agent may give by default: one stdout line of a `lines` process, the
/// whole stdout of a `oneshot` process, an HTTP body (8 MiB). An agent sets its own with
/// `maxAnswerBytes` in the agents file.
pub const DEFAULT_MAX_ANSWER_BYTES: usize = 8 << 20;

/// One line read from an agent.
#[derive(Debug, PartialEq)]
pub(crate) enum Line {
    /// A line of text, without its line break.
    Text(String),
    /// A line that is not UTF-8 (its first bytes, lossily decoded).
    NotUtf8(String),
    /// A line longer than the limit; the rest of it was not read.
    TooLong,
}

/// Reads the next line of at most `max` bytes; `None` at the end of the stream.
pub(crate) async fn next_line<R: AsyncBufRead + Unpin>(
    r: &mut R,
    max: usize,
) -> std::io::Result<Option<Line>> {
    let mut line = Vec::new();
    loop {
        let buf = r.fill_buf().await?;
        if buf.is_empty() {
            if line.is_empty() {
                return Ok(None);
            }
            break;
        }
        let (take, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (i, true),
            None => (buf.len(), false),
        };
        if line.len() + take > max {
            return Ok(Some(Line::TooLong));
        }
        line.extend_from_slice(&buf[..take]);
        r.consume(take + usize::from(done));
        if done {
            break;
        }
    }
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    Ok(Some(match String::from_utf8(line) {
        Ok(s) => Line::Text(s),
        Err(e) => Line::NotUtf8(super::excerpt(&String::from_utf8_lossy(e.as_bytes()), 80)),
    }))
}

/// Reads `r` to its end into `out`; false (and reading stops) once it is longer than `max`.
pub(crate) async fn read_capped<R: AsyncRead + Unpin>(
    r: &mut R,
    out: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<bool> {
    let mut chunk = [0u8; 8192];
    loop {
        let n = r.read(&mut chunk).await?;
        if n == 0 {
            return Ok(true);
        }
        if out.len() + n > max {
            return Ok(false);
        }
        out.extend_from_slice(&chunk[..n]);
    }
}

/// Reads `r` to its end, keeping only the last `keep` bytes or so in `tail` (lossily
/// decoded): standard error is drained, so the process never blocks on it, and never piles up.
pub(crate) async fn keep_tail<R: AsyncRead + Unpin>(
    mut r: R,
    tail: Arc<Mutex<String>>,
    keep: usize,
) {
    let mut chunk = [0u8; 8192];
    while let Ok(n) = r.read(&mut chunk).await {
        if n == 0 {
            break;
        }
        let mut t = tail
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        t.push_str(&String::from_utf8_lossy(&chunk[..n]));
        if t.len() > 4 * keep {
            let mut cut = t.len() - keep;
            while !t.is_char_boundary(cut) {
                cut += 1;
            }
            t.drain(..cut);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lines_are_bounded_and_checked() {
        let data: &[u8] = b"ok\r\n\xff\xfe\nxxxxxxxxxxxx\nlast";
        let mut r = tokio::io::BufReader::new(data);
        assert_eq!(
            next_line(&mut r, 8).await.ok().flatten(),
            Some(Line::Text("ok".into()))
        );
        assert!(matches!(
            next_line(&mut r, 8).await.ok().flatten(),
            Some(Line::NotUtf8(_))
        ));
        assert_eq!(
            next_line(&mut r, 8).await.ok().flatten(),
            Some(Line::TooLong)
        );
    }

    #[tokio::test]
    async fn output_is_capped_and_the_tail_is_short() {
        let big = vec![b'a'; 100_000];
        let mut out = Vec::new();
        assert!(
            !read_capped(&mut big.as_slice(), &mut out, 1000)
                .await
                .unwrap_or(true)
        );
        assert!(out.len() <= 1000);
        let tail = Arc::new(Mutex::new(String::new()));
        keep_tail(big.as_slice(), tail.clone(), 400).await;
        let n = tail.lock().map(|t| t.len()).unwrap_or(0);
        assert!((400..=1600).contains(&n), "{n}");
    }
}
