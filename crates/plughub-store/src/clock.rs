use time::OffsetDateTime;
use time::macros::format_description;

/// Now, as the fixed-width RFC 3339 text the store keeps (UTC, milliseconds), so times sort as text.
pub fn now_rfc3339() -> String {
    format_time(OffsetDateTime::now_utc())
}

/// A time as the store writes it (compare with stored times only in this form).
pub fn format_time(t: OffsetDateTime) -> String {
    let fmt =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    t.to_offset(time::UtcOffset::UTC)
        .format(&fmt)
        .expect("a UTC time always formats")
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_have_a_fixed_width_so_they_sort_as_text() {
        let a = super::now_rfc3339();
        assert_eq!(a.len(), "2026-11-25T15:50:55.123Z".len(), "{a}");
        assert!(a.ends_with('Z'));
    }
}
