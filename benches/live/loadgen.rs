//! `otrange-loadgen`: the Modbus TCP load generator of the live-mode benchmark (issue 3),
//! `benches/live/run.sh`. A benchmark tool, not part of the product: a binary of the root
//! package (so `cargo build --release` builds it next to `otrange`), outside the `otrange`
//! library and CLI.
//!
//! Two modes, the same clients (tokio-modbus 0.17 over TCP, `TCP_NODELAY` on):
//!
//! * **Load**: `--connections N` clients, spread round-robin over the `--target`s, each
//!   calling `read_holding_registers(address, count)` back to back, one request in flight
//!   per connection. After a warm-up, answers that arrive within `--duration` are counted;
//!   the result is the aggregate requests per second and the latency of those answers.
//! * **Idle** (`--idle N`): N connections that send nothing for `--duration`, so that the
//!   server's memory can be measured while it holds them; then each one is checked (no
//!   end-of-file or reset arrived) and asked one read, to show that it is still served.
//!
//! The same binary drives otrange's live PLCs, libmodbus and pymodbus in
//! `benches/live/run.sh`, so the figures compare the servers and not the clients.
//! `--busy-poll` wraps each client's socket in `BusyPoll`, the one live PLCs use
//! (`otrange_sim::live::busy_poll`).

use anyhow::{Context as _, bail};
use clap::Parser;
use otrange_sim::base::time::parse_duration;
use otrange_sim::live::busy_poll::BusyPoll;
use serde::Serialize;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio::sync::{Barrier, Semaphore};
use tokio::task::JoinSet;
use tokio_modbus::client::{Context as ModbusClient, Reader};
use tokio_modbus::prelude::{Slave, tcp};

/// Connections opened at once, so that a server with a short listen backlog (asyncio's
/// default is 100) does not drop SYNs and stall the clients for a retransmission second.
const CONNECT_CONCURRENCY: usize = 64;

/// The command line.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "otrange-loadgen",
    version,
    about = "Modbus TCP load generator for otrange's live-mode benchmark (benches/live/run.sh)"
)]
struct LoadgenArgs {
    /// Server to load, e.g. 127.77.0.10:502; repeat for several (connections go round-robin).
    #[arg(long = "target", required = true, value_name = "ADDR:PORT")]
    targets: Vec<SocketAddr>,
    /// Concurrent client connections, each with one request in flight.
    #[arg(long, default_value_t = 1)]
    connections: usize,
    /// How long to count (load mode) or hold the connections (idle mode), e.g. 5s.
    #[arg(long, default_value = "5s", value_parser = std_duration)]
    duration: Duration,
    /// Requests made before counting starts, to fill caches and settle the scheduler.
    #[arg(long, default_value = "500ms", value_parser = std_duration)]
    warmup: Duration,
    /// Modbus unit id.
    #[arg(long, default_value_t = 1)]
    unit: u8,
    /// First holding register to read.
    #[arg(long, default_value_t = 0)]
    address: u16,
    /// Holding registers per read (1..=125).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..=125))]
    count: u16,
    /// Time allowed for one answer (or a connection) before it counts as an error.
    #[arg(long, default_value = "2s", value_parser = std_duration)]
    timeout: Duration,
    /// Worker threads of the client runtime (default: one per CPU).
    #[arg(long)]
    threads: Option<usize>,
    /// Idle mode: open this many connections, send nothing, hold them for --duration.
    #[arg(long, value_name = "N", conflicts_with = "connections")]
    idle: Option<usize>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// How long each client checks for its answer before its thread sleeps (0s: not at
    /// all), so that the client's own wake-ups add little to a fast server's round trip.
    #[arg(long, default_value = "0s", value_parser = std_duration)]
    busy_poll: Duration,
}

fn std_duration(s: &str) -> Result<Duration, String> {
    parse_duration(s)
        .map(|d| Duration::from_nanos(d.as_nanos()))
        .map_err(|e| e.to_string())
}

/// What a load run measured.
#[derive(Debug, Clone, Serialize)]
struct LoadReport {
    mode: &'static str,
    targets: Vec<SocketAddr>,
    connections: usize,
    threads: usize,
    address: u16,
    count: u16,
    unit: u8,
    warmup_s: f64,
    duration_s: f64,
    /// Normal responses with the requested number of registers, within the window.
    answered: u64,
    /// Exception responses within the window.
    exceptions: u64,
    /// Timeouts, transport and protocol errors (each one costs a reconnection).
    errors: u64,
    /// Every normal response of the run, warm-up included: divide a server's CPU time over
    /// the run by it for the CPU cost of a request.
    answered_total: u64,
    requests_per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    /// The first error seen, to say what went wrong.
    first_error: Option<String>,
}

/// What an idle run found.
#[derive(Debug, Clone, Serialize)]
struct IdleReport {
    mode: &'static str,
    targets: Vec<SocketAddr>,
    connections: usize,
    /// Wall time to open them all.
    connect_s: f64,
    hold_s: f64,
    /// Connections with no end-of-file or reset after the hold.
    open_after_hold: usize,
    /// Connections that then answered one read.
    answered_after_hold: usize,
    first_error: Option<String>,
}

/// Exit code 0 when the servers answered, 1 otherwise, 2 bad input.
fn main() -> ExitCode {
    let args = &LoadgenArgs::parse();
    if args.targets.is_empty() || args.idle == Some(0) || args.connections == 0 {
        eprintln!("error: need at least one --target and one connection");
        return ExitCode::from(2);
    }
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the tokio runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let outcome = match args.idle {
        Some(n) => runtime.block_on(idle(args, n)).map(|r| {
            let ok = r.open_after_hold == r.connections && r.answered_after_hold == r.connections;
            print_idle(args, &r);
            ok
        }),
        None => runtime.block_on(load(args, threads)).map(|r| {
            let ok = r.answered > 0;
            print_load(args, &r);
            ok
        }),
    };
    runtime.shutdown_timeout(Duration::from_millis(100));
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// Opens one TCP connection with Nagle off.
async fn connect_tcp(target: SocketAddr, timeout: Duration) -> anyhow::Result<TcpStream> {
    let stream = match tokio::time::timeout(timeout, TcpStream::connect(target)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) if e.raw_os_error() == Some(24) => {
            bail!("connecting to {target}: {e} (raise the limit with `ulimit -n`)")
        }
        Ok(Err(e)) => bail!("connecting to {target}: {e}"),
        Err(_) => bail!("connecting to {target}: no answer within {timeout:?}"),
    };
    stream.set_nodelay(true).ok();
    Ok(stream)
}

fn client(stream: TcpStream, unit: u8, busy_poll: Duration) -> ModbusClient {
    if busy_poll.is_zero() {
        tcp::attach_slave(stream, Slave(unit))
    } else {
        tcp::attach_slave(BusyPoll::new(stream, busy_poll), Slave(unit))
    }
}

/// How one read went.
enum Outcome {
    Answered,
    Exception,
    Error(String),
}

async fn read_once(ctx: &mut ModbusClient, args: &LoadgenArgs) -> Outcome {
    match tokio::time::timeout(args.timeout, ctx.read_holding_registers(args.address, args.count)).await {
        Ok(Ok(Ok(words))) if words.len() == usize::from(args.count) => Outcome::Answered,
        Ok(Ok(Ok(words))) => Outcome::Error(format!(
            "{} registers in an answer to a read of {}",
            words.len(),
            args.count
        )),
        Ok(Ok(Err(_exception))) => Outcome::Exception,
        Ok(Err(e)) => Outcome::Error(e.to_string()),
        Err(_) => Outcome::Error(format!("no answer within {:?}", args.timeout)),
    }
}

/// What one connection counted.
#[derive(Default)]
struct Tally {
    answered: u64,
    answered_total: u64,
    exceptions: u64,
    errors: u64,
    /// Latency of each counted answer, nanoseconds.
    latencies: Vec<u32>,
    first_error: Option<String>,
}

async fn load(args: &LoadgenArgs, threads: usize) -> anyhow::Result<LoadReport> {
    let n = args.connections;
    // Connect everything first: the window measures serving, not accepting.
    let mut clients = Vec::with_capacity(n);
    for (i, stream) in connect_all(args, n).await?.into_iter().enumerate() {
        clients.push((
            args.targets[i % args.targets.len()],
            client(stream, args.unit, args.busy_poll),
        ));
    }
    let barrier = Arc::new(Barrier::new(n + 1));
    let mut tasks = JoinSet::new();
    let args_shared = Arc::new(args.clone());
    for (target, mut ctx) in clients {
        let (barrier, args) = (Arc::clone(&barrier), Arc::clone(&args_shared));
        tasks.spawn(async move {
            barrier.wait().await;
            let start = Instant::now();
            let counting = start + args.warmup;
            let end = counting + args.duration;
            let mut t = Tally {
                // Room for about 100k answers a second per connection without regrowing.
                latencies: Vec::with_capacity(1 << 16),
                ..Tally::default()
            };
            loop {
                let sent = Instant::now();
                let outcome = read_once(&mut ctx, &args).await;
                let done = Instant::now();
                t.answered_total += u64::from(matches!(outcome, Outcome::Answered));
                if done >= end {
                    break;
                }
                let counted = done >= counting;
                match outcome {
                    Outcome::Answered if counted => {
                        t.answered += 1;
                        let ns = done.duration_since(sent).as_nanos();
                        t.latencies.push(u32::try_from(ns).unwrap_or(u32::MAX));
                    }
                    Outcome::Answered => {}
                    Outcome::Exception => t.exceptions += u64::from(counted),
                    Outcome::Error(e) => {
                        t.errors += u64::from(counted);
                        t.first_error.get_or_insert(e);
                        // The stream may hold a late answer: start afresh.
                        ctx = loop {
                            match connect_tcp(target, args.timeout).await {
                                Ok(s) => break client(s, args.unit, args.busy_poll),
                                Err(e) => {
                                    t.errors += u64::from(Instant::now() >= counting);
                                    t.first_error.get_or_insert(e.to_string());
                                    if Instant::now() >= end {
                                        return t;
                                    }
                                    tokio::time::sleep(Duration::from_millis(20)).await;
                                }
                            }
                        };
                    }
                }
            }
            t
        });
    }
    barrier.wait().await;
    let mut total = Tally::default();
    while let Some(t) = tasks.join_next().await {
        let t = t.context("a client task panicked")?;
        total.answered += t.answered;
        total.answered_total += t.answered_total;
        total.exceptions += t.exceptions;
        total.errors += t.errors;
        total.latencies.extend_from_slice(&t.latencies);
        if total.first_error.is_none() {
            total.first_error = t.first_error;
        }
    }
    total.latencies.sort_unstable();
    let ms = |q: f64| percentile(&total.latencies, q) as f64 / 1e6;
    Ok(LoadReport {
        mode: "load",
        targets: args.targets.clone(),
        connections: n,
        threads,
        address: args.address,
        count: args.count,
        unit: args.unit,
        warmup_s: args.warmup.as_secs_f64(),
        duration_s: args.duration.as_secs_f64(),
        answered: total.answered,
        exceptions: total.exceptions,
        errors: total.errors,
        answered_total: total.answered_total,
        requests_per_s: total.answered as f64 / args.duration.as_secs_f64(),
        p50_ms: ms(0.50),
        p99_ms: ms(0.99),
        max_ms: ms(1.0),
        first_error: total.first_error,
    })
}

/// The smallest sample at or above quantile `q` of a sorted slice (0 when empty).
fn percentile(sorted: &[u32], q: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Opens `n` connections round-robin over the targets, a bounded number at a time.
async fn connect_all(args: &LoadgenArgs, n: usize) -> anyhow::Result<Vec<TcpStream>> {
    let gate = Arc::new(Semaphore::new(CONNECT_CONCURRENCY));
    let mut tasks = JoinSet::new();
    for i in 0..n {
        let target = args.targets[i % args.targets.len()];
        let (gate, timeout) = (Arc::clone(&gate), args.timeout);
        tasks.spawn(async move {
            let _permit = gate.acquire_owned().await;
            (i, connect_tcp(target, timeout).await)
        });
    }
    let mut streams: Vec<Option<TcpStream>> = (0..n).map(|_| None).collect();
    let mut failed = 0usize;
    let mut first_error = None;
    while let Some(r) = tasks.join_next().await {
        let (i, r) = r.context("a connecting task panicked")?;
        match r {
            Ok(s) => streams[i] = Some(s),
            Err(e) => {
                failed += 1;
                first_error.get_or_insert(e);
            }
        }
    }
    if let Some(e) = first_error {
        return Err(e.context(format!("{failed} of {n} connections failed")));
    }
    Ok(streams.into_iter().flatten().collect())
}

async fn idle(args: &LoadgenArgs, n: usize) -> anyhow::Result<IdleReport> {
    let t0 = Instant::now();
    let streams = connect_all(args, n).await?;
    let connect_s = t0.elapsed().as_secs_f64();
    // The bench script waits for this line before it samples the server's memory.
    eprintln!(
        "loadgen: holding {n} idle connections for {:.1} s (opened in {connect_s:.2} s)",
        args.duration.as_secs_f64()
    );
    tokio::time::sleep(args.duration).await;

    // Still open: a non-blocking peek finds neither end-of-file nor a reset.
    let mut open = Vec::with_capacity(n);
    let mut first_error = None;
    for s in streams {
        let std = s.into_std().context("deregistering a socket")?;
        let mut byte = [0u8; 1];
        match std.peek(&mut byte) {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => open.push(std),
            Ok(0) => {
                first_error.get_or_insert_with(|| "closed by the server during the hold".to_string());
            }
            Ok(_) => {
                first_error.get_or_insert_with(|| "unsolicited bytes from the server".to_string());
            }
            Err(e) => {
                first_error.get_or_insert_with(|| format!("during the hold: {e}"));
            }
        }
    }
    let open_after_hold = open.len();

    // And served: one read on each, a bounded number at a time.
    let gate = Arc::new(Semaphore::new(CONNECT_CONCURRENCY));
    let shared = Arc::new(args.clone());
    let mut tasks = JoinSet::new();
    for std in open {
        let (gate, args) = (Arc::clone(&gate), Arc::clone(&shared));
        tasks.spawn(async move {
            let _permit = gate.acquire_owned().await;
            let stream = TcpStream::from_std(std).map_err(|e| e.to_string())?;
            let mut ctx = client(stream, args.unit, args.busy_poll);
            match read_once(&mut ctx, &args).await {
                Outcome::Answered => Ok(()),
                Outcome::Exception => Err("exception response".to_string()),
                Outcome::Error(e) => Err(e),
            }
        });
    }
    let mut answered_after_hold = 0;
    while let Some(r) = tasks.join_next().await {
        match r.context("a client task panicked")? {
            Ok(()) => answered_after_hold += 1,
            Err(e) => {
                first_error.get_or_insert(format!("read after the hold: {e}"));
            }
        }
    }
    Ok(IdleReport {
        mode: "idle",
        targets: args.targets.clone(),
        connections: n,
        connect_s,
        hold_s: args.duration.as_secs_f64(),
        open_after_hold,
        answered_after_hold,
        first_error,
    })
}

fn targets_text(t: &[SocketAddr]) -> String {
    t.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(", ")
}

fn print_load(args: &LoadgenArgs, r: &LoadReport) {
    if args.json {
        println!("{}", serde_json::to_string(r).expect("plain data serialises"));
        return;
    }
    println!(
        "loadgen: {} connections to {}, read_holding_registers({}, {}) unit {}, {:.1} s after {:.1} s \
         warm-up, {} client threads",
        r.connections,
        targets_text(&r.targets),
        r.address,
        r.count,
        r.unit,
        r.duration_s,
        r.warmup_s,
        r.threads
    );
    println!(
        "  {:.0} requests/s ({} answered, {} exceptions, {} errors)",
        r.requests_per_s, r.answered, r.exceptions, r.errors
    );
    println!(
        "  latency p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        r.p50_ms, r.p99_ms, r.max_ms
    );
    if let Some(e) = &r.first_error {
        println!("  first error: {e}");
    }
}

fn print_idle(args: &LoadgenArgs, r: &IdleReport) {
    if args.json {
        println!("{}", serde_json::to_string(r).expect("plain data serialises"));
        return;
    }
    println!(
        "loadgen: {} idle connections to {} opened in {:.2} s, held {:.1} s: {} still open, {} answered a read",
        r.connections,
        targets_text(&r.targets),
        r.connect_s,
        r.hold_s,
        r.open_after_hold,
        r.answered_after_hold
    );
    if let Some(e) = &r.first_error {
        println!("  first error: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<u32> = (1..=100).collect();
        assert_eq!(percentile(&v, 0.5), 50);
        assert_eq!(percentile(&v, 0.99), 99);
        assert_eq!(percentile(&v, 1.0), 100);
        assert_eq!(percentile(&v, 0.0), 1);
        assert_eq!(percentile(&[], 0.5), 0);
    }
}
