//! Byte offsets to line and column, and the snippet shown with a finding.

/// Line starts, for turning byte offsets into line and column.
pub(super) struct Lines<'s> {
    source: &'s str,
    starts: Vec<usize>,
}

impl<'s> Lines<'s> {
    pub(super) fn new(source: &'s str) -> Lines<'s> {
        let mut starts = vec![0];
        starts.extend(source.match_indices('\n').map(|(i, _)| i + 1));
        Lines { source, starts }
    }

    pub(super) fn position(&self, offset: usize) -> (u32, u32, &'s str) {
        let line = self
            .starts
            .partition_point(|&s| s <= offset)
            .saturating_sub(1);
        let start = self.starts[line];
        let end = self
            .starts
            .get(line + 1)
            .map_or(self.source.len(), |e| e - 1);
        let offset = offset.min(end).max(start);
        let column = self.source[start..offset].chars().count() + 1;
        (line as u32 + 1, column as u32, &self.source[start..end])
    }
}

/// A window of the line around the finding: bundled code puts whole files on one line.
pub(super) fn snippet(line: &str, column: u32) -> String {
    const WIDTH: usize = 160;
    let chars: Vec<char> = line.chars().collect();
    let at = (column as usize).saturating_sub(1).min(chars.len());
    let from = if chars.len() <= WIDTH {
        0
    } else {
        at.saturating_sub(WIDTH / 2)
    };
    let to = (from + WIDTH).min(chars.len());
    let mut text: String = chars[from..to].iter().collect();
    text = text.trim().to_string();
    if from > 0 {
        text.insert(0, '…');
    }
    if to < chars.len() {
        text.push('…');
    }
    text
}
