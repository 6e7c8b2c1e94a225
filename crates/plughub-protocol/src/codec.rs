//! Framing: one JSON object a line, at most `MAX_MESSAGE_BYTES` (the interop protocol's cap).

use crate::messages::{HostMessage, WorkerMessage};

/// The largest message either side accepts, newline excluded.
pub const MAX_MESSAGE_BYTES: usize = 1_000_000;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CodecError {
    #[error("a message of {0} bytes is over the {MAX_MESSAGE_BYTES}-byte cap")]
    TooLarge(usize),
    #[error("not a protocol message: {0}")]
    Malformed(String),
}

/// One line for the worker, newline included.
pub fn encode(message: &HostMessage) -> Result<Vec<u8>, CodecError> {
    let mut line = serde_json::to_vec(message).map_err(|e| CodecError::Malformed(e.to_string()))?;
    if line.len() > MAX_MESSAGE_BYTES {
        return Err(CodecError::TooLarge(line.len()));
    }
    line.push(b'\n');
    Ok(line)
}

/// A line from the worker (newline removed).
pub fn decode_worker(line: &[u8]) -> Result<WorkerMessage, CodecError> {
    if line.len() > MAX_MESSAGE_BYTES {
        return Err(CodecError::TooLarge(line.len()));
    }
    serde_json::from_slice(line).map_err(|e| {
        let shown = String::from_utf8_lossy(&line[..line.len().min(80)]).into_owned();
        CodecError::Malformed(format!("{e} in '{shown}'"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn official_names_on_the_wire() {
        let line = encode(&HostMessage::InvokeAction {
            id: 7,
            action: "HELLO".into(),
            memory: json!({ "content": { "text": "hi" } }),
            state: json!({}),
            options: json!({}),
            remote: false,
        })
        .unwrap();
        let value: serde_json::Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(value["type"], "action.invoke");
        assert_eq!(value["id"], 7);
        // plughub's own field is left out when it says nothing, so the line is the interop protocol's.
        assert!(value.get("remote").is_none());
        assert_eq!(*line.last().unwrap(), b'\n');

        let answer =
            decode_worker(br#"{"type":"action.result","id":7,"result":{"success":true}}"#).unwrap();
        assert_eq!(answer.answers(), Some(7));
        let call = decode_worker(
            br#"{"type":"runtime.call","id":"r1","method":"getSetting","params":["K"]}"#,
        )
        .unwrap();
        assert_eq!(call.answers(), None, "a runtime call answers no request");
        assert_eq!(
            decode_worker(br#"{"type":"log","level":"info","message":"hi"}"#).unwrap(),
            WorkerMessage::Log {
                level: "info".into(),
                message: "hi".into(),
                cut: 0
            },
            "a whole line"
        );
        assert_eq!(
            decode_worker(br#"{"type":"log","level":"info","message":"h","cut":7}"#).unwrap(),
            WorkerMessage::Log {
                level: "info".into(),
                message: "h".into(),
                cut: 7
            },
            "a line the worker cut"
        );
    }

    #[test]
    fn garbage_and_oversized_lines_are_refused() {
        assert!(matches!(
            decode_worker(b"hello world"),
            Err(CodecError::Malformed(_))
        ));
        assert!(
            matches!(
                decode_worker(br#"{"type":"action.result"}"#),
                Err(CodecError::Malformed(_))
            ),
            "an answer without an id"
        );
        let big = vec![b' '; MAX_MESSAGE_BYTES + 1];
        assert_eq!(
            decode_worker(&big),
            Err(CodecError::TooLarge(MAX_MESSAGE_BYTES + 1))
        );
    }
}
