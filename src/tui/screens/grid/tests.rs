//! The grid screen's state, driven without a terminal.
