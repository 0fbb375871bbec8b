//! Waves and their limits: wave 0 is the canary (the selected ORBs labelled `canary: true`, else
//! the first selected ORB), then named waves (each a selector; an ORB goes to the first that
//! matches) or automatic waves of a size. ORBs that a named wave does not take are Unassigned:
//! listed, never pushed. Limits are counts or percentages of the wave, by Argo CD's rule: `0%`
//! is 0, any other percentage rounds down with a floor of 1. Pure.

use crate::fleet::config::OrbEntry;
use crate::fleet::selector::{Selector, SelectorError};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A number of ORBs, or a percentage of a wave's ORBs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// So many ORBs.
    Count(usize),
    /// This percentage of the wave (0 to 100).
    Percent(u32),
}

impl Limit {
    /// The limit for a wave of `total` ORBs: a count as it is (at most `total`); `0%` is 0; a
    /// positive percentage rounds down with a floor of 1.
    pub fn resolve(self, total: usize) -> usize {
        match self {
            Limit::Count(n) => n.min(total),
            Limit::Percent(0) => 0,
            Limit::Percent(p) => (total * p as usize / 100).max(1).min(total),
        }
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Limit::Count(n) => write!(f, "{n}"),
            Limit::Percent(p) => write!(f, "{p}%"),
        }
    }
}

impl FromStr for Limit {
    type Err = String;

    fn from_str(s: &str) -> Result<Limit, String> {
        let s = s.trim();
        let bad = || format!("{s:?}: expected a count (2) or a percentage (25%)");
        match s.strip_suffix('%') {
            Some(p) => match p.trim().parse::<u32>() {
                Ok(p) if p <= 100 => Ok(Limit::Percent(p)),
                Ok(_) => Err(format!("{s:?}: a percentage is at most 100%")),
                Err(_) => Err(bad()),
            },
            None => s.parse().map(Limit::Count).map_err(|_| bad()),
        }
    }
}

impl Serialize for Limit {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Limit {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Limit, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// How the ORBs after the canary are grouped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grouping {
    /// Waves of this many ORBs, in fleet order.
    Auto(usize),
    /// Named waves, each with its selector, in this order.
    Named(Vec<(String, Selector)>),
}

/// One wave: its name and ORBs, in fleet order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Wave {
    /// `canary`, `wave 1`, or the name given.
    pub name: String,
    /// Its ORBs.
    pub orbs: Vec<String>,
    /// Its own `maxConcurrent`, instead of the rollout's (`--wave-limit`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrent: Option<Limit>,
    /// Its own `maxUnavailable`, instead of the rollout's (`--wave-limit`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_unavailable: Option<Limit>,
}

/// One `--wave-limit WAVE:FIELD=LIMIT`: a wave's own maxConcurrent or maxUnavailable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaveLimit {
    /// The wave's name (`canary`, `wave 1`, or a named wave's).
    pub wave: String,
    /// maxUnavailable (true) or maxConcurrent (false).
    pub unavailable: bool,
    /// The limit.
    pub limit: Limit,
}

/// Parses `WAVE:maxConcurrent=N` or `WAVE:maxUnavailable=N%` (`--wave-limit`).
pub fn parse_wave_limit(text: &str) -> Result<WaveLimit, String> {
    let bad = || {
        format!(
            "--wave-limit {text:?}: expected WAVE:maxConcurrent=LIMIT or WAVE:maxUnavailable=LIMIT, e.g. canary:maxUnavailable=1 or \"wave 1:maxConcurrent=50%\""
        )
    };
    let (wave, setting) = text.rsplit_once(':').ok_or_else(bad)?;
    let (field, value) = setting.split_once('=').ok_or_else(bad)?;
    let unavailable = match field.trim() {
        "maxUnavailable" => true,
        "maxConcurrent" => false,
        _ => return Err(bad()),
    };
    let limit = value
        .parse()
        .map_err(|e: String| format!("--wave-limit {wave}: {e}"))?;
    if wave.trim().is_empty() {
        return Err(bad());
    }
    Ok(WaveLimit {
        wave: wave.trim().to_string(),
        unavailable,
        limit,
    })
}

/// Parses `NAME=SELECTOR` (a named wave from `--wave`).
pub fn parse_named(text: &str) -> Result<(String, Selector), String> {
    let Some((name, selector)) = text.split_once(':').filter(|(n, _)| !n.trim().is_empty()) else {
        return Err(format!(
            "--wave {text:?}: expected NAME:SELECTOR, e.g. eu:region=eu or first:name in (a,b)"
        ));
    };
    let selector =
        Selector::parse(selector).map_err(|e: SelectorError| format!("--wave {name}: {e}"))?;
    Ok((name.trim().to_string(), selector))
}

/// The waves of `selected` (in fleet order), and the ORBs no wave takes.
pub fn assign(selected: &[&OrbEntry], grouping: &Grouping) -> (Vec<Wave>, Vec<String>) {
    let labelled: Vec<&OrbEntry> = selected
        .iter()
        .copied()
        .filter(|o| o.labels.get("canary").is_some_and(|v| v == "true"))
        .collect();
    let canary: Vec<&OrbEntry> = if labelled.is_empty() {
        selected.iter().copied().take(1).collect()
    } else {
        labelled
    };
    let rest: Vec<&OrbEntry> = selected
        .iter()
        .copied()
        .filter(|o| !canary.iter().any(|c| c.name == o.name))
        .collect();
    let names = |orbs: &[&OrbEntry]| orbs.iter().map(|o| o.name.clone()).collect::<Vec<_>>();
    let mut waves = vec![Wave {
        name: "canary".into(),
        orbs: names(&canary),
        max_concurrent: None,
        max_unavailable: None,
    }];
    let mut unassigned = Vec::new();
    match grouping {
        Grouping::Auto(size) => {
            for (i, chunk) in rest.chunks((*size).max(1)).enumerate() {
                waves.push(Wave {
                    name: format!("wave {}", i + 1),
                    orbs: names(chunk),
                    max_concurrent: None,
                    max_unavailable: None,
                });
            }
        }
        Grouping::Named(named) => {
            let mut named_waves: Vec<Wave> = named
                .iter()
                .map(|(name, _)| Wave {
                    name: name.clone(),
                    orbs: Vec::new(),
                    max_concurrent: None,
                    max_unavailable: None,
                })
                .collect();
            for orb in rest {
                match named.iter().position(|(_, s)| s.matches(orb)) {
                    Some(i) => named_waves[i].orbs.push(orb.name.clone()),
                    None => unassigned.push(orb.name.clone()),
                }
            }
            waves.extend(named_waves);
        }
    }
    (waves, unassigned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wave_limits_parse_and_say_what_is_wrong() {
        assert_eq!(
            parse_wave_limit("wave 1:maxConcurrent=50%").unwrap(),
            WaveLimit {
                wave: "wave 1".into(),
                unavailable: false,
                limit: Limit::Percent(50)
            }
        );
        assert!(
            parse_wave_limit("canary:maxUnavailable=1")
                .unwrap()
                .unavailable
        );
        for bad in [
            "canary",
            "canary:max=1",
            ":maxUnavailable=1",
            "eu:maxUnavailable=x",
        ] {
            let e = parse_wave_limit(bad).unwrap_err();
            assert!(e.starts_with("--wave-limit"), "{bad}: {e}");
        }
    }

    #[test]
    fn limits_follow_argo_percentage_rules() {
        let p = |s: &str, n| s.parse::<Limit>().unwrap().resolve(n);
        assert_eq!(p("0%", 10), 0);
        assert_eq!(p("10%", 5), 1, "rounds down with a floor of 1");
        assert_eq!(p("50%", 5), 2);
        assert_eq!(p("100%", 5), 5);
        assert_eq!(p("3", 2), 2, "a count is at most the wave");
        assert_eq!(p("0", 4), 0);
        assert!("150%".parse::<Limit>().is_err());
        assert!(
            "two"
                .parse::<Limit>()
                .unwrap_err()
                .contains("expected a count")
        );
        assert_eq!(Limit::Percent(25).to_string(), "25%");
    }

    fn orb(name: &str, labels: &[(&str, &str)]) -> OrbEntry {
        let mut o = OrbEntry::live_only(name);
        o.labels = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        o
    }

    #[test]
    fn canary_then_auto_or_named_waves_and_the_unassigned() {
        let orbs = [
            orb("a", &[("region", "eu")]),
            orb("b", &[("region", "eu"), ("canary", "true")]),
            orb("c", &[("region", "us")]),
            orb("d", &[("region", "eu")]),
            orb("e", &[("region", "asia")]),
        ];
        let all: Vec<&OrbEntry> = orbs.iter().collect();
        let (waves, none) = assign(&all, &Grouping::Auto(2));
        let shape: Vec<(&str, Vec<&str>)> = waves
            .iter()
            .map(|w| (w.name.as_str(), w.orbs.iter().map(String::as_str).collect()))
            .collect();
        assert_eq!(
            shape,
            [
                ("canary", vec!["b"]),
                ("wave 1", vec!["a", "c"]),
                ("wave 2", vec!["d", "e"])
            ]
        );
        assert!(none.is_empty());

        let named = Grouping::Named(vec![
            parse_named("eu:region=eu").unwrap(),
            parse_named("us:region in (us)").unwrap(),
        ]);
        let (waves, none) = assign(&all[2..], &named);
        assert_eq!(waves[0].orbs, ["c"], "no canary label: the first ORB");
        assert_eq!(waves[1].orbs, ["d"]);
        assert!(waves[2].orbs.is_empty());
        assert_eq!(none, ["e"], "matched by the selector, in no wave");
        assert!(parse_named("eu").unwrap_err().contains("NAME:SELECTOR"));
    }
}
