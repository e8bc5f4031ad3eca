//! 行政区划: division codes and levels.

use std::fmt;

use poem_openapi::Enum;
use sea_orm::{DeriveActiveEnum, EnumIter, sea_query::StringLen};
use serde::{Deserialize, Serialize};

use super::Invalid;

/// Administrative level of a region (city 市, county 县/区, town 乡镇/街道).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Enum,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::N(16))",
    rename_all = "snake_case"
)]
pub enum RegionLevel {
    City,
    County,
    Town,
}

impl RegionLevel {
    /// The level a parent of this level must have; `None` for a root (city).
    pub fn parent_level(self) -> Option<RegionLevel> {
        match self {
            RegionLevel::City => None,
            RegionLevel::County => Some(RegionLevel::City),
            RegionLevel::Town => Some(RegionLevel::County),
        }
    }
}

/// A division code: 6 digits (GB/T 2260) for cities and counties, 9 digits
/// (GB/T 10114 town extension) for towns and streets.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RegionCode(String);

impl RegionCode {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let code = raw.trim();
        if !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Invalid::new("must contain digits only"));
        }
        if code.len() != 6 && code.len() != 9 {
            return Err(Invalid::new(format!(
                "must be a 6-digit division code (or 9 digits for a town), got {} digits",
                code.len()
            )));
        }
        if code.starts_with("00") {
            return Err(Invalid::new("province part 00 does not exist"));
        }
        Ok(Self(code.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Checks that this code fits `level` and, when given, lies inside `parent`'s code:
    /// a city is `PPCC00`, a county `PPCCDD` under its city's `PPCC`, a town 9 digits
    /// under its county's 6.
    pub fn check_fits(
        &self,
        level: RegionLevel,
        parent: Option<&RegionCode>,
    ) -> Result<(), Invalid> {
        let c = self.as_str();
        match level {
            RegionLevel::City if c.len() != 6 || !c.ends_with("00") => {
                Err(Invalid::new("a city code has 6 digits ending in 00"))
            }
            RegionLevel::County if c.len() != 6 || c.ends_with("00") => {
                Err(Invalid::new("a county code has 6 digits not ending in 00"))
            }
            RegionLevel::Town if c.len() != 9 => Err(Invalid::new("a town code has 9 digits")),
            _ => Ok(()),
        }?;
        if let Some(parent) = parent {
            let prefix = match level {
                RegionLevel::County => &parent.as_str()[..4],
                _ => parent.as_str(),
            };
            if !c.starts_with(prefix) {
                return Err(Invalid::new(format!(
                    "code {c} does not lie within parent {parent}"
                )));
            }
        }
        Ok(())
    }
}

impl fmt::Display for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Materialised path used for subtree queries: `/320700/320703/`.
pub fn child_path(parent_path: Option<&str>, code: &RegionCode) -> String {
    format!("{}{}/", parent_path.unwrap_or("/"), code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(s: &str) -> RegionCode {
        RegionCode::parse(s).unwrap()
    }

    #[test]
    fn parses_six_and_nine_digit_codes() {
        assert!(RegionCode::parse("320700").is_ok());
        assert!(RegionCode::parse("320703001").is_ok());
        assert!(RegionCode::parse("32070").is_err());
        assert!(RegionCode::parse("32070a").is_err());
        assert!(RegionCode::parse("000000").is_err());
    }

    #[test]
    fn codes_must_fit_level_and_parent() {
        let city = code("320700");
        assert!(city.check_fits(RegionLevel::City, None).is_ok());
        assert!(
            code("320703")
                .check_fits(RegionLevel::County, Some(&city))
                .is_ok()
        );
        assert!(
            code("320803")
                .check_fits(RegionLevel::County, Some(&city))
                .is_err()
        );
        assert!(
            code("320700")
                .check_fits(RegionLevel::County, Some(&city))
                .is_err()
        );
        let county = code("320703");
        assert!(
            code("320703001")
                .check_fits(RegionLevel::Town, Some(&county))
                .is_ok()
        );
        assert!(
            code("320704001")
                .check_fits(RegionLevel::Town, Some(&county))
                .is_err()
        );
        assert!(
            code("320703")
                .check_fits(RegionLevel::Town, Some(&county))
                .is_err()
        );
    }
}
