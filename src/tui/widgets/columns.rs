//! Table columns that fit the terminal: each column has a width and a priority; the columns that
//! fit are kept (in their own order), the most important first, and one column may take what is
//! left. Every cell is cut to its column with an ellipsis, so a cut never looks like a whole
//! word; the screens show the selected row's full text in a detail line.

use ratatui::text::Span;

use super::truncate;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColumnSpec {
    /// Columns wide enough for their usual content.
    pub width: u16,
    /// Lower is more important: 0 is always shown.
    pub priority: u8,
    /// Takes the width left over (at least `width`).
    pub fill: bool,
}

pub const fn column(width: u16, priority: u8) -> ColumnSpec {
    ColumnSpec {
        width,
        priority,
        fill: false,
    }
}

pub const fn fill(min_width: u16, priority: u8) -> ColumnSpec {
    ColumnSpec {
        width: min_width,
        priority,
        fill: true,
    }
}

/// The columns to show in `width` (with `spacing` between them): (index into `specs`, width),
/// in the specs' order. Columns of priority 0 are always kept, squeezed if need be.
pub fn fit(specs: &[ColumnSpec], width: u16, spacing: u16) -> Vec<(usize, u16)> {
    let mut order: Vec<usize> = (0..specs.len()).collect();
    order.sort_by_key(|i| (specs[*i].priority, *i));
    let mut chosen: Vec<usize> = Vec::new();
    let mut used: u16 = 0;
    for i in order {
        let cost = specs[i].width + if chosen.is_empty() { 0 } else { spacing };
        if used + cost <= width || specs[i].priority == 0 {
            chosen.push(i);
            used = used.saturating_add(cost);
        }
    }
    chosen.sort_unstable();
    let spare = width.saturating_sub(used);
    let fill_at = chosen.iter().position(|i| specs[*i].fill);
    let mut out: Vec<(usize, u16)> = chosen.iter().map(|i| (*i, specs[*i].width)).collect();
    match fill_at {
        Some(f) => out[f].1 += spare,
        None => {
            if let Some(last) = out.last_mut() {
                last.1 += spare;
            }
        }
    }
    // Over the width (priority-0 columns that do not fit): the widest gives way.
    let mut total: u16 = out.iter().map(|(_, w)| *w).sum::<u16>()
        + spacing * u16::try_from(out.len().saturating_sub(1)).unwrap_or(0);
    while total > width {
        let Some(widest) = out.iter_mut().max_by_key(|(_, w)| *w) else {
            break;
        };
        if widest.1 <= 4 {
            break;
        }
        widest.1 -= 1;
        total -= 1;
    }
    out
}

/// A cell's text cut to `width` columns, with an ellipsis where it was cut.
pub fn cut(text: &str, width: u16) -> String {
    truncate(text, usize::from(width))
}

/// A styled cell cut the same way, keeping its style.
pub fn cut_span(span: Span<'_>, width: u16) -> Span<'static> {
    Span::styled(cut(&span.content, width), span.style)
}

/// Styled pieces cut, as a whole, to `width` columns, the last piece kept ends in an ellipsis.
pub fn cut_spans(spans: Vec<Span<'_>>, width: u16) -> Vec<Span<'static>> {
    use unicode_width::UnicodeWidthStr;
    let total: usize = spans.iter().map(|s| s.content.width()).sum();
    let mut room = usize::from(width);
    if total <= room {
        return spans
            .into_iter()
            .map(|s| Span::styled(s.content.into_owned(), s.style))
            .collect();
    }
    let mut out = Vec::new();
    for s in spans {
        let w = s.content.width();
        if w < room {
            room -= w;
            out.push(Span::styled(s.content.into_owned(), s.style));
        } else {
            out.push(Span::styled(truncate(&s.content, room), s.style));
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_important_columns_stay_and_the_fill_takes_the_rest() {
        let specs = [column(10, 2), column(16, 0), fill(12, 0), column(9, 1)];
        // Everything fits: the fill column takes the spare room.
        assert_eq!(fit(&specs, 80, 1), vec![(0, 10), (1, 16), (2, 42), (3, 9)]);
        // 40 columns: name and reason, then the priority-1 column; priority 2 is dropped.
        assert_eq!(fit(&specs, 40, 1), vec![(1, 16), (2, 13), (3, 9)]);
        // Too narrow even for the must-haves: they shrink, widest first.
        let squeezed = fit(&specs, 20, 1);
        assert_eq!(squeezed.iter().map(|(i, _)| *i).collect::<Vec<_>>(), [1, 2]);
        assert!(
            squeezed.iter().map(|(_, w)| *w).sum::<u16>() < 20,
            "with the spacing"
        );
        assert_eq!(cut("acme-db-production", 10), "acme-db-p…");
        assert_eq!(cut("short", 10), "short");
    }
}
