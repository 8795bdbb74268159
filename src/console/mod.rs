//! The live console: a web page that trainees and instructors watch while the plant runs
//! live (`otrange live SCENARIO --console [ADDR:PORT]`), served from the binary (the page is
//! embedded: no CDN, no network).
//!
//! * `GET /`: the page ([`view`] has what it shows: process, network, exercise, alerts).
//! * `GET /api/view`: the current view as JSON.
//! * `GET /api/stream`: server-sent events, one `view` event per snapshot, at most
//!   [`PUBLISH_EVERY`] apart whatever the number of viewers (each gets the latest).
//! * `POST /api/control`: `{"token": "...", "action": "pause" | "resume" | "speed",
//!   "speed": 20}`: the instructor's controls. The token is printed at start; viewers
//!   without it can watch. A bad token, a malformed body or an unknown action gets an error
//!   and changes nothing.
//!
//! The console binds loopback unless `--allow-non-loopback`.

pub mod view;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use otrange_sim::live::pacing::LiveClock;
use std::convert::Infallible;
use std::hash::{BuildHasher, Hasher};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;
use tokio::sync::watch;

/// Snapshots are published at most this often: a few per second is what a person reads.
pub const PUBLISH_EVERY: Duration = Duration::from_millis(250);
/// The fastest speed the console accepts.
const MAX_SPEED: f64 = 100_000.0;

/// The page, embedded at build time.
const PAGE: &str = include_str!("page.html");

/// A console serving one live run.
pub struct Console {
    /// Where it listens.
    pub addr: SocketAddr,
    /// What the instructor's controls need.
    pub token: String,
    publish: watch::Sender<Arc<String>>,
    /// The instructor's actions, for the event log (the clock has already obeyed them).
    pub actions: mpsc::Receiver<String>,
}

/// Why the console could not start.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// A non-loopback address without `--allow-non-loopback`.
    #[error(
        "the console would listen on {0}, which is not a loopback address: it binds 127.0.0.0/8 \
         only unless run with --allow-non-loopback"
    )]
    NotLoopback(SocketAddr),
    /// The address could not be bound.
    #[error("cannot listen for the console on {0}: {1}")]
    Bind(SocketAddr, std::io::Error),
}

#[derive(Clone)]
struct Shared {
    token: Arc<str>,
    view: watch::Receiver<Arc<String>>,
    clock: LiveClock,
    actions: mpsc::Sender<String>,
}

/// A token nobody can guess: 128 bits from the standard library's randomly keyed hasher
/// (its keys come from the operating system's random source).
fn new_token() -> String {
    let mut out = String::new();
    for i in 0..2u8 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u8(i);
        out.push_str(&format!("{:016x}", h.finish()));
    }
    out
}

impl Console {
    /// Binds `addr` and serves the console on `rt`; the instructor's pause and speed act on
    /// `clock`.
    pub fn start(
        rt: &tokio::runtime::Handle,
        addr: SocketAddr,
        allow_non_loopback: bool,
        clock: LiveClock,
    ) -> Result<Console, ConsoleError> {
        if !addr.ip().is_loopback() && !allow_non_loopback {
            return Err(ConsoleError::NotLoopback(addr));
        }
        let listener = std::net::TcpListener::bind(addr).map_err(|e| ConsoleError::Bind(addr, e))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| ConsoleError::Bind(addr, e))?;
        let bound = listener.local_addr().map_err(|e| ConsoleError::Bind(addr, e))?;
        let token = new_token();
        let (publish, view) = watch::channel(Arc::new(String::from("{}")));
        let (actions_tx, actions) = mpsc::channel();
        let shared = Shared {
            token: token.as_str().into(),
            view,
            clock,
            actions: actions_tx,
        };
        let app = Router::new()
            .route("/", get(page))
            .route("/api/view", get(current))
            .route("/api/stream", get(stream))
            .route("/api/control", post(control))
            .with_state(shared);
        let _guard = rt.enter();
        let listener =
            tokio::net::TcpListener::from_std(listener).map_err(|e| ConsoleError::Bind(addr, e))?;
        rt.spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Console {
            addr: bound,
            token,
            publish,
            actions,
        })
    }

    /// Publishes a new view to every viewer.
    pub fn publish(&self, view: &view::View) {
        if let Ok(json) = serde_json::to_string(view) {
            let _ = self.publish.send(Arc::new(json));
        }
    }
}

async fn page(State(s): State<Shared>) -> Response {
    // The current view inline: the page shows the plant at once, before its first update.
    // `<` is escaped so that no text in the view can close the script.
    let view = s.view.borrow().replace('<', "\\u003c");
    let html = PAGE.replacen("/*INITIAL*/null", &view, 1);
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        html,
    )
        .into_response()
}

async fn current(State(s): State<Shared>) -> Response {
    let json = s.view.borrow().clone();
    ([(header::CONTENT_TYPE, "application/json")], json.to_string()).into_response()
}

async fn stream(State(s): State<Shared>) -> Sse<impl futures_util::Stream<Item = Result<Event, Infallible>>> {
    let updates = futures_util::stream::unfold((s.view, true), |(mut rx, first)| async move {
        if !first {
            rx.changed().await.ok()?;
        }
        let data = rx.borrow_and_update().clone();
        Some((
            Ok(Event::default().event("view").data(data.as_str())),
            (rx, false),
        ))
    });
    Sse::new(updates).keep_alive(KeepAlive::default())
}

fn reply(status: StatusCode, body: serde_json::Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// One instructor's action.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Control {
    token: String,
    action: String,
    #[serde(default)]
    speed: Option<f64>,
}

async fn control(State(s): State<Shared>, body: Bytes) -> Response {
    let c: Control = match serde_json::from_slice(&body) {
        Ok(c) => c,
        Err(e) => {
            return reply(
                StatusCode::BAD_REQUEST,
                serde_json::json!({ "error": format!("not a control: {e}") }),
            );
        }
    };
    if c.token != *s.token {
        return reply(
            StatusCode::FORBIDDEN,
            serde_json::json!({ "error": "bad token: controls need the token otrange live printed at start" }),
        );
    }
    let done = match (c.action.as_str(), c.speed) {
        ("pause", None) => {
            s.clock.pause();
            "pause".to_string()
        }
        ("resume", None) => {
            s.clock.resume();
            "resume".to_string()
        }
        ("speed", Some(x)) if x.is_finite() && x > 0.0 && x <= MAX_SPEED => {
            s.clock.set_speed(x);
            format!("speed {x}")
        }
        ("speed", _) => {
            return reply(
                StatusCode::BAD_REQUEST,
                serde_json::json!({ "error": format!("speed must be a number above 0 and at most {MAX_SPEED}") }),
            );
        }
        (a @ ("pause" | "resume"), Some(_)) => {
            return reply(
                StatusCode::BAD_REQUEST,
                serde_json::json!({ "error": format!("{a} takes no speed") }),
            );
        }
        (other, _) => {
            return reply(
                StatusCode::BAD_REQUEST,
                serde_json::json!({ "error": format!("unknown action {other:?}: pause, resume or speed") }),
            );
        }
    };
    let _ = s.actions.send(done.clone());
    reply(StatusCode::OK, serde_json::json!({ "ok": done }))
}
