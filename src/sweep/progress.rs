//! The sweep's progress: a bar with cells done, failures and the time left on a terminal,
//! one plain line per cell otherwise (CI logs, batch jobs).

use super::cell::CellResult;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicUsize, Ordering};

pub(super) struct Progress {
    bar: Option<ProgressBar>,
    total: usize,
    done: AtomicUsize,
    failed: AtomicUsize,
}

impl Progress {
    pub(super) fn new(total: usize) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let b = ProgressBar::new(total as u64);
            b.set_style(
                ProgressStyle::with_template(
                    "{bar:40} {pos}/{len} cells, {msg} [{elapsed} elapsed, ETA {eta}]",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            b.set_message("0 failed");
            b
        });
        Progress {
            bar,
            total,
            done: AtomicUsize::new(0),
            failed: AtomicUsize::new(0),
        }
    }

    /// A cell finished (or was kept from an earlier run, `kept`).
    pub(super) fn done(&self, r: &CellResult, kept: bool) {
        let n = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        let failed = self
            .failed
            .fetch_add(usize::from(r.status != "ok"), Ordering::Relaxed)
            + usize::from(r.status != "ok");
        let how = match (&r.error, kept) {
            (Some(e), _) => format!("FAILED: {e}"),
            (None, true) => "kept (inputs unchanged)".into(),
            (None, false) => match &r.scores {
                Some(s) if !s.passed => "ran, expectations FAILED".into(),
                _ => "ran".into(),
            },
        };
        match &self.bar {
            Some(b) => {
                b.set_message(format!("{failed} failed"));
                b.inc(1);
                if r.status != "ok" {
                    b.println(format!("{}: {how}", r.key));
                }
            }
            None => eprintln!("[{n}/{}] {}: {how}", self.total, r.key),
        }
    }

    pub(super) fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish();
        }
    }
}
