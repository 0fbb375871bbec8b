//! Whether a maintenance window is open at an instant (pure; the coordinator asks every tick).

use crate::model::{DAYS, MaintenanceWindow, parse_clock};
use jiff::Timestamp;
use jiff::civil::Weekday;

/// Whether `window` is open at `now`; a window that does not parse is never open (validate
/// refuses it before it gets here).
pub fn is_open(window: &MaintenanceWindow, now: Timestamp) -> bool {
    let (Ok(start), Ok(end), Ok(tz)) = (
        parse_clock(&window.start),
        parse_clock(&window.end),
        jiff::tz::TimeZone::get(&window.time_zone),
    ) else {
        return false;
    };
    let local = now.to_zoned(tz);
    let second = u32::from(local.hour().unsigned_abs()) * 3600
        + u32::from(local.minute().unsigned_abs()) * 60
        + u32::from(local.second().unsigned_abs());
    let today = local.weekday();
    let on = |day: Weekday| {
        window.days.is_empty()
            || window
                .days
                .iter()
                .any(|d| DAYS.get(day.to_monday_zero_offset() as usize) == Some(&d.as_str()))
    };
    if start < end {
        on(today) && (start..end).contains(&second)
    } else {
        (on(today) && second >= start) || (on(today.previous()) && second < end)
    }
}

/// The window as people write it: `Sat, Sun 02:00-06:00 Europe/Paris`.
pub fn describe(window: &MaintenanceWindow) -> String {
    let days = if window.days.is_empty() {
        "every day".to_owned()
    } else {
        window.days.join(", ")
    };
    format!(
        "{days} {}-{} {}",
        window.start, window.end, window.time_zone
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(days: &[&str], start: &str, end: &str, tz: &str) -> MaintenanceWindow {
        MaintenanceWindow {
            days: days.iter().map(|d| (*d).to_owned()).collect(),
            start: start.into(),
            end: end.into(),
            time_zone: tz.into(),
        }
    }

    #[test]
    fn a_window_opens_on_its_days_and_hours_in_its_time_zone() {
        // 2026-12-05 is a Saturday.
        let at = |s: &str| s.parse::<Timestamp>().unwrap();
        let weekend = window(&["Sat", "Sun"], "02:00", "06:00", "Europe/Paris");
        let cases = [
            (
                &weekend,
                "2026-12-05T01:30:00Z",
                true,
                "02:30 in Paris on Saturday",
            ),
            (
                &weekend,
                "2026-12-05T00:30:00Z",
                false,
                "01:30 in Paris: not yet",
            ),
            (
                &weekend,
                "2026-12-05T05:00:00Z",
                false,
                "06:00 in Paris: closed",
            ),
            (&weekend, "2026-12-04T01:30:00Z", false, "a Friday"),
        ];
        for (w, now, open, why) in cases {
            assert_eq!(is_open(w, at(now)), open, "{why}");
        }
        let overnight = window(&["Fri"], "22:00", "02:00", "UTC");
        assert!(
            is_open(&overnight, at("2026-12-04T23:00:00Z")),
            "Friday 23:00"
        );
        assert!(
            is_open(&overnight, at("2026-12-05T01:00:00Z")),
            "Saturday 01:00 is Friday's night"
        );
        assert!(
            !is_open(&overnight, at("2026-12-05T23:00:00Z")),
            "Saturday 23:00"
        );
        let daily = window(&[], "00:00", "23:59", "UTC");
        assert!(is_open(&daily, at("2026-12-01T12:00:00Z")));
        assert!(!is_open(
            &window(&[], "25:00", "02:00", "UTC"),
            at("2026-12-01T12:00:00Z")
        ));
    }
}
