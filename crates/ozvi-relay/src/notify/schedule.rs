//! When digests go out: whole hours in the centres' time zone, every hour of
//! the working hours on working days and at the every-day hours (7:00 by
//! default). A fixed schedule, not one mail per message: whether and when
//! a mail comes says as little as SecureDrop's daily digest.

use jiff::civil::Weekday;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

use super::config::{Day, NotifyConfig};

/// The schedule, resolved.
#[derive(Debug, Clone)]
pub struct Schedule {
    zone: TimeZone,
    working_days: Vec<Weekday>,
    working_hours: Vec<i8>,
    every_day_at: Vec<i8>,
}

fn weekday(day: Day) -> Weekday {
    match day {
        Day::Mon => Weekday::Monday,
        Day::Tue => Weekday::Tuesday,
        Day::Wed => Weekday::Wednesday,
        Day::Thu => Weekday::Thursday,
        Day::Fri => Weekday::Friday,
        Day::Sat => Weekday::Saturday,
        Day::Sun => Weekday::Sunday,
    }
}

fn hours(list: &[u8]) -> Vec<i8> {
    list.iter().filter_map(|h| i8::try_from(*h).ok()).collect()
}

impl Schedule {
    /// The schedule of a validated configuration.
    pub fn new(config: &NotifyConfig) -> anyhow::Result<Self> {
        Ok(Self {
            zone: TimeZone::get(&config.timezone)?,
            working_days: config.working_days.iter().copied().map(weekday).collect(),
            working_hours: hours(&config.working_hours),
            every_day_at: hours(&config.every_day_at),
        })
    }

    /// Whether the whole hour that starts at `at` is a slot.
    fn is_slot(&self, at: &jiff::Zoned) -> bool {
        let hour = at.hour();
        self.every_day_at.contains(&hour)
            || (self.working_days.contains(&at.weekday()) && self.working_hours.contains(&hour))
    }

    /// The first slot strictly after `now` (Unix seconds), as Unix seconds;
    /// `None` if there is none within eight days (an empty schedule).
    pub fn next_after(&self, now: u64) -> Option<u64> {
        let now = Timestamp::from_second(i64::try_from(now).ok()?).ok()?;
        let zoned = now.to_zoned(self.zone.clone());
        // The start of the current hour in the zone; then hour by hour (on
        // the time line, so a daylight-saving change neither repeats nor
        // skips a slot).
        let mut at = zoned
            .with()
            .minute(0)
            .second(0)
            .subsec_nanosecond(0)
            .build()
            .ok()?;
        for _ in 0..(8 * 24 + 2) {
            at = at.checked_add(1.hour()).ok()?;
            if at.timestamp() > now && self.is_slot(&at) {
                return u64::try_from(at.timestamp().as_second()).ok();
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Unix seconds of a Prague wall-clock time.
    fn prague(text: &str) -> u64 {
        let zoned: jiff::Zoned = format!("{text}[Europe/Prague]").parse().expect("a time");
        u64::try_from(zoned.timestamp().as_second()).expect("after 1970")
    }

    fn default_schedule() -> Schedule {
        Schedule::new(&NotifyConfig::default()).expect("valid")
    }

    #[test]
    fn working_days_every_hour_from_eight_to_sixteen_and_seven_every_day() {
        let s = default_schedule();
        // Wednesday 2 December 2026.
        assert_eq!(
            s.next_after(prague("2026-12-02T06:59")),
            Some(prague("2026-12-02T07:00"))
        );
        assert_eq!(
            s.next_after(prague("2026-12-02T07:00")),
            Some(prague("2026-12-02T08:00"))
        );
        assert_eq!(
            s.next_after(prague("2026-12-02T12:30")),
            Some(prague("2026-12-02T13:00"))
        );
        assert_eq!(
            s.next_after(prague("2026-12-02T16:00")),
            Some(prague("2026-12-03T07:00"))
        );
        // Friday evening → Saturday 7:00 (every day) → Sunday 7:00 → Monday 7:00.
        assert_eq!(
            s.next_after(prague("2026-12-04T17:10")),
            Some(prague("2026-12-05T07:00"))
        );
        assert_eq!(
            s.next_after(prague("2026-12-05T07:00")),
            Some(prague("2026-12-06T07:00"))
        );
        assert_eq!(
            s.next_after(prague("2026-12-06T07:00")),
            Some(prague("2026-12-07T07:00"))
        );
    }

    #[test]
    fn daylight_saving_changes_neither_skip_nor_repeat_a_slot() {
        let s = default_schedule();
        // Sunday 29 March 2026: 2:00 becomes 3:00; 7:00 is still 7:00 local.
        assert_eq!(
            s.next_after(prague("2026-03-29T01:30")),
            Some(prague("2026-03-29T07:00"))
        );
        // Sunday 25 October 2026: 3:00 becomes 2:00 again.
        assert_eq!(
            s.next_after(prague("2026-10-25T01:30")),
            Some(prague("2026-10-25T07:00"))
        );
        assert_eq!(
            prague("2026-10-25T07:00") - prague("2026-10-24T07:00"),
            25 * 3600
        );
    }

    #[test]
    fn an_empty_schedule_has_no_slot() {
        let config = NotifyConfig {
            working_hours: Vec::new(),
            every_day_at: Vec::new(),
            ..NotifyConfig::default()
        };
        assert_eq!(
            Schedule::new(&config).expect("resolves").next_after(0),
            None
        );
    }
}
