//! In-process fake of La Poste's Suivi v2 API: `GET
//! /suivi/v2/idships/{ids}` over parcels held in memory.
//!
//! Used by the contract tests of [`crate::tracking::laposte`] and by
//! `colisync demo`. It answers like the real service (API-NOTES.md): the
//! `X-Okapi-Key` checked (gateway 401 `{code, message}`), at most ten ids of
//! 11-15 alphanumerics, one id → 200 (bare envelope, or a one-element array
//! if asked) / 404 returnCode 104 / 400 returnCode 400, several ids → 207
//! with an envelope per id, events newest first with ISO dates in Paris
//! time. An optional rate limit answers the gateway's 429.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono_tz::Europe::Paris;
use serde_json::{Value, json};
use url::Url;

use super::{FakeServer, Faults, RequestLog, lock};

use crate::domain::TrackingEvent;

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

fn valid(id: &str) -> bool {
    (11..=15).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

fn envelope(id: &str, parcel: Option<&Parcel>) -> (u16, Value) {
    if !valid(id) || matches!(parcel, Some(Parcel::Rejected)) {
        return (
            400,
            json!({"lang": "fr_FR", "scope": "open", "returnCode": 400, "idShip": id,
                   "returnMessage": "Le numéro de suivi n'est pas au bon format."}),
        );
    }
    match parcel {
        Some(Parcel::Known {
            product,
            events,
            is_final,
        }) => {
            let date = |e: &TrackingEvent| {
                e.at.with_timezone(&Paris)
                    .format("%Y-%m-%dT%H:%M:%S%:z")
                    .to_string()
            };
            let event: Vec<Value> = events
                .iter()
                .map(|e| json!({"code": e.code, "label": e.label, "date": date(e)}))
                .collect();
            let holder = if product.to_lowercase().contains("chronopost") {
                3
            } else {
                4
            };
            let mut shipment = json!({
                "idShip": id,
                "holder": holder,
                "product": product,
                "isFinal": is_final,
                "event": event,
                "timeline": [
                    {"id": 1, "shortLabel": "Pris en charge", "status": !events.is_empty()},
                    {"id": 2, "shortLabel": "En cours d'acheminement", "status": false},
                    {"id": 3, "shortLabel": "Arrivé", "status": false},
                    {"id": 4, "shortLabel": "En cours de livraison", "status": false},
                    {"id": 5, "shortLabel": "Livré", "status": *is_final},
                ],
                "contextData": {"originCountry": "FR", "arrivalCountry": "FR"},
                "url": format!("https://www.laposte.fr/outils/suivre-vos-envois?code={id}"),
            });
            if let Some(first) = events.last() {
                shipment["entryDate"] = json!(date(first));
            }
            if let Some(done) = events.iter().find(|e| e.code == "DI1") {
                shipment["deliveryDate"] = json!(date(done));
            }
            (
                200,
                json!({"lang": "fr_FR", "scope": "open", "returnCode": 200, "shipment": shipment}),
            )
        }
        Some(Parcel::NotYetAvailable | Parcel::Rejected) | None => (
            404,
            json!({"lang": "fr_FR", "scope": "open", "returnCode": 104, "idShip": id,
                   "returnMessage": "Votre suivi n'est pas encore disponible. Veuillez réessayer ultérieurement."}),
        ),
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
        return gateway(401);
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
    if ids.len() > 10 {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"lang": "fr_FR", "scope": "open", "returnCode": 400,
                              "returnMessage": "Le nombre d'identifiants ne doit pas dépasser 10."})),
        )
            .into_response();
    }
    if let [id] = ids.as_slice() {
        let (code, env) = envelope(id, p.parcels.get(id));
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
        .map(|id| envelope(id, p.parcels.get(id)).1)
        .collect();
    (StatusCode::MULTI_STATUS, axum::Json(Value::Array(all))).into_response()
}
