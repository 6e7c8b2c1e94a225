//! Reading lines with a cap: a plugin may print a line of any length, and the worker's protocol lines are
//! capped; neither may make plughub buffer without bound.

use tokio::io::{AsyncBufRead, AsyncBufReadExt};

pub(crate) enum Line {
    Complete(Vec<u8>),
    /// Longer than the cap: the first `cap` bytes, the rest skipped up to the newline.
    TooLong(Vec<u8>, usize),
}

/// The next line (newline removed), or `None` at the end.
pub(crate) async fn next_line<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    cap: usize,
) -> std::io::Result<Option<Line>> {
    let mut line = Vec::new();
    let mut total = 0usize;
    loop {
        let buf = reader.fill_buf().await?;
        if buf.is_empty() {
            return Ok(match (total, line.is_empty()) {
                (0, _) => None,
                _ if total > cap => Some(Line::TooLong(line, total)),
                _ => Some(Line::Complete(line)),
            });
        }
        let (chunk, found) = match buf.iter().position(|b| *b == b'\n') {
            Some(i) => (&buf[..i], Some(i + 1)),
            None => (buf, None),
        };
        let room = cap.saturating_sub(line.len());
        line.extend_from_slice(&chunk[..chunk.len().min(room)]);
        total += chunk.len();
        let used = found.unwrap_or(buf.len());
        reader.consume(used);
        if found.is_some() {
            return Ok(Some(if total > cap {
                Line::TooLong(line, total)
            } else {
                Line::Complete(line)
            }));
        }
    }
}
