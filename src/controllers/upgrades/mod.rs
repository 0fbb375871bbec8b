//! The upgrade coordinator (seed 002): ClusterUpgrades rolled node by node.

pub mod machine;
pub mod window;
