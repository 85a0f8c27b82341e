//! Gossip streams a peer broke.
//!
//! libp2p-gossipsub reads each peer's messages from one long-lived stream.
//! When a frame on it is over the size limit, or does not decode, it stops
//! reading that stream and says so only in a debug log line: the connection
//! stays up, the peer goes on writing into a stream nobody reads, and
//! nothing dials again since the peer still counts as connected. Every
//! entry the peer gossips after that is lost without a word.
//!
//! [`layer`] is a layer of the node's tracing subscriber that picks that
//! line up, with the connection it came from (the span libp2p-swarm runs
//! every established connection in names its id and peer), and hands it to
//! the event loop, which closes the connection, counts it and logs it. The
//! peer is then dialled again (every 5 s for roster nodes with addresses,
//! and by the peer itself), and its new connection starts with fresh streams.
//!
//! The names read here are libp2p's: the handler's log target and message,
//! and the connection span with its `id` and `peer` fields (libp2p-gossipsub
//! 0.50, libp2p-swarm 0.48). The end-to-end test
//! `an_oversized_gossip_frame_closes_the_connection_and_the_peer_is_heard_again`
//! fails if an upgrade renames them.

use libp2p::PeerId;
use libp2p::swarm::ConnectionId;
use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::mpsc;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{FilterFn, LevelFilter};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

/// Where libp2p-gossipsub logs from its connection handler.
const HANDLER_TARGET: &str = "libp2p_gossipsub::handler";
/// What it logs when it stops reading a peer's stream, before the error.
const READ_FAILED: &str = "Failed to read from inbound stream: ";
/// The span libp2p-swarm runs each established connection in.
const CONNECTION_SPAN: &str = "new_established_connection";
/// What the frame limit's error says (libp2p-gossipsub's codec).
const OVER_LIMIT: &str = "exceeds maximum";

/// A peer's gossip stream that this node stopped reading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamFailure {
    /// The peer whose stream it is.
    pub peer: PeerId,
    /// The connection to close: only the event loop holding it acts.
    pub connection: ConnectionId,
    /// gossipsub's error, as it logged it.
    pub error: String,
}

impl StreamFailure {
    /// A label for the metrics: `oversized_frame` for a frame over the size
    /// limit, `unreadable_frame` for anything else (a frame that does not
    /// decode, too many messages or control messages in one frame).
    pub fn reason(&self) -> &'static str {
        if self.error.contains(OVER_LIMIT) { "oversized_frame" } else { "unreadable_frame" }
    }
}

/// The event loops of this process. Connection ids are unique in a process,
/// so each failure goes to every loop and only the one that holds the
/// connection acts on it.
static LOOPS: Mutex<Vec<mpsc::UnboundedSender<StreamFailure>>> = Mutex::new(Vec::new());
static INSTALLED: AtomicBool = AtomicBool::new(false);

/// A receiver of every stream failure seen from now on, for one event loop.
pub(super) fn subscribe() -> mpsc::UnboundedReceiver<StreamFailure> {
    let (tx, rx) = mpsc::unbounded_channel();
    let mut loops = LOOPS.lock().unwrap_or_else(|e| e.into_inner());
    loops.retain(|l| !l.is_closed());
    loops.push(tx);
    rx
}

/// Whether [`layer`] was made, for the process's tracing subscriber: without
/// it, broken gossip streams are not noticed.
pub fn installed() -> bool {
    INSTALLED.load(Ordering::Relaxed)
}

fn report(failure: StreamFailure) {
    let loops = LOOPS.lock().unwrap_or_else(|e| e.into_inner());
    for l in loops.iter() {
        let _ = l.send(failure.clone());
    }
}

/// The layer to add to the process's tracing subscriber. It sees only the
/// connection spans and the gossipsub handler's debug lines, whatever the
/// log level of the rest.
pub fn layer<S>() -> impl Layer<S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    INSTALLED.store(true, Ordering::Relaxed);
    Watch.with_filter(FilterFn::new(wanted).with_max_level_hint(LevelFilter::DEBUG))
}

fn wanted(m: &Metadata<'_>) -> bool {
    (m.is_span() && m.name() == CONNECTION_SPAN && m.target().starts_with("libp2p_swarm"))
        || (m.is_event() && m.target() == HANDLER_TARGET && *m.level() <= Level::DEBUG)
}

struct Watch;

/// The connection a span runs, as its fields name it.
#[derive(Default)]
struct Connection {
    peer: Option<PeerId>,
    id: Option<usize>,
}

impl Visit for Connection {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let text = format!("{value:?}");
        match field.name() {
            "peer" => self.peer = text.parse().ok(),
            "id" => self.id = text.parse().ok(),
            _ => {}
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name() == "id" {
            self.id = usize::try_from(value).ok();
        }
    }
}

#[derive(Default)]
struct Message(Option<String>);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            self.0 = Some(format!("{value:?}"));
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0 = Some(value.to_string());
        }
    }
}

impl<S> Layer<S> for Watch
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if attrs.metadata().name() != CONNECTION_SPAN {
            return;
        }
        let mut c = Connection::default();
        attrs.record(&mut c);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(c);
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        if event.metadata().target() != HANDLER_TARGET {
            return;
        }
        let mut m = Message::default();
        event.record(&mut m);
        let Some(error) = m.0.as_deref().and_then(|t| t.strip_prefix(READ_FAILED)) else { return };
        let Some(scope) = ctx.event_scope(event) else { return };
        for span in scope {
            let ext = span.extensions();
            if let Some(Connection { peer: Some(peer), id: Some(id) }) = ext.get::<Connection>() {
                report(StreamFailure {
                    peer: *peer,
                    connection: ConnectionId::new_unchecked(*id),
                    error: error.to_string(),
                });
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::layer::SubscriberExt;

    /// The layer reads libp2p's span and log line as libp2p writes them.
    #[test]
    fn a_failed_read_in_a_connection_span_names_the_connection() {
        let mut rx = subscribe();
        let subscriber = tracing_subscriber::registry().with(layer());
        let peer = PeerId::random();
        let id = ConnectionId::new_unchecked(4242);
        tracing::subscriber::with_default(subscriber, || {
            // As libp2p-swarm 0.48 makes it (connection/pool.rs) ...
            let span = tracing::debug_span!(
                target: "libp2p_swarm::connection::pool",
                parent: tracing::Span::none(),
                "new_established_connection",
                remote_addr = %"/ip4/127.0.0.1/tcp/1",
                %id,
                peer = %peer
            );
            let _in = span.enter();
            // ... and libp2p-gossipsub 0.50 logs in it (handler.rs).
            let error = "Failed to encode/decode message: message with 102400b exceeds maximum of 74752b";
            tracing::debug!(target: "libp2p_gossipsub::handler", "Failed to read from inbound stream: {error}");
            tracing::debug!(target: "libp2p_gossipsub::handler", "Inbound stream closed by remote");
            tracing::debug!(target: "somewhere_else", "Failed to read from inbound stream: not gossipsub");
        });
        let f = rx.try_recv().expect("one failure reported");
        assert_eq!((f.peer, f.connection, f.reason()), (peer, id, "oversized_frame"));
        assert!(f.error.ends_with("exceeds maximum of 74752b"), "{}", f.error);
        assert!(rx.try_recv().is_err(), "only the failed read is a failure");
        assert!(installed());
    }
}
