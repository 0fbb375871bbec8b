//! The embedded API server through kubectl and kube-rs: the API, webhooks, the kinds of the model.

#[path = "../common/mod.rs"]
mod common;

mod kubectl;
mod model_sim;
mod sim_api;
mod sim_webhooks;
