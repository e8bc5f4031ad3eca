//! Who is calling, and what they may see.

use crate::domain::Role;

/// The part of the registry a caller's key reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every region and agency (admin, channel, evaluator).
    Everything,
    /// A region subtree (bureau): `path` is the region's materialised path.
    Region { code: String, path: String },
    /// One agency; `region_path` is the path of the agency's region.
    Agency { id: i64, region_path: String },
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Actor {
    /// The API key, or `None` for the command line.
    pub key_id: Option<i64>,
    pub role: Role,
    pub scope: Scope,
    /// The channel of a `channel` key.
    pub channel: Option<String>,
    /// Request id of the HTTP request, recorded in the audit log.
    pub request_id: Option<String>,
}

impl Actor {
    /// The operator at the command line (`pingjia keys …`, demo loader).
    pub fn cli() -> Self {
        Self {
            key_id: None,
            role: Role::Admin,
            scope: Scope::Everything,
            channel: None,
            request_id: None,
        }
    }

    /// The label written to the audit log.
    pub fn label(&self) -> String {
        match self.key_id {
            Some(id) => format!("key:{id}"),
            None => "cli".to_owned(),
        }
    }

    /// The region path prefix the caller is confined to, if any.
    pub fn region_prefix(&self) -> Option<&str> {
        match &self.scope {
            Scope::Everything => None,
            Scope::Region { path, .. } => Some(path),
            Scope::Agency { region_path, .. } => Some(region_path),
        }
    }

    /// Whether an entity whose region has `path` lies inside the caller's region scope.
    pub fn covers_path(&self, path: &str) -> bool {
        self.region_prefix()
            .is_none_or(|prefix| path.starts_with(prefix))
    }

    pub fn is(&self, roles: &[Role]) -> bool {
        roles.contains(&self.role)
    }
}
