//! What a Service's registry allocates on create, as Kubernetes' service REST storage does: a
//! cluster IP from the service CIDR (10.96.0.0/12, single-stack IPv4), `clusterIPs`,
//! `ipFamilies` and `ipFamilyPolicy`, and node ports (30000-32767) for NodePort and LoadBalancer
//! Services. An update keeps what was allocated when the new object leaves it out.
#![deny(clippy::indexing_slicing)]

use super::object::at;
use super::status::ApiError;
use super::store::Inner;
use serde_json::{Map, Value, json};
use std::collections::HashSet;

/// The service CIDR's first address (10.96.0.0) as a number; the range holds 2^20 addresses.
const CIDR_BASE: u32 = 10 << 24 | 96 << 16;
const CIDR_SIZE: u32 = 1 << 20;
/// The node port range of a default API server.
const NODE_PORTS: std::ops::RangeInclusive<u32> = 30000..=32767;

/// Allocates a new Service's addresses and node ports (Invalid when a requested one is taken).
pub fn allocate(s: &Inner, svc: &mut Value) -> Result<(), ApiError> {
    let used = Used::of(s);
    let name = super::object::name(svc).to_string();
    let Some(spec) = svc.get_mut("spec").and_then(Value::as_object_mut) else {
        return Ok(());
    };
    let kind = spec
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("ClusterIP")
        .to_string();
    let kind = kind.as_str();
    if kind == "ExternalName" {
        return Ok(());
    }
    let node_ports = matches!(kind, "NodePort" | "LoadBalancer")
        && spec.get("allocateLoadBalancerNodePorts") != Some(&json!(false))
        || kind == "NodePort";
    cluster_ip(spec, &used, &name)?;
    if node_ports {
        ports(spec, &used, &name)?;
    }
    let local = spec
        .get("externalTrafficPolicy")
        .is_some_and(|p| p == "Local");
    if kind == "LoadBalancer" && local && !spec.contains_key("healthCheckNodePort") {
        let port = used.free_port(&[]);
        spec.insert("healthCheckNodePort".into(), json!(port));
    }
    Ok(())
}

/// Copies allocated fields the update left out from the stored Service.
pub fn keep_allocated(old: &Value, new: &mut Value) {
    let Some(spec) = new.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    for k in [
        "clusterIP",
        "clusterIPs",
        "ipFamilies",
        "ipFamilyPolicy",
        "healthCheckNodePort",
    ] {
        let old_value = at(old, &["spec", k]);
        if spec.get(k).is_none_or(Value::is_null) && !old_value.is_null() {
            spec.insert(k.into(), old_value.clone());
        }
    }
    let old_ports = at(old, &["spec", "ports"]).as_array().cloned();
    let keeps_node_ports = matches!(
        spec.get("type").and_then(Value::as_str),
        Some("NodePort" | "LoadBalancer")
    );
    for port in spec
        .get_mut("ports")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object_mut)
    {
        if !keeps_node_ports || port.get("nodePort").is_some_and(|p| !p.is_null()) {
            continue;
        }
        let same = old_ports.iter().flatten().find(|o| {
            o.get("port") == port.get("port")
                && o.get("protocol").unwrap_or(&json!("TCP"))
                    == port.get("protocol").unwrap_or(&json!("TCP"))
        });
        if let Some(node_port) = same
            .and_then(|o| o.get("nodePort"))
            .filter(|p| !p.is_null())
        {
            port.insert("nodePort".into(), node_port.clone());
        }
    }
}

/// Allocates what an update newly needs (a Service turned NodePort gets node ports).
pub fn allocate_missing(s: &Inner, svc: &mut Value) -> Result<(), ApiError> {
    let own = super::object::uid(svc).to_string();
    let used = Used::except(s, &own);
    let name = super::object::name(svc).to_string();
    let Some(spec) = svc.get_mut("spec").and_then(Value::as_object_mut) else {
        return Ok(());
    };
    if matches!(
        spec.get("type").and_then(Value::as_str),
        Some("NodePort" | "LoadBalancer")
    ) {
        ports(spec, &used, &name)?;
    }
    Ok(())
}

/// The cluster IP: a free one, the one asked for, or none for headless (`None`) Services.
fn cluster_ip(spec: &mut Map<String, Value>, used: &Used, name: &str) -> Result<(), ApiError> {
    let asked = spec
        .get("clusterIP")
        .and_then(Value::as_str)
        .filter(|ip| !ip.is_empty())
        .map(String::from);
    let ip = match asked {
        Some(ip) if ip == "None" => ip,
        Some(ip) => {
            let Some(n) = parse_ip(&ip).filter(|n| in_cidr(*n)) else {
                return Err(invalid(
                    name,
                    "spec.clusterIPs",
                    &format!(
                        "Invalid value: {ip:?}: failed to allocate IP {ip}: the provided IP ({ip}) is not in the valid range. The range of valid IPs is 10.96.0.0/12"
                    ),
                ));
            };
            if used.ips.contains(&n) {
                return Err(invalid(
                    name,
                    "spec.clusterIPs",
                    &format!(
                        "Invalid value: []string{{{ip:?}}}: failed to allocate IP {ip}: provided IP is already allocated"
                    ),
                ));
            }
            ip
        }
        None => used.free_ip(),
    };
    spec.insert("clusterIP".into(), json!(ip));
    spec.insert("clusterIPs".into(), json!([ip]));
    spec.insert("ipFamilies".into(), json!(["IPv4"]));
    spec.insert("ipFamilyPolicy".into(), json!("SingleStack"));
    Ok(())
}

/// Node ports for the ports without one; a requested one must be free.
fn ports(spec: &mut Map<String, Value>, used: &Used, name: &str) -> Result<(), ApiError> {
    let mut taken: Vec<u32> = Vec::new();
    let list = spec
        .get_mut("ports")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object_mut);
    for (i, port) in list.enumerate() {
        match port.get("nodePort").and_then(Value::as_u64) {
            Some(p) if p != 0 => {
                let p = p as u32;
                if used.ports.contains(&p) {
                    return Err(invalid(
                        name,
                        &format!("spec.ports[{i}].nodePort"),
                        &format!("Invalid value: {p}: provided port is already allocated"),
                    ));
                }
                taken.push(p);
            }
            _ => {
                let p = used.free_port(&taken);
                taken.push(p);
                port.insert("nodePort".into(), json!(p));
            }
        }
    }
    Ok(())
}

fn invalid(name: &str, field: &str, problem: &str) -> ApiError {
    ApiError::invalid("Service", name, field, problem)
}

/// Cluster IPs and node ports of the stored Services.
struct Used {
    ips: HashSet<u32>,
    ports: HashSet<u32>,
}

impl Used {
    fn of(s: &Inner) -> Used {
        Self::except(s, "")
    }

    /// What the Services other than the one with uid `own` hold.
    fn except(s: &Inner, own: &str) -> Used {
        let mut used = Used {
            ips: HashSet::new(),
            ports: HashSet::new(),
        };
        for svc in s.list_values("services", None) {
            if !own.is_empty() && super::object::uid(&svc) == own {
                continue;
            }
            if let Some(ip) = at(&svc, &["spec", "clusterIP"]).as_str().and_then(parse_ip) {
                used.ips.insert(ip);
            }
            let ports = at(&svc, &["spec", "ports"])
                .as_array()
                .into_iter()
                .flatten();
            for p in ports.filter_map(|p| at(p, &["nodePort"]).as_u64()) {
                used.ports.insert(p as u32);
            }
            if let Some(p) = at(&svc, &["spec", "healthCheckNodePort"]).as_u64() {
                used.ports.insert(p as u32);
            }
        }
        used
    }

    /// A random free address of the range (not the network address nor 10.96.0.1, the
    /// `kubernetes` Service's, nor 10.96.0.10, kube-dns's).
    fn free_ip(&self) -> String {
        loop {
            let n = CIDR_BASE + rand::random_range(11..CIDR_SIZE - 1);
            if !self.ips.contains(&n) {
                return format_ip(n);
            }
        }
    }

    /// A random free node port, also not among `taken`.
    fn free_port(&self, taken: &[u32]) -> u32 {
        let free = NODE_PORTS
            .filter(|p| !self.ports.contains(p) && !taken.contains(p))
            .count();
        if free == 0 {
            return *NODE_PORTS.end();
        }
        loop {
            let p = rand::random_range(NODE_PORTS);
            if !self.ports.contains(&p) && !taken.contains(&p) {
                return p;
            }
        }
    }
}

fn in_cidr(n: u32) -> bool {
    (CIDR_BASE..CIDR_BASE + CIDR_SIZE).contains(&n)
}

fn parse_ip(ip: &str) -> Option<u32> {
    ip.parse::<std::net::Ipv4Addr>().ok().map(u32::from)
}

fn format_ip(n: u32) -> String {
    std::net::Ipv4Addr::from(n).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_stay_in_the_service_cidr() {
        let used = Used {
            ips: HashSet::new(),
            ports: HashSet::new(),
        };
        for _ in 0..100 {
            let ip = parse_ip(&used.free_ip()).unwrap();
            assert!(in_cidr(ip), "{}", format_ip(ip));
            assert!(NODE_PORTS.contains(&used.free_port(&[])));
        }
        assert_eq!(format_ip(CIDR_BASE), "10.96.0.0");
        assert_eq!(format_ip(CIDR_BASE + CIDR_SIZE - 1), "10.111.255.255");
    }
}
