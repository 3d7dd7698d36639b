//! Scheduled jobs: every instance computes the schedule, and only the one whose insert of
//! (job, tick) into `job_runs` succeeds runs that tick. The claim is a lease the
//! runner renews while it works: if its instance dies mid-run, another takes the tick over once
//! the lease has run out. The job bodies are set-based, batched and idempotent, so a takeover
//! or a manual re-run finishes the work without doing any of it twice.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;

use crate::config::Config;
use crate::domain::clock::Timestamp;
use crate::error::Result;
use crate::state::AppState;
use crate::store;

/// How long a claimed tick stays leased without renewal; the runner renews it every third.
const TICK_LEASE_SECS: f64 = 30.0;
/// A failed run is tried again this long after (a database blip should not skip a day).
const RETRY_FAILED_AFTER_SECS: f64 = 300.0;
/// How often an instance looks for ticks left unfinished by a dead instance.
const ABANDONED_CHECK_EVERY: Duration = Duration::from_secs(10);

/// The jobs, their CLI names and their schedules (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    /// Complete ACCEPTED relations whose end date has passed: daily at 23:59.
    CompleteRelations,
    /// Delete accounts never verified, 30 days after registering: monthly.
    DeleteUnverifiedUsers,
    /// Compact the member directory's search index: daily at 03:30.
    OptimizeSearchIndex,
    /// Remind members of their meetings a day and an hour before; retire lapsed substitute
    /// invitations: every 5 minutes.
    RemindMeetings,
    /// Delete what has served its purpose (rate-limit windows, delivered mail, expired tokens,
    /// old job runs): daily at 04:15.
    PurgeExpired,
}

impl Job {
    pub const ALL: [Job; 5] = [
        Job::CompleteRelations,
        Job::DeleteUnverifiedUsers,
        Job::OptimizeSearchIndex,
        Job::RemindMeetings,
        Job::PurgeExpired,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Job::CompleteRelations => "complete-relations",
            Job::DeleteUnverifiedUsers => "delete-unverified-users",
            Job::OptimizeSearchIndex => "optimize-search-index",
            Job::RemindMeetings => "remind-meetings",
            Job::PurgeExpired => "purge-expired",
        }
    }

    pub fn from_name(name: &str) -> Option<Job> {
        Job::ALL.into_iter().find(|job| job.name() == name)
    }

    /// The job's schedule, set by `<JOB_NAME>_SCHEDULE` (`COMPLETE_RELATIONS_SCHEDULE`, ...);
    /// the defaults are in [`Config`].
    fn schedule(self, config: &Config) -> cron::Schedule {
        cron::Schedule::from_str(self.schedule_expression(config))
            .expect("validated when the configuration was read")
    }

    /// The cron expression of the job's schedule (with seconds, UTC).
    pub fn schedule_expression(self, config: &Config) -> &str {
        match self {
            Job::CompleteRelations => &config.complete_relations_schedule,
            Job::DeleteUnverifiedUsers => &config.delete_unverified_users_schedule,
            Job::OptimizeSearchIndex => &config.optimize_search_index_schedule,
            Job::RemindMeetings => &config.remind_meetings_schedule,
            Job::PurgeExpired => &config.purge_expired_schedule,
        }
    }

    /// When the schedule next runs the job after `now`.
    pub fn next_tick(self, config: &Config, now: Timestamp) -> Option<Timestamp> {
        let now = DateTime::<Utc>::from_timestamp_micros((now * 1e6) as i64)?;
        let next = self.schedule(config).after(&now).next()?;
        Some(next.timestamp() as f64)
    }

    /// Runs the job once as if the clock read `now`; returns how many rows it changed.
    pub async fn run(self, state: &AppState, now: Timestamp) -> Result<u64> {
        match self {
            Job::CompleteRelations => {
                crate::services::relations::complete_expired(state, now).await
            }
            Job::DeleteUnverifiedUsers => {
                crate::services::accounts::delete_never_verified(state, now).await
            }
            Job::OptimizeSearchIndex => optimize_search_index(state).await,
            Job::RemindMeetings => crate::services::reminders::remind_meetings(state, now).await,
            Job::PurgeExpired => crate::services::housekeeping::purge_expired(state, now).await,
        }
    }
}

/// Merges the directory's search index back into one piece, a bounded step per transaction.
///
/// Every write to `users` adds a small segment to SQLite's FTS5 index, which merges them only
/// by levels, so a search reads a dozen or more of them: at 1M members, searching an index
/// merged into one segment served 30 % more requests a second than one of ten. PostgreSQL's
/// trigram index likewise keeps recent entries in a pending list that every search scans until
/// a vacuum folds it in; this folds it in at once. Returns the rows the merges wrote (SQLite)
/// or the pending-list pages folded in (PostgreSQL).
async fn optimize_search_index(state: &AppState) -> Result<u64> {
    // Enough steps for any index; each ends once there is nothing left to merge.
    const MAX_STEPS: usize = 100_000;
    let mut written = 0;
    for _ in 0..MAX_STEPS {
        let mut work = state.unit_of_work().await?;
        let step = store::users::compact_search_index_step(work.tx()).await?;
        work.commit().await?;
        if step == 0 {
            break;
        }
        written += step;
    }
    tracing::info!(written, "compacted the directory's search index");
    Ok(written)
}

/// The next tick after `now` and every job due at it: two jobs whose schedules meet run at
/// the same tick, and both must run.
pub fn next_ticks(config: &Config, now: DateTime<Utc>) -> Option<(DateTime<Utc>, Vec<Job>)> {
    let ticks: Vec<(Job, DateTime<Utc>)> = Job::ALL
        .into_iter()
        .filter_map(|job| job.schedule(config).after(&now).next().map(|at| (job, at)))
        .collect();
    let at = ticks.iter().map(|(_, at)| *at).min()?;
    let due = ticks
        .into_iter()
        .filter(|(_, tick)| *tick == at)
        .map(|(job, _)| job)
        .collect();
    Some((at, due))
}

/// Runs the schedule until shutdown. Each tick runs on one instance only; between ticks the
/// instance takes over ticks whose runner died.
pub async fn run_scheduler(state: AppState, mut shutdown: watch::Receiver<bool>) {
    loop {
        let now = state.clock.now();
        let now_dt = DateTime::<Utc>::from_timestamp_micros((now * 1e6) as i64).unwrap_or_default();
        let Some((at, due)) = next_ticks(&state.config, now_dt) else {
            return;
        };
        let wait = (at - now_dt).to_std().unwrap_or(Duration::ZERO);
        let tick_due = wait <= ABANDONED_CHECK_EVERY;
        tokio::select! {
            _ = tokio::time::sleep(wait.min(ABANDONED_CHECK_EVERY)) => {}
            _ = shutdown.changed() => return,
        }
        if tick_due {
            // The jobs of one tick run side by side: a long one does not delay the others.
            let runs: Vec<_> = due
                .into_iter()
                .map(|job| {
                    let state = state.clone();
                    tokio::spawn(async move { run_tick(&state, job, at.timestamp() as f64).await })
                })
                .collect();
            for run in runs {
                let _ = run.await;
            }
        }
        take_over_abandoned_ticks(&state).await;
    }
}

/// Finishes the ticks whose runner stopped renewing its lease (its instance died).
async fn take_over_abandoned_ticks(state: &AppState) {
    let ticks = match store::jobs::abandoned_ticks(&state.db, state.clock.now()).await {
        Ok(ticks) => ticks,
        Err(err) => {
            tracing::warn!(error = %err, "could not look for abandoned job ticks");
            return;
        }
    };
    for (name, tick) in ticks {
        if let Some(job) = Job::from_name(&name)
            && run_tick(state, job, tick).await
        {
            tracing::warn!(job = name, tick, "took over a tick left unfinished");
        }
    }
}

/// Claims the tick and runs the job if this instance won the claim, renewing the lease while
/// the job works. True if this instance ran it.
pub async fn run_tick(state: &AppState, job: Job, tick: Timestamp) -> bool {
    let now = state.clock.now();
    let lease_until = now + TICK_LEASE_SECS;
    let claimed = async {
        let mut work = state.unit_of_work().await?;
        let claimed =
            store::jobs::claim_tick(work.tx(), job.name(), tick, now, lease_until).await?;
        work.commit().await?;
        Result::<bool>::Ok(claimed)
    };
    match claimed.await {
        Ok(true) => {}
        Ok(false) => return false,
        Err(err) => {
            tracing::warn!(
                job = job.name(),
                error = format!("{err:#}"),
                "could not claim a job tick"
            );
            return false;
        }
    }
    let started = std::time::Instant::now();
    let outcome = {
        let work = job.run(state, tick);
        tokio::pin!(work);
        let mut renew = tokio::time::interval(Duration::from_secs_f64(TICK_LEASE_SECS / 3.0));
        renew.tick().await;
        loop {
            tokio::select! {
                outcome = &mut work => break outcome,
                _ = renew.tick() => {
                    let lease_until = state.clock.now() + TICK_LEASE_SECS;
                    if let Err(err) = renew_lease(state, job, tick, lease_until).await {
                        tracing::warn!(job = job.name(), error = format!("{err:#}"), "could not renew a job lease");
                    }
                }
            }
        }
    };
    crate::metrics::record_job_run(job.name(), outcome.is_ok(), started.elapsed().as_secs_f64());
    match outcome {
        Ok(affected) => {
            tracing::info!(
                job = job.name(),
                tick,
                affected,
                seconds = started.elapsed().as_secs_f64(),
                "job finished"
            );
            let finished = async {
                let mut work = state.unit_of_work().await?;
                let finished_at = state.clock.now();
                store::jobs::finish_tick(work.tx(), job.name(), tick, finished_at, affected as i64)
                    .await?;
                work.commit().await
            };
            // The work is done; a tick left unfinished is run again once its lease lapses,
            // which the jobs' idempotence makes harmless.
            if let Err(err) = finished.await {
                tracing::error!(
                    job = job.name(),
                    tick,
                    error = format!("{err:#}"),
                    "could not record a finished job tick"
                );
            }
        }
        Err(err) => {
            tracing::error!(
                job = job.name(),
                tick,
                error = format!("{err:#}"),
                "job failed"
            );
            let retry_at = state.clock.now() + RETRY_FAILED_AFTER_SECS;
            if let Err(err) = renew_lease(state, job, tick, retry_at).await {
                tracing::error!(
                    job = job.name(),
                    tick,
                    error = format!("{err:#}"),
                    "could not schedule the retry of a failed job tick"
                );
            }
        }
    }
    true
}

/// Extends a tick's lease (or, after a failure, sets when to retry it).
async fn renew_lease(
    state: &AppState,
    job: Job,
    tick: Timestamp,
    lease_until: Timestamp,
) -> Result<()> {
    let mut work = state.unit_of_work().await?;
    store::jobs::renew_lease(work.tx(), job.name(), tick, lease_until).await?;
    work.commit().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_due_at_the_same_moment_all_run() {
        let vars = std::collections::HashMap::from([
            ("SECRET_KEY", "0123456789abcdef0123456789abcdef"),
            ("COMPLETE_RELATIONS_SCHEDULE", "*/3 * * * * *"),
            ("REMIND_MEETINGS_SCHEDULE", "*/3 * * * * *"),
        ]);
        let config = Config::from_lookup(|name| vars.get(name).map(|v| v.to_string())).unwrap();
        let now = DateTime::<Utc>::from_timestamp(1_800_000_001, 0).unwrap();
        let (at, due) = next_ticks(&config, now).unwrap();
        assert_eq!(at.timestamp(), 1_800_000_003);
        assert_eq!(due, vec![Job::CompleteRelations, Job::RemindMeetings]);
    }
}
