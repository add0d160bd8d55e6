//! The credentials screen's state, driven without a terminal.
