//! The JSON message stream of pull, push, import, load and build (moby's `jsonmessage`): one
//! JSON object per line, each with a `status` and optional per-layer `id` and progress, or an
//! `error`/`errorDetail` that ends the stream.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Byte counts of one layer's progress bar.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ProgressDetail {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<i64>,
}

/// `errorDetail` of a failed stream.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ErrorDetail {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<i64>,
    #[serde(default)]
    pub message: String,
}

/// One line of a progress stream.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct JsonMessage {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(
        default,
        rename = "progressDetail",
        skip_serializing_if = "Option::is_none"
    )]
    pub progress_detail: Option<ProgressDetail>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(
        default,
        rename = "errorDetail",
        skip_serializing_if = "Option::is_none"
    )]
    pub error_detail: Option<ErrorDetail>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aux: Option<Value>,
}

impl JsonMessage {
    /// A plain status line (`{"status":"..."}`).
    pub fn status(s: impl Into<String>) -> Self {
        JsonMessage {
            status: Some(s.into()),
            ..Default::default()
        }
    }

    /// A status line for one layer or object id.
    pub fn status_id(s: impl Into<String>, id: impl Into<String>) -> Self {
        JsonMessage {
            status: Some(s.into()),
            id: Some(id.into()),
            ..Default::default()
        }
    }

    /// The error line that ends a failed stream; the docker CLI prints `message` and exits 1.
    pub fn error(message: impl Into<String>) -> Self {
        let message = message.into();
        JsonMessage {
            error: Some(message.clone()),
            error_detail: Some(ErrorDetail {
                code: None,
                message,
            }),
            ..Default::default()
        }
    }

    /// Serialises the message as one line, newline included.
    pub fn to_line(&self) -> String {
        let mut s = serde_json::to_string(self).unwrap_or_else(|_| "{}".to_string());
        s.push_str("\r\n");
        s
    }
}
