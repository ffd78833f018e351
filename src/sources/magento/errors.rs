//! What the Magento client answers besides orders: its errors (never a
//! secret nor a URL), the pull's result and the orders and shipments it
//! could not decode.

use super::*;

/// Renders Magento's error body `{"message": "… %1 … %name …",
/// "parameters": [..] or {..}}` with the parameters substituted. A body that
/// is not that JSON is returned as text (truncated), an empty one as "".
pub fn render_error_body(body: &[u8]) -> String {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        let text = String::from_utf8_lossy(body);
        return text.chars().take(200).collect::<String>().trim().to_owned();
    };
    let Some(message) = v.get("message").and_then(Value::as_str) else {
        return v.to_string().chars().take(200).collect();
    };
    let mut pairs: Vec<(String, String)> = match v.get("parameters") {
        Some(Value::Array(list)) => list
            .iter()
            .enumerate()
            .map(|(i, p)| (format!("%{}", i + 1), scalar_text(p)))
            .collect(),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, p)| (format!("%{k}"), scalar_text(p)))
            .collect(),
        _ => Vec::new(),
    };
    // Longest placeholder first, so that `%1` does not eat the start of `%10`.
    pairs.sort_by_key(|(k, _)| std::cmp::Reverse(k.len()));
    let mut out = message.to_owned();
    for (k, p) in pairs {
        out = out.replace(&k, &p);
    }
    out
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Why a Magento call failed. Never holds a secret nor a URL.
#[derive(Debug, Clone, thiserror::Error)]
pub enum MagentoError {
    /// Bad token or signature, replayed nonce, or missing ACL (401/403).
    /// Fatal: retrying cannot help.
    #[error("Magento refused the credentials (HTTP {status}): {message}")]
    Unauthorized { status: u16, message: String },
    #[error("Magento: not found (404): {message}")]
    NotFound { message: String },
    #[error("Magento rejected the request (400, bad search criteria?): {message}")]
    BadRequest { message: String },
    /// 400 to a write: Magento will not apply it as sent.
    #[error("Magento refused {what} (400): {message}")]
    Refused { what: &'static str, message: String },
    /// Transport errors, timeouts, 5xx, 429 (after the retries allowed).
    #[error(transparent)]
    Http(#[from] HttpError),
    /// A 2xx whose body is not the JSON expected (truncated, HTML…).
    #[error("Magento's answer to {what} is not the expected JSON: {reason}")]
    Decode { what: &'static str, reason: String },
    /// The one order asked for cannot be decoded.
    #[error("{0}")]
    Order(OrderDecodeError),
}

impl MagentoError {
    /// Whether another attempt of the same read may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            MagentoError::Http(e) => http::is_retryable(e, Idempotent::Yes),
            // A truncated body: the read can simply be made again.
            MagentoError::Decode { .. } => true,
            _ => false,
        }
    }

    /// 401: stop the pass, tell the admin.
    pub fn is_fatal(&self) -> bool {
        matches!(self, MagentoError::Unauthorized { .. })
    }
}

/// One order skipped because a field could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderDecodeError {
    pub(crate) entity_id: Option<u64>,
    pub(crate) increment_id: Option<String>,
    /// Path of the field, e.g. `created_at`, `shipments[7].created_at`.
    pub(crate) field: String,
    pub(crate) problem: String,
}

impl fmt::Display for OrderDecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.increment_id, self.entity_id) {
            (Some(inc), Some(id)) => write!(f, "order {inc} (entity {id})")?,
            (Some(inc), None) => write!(f, "order {inc}")?,
            (None, Some(id)) => write!(f, "order entity {id}")?,
            (None, None) => write!(f, "an order without id")?,
        }
        write!(f, ": field `{}`: {}", self.field, self.problem)
    }
}

impl std::error::Error for OrderDecodeError {}

/// What one incremental pull brings back.
#[derive(Debug, Clone, Default)]
pub struct PullResult {
    /// Changed orders, decoded, with shipments and invoices, sorted by
    /// `(updated_at, entity_id)`.
    pub orders: Vec<Order>,
    /// Orders that could not be decoded; the pull went on without them.
    pub rejected: Vec<OrderDecodeError>,
    /// Entries dropped from orders that are in [`Self::orders`] all the
    /// same (an invoice or a status change with a bad timestamp): judged on
    /// what is left, and still to be reported.
    pub(crate) flawed: Vec<OrderDecodeError>,
    /// The greatest `updated_at` seen, rejected orders included (their data
    /// is bad, re-pulling them by time would not fix it; the caller keeps
    /// their ids instead): the caller's next cursor.
    pub max_updated_at: Option<DateTime<Utc>>,
    /// Orders the pull brought back that the caller already had at the same
    /// `updated_at` (see [`super::MagentoClient::orders_updated_since_except`]):
    /// counted, not read further.
    pub unchanged: usize,
}

impl PullResult {
    /// Entity ids of the orders rejected or flawed, for the caller to read
    /// again until they decode.
    pub(crate) fn undecodable(&self) -> impl Iterator<Item = &OrderDecodeError> {
        self.rejected.iter().chain(&self.flawed)
    }
}

/// What [`MagentoClient::complete`] decodes out of raw list entries.
#[derive(Debug, Default)]
pub(super) struct Decoded {
    pub(super) orders: Vec<Order>,
    pub(super) rejected: Vec<OrderDecodeError>,
    pub(super) flawed: Vec<OrderDecodeError>,
}

/// What [`MagentoClient::shipments_of`] brings back.
#[derive(Debug, Clone, Default)]
pub struct ShipmentsOf {
    /// Every order asked for, with its shipments sorted by `(created_at,
    /// entity_id)`; empty when the order has none.
    pub by_order: HashMap<u64, Vec<Shipment>>,
    /// Shipments left out because a field could not be used.
    pub rejected: Vec<ShipmentDecodeError>,
}

/// One shipment skipped because a field could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShipmentDecodeError {
    pub(crate) order_id: u64,
    pub(crate) shipment_id: Option<u64>,
    /// Path of the field inside the shipment, e.g. `created_at`,
    /// `tracks[0].created_at`.
    pub(crate) field: String,
    pub(crate) problem: String,
}

impl fmt::Display for ShipmentDecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.shipment_id {
            Some(id) => write!(f, "shipment {id} of order entity {}", self.order_id)?,
            None => write!(f, "a shipment without id of order entity {}", self.order_id)?,
        }
        write!(f, ": field `{}`: {}", self.field, self.problem)
    }
}

impl std::error::Error for ShipmentDecodeError {}
