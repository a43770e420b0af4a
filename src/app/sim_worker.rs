//! The simulation worker: a named thread (`sim-worker`) that owns the running
//! [`Simulation`], advances it as the Simulation tab asks, and publishes snapshots of its
//! output for the plots.
//!
//! Commands travel on a bounded channel from the UI; the worker applies all pending ones
//! between chunks of at most [`CHUNK_STEPS`] steps, so a new slider value interrupts a long
//! run within milliseconds. Snapshots go the other way through a one-value slot in which a
//! newer snapshot replaces an older one: the plots only ever want the latest state, and a
//! queue would make the UI copy stale outputs it then throws away.
//!
//! Pacing: while playing, the worker keeps simulated time at
//! `t = t_at_play + speed_ms_per_s · wall-clock seconds since play`, and never runs ahead of
//! it; after a restart it first catches up, as fast as it can, to the simulated time the
//! previous run had reached (the whole duration when the previous run had finished), so
//! dragging a slider redraws the same time window with the new value.

use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use crate::preset::sim::SimPreset;
use crate::sim::{SimOutput, Simulation};

/// Steps advanced between two looks at the command channel. The chain runs 80,000 fine
/// steps of two models; 2,000 steps take well under 10 ms in an optimised build.
pub const CHUNK_STEPS: usize = 2_000;

/// Minimum wall-clock time between two published snapshots while a run is in progress.
const SNAPSHOT_INTERVAL: Duration = Duration::from_millis(40);

/// Capacity of the command channel; the worker drains it between chunks.
const COMMAND_CAPACITY: usize = 64;

/// Command sent from the UI to the worker.
#[derive(Debug)]
pub enum SimCommand {
    /// Build a new simulation from the preset and run it up to `catch_up_ms` at full speed.
    Restart {
        /// The experiment to run.
        preset: Box<SimPreset>,
        /// Simulated time to reach before pacing starts, in ms.
        catch_up_ms: f64,
    },
    /// Start or resume real-time play.
    Play,
    /// Stop advancing.
    Pause,
    /// Simulated milliseconds per wall-clock second while playing.
    SetSpeed(f64),
    /// Run to the end at full speed.
    RunToEnd,
    /// End the thread.
    Quit,
}

/// The latest state published by the worker.
#[derive(Clone, Debug, Default)]
pub struct SimSnapshot {
    /// Increases with every published snapshot.
    pub generation: u64,
    /// Increases with every restart, so the UI can drop plot caches of an old run.
    pub run_index: u64,
    /// The output so far (metrics filled once the run has finished).
    pub output: Option<Arc<SimOutput>>,
    /// Simulated time reached, in ms.
    pub t_ms: f64,
    /// Simulated duration of the run, in ms.
    pub duration_ms: f64,
    /// Whether the run reached its end.
    pub finished: bool,
    /// Whether the worker is catching up or running to the end at full speed.
    pub computing: bool,
    /// Whether real-time play is on.
    pub playing: bool,
    /// The error that stopped the run, formatted for display.
    pub error: Option<String>,
}

/// The UI's handle on the worker thread.
pub struct SimWorker {
    commands: Sender<SimCommand>,
    shared: Arc<Mutex<SimSnapshot>>,
    join: Option<JoinHandle<()>>,
    ctx: egui::Context,
}

impl SimWorker {
    /// Spawns the worker; it requests a repaint of `ctx` whenever it publishes.
    pub fn spawn(ctx: &egui::Context) -> std::io::Result<Self> {
        let (commands, receiver) = crossbeam_channel::bounded(COMMAND_CAPACITY);
        let shared = Arc::new(Mutex::new(SimSnapshot::default()));
        let worker_shared = Arc::clone(&shared);
        let worker_ctx = ctx.clone();
        let join = std::thread::Builder::new()
            .name("sim-worker".to_owned())
            .spawn(move || WorkerLoop::new(receiver, worker_shared, worker_ctx).run())?;
        Ok(Self {
            commands,
            shared,
            join: Some(join),
            ctx: ctx.clone(),
        })
    }

    /// Sends a command; gives it back when the channel is full so the caller can retry next
    /// frame. A command to a worker that has ended is dropped with a log line.
    pub fn try_send(&self, command: SimCommand) -> Result<(), SimCommand> {
        match self.commands.try_send(command) {
            Ok(()) => Ok(()),
            Err(crossbeam_channel::TrySendError::Full(command)) => Err(command),
            Err(crossbeam_channel::TrySendError::Disconnected(command)) => {
                tracing::error!(?command, "simulation worker has ended; command dropped");
                Ok(())
            }
        }
    }

    /// Returns a copy of the latest snapshot (the output is shared, not copied).
    pub fn snapshot(&self) -> SimSnapshot {
        lock(&self.shared).clone()
    }

    /// Returns the context the worker repaints.
    pub fn ctx(&self) -> &egui::Context {
        &self.ctx
    }
}

impl Drop for SimWorker {
    fn drop(&mut self) {
        // A blocking send: the worker drains commands between chunks, so this returns quickly.
        let _ = self.commands.send(SimCommand::Quit);
        if let Some(join) = self.join.take() {
            if join.join().is_err() {
                tracing::error!("the simulation worker panicked");
            }
        }
    }
}

/// Locks the shared snapshot, recovering it when a panic poisoned the mutex (the snapshot
/// is plain data and stays consistent between field writes).
fn lock(shared: &Mutex<SimSnapshot>) -> MutexGuard<'_, SimSnapshot> {
    shared
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The worker thread's state.
struct WorkerLoop {
    commands: Receiver<SimCommand>,
    shared: Arc<Mutex<SimSnapshot>>,
    ctx: egui::Context,
    sim: Option<Simulation>,
    run_index: u64,
    generation: u64,
    /// Steps requested from the current simulation since its restart.
    steps_done: u64,
    catch_up_ms: f64,
    run_to_end: bool,
    playing: bool,
    speed_ms_per_s: f64,
    /// Wall-clock instant and simulated time when play (re)started.
    play_anchor: Option<(Instant, f64)>,
    last_publish: Instant,
    error: Option<String>,
}

impl WorkerLoop {
    fn new(
        commands: Receiver<SimCommand>,
        shared: Arc<Mutex<SimSnapshot>>,
        ctx: egui::Context,
    ) -> Self {
        Self {
            commands,
            shared,
            ctx,
            sim: None,
            run_index: 0,
            generation: 0,
            steps_done: 0,
            catch_up_ms: 0.0,
            run_to_end: false,
            playing: false,
            speed_ms_per_s: 20.0,
            play_anchor: None,
            last_publish: Instant::now(),
            error: None,
        }
    }

    fn run(mut self) {
        loop {
            let idle = !self.wants_to_advance();
            let command = if idle {
                // Nothing to compute: wait for the next command, waking now and then so a
                // paced play resumes on time.
                match self.commands.recv_timeout(Duration::from_millis(5)) {
                    Ok(command) => Some(command),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => return,
                }
            } else {
                self.commands.try_recv().ok()
            };
            if let Some(command) = command {
                if !self.apply(command) {
                    return;
                }
                while let Ok(command) = self.commands.try_recv() {
                    if !self.apply(command) {
                        return;
                    }
                }
            }
            if self.wants_to_advance() {
                self.advance_chunk();
            }
        }
    }

    /// Applies one command; returns false on `Quit`.
    fn apply(&mut self, command: SimCommand) -> bool {
        match command {
            SimCommand::Restart {
                preset,
                catch_up_ms,
            } => self.restart(&preset, catch_up_ms),
            SimCommand::Play => {
                self.playing = true;
                self.play_anchor = None;
            }
            SimCommand::Pause => {
                self.playing = false;
                self.run_to_end = false;
                self.play_anchor = None;
            }
            SimCommand::SetSpeed(speed) => {
                self.speed_ms_per_s = speed.max(1e-3);
                self.play_anchor = None;
            }
            SimCommand::RunToEnd => self.run_to_end = true,
            SimCommand::Quit => return false,
        }
        self.publish(true);
        true
    }

    fn restart(&mut self, preset: &SimPreset, catch_up_ms: f64) {
        self.run_index += 1;
        self.steps_done = 0;
        self.catch_up_ms = catch_up_ms;
        self.play_anchor = None;
        self.error = None;
        self.sim = match Simulation::new(preset) {
            Ok(sim) => Some(sim),
            Err(error) => {
                tracing::warn!(%error, "simulation not started");
                self.error = Some(error.to_string());
                None
            }
        };
    }

    /// Returns the simulated time the run should have reached now, in ms.
    fn target_ms(&mut self, sim_t_ms: f64, duration_ms: f64) -> f64 {
        if self.run_to_end {
            return duration_ms;
        }
        if sim_t_ms < self.catch_up_ms {
            return self.catch_up_ms;
        }
        if !self.playing {
            return sim_t_ms;
        }
        let (since, t0_ms) = *self.play_anchor.get_or_insert((Instant::now(), sim_t_ms));
        t0_ms + since.elapsed().as_secs_f64() * self.speed_ms_per_s
    }

    fn wants_to_advance(&mut self) -> bool {
        let Some(sim) = &self.sim else {
            return false;
        };
        let (t_ms, duration_ms) = (sim.t_ms(), sim.duration_ms());
        if t_ms >= duration_ms || self.error.is_some() {
            return false;
        }
        self.target_ms(t_ms, duration_ms) > t_ms
    }

    fn advance_chunk(&mut self) {
        let Some(sim) = &self.sim else {
            return;
        };
        let (t_ms, duration_ms) = (sim.t_ms(), sim.duration_ms());
        let target_ms = self.target_ms(t_ms, duration_ms).min(duration_ms);
        // Steps left to the target, from the mean step so far (dt is fixed per run); the
        // first call takes one step to learn it.
        let steps = match self.step_ms() {
            Some(dt_ms) => ((target_ms - t_ms) / dt_ms).ceil().max(1.0) as usize,
            None => 1,
        };

        let Some(sim) = &mut self.sim else {
            return;
        };
        let steps = steps.min(CHUNK_STEPS);
        let result = sim.advance(steps);
        self.steps_done += steps as u64;
        match result {
            Ok(finished) => {
                if finished {
                    self.run_to_end = false;
                    self.catch_up_ms = 0.0;
                }
                let due = self.last_publish.elapsed() >= SNAPSHOT_INTERVAL;
                self.publish(finished || due);
            }
            Err(error) => {
                tracing::warn!(%error, "simulation stopped");
                self.error = Some(error.to_string());
                self.publish(true);
            }
        }
    }

    /// Returns the simulated time of one step of the current run, in ms, measured as the
    /// time reached over the steps taken; `None` before the first step.
    fn step_ms(&self) -> Option<f64> {
        let sim = self.sim.as_ref()?;
        (self.steps_done > 0 && sim.t_ms() > 0.0).then(|| sim.t_ms() / self.steps_done as f64)
    }

    /// Publishes the state; with `with_output` false only the progress fields change.
    fn publish(&mut self, with_output: bool) {
        self.generation += 1;
        let (output, t_ms, duration_ms, finished) = match &self.sim {
            Some(sim) => (
                with_output.then(|| Arc::new(sim.output())),
                sim.t_ms(),
                sim.duration_ms(),
                sim.t_ms() >= sim.duration_ms(),
            ),
            None => (None, 0.0, 0.0, false),
        };
        let computing = self.error.is_none()
            && !finished
            && self.sim.is_some()
            && (self.run_to_end || t_ms < self.catch_up_ms);
        let mut shared = lock(&self.shared);
        shared.generation = self.generation;
        if shared.run_index != self.run_index {
            shared.output = None;
        }
        shared.run_index = self.run_index;
        if let Some(output) = output {
            shared.output = Some(output);
        }
        shared.t_ms = t_ms;
        shared.duration_ms = duration_ms;
        shared.finished = finished;
        shared.computing = computing;
        shared.playing = self.playing;
        shared.error = self.error.clone();
        drop(shared);
        if with_output {
            self.last_publish = Instant::now();
        }
        self.ctx.request_repaint();
    }
}
