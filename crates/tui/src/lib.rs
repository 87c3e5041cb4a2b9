//! The dashboard: state, update, render. Probe results arrive on one channel
//! as events; the UI never blocks on the network.
