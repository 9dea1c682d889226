//! The run: worker threads, each with a current-thread tokio runtime and its own statistics;
//! connection slots as tasks on it; request generators that either go as fast as they are
//! answered (closed model) or follow a fixed schedule (open model, `rate`).

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http::{Method, Request, Version};
use http_body_util::{BodyExt, Full};
use tokio::sync::watch;
use tokio::task::{spawn_local, LocalSet};
use tokio::time::timeout;

use super::config::{Bench, BenchError, Mode, Plan, Stop, Template};
use super::conn::{self, ByteCount, Opened, Sender};
use super::errors::ErrorKind;
use super::report::{Report, Setup};
use super::stats::{Turn, WorkerStats};
use crate::client::recorder::SeenError;
use crate::context::Handshake;

/// Counters a worker publishes for a live display (its own cache line; one writer).
#[derive(Debug, Default)]
#[repr(align(64))]
struct Live {
    requests: AtomicU64,
    errors: AtomicU64,
    full: AtomicU64,
    resumed: AtomicU64,
    hrr: AtomicU64,
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// Where a run stands, for a progress display.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    /// Time since the run started (warm-up included).
    pub elapsed: Duration,
    /// Whether the warm-up is over (counts below start then).
    pub measuring: bool,
    /// Responses received.
    pub requests: u64,
    /// Failed requests.
    pub errors: u64,
    /// Full handshakes (HelloRetryRequest ones included).
    pub full: u64,
    /// Resumed handshakes.
    pub resumed: u64,
}

/// Watches and stops a run from another thread (the progress bar, Ctrl-C).
#[derive(Debug)]
pub struct Control {
    stop: watch::Sender<bool>,
    live: Mutex<Vec<Arc<Live>>>,
    times: Mutex<Option<(Instant, Instant)>>,
}

impl Default for Control {
    fn default() -> Self {
        Self::new()
    }
}

impl Control {
    /// A control for one run.
    pub fn new() -> Self {
        Control { stop: watch::Sender::new(false), live: Mutex::new(Vec::new()), times: Mutex::new(None) }
    }

    /// End the run now; [`run`] returns the report of what was done.
    pub fn stop(&self) {
        self.stop.send_replace(true);
    }

    fn stopped(&self) -> bool {
        *self.stop.borrow()
    }

    /// Counts so far (measured requests only: nothing during the warm-up).
    pub fn progress(&self) -> Progress {
        let Some((start, measure_start)) = *self.times.lock().unwrap_or_else(|e| e.into_inner()) else {
            return Progress::default();
        };
        let mut p =
            Progress { elapsed: start.elapsed(), measuring: Instant::now() >= measure_start, ..Progress::default() };
        for live in self.live.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
            p.requests += get(&live.requests);
            p.errors += get(&live.errors);
            p.full += get(&live.full) + get(&live.hrr);
            p.resumed += get(&live.resumed);
        }
        p
    }
}

/// When the run started, measures and ends.
#[derive(Clone, Copy, Debug)]
struct Times {
    start: Instant,
    measure_start: Instant,
    deadline: Option<Instant>,
}

/// One worker's shared state, on its own thread only.
struct Worker {
    plan: Arc<Plan>,
    stats: RefCell<WorkerStats>,
    live: Arc<Live>,
    count: Rc<ByteCount>,
    /// Requests left to start (with `Stop::Requests`).
    budget: Cell<Option<u64>>,
    times: Times,
    with_rate: bool,
}

impl Worker {
    fn measured(&self, at: Instant) -> bool {
        at >= self.times.measure_start
    }

    fn record_connection(&self, opened: &Opened) {
        if !self.measured(opened.began) {
            return;
        }
        self.stats.borrow_mut().connection(
            opened.connected - opened.began,
            opened.handshaken - opened.connected,
            &opened.facts,
            opened.offered,
        );
        bump(match opened.facts.kind {
            Handshake::Full => &self.live.full,
            Handshake::FullWithHelloRetry => &self.live.hrr,
            Handshake::Resumed => &self.live.resumed,
        });
    }

    fn record_response(&self, turn: Turn, status: u16, head_at: Instant, done_at: Instant) {
        if self.measured(turn.intended) {
            self.stats.borrow_mut().response(turn, status, head_at, done_at, self.with_rate);
            bump(&self.live.requests);
        }
    }

    fn record_error(&self, turn: Turn, kind: ErrorKind) {
        if self.measured(turn.intended) {
            self.stats.borrow_mut().error(kind, Instant::now());
            bump(&self.live.errors);
        }
    }
}

/// One stream of requests: its schedule (with a rate), its place in the URL rotation, and a
/// turn it could not use yet because its connection closed.
struct Generator {
    period: Option<Duration>,
    next: Instant,
    pending: Option<Turn>,
    targets: Vec<usize>,
    next_target: usize,
}

impl Generator {
    /// Generator `index` of `total`: with a rate, each sends every `total / rate` seconds,
    /// offset by `index / rate`, so together they keep the rate exactly.
    fn new(plan: &Plan, slot: usize, index: usize, total: usize, start: Instant) -> Self {
        let targets = plan.by_origin[plan.slot_origin(slot)].clone();
        let (period, next) = match plan.setup.rate {
            Some(rate) => {
                let offset = Duration::from_secs_f64(index as f64 / rate);
                (Some(Duration::from_secs_f64(total as f64 / rate)), start + offset)
            }
            None => (None, start),
        };
        let next_target = index % targets.len();
        Generator { period, next, pending: None, targets, next_target }
    }

    /// The next request's turn: now, or at its scheduled time. None when the run has no more.
    async fn turn(&mut self, w: &Worker) -> Option<Turn> {
        if let Some(turn) = self.pending.take() {
            return Some(turn);
        }
        let intended = match self.period {
            Some(period) => {
                let at = self.next;
                if w.times.deadline.is_some_and(|d| at >= d) {
                    return None;
                }
                self.next += period;
                at
            }
            None => Instant::now(),
        };
        if w.measured(intended) {
            if let Some(left) = w.budget.get() {
                if left == 0 {
                    return None;
                }
                w.budget.set(Some(left - 1));
            }
            w.stats.borrow_mut().started += 1;
        }
        if self.period.is_some() {
            tokio::time::sleep_until(intended.into()).await;
        }
        Some(Turn { intended, started: Instant::now().max(intended) })
    }

    fn target<'p>(&mut self, plan: &'p Plan) -> &'p Template {
        let t = self.targets[self.next_target];
        self.next_target = (self.next_target + 1) % self.targets.len();
        &plan.targets[t]
    }
}

/// Send one request and read the whole response. `Err(None)`: the connection had been closed
/// by the server while idle, before this request (no error: the request goes on a new one).
async fn exchange(
    w: &Worker,
    sender: &mut Sender,
    seen: &SeenError,
    target: &Template,
    turn: Turn,
) -> Result<(), Option<ErrorKind>> {
    let setup = &w.plan.setup;
    let identity = || w.plan.connectors[0].has_identity();
    if let Sender::Raw(conn) = sender {
        let mut head_at = None;
        let head_only = setup.method == Method::HEAD;
        let status = conn
            .exchange(&target.h1_request, head_only, || head_at = Some(Instant::now()))
            .await
            .map_err(|e| ErrorKind::codec(e, seen, identity()))?;
        let done_at = Instant::now();
        w.record_response(turn, status, head_at.unwrap_or(done_at), done_at);
        return Ok(());
    }
    let mut req = Request::new(Full::new(setup.body.clone()));
    *req.method_mut() = setup.method.clone();
    if sender.is_h2() {
        *req.uri_mut() = target.h2_uri.clone();
        *req.headers_mut() = target.h2_headers.clone();
        *req.version_mut() = Version::HTTP_2;
    } else {
        *req.uri_mut() = target.h1_uri.clone();
        *req.headers_mut() = target.h1_headers.clone();
    }
    let response = sender.send(req).await.map_err(|e| Some(ErrorKind::exchange(e, seen, identity())))?;
    let head_at = Instant::now();
    let status = response.status().as_u16();
    let mut body = response.into_body();
    while let Some(frame) = body.frame().await {
        frame.map_err(|e| Some(ErrorKind::exchange(e, seen, identity())))?;
    }
    w.record_response(turn, status, head_at, Instant::now());
    Ok(())
}

/// Requests on one connection until the generator is done (true) or the connection is gone (false).
async fn stream(w: &Worker, mut sender: Sender, seen: &SeenError, gen: &mut Generator) -> bool {
    let limit = w.plan.setup.timeout;
    loop {
        let Some(turn) = gen.turn(w).await else { return true };
        // A server that closed the connection between requests: the turn waits for the next one.
        if !sender.ready().await {
            gen.pending = Some(turn);
            return false;
        }
        let target = gen.target(&w.plan);
        match timeout(limit, exchange(w, &mut sender, seen, target, turn)).await {
            Ok(Ok(())) => {}
            Ok(Err(None)) => {
                // Closed by the server while idle (our codec learns it only now): as above.
                gen.pending = Some(turn);
                return false;
            }
            Ok(Err(Some(kind))) => {
                w.record_error(turn, kind);
                if sender.is_closed() {
                    return false;
                }
            }
            Err(_) => {
                // The connection's state is unknown after a timeout: start afresh.
                w.record_error(turn, ErrorKind::Timeout);
                return false;
            }
        }
    }
}

async fn open(w: &Worker, slot: usize) -> Result<Opened, ErrorKind> {
    let plan = &w.plan;
    let origin = &plan.origins[plan.slot_origin(slot)];
    let opening = conn::open(origin, &plan.connectors[slot], plan.setup.protocol, &w.count, true);
    match timeout(plan.setup.timeout, opening).await {
        Ok(Ok(opened)) => {
            w.record_connection(&opened);
            Ok(opened)
        }
        Ok(Err(failed)) => Err(failed.kind),
        Err(_) => Err(ErrorKind::Timeout),
    }
}

/// A keep-alive slot: one connection carrying its generators' requests, reopened when it closes.
async fn keep_alive_slot(w: Rc<Worker>, slot: usize, mut gens: Vec<Generator>) {
    loop {
        let opened = match open(&w, slot).await {
            Ok(opened) => opened,
            Err(kind) => {
                // The request that needed the connection fails (and waits for its turn first).
                let Some(turn) = gens[0].turn(&w).await else { return };
                w.record_error(turn, kind);
                tokio::task::yield_now().await;
                continue;
            }
        };
        let streams: Vec<Sender> = std::iter::from_fn(|| opened.sender.another_stream()).take(gens.len() - 1).collect();
        if streams.is_empty() {
            // HTTP/1.1, or one stream: run it here.
            if stream(&w, opened.sender, &opened.seen, &mut gens[0]).await {
                return;
            }
            continue;
        }
        let mut tasks = Vec::with_capacity(gens.len());
        for (sender, mut gen) in std::iter::once(opened.sender).chain(streams).zip(gens.drain(..)) {
            let (w, seen) = (w.clone(), opened.seen.clone());
            tasks.push(spawn_local(async move {
                let done = stream(&w, sender, &seen, &mut gen).await;
                (gen, done)
            }));
        }
        let mut finished = true;
        for task in tasks {
            let Ok((gen, done)) = task.await else { return };
            finished &= done;
            gens.push(gen);
        }
        if finished {
            return;
        }
    }
}

/// A slot that opens a new connection for every request (resuming or not, as its connector says).
async fn per_request_slot(w: Rc<Worker>, slot: usize, mut gen: Generator) {
    let limit = w.plan.setup.timeout;
    loop {
        let Some(turn) = gen.turn(&w).await else { return };
        let target = gen.target(&w.plan);
        let attempt = async {
            let origin = &w.plan.origins[w.plan.slot_origin(slot)];
            let mut opened = conn::open(origin, &w.plan.connectors[slot], w.plan.setup.protocol, &w.count, false)
                .await
                .map_err(|f| Some(f.kind))?;
            w.record_connection(&opened);
            exchange(&w, &mut opened.sender, &opened.seen, target, turn).await
        };
        match timeout(limit, attempt).await {
            Ok(Ok(())) => {}
            Ok(Err(kind)) => {
                w.record_error(turn, kind.unwrap_or(ErrorKind::Closed));
                tokio::task::yield_now().await;
            }
            Err(_) => w.record_error(turn, ErrorKind::Timeout),
        }
    }
}

/// Run one worker's slots on this thread until they finish, the deadline passes or the run is stopped.
fn work(w: Worker, slots: Vec<usize>, mut stop: watch::Receiver<bool>) -> Result<WorkerStats, BenchError> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(BenchError::Runtime)?;
    let local = LocalSet::new();
    let w = Rc::new(w);
    let times = w.times;
    local.block_on(&runtime, async {
        let count = w.count.clone();
        spawn_local(async move {
            tokio::time::sleep_until(times.measure_start.into()).await;
            count.measuring.set(true);
        });
        let plan = &w.plan;
        let streams = if plan.setup.mode == Mode::KeepAlive { plan.setup.streams } else { 1 };
        let total = plan.setup.connections * streams;
        let tasks: Vec<_> = slots
            .iter()
            .map(|&slot| {
                let gens: Vec<Generator> =
                    (0..streams).map(|s| Generator::new(plan, slot, slot * streams + s, total, times.start)).collect();
                match plan.setup.mode {
                    Mode::KeepAlive => spawn_local(keep_alive_slot(w.clone(), slot, gens)),
                    Mode::NewConnection | Mode::Resume => {
                        let gen = gens.into_iter().next().expect("one generator");
                        spawn_local(per_request_slot(w.clone(), slot, gen))
                    }
                }
            })
            .collect();
        let all = async {
            for task in tasks {
                let _ = task.await;
            }
        };
        let deadline = async {
            match times.deadline {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = all => {}
            _ = deadline => {}
            _ = stop.wait_for(|stopped| *stopped) => {}
        }
    });
    let ended = match times.deadline {
        Some(at) => Instant::now().min(at),
        None => Instant::now(),
    };
    {
        // Dropping the tasks closes their sockets, which needs the runtime.
        let _inside = runtime.enter();
        drop(local);
    }
    let w = Rc::try_unwrap(w).map_err(|_| BenchError::Settings("a worker task outlived its run".into()))?;
    let mut stats = w.stats.into_inner();
    stats.bytes = w.count.bytes.get();
    stats.ended = ended;
    Ok(stats)
}

/// User plus system CPU time of this process.
fn cpu_time() -> Duration {
    // SAFETY: getrusage writes into the struct we pass and reads nothing else.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return Duration::ZERO;
    }
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, (t.tv_usec as u32) * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// Run the load and return its report. Blocks until the run ends: at its duration or request
/// count, or when `control` stops it (the report then covers what was done).
pub fn run(bench: &Bench, control: &Control) -> Result<Report, BenchError> {
    let plan = Arc::new(Plan::new(bench)?);
    let threads = bench.threads.min(bench.connections);
    let start = Instant::now();
    let measure_start = start + bench.warmup;
    let deadline = match bench.stop {
        Stop::After(d) => Some(measure_start + d),
        Stop::Requests(_) => None,
    };
    let times = Times { start, measure_start, deadline };
    let lives: Vec<Arc<Live>> = (0..threads).map(|_| Arc::new(Live::default())).collect();
    *control.live.lock().unwrap_or_else(|e| e.into_inner()) = lives.clone();
    *control.times.lock().unwrap_or_else(|e| e.into_inner()) = Some((start, measure_start));
    let mut cpu_before = cpu_time();
    let mut handles = Vec::with_capacity(threads);
    for (index, live) in lives.into_iter().enumerate() {
        let slots: Vec<usize> = (index..bench.connections).step_by(threads).collect();
        let budget = match bench.stop {
            Stop::Requests(n) => Some(n / threads as u64 + u64::from((index as u64) < n % threads as u64)),
            Stop::After(_) => None,
        };
        let plan = plan.clone();
        let stop = control.stop.subscribe();
        let with_rate = bench.rate.is_some();
        let handle = std::thread::Builder::new()
            .name(format!("bench-{index}"))
            .spawn(move || {
                let stats = RefCell::new(WorkerStats::new(measure_start));
                let count = Rc::new(ByteCount::default());
                let worker = Worker { plan, stats, live, count, budget: Cell::new(budget), times, with_rate };
                work(worker, slots, stop)
            })
            .map_err(BenchError::Runtime)?;
        handles.push(handle);
    }
    // The warm-up's CPU is not the measured window's.
    while Instant::now() < measure_start && !control.stopped() && !handles.iter().all(|h| h.is_finished()) {
        std::thread::sleep((measure_start - Instant::now()).min(Duration::from_millis(20)));
        cpu_before = cpu_time();
    }
    let mut merged: Option<WorkerStats> = None;
    let mut failure = None;
    for handle in handles {
        match handle.join() {
            Ok(Ok(stats)) => match &mut merged {
                Some(m) => m.merge(stats),
                None => merged = Some(stats),
            },
            Ok(Err(e)) => failure = Some(e),
            Err(_) => failure = Some(BenchError::Settings("a worker thread panicked".into())),
        }
    }
    let cpu = cpu_time().saturating_sub(cpu_before);
    let stats = match (merged, failure) {
        (_, Some(e)) => return Err(e),
        (Some(stats), None) => stats,
        (None, None) => WorkerStats::new(measure_start),
    };
    let duration = stats.ended.saturating_duration_since(measure_start).as_secs_f64();
    let setup = Setup {
        urls: bench.urls.clone(),
        mode: bench.mode.name().to_string(),
        http: bench.protocol.name().to_string(),
        connections: bench.connections,
        threads,
        streams: if bench.mode == Mode::KeepAlive { bench.streams } else { 1 },
        rate: bench.rate,
        warmup_s: bench.warmup.as_secs_f64(),
    };
    Ok(Report::new(setup, &stats, duration, cpu.as_secs_f64(), bench.rate.is_some()))
}
