//! The promote screen's state, driven without a terminal.
