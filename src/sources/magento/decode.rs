//! Magento's JSON → domain orders and shipments: paging bookkeeping, every
//! field optional, bad timestamps reported by field, what is left to ship
//! counted as Magento counts it.

use super::*;

/// One Magento answer: the JSON of a 2xx, or the error its status means.
pub(super) fn decode_reply(what: &'static str, reply: &http::Reply) -> Result<Value, MagentoError> {
    let message = || render_error_body(&reply.body);
    match reply.status {
        401 | 403 => Err(MagentoError::Unauthorized {
            status: reply.status,
            message: message(),
        }),
        404 => Err(MagentoError::NotFound { message: message() }),
        400 => Err(MagentoError::BadRequest { message: message() }),
        _ => serde_json::from_slice(&reply.body).map_err(|e| MagentoError::Decode {
            what,
            reason: match http::decode_error(API, what, &e) {
                HttpError::Decode { detail, .. } => detail,
                other => other.to_string(),
            },
        }),
    }
}

/// The `items` of a search answer (absent or null: none), taken out of
/// its body (the rest of the body, its count, stays).
pub(super) fn take_page_items(
    what: &'static str,
    body: &mut Value,
) -> Result<Vec<Value>, MagentoError> {
    match body.get_mut("items") {
        Some(Value::Array(items)) => Ok(std::mem::take(items)),
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(_) => Err(MagentoError::Decode {
            what,
            reason: "`items` is not a list".into(),
        }),
    }
}

/// Adds a page's items to `out`, de-duplicated by `entity_id` (a later copy
/// replaces an earlier one: it is the fresher); returns how many were new
/// or changed since their earlier copy (an order saved during the pull is
/// news, the last page served again is not).
pub(super) fn merge_page(
    out: &mut Vec<Value>,
    index: &mut HashMap<u64, usize>,
    items: Vec<Value>,
) -> usize {
    let mut fresh = 0;
    for item in items {
        match item.get("entity_id").and_then(as_u64) {
            Some(id) => match index.get(&id) {
                Some(&i) => {
                    if out[i] != item {
                        fresh += 1;
                    }
                    out[i] = item;
                }
                None => {
                    index.insert(id, out.len());
                    out.push(item);
                    fresh += 1;
                }
            },
            // Kept so that the decoder reports it.
            None => {
                out.push(item);
                fresh += 1;
            }
        }
    }
    fresh
}

/// Whether page `page` (of `got` items) is the search's last:
/// `currentPage × pageSize ≥ total_count`, or without a count a short page.
pub(super) fn page_is_last(body: &Value, page: u32, page_size: u32, got: usize) -> bool {
    match body.get("total_count").and_then(as_u64) {
        Some(total) => u64::from(page) * u64::from(page_size) >= total,
        None => got < page_size as usize,
    }
}

pub(super) fn as_u64(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

pub(super) fn as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

pub(super) fn str_of(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// An entry's `updated_at`, when it has one that parses.
pub(super) fn parse_updated_at(v: &Value) -> Option<DateTime<Utc>> {
    v.get("updated_at")
        .and_then(Value::as_str)
        .and_then(|s| parse_magento_time(s).ok())
}

pub(super) fn has_shipping_assignments(order: &Value) -> bool {
    order
        .get("extension_attributes")
        .and_then(|e| e.get("shipping_assignments"))
        .is_some_and(Value::is_array)
}

/// A field that could not be used, inside an entry (an item, a shipment)
/// whose caller adds where the entry sits.
#[derive(Debug)]
pub(super) struct FieldError {
    pub(super) field: String,
    pub(super) problem: String,
}

/// A timestamp field: absent or null is `None`, malformed is an error.
pub(super) fn time_field(obj: &Value, key: &str) -> Result<Option<DateTime<Utc>>, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => parse_magento_time(s)
            .map(Some)
            .map_err(|e| format!("{s:?} is not a Magento timestamp (YYYY-MM-DD HH:MM:SS): {e}")),
        Some(other) => Err(format!("{other} is not a Magento timestamp")),
    }
}

/// Decodes one shipment with its tracks: the pull and
/// [`MagentoClient::shipments_of`] share it. Tracks without a number are
/// dropped; a track without a time gets the shipment's.
pub(super) fn decode_shipment(s: &Value) -> Result<Shipment, FieldError> {
    let fail = |field: String, problem: String| FieldError { field, problem };
    let entity_id = s.get("entity_id").and_then(as_u64).unwrap_or(0);
    let Some(shipped) = time_field(s, "created_at").map_err(|p| fail("created_at".into(), p))?
    else {
        return Err(fail("created_at".into(), "missing".into()));
    };
    let mut tracks = Vec::new();
    for (n, t) in s
        .get("tracks")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let Some(number) = str_of(t, "track_number").filter(|n| !n.trim().is_empty()) else {
            continue;
        };
        let at =
            time_field(t, "created_at").map_err(|p| fail(format!("tracks[{n}].created_at"), p))?;
        tracks.push(Track {
            number: number.trim().to_owned(),
            carrier_code: str_of(t, "carrier_code").unwrap_or_default(),
            title: str_of(t, "title").unwrap_or_default(),
            created_at: at.unwrap_or(shipped),
        });
    }
    Ok(Shipment {
        entity_id,
        created_at: shipped,
        tracks,
    })
}

/// A quantity: absent or null is `None`; a number, or a numeric string as
/// some shops send, is the value; anything else is an error.
pub(super) fn qty_field(item: &Value, key: &str) -> Result<Option<f64>, String> {
    match item.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => as_f64(v)
            .filter(|q| q.is_finite())
            .map(Some)
            .ok_or_else(|| format!("{v} is not a quantity")),
    }
}

pub(super) fn truthy(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|x| x != 0.0),
        Some(Value::String(s)) => matches!(s.trim(), "1" | "true"),
        _ => false,
    }
}

/// Never shipped: `is_virtual`, or a virtual or downloadable product type
/// (Magento's own `is_virtual` is set for both; the type is checked too in
/// case a shop's export leaves the flag out).
pub(super) fn is_virtual_item(item: &Value) -> bool {
    truthy(item.get("is_virtual"))
        || matches!(
            str_of(item, "product_type").as_deref(),
            Some("virtual" | "downloadable")
        )
}

/// Magento's `Order\Item::getSimpleQtyToShip` (app/code/Magento/Sales/
/// Model/Order/Item.php): `qty_ordered - max(qty_shipped, qty_refunded) -
/// qty_canceled`, never below 0. The `max` is the 2.4 line: the 2.0-2.2
/// sources subtract shipped and refunded both, and issue #34289 (2.4.2:
/// ordered 10, shipped 1 then 3, refunded 4, "allowed to ship is 6" both
/// times) shows 2.4 taking the larger of the two. `None` when the item
/// carries no `qty_shipped`: nothing is known about it. Rounded to
/// Magento's 4 decimals, so that 3 - 2.9999 style residues are not "left".
pub(super) fn simple_qty_to_ship(item: &Value, at: &str) -> Result<Option<f64>, FieldError> {
    let q = |key: &str| {
        qty_field(item, key).map_err(|problem| FieldError {
            field: format!("{at}.{key}"),
            problem,
        })
    };
    let ordered = q("qty_ordered")?.unwrap_or(0.0);
    let refunded = q("qty_refunded")?.unwrap_or(0.0);
    let canceled = q("qty_canceled")?.unwrap_or(0.0);
    let Some(shipped) = q("qty_shipped")? else {
        return Ok(None);
    };
    let left = ordered - shipped.max(refunded) - canceled;
    Ok(Some((left.max(0.0) * 10_000.0).round() / 10_000.0))
}

/// What is left to ship of each raw item (index-aligned with `items`), as
/// Magento's `Order\Item::getQtyToShip` counts it: 0 for virtual and
/// downloadable products, and for the parent and children of a configurable
/// or bundle product, one level only (`isDummy(true)`: the parent when the
/// product ships together, the children when a bundle ships separately).
/// Which level Magento counts hangs on the parent's `product_options`
/// `shipment_type`, which REST does not expose; the group is therefore done
/// when either level is, and otherwise its quantity stays on the parent -
/// unless only the children have shipped anything (a bundle shipped
/// separately), then on the children. A configurable's child is never the
/// one counted (it is dropped from the order's item list).
///
/// An order whose physical items say nothing (`None`) has its virtual items
/// say nothing either: "0 left" on those alone would make the order look
/// fully shipped.
pub(super) fn qty_to_ship(items: &[Value]) -> Result<Vec<Option<f64>>, FieldError> {
    let at = |n: usize, i: &Value| match i.get("item_id").and_then(as_u64) {
        Some(id) => format!("items[item_id {id}]"),
        None => format!("items[{n}]"),
    };
    let mut simple = Vec::with_capacity(items.len());
    for (n, i) in items.iter().enumerate() {
        simple.push(simple_qty_to_ship(i, &at(n, i))?);
    }
    let virt: Vec<bool> = items.iter().map(is_virtual_item).collect();
    let shipped_any = |n: usize| {
        items[n]
            .get("qty_shipped")
            .and_then(as_f64)
            .is_some_and(|q| q > 0.0)
    };
    let kind = |n: usize| str_of(&items[n], "product_type").unwrap_or_default();
    let index_of: HashMap<u64, usize> = items
        .iter()
        .enumerate()
        .filter_map(|(n, i)| i.get("item_id").and_then(as_u64).map(|id| (id, n)))
        .collect();
    let mut children: HashMap<usize, Vec<usize>> = HashMap::new();
    for (n, i) in items.iter().enumerate() {
        if let Some(&p) = i
            .get("parent_item_id")
            .and_then(as_u64)
            .and_then(|p| index_of.get(&p))
        {
            if matches!(kind(p).as_str(), "configurable" | "bundle") {
                children.entry(p).or_default().push(n);
            }
        }
    }
    let mut out: Vec<Option<f64>> = (0..items.len())
        .map(|n| if virt[n] { Some(0.0) } else { simple[n] })
        .collect();
    for (&p, kids) in &children {
        let physical: Vec<usize> = kids.iter().copied().filter(|&c| !virt[c]).collect();
        let known = simple[p].is_some() || physical.iter().any(|&c| simple[c].is_some());
        let done = virt[p]
            || simple[p] == Some(0.0)
            || (!physical.is_empty() && physical.iter().all(|&c| simple[c] == Some(0.0)));
        let on_children = kind(p) == "bundle"
            && (simple[p].is_none()
                || (!shipped_any(p) && physical.iter().any(|&c| shipped_any(c))));
        let zero = |out: &mut Vec<Option<f64>>, n: usize| out[n] = known.then_some(0.0);
        if !known || done {
            zero(&mut out, p);
            for &c in kids {
                zero(&mut out, c);
            }
        } else if on_children {
            zero(&mut out, p);
            for &c in kids {
                out[c] = if virt[c] { Some(0.0) } else { simple[c] };
            }
        } else {
            out[p] = simple[p].or_else(|| physical.iter().find_map(|&c| simple[c]));
            for &c in kids {
                zero(&mut out, c);
            }
        }
    }
    let physical_unknown = (0..items.len()).any(|n| !virt[n] && out[n].is_none());
    if physical_unknown {
        for n in (0..items.len()).filter(|&n| virt[n]) {
            out[n] = None;
        }
    }
    Ok(out)
}

/// Decodes one order. `shipments` and `invoices` are the raw entries of
/// that order. What is decided per field:
/// - the order's own `entity_id`, `created_at`, `updated_at`, its items'
///   quantities and its shipments cannot be done without: the order is
///   rejected (the last snapshot, if any, is judged instead). A shipment
///   dropped would make a shipped order look late and resolve its
///   parcels' cards; a guessed time would move every deadline.
/// - an invoice or a status-history entry only dates the validation, and
///   the others still do: the bad one is dropped and returned as a flaw
///   beside the order.
pub(super) fn decode_order(
    v: &Value,
    shipments: &[Value],
    invoices: &[Value],
) -> Result<(Order, Vec<OrderDecodeError>), OrderDecodeError> {
    let entity_id = v.get("entity_id").and_then(as_u64);
    // A blank number would give a card without a name: the entity id does.
    let increment_id = str_of(v, "increment_id").filter(|s| !s.trim().is_empty());
    let mut flaws = Vec::new();
    let fail = |field: String, problem: String| OrderDecodeError {
        entity_id,
        increment_id: increment_id.clone(),
        field,
        problem,
    };
    let time =
        |obj: &Value, key: &str, path: String| -> Result<Option<DateTime<Utc>>, OrderDecodeError> {
            time_field(obj, key).map_err(|problem| fail(path, problem))
        };
    let Some(entity_id) = entity_id else {
        return Err(fail("entity_id".into(), "missing".into()));
    };
    let created_at = time(v, "created_at", "created_at".into())?;
    let updated_at = time(v, "updated_at", "updated_at".into())?;
    let Some(created_at) = created_at else {
        return Err(fail("created_at".into(), "missing".into()));
    };
    let updated_at = updated_at.unwrap_or(created_at);

    let state = match str_of(v, "state").as_deref() {
        Some("new") => OrderState::New,
        Some("pending_payment") => OrderState::PendingPayment,
        Some("processing") => OrderState::Processing,
        Some("complete") => OrderState::Complete,
        Some("closed") => OrderState::Closed,
        Some("canceled") => OrderState::Canceled,
        Some("holded") => OrderState::Holded,
        Some("payment_review") => OrderState::PaymentReview,
        Some(other) => OrderState::Other(other.to_owned()),
        None => OrderState::Other(String::new()),
    };

    let raw_items = v
        .get("items")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let to_ship = qty_to_ship(&raw_items).map_err(|e| fail(e.field, e.problem))?;
    // A configurable product appears twice: the parent (carrying the chosen
    // child's sku) and the child. Keep the parent only; bundle children keep
    // their own sku and are kept.
    let configurable_parents: HashSet<u64> = raw_items
        .iter()
        .filter(|i| str_of(i, "product_type").as_deref() == Some("configurable"))
        .filter_map(|i| i.get("item_id").and_then(as_u64))
        .collect();
    let items = raw_items
        .iter()
        .zip(to_ship)
        .filter(|(i, _)| {
            i.get("parent_item_id")
                .and_then(as_u64)
                .is_none_or(|p| !configurable_parents.contains(&p))
        })
        .map(|(i, qty_to_ship)| Item {
            sku: str_of(i, "sku").unwrap_or_default(),
            name: str_of(i, "name").unwrap_or_default(),
            qty: i.get("qty_ordered").and_then(as_f64).unwrap_or(0.0),
            qty_to_ship,
        })
        .collect();

    let mut status_history = Vec::new();
    for (n, h) in v
        .get("status_histories")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        // Comment-only entries have no status: nothing to learn from them.
        let Some(status) = str_of(h, "status") else {
            continue;
        };
        // colisync's own notes carry the status they found: not a change.
        if str_of(h, "comment").is_some_and(|c| super::is_colisync_note(&c)) {
            continue;
        }
        match time(h, "created_at", format!("status_histories[{n}].created_at")) {
            Ok(Some(at)) => status_history.push(StatusChange { status, at }),
            Ok(None) => {}
            Err(e) => flaws.push(e),
        }
    }
    status_history.sort_by_key(|c| c.at);

    let mut invoice_times = Vec::new();
    for inv in invoices {
        let id = inv.get("entity_id").and_then(as_u64).unwrap_or(0);
        match time(inv, "created_at", format!("invoices[{id}].created_at")) {
            Ok(Some(at)) => invoice_times.push(at),
            Ok(None) => {}
            Err(e) => flaws.push(e),
        }
    }
    invoice_times.sort();

    let mut decoded_shipments = Vec::new();
    for s in shipments {
        let sid = s.get("entity_id").and_then(as_u64).unwrap_or(0);
        let shipment = decode_shipment(s)
            .map_err(|e| fail(format!("shipments[{sid}].{}", e.field), e.problem))?;
        decoded_shipments.push(shipment);
    }
    decoded_shipments.sort_by_key(|s| (s.created_at, s.entity_id));

    let shipping_method = v
        .get("extension_attributes")
        .and_then(|e| e.get("shipping_assignments"))
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .and_then(|a| a.get("shipping"))
        .and_then(|s| str_of(s, "method"))
        .filter(|m| !m.is_empty());

    let order = Order {
        entity_id,
        increment_id: increment_id
            .clone()
            .unwrap_or_else(|| entity_id.to_string()),
        state,
        status: str_of(v, "status").unwrap_or_default(),
        customer: Customer {
            firstname: str_of(v, "customer_firstname").unwrap_or_default(),
            lastname: str_of(v, "customer_lastname").unwrap_or_default(),
            email: str_of(v, "customer_email").unwrap_or_default(),
        },
        items,
        shipping_method,
        created_at,
        updated_at,
        invoices: invoice_times,
        status_history,
        shipments: decoded_shipments,
    };
    Ok((order, flaws))
}
