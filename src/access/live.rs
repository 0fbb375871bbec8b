//! The RBAC objects of a live cluster, listed in one go: the four RBAC kinds and the service
//! accounts (metadata only, to tell bindings to missing ones).

use super::Objects;
use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use kube::api::{Api, ListParams};

/// Lists what [`super::Policy::resolve`] needs from the cluster of `client`.
pub async fn load(client: &kube::Client) -> Result<Objects, kube::Error> {
    let lp = ListParams::default();
    let (r, cr, rb, crb, sa) = (
        Api::<Role>::all(client.clone()),
        Api::<ClusterRole>::all(client.clone()),
        Api::<RoleBinding>::all(client.clone()),
        Api::<ClusterRoleBinding>::all(client.clone()),
        Api::<ServiceAccount>::all(client.clone()),
    );
    let (roles, cluster_roles, role_bindings, cluster_role_bindings, accounts) = tokio::try_join!(
        r.list(&lp),
        cr.list(&lp),
        rb.list(&lp),
        crb.list(&lp),
        sa.list_metadata(&lp),
    )?;
    Ok(Objects {
        roles: roles.items,
        cluster_roles: cluster_roles.items,
        role_bindings: role_bindings.items,
        cluster_role_bindings: cluster_role_bindings.items,
        service_accounts: Some(
            accounts
                .items
                .into_iter()
                .map(|a| {
                    (
                        a.metadata.namespace.unwrap_or_default(),
                        a.metadata.name.unwrap_or_default(),
                    )
                })
                .collect(),
        ),
    })
}
