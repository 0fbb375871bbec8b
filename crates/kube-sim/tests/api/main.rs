//! The sim through the clients of a real cluster: stock kubectl, kube-rs, and webhooks over HTTPS.

mod defaults;
mod kubectl;
mod kubectl_create;
mod kubectl_logs;
mod malformed;
mod rbac;
mod sim_api;
mod sim_webhooks;
