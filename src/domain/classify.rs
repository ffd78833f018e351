//! How this shop spells things: product kind from SKU globs, carrier from
//! shipping method globs, track codes and titles, validated statuses.

use super::order::{Item, Order, ProductKind, Track};
use super::parcel::Carrier;

/// Product kind and carrier from the configured globs: the only place that
/// knows how SKUs and shipping method codes are spelled in this shop.
#[derive(Debug, Clone)]
pub struct Classifier {
    /// `magento.original_skus`: an item matching one is an original
    /// cartridge, every other item is compatible.
    pub(crate) original_skus: Vec<glob::Pattern>,
    pub(crate) letter: Vec<glob::Pattern>,
    pub(crate) colissimo: Vec<glob::Pattern>,
    pub(crate) chronopost: Vec<glob::Pattern>,
    /// `magento.validated_statuses`, for [`Order::validated_at`]; kept here
    /// so that the rules get everything about "how this shop spells things"
    /// in one argument.
    pub validated_statuses: Vec<String>,
}

impl Classifier {
    pub(crate) fn product_kind(&self, sku: &str) -> ProductKind {
        if self.original_skus.iter().any(|p| p.matches(sku)) {
            ProductKind::Original
        } else {
            ProductKind::Compatible
        }
    }

    /// Seed 000 §1: an order with any original item waits for it, so it
    /// follows the original rule.
    pub(crate) fn order_kind(&self, order: &Order) -> ProductKind {
        self.items_kind(&order.items)
    }

    /// The kind of a set of items: original as soon as one is.
    pub(crate) fn items_kind<'i>(&self, items: impl IntoIterator<Item = &'i Item>) -> ProductKind {
        if items
            .into_iter()
            .any(|i| self.product_kind(&i.sku) == ProductKind::Original)
        {
            ProductKind::Original
        } else {
            ProductKind::Compatible
        }
    }

    /// What the shipping rules wait for: the items still in the warehouse
    /// when part of the order has left (compatible cartridges shipped, the
    /// original one still awaited: the original rule), else every item.
    pub(crate) fn waiting_kind(&self, order: &Order) -> ProductKind {
        if order.items_waiting().next().is_some() {
            self.items_kind(order.items_waiting())
        } else {
            self.order_kind(order)
        }
    }

    /// The carrier of a shipping method code by the `[carriers]` globs.
    pub fn carrier_of_method(&self, method: &str) -> Option<Carrier> {
        let hit = |pats: &[glob::Pattern]| pats.iter().any(|p| p.matches(method));
        if hit(&self.chronopost) {
            Some(Carrier::Chronopost)
        } else if hit(&self.colissimo) {
            Some(Carrier::Colissimo)
        } else if hit(&self.letter) {
            Some(Carrier::Letter)
        } else {
            None
        }
    }

    /// The carrier of a parcel: the order's shipping method code by the
    /// globs first (what the admin configured), else the track's Magento
    /// carrier code, else words in its free-text title (`custom` +
    /// "Colissimo Expert"), else `Other`. An untracked shipment of an
    /// unclassified method is a letter: nothing else ships without a number.
    ///
    /// A track, or else a shipping method, that names a carrier outside La
    /// Poste's group (DPD, GLS, UPS, Mondial Relay, Colis Privé, ...) is
    /// `Other` first of all: the parcel really left with that carrier,
    /// whatever the method's glob says, and La Poste knows nothing of it.
    pub fn carrier(&self, shipping_method: Option<&str>, track: Option<&Track>) -> Carrier {
        let foreign = track
            .map(|t| names_foreign_carrier(&t.carrier_code) || names_foreign_carrier(&t.title))
            .unwrap_or(false);
        if foreign {
            return Carrier::Foreign;
        }
        let by_method = shipping_method.and_then(|m| self.carrier_of_method(m));
        if by_method.is_none() && shipping_method.is_some_and(names_foreign_carrier) {
            return Carrier::Foreign;
        }
        // A track without a number (a placeholder such as `N/A`) says
        // nothing but, at most, its carrier's name: the shipment is an
        // untracked one, a letter unless the method or that name says more.
        if let Some(t) = track.filter(|t| t.number.trim().is_empty()) {
            return by_method
                .or_else(|| self.carrier_of_track(t))
                .unwrap_or(Carrier::Letter);
        }
        let Some(track) = track else {
            return by_method.unwrap_or(Carrier::Letter);
        };
        match by_method {
            // A letter has no tracking number by definition (docs/rules.md): a
            // tracked parcel of a letter method was upgraded by the shop,
            // and the track says to which carrier.
            Some(Carrier::Letter) if !track.number.trim().is_empty() => {
                if let Some(c) = self.carrier_of_track(track) {
                    if c != Carrier::Letter {
                        return c;
                    }
                }
                return Carrier::Letter;
            }
            Some(c) => return c,
            None => {}
        }
        self.carrier_of_track(track).unwrap_or(Carrier::Other)
    }

    /// The carrier a track names: its Magento carrier code by the globs,
    /// else words in the code or the free-text title.
    fn carrier_of_track(&self, track: &Track) -> Option<Carrier> {
        if let Some(c) = self.carrier_of_method(&track.carrier_code) {
            return Some(c);
        }
        for text in [&track.carrier_code, &track.title] {
            let t = text.to_lowercase();
            if t.contains("chronopost") {
                return Some(Carrier::Chronopost);
            }
            if t.contains("colissimo") {
                return Some(Carrier::Colissimo);
            }
        }
        let title = track.title.to_lowercase();
        if title.contains("lettre") {
            // Lettre suivie: the seeds' letter delay applies.
            return Some(Carrier::Letter);
        }
        None
    }
}

/// Carriers outside La Poste's group that French shops ship with, as their
/// names appear in Magento carrier codes, method codes and track titles,
/// squeezed to lower-case letters and digits. The short names (`ups`,
/// `dpd`, ...) must be a whole word of the text; the long ones may be
/// part of a code (`mondialrelay_pickup`, `dpdfrpredict`).
const FOREIGN_CARRIER_WORDS: &[&str] = &["dpd", "gls", "ups", "dhl", "tnt", "usps"];
const FOREIGN_CARRIER_NAMES: &[&str] = &[
    "mondialrelay",
    "colisprive",
    "relaiscolis",
    "fedex",
    "geodis",
    "kuehne",
    "dbschenker",
    "dpdfr",
    "dpdpredict",
    "dpdrelais",
    "upsstandard",
];

/// Whether `text` (a carrier code, a method code or a track title) names a
/// carrier that La Poste does not track.
fn names_foreign_carrier(text: &str) -> bool {
    let lower = text.to_lowercase().replace(['é', 'è', 'ê'], "e");
    let squeezed: String = lower.chars().filter(char::is_ascii_alphanumeric).collect();
    // « Relais Colissimo », « Chronopost Relais »: La Poste's own, whatever
    // else the text says.
    if ["colissimo", "chronopost", "chrono", "laposte", "lettre"]
        .iter()
        .any(|n| squeezed.contains(n))
    {
        return false;
    }
    if FOREIGN_CARRIER_NAMES.iter().any(|n| squeezed.contains(n)) {
        return true;
    }
    lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|w| FOREIGN_CARRIER_WORDS.contains(&w))
}
