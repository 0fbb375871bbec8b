//! The requests a simulated cluster served, counted by verb, resource and client: how tests and
//! benchmarks see what a controller asked of the API without reaching into the server.

use std::collections::BTreeMap;

/// Verbs that change state.
const WRITES: [&str; 5] = ["create", "update", "patch", "delete", "deletecollection"];

/// Requests served, counted per verb, resource (`plural[.group]`, with `/subresource`) and
/// user agent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Requests(BTreeMap<String, u64>);

impl From<BTreeMap<String, u64>> for Requests {
    fn from(counts: BTreeMap<String, u64>) -> Self {
        Requests(counts)
    }
}

impl Requests {
    /// Every (verb, resource, user agent, count).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str, &str, u64)> {
        self.0.iter().map(|(key, n)| {
            let mut words = key.splitn(3, ' ');
            let verb = words.next().unwrap_or_default();
            let resource = words.next().unwrap_or_default();
            let agent = words.next().unwrap_or_default();
            (verb, resource, agent, *n)
        })
    }

    /// Requests of any verb, except to resources whose name starts with one of `skip`.
    pub fn all_except(&self, skip: &[&str]) -> u64 {
        self.count(|_, resource| !skipped(resource, skip))
    }

    /// Writes (create, update, patch, delete), except to resources whose name starts with one of
    /// `skip` (e.g. `leases`, `events`).
    pub fn writes_except(&self, skip: &[&str]) -> u64 {
        self.count(|verb, resource| WRITES.contains(&verb) && !skipped(resource, skip))
    }

    fn count(&self, wanted: impl Fn(&str, &str) -> bool) -> u64 {
        self.iter()
            .filter(|(verb, resource, _, _)| wanted(verb, resource))
            .map(|(_, _, _, n)| n)
            .sum()
    }
}

fn skipped(resource: &str, skip: &[&str]) -> bool {
    skip.iter().any(|s| resource.starts_with(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_leave_out_reads_and_the_skipped_resources() {
        let counts = [
            ("create configmaps kubectl", 2),
            ("get configmaps kubectl", 5),
            ("update leases.coordination.k8s.io orbdeck", 7),
            ("patch profiles.kubeflow.org orbdeck", 1),
        ];
        let requests = Requests::from(
            counts
                .iter()
                .map(|(k, n)| (k.to_string(), *n))
                .collect::<BTreeMap<_, _>>(),
        );
        assert_eq!(requests.writes_except(&["leases"]), 3);
        assert_eq!(requests.writes_except(&[]), 10);
        assert_eq!(requests.all_except(&["leases"]), 8);
    }
}
