//! The form screen's state, driven without a terminal.
