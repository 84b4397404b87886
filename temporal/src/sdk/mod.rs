//! The Temporal side (feature `sdk`): the run workflow ([`workflow`]), the agent-call
//! activity ([`activity`]), the chunk of a large fan-out ([`calls`]), the worker and the client
//! ([`client`]), the schedules of `prism serve --temporal` ([`schedules`]).

pub mod activity;
pub mod calls;
pub mod client;
pub mod schedules;
pub mod workflow;

pub use client::{Endpoint, TemporalError, run_worker, start_and_wait};
