//! Working days (工作日) in Asia/Shanghai with the official holiday calendar, make-up
//! working days (调休) included, for ticket deadlines.
//!
//! A year's calendar is a CSV of `date,kind,name` lines (`kind` is `holiday` or
//! `workday`; `#` starts a comment): the official 2025 and 2026 calendars ship in
//! `api/data/calendar/`, and bureaus load further years in the same format. A day is a
//! working day when the calendar says `workday` (a weekend made a working day), or it
//! is Monday–Friday and the calendar does not say `holiday`.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};

/// Shanghai's offset from UTC (no daylight saving since 1991).
const SHANGHAI_HOURS: i64 = 8;

/// The calendar date in Asia/Shanghai at instant `t`.
pub fn shanghai_date(t: DateTime<Utc>) -> NaiveDate {
    (t + Duration::hours(SHANGHAI_HOURS)).date_naive()
}

/// The end of `date` in Asia/Shanghai: the instant the next day begins there.
pub fn end_of_shanghai_day(date: NaiveDate) -> DateTime<Utc> {
    let next_midnight = (date + Duration::days(1)).and_time(NaiveTime::MIN);
    Utc.from_utc_datetime(&next_midnight) - Duration::hours(SHANGHAI_HOURS)
}

/// What the calendar says about a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayKind {
    /// 放假: no work, whatever the weekday.
    Holiday,
    /// 调休上班: a weekend day worked.
    Workday,
}

/// One line of a year's calendar.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CalendarDay {
    pub date: NaiveDate,
    pub kind: DayKind,
    /// e.g. 春节, 国庆节调休上班.
    pub name: String,
}

/// A rejected calendar line: its 1-based line number in the file and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    pub line: u64,
    pub reason: String,
}

/// Parses a year's calendar CSV and checks every line: dates in `year`, each date
/// once, `workday` only on a Saturday or Sunday. All errors are reported.
/// The header line of a calendar file.
pub const HEADER: [&str; 3] = ["date", "kind", "name"];

pub fn parse_year(year: i32, text: &str) -> Result<Vec<CalendarDay>, Vec<LineError>> {
    let mut reader = csv::ReaderBuilder::new()
        .comment(Some(b'#'))
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut errors = Vec::new();
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            return Err(vec![LineError {
                line: 1,
                reason: e.to_string(),
            }]);
        }
    };
    if headers.iter().collect::<Vec<_>>() != HEADER {
        return Err(vec![LineError {
            line: reader.position().line().max(1),
            reason: format!("the first line must be the header {}", HEADER.join(",")),
        }]);
    }
    let mut days = Vec::new();
    let mut seen = BTreeSet::new();
    let mut record = csv::StringRecord::new();
    loop {
        let line = reader.position().line();
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                errors.push(LineError {
                    line,
                    reason: e.to_string(),
                });
                continue;
            }
        }
        let line = record.position().map_or(line, |p| p.line());
        let reason = match record.deserialize::<CalendarDay>(Some(&headers)) {
            Err(e) => Some(match e.kind() {
                csv::ErrorKind::Deserialize { err, .. } => err.to_string(),
                _ => e.to_string(),
            }),
            Ok(day) if day.date.year() != year => Some(format!("{} is not in {year}", day.date)),
            Ok(day) if !seen.insert(day.date) => Some(format!("{} appears twice", day.date)),
            Ok(day) if day.kind == DayKind::Workday && !is_weekend(day.date) => Some(format!(
                "{} is a weekday; only a Saturday or Sunday can be made a working day",
                day.date
            )),
            Ok(day) => {
                days.push(day);
                None
            }
        };
        if let Some(reason) = reason {
            errors.push(LineError { line, reason });
        }
    }
    if errors.is_empty() {
        Ok(days)
    } else {
        Err(errors)
    }
}

fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

/// A deadline and whether it could be computed from known calendars only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    /// The instant the deadline passes (end of the last working day, Shanghai).
    pub due: DateTime<Utc>,
    /// True when a day counted lies in a year without a loaded calendar, where
    /// Monday–Friday was assumed.
    pub approximate: bool,
}

/// The working-day calendar: the years loaded and their special days.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkCalendar {
    days: BTreeMap<NaiveDate, DayKind>,
    years: BTreeSet<i32>,
}

/// The official calendars shipped with Pingjia: (year, CSV).
pub const OFFICIAL: [(i32, &str); 2] = [
    (2025, include_str!("../../data/calendar/2025.csv")),
    (2026, include_str!("../../data/calendar/2026.csv")),
];

impl WorkCalendar {
    /// The shipped official calendars (2025, 2026).
    pub fn official() -> Self {
        let mut calendar = Self::default();
        for (year, text) in OFFICIAL {
            // The shipped files are checked by a test; a bad one would be skipped.
            if let Ok(days) = parse_year(year, text) {
                calendar.set_year(year, days);
            }
        }
        calendar
    }

    /// Replaces `year` with `days` (already checked by [`parse_year`]).
    pub fn set_year(&mut self, year: i32, days: Vec<CalendarDay>) {
        self.days.retain(|d, _| d.year() != year);
        self.days
            .extend(days.into_iter().map(|day| (day.date, day.kind)));
        self.years.insert(year);
    }

    /// Years with a loaded calendar.
    pub fn years(&self) -> impl Iterator<Item = i32> + '_ {
        self.years.iter().copied()
    }

    /// The holidays and make-up working days of `year`, in date order.
    pub fn special_days(&self, year: i32) -> Vec<(NaiveDate, DayKind)> {
        self.days
            .iter()
            .filter(|(d, _)| d.year() == year)
            .map(|(d, k)| (*d, *k))
            .collect()
    }

    pub fn covers(&self, year: i32) -> bool {
        self.years.contains(&year)
    }

    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        match self.days.get(&date) {
            Some(DayKind::Workday) => true,
            Some(DayKind::Holiday) => false,
            None => !is_weekend(date),
        }
    }

    /// The deadline `working_days` working days after `received`: the day of receipt
    /// is not counted (期间开始之日不计算在内), counting starts on the next day and the
    /// deadline passes when the last counted working day ends in Asia/Shanghai. Zero
    /// days means the end of the day of receipt.
    pub fn deadline(&self, received: DateTime<Utc>, working_days: u32) -> Deadline {
        let mut date = shanghai_date(received);
        let mut approximate = false;
        let mut left = working_days;
        while left > 0 {
            date += Duration::days(1);
            approximate |= !self.covers(date.year());
            if self.is_working_day(date) {
                left -= 1;
            }
        }
        Deadline {
            due: end_of_shanghai_day(date),
            approximate,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("date")
    }

    /// 09:00 Shanghai on a date.
    fn morning(date: NaiveDate) -> DateTime<Utc> {
        end_of_shanghai_day(date) - Duration::hours(15)
    }

    #[test]
    fn the_shipped_calendars_parse_and_match_the_state_council_notices() {
        for (year, text) in OFFICIAL {
            let days = parse_year(year, text).expect("shipped calendar");
            let holidays = days.iter().filter(|d| d.kind == DayKind::Holiday).count();
            let workdays = days.iter().filter(|d| d.kind == DayKind::Workday).count();
            // 2025: 1 + 8 + 3 + 5 + 3 + 8 days off, 5 make-up days;
            // 2026: 3 + 9 + 3 + 5 + 3 + 3 + 7 days off, 6 make-up days.
            let expected = if year == 2025 { (28, 5) } else { (33, 6) };
            assert_eq!((holidays, workdays), expected, "{year}");
        }
        let c = WorkCalendar::official();
        assert!(c.covers(2025) && c.covers(2026) && !c.covers(2027));
        assert!(!c.is_working_day(d(2026, 2, 16)), "春节");
        assert!(
            c.is_working_day(d(2026, 2, 14)),
            "Saturday made a working day"
        );
        assert!(
            !c.is_working_day(d(2026, 2, 21)),
            "Saturday inside the holiday"
        );
        assert!(c.is_working_day(d(2026, 10, 9)), "ordinary Friday");
        assert!(!c.is_working_day(d(2026, 10, 11)), "ordinary Sunday");
    }

    #[test]
    fn deadlines_skip_holidays_and_count_make_up_days() {
        let c = WorkCalendar::official();
        // Friday 24 Jan 2025, 3 days: Sun 26 (调休) 1, Mon 27 2, 28 Jan–4 Feb off,
        // Wed 5 Feb 3.
        let due = c.deadline(morning(d(2025, 1, 24)), 3);
        assert_eq!(due.due, end_of_shanghai_day(d(2025, 2, 5)));
        assert!(!due.approximate);
        // Wednesday 30 Sep 2026, 5 days: 1–7 Oct off, Thu 8 1, Fri 9 2, Sat 10 (调休)
        // 3, Sun 11 off, Mon 12 4, Tue 13 5.
        let due = c.deadline(morning(d(2026, 9, 30)), 5);
        assert_eq!(due.due, end_of_shanghai_day(d(2026, 10, 13)));
        // 15 days from Monday 9 Feb 2026 across the Spring Festival: 10–13 Feb (4),
        // Sat 14 调休 (5), 15–23 off, 24–27 (9), Sat 28 调休 (10), 2–6 Mar (15).
        let due = c.deadline(morning(d(2026, 2, 9)), 15);
        assert_eq!(due.due, end_of_shanghai_day(d(2026, 3, 6)));
        // Zero days: the end of the day of receipt.
        let due = c.deadline(morning(d(2026, 3, 2)), 0);
        assert_eq!(due.due, end_of_shanghai_day(d(2026, 3, 2)));
    }

    #[test]
    fn the_day_of_receipt_is_the_shanghai_date() {
        let c = WorkCalendar::official();
        // 17:00 UTC on Thursday 5 Mar 2026 is 01:00 Friday 6 Mar in Shanghai: one
        // working day later is Monday 9 Mar, not Friday.
        let received = Utc
            .with_ymd_and_hms(2026, 3, 5, 17, 0, 0)
            .single()
            .expect("time");
        assert_eq!(shanghai_date(received), d(2026, 3, 6));
        assert_eq!(
            c.deadline(received, 1).due,
            end_of_shanghai_day(d(2026, 3, 9))
        );
        // The deadline passes at Shanghai midnight, 16:00 UTC.
        assert_eq!(
            end_of_shanghai_day(d(2026, 3, 9)),
            Utc.with_ymd_and_hms(2026, 3, 9, 16, 0, 0)
                .single()
                .expect("time")
        );
    }

    #[test]
    fn years_without_a_calendar_are_weekdays_and_flagged() {
        let mut c = WorkCalendar::official();
        // Wednesday 30 Dec 2026, 3 days: Thu 31 (known), then Fri 1 Jan 2027 and
        // Mon 4 Jan 2027 from an unknown year.
        let due = c.deadline(morning(d(2026, 12, 30)), 3);
        assert_eq!(due.due, end_of_shanghai_day(d(2027, 1, 4)));
        assert!(due.approximate);
        // Loading 2027 (元旦 on 1 Jan) makes it exact and moves it.
        let days = parse_year(2027, "date,kind,name\n2027-01-01,holiday,元旦\n").expect("2027");
        c.set_year(2027, days);
        let due = c.deadline(morning(d(2026, 12, 30)), 3);
        assert_eq!(due.due, end_of_shanghai_day(d(2027, 1, 5)));
        assert!(!due.approximate);
    }

    #[test]
    fn bad_calendar_lines_are_all_reported() {
        let text = "date,kind,name\n\
                    2027-01-01,holiday,元旦\n\
                    2026-12-31,holiday,wrong year\n\
                    2027-01-01,holiday,twice\n\
                    2027-01-06,workday,a Wednesday\n\
                    2027-13-01,holiday,no such month\n\
                    2027-02-01,vacation,unknown kind\n";
        let errors = parse_year(2027, text).expect_err("bad lines");
        assert_eq!(errors.len(), 5, "{errors:?}");
        let lines: Vec<u64> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [3, 4, 5, 6, 7], "{errors:?}");
        assert!(errors[0].reason.contains("not in 2027"), "{errors:?}");
        assert!(errors[1].reason.contains("twice"), "{errors:?}");
        assert!(errors[2].reason.contains("weekday"), "{errors:?}");
        assert!(errors[3].reason.contains("input"), "{errors:?}");
        assert!(errors[4].reason.contains("variant"), "{errors:?}");
    }
}
