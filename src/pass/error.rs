//! What can go wrong in a pass, typed by what failed: Trello, Magento,
//! La Poste, the state, the clock, or the settings the clients are built
//! from. Each error is reported and the pass goes on with the rest (module
//! doc of [`crate::pass`]); the report keeps them typed until they are
//! shown, so that a corrupt state is recognised as such and each text names
//! its service once.
//!
//! One `Display`: "what the pass was doing: the service's own error; what
//! follows from it". The clients' errors already start with their service
//! ("trello: …", "Magento …", "La Poste …", "state: …"), so nothing here
//! prefixes them again. No `source()`: the text already holds the whole
//! chain, and `{:#}` would print it twice.

use std::fmt;

use chrono::{DateTime, Utc};

use crate::board::trello::TrelloError;
use crate::plan::ApplyFatal;
use crate::secret::Scrubber;
use crate::sources::magento::{MagentoError, OrderDecodeError, ShipmentDecodeError};
use crate::state::StateError;
use crate::tracking::laposte::TrackError;

/// Which service, or the state, an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Trello,
    Magento,
    LaPoste,
    State,
    /// The pass's own instant against the state's (a clock stepped back).
    Clock,
    /// The write-back notes in Freshdesk.
    Freshdesk,
}

/// One failure of a pass (or of building the engine that runs it).
#[derive(Debug)]
pub enum PassError {
    Trello(Failed<TrelloError>),
    Magento(Failed<MagentoError>),
    /// An order Magento sent that could not be used, entirely or in part.
    MagentoOrder(Failed<OrderDecodeError>),
    /// A shipment Magento sent that could not be used.
    MagentoShipment(Failed<ShipmentDecodeError>),
    /// `explain` asked for an order Magento does not have.
    NoSuchOrder(String),
    LaPoste(Failed<TrackError>),
    State(Failed<StateError>),
    /// What stopped the journaled apply (or the settling of the journal):
    /// the board's credentials or the state, as `plan::apply` says.
    Apply(Failed<ApplyFatal>),
    /// This pass's instant is earlier than the last pass that wrote.
    ClockBehind {
        now: DateTime<Utc>,
        last: DateTime<Utc>,
    },
    /// A write-back note (Magento order comment, Freshdesk note or
    /// escalation) that failed or waits, in plain words.
    Writeback {
        service: Service,
        text: String,
    },
    /// A `colisync case` request of the inbox that could not be used (the
    /// file, moved to `rejected/`), or the inbox itself: local files, like
    /// the state.
    Inbox(String),
    /// An error whose text carried a secret, as the scrubber left it: only
    /// its service and its cleaned text are kept.
    Scrubbed {
        service: Service,
        text: String,
    },
}

/// A service's error with what the pass was doing (`doing`, may be empty)
/// and what follows from it (`then`, may be empty, starting with "; " or
/// the like).
#[derive(Debug)]
pub struct Failed<E> {
    pub(crate) doing: String,
    /// Boxed: the clients' errors are large, and a pass error travels.
    pub(crate) error: Box<E>,
    pub(crate) then: String,
}

impl<E: fmt::Display> fmt::Display for Failed<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.doing.is_empty() {
            write!(f, "{}: ", self.doing)?;
        }
        write!(f, "{}{}", self.error, self.then)
    }
}

fn failed<E>(doing: impl Into<String>, error: E) -> Failed<E> {
    Failed {
        doing: doing.into(),
        error: Box::new(error),
        then: String::new(),
    }
}

impl PassError {
    pub fn trello(doing: impl Into<String>, e: TrelloError) -> Self {
        PassError::Trello(failed(doing, e))
    }

    pub(crate) fn magento(doing: impl Into<String>, e: MagentoError) -> Self {
        PassError::Magento(failed(doing, e))
    }

    pub(crate) fn laposte(doing: impl Into<String>, e: TrackError) -> Self {
        PassError::LaPoste(failed(doing, e))
    }

    pub(crate) fn state(doing: impl Into<String>, e: StateError) -> Self {
        PassError::State(failed(doing, e))
    }

    pub(crate) fn apply(doing: impl Into<String>, e: ApplyFatal) -> Self {
        PassError::Apply(failed(doing, e))
    }

    /// Magento's order that could not be decoded, as the pull reports it
    /// ("magento: order …").
    pub(crate) fn order(e: OrderDecodeError, then: impl Into<String>) -> Self {
        PassError::MagentoOrder(Failed {
            doing: "magento".into(),
            error: Box::new(e),
            then: then.into(),
        })
    }

    pub(crate) fn shipment(e: ShipmentDecodeError) -> Self {
        PassError::MagentoShipment(failed("magento", e))
    }

    /// The same error, with what follows from it.
    pub(crate) fn then(mut self, then: impl Into<String>) -> Self {
        let then = then.into();
        match &mut self {
            PassError::Trello(f) => f.then = then,
            PassError::Magento(f) => f.then = then,
            PassError::MagentoOrder(f) => f.then = then,
            PassError::MagentoShipment(f) => f.then = then,
            PassError::LaPoste(f) => f.then = then,
            PassError::State(f) => f.then = then,
            PassError::Apply(f) => f.then = then,
            PassError::NoSuchOrder(_)
            | PassError::Inbox(_)
            | PassError::ClockBehind { .. }
            | PassError::Writeback { .. }
            | PassError::Scrubbed { .. } => {}
        }
        self
    }

    pub fn service(&self) -> Service {
        match self {
            PassError::Trello(_) => Service::Trello,
            PassError::Magento(_)
            | PassError::MagentoOrder(_)
            | PassError::MagentoShipment(_)
            | PassError::NoSuchOrder(_) => Service::Magento,
            PassError::LaPoste(_) => Service::LaPoste,
            PassError::State(_) | PassError::Inbox(_) => Service::State,
            PassError::Apply(f) => match *f.error {
                ApplyFatal::Board(_) => Service::Trello,
                ApplyFatal::State { .. } => Service::State,
            },
            PassError::ClockBehind { .. } => Service::Clock,
            PassError::Writeback { service, .. } | PassError::Scrubbed { service, .. } => *service,
        }
    }

    /// The state's own error, when the state is what failed.
    pub fn state_error(&self) -> Option<&StateError> {
        match self {
            PassError::State(f) => Some(&*f.error),
            PassError::Apply(f) => f.error.state_error(),
            _ => None,
        }
    }

    /// The last line of defence against a secret in a report (see
    /// `daemon::scrub_report`): an error whose text carried one keeps only
    /// its service and the cleaned text.
    pub(crate) fn scrub(&mut self, scrubber: &Scrubber) {
        if scrubber.is_empty() {
            return;
        }
        let text = self.to_string();
        if let std::borrow::Cow::Owned(clean) = scrubber.scrub(&text) {
            *self = PassError::Scrubbed {
                service: self.service(),
                text: clean,
            };
        }
    }
}

impl fmt::Display for PassError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PassError::Trello(e) => e.fmt(f),
            PassError::Magento(e) => e.fmt(f),
            PassError::MagentoOrder(e) => e.fmt(f),
            PassError::MagentoShipment(e) => e.fmt(f),
            PassError::NoSuchOrder(n) => write!(f, "order {n} does not exist in Magento"),
            PassError::LaPoste(e) => e.fmt(f),
            PassError::State(e) => e.fmt(f),
            PassError::Apply(e) => e.fmt(f),
            PassError::ClockBehind { now, last } => write!(
                f,
                "this pass's instant {} is earlier than the last pass that wrote to the board ({}): \
                 the clock stepped back, or --now is mistaken; nothing is written until the \
                 clock passes that instant (or `colisync once --reset-clock` after a mistaken --now)",
                now.to_rfc3339(),
                last.to_rfc3339()
            ),
            PassError::Writeback { text, .. } | PassError::Scrubbed { text, .. } => {
                f.write_str(text)
            }
            PassError::Inbox(text) => f.write_str(text),
        }
    }
}

impl std::error::Error for PassError {}

impl From<TrelloError> for PassError {
    fn from(e: TrelloError) -> Self {
        PassError::trello("", e)
    }
}

impl From<MagentoError> for PassError {
    fn from(e: MagentoError) -> Self {
        PassError::magento("", e)
    }
}

impl From<TrackError> for PassError {
    fn from(e: TrackError) -> Self {
        PassError::laposte("", e)
    }
}

impl From<StateError> for PassError {
    fn from(e: StateError) -> Self {
        PassError::state("", e)
    }
}
