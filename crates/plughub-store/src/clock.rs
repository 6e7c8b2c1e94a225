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

/// Now, or one millisecond after `seen` when now is not later (the clock's resolution is a
/// millisecond, so two writes in one would otherwise look the same to a compare on the time).
pub fn later_than(seen: &str) -> String {
    let now = now_rfc3339();
    if now.as_str() > seen {
        return now;
    }
    let fmt =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    match time::PrimitiveDateTime::parse(seen, &fmt) {
        Ok(t) => format_time(t.assume_utc() + time::Duration::milliseconds(1)),
        Err(_) => now,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_have_a_fixed_width_so_they_sort_as_text() {
        let a = super::now_rfc3339();
        assert_eq!(a.len(), "2026-11-25T15:50:55.123Z".len(), "{a}");
        assert!(a.ends_with('Z'));
    }

    #[test]
    fn a_later_time_is_later_even_within_one_millisecond() {
        let far = "2999-01-01T00:00:00.999Z";
        assert_eq!(super::later_than(far), "2999-01-01T00:00:01.000Z");
        let past = "2000-01-01T00:00:00.000Z";
        assert!(super::later_than(past).as_str() > past);
    }
}
