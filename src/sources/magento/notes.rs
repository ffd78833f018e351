//! Comments on a Magento order's history: the order notes colisync writes
//! when a card is filed, changes case or is resolved (`[magento]
//! order_notes`), and their read-back.
//!
//! Part of the Magento client, at the write-back edge of the pipeline: the
//! applier of follow-up writes calls it after the card's write is settled.
//! What Magento does (docs/apis.md, Magento order comments) and why the
//! calls look the way they do:
//! - `POST /V1/orders/{entity_id}/comments` takes the order's entity id,
//!   never its increment id, and answers `true`;
//! - without a `status`, older Magento versions set the order's status to
//!   NULL (magento/magento2 #34180) and 2.4.7+ refuses any status outside
//!   the order's state; the order's current status, read just before, is
//!   the one body every version accepts and writes back unchanged;
//! - `is_customer_notified: 0` keeps the customer's e-mail unsent,
//!   `is_visible_on_front: 0` keeps the comment off the storefront, and
//!   `entity_name: "order"` keeps it visible in the admin (#8257);
//! - the write is not idempotent: after an unknown outcome the caller reads
//!   the order's `status_histories` for its marker before writing again.
//!   The pull skips history entries carrying the marker ([`is_colisync_note`]),
//!   since our comment carries a status and would otherwise read as a
//!   status change (a validation date invented for an unpaid order).

use serde_json::{Value, json};

use super::{MagentoClient, MagentoError, decode_reply, str_of};
use crate::http::Call;

/// What every colisync order note carries, in its marker
/// `[colisync-note:<key>:<event>:<instant>]`.
pub const NOTE_MARKER_PREFIX: &str = "colisync-note:";

/// Whether a history comment is one of colisync's notes.
pub fn is_colisync_note(comment: &str) -> bool {
    comment.contains(NOTE_MARKER_PREFIX)
}

/// An order as a note needs it: its status now and its comments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderForNote {
    pub entity_id: u64,
    pub increment_id: String,
    /// `None` when Magento sends none.
    pub status: Option<String>,
    /// Every history comment, as Magento lists them (newest first).
    pub comments: Vec<String>,
}

impl OrderForNote {
    /// Whether a comment holding `marker` is already on the order.
    pub fn has_comment_with(&self, marker: &str) -> bool {
        self.comments.iter().any(|c| c.contains(marker))
    }
}

fn comments_of(items: Option<&Value>) -> Vec<String> {
    items
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|h| str_of(h, "comment"))
        .collect()
}

impl MagentoClient {
    /// `GET /V1/orders/{entity_id}`: the status to send back and the
    /// comments to look for a marker in. One read gives both.
    pub async fn order_for_note(&self, entity_id: u64) -> Result<OrderForNote, MagentoError> {
        let v = self
            .get_json("the order to note", &format!("orders/{entity_id}"), &[])
            .await?;
        Ok(OrderForNote {
            entity_id,
            increment_id: str_of(&v, "increment_id").unwrap_or_default(),
            status: str_of(&v, "status"),
            comments: comments_of(v.get("status_histories")),
        })
    }

    /// `GET /V1/orders/{entity_id}/comments`: every comment, unpaged.
    pub async fn order_comments(&self, entity_id: u64) -> Result<Vec<String>, MagentoError> {
        let v = self
            .get_json(
                "the order's comments",
                &format!("orders/{entity_id}/comments"),
                &[],
            )
            .await?;
        Ok(comments_of(v.get("items")))
    }

    /// Adds a comment that notifies no one and changes nothing: `status`
    /// must be the order's current one ([`Self::order_for_note`]). Not
    /// retried once sent (a lost answer is
    /// [`MagentoError::outcome_is_unknown`]).
    pub async fn add_order_comment(
        &self,
        entity_id: u64,
        status: Option<&str>,
        comment: &str,
    ) -> Result<(), MagentoError> {
        let mut history = json!({
            "comment": comment,
            "is_customer_notified": 0,
            "is_visible_on_front": 0,
            "parent_id": entity_id,
            "entity_name": "order",
        });
        if let Some(s) = status {
            history["status"] = json!(s);
        }
        let call = Call::post(&format!("orders/{entity_id}/comments"))
            .json(json!({"statusHistory": history}))
            .accept(400)
            .accept(401)
            .accept(403)
            .accept(404);
        let what = "a comment on the order";
        let answer = self
            .api
            .send_decoded(
                &call,
                |reply| match decode_reply(what, &reply) {
                    Err(MagentoError::BadRequest { message }) => {
                        Err(MagentoError::Refused { what, message })
                    }
                    other => other,
                },
                // A write that was answered was applied: never sent again.
                |_| false,
            )
            .await?;
        match answer {
            Value::Bool(true) => Ok(()),
            _ => Err(MagentoError::Decode {
                what,
                reason: "the answer is not `true`".into(),
            }),
        }
    }
}

impl MagentoError {
    /// For a write: may Magento have applied it although we got an error?
    pub fn outcome_is_unknown(&self) -> bool {
        match self {
            MagentoError::Http(e) => crate::http::outcome_is_unknown(e),
            MagentoError::Decode { .. } => true,
            _ => false,
        }
    }
}
