//! Think time as people write it: a fixed pause (`500ms`), a uniform range
//! (`1s-3s` or `{min: 1s, max: 3s}`, Locust's `between`) or an exponential
//! pause around a mean (`{mean: 2s, dist: exponential}`, the random sleeps
//! k6 users write, and what a Poisson arrival of a user's clicks looks
//! like). Each user draws from its own seeded generator.

use crate::duration::{
    float_without_unit, parse, signed_without_unit, text, unsigned_without_unit,
};
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use std::fmt;
use std::time::Duration;

/// An exponential draw is capped at this many means: one pause in 22,000
/// would be longer, and a test should not stall on one.
pub const EXPONENTIAL_CAP: u32 = 10;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Think {
    Fixed(Duration),
    Uniform { min: Duration, max: Duration },
    Exponential { mean: Duration },
}

impl Default for Think {
    fn default() -> Self {
        Think::Fixed(Duration::ZERO)
    }
}

impl Think {
    /// One pause, drawn with `rng`.
    pub fn sample(&self, rng: &mut fastrand::Rng) -> Duration {
        match *self {
            Think::Fixed(d) => d,
            Think::Uniform { min, max } => {
                let span = (max - min).as_nanos() as u64;
                min + Duration::from_nanos(rng.u64(0..=span))
            }
            Think::Exponential { mean } => {
                // Inverse transform: -ln(U) is exponential with mean 1.
                let u = 1.0 - rng.f64(); // (0, 1]
                let factor = (-u.ln()).min(f64::from(EXPONENTIAL_CAP));
                mean.mul_f64(factor)
            }
        }
    }

    pub fn is_zero(&self) -> bool {
        *self == Think::Fixed(Duration::ZERO)
    }

    /// The longest pause it can draw.
    pub fn max(&self) -> Duration {
        match *self {
            Think::Fixed(d) => d,
            Think::Uniform { max, .. } => max,
            Think::Exponential { mean } => mean * EXPONENTIAL_CAP,
        }
    }
}

impl fmt::Display for Think {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match *self {
            Think::Fixed(d) => write!(f, "{}", human(d)),
            Think::Uniform { min, max } => write!(f, "{}-{}", human(min), human(max)),
            Think::Exponential { mean } => write!(f, "exponential, mean {}", human(mean)),
        }
    }
}

/// `d` as a person would write it: "500ms", "2s", "1.5s".
fn human(d: Duration) -> String {
    if d.subsec_millis() == 0 && d.subsec_nanos() == 0 && d.as_secs() > 0 {
        format!("{}s", d.as_secs())
    } else if d >= Duration::from_secs(1) && d.subsec_nanos().is_multiple_of(1_000_000) {
        format!("{}s", d.as_secs_f64())
    } else {
        text(d)
    }
}

const EXPECTED: &str = "a duration like 500ms, a range like 1s-3s, {min: 1s, max: 3s} or {mean: 2s, dist: exponential}";

/// `1s-3s` or `500ms`.
fn from_text(t: &str) -> Result<Think, String> {
    // A range: the '-' that follows a unit (durations are never negative).
    if let Some((a, b)) = t.split_once('-') {
        let (min, max) = (parse(a)?, parse(b)?);
        return uniform(min, max);
    }
    parse(t).map(Think::Fixed)
}

fn uniform(min: Duration, max: Duration) -> Result<Think, String> {
    if min > max {
        return Err(format!(
            "the range's minimum {} is above its maximum {}",
            human(min),
            human(max)
        ));
    }
    Ok(Think::Uniform { min, max })
}

impl<'de> Deserialize<'de> for Think {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Think;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(EXPECTED)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Think, E> {
                from_text(v).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Think, E> {
                Err(E::custom(unsigned_without_unit(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Think, E> {
                Err(E::custom(signed_without_unit(v)))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Think, E> {
                Err(E::custom(float_without_unit(v)))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Think, A::Error> {
                let (mut min, mut max, mut mean, mut dist) = (None, None, None, None);
                while let Some(key) = m.next_key::<String>()? {
                    let value: String = m.next_value()?;
                    let slot = match key.as_str() {
                        "min" => &mut min,
                        "max" => &mut max,
                        "mean" => &mut mean,
                        "dist" => &mut dist,
                        other => {
                            return Err(de::Error::custom(format!(
                                "unknown key {other:?}: expected {EXPECTED}"
                            )));
                        }
                    };
                    *slot = Some(value);
                }
                let dur =
                    |k: &str, v: &str| parse(v).map_err(|e| de::Error::custom(format!("{k}: {e}")));
                match (min, max, mean, dist.as_deref()) {
                    (Some(a), Some(b), None, None | Some("uniform")) => {
                        uniform(dur("min", &a)?, dur("max", &b)?).map_err(de::Error::custom)
                    }
                    (None, None, Some(m), Some("exponential")) => Ok(Think::Exponential {
                        mean: dur("mean", &m)?,
                    }),
                    (None, None, Some(_), None) => Err(de::Error::custom(
                        "a mean needs its distribution: {mean: 2s, dist: exponential}",
                    )),
                    _ => Err(de::Error::custom(format!("expected {EXPECTED}"))),
                }
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn think(yaml: &str) -> Result<Think, String> {
        serde_yaml::from_str(yaml).map_err(|e| e.to_string())
    }

    #[test]
    fn every_written_form_parses() {
        let s = Duration::from_secs;
        assert_eq!(
            think("500ms").unwrap(),
            Think::Fixed(Duration::from_millis(500))
        );
        assert_eq!(
            think("1s-3s").unwrap(),
            Think::Uniform {
                min: s(1),
                max: s(3)
            }
        );
        assert_eq!(
            think("{min: 1s, max: 3s}").unwrap(),
            Think::Uniform {
                min: s(1),
                max: s(3)
            }
        );
        assert_eq!(
            think("{mean: 2s, dist: exponential}").unwrap(),
            Think::Exponential { mean: s(2) }
        );
        assert!(think("3s-1s").unwrap_err().contains("above its maximum"));
        assert!(
            think("{mean: 2s}")
                .unwrap_err()
                .contains("dist: exponential")
        );
        assert!(
            think("{min: 1s}")
                .unwrap_err()
                .contains("{min: 1s, max: 3s}")
        );
        assert!(think("[1s]").unwrap_err().contains("a range like 1s-3s"));
        assert!(think("5").unwrap_err().contains("add a unit"));
    }

    #[test]
    fn draws_stay_in_range_and_average_to_the_mean() {
        let mut rng = fastrand::Rng::with_seed(7);
        let u = Think::Uniform {
            min: Duration::from_secs(1),
            max: Duration::from_secs(3),
        };
        let draws: Vec<Duration> = (0..10_000).map(|_| u.sample(&mut rng)).collect();
        assert!(
            draws
                .iter()
                .all(|d| (Duration::from_secs(1)..=Duration::from_secs(3)).contains(d))
        );
        let mean = draws.iter().sum::<Duration>() / 10_000;
        assert!((1.95..2.05).contains(&mean.as_secs_f64()), "{mean:?}");
        let e = Think::Exponential {
            mean: Duration::from_secs(2),
        };
        let draws: Vec<Duration> = (0..20_000).map(|_| e.sample(&mut rng)).collect();
        let mean = draws.iter().sum::<Duration>() / 20_000;
        assert!((1.9..2.1).contains(&mean.as_secs_f64()), "{mean:?}");
        assert!(draws.iter().all(|d| *d <= e.max()));
        // Exponential: about 63% of draws fall under the mean.
        let under = draws
            .iter()
            .filter(|d| **d < Duration::from_secs(2))
            .count();
        assert!((12_200..13_100).contains(&under), "{under}");
    }

    #[test]
    fn it_prints_as_written() {
        assert_eq!(think("1s-3s").unwrap().to_string(), "1s-3s");
        assert_eq!(think("500ms").unwrap().to_string(), "500ms");
        assert_eq!(think("1.5s").unwrap().to_string(), "1.5s");
        assert_eq!(
            think("{mean: 2s, dist: exponential}").unwrap().to_string(),
            "exponential, mean 2s"
        );
    }
}
