//! The wizard screen's state, driven without a terminal.
