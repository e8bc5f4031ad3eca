//! Assessment periods (考核周期): a year `2026`, a quarter `2026-Q3` or a month
//! `2026-07`, as calendar dates in Asia/Shanghai.

use chrono::{Datelike, NaiveDate};

use super::Invalid;

/// The assessment years the service takes.
pub const YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;

/// What a period looks like, as the spec publishes it (the years are checked
/// against [`YEARS`] besides).
pub const PATTERN: &str = "^[0-9]{4}(-[Qq][1-4]|-(0[1-9]|1[0-2]))?$";

/// Refuses a year outside [`YEARS`].
pub fn check_year(year: i32) -> Result<(), Invalid> {
    if YEARS.contains(&year) {
        Ok(())
    } else {
        Err(Invalid::new(format!(
            "must be {}–{}",
            YEARS.start(),
            YEARS.end()
        )))
    }
}

/// What a period spans.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Period {
    Year(i32),
    /// Year and quarter 1–4.
    Quarter(i32, u32),
    /// Year and month 1–12.
    Month(i32, u32),
}

impl Period {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let raw = raw.trim();
        let bad =
            || Invalid::new("a period is a year (2026), a quarter (2026-Q3) or a month (2026-07)");
        let year = |y: &str| -> Result<i32, Invalid> {
            let y: i32 = y.parse().map_err(|_| bad())?;
            if YEARS.contains(&y) && raw.len() >= 4 {
                Ok(y)
            } else {
                Err(bad())
            }
        };
        match raw.split_once('-') {
            None => Ok(Period::Year(year(raw)?)),
            Some((y, q)) if q.starts_with(['Q', 'q']) => match q[1..].parse::<u32>() {
                Ok(n @ 1..=4) => Ok(Period::Quarter(year(y)?, n)),
                _ => Err(bad()),
            },
            Some((y, m)) => match m.parse::<u32>() {
                Ok(n @ 1..=12) if m.len() == 2 => Ok(Period::Month(year(y)?, n)),
                _ => Err(bad()),
            },
        }
    }

    /// The first day.
    pub fn start(self) -> NaiveDate {
        let (y, m) = match self {
            Period::Year(y) => (y, 1),
            Period::Quarter(y, q) => (y, 3 * q - 2),
            Period::Month(y, m) => (y, m),
        };
        NaiveDate::from_ymd_opt(y, m, 1).expect("valid period")
    }

    /// The last day (inclusive).
    pub fn end(self) -> NaiveDate {
        self.next().start().pred_opt().expect("valid period")
    }

    /// The period right after this one, of the same kind.
    pub fn next(self) -> Period {
        match self {
            Period::Year(y) => Period::Year(y + 1),
            Period::Quarter(y, 4) => Period::Quarter(y + 1, 1),
            Period::Quarter(y, q) => Period::Quarter(y, q + 1),
            Period::Month(y, 12) => Period::Month(y + 1, 1),
            Period::Month(y, m) => Period::Month(y, m + 1),
        }
    }

    /// The period right before this one, of the same kind.
    pub fn previous(self) -> Period {
        match self {
            Period::Year(y) => Period::Year(y - 1),
            Period::Quarter(y, 1) => Period::Quarter(y - 1, 4),
            Period::Quarter(y, q) => Period::Quarter(y, q - 1),
            Period::Month(y, 1) => Period::Month(y - 1, 12),
            Period::Month(y, m) => Period::Month(y, m - 1),
        }
    }

    pub fn contains(self, date: NaiveDate) -> bool {
        self.start() <= date && date <= self.end()
    }

    pub fn year(self) -> i32 {
        match self {
            Period::Year(y) | Period::Quarter(y, _) | Period::Month(y, _) => y,
        }
    }

    /// The period of `kind` (as a template) that holds `date`.
    pub fn holding(self, date: NaiveDate) -> Period {
        match self {
            Period::Year(_) => Period::Year(date.year()),
            Period::Quarter(..) => Period::Quarter(date.year(), date.month0() / 3 + 1),
            Period::Month(..) => Period::Month(date.year(), date.month()),
        }
    }
}

impl std::fmt::Display for Period {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Period::Year(y) => write!(f, "{y}"),
            Period::Quarter(y, q) => write!(f, "{y}-Q{q}"),
            Period::Month(y, m) => write!(f, "{y}-{m:02}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("date")
    }

    #[test]
    fn periods_parse_span_and_step() {
        let q = Period::parse("2026-Q3").expect("quarter");
        assert_eq!((q.start(), q.end()), (d(2026, 7, 1), d(2026, 9, 30)));
        assert_eq!(q.previous().to_string(), "2026-Q2");
        assert_eq!(
            Period::parse("2026-Q1").expect("q").previous().to_string(),
            "2025-Q4"
        );
        let m = Period::parse("2024-02").expect("month");
        assert_eq!(m.end(), d(2024, 2, 29), "leap year");
        assert_eq!(
            Period::parse("2026-12").expect("m").next().to_string(),
            "2027-01"
        );
        let y = Period::parse("2026").expect("year");
        assert_eq!((y.start(), y.end()), (d(2026, 1, 1), d(2026, 12, 31)));
        assert!(q.contains(d(2026, 9, 30)) && !q.contains(d(2026, 10, 1)));
        assert_eq!(q.holding(d(2026, 11, 24)).to_string(), "2026-Q4");
        for bad in [
            "", "26", "2026-Q5", "2026-13", "2026-7", "x-Q1", "1999", "2026-Q",
        ] {
            assert!(Period::parse(bad).is_err(), "{bad}");
        }
    }
}
