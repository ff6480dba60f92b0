//! Render containers whose worker died. A worker removes its own render
//! container when the render ends or times out; a worker that is killed
//! cannot, and a container it had created but not yet started would never
//! be removed by the engine (auto-removal acts on exit only), nor would a
//! render stuck past its timeout end. Every render container carries its
//! timeout as a label, so any worker on the same engine can tell that it
//! is past its time and remove it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use dock_lite::{ContainerSummary, Docker, ListOptions};

use crate::error::PlatformError;
use crate::worker::JOB_LABEL;

/// The label holding a render container's timeout, in whole seconds
/// (rounded up): past its creation time plus that, no worker waits on it.
pub const RENDER_TIMEOUT_LABEL: &str = "dev.ondemand.platform.render-timeout-seconds";

/// How long past its timeout a render container is left alone: the
/// worker that runs it removes it itself at the timeout, and the engine's
/// clock and the sweeping worker's may differ a little.
pub const ORPHAN_GRACE: Duration = Duration::from_secs(60);

/// The label value for a render timeout.
pub(crate) fn timeout_label(timeout: Duration) -> String {
    let seconds = timeout.as_secs() + u64::from(timeout.subsec_nanos() > 0);
    seconds.to_string()
}

/// Removes the render containers on `docker`'s engine that are more than
/// `grace` past their timeout (see [`RENDER_TIMEOUT_LABEL`]), running or
/// never started; returns how many were removed. Render containers
/// without the timeout label (made by an older worker) are left alone, as
/// is anything else on the engine.
pub fn remove_orphaned_renders(docker: &Docker, grace: Duration) -> Result<usize, PlatformError> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let listed = docker.list_containers(
        &ListOptions::default()
            .all(true)
            .has_label(JOB_LABEL)
            .has_label(RENDER_TIMEOUT_LABEL),
    )?;
    let mut removed = 0;
    for container in listed.iter().filter(|c| is_orphaned(c, now, grace)) {
        docker.remove_container(&container.id)?;
        removed += 1;
    }
    Ok(removed)
}

fn is_orphaned(container: &ContainerSummary, now: u64, grace: Duration) -> bool {
    let Some(timeout) = container
        .labels
        .get(RENDER_TIMEOUT_LABEL)
        .and_then(|seconds| seconds.parse::<u64>().ok())
    else {
        return false;
    };
    let created = u64::try_from(container.created).unwrap_or(0);
    created
        .saturating_add(timeout)
        .saturating_add(grace.as_secs())
        < now
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timeout_label_rounds_up_to_whole_seconds() {
        assert_eq!(timeout_label(Duration::from_secs(10)), "10");
        assert_eq!(timeout_label(Duration::from_millis(1500)), "2");
        assert_eq!(timeout_label(Duration::ZERO), "0");
    }
}
