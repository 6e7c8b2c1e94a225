//! A plugin's rating from its reviews' stars: the one aggregate the reviews page, search (filter
//! `min_rating`, sort `rating`), comparison and reputation all read, so they never disagree.

use serde::{Deserialize, Serialize};

/// The fewest and most stars a review gives.
pub const MIN_STARS: u8 = 1;
pub const MAX_STARS: u8 = 5;

/// Average, count and distribution of the stars of the reviews that count (published: neither hidden by
/// a moderator nor deleted by their author).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RatingSummary {
    /// The mean of the stars, rounded to two decimals; `None` without reviews.
    pub average: Option<f64>,
    pub count: u64,
    /// How many reviews gave 1, 2, 3, 4 and 5 stars (index 0 is one star).
    pub distribution: [u64; 5],
}

impl RatingSummary {
    /// The summary of these stars; values outside 1–5 are not reviews' and are left out.
    pub fn from_stars(stars: impl IntoIterator<Item = u8>) -> RatingSummary {
        let mut summary = RatingSummary::default();
        for s in stars {
            summary.add(s);
        }
        summary
    }

    /// Counts one more review of `stars`.
    pub fn add(&mut self, stars: u8) {
        if !(MIN_STARS..=MAX_STARS).contains(&stars) {
            return;
        }
        self.distribution[usize::from(stars - 1)] += 1;
        self.count += 1;
        let total: u64 = self
            .distribution
            .iter()
            .zip(1u64..)
            .map(|(n, s)| n * s)
            .sum();
        let mean = total as f64 / self.count as f64;
        self.average = Some((mean * 100.0).round() / 100.0);
    }

    /// The average in hundredths of a star (0 without reviews), as search indexes and orders it.
    pub fn hundredths(&self) -> u64 {
        self.average.map_or(0, |a| (a * 100.0).round() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn average_count_and_distribution() {
        let r = RatingSummary::from_stars([5, 4, 4, 1, 9, 0]);
        assert_eq!(r.count, 4);
        assert_eq!(r.distribution, [1, 0, 0, 2, 1]);
        assert_eq!(r.average, Some(3.5));
        assert_eq!(r.hundredths(), 350);
        let none = RatingSummary::from_stars([]);
        assert_eq!((none.average, none.count, none.hundredths()), (None, 0, 0));
        assert_eq!(RatingSummary::from_stars([5, 4, 4]).average, Some(4.33));
    }
}
