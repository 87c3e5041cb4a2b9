//! The dashboard: state, update, render. Probe results arrive on one channel
//! as events; the UI never blocks on the network.
//!
//! * [`feed`]: what arrives (probe updates and the dashboard's extras) and
//!   the [`feed::FeedSource`] trait the live probes and the demo implement;
//! * [`app`]: the state and its two entry points, `update` (keys) and
//!   `apply` (data);
//! * [`action`]: keys → actions, and the help table;
//! * `ui`: `impl Widget for &App`, one module per panel;
//! * [`tui`]: the terminal and the event loop;
//! * [`demo`]: the built-in scenario;
//! * [`engines`]: the one seam to eksdoctor-core's engines;
//! * [`fleet`]: the account list of a fleet run (`check --org`).

pub mod action;
pub mod app;
pub mod demo;
pub mod engines;
pub mod feed;
pub mod fleet;
pub mod sanitize;
pub mod theme;
pub mod tui;
mod ui;

pub use app::{App, LiveExplain, Options, Panel, Tile};
pub use feed::{Feed, FeedSink, FeedSource, LiveAnswer};
pub use ui::{GRID_HEIGHT, GRID_WIDTH, MIN_HEIGHT, MIN_WIDTH};
