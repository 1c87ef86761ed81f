//! The seeds' inputs file: an array of levels, each an array of messages.

use anyhow::{bail, Context, Result};
use protocol::inbox::{InboxMessage, InternalMessage};
use protocol::{Address, Transfer, Wei};
use serde::Deserialize;

/// One message of `inputs.json`.
#[derive(Debug, Deserialize)]
#[serde(untagged, deny_unknown_fields)]
enum Message {
    /// `{"external": "<hex>"}`
    External { external: String },
    /// `{"sender": "0x<20 bytes>", "value": "<wei>", "payload": "<hex>"}` (sender and value
    /// default to zero, as in the seeds' REPL).
    Transfer {
        #[serde(default)]
        sender: Option<String>,
        #[serde(default)]
        value: Option<String>,
        payload: String,
    },
}

fn hex_bytes(s: &str) -> Result<Vec<u8>> {
    protocol::primitives::parse_hex(s).map_err(|_| anyhow::anyhow!("`{s}` is not hex"))
}

/// Parses `inputs.json` into each level's messages (without start/info/end of level), as the
/// bytes `read_input` returns.
pub fn parse(text: &str) -> Result<Vec<Vec<Vec<u8>>>> {
    let levels: Vec<Vec<Message>> = serde_json::from_str(text)
        .context("inputs must be a JSON array of levels, each an array of {\"external\": hex} or {\"sender\", \"value\", \"payload\"} messages")?;
    let mut out = Vec::with_capacity(levels.len());
    for (l, level) in levels.into_iter().enumerate() {
        let mut msgs = Vec::with_capacity(level.len());
        for (i, m) in level.into_iter().enumerate() {
            let at = || format!("level {} message {i}", l + 1);
            let msg = match m {
                Message::External { external } => InboxMessage::External(hex_bytes(&external).with_context(at)?),
                Message::Transfer { sender, value, payload } => {
                    let sender = match sender {
                        Some(s) => s.parse::<Address>().map_err(|e| anyhow::anyhow!("{e}")).with_context(|| format!("{}: sender", at()))?,
                        None => Address::ZERO,
                    };
                    let value = match value {
                        Some(v) => Wei::from_dec_str(&v).map_err(|e| anyhow::anyhow!("{e}")).with_context(|| format!("{}: value", at()))?,
                        None => Wei::ZERO,
                    };
                    let payload = hex_bytes(&payload).with_context(at)?;
                    InboxMessage::Internal(InternalMessage::Transfer(Transfer { sender, value, payload }))
                }
            };
            if !msg.fits() {
                bail!("{}: {} bytes encoded, more than the 4096-byte message limit", at(), msg.encoded_len());
            }
            msgs.push(msg.encode());
        }
        out.push(msgs);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_seeds_format() {
        let levels = parse(
            r#"[[{"external": "0a0b"}],
                [{"sender": "0x1111111111111111111111111111111111111111", "value": "5", "payload": "ff"}, {"payload": ""}],
                []]"#,
        )
        .unwrap();
        assert_eq!(levels[0], vec![vec![1, 0x0a, 0x0b]]);
        let t = &levels[1][0];
        assert_eq!(&t[..2], &[0, 0]);
        assert_eq!(&t[2..22], &[0x11; 20]);
        assert_eq!(t[53], 5);
        assert_eq!(t[54..], [0xff]);
        assert_eq!(levels[1][1].len(), 54);
        assert!(levels[2].is_empty());
        assert!(parse(r#"[[{"external": "zz"}]]"#).unwrap_err().to_string().contains("level 1 message 0"));
        assert!(parse(r#"[[{"bogus": 1}]]"#).is_err());
    }
}
