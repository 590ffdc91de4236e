//! Switchboard's wire contract as Rust types: every journaled [`Event`], every
//! [`ThreadEntry`], the websocket's [`ServerFrame`]s and [`ClientFrame`]s, the words they
//! use, and the one time format ([`time`]).
//!
//! The server writes its events and frames with these types, its tests read every frame they
//! receive back into them, and the load generator drives the server with them; a test holds
//! `docs/websocket.md` to them. Ids are plain strings here: this crate knows the wire, not
//! the engine's validated id types.

pub mod event;
pub mod frame;
pub mod routing;
pub mod thread;
pub mod time;
pub mod vocabulary;

pub use event::{Event, EventData, EventError};
pub use frame::{ClientFrame, FrameBody, ServerFrame};
pub use thread::{ChatEntry, ThreadEntry};
pub use time::Time;
