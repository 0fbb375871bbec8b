//! Shared fixtures for the end-to-end tests: the sim with its kubeconfig and kubectl runner (from
//! `kube_sim::testing`), the engine, a flaky proxy, bare repos and git users, an sshd.
#![allow(dead_code)]

pub mod engine;
pub mod proxy;
pub mod repos;
pub mod sshd;

pub use kube_sim::testing::Sim;
