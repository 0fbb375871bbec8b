//! Selectors over the fleet's ORBs, in Kubernetes' label-selector syntax: requirements joined by
//! `,`, each `key=value`, `key==value`, `key!=value`, `key in (a,b)`, `key notin (a,b)`, `key`
//! (has the label) or `!key`. The key `name` is the ORB's name. `*` (or nothing) selects every
//! ORB. Used by `orbdeck rollout` and its waves.

use super::config::OrbEntry;
use std::fmt;

/// One requirement of a selector.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Requirement {
    /// The key's value is one of these.
    In(String, Vec<String>),
    /// The key is absent or its value is none of these.
    NotIn(String, Vec<String>),
    /// The key is present.
    Exists(String),
    /// The key is absent.
    Absent(String),
}

/// A parsed selector (every requirement must hold).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    text: String,
    requirements: Vec<Requirement>,
}

/// Why a selector does not parse: the selector, the position and what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("selector {text:?}, at character {at}: {message}")]
pub struct SelectorError {
    /// The whole selector.
    pub text: String,
    /// 1-based character position of the problem.
    pub at: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/')
}

impl Selector {
    /// Parses `text` (see the module doc).
    pub fn parse(text: &str) -> Result<Selector, SelectorError> {
        let chars: Vec<char> = text.chars().collect();
        let err = |at: usize, message: &str| SelectorError {
            text: text.to_string(),
            at: at + 1,
            message: message.to_string(),
        };
        let mut requirements = Vec::new();
        if matches!(text.trim(), "" | "*") {
            return Ok(Selector {
                text: text.trim().to_string(),
                requirements,
            });
        }
        let mut i = 0;
        let skip = |i: &mut usize| {
            while *i < chars.len() && chars[*i].is_whitespace() {
                *i += 1;
            }
        };
        let word = |i: &mut usize| -> String {
            let start = *i;
            while *i < chars.len() && is_key_char(chars[*i]) {
                *i += 1;
            }
            chars[start..*i].iter().collect()
        };
        loop {
            skip(&mut i);
            let negated = i < chars.len() && chars[i] == '!';
            if negated {
                i += 1;
                skip(&mut i);
            }
            let at = i;
            let key = word(&mut i);
            if key.is_empty() {
                return Err(err(at, "expected a label key (or `name`)"));
            }
            skip(&mut i);
            let rest: String = chars[i..].iter().collect();
            let requirement = if negated {
                Requirement::Absent(key)
            } else if let Some(op) = ["==", "!=", "="]
                .into_iter()
                .find(|op| rest.starts_with(op))
            {
                i += op.len();
                skip(&mut i);
                let at = i;
                let value = word(&mut i);
                if value.is_empty() {
                    return Err(err(at, &format!("expected a value after `{key}{op}`")));
                }
                if op == "!=" {
                    Requirement::NotIn(key, vec![value])
                } else {
                    Requirement::In(key, vec![value])
                }
            } else if let Some(op) = ["notin", "in"]
                .into_iter()
                .find(|op| rest.starts_with(op) && rest[op.len()..].trim_start().starts_with('('))
            {
                i += op.len();
                skip(&mut i);
                i += 1; // the `(`
                let mut values = Vec::new();
                loop {
                    skip(&mut i);
                    let at = i;
                    let value = word(&mut i);
                    if value.is_empty() {
                        return Err(err(at, &format!("expected a value in `{key} {op} (...)`")));
                    }
                    values.push(value);
                    skip(&mut i);
                    match chars.get(i) {
                        Some(',') => i += 1,
                        Some(')') => {
                            i += 1;
                            break;
                        }
                        _ => return Err(err(i, "expected `,` or `)`")),
                    }
                }
                if op == "in" {
                    Requirement::In(key, values)
                } else {
                    Requirement::NotIn(key, values)
                }
            } else {
                Requirement::Exists(key)
            };
            requirements.push(requirement);
            skip(&mut i);
            match chars.get(i) {
                None => break,
                Some(',') => i += 1,
                Some(_) => return Err(err(i, "expected `,` between requirements")),
            }
        }
        Ok(Selector {
            text: text.trim().to_string(),
            requirements,
        })
    }

    /// Whether `orb` satisfies every requirement.
    pub fn matches(&self, orb: &OrbEntry) -> bool {
        let value = |key: &str| -> Option<&str> {
            if key == "name" {
                Some(orb.name.as_str())
            } else {
                orb.labels.get(key).map(String::as_str)
            }
        };
        self.requirements.iter().all(|r| match r {
            Requirement::In(k, vs) => value(k).is_some_and(|v| vs.iter().any(|x| x == v)),
            Requirement::NotIn(k, vs) => value(k).is_none_or(|v| vs.iter().all(|x| x != v)),
            Requirement::Exists(k) => value(k).is_some(),
            Requirement::Absent(k) => value(k).is_none(),
        })
    }

    /// The ORBs of `orbs` it selects, in their order.
    pub fn select<'a>(&self, orbs: &'a [OrbEntry]) -> Vec<&'a OrbEntry> {
        orbs.iter().filter(|o| self.matches(o)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn orb(name: &str, labels: &[(&str, &str)]) -> OrbEntry {
        let mut o = OrbEntry::live_only(name);
        o.labels = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        o
    }

    #[test]
    fn selectors_match_labels_and_names() {
        let orbs = [
            orb(
                "a",
                &[("env", "prod"), ("region", "eu"), ("canary", "true")],
            ),
            orb("b", &[("env", "prod"), ("region", "us")]),
            orb("c", &[("env", "dev"), ("region", "asia")]),
        ];
        let names = |s: &str| -> Vec<String> {
            Selector::parse(s)
                .unwrap()
                .select(&orbs)
                .iter()
                .map(|o| o.name.clone())
                .collect()
        };
        assert_eq!(names("env=prod"), ["a", "b"]);
        assert_eq!(names("env == prod, region in (us, asia)"), ["b"]);
        assert_eq!(names("region notin (eu)"), ["b", "c"]);
        assert_eq!(names("env!=prod"), ["c"]);
        assert_eq!(names("canary"), ["a"]);
        assert_eq!(names("!canary,env=prod"), ["b"]);
        assert_eq!(names("name in (a,c)"), ["a", "c"]);
        assert_eq!(names("*"), ["a", "b", "c"]);
        assert_eq!(names(""), ["a", "b", "c"]);
    }

    #[test]
    fn bad_selectors_say_where() {
        for (text, at, says) in [
            ("env=", 5, "expected a value"),
            ("env in (a b)", 11, "expected `,` or `)`"),
            ("env=prod region=eu", 10, "expected `,`"),
            (",", 1, "expected a label key"),
        ] {
            let e = Selector::parse(text).unwrap_err();
            assert_eq!(e.at, at, "{text}: {e}");
            assert!(e.to_string().contains(says), "{e}");
        }
    }
}
