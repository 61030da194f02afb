//! The results table's state: an index of the matching results (a file
//! offset each, built off the UI thread) and one page of records around
//! the selection. Moving near a page's edge asks for the next page, so a
//! run of a million results scrolls end to end with a page in memory.

use std::cell::Cell;
use std::sync::Arc;

use crate::export::{ResultFilter, ResultIndex, ResultOrder};
use crate::model::RequestRecord;

/// Records held in memory at a time.
pub const PAGE: usize = 500;
/// A new page is read when the selection comes this close to the edge
/// of the one held (and the journal goes on past it).
const MARGIN: usize = 100;

#[derive(Debug, Default)]
pub struct ResultsView {
    /// The matching results, in order (`None` until first built).
    pub index: Option<Arc<ResultIndex>>,
    /// Position in the index of `rows[0]`.
    pub offset: usize,
    /// The page held in memory.
    pub rows: Vec<RequestRecord>,
    pub filter: ResultFilter,
    pub order: ResultOrder,
    /// Position in the index of the selected result.
    pub selected: usize,
    /// Position of the first row shown.
    pub scroll: usize,
    /// Rows the table showed last time it was drawn.
    pub height: Cell<usize>,
    pub detail: bool,
    /// The index is being built.
    pub loading: bool,
    /// The start of a page being read.
    pub pending: Option<usize>,
    /// When, in the run's time, the table was last read while the run
    /// went on (it is read again at most once a second).
    pub refreshed_at: Option<std::time::Duration>,
}

impl ResultsView {
    /// How many results match the filter.
    pub fn len(&self) -> usize {
        self.index.as_ref().map_or(0, |i| i.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The result at `position`, if its page is in memory.
    pub fn row(&self, position: usize) -> Option<&RequestRecord> {
        self.rows.get(position.checked_sub(self.offset)?)
    }

    pub fn selected_row(&self) -> Option<&RequestRecord> {
        self.row(self.selected)
    }

    /// The first row to show in a table `height` rows tall: the scroll
    /// position, moved as little as needed to keep the selection in view.
    pub fn first_shown(&self, height: usize) -> usize {
        let height = height.max(1);
        self.scroll
            .min(self.selected)
            .max((self.selected + 1).saturating_sub(height))
    }

    /// Moves the selection by `delta` rows, within the results.
    pub fn step(&mut self, delta: isize) -> Option<usize> {
        let last = self.len().saturating_sub(1);
        let to = self.selected.saturating_add_signed(delta).min(last);
        self.select(to)
    }

    /// Selects `position` and keeps it in view; returns the start of a
    /// page to read, when the one held will not do for long.
    pub fn select(&mut self, position: usize) -> Option<usize> {
        self.selected = position.min(self.len().saturating_sub(1));
        // Until the table is drawn its height is unknown; the draw keeps
        // the selection in view anyway.
        let height = self.height.get();
        if height > 0 {
            self.scroll = self.first_shown(height);
        }
        self.page_wanted()
    }

    /// The page to read next, if any: none while the selection is well
    /// inside the page held (or the page held reaches the journal's end).
    fn page_wanted(&mut self) -> Option<usize> {
        let len = self.len();
        if len == 0 {
            return None;
        }
        let end = self.offset + self.rows.len();
        let near_start = self.offset > 0 && self.selected < self.offset + MARGIN;
        let near_end = end < len && self.selected + MARGIN >= end;
        if !(near_start || near_end) {
            return None;
        }
        let start = page_start(self.selected, len);
        if start == self.offset || self.pending == Some(start) {
            return None;
        }
        self.pending = Some(start);
        Some(start)
    }

    /// Takes a freshly built index and the page read with it.
    pub fn indexed(&mut self, index: Arc<ResultIndex>, offset: usize, rows: Vec<RequestRecord>) {
        self.loading = false;
        self.pending = None;
        self.index = Some(index);
        self.offset = offset;
        self.rows = rows;
        self.selected = self.selected.min(self.len().saturating_sub(1));
    }

    /// Takes a page read for `index`; one for an index since replaced is
    /// dropped. Returns another page to read if the selection has moved on.
    pub fn paged(
        &mut self,
        index: &Arc<ResultIndex>,
        offset: usize,
        rows: Vec<RequestRecord>,
    ) -> Option<usize> {
        if !self.index.as_ref().is_some_and(|i| Arc::ptr_eq(i, index)) {
            return None;
        }
        if self.pending == Some(offset) {
            self.pending = None;
        }
        self.offset = offset;
        self.rows = rows;
        self.page_wanted()
    }

    /// Starts over for a new filter or order.
    pub fn reset(&mut self) {
        self.selected = 0;
        self.scroll = 0;
        self.detail = false;
    }
}

/// The start of the page that centres `position`.
pub fn page_start(position: usize, len: usize) -> usize {
    position
        .saturating_sub(PAGE / 2)
        .min(len.saturating_sub(PAGE))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_centre_the_selection_within_the_results() {
        assert_eq!(page_start(0, 10_000), 0);
        assert_eq!(page_start(1_000, 10_000), 750);
        assert_eq!(page_start(9_999, 10_000), 9_500);
        assert_eq!(page_start(7, 20), 0);
    }

    #[test]
    fn the_view_keeps_the_selection_on_screen() {
        let view = ResultsView {
            scroll: 10,
            selected: 5,
            ..ResultsView::default()
        };
        assert_eq!(view.first_shown(20), 5, "scrolled up to the selection");
        let view = ResultsView {
            scroll: 10,
            selected: 40,
            ..ResultsView::default()
        };
        assert_eq!(view.first_shown(20), 21, "down to it");
        let view = ResultsView {
            scroll: 10,
            selected: 15,
            ..ResultsView::default()
        };
        assert_eq!(view.first_shown(20), 10, "no move while it shows");
    }
}
