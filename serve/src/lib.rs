//! Scheduled pattern runs (`schedule` directive, patterns.md §3) for `prism serve`.
//!
//! Data flows one way: a compiled plan's normalised `schedule` directive becomes a
//! [`ScheduleSpec`] ([`spec`]); pure functions of a spec, the stored [`ScheduleState`] and the
//! current time decide what runs and when ([`timing`], no clock or I/O inside, so every rule
//! is unit-tested with fixed times); the serving loop ([`server`]) sleeps until each fire
//! time on tokio, applies the `overlap` policy, runs the plan with the executor, writes the
//! execution record (with persistence) and the schedule state to the store, and reports
//! [`server::Event`]s for the CLI to print.

#![warn(missing_docs)]

pub mod server;
pub mod spec;
pub mod timing;

pub use prism_store::ScheduleState;
pub use server::{Clock, Event, Job, JobError, ServeOptions, SystemClock, serve};
pub use spec::{Every, Missed, Overlap, ScheduleSpec, SpecError};
