//! The upgrade coordinator's state machine (pure): a ClusterUpgrade's spec and status, the
//! nodes, the agents' NodeUpgrades and the drains in; the next status and the actions to take
//! out. The run loop ([`super`]) takes the actions (each one idempotent) and then writes the
//! status, so a restarted or failed-over coordinator resumes from the status and the nodes'
//! `orbdeck.io/cordoned-by` annotations alone.

use crate::model::{
    AgentRunPhase, ClusterUpgradePhase, ClusterUpgradeSpec, ClusterUpgradeStatus, DrainBlocker,
    NodeProgress, NodeUpgradePhase, parse_version,
};
use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use std::collections::BTreeMap;

/// A node as the coordinator sees it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NodeView {
    /// Node name.
    pub name: String,
    /// Labelled control-plane.
    pub control_plane: bool,
    /// The kubelet version it reports.
    pub version: String,
    /// Its Ready condition is True.
    pub ready: bool,
    /// `spec.unschedulable`.
    pub unschedulable: bool,
    /// Annotated as cordoned by this ClusterUpgrade.
    pub cordoned_by_us: bool,
    /// Selected by the strategy's nodeSelector.
    pub selected: bool,
}

/// What the node's agent reports in its NodeUpgrade.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AgentView {
    /// The run's phase.
    pub phase: AgentRunPhase,
    /// Its message.
    pub message: Option<String>,
    /// The tail of the command's standard error.
    pub stderr_tail: String,
}

/// Where a drain stands after the run loop's last eviction round.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DrainView {
    /// Pods still to leave the node (blocked, or terminating).
    pub left: usize,
    /// What holds it back, when something does.
    pub blocker: Option<DrainBlocker>,
}

/// Everything one step reads.
pub struct Inputs<'a> {
    /// The ClusterUpgrade's desired state.
    pub spec: &'a ClusterUpgradeSpec,
    /// Its status as last written.
    pub status: &'a ClusterUpgradeStatus,
    /// Every node of the cluster.
    pub nodes: &'a [NodeView],
    /// The agents' reports, by node name.
    pub agents: &'a BTreeMap<String, AgentView>,
    /// The drains of the nodes in `Draining`, by node name.
    pub drains: &'a BTreeMap<String, DrainView>,
    /// Now.
    pub now: Timestamp,
    /// Whether the maintenance window is open (true without one).
    pub window_open: bool,
}

/// One thing for the run loop to do.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Mark the node unschedulable and annotate it as cordoned by this upgrade.
    Cordon(String),
    /// Create the node's NodeUpgrade (an existing one is kept).
    CreateNodeUpgrade(String),
    /// Uncordon the node (only when orbdeck cordoned it) and label it upgraded to `label`.
    Release {
        /// Node name.
        node: String,
        /// Uncordon it (orbdeck cordoned it).
        uncordon: bool,
        /// Version for the `orbdeck.io/upgraded-to` label, when it was upgraded.
        label: Option<String>,
    },
    /// An Event on the ClusterUpgrade (published after the status is written).
    Event {
        /// Warning or Normal.
        warning: bool,
        /// Machine-readable reason.
        reason: &'static str,
        /// What happened.
        message: String,
    },
}

/// The outcome of one step.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// The status to write once the actions are done.
    pub status: ClusterUpgradeStatus,
    /// What to do, in order.
    pub actions: Vec<Action>,
}

fn time(now: Timestamp) -> Option<Time> {
    Some(Time(now))
}

fn bare(version: &str) -> &str {
    version.strip_prefix('v').unwrap_or(version)
}

fn event(warning: bool, reason: &'static str, message: String) -> Action {
    Action::Event {
        warning,
        reason,
        message,
    }
}

fn elapsed_secs(since: Option<&Time>, now: Timestamp) -> i64 {
    since.map_or(0, |t| (now.as_second() - t.0.as_second()).max(0))
}

/// The next status and actions of an upgrade.
pub fn step(i: &Inputs<'_>) -> Step {
    let mut status = i.status.clone();
    let mut actions = Vec::new();
    let by_name: BTreeMap<&str, &NodeView> = i.nodes.iter().map(|n| (n.name.as_str(), n)).collect();

    if i.spec.abort && status.phase != ClusterUpgradePhase::Succeeded {
        abort(i, &by_name, &mut status, &mut actions);
        return Step { status, actions };
    }
    if status.phase.is_final() {
        return Step { status, actions };
    }
    let target = match parse_version(&i.spec.target_version) {
        Ok(v) => v,
        Err(e) => {
            refuse(
                &mut status,
                &mut actions,
                i.now,
                format!("targetVersion: {e}"),
            );
            return Step { status, actions };
        }
    };
    plan(i, &target, &mut status);
    if status
        .nodes
        .iter()
        .all(|n| n.phase == NodeUpgradePhase::Pending)
        && let Some(why) = refusal(&status, &by_name, &target)
    {
        refuse(&mut status, &mut actions, i.now, why);
        return Step { status, actions };
    }
    let target_text = target.to_string();
    let failed = progress(i, &by_name, &target_text, &mut status, &mut actions);
    if let Some(message) = failed {
        status.phase = ClusterUpgradePhase::Failed;
        status.finish_time = time(i.now);
        status.current_nodes.clear();
        actions.push(event(true, "UpgradeFailed", message.clone()));
        status.message = Some(message);
        return Step { status, actions };
    }
    let waiting = start(i, &by_name, &mut status, &mut actions);
    conclude(i, &target_text, waiting, &mut status, &mut actions);
    Step { status, actions }
}

/// Adds the selected nodes not in the plan yet (control plane first, then by name); a node
/// already at the target is done from the start; a Pending node that left the cluster leaves
/// the plan.
fn plan(i: &Inputs<'_>, target: &semver::Version, status: &mut ClusterUpgradeStatus) {
    status.nodes.retain(|p| {
        p.phase != NodeUpgradePhase::Pending || i.nodes.iter().any(|n| n.name == p.name)
    });
    let mut new: Vec<&NodeView> = i
        .nodes
        .iter()
        .filter(|n| n.selected && !status.nodes.iter().any(|p| p.name == n.name))
        .collect();
    new.sort_by(|a, b| (!a.control_plane, &a.name).cmp(&(!b.control_plane, &b.name)));
    for n in new {
        let at_target = parse_version(&n.version).is_ok_and(|v| v == *target);
        status.nodes.push(NodeProgress {
            name: n.name.clone(),
            control_plane: n.control_plane,
            from_version: n.version.clone(),
            phase: if at_target {
                NodeUpgradePhase::Succeeded
            } else {
                NodeUpgradePhase::Pending
            },
            message: at_target.then(|| format!("already at {target}")),
            ..Default::default()
        });
    }
    // Control plane first, in the order planned.
    status.nodes.sort_by_key(|p| !p.control_plane);
}

/// Why the upgrade may not start: a downgrade, a skipped minor version, a major version change.
fn refusal(
    status: &ClusterUpgradeStatus,
    nodes: &BTreeMap<&str, &NodeView>,
    target: &semver::Version,
) -> Option<String> {
    for p in &status.nodes {
        let Some(n) = nodes.get(p.name.as_str()) else {
            continue;
        };
        let Ok(v) = parse_version(&n.version) else {
            return Some(format!(
                "node {} reports kubelet version {:?}, which is not a version",
                n.name, n.version
            ));
        };
        if v > *target {
            return Some(format!(
                "refused: a downgrade (node {} runs {}, above the target {target}); nothing was touched",
                n.name, n.version
            ));
        }
        if v.major != target.major || target.minor > v.minor + 1 {
            return Some(format!(
                "refused: node {} runs {}, and {target} skips a minor version (Kubernetes upgrades one minor version at a time: {}.{} first); nothing was touched",
                n.name,
                n.version,
                v.major,
                v.minor + 1
            ));
        }
    }
    None
}

fn refuse(
    status: &mut ClusterUpgradeStatus,
    actions: &mut Vec<Action>,
    now: Timestamp,
    why: String,
) {
    status.phase = ClusterUpgradePhase::Failed;
    status.finish_time = time(now);
    actions.push(event(true, "Refused", why.clone()));
    status.message = Some(why);
}

/// Moves every node under way on; the message of a node that failed, if one did.
fn progress(
    i: &Inputs<'_>,
    nodes: &BTreeMap<&str, &NodeView>,
    target: &str,
    status: &mut ClusterUpgradeStatus,
    actions: &mut Vec<Action>,
) -> Option<String> {
    let mut failed = None;
    let mut blocker = None;
    for p in status.nodes.iter_mut().filter(|p| p.phase.in_flight()) {
        let Some(n) = nodes.get(p.name.as_str()) else {
            p.phase = NodeUpgradePhase::Failed;
            p.finished_at = time(i.now);
            let m = format!("node {} left the cluster during its upgrade", p.name);
            p.message = Some(m.clone());
            failed.get_or_insert(m);
            continue;
        };
        match p.phase {
            NodeUpgradePhase::Draining => {
                let drain = i.drains.get(&p.name).cloned().unwrap_or(DrainView {
                    left: 1,
                    blocker: None,
                });
                if drain.left == 0 {
                    p.phase = NodeUpgradePhase::Upgrading;
                    p.upgrade_started_at = time(i.now);
                    p.message = None;
                    actions.push(Action::CreateNodeUpgrade(p.name.clone()));
                    actions.push(event(
                        false,
                        "NodeDrained",
                        format!("node {} drained; NodeUpgrade created for its agent", p.name),
                    ));
                } else if elapsed_secs(p.started_at.as_ref(), i.now)
                    >= i64::from(i.spec.strategy.drain_timeout_seconds)
                {
                    let why = drain
                        .blocker
                        .as_ref()
                        .map(|b| b.message.clone())
                        .unwrap_or_else(|| format!("{} pods still on it", drain.left));
                    let m = format!(
                        "node {}: drain timed out after {}s: {why}; the node stays cordoned and nothing else is touched",
                        p.name, i.spec.strategy.drain_timeout_seconds
                    );
                    p.phase = NodeUpgradePhase::Failed;
                    p.finished_at = time(i.now);
                    p.message = Some(m.clone());
                    blocker = drain.blocker;
                    failed.get_or_insert(m);
                } else if drain.blocker.is_some() {
                    blocker = drain.blocker;
                }
            }
            NodeUpgradePhase::Upgrading => {
                let agent = i.agents.get(&p.name);
                let done = agent.is_some_and(|a| a.phase == AgentRunPhase::Succeeded)
                    && bare(&n.version) == target
                    && n.ready;
                if let Some(a) = agent.filter(|a| a.phase == AgentRunPhase::Failed) {
                    let mut m = format!(
                        "node {}: the agent's upgrade failed: {}",
                        p.name,
                        a.message.as_deref().unwrap_or("no message")
                    );
                    if !a.stderr_tail.is_empty() {
                        m.push_str(&format!("; stderr: {}", a.stderr_tail.trim_end()));
                    }
                    p.phase = NodeUpgradePhase::Failed;
                    p.finished_at = time(i.now);
                    p.message = Some(m.clone());
                    failed.get_or_insert(m);
                } else if done {
                    p.phase = NodeUpgradePhase::Succeeded;
                    p.finished_at = time(i.now);
                    p.message = None;
                    actions.push(Action::Release {
                        node: p.name.clone(),
                        uncordon: p.cordoned,
                        label: Some(target.to_owned()),
                    });
                    actions.push(event(
                        false,
                        "NodeUpgraded",
                        format!("node {} runs {target} and is Ready", p.name),
                    ));
                } else if elapsed_secs(p.upgrade_started_at.as_ref(), i.now)
                    >= i64::from(i.spec.strategy.node_timeout_seconds)
                {
                    let m = format!(
                        "node {}: not upgraded within nodeTimeoutSeconds {} (agent: {}, kubelet {}, {})",
                        p.name,
                        i.spec.strategy.node_timeout_seconds,
                        agent.map_or("no report".to_owned(), |a| format!("{:?}", a.phase)),
                        n.version,
                        if n.ready { "Ready" } else { "not Ready" }
                    );
                    p.phase = NodeUpgradePhase::Failed;
                    p.finished_at = time(i.now);
                    p.message = Some(m.clone());
                    failed.get_or_insert(m);
                }
            }
            _ => {}
        }
    }
    if blocker != status.blocker {
        if let Some(b) = &blocker {
            actions.push(event(true, "DrainBlocked", b.message.clone()));
        }
        status.blocker = blocker;
    }
    failed
}

/// Starts the nodes the strategy allows now; why nothing could start, when nothing could.
fn start(
    i: &Inputs<'_>,
    nodes: &BTreeMap<&str, &NodeView>,
    status: &mut ClusterUpgradeStatus,
    actions: &mut Vec<Action>,
) -> Option<String> {
    if i.spec.paused {
        return Some("paused".into());
    }
    if !i.window_open {
        return Some("outside its maintenance window".into());
    }
    let in_flight = |s: &ClusterUpgradeStatus, cp: bool| {
        s.nodes
            .iter()
            .filter(|p| p.control_plane == cp && p.phase.in_flight())
            .count()
    };
    let cp_left = status
        .nodes
        .iter()
        .any(|p| p.control_plane && p.phase != NodeUpgradePhase::Succeeded);
    // Nodes already out of service, not by orbdeck, count against maxUnavailable.
    let external: Vec<&str> = status
        .nodes
        .iter()
        .filter(|p| !p.control_plane && !p.phase.in_flight())
        .filter_map(|p| nodes.get(p.name.as_str()))
        .filter(|n| (n.unschedulable && !n.cordoned_by_us) || !n.ready)
        .map(|n| n.name.as_str())
        .collect();
    let mut used = if cp_left {
        in_flight(status, true) + in_flight(status, false)
    } else {
        in_flight(status, false) + external.len()
    };
    let max = if cp_left {
        1
    } else {
        i.spec.strategy.max_unavailable.max(1) as usize
    };
    // Nodes orbdeck cordoned before a restart go first: they are under way already.
    let mut candidates: Vec<usize> = (0..status.nodes.len())
        .filter(|&k| status.nodes[k].phase == NodeUpgradePhase::Pending)
        .filter(|&k| status.nodes[k].control_plane == cp_left)
        .collect();
    candidates.sort_by_key(|&k| {
        !nodes
            .get(status.nodes[k].name.as_str())
            .is_some_and(|n| n.cordoned_by_us)
    });
    let mut started = false;
    for k in candidates {
        let Some(n) = nodes.get(status.nodes[k].name.as_str()) else {
            continue;
        };
        let already_out = external.contains(&n.name.as_str());
        if !already_out && used >= max {
            continue;
        }
        if !already_out {
            used += 1;
        }
        let p = &mut status.nodes[k];
        p.phase = NodeUpgradePhase::Draining;
        p.started_at = time(i.now);
        p.cordoned = !n.unschedulable || n.cordoned_by_us;
        if p.cordoned {
            actions.push(Action::Cordon(p.name.clone()));
        }
        actions.push(event(
            false,
            "NodeCordoned",
            if p.cordoned {
                format!("node {} cordoned; draining", p.name)
            } else {
                format!("node {} was unschedulable already; draining", p.name)
            },
        ));
        status.start_time.get_or_insert(Time(i.now));
        started = true;
        if cp_left {
            break;
        }
    }
    if started || in_flight(status, true) + in_flight(status, false) > 0 {
        return None;
    }
    match external.first() {
        Some(name) if !cp_left => Some(format!(
            "waiting: node {name} is unschedulable or not Ready (not by orbdeck) and counts against maxUnavailable {max}"
        )),
        _ => None,
    }
}

/// The upgrade's phase and message after the step.
fn conclude(
    i: &Inputs<'_>,
    target: &str,
    waiting: Option<String>,
    status: &mut ClusterUpgradeStatus,
    actions: &mut Vec<Action>,
) {
    status.current_nodes = status
        .nodes
        .iter()
        .filter(|p| p.phase.in_flight())
        .map(|p| p.name.clone())
        .collect();
    let done = status
        .nodes
        .iter()
        .filter(|p| p.phase == NodeUpgradePhase::Succeeded)
        .count();
    let total = status.nodes.len();
    let before = status.phase;
    if done == total {
        status.phase = ClusterUpgradePhase::Succeeded;
        status.finish_time = time(i.now);
        status.message = Some(format!("{total} nodes at {target}"));
        actions.push(event(
            false,
            "Succeeded",
            format!("every node ({total}) runs {target}"),
        ));
        return;
    }
    let idle = status.current_nodes.is_empty();
    status.phase = if idle && i.spec.paused {
        ClusterUpgradePhase::Paused
    } else if idle && !i.window_open {
        ClusterUpgradePhase::Waiting
    } else if status
        .nodes
        .iter()
        .any(|p| p.control_plane && p.phase != NodeUpgradePhase::Succeeded)
    {
        ClusterUpgradePhase::UpgradingControlPlane
    } else {
        ClusterUpgradePhase::UpgradingWorkers
    };
    status.message = Some(match (&waiting, idle) {
        (Some(why), true) => format!("{done} of {total} nodes upgraded; {why}"),
        _ => format!("{done} of {total} nodes upgraded"),
    });
    if before != status.phase && status.phase == ClusterUpgradePhase::Paused {
        actions.push(event(
            false,
            "Paused",
            format!("paused with {done} of {total} nodes upgraded"),
        ));
    }
}

/// Stops at once: every node orbdeck cordoned (and has not released) is uncordoned.
fn abort(
    i: &Inputs<'_>,
    nodes: &BTreeMap<&str, &NodeView>,
    status: &mut ClusterUpgradeStatus,
    actions: &mut Vec<Action>,
) {
    for p in &mut status.nodes {
        let ours = nodes.get(p.name.as_str()).is_some_and(|n| n.cordoned_by_us);
        if ours {
            actions.push(Action::Release {
                node: p.name.clone(),
                uncordon: true,
                label: None,
            });
        }
        if p.phase.in_flight() {
            p.phase = NodeUpgradePhase::Aborted;
            p.finished_at = time(i.now);
            p.message = Some("aborted".into());
        }
    }
    if status.phase != ClusterUpgradePhase::Aborted {
        let done = status
            .nodes
            .iter()
            .filter(|p| p.phase == NodeUpgradePhase::Succeeded)
            .count();
        let m = format!(
            "aborted with {done} of {} nodes upgraded; the nodes orbdeck cordoned are uncordoned",
            status.nodes.len()
        );
        status.phase = ClusterUpgradePhase::Aborted;
        status.finish_time = time(i.now);
        status.current_nodes.clear();
        status.blocker = None;
        actions.push(event(true, "Aborted", m.clone()));
        status.message = Some(m);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::UpgradeStrategy;
    use NodeUpgradePhase as P;

    fn node(name: &str, version: &str) -> NodeView {
        NodeView {
            name: name.into(),
            control_plane: name.starts_with("cp"),
            version: version.into(),
            ready: true,
            selected: true,
            ..Default::default()
        }
    }

    fn spec(target: &str, max: u32) -> ClusterUpgradeSpec {
        ClusterUpgradeSpec {
            target_version: target.into(),
            strategy: UpgradeStrategy {
                max_unavailable: max,
                drain_timeout_seconds: 60,
                node_timeout_seconds: 600,
                ..Default::default()
            },
            window: None,
            paused: false,
            abort: false,
        }
    }

    fn now() -> Timestamp {
        "2026-12-01T12:00:00Z".parse().unwrap()
    }

    struct Case {
        spec: ClusterUpgradeSpec,
        status: ClusterUpgradeStatus,
        nodes: Vec<NodeView>,
        agents: BTreeMap<String, AgentView>,
        drains: BTreeMap<String, DrainView>,
        window_open: bool,
        at: Timestamp,
    }

    impl Case {
        fn new(target: &str, max: u32, nodes: Vec<NodeView>) -> Case {
            Case {
                spec: spec(target, max),
                status: ClusterUpgradeStatus::default(),
                nodes,
                agents: BTreeMap::new(),
                drains: BTreeMap::new(),
                window_open: true,
                at: now(),
            }
        }

        fn step(&self) -> Step {
            step(&Inputs {
                spec: &self.spec,
                status: &self.status,
                nodes: &self.nodes,
                agents: &self.agents,
                drains: &self.drains,
                now: self.at,
                window_open: self.window_open,
            })
        }

        /// Steps once and keeps the status, as the run loop does once the actions are done.
        fn advance(&mut self) -> Vec<Action> {
            let s = self.step();
            self.status = s.status;
            s.actions
        }

        fn phase_of(&self, name: &str) -> P {
            self.status
                .nodes
                .iter()
                .find(|p| p.name == name)
                .unwrap()
                .phase
        }
    }

    fn cordons(actions: &[Action]) -> Vec<&str> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::Cordon(n) => Some(n.as_str()),
                _ => None,
            })
            .collect()
    }

    fn cluster() -> Vec<NodeView> {
        let mut nodes = vec![node("cp-1", "v1.31.4")];
        nodes.extend((1..=4).map(|k| node(&format!("w-{k}"), "v1.31.4")));
        nodes
    }

    #[test]
    fn the_plan_puts_the_control_plane_first_and_starts_it_alone() {
        let mut c = Case::new("1.32.0", 3, cluster());
        c.nodes.reverse();
        let actions = c.advance();
        let order: Vec<&str> = c.status.nodes.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(order, ["cp-1", "w-1", "w-2", "w-3", "w-4"]);
        assert_eq!(cordons(&actions), ["cp-1"]);
        assert_eq!(c.status.phase, ClusterUpgradePhase::UpgradingControlPlane);
        assert_eq!(c.status.current_nodes, ["cp-1"]);
    }

    #[test]
    fn downgrades_minor_skips_and_bad_versions_are_refused_before_anything_is_touched() {
        let cases = [
            ("1.31.0", "v1.31.4", "a downgrade"),
            ("1.32.0", "v1.30.2", "skips a minor version"),
            ("2.0.0", "v1.31.4", "skips a minor version"),
            ("1.32", "v1.31.4", "targetVersion"),
        ];
        for (target, from, said) in cases {
            let c = Case::new(target, 1, vec![node("cp-1", from), node("w-1", from)]);
            let s = c.step();
            assert_eq!(s.status.phase, ClusterUpgradePhase::Failed, "{target}");
            assert!(cordons(&s.actions).is_empty(), "{target}: {:?}", s.actions);
            let m = s.status.message.unwrap();
            assert!(m.contains(said), "{target}: {m}");
        }
    }

    #[test]
    fn workers_go_at_most_max_unavailable_at_a_time_after_the_control_plane() {
        for (max, first) in [
            (1, vec!["w-1"]),
            (2, vec!["w-1", "w-2"]),
            (9, vec!["w-1", "w-2", "w-3", "w-4"]),
        ] {
            let mut c = Case::new("1.32.0", max, cluster());
            c.status.nodes = vec![NodeProgress {
                name: "cp-1".into(),
                control_plane: true,
                phase: P::Succeeded,
                ..Default::default()
            }];
            let actions = c.advance();
            assert_eq!(cordons(&actions), first, "maxUnavailable {max}");
            assert_eq!(c.status.phase, ClusterUpgradePhase::UpgradingWorkers);
            assert!(cordons(&c.advance()).is_empty(), "no more while they drain");
        }
    }

    #[test]
    fn a_node_unschedulable_by_someone_else_is_no_free_capacity() {
        let mut c = Case::new("1.32.0", 1, cluster());
        c.nodes.retain(|n| !n.control_plane);
        c.nodes[2].unschedulable = true; // w-3, cordoned by an admin
        let actions = c.advance();
        assert!(cordons(&actions).is_empty(), "{actions:?}");
        assert_eq!(
            c.phase_of("w-3"),
            P::Draining,
            "the cordoned node itself costs nothing"
        );
        assert!(!c.status.nodes[2].cordoned, "orbdeck did not cordon it");
        assert_eq!(c.phase_of("w-1"), P::Pending);
        // Without the upgrade of that node to start, the budget is simply used up.
        let mut c = Case::new(
            "1.32.0",
            1,
            vec![node("w-1", "v1.31.4"), node("w-2", "v1.32.0")],
        );
        c.nodes[1].unschedulable = true;
        let actions = c.advance();
        assert!(cordons(&actions).is_empty());
        assert!(
            c.status
                .message
                .unwrap()
                .contains("node w-2 is unschedulable")
        );
    }

    #[test]
    fn a_node_cordoned_before_a_restart_is_resumed_first_and_counted_as_ours() {
        let mut c = Case::new("1.32.0", 1, cluster());
        c.nodes.retain(|n| !n.control_plane);
        c.nodes[3].unschedulable = true;
        c.nodes[3].cordoned_by_us = true;
        let actions = c.advance();
        assert_eq!(cordons(&actions), ["w-4"]);
        assert!(
            c.status
                .nodes
                .iter()
                .find(|p| p.name == "w-4")
                .unwrap()
                .cordoned
        );
        assert_eq!(c.status.current_nodes, ["w-4"]);
    }

    #[test]
    fn a_drained_node_gets_its_node_upgrade_and_a_done_one_is_released_and_labelled() {
        let mut c = Case::new("1.32.0", 1, vec![node("w-1", "v1.31.4")]);
        c.advance();
        c.drains.insert(
            "w-1".into(),
            DrainView {
                left: 2,
                blocker: None,
            },
        );
        assert!(
            !c.advance()
                .contains(&Action::CreateNodeUpgrade("w-1".into()))
        );
        c.drains.insert("w-1".into(), DrainView::default());
        assert!(
            c.advance()
                .contains(&Action::CreateNodeUpgrade("w-1".into()))
        );
        assert_eq!(c.phase_of("w-1"), P::Upgrading);
        c.agents.insert(
            "w-1".into(),
            AgentView {
                phase: AgentRunPhase::Succeeded,
                ..Default::default()
            },
        );
        assert!(
            c.step()
                .actions
                .iter()
                .all(|a| !matches!(a, Action::Release { .. })),
            "the kubelet is not at the target yet"
        );
        c.nodes[0].version = "v1.32.0".into();
        let actions = c.advance();
        assert!(actions.contains(&Action::Release {
            node: "w-1".into(),
            uncordon: true,
            label: Some("1.32.0".into())
        }));
        assert_eq!(c.status.phase, ClusterUpgradePhase::Succeeded);
        assert!(
            c.advance().is_empty(),
            "a finished upgrade does nothing more"
        );
    }

    #[test]
    fn a_drain_held_by_a_pdb_fails_the_node_after_the_timeout_and_stops_everything() {
        let mut c = Case::new(
            "1.32.0",
            1,
            vec![node("w-1", "v1.31.4"), node("w-2", "v1.31.4")],
        );
        c.advance();
        let blocker = DrainBlocker {
            node: "w-1".into(),
            pdb: Some("shop/web".into()),
            pods: vec!["shop/web-1".into()],
            message: "The disruption budget web needs 2 healthy pods and has 2 currently".into(),
        };
        c.drains.insert(
            "w-1".into(),
            DrainView {
                left: 1,
                blocker: Some(blocker.clone()),
            },
        );
        c.at = now() + jiff::SignedDuration::from_secs(30);
        c.advance();
        assert_eq!(c.status.blocker.as_ref(), Some(&blocker));
        c.at = now() + jiff::SignedDuration::from_secs(61);
        let actions = c.advance();
        assert_eq!(c.status.phase, ClusterUpgradePhase::Failed);
        assert_eq!(c.phase_of("w-1"), P::Failed);
        assert!(
            c.status
                .message
                .as_deref()
                .unwrap()
                .contains("disruption budget web")
        );
        assert!(
            !actions
                .iter()
                .any(|a| matches!(a, Action::Release { .. } | Action::Cordon(_))),
            "{actions:?}"
        );
        assert!(c.advance().is_empty());
    }

    #[test]
    fn a_failed_agent_fails_the_node_with_its_stderr_and_a_silent_one_times_out() {
        let mut c = Case::new("1.32.0", 1, vec![node("w-1", "v1.31.4")]);
        c.advance();
        c.drains.insert("w-1".into(), DrainView::default());
        c.advance();
        let mut failing = c.status.clone();
        c.agents.insert(
            "w-1".into(),
            AgentView {
                phase: AgentRunPhase::Failed,
                message: Some("exit code 3".into()),
                stderr_tail: "apt: package kubelet=1.32.0 not found\n".into(),
            },
        );
        c.advance();
        assert_eq!(c.status.phase, ClusterUpgradePhase::Failed);
        assert!(
            c.status
                .message
                .as_deref()
                .unwrap()
                .ends_with("stderr: apt: package kubelet=1.32.0 not found")
        );
        c.agents.clear();
        std::mem::swap(&mut c.status, &mut failing);
        c.at = now() + jiff::SignedDuration::from_secs(601);
        c.advance();
        assert!(
            c.status
                .message
                .as_deref()
                .unwrap()
                .contains("not upgraded within nodeTimeoutSeconds 600")
        );
    }

    #[test]
    fn pause_starts_nothing_new_and_abort_releases_what_orbdeck_cordoned() {
        let mut c = Case::new(
            "1.32.0",
            1,
            vec![node("w-1", "v1.31.4"), node("w-2", "v1.31.4")],
        );
        c.advance();
        c.nodes[0].unschedulable = true;
        c.nodes[0].cordoned_by_us = true;
        c.spec.paused = true;
        c.advance();
        assert_eq!(
            c.status.phase,
            ClusterUpgradePhase::UpgradingWorkers,
            "w-1 finishes first"
        );
        c.drains.insert("w-1".into(), DrainView::default());
        c.advance();
        c.agents.insert(
            "w-1".into(),
            AgentView {
                phase: AgentRunPhase::Succeeded,
                ..Default::default()
            },
        );
        c.nodes[0].version = "v1.32.0".into();
        let actions = c.advance();
        assert!(cordons(&actions).is_empty());
        assert_eq!(c.status.phase, ClusterUpgradePhase::Paused);
        c.spec.paused = false;
        assert_eq!(cordons(&c.advance()), ["w-2"], "resumed");
        c.nodes[1].unschedulable = true;
        c.nodes[1].cordoned_by_us = true;
        c.spec.abort = true;
        let actions = c.advance();
        assert!(actions.contains(&Action::Release {
            node: "w-2".into(),
            uncordon: true,
            label: None
        }));
        assert_eq!(c.status.phase, ClusterUpgradePhase::Aborted);
        assert_eq!(c.phase_of("w-2"), P::Aborted);
    }

    #[test]
    fn outside_its_window_an_upgrade_waits_and_nodes_under_way_finish() {
        let mut c = Case::new(
            "1.32.0",
            1,
            vec![node("w-1", "v1.31.4"), node("w-2", "v1.31.4")],
        );
        c.window_open = false;
        assert!(cordons(&c.advance()).is_empty());
        assert_eq!(c.status.phase, ClusterUpgradePhase::Waiting);
        c.window_open = true;
        assert_eq!(cordons(&c.advance()), ["w-1"]);
        c.window_open = false;
        c.drains.insert("w-1".into(), DrainView::default());
        assert!(
            c.advance()
                .contains(&Action::CreateNodeUpgrade("w-1".into()))
        );
        assert_eq!(c.status.phase, ClusterUpgradePhase::UpgradingWorkers);
    }
}
