//! In-process fake of La Poste's Suivi v2 API: `GET
//! /suivi/v2/idships/{ids}` over parcels held in memory.
//!
//! Used by the contract tests of [`colisync::tracking::laposte`] and by
//! `colisync demo`. It answers like the real service (docs/apis.md): the
//! `X-Okapi-Key` checked (gateway 401 `{code, message}`), at most ten ids of
//! 11-15 alphanumerics, one id → 200 (bare envelope, or a one-element array
//! if asked) / 404 returnCode 104 / 400 returnCode 400, several ids → 207
//! with an envelope per id, events newest first with ISO dates in Paris
//! time. An optional rate limit answers the gateway's 429.
//!
//! Shipments carry what the recorded answers carry (karrioapi/karrio's and
//! debuss/lapostesuivi's test fixtures, La Poste's Swagger SUIVI): `holder`,
//! `isFinal`, `entryDate`, `deliveryDate` (once final), `estimDate` (when
//! set; equal to `deliveryDate` once final, as in karrio's sample), a
//! five-step `timeline`, `contextData`, an `order` on each event, `url`.
//! Per number, any `returnCode` of the spec (101/104/105/109 answer no
//! shipment; 201/208 a shipment), or a recorded body served verbatim. Per
//! request, an error in the gateway's shape or in the `returnCode` shape
//! (401, 500, 504); a refused key in either shape.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use chrono_tz::Europe::Paris;
use serde_json::{Value, json};
use url::Url;

use crate::{FakeServer, Faults, RequestLog, lock};

use colisync::domain::TrackingEvent;

#[derive(Clone)]
enum Parcel {
    Known {
        product: String,
        /// Newest first.
        events: Vec<TrackingEvent>,
        is_final: bool,
    },
    /// Announced but not yet scanned: returnCode 104.
    NotYetAvailable,
    /// Well-formed but refused by La Poste: returnCode 400.
    Rejected,
}

/// How the fake answers a request whose key it refuses. Both are recorded
/// by clients of the real API; Swagger SUIVI only says "401 Unauthorized:
/// HMAC verification failed".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UnauthorizedShape {
    /// The gateway's `{"code": "UNAUTHORIZED", "message": "Invalid apikey"}`.
    #[default]
    Gateway,
    /// `{"returnCode": 401, "returnMessage": "Unauthorized", "lang",
    /// "scope"}`, as debuss/lapostesuivi's `tests/Mock/401.json`.
    ReturnCode,
}

/// An answer served as given: status and body bytes.
#[derive(Clone)]
struct Verbatim {
    status: u16,
    body: String,
}

struct Poste {
    api_key: String,
    parcels: HashMap<String, Parcel>,
    /// Ids of every request that reached the parcels (after auth).
    requests: Vec<Vec<String>>,
    /// Requests refused with the gateway's 401.
    unauthorized: usize,
    wrap_single_in_array: bool,
    /// A 404 "not yet available" without a JSON body, as sometimes seen.
    unknown_without_body: bool,
    /// Requests allowed per second before the gateway's 429.
    rate_limit: Option<u32>,
    window: (Instant, u32),
    /// Gateway errors to answer next, in order (401/429/503 shapes).
    gateway_errors: VecDeque<u16>,
    /// Answers to give the next requests that pass the gateway, in order.
    next_answers: VecDeque<Verbatim>,
    /// Per number: a recorded answer, served as is when asked alone.
    verbatim: HashMap<String, Verbatim>,
    /// Per number: the `returnCode` answered instead of 200/104.
    return_codes: HashMap<String, u64>,
    /// Per number: the `estimDate` served.
    estimated: HashMap<String, DateTime<Utc>>,
    unauthorized_shape: UnauthorizedShape,
}

/// The fake API; cheap to clone (shared state).
#[derive(Clone)]
pub struct FakeLaPoste {
    poste: Arc<Mutex<Poste>>,
    /// Shared so that the fake is `Clone`; the server stops when the
    /// last clone is dropped.
    server: Arc<FakeServer>,
}

impl FakeLaPoste {
    /// Starts the fake on 127.0.0.1, accepting `api_key`.
    pub async fn start(api_key: &str) -> std::io::Result<FakeLaPoste> {
        let poste = Arc::new(Mutex::new(Poste {
            api_key: api_key.to_owned(),
            parcels: HashMap::new(),
            requests: Vec::new(),
            unauthorized: 0,
            wrap_single_in_array: false,
            unknown_without_body: false,
            rate_limit: None,
            window: (Instant::now(), 0),
            gateway_errors: VecDeque::new(),
            next_answers: VecDeque::new(),
            verbatim: HashMap::new(),
            return_codes: HashMap::new(),
            estimated: HashMap::new(),
            unauthorized_shape: UnauthorizedShape::default(),
        }));
        let router = Router::new()
            .route("/suivi/v2/idships/{ids}", get(idships))
            .with_state(poste.clone());
        let server = Arc::new(FakeServer::start(router).await?);
        // An injected 429 looks like the gateway's own.
        server.faults().set_too_many_requests_body(
            "application/json",
            r#"{"code":"TOO_MANY_REQUESTS","message":"Too many requests"}"#,
        );
        Ok(FakeLaPoste { poste, server })
    }

    /// The API root, what goes in `[laposte] base_url`.
    pub fn base_url(&self) -> Url {
        self.server.base_url()
    }

    pub fn faults(&self) -> &Faults {
        self.server.faults()
    }

    /// Every request that reached the server, faults included.
    pub fn request_log(&self) -> &RequestLog {
        self.server.requests()
    }

    fn poste(&self) -> MutexGuard<'_, Poste> {
        lock(&self.poste)
    }

    /// A parcel the carrier knows, with its events newest first.
    pub fn set_parcel(
        &self,
        number: &str,
        product: &str,
        events: Vec<TrackingEvent>,
        is_final: bool,
    ) {
        self.poste().parcels.insert(
            number.to_owned(),
            Parcel::Known {
                product: product.to_owned(),
                events,
                is_final,
            },
        );
    }

    /// A number the carrier does not know yet (returnCode 104). Numbers
    /// never set answer the same.
    pub fn unknown(&self, number: &str) {
        self.poste()
            .parcels
            .insert(number.to_owned(), Parcel::NotYetAvailable);
    }

    /// A number La Poste refuses although it looks well-formed
    /// (returnCode 400).
    pub fn reject(&self, number: &str) {
        self.poste()
            .parcels
            .insert(number.to_owned(), Parcel::Rejected);
    }

    pub fn set_wrap_single_in_array(&self, wrap: bool) {
        self.poste().wrap_single_in_array = wrap;
    }

    pub fn set_unknown_without_body(&self, bare: bool) {
        self.poste().unknown_without_body = bare;
    }

    /// Requests per second before the gateway answers 429 (None: no limit).
    pub fn set_rate_limit(&self, per_second: Option<u32>) {
        self.poste().rate_limit = per_second;
    }

    /// The next request gets the gateway's error of this status (401, 429
    /// or 503), whatever its key.
    pub fn push_gateway_error(&self, status: u16) {
        self.poste().gateway_errors.push_back(status);
    }

    /// The `returnCode` La Poste answers for `number` from now on: 101,
    /// 104, 105 or 109 answer no shipment (a 404 when asked alone, as the
    /// spec's "Unknown or Invalid idShip"); 201 or 208 answer the parcel's
    /// shipment (set with [`FakeLaPoste::set_parcel`]) under that code; 200
    /// goes back to the default.
    pub fn set_return_code(&self, number: &str, code: u64) {
        let mut p = self.poste();
        if code == 200 {
            p.return_codes.remove(number);
        } else {
            p.return_codes.insert(number.to_owned(), code);
        }
    }

    /// The `estimDate` served for `number` (None: none until final).
    pub fn set_estimated_delivery(&self, number: &str, at: Option<DateTime<Utc>>) {
        let mut p = self.poste();
        match at {
            Some(at) => p.estimated.insert(number.to_owned(), at),
            None => p.estimated.remove(number),
        };
    }

    /// A recorded answer for `number`: served byte for byte (with this
    /// status) when the number is asked alone; inside a 207, its envelope
    /// (the element of a one-element array) stands for the number.
    pub fn serve_verbatim(&self, number: &str, status: u16, body: &str) {
        self.poste().verbatim.insert(
            number.to_owned(),
            Verbatim {
                status,
                body: body.to_owned(),
            },
        );
    }

    /// The next request that passes the gateway gets this status and body,
    /// byte for byte, whatever it asks.
    pub fn push_verbatim_answer(&self, status: u16, body: &str) {
        self.poste().next_answers.push_back(Verbatim {
            status,
            body: body.to_owned(),
        });
    }

    /// The next request that passes the gateway gets an error in the
    /// `returnCode` shape (`{returnCode, returnMessage, lang, scope}`), as
    /// debuss/lapostesuivi records for 401, 500 and 504.
    pub fn push_return_code_error(&self, status: u16) {
        let message = match status {
            401 => "Unauthorized",
            500 => "Internal Server Error",
            504 => "Gateway Timeout",
            _ => "Service Unavailable",
        };
        let body = json!({"returnCode": status, "returnMessage": message,
                          "lang": "fr_FR", "scope": "open"});
        self.push_verbatim_answer(status, &body.to_string());
    }

    /// The shape of the 401 answered to a wrong key.
    pub fn set_unauthorized_shape(&self, shape: UnauthorizedShape) {
        self.poste().unauthorized_shape = shape;
    }

    /// Requests that passed the gateway (auth, rate limit).
    pub fn requests(&self) -> usize {
        self.poste().requests.len()
    }

    /// The ids of each request that passed the gateway, in order.
    pub fn requested_ids(&self) -> Vec<Vec<String>> {
        self.poste().requests.clone()
    }

    pub fn unauthorized(&self) -> usize {
        self.poste().unauthorized
    }
}

fn gateway(status: u16) -> Response {
    let (code, message) = match status {
        401 => ("UNAUTHORIZED", "Invalid apikey"),
        429 => ("TOO_MANY_REQUESTS", "Too many requests"),
        _ => (
            "SERVICE_UNAVAILABLE",
            "The service is temporarily unavailable",
        ),
    };
    let mut resp = (
        StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
        axum::Json(json!({"code": code, "message": message})),
    )
        .into_response();
    if status == 429 {
        resp.headers_mut()
            .insert("retry-after", HeaderValue::from_static("1"));
    }
    resp
}

fn verbatim(answer: &Verbatim) -> Response {
    let mut resp = (
        StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK),
        answer.body.clone(),
    )
        .into_response();
    resp.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// A recorded answer's envelope, to stand for its number inside a 207.
fn verbatim_envelope(answer: &Verbatim) -> Value {
    match serde_json::from_str::<Value>(&answer.body) {
        Ok(Value::Array(mut list)) if list.len() == 1 => list.pop().unwrap_or(Value::Null),
        Ok(v) => v,
        Err(_) => Value::Null,
    }
}

fn valid(id: &str) -> bool {
    (11..=15).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// How far along La Poste's five timeline steps (taken in charge, in
/// transit, arrived, out for delivery, delivered) an event code puts a
/// parcel: debuss's sample shows steps 1-3 done at ET1, karrio's all five
/// at DI1.
fn timeline_step(code: &str) -> usize {
    match code {
        "DR1" => 0,
        "PC1" | "PC2" => 1,
        "MD2" | "AG1" | "ND1" => 4,
        "DI1" | "DI2" => 5,
        _ => 3,
    }
}

fn paris_date(at: DateTime<Utc>) -> String {
    at.with_timezone(&Paris)
        .format("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

/// What La Poste answers for one number: the HTTP status it would get
/// alone, and its envelope.
fn envelope(id: &str, p: &Poste) -> (u16, Value) {
    let parcel = p.parcels.get(id);
    if !valid(id) || matches!(parcel, Some(Parcel::Rejected)) {
        return (
            400,
            json!({"lang": "fr_FR", "scope": "open", "returnCode": 400, "idShip": id,
                   "returnMessage": "Le numéro de suivi n'est pas au bon format."}),
        );
    }
    let code = p.return_codes.get(id).copied();
    let no_data = |code: u64, message: &str| {
        (
            404,
            json!({"lang": "fr_FR", "scope": "open", "returnCode": code, "idShip": id,
                   "returnMessage": message}),
        )
    };
    let (product, events, is_final) = match (parcel, code) {
        (
            Some(Parcel::Known {
                product,
                events,
                is_final,
            }),
            None | Some(200 | 201 | 208),
        ) => (product, events, *is_final),
        // The spec names 101, 105 and 109 beside 104 without saying what
        // they mean: the message is the fake's own wording.
        (_, Some(code)) if !matches!(code, 104 | 200 | 201 | 208) => {
            return no_data(code, "Aucune information de suivi pour cet envoi.");
        }
        _ => {
            return no_data(
                104,
                "Votre suivi n'est pas encore disponible. Veuillez réessayer ultérieurement.",
            );
        }
    };
    let event: Vec<Value> = events
        .iter()
        .enumerate()
        .map(|(i, e)| {
            // debuss's sample numbers events downwards from 100, newest
            // first; karrio's has no `order` at all.
            json!({"order": 100 - i as i64, "label": e.label, "date": paris_date(e.at), "code": e.code})
        })
        .collect();
    let holder = if product.to_lowercase().contains("chronopost") {
        3
    } else {
        4
    };
    let entry = events.last().map(|e| paris_date(e.at));
    let delivered = is_final.then(|| events.first().map(|e| paris_date(e.at)));
    let delivered = delivered.flatten();
    let reached = if is_final {
        5
    } else {
        events
            .iter()
            .map(|e| timeline_step(&e.code))
            .max()
            .unwrap_or(0)
    };
    let labels = [
        "Votre colis est entre nos mains.",
        "Il est en chemin.",
        "Votre colis est arrivé sur son site de livraison.",
        "Nous préparons votre colis pour sa livraison.",
        "Votre colis a été livré",
    ];
    let timeline: Vec<Value> = labels
        .iter()
        .enumerate()
        .map(|(i, label)| {
            let done = i < reached;
            let mut step = json!({
                "shortLabel": if done { *label } else { "" },
                "longLabel": "",
                "id": i + 1,
                "country": "",
                "status": done,
                "type": 1,
            });
            let date = match i {
                0 if done => entry.clone(),
                4 if done => delivered.clone(),
                _ => None,
            };
            if let Some(date) = date {
                step["date"] = json!(date);
            }
            step
        })
        .collect();
    let mut shipment = json!({
        "idShip": id,
        "holder": holder,
        "product": product,
        "isFinal": is_final,
        "timeline": timeline,
        "event": event,
        "contextData": {
            "deliveryChoice": {"deliveryChoice": 0},
            "originCountry": "FR",
            "arrivalCountry": "FR",
        },
        "url": format!("https://www.laposte.fr/outils/suivre-vos-envois?code={id}"),
    });
    if let Some(entry) = entry {
        shipment["entryDate"] = json!(entry);
    }
    let estimated = p.estimated.get(id).map(|at| paris_date(*at));
    if let Some(done) = &delivered {
        shipment["deliveryDate"] = json!(done);
    }
    if let Some(estim) = estimated.or(delivered) {
        shipment["estimDate"] = json!(estim);
    }
    (
        200,
        json!({"lang": "fr_FR", "scope": "open", "returnCode": code.unwrap_or(200), "shipment": shipment}),
    )
}

fn unauthorized(shape: UnauthorizedShape) -> Response {
    match shape {
        UnauthorizedShape::Gateway => gateway(401),
        UnauthorizedShape::ReturnCode => (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"returnCode": 401, "returnMessage": "Unauthorized",
                              "lang": "fr_FR", "scope": "open"})),
        )
            .into_response(),
    }
}

async fn idships(
    State(poste): State<Arc<Mutex<Poste>>>,
    Path(ids): Path<String>,
    headers: HeaderMap,
) -> Response {
    let mut p = lock(&poste);
    if let Some(status) = p.gateway_errors.pop_front() {
        return gateway(status);
    }
    let key = headers.get("x-okapi-key").and_then(|v| v.to_str().ok());
    if key != Some(p.api_key.as_str()) {
        p.unauthorized += 1;
        return unauthorized(p.unauthorized_shape);
    }
    if let Some(limit) = p.rate_limit {
        let now = Instant::now();
        if now.duration_since(p.window.0) >= Duration::from_secs(1) {
            p.window = (now, 0);
        }
        if p.window.1 >= limit {
            return gateway(429);
        }
        p.window.1 += 1;
    }
    let ids: Vec<String> = ids.split(',').map(str::to_owned).collect();
    p.requests.push(ids.clone());
    if let Some(answer) = p.next_answers.pop_front() {
        return verbatim(&answer);
    }
    if ids.len() > 10 {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"lang": "fr_FR", "scope": "open", "returnCode": 400,
                              "returnMessage": "Le nombre d'identifiants ne doit pas dépasser 10."})),
        )
            .into_response();
    }
    if let [id] = ids.as_slice() {
        if let Some(answer) = p.verbatim.get(id) {
            return verbatim(answer);
        }
        let (code, env) = envelope(id, &p);
        if code == 404 && p.unknown_without_body {
            return StatusCode::NOT_FOUND.into_response();
        }
        let body = if p.wrap_single_in_array {
            json!([env])
        } else {
            env
        };
        let status = StatusCode::from_u16(code).unwrap_or(StatusCode::OK);
        return (status, axum::Json(body)).into_response();
    }
    let all: Vec<Value> = ids
        .iter()
        .map(|id| match p.verbatim.get(id) {
            Some(answer) => verbatim_envelope(answer),
            None => envelope(id, &p).1,
        })
        .collect();
    (StatusCode::MULTI_STATUS, axum::Json(Value::Array(all))).into_response()
}
