//! What a card is about and which rule filed it: the problem key (the
//! marker's and the state's key), the rules' ids and severities.

use percent_encoding::{
    AsciiSet, NON_ALPHANUMERIC, PercentEncode, percent_decode_str, utf8_percent_encode,
};
use serde::{Deserialize, Serialize};

/// Every rule of docs/rules.md. The order of variants is the priority order of
/// parcel rules where it matters (see `judge`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleId {
    ShippingCompatible,
    ShippingOriginal,
    ReturnToSender,
    TrackingProblem,
    TrackingNotFound,
    DeliveryLetter,
    DeliveryColissimo,
    DeliveryChronopost,
    /// A carrier La Poste does not track (DPD, GLS, ...): off unless the
    /// admin sets `[rules.delivery_other] days`.
    DeliveryOther,
    TrackingStuck,
    /// A parcel waiting at a counter or pickup point (AG1) too long.
    Pickup,
    /// A case a lead or an agent opened: « livré mais pas reçu ».
    LostParcel,
    /// A case a lead or an agent opened: the customer asks for another
    /// address.
    AddressChange,
}

impl RuleId {
    /// Every rule, in declaration order.
    pub(crate) const ALL: [RuleId; 13] = [
        RuleId::ShippingCompatible,
        RuleId::ShippingOriginal,
        RuleId::ReturnToSender,
        RuleId::TrackingProblem,
        RuleId::TrackingNotFound,
        RuleId::DeliveryLetter,
        RuleId::DeliveryColissimo,
        RuleId::DeliveryChronopost,
        RuleId::DeliveryOther,
        RuleId::TrackingStuck,
        RuleId::Pickup,
        RuleId::LostParcel,
        RuleId::AddressChange,
    ];

    /// The config table name (`[rules.shipping_compatible]`).
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            RuleId::ShippingCompatible => "shipping_compatible",
            RuleId::ShippingOriginal => "shipping_original",
            RuleId::ReturnToSender => "return_to_sender",
            RuleId::TrackingProblem => "tracking_problem",
            RuleId::TrackingNotFound => "tracking_not_found",
            RuleId::DeliveryLetter => "delivery_letter",
            RuleId::DeliveryColissimo => "delivery_colissimo",
            RuleId::DeliveryChronopost => "delivery_chronopost",
            RuleId::DeliveryOther => "delivery_other",
            RuleId::TrackingStuck => "tracking_stuck",
            RuleId::Pickup => "pickup",
            RuleId::LostParcel => "lost_parcel",
            RuleId::AddressChange => "address_change",
        }
    }

    /// Whether the rule is a case opened by a person rather than a
    /// procedure the data triggers.
    pub fn is_case(self) -> bool {
        matches!(self, RuleId::LostParcel | RuleId::AddressChange)
    }
}

impl std::fmt::Display for RuleId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for RuleId {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RuleId::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("unknown rule {s:?}"))
    }
}

impl Severity {}

/// What a rule's `threshold` counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThresholdUnit {
    BusinessDays,
    Days,
    Hours,
    /// The rule fires on a fact, not after a delay.
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Late,
    Critical,
}

/// Where a return stands (`return_to_sender` files one card for both
/// stages): what the card record keeps so that the planner sees the stage
/// change, which the rule id alone does not show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReturnStage {
    /// The carrier is bringing the parcel back.
    Returning,
    /// The parcel is back at the sender.
    Back,
}

/// What a card is about: one per order in the shipping phase, one per parcel
/// in the delivery phase. Its string form is what the card's marker line
/// carries and what the state is keyed by.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ProblemKey {
    /// Shipping phase: the order (Magento increment id).
    Order { increment_id: String },
    /// Delivery phase: one parcel of an order. `parcel` is the tracking
    /// number, or `shipment-<entity id>` for an untracked letter.
    Parcel {
        increment_id: String,
        parcel: String,
    },
    /// A case opened by a lead (a label on a card of the order) or an
    /// agent (`colisync case`): one per order and kind.
    Case {
        increment_id: String,
        kind: CaseKind,
    },
}

/// What a case is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum CaseKind {
    /// « livré mais pas reçu » (seed 000 §5, seed 004 ③).
    Lost,
    /// A change of delivery address (seed 000 §4).
    Address,
}

impl CaseKind {
    pub const ALL: [CaseKind; 2] = [CaseKind::Lost, CaseKind::Address];

    /// The word of the key, the inbox and `colisync case`.
    pub fn as_str(self) -> &'static str {
        match self {
            CaseKind::Lost => "perdu",
            CaseKind::Address => "adresse",
        }
    }

    /// The rule whose card the case is.
    pub fn rule(self) -> RuleId {
        match self {
            CaseKind::Lost => RuleId::LostParcel,
            CaseKind::Address => RuleId::AddressChange,
        }
    }
}

impl std::fmt::Display for CaseKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for CaseKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CaseKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown case kind {s:?} (perdu or adresse)"))
    }
}

/// Bytes a key part keeps as they are: ASCII letters and digits and `-`,
/// `_`, `.`. Today's keys (`100023`, `6A12345678901`, `shipment-7`) are
/// written exactly as before, so the markers on existing boards still
/// parse. Everything else (spaces, line breaks, `/`, `%`, backticks,
/// Markdown, any non-ASCII byte) is percent-encoded: the marker then never
/// holds what Trello or the marker's own parsing would alter (whitespace
/// trimmed, line endings changed, the backticks around it, the `/` between
/// the parts).
const KEY_PART: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.');

/// The increment id part also keeps `/`: shops number orders `FR/2026/7`,
/// and markers written before the encoding carry them raw. It stays
/// unambiguous because the parcel part, last, never holds a raw `/`.
const INCREMENT_PART: &AsciiSet = &KEY_PART.remove(b'/');

fn encode_part<'a>(s: &'a str, set: &'static AsciiSet) -> PercentEncode<'a> {
    utf8_percent_encode(s, set)
}

fn decode_part(s: &str) -> Option<String> {
    percent_decode_str(s)
        .decode_utf8()
        .ok()
        .map(|c| c.into_owned())
}

impl std::fmt::Display for ProblemKey {
    /// `order/100023` or `parcel/100023/6A12345678901`: the state's key and
    /// what the card's marker line carries. Each part is percent-encoded
    /// outside [`KEY_PART`] (see there), so that any increment id or
    /// tracking number Magento sends reads back as itself.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProblemKey::Order { increment_id } => {
                write!(f, "order/{}", encode_part(increment_id, INCREMENT_PART))
            }
            ProblemKey::Parcel {
                increment_id,
                parcel,
            } => write!(
                f,
                "parcel/{}/{}",
                encode_part(increment_id, INCREMENT_PART),
                encode_part(parcel, KEY_PART)
            ),
            ProblemKey::Case { increment_id, kind } => write!(
                f,
                "case/{}/{}",
                encode_part(increment_id, INCREMENT_PART),
                kind.as_str()
            ),
        }
    }
}

impl std::str::FromStr for ProblemKey {
    type Err = String;

    /// Reads what [`Display`](std::fmt::Display) writes, and the raw keys of
    /// older markers and state records (a raw `%` not followed by two hex
    /// digits stays a `%`). Raw whitespace or control characters are never
    /// written: a string holding some is not a key (a lead's text after
    /// the marker, say).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("not a colisync problem key: {s:?}");
        if s.contains(|c: char| c.is_whitespace() || c.is_control()) {
            return Err(bad());
        }
        if let Some(inc) = s.strip_prefix("order/") {
            return Ok(ProblemKey::Order {
                increment_id: decode_part(inc).ok_or_else(bad)?,
            });
        }
        if let Some(rest) = s.strip_prefix("parcel/") {
            // The parcel part never holds a raw '/'; the increment id may.
            let (inc, parcel) = rest.rsplit_once('/').ok_or_else(bad)?;
            return Ok(ProblemKey::Parcel {
                increment_id: decode_part(inc).ok_or_else(bad)?,
                parcel: decode_part(parcel).ok_or_else(bad)?,
            });
        }
        if let Some(rest) = s.strip_prefix("case/") {
            let (inc, kind) = rest.rsplit_once('/').ok_or_else(bad)?;
            return Ok(ProblemKey::Case {
                increment_id: decode_part(inc).ok_or_else(bad)?,
                kind: kind.parse().map_err(|_| bad())?,
            });
        }
        Err(bad())
    }
}

impl ProblemKey {
    /// The start every parcel key of this order shares in the state
    /// (`parcel/<increment id>/`, encoded as [`Display`](std::fmt::Display)
    /// writes it).
    pub(crate) fn parcel_prefix(increment_id: &str) -> String {
        format!("parcel/{}/", encode_part(increment_id, INCREMENT_PART))
    }

    /// How this key was written before the parts were encoded, when that
    /// differs from today's form: the state still holds records under it.
    pub fn legacy_form(&self) -> Option<String> {
        let raw = match self {
            ProblemKey::Order { increment_id } => format!("order/{increment_id}"),
            ProblemKey::Parcel {
                increment_id,
                parcel,
            } => format!("parcel/{increment_id}/{parcel}"),
            // Case keys were encoded from the start.
            ProblemKey::Case { .. } => return None,
        };
        (raw != self.to_string()).then_some(raw)
    }

    pub fn increment_id(&self) -> &str {
        match self {
            ProblemKey::Order { increment_id }
            | ProblemKey::Parcel { increment_id, .. }
            | ProblemKey::Case { increment_id, .. } => increment_id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_keys_round_trip() {
        for (inc, kind, text) in [
            ("100023", CaseKind::Lost, "case/100023/perdu"),
            ("FR/2026/7", CaseKind::Address, "case/FR/2026/7/adresse"),
            ("10 0", CaseKind::Lost, "case/10%200/perdu"),
        ] {
            let key = ProblemKey::Case {
                increment_id: inc.into(),
                kind,
            };
            assert_eq!(key.to_string(), text);
            assert_eq!(text.parse::<ProblemKey>(), Ok(key.clone()));
            assert_eq!(key.increment_id(), inc);
            assert_eq!(key.legacy_form(), None);
        }
        assert!("case/100023/autre".parse::<ProblemKey>().is_err());
        assert!("case/100023".parse::<ProblemKey>().is_err());
        assert_eq!("perdu".parse(), Ok(CaseKind::Lost));
        assert_eq!(CaseKind::Address.rule(), RuleId::AddressChange);
        assert_eq!("lost_parcel".parse(), Ok(RuleId::LostParcel));
        assert_eq!(RuleId::AddressChange.to_string(), "address_change");
    }
}
