//! The live console: a web page that trainees and instructors watch while the plant runs
//! live (`otrange live SCENARIO --console [ADDR:PORT]`), served from the binary (the page is
//! embedded: no CDN, no network).
//!
//! * `GET /`: the page ([`view`] has what it shows: process, network, exercise, alerts;
//!   [`diagram`] draws the process). `/#process`, `/#network`, `/#exercise`, `/#blue`
//!   show one view alone.
//! * `GET /api/view`: the current view as JSON.
//! * `GET /api/stream`: server-sent events, one `view` event per snapshot, at most
//!   [`PUBLISH_EVERY`] apart whatever the number of viewers (each gets the latest).
//! * `GET /api/techniques`: the techniques an instructor can run ad hoc.
//! * `POST /api/control`: `{"token": "...", "action": ...}`: the instructor's controls
//!   ([`Command`]). The token is printed at start; viewers without it can watch. A bad
//!   token, a malformed body or an unknown action gets an error and changes nothing.
//!
//! The console has its own thread and runtime, so it outlives the plant when the
//! instructor restarts the exercise. It binds loopback unless `--allow-non-loopback`.

pub mod diagram;
mod geometry;
pub mod network;
pub mod view;
#[cfg(test)]
mod xml_check;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use std::convert::Infallible;
use std::hash::{BuildHasher, Hasher};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;
use tokio::sync::{oneshot, watch};

/// Snapshots are published at most this often: a few per second is what a person reads.
pub const PUBLISH_EVERY: Duration = Duration::from_millis(250);
/// The fastest speed the console accepts.
const MAX_SPEED: f64 = 100_000.0;
/// How long a control waits for the simulation thread to act on it.
const CONTROL_TIMEOUT: Duration = Duration::from_secs(10);

/// The page, embedded at build time.
const PAGE: &str = include_str!("page.html");

/// One of the instructor's controls, checked for form by the console and carried out by
/// the simulation thread, which owns the plant.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Stop the simulated clock.
    Pause,
    /// Start it again.
    Resume,
    /// Simulated seconds per wall-clock second.
    Speed(f64),
    /// Let the playbook run (its `at` times count from its first start).
    PlaybookStart,
    /// Start no new playbook step.
    PlaybookHold,
    /// Start the next playbook step now, then hold.
    PlaybookStep,
    /// Run one technique from the catalogue, at once, as an ad-hoc step.
    Technique {
        /// ATT&CK technique id.
        technique: String,
        /// The host it acts on.
        target: Option<String>,
        /// The host the red team acts from (default: where the playbook's first actor is).
        from: Option<String>,
        /// The step's parameters, as a playbook step's `params`.
        params: toml::Table,
    },
    /// End this run (its outputs are written) and start the exercise again.
    Restart {
        /// The new run's seed; None keeps the seed.
        seed: Option<u64>,
    },
}

/// What the simulation thread answers a command: what was done, in words, or why not.
pub type Outcome = Result<String, Refusal>;

/// A command the simulation thread could not carry out.
#[derive(Debug, Clone)]
pub struct Refusal {
    /// 400 when the request does not fit the exercise, 409 when the exercise's state
    /// forbids it now.
    pub status: u16,
    /// Why, for the instructor.
    pub message: String,
}

/// A command and where its outcome goes.
pub type Request = (Command, oneshot::Sender<Outcome>);

/// A console serving one live exercise (all its runs, restarts included).
pub struct Console {
    /// Where it listens.
    pub addr: SocketAddr,
    /// What the instructor's controls need.
    pub token: String,
    publish: watch::Sender<Arc<String>>,
    /// The instructor's commands, for the simulation thread to carry out and answer.
    pub commands: mpsc::Receiver<Request>,
    stop: Option<oneshot::Sender<()>>,
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

/// What the page is drawn from, fixed for the exercise.
pub struct Static {
    /// The process diagram (SVG), drawn from the plant file.
    pub diagram: String,
    /// The network diagram (SVG), drawn from the topology.
    pub network: String,
    /// `[{"id": "T0855", "name": ..., "tactic": ...}]`: the techniques with an executor.
    pub techniques: serde_json::Value,
}

#[derive(Clone)]
struct Shared {
    token: Arc<str>,
    view: watch::Receiver<Arc<String>>,
    page: Arc<str>,
    techniques: Arc<str>,
    commands: mpsc::Sender<Request>,
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
    /// Binds `addr` and serves the console from a thread of its own.
    pub fn start(addr: SocketAddr, allow_non_loopback: bool, fixed: Static) -> Result<Console, ConsoleError> {
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
        let (commands_tx, commands) = mpsc::channel();
        let shared = Shared {
            token: token.as_str().into(),
            view,
            page: PAGE
                .replacen("<!--DIAGRAM-->", &fixed.diagram, 1)
                .replacen("<!--NETWORK-->", &fixed.network, 1)
                .into(),
            techniques: fixed.techniques.to_string().into(),
            commands: commands_tx,
        };
        let app = Router::new()
            .route("/", get(page))
            .route("/api/view", get(current))
            .route("/api/stream", get(stream))
            .route("/api/techniques", get(techniques))
            .route("/api/control", post(control))
            .with_state(shared);
        // One thread is plenty for a few dozen viewers (benches/console/run.sh).
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| ConsoleError::Bind(addr, e))?;
        let listener = {
            let _guard = rt.enter();
            tokio::net::TcpListener::from_std(listener).map_err(|e| ConsoleError::Bind(addr, e))?
        };
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("otrange-console".into())
            .spawn(move || {
                rt.block_on(async move {
                    let _ = axum::serve(listener, app)
                        .with_graceful_shutdown(async move {
                            let _ = stop_rx.await;
                        })
                        .await;
                });
            })
            .map_err(|e| ConsoleError::Bind(addr, e))?;
        Ok(Console {
            addr: bound,
            token,
            publish,
            commands,
            stop: Some(stop_tx),
        })
    }

    /// Publishes a new view to every viewer.
    pub fn publish(&self, view: &view::View) {
        if let Ok(json) = serde_json::to_string(view) {
            let _ = self.publish.send(Arc::new(json));
        }
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn page(State(s): State<Shared>) -> Response {
    // The current view inline: the page shows the plant at once, before its first update.
    // `<` is escaped so that no text in the view can close the script.
    let view = s.view.borrow().replace('<', "\\u003c");
    let html = s.page.replacen("/*INITIAL*/null", &view, 1);
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

async fn techniques(State(s): State<Shared>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        s.techniques.to_string(),
    )
        .into_response()
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

fn refuse(status: StatusCode, message: impl Into<String>) -> Response {
    reply(status, serde_json::json!({ "error": message.into() }))
}

/// One instructor's action, as posted.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Control {
    token: String,
    action: String,
    #[serde(default)]
    speed: Option<f64>,
    #[serde(default)]
    seed: Option<u64>,
    #[serde(default)]
    technique: Option<String>,
    #[serde(default)]
    target: Option<String>,
    #[serde(default)]
    from: Option<String>,
    /// The step's parameters in TOML, as a playbook step's `params` table holds them.
    #[serde(default)]
    params: Option<String>,
}

/// The fields each action accepts beyond `token` and `action`.
const ACTIONS: &[(&str, &[&str])] = &[
    ("pause", &[]),
    ("resume", &[]),
    ("speed", &["speed"]),
    ("start", &[]),
    ("hold", &[]),
    ("step", &[]),
    ("technique", &["technique", "target", "from", "params"]),
    ("restart", &["seed"]),
];

/// Checks a posted control's form: the action is known and carries only its own fields.
fn command_of(c: Control) -> Result<Command, String> {
    let Some((_, allowed)) = ACTIONS.iter().find(|(a, _)| *a == c.action) else {
        let known: Vec<&str> = ACTIONS.iter().map(|(a, _)| *a).collect();
        return Err(format!(
            "unknown action {:?}: expected one of {}",
            c.action,
            known.join(", ")
        ));
    };
    let given = [
        ("speed", c.speed.is_some()),
        ("seed", c.seed.is_some()),
        ("technique", c.technique.is_some()),
        ("target", c.target.is_some()),
        ("from", c.from.is_some()),
        ("params", c.params.is_some()),
    ];
    if let Some((field, _)) = given.iter().find(|(f, set)| *set && !allowed.contains(f)) {
        return Err(format!("{} takes no {field}", c.action));
    }
    Ok(match c.action.as_str() {
        "pause" => Command::Pause,
        "resume" => Command::Resume,
        "speed" => match c.speed {
            Some(x) if x.is_finite() && x > 0.0 && x <= MAX_SPEED => Command::Speed(x),
            _ => return Err(format!("speed must be a number above 0 and at most {MAX_SPEED}")),
        },
        "start" => Command::PlaybookStart,
        "hold" => Command::PlaybookHold,
        "step" => Command::PlaybookStep,
        "restart" => Command::Restart { seed: c.seed },
        _ => {
            let technique = c
                .technique
                .ok_or("technique needs a technique id, such as T0855")?;
            let params = match c.params.as_deref().map(str::trim) {
                None | Some("") => toml::Table::new(),
                // As a table's lines, or on one line as in a playbook's `params = { ... }`.
                Some(text) => match text.parse::<toml::Table>() {
                    Ok(t) => t,
                    Err(e) => format!("p = {{ {text} }}")
                        .parse::<toml::Table>()
                        .ok()
                        .and_then(|mut t| t.remove("p"))
                        .and_then(|p| p.as_table().cloned())
                        .ok_or_else(|| format!("params are not TOML (as a playbook step's params): {e}"))?,
                },
            };
            let blank = |s: Option<String>| s.filter(|s| !s.trim().is_empty());
            Command::Technique {
                technique,
                target: blank(c.target),
                from: blank(c.from),
                params,
            }
        }
    })
}

async fn control(State(s): State<Shared>, body: Bytes) -> Response {
    let c: Control = match serde_json::from_slice(&body) {
        Ok(c) => c,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, format!("not a control: {e}")),
    };
    if c.token != *s.token {
        return refuse(
            StatusCode::FORBIDDEN,
            "bad token: controls need the token otrange live printed at start",
        );
    }
    let command = match command_of(c) {
        Ok(c) => c,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, e),
    };
    let (tx, rx) = oneshot::channel();
    if s.commands.send((command, tx)).is_err() {
        return refuse(StatusCode::SERVICE_UNAVAILABLE, "the exercise has stopped");
    }
    match tokio::time::timeout(CONTROL_TIMEOUT, rx).await {
        Ok(Ok(Ok(done))) => reply(StatusCode::OK, serde_json::json!({ "ok": done })),
        Ok(Ok(Err(r))) => refuse(
            StatusCode::from_u16(r.status).unwrap_or(StatusCode::BAD_REQUEST),
            r.message,
        ),
        _ => refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "the simulation did not answer: it may be stopping",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn control(json: &str) -> Result<Command, String> {
        command_of(serde_json::from_str(json).expect("a control"))
    }

    #[test]
    fn a_control_carries_only_its_own_fields() {
        assert_eq!(control(r#"{"token":"t","action":"pause"}"#), Ok(Command::Pause));
        assert_eq!(
            control(r#"{"token":"t","action":"pause","speed":3}"#),
            Err("pause takes no speed".into())
        );
        assert_eq!(
            control(r#"{"token":"t","action":"restart","seed":7}"#),
            Ok(Command::Restart { seed: Some(7) })
        );
        assert!(control(r#"{"token":"t","action":"speed","speed":0}"#).is_err());
        assert!(
            control(r#"{"token":"t","action":"jump"}"#)
                .unwrap_err()
                .contains("expected one of pause, resume, speed, start, hold, step, technique, restart")
        );
    }

    #[test]
    fn an_ad_hoc_technique_takes_params_in_playbook_syntax() {
        let c = control(
            r#"{"token":"t","action":"technique","technique":"T0855","target":"plc-dosing","from":"","params":"register = \"hr:2\", value = 500"}"#,
        )
        .unwrap();
        let Command::Technique {
            technique,
            target,
            from,
            params,
        } = c
        else {
            panic!("not a technique: {c:?}")
        };
        assert_eq!(
            (technique.as_str(), target.as_deref(), from),
            ("T0855", Some("plc-dosing"), None)
        );
        assert_eq!(params["value"].as_integer(), Some(500));
        let bad = control(r#"{"token":"t","action":"technique","technique":"T0855","params":"value ="}"#);
        assert!(bad.unwrap_err().starts_with("params are not TOML"));
    }
}
