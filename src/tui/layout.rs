//! Sizes shared by update (navigation) and render (drawing), so both agree on the grid's shape.

/// Below this the UI shows "terminal too small" instead of a squeezed layout.
pub const MIN_WIDTH: u16 = 40;
pub const MIN_HEIGHT: u16 = 10;

pub const CARD_WIDTH: u16 = 24;
pub const CARD_HEIGHT: u16 = 4;

/// Rows taken by the title line, the hint line and the status bar.
pub const CHROME_ROWS: u16 = 3;

pub fn too_small(width: u16, height: u16) -> bool {
    width < MIN_WIDTH || height < MIN_HEIGHT
}

/// Cards per grid row for a terminal this wide.
pub fn grid_columns(width: u16) -> usize {
    usize::from((width / CARD_WIDTH).max(1))
}

/// Grid rows visible in a terminal this tall.
pub fn grid_rows(height: u16) -> usize {
    // One line under the title is the filter/workspace line.
    usize::from((height.saturating_sub(CHROME_ROWS + 1) / CARD_HEIGHT).max(1))
}
