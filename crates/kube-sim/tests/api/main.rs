//! The sim through the clients of a real cluster: stock kubectl, kube-rs, the official JavaScript
//! client, and webhooks over HTTPS.

mod apply_ownership;
mod defaults;
mod js_client;
mod kubectl;
mod kubectl_create;
mod kubectl_logs;
mod malformed;
mod rbac;
mod sim_api;
mod sim_webhooks;
