//! Value types of the manifest that are written as strings: durations (`250ms`),
//! rates (`50/s`) and byte rates (`64KiB/s`).

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A duration written as `<number><unit>`, unit one of `ms`, `s`, `m`, `h`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span(pub Duration);

impl Span {
    pub fn from_millis(ms: u64) -> Self {
        Span(Duration::from_millis(ms))
    }
}

impl FromStr for Span {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if text.starts_with('-') {
            return Err(format!(
                "`{text}` is negative; a duration is zero or more, such as `250ms`"
            ));
        }
        let split = text
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(text.len());
        let (number, unit) = text.split_at(split);
        let value: f64 = number.parse().map_err(|_| {
            format!("`{text}` is not a duration; write a number and a unit, such as `250ms`, `5s` or `2m`")
        })?;
        let millis = match unit.trim() {
            "ms" => value,
            "s" => value * 1_000.0,
            "m" => value * 60_000.0,
            "h" => value * 3_600_000.0,
            "" => {
                return Err(format!(
                    "`{text}` has no unit; write `{text}ms` or `{text}s`"
                ));
            }
            other => {
                return Err(format!(
                    "`{other}` is not a duration unit in `{text}`; use ms, s, m or h"
                ));
            }
        };
        Ok(Span(Duration::from_micros((millis * 1_000.0).round() as u64)))
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0.as_millis();
        if ms % 1_000 == 0 && ms > 0 {
            write!(f, "{}s", ms / 1_000)
        } else {
            write!(f, "{ms}ms")
        }
    }
}

/// Requests allowed per time unit, written `50/s` or `600/m`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub count: f64,
    pub per: Duration,
}

impl Rate {
    /// Tokens added per second.
    pub fn per_second(&self) -> f64 {
        self.count / self.per.as_secs_f64()
    }
}

impl FromStr for Rate {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let hint = "write a count per unit, such as `50/s` or `600/m`";
        let (count, unit) = text
            .trim()
            .split_once('/')
            .ok_or_else(|| format!("`{text}` is not a rate; {hint}"))?;
        let count: f64 = count
            .trim()
            .parse()
            .map_err(|_| format!("`{text}` is not a rate: `{count}` is not a number; {hint}"))?;
        if !(count > 0.0 && count.is_finite()) {
            return Err(format!("`{text}` must allow more than zero requests; {hint}"));
        }
        let per = match unit.trim() {
            "s" | "sec" | "second" => Duration::from_secs(1),
            "m" | "min" | "minute" => Duration::from_secs(60),
            "h" | "hour" => Duration::from_secs(3_600),
            other => return Err(format!("`{other}` is not a rate unit in `{text}`; use s, m or h")),
        };
        Ok(Rate { count, per })
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = match self.per.as_secs() {
            60 => "m",
            3_600 => "h",
            _ => "s",
        };
        write!(f, "{}/{unit}", self.count)
    }
}

/// Bytes per second, written `64KiB/s`, `1MB/s` or `500B/s`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRate(pub u64);

impl FromStr for ByteRate {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let hint = "write bytes per second, such as `64KiB/s` or `1MB/s`";
        let amount = text
            .trim()
            .strip_suffix("/s")
            .ok_or_else(|| format!("`{text}` is not a bandwidth; {hint}"))?;
        let split = amount
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(amount.len());
        let (number, unit) = amount.split_at(split);
        let value: f64 = number
            .parse()
            .map_err(|_| format!("`{text}` is not a bandwidth; {hint}"))?;
        let scale = match unit.trim() {
            "" | "B" => 1.0,
            "KB" | "kB" => 1e3,
            "MB" => 1e6,
            "GB" => 1e9,
            "KiB" => 1024.0,
            "MiB" => 1024.0 * 1024.0,
            "GiB" => 1024.0 * 1024.0 * 1024.0,
            other => return Err(format!("`{other}` is not a byte unit in `{text}`; {hint}")),
        };
        let bytes = (value * scale).round() as u64;
        if bytes == 0 {
            return Err(format!("`{text}` must be more than zero; {hint}"));
        }
        Ok(ByteRate(bytes))
    }
}

impl fmt::Display for ByteRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}B/s", self.0)
    }
}

macro_rules! string_value {
    ($ty:ty, $name:literal, $pattern:literal, $description:literal) => {
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }

        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl JsonSchema for $ty {
            fn schema_name() -> Cow<'static, str> {
                Cow::Borrowed($name)
            }

            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                json_schema!({
                    "type": "string",
                    "pattern": $pattern,
                    "description": $description,
                })
            }
        }
    };
}

string_value!(
    Span,
    "Duration",
    "^[0-9]+(\\.[0-9]+)?(ms|s|m|h)$",
    "A duration such as `250ms`, `5s` or `2m`."
);
string_value!(
    Rate,
    "Rate",
    "^[0-9]+(\\.[0-9]+)?/(s|m|h)$",
    "Requests per unit of time, such as `50/s` or `600/m`."
);
string_value!(
    ByteRate,
    "ByteRate",
    "^[0-9]+(\\.[0-9]+)?(B|KB|kB|MB|GB|KiB|MiB|GiB)?/s$",
    "Bytes per second, such as `64KiB/s`."
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!("250ms".parse::<Span>().unwrap().0, Duration::from_millis(250));
        assert_eq!("5s".parse::<Span>().unwrap().0, Duration::from_secs(5));
        assert_eq!("2m".parse::<Span>().unwrap().0, Duration::from_secs(120));
        assert_eq!("1.5s".parse::<Span>().unwrap().0, Duration::from_millis(1_500));
        assert!("5".parse::<Span>().unwrap_err().contains("no unit"));
        assert!("-5s".parse::<Span>().unwrap_err().contains("negative"));
        assert!("5 parsecs".parse::<Span>().is_err());
    }

    #[test]
    fn rates_parse_per_unit() {
        let rate: Rate = "600/m".parse().unwrap();
        assert!((rate.per_second() - 10.0).abs() < 1e-9);
        assert!("ten/s".parse::<Rate>().unwrap_err().contains("not a number"));
        assert!("0/s".parse::<Rate>().is_err());
        assert!("5/fortnight".parse::<Rate>().is_err());
    }

    #[test]
    fn byte_rates_parse_binary_and_decimal_units() {
        assert_eq!("64KiB/s".parse::<ByteRate>().unwrap().0, 65_536);
        assert_eq!("1MB/s".parse::<ByteRate>().unwrap().0, 1_000_000);
        assert!("64KiB".parse::<ByteRate>().is_err());
    }
}
