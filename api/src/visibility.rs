//! What a caller may see, by team: the admin sees everything, agents and supervisors what
//! belongs to their teams. What a caller may not see answers 404, as if it did not exist.

use engine::domain::{Queue, QueueId};

use crate::auth::Principal;
use crate::error::ApiError;
use crate::state::AppState;

/// The queue `raw_id`, if it exists and the caller sees its team; 404 otherwise.
pub async fn visible_queue(
    state: &AppState,
    principal: &Principal,
    raw_id: &str,
) -> Result<Queue, ApiError> {
    let not_found = || ApiError::not_found("queue", raw_id);
    let queue_id = QueueId::parse(raw_id).map_err(|_| not_found())?;
    let queue = state
        .catalog
        .find::<Queue>(queue_id.as_str())
        .await?
        .ok_or_else(not_found)?
        .resource;
    if principal.sees_team(&queue.team_id) {
        Ok(queue)
    } else {
        Err(not_found())
    }
}

/// The queues the caller sees among `teams` (every queue's team): `None` for the admin
/// (every queue).
pub fn visible_among(
    teams: &std::collections::HashMap<QueueId, engine::domain::TeamId>,
    principal: &Principal,
) -> Option<std::collections::HashSet<QueueId>> {
    if matches!(principal, Principal::Admin) {
        return None;
    }
    Some(
        teams
            .iter()
            .filter(|(_, team)| principal.sees_team(team))
            .map(|(queue, _)| queue.clone())
            .collect(),
    )
}

/// Every queue's team.
pub async fn queue_teams(
    state: &AppState,
) -> Result<std::collections::HashMap<QueueId, engine::domain::TeamId>, ApiError> {
    Ok(crate::routes::crud::every::<Queue>(state)
        .await?
        .into_iter()
        .map(|queue| (queue.id, queue.team_id))
        .collect())
}
