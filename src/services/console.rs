//! The console's use cases: what each page shows and each of its actions. The caller is an
//! admin signed in to the console ([`super::sessions::authenticate`] refuses anyone else on
//! every request); the actions that change something check it again in their own transaction
//! (admin rights through [`super::admin`], the rest through [`require_admin`]).

use serde::Serialize;

use crate::domain::accounts::EmailAddress;
use crate::domain::audit::{self, Event};
use crate::domain::clock::Timestamp;
use crate::domain::console::MemberFilter;
use crate::domain::console::{Figures, PAGE_SIZE, SNAPSHOT_LEASE_SECS, SNAPSHOT_MAX_AGE_SECS};
use crate::domain::meetings::{InvitationStatus, MeetingState};
use crate::domain::messages::{self, Message};
use crate::domain::relations::RelationState;
use crate::error::{Error, Result};
use crate::jobs::Job;
use crate::mail::{Mail, Outgoing};
use crate::outbox;
use crate::state::{AppState, Erasure};
use crate::store::console::{JobRunRow, MeetingListRow, OutboxListRow, RelationListRow};
use crate::store::substitutes::InvitationRow;
use crate::store::users::{MemberRow, UserRow};
use crate::store::{self, Tx};

const DAY: f64 = 86_400.0;
/// Runs of each job the jobs page shows.
const RUNS_SHOWN: i64 = 5;
/// Relations and meetings a member's page shows.
const MEMBER_ITEMS_SHOWN: i64 = 50;

/// Refuses a caller who is not (or no longer) an admin, inside the change's transaction.
async fn require_admin(tx: &mut Tx, me: i64) -> Result<()> {
    match store::users::lock_by_id(tx, me).await? {
        Some(user) if user.is_admin => Ok(()),
        _ => Err(Error::forbidden(messages::CONSOLE_ADMINS_ONLY)),
    }
}

// ---- Overview ----------------------------------------------------------------------------

#[derive(Debug, Serialize)]
pub struct Overview {
    pub figures: Figures,
    pub saved_percent: Option<f64>,
    /// When the figures were counted.
    pub counted_at: Timestamp,
    pub jobs: Vec<JobView>,
}

/// The overview: the figures of the snapshot (counted again in the background once older than
/// a minute, by one instance), and the last run of each job (a handful of rows).
pub async fn overview(state: &AppState) -> Result<Overview> {
    let now = state.clock.now();
    let (figures, counted_at) = match store::console::snapshot(&state.db).await? {
        Some((json, at)) if at > 0.0 => {
            let figures: Figures = serde_json::from_str(&json).unwrap_or_default();
            if now - at > SNAPSHOT_MAX_AGE_SECS {
                let state = state.clone();
                tokio::spawn(async move {
                    if let Err(err) = refresh_figures(&state, false).await {
                        tracing::warn!(
                            error = format!("{err:#}"),
                            "could not count the console's figures"
                        );
                    }
                });
            }
            (figures, at)
        }
        // Never counted yet: this once, the page waits for the count.
        _ => (refresh_figures(state, true).await?, now),
    };
    Ok(Overview {
        saved_percent: figures.saved_percent(),
        figures,
        counted_at,
        jobs: jobs_with_runs(state, 1).await?,
    })
}

/// The overview's "count again" button.
pub async fn count_again(state: &AppState, me: i64) -> Result<Message> {
    let mut work = state.unit_of_work().await?;
    require_admin(work.tx(), me).await?;
    drop(work);
    refresh_figures(state, true).await?;
    super::audit::record(
        state,
        Event::new(
            Some(me),
            "console.figures_recount",
            "console:overview".into(),
        ),
    )
    .await?;
    tracing::info!(by = me, "overview figures counted again from the console");
    Ok(messages::CONSOLE_FIGURES_REFRESHED)
}

/// Counts the figures and stores them, if this caller takes the lease (or `force`).
async fn refresh_figures(state: &AppState, force: bool) -> Result<Figures> {
    let now = state.clock.now();
    if !force {
        let mut work = state.unit_of_work().await?;
        let claimed = store::console::claim_snapshot(
            work.tx(),
            now,
            now - SNAPSHOT_MAX_AGE_SECS,
            now + SNAPSHOT_LEASE_SECS,
        )
        .await?;
        work.commit().await?;
        if !claimed {
            return Ok(Figures::default());
        }
    }
    let figures = count_figures(state, now).await?;
    let json = serde_json::to_string(&figures).map_err(anyhow::Error::from)?;
    let mut work = state.unit_of_work().await?;
    store::console::store_snapshot(work.tx(), &json, now).await?;
    work.commit().await?;
    Ok(figures)
}

/// The counts (outside any write transaction: they read whole tables).
async fn count_figures(state: &AppState, now: Timestamp) -> Result<Figures> {
    let db = &state.db;
    let (verified, unverified, available, need) = store::console::count_members(db).await?;
    let relations = store::console::count_relations(db).await?;
    let invitations = store::console::count_invitations(db).await?;
    let (invited, saved) = store::console::count_substituted_meetings(db).await?;
    let mail = store::outbox::backlog_all(db).await?;
    Ok(Figures {
        members_verified: verified,
        members_unverified: unverified,
        available_to_mentor: available,
        need_mentoring: need,
        relations: RelationState::ALL
            .into_iter()
            .map(|s| {
                let count = relations
                    .iter()
                    .find(|(n, _)| *n == s.number())
                    .map_or(0, |(_, c)| *c);
                (relation_state_name(s).to_owned(), count)
            })
            .collect(),
        meetings_next_7_days: store::console::count_meetings_between(db, now, now + 7.0 * DAY)
            .await?,
        substitutions: InvitationStatus::ALL
            .into_iter()
            .map(|s| {
                let count = invitations
                    .iter()
                    .find(|(n, _)| n == s.as_str())
                    .map_or(0, |(_, c)| *c);
                (s.as_str().to_owned(), count)
            })
            .collect(),
        meetings_with_invitations: invited,
        meetings_saved: saved,
        mail_unsent: mail.unsent,
        mail_oldest_unsent_at: mail.oldest_unsent_at,
        mail_dead: mail.dead,
    })
}

pub fn relation_state_name(state: RelationState) -> &'static str {
    match state {
        RelationState::Pending => "pending",
        RelationState::Accepted => "accepted",
        RelationState::Rejected => "rejected",
        RelationState::Cancelled => "cancelled",
        RelationState::Completed => "completed",
    }
}

// ---- Members -----------------------------------------------------------------------------

#[derive(Debug, Serialize)]
pub struct Page<T> {
    pub rows: Vec<T>,
    /// The key of the next page, if there is one.
    pub next: Option<i64>,
}

/// Cuts one extra row off a page: its presence says there is a next page.
fn page<T>(mut rows: Vec<T>, key: impl Fn(&T) -> i64) -> Page<T> {
    let next = if rows.len() as i64 > PAGE_SIZE {
        rows.truncate(PAGE_SIZE as usize);
        rows.last().map(key)
    } else {
        None
    };
    Page { rows, next }
}

pub async fn members(
    state: &AppState,
    filter: &MemberFilter,
    after: i64,
) -> Result<Page<MemberRow>> {
    let rows = store::users::console_members(&state.db, filter, after, PAGE_SIZE + 1).await?;
    Ok(page(rows, |m| m.id))
}

#[derive(Debug, Serialize)]
pub struct MemberView {
    pub member: MemberRow,
    pub relations: Vec<RelationView>,
    pub meetings: Vec<MeetingListRow>,
}

/// A member's page: who they are, their relations and meetings (never notes nor places).
pub async fn member(state: &AppState, id: i64) -> Result<MemberView> {
    let user = store::users::find_by_id(&state.db, id)
        .await?
        .ok_or_else(|| Error::not_found(messages::USER_DOES_NOT_EXIST))?;
    let relations = store::console::relations_of(&state.db, id, MEMBER_ITEMS_SHOWN).await?;
    let meetings = store::console::meetings_of(&state.db, id, MEMBER_ITEMS_SHOWN).await?;
    Ok(MemberView {
        member: member_row(user),
        relations: relations.into_iter().map(relation_view).collect(),
        meetings,
    })
}

fn member_row(u: UserRow) -> MemberRow {
    MemberRow {
        id: u.id,
        username: u.username,
        name: u.name,
        email: u.email,
        registration_date: u.registration_date,
        is_admin: u.is_admin,
        is_email_verified: u.is_email_verified,
        need_mentoring: u.need_mentoring,
        available_to_mentor: u.available_to_mentor,
    }
}

/// Sends a member who has not verified their address a new verification link, through the
/// same path (and hourly limit) as `POST /user/resend_email`.
pub async fn resend_verification(state: &AppState, me: i64, user_id: i64) -> Result<Message> {
    let mut work = state.unit_of_work().await?;
    require_admin(work.tx(), me).await?;
    drop(work);
    let user = store::users::find_by_id(&state.db, user_id)
        .await?
        .ok_or_else(|| Error::not_found(messages::USER_DOES_NOT_EXIST))?;
    if user.is_email_verified {
        return Err(Error::invalid(messages::CONSOLE_ALREADY_VERIFIED));
    }
    super::accounts::resend_verification(state, EmailAddress { email: user.email }).await?;
    super::audit::record(
        state,
        Event::new(
            Some(me),
            "console.verification_resend",
            audit::user(user_id),
        ),
    )
    .await?;
    tracing::info!(
        by = me,
        user_id,
        "verification mail resent from the console"
    );
    Ok(messages::CONSOLE_VERIFICATION_QUEUED)
}

/// Deletes an account that was never verified (nothing else: a verified member's account is
/// theirs to delete). The check and the delete are one transaction on the locked row.
pub async fn delete_unverified(state: &AppState, me: i64, user_id: i64) -> Result<Message> {
    let mut work = state.unit_of_work().await?;
    // The admins first: the lock order of every change to the set of admins.
    store::users::lock_admins(work.tx()).await?;
    require_admin(work.tx(), me).await?;
    let user = store::users::lock_by_id(work.tx(), user_id)
        .await?
        .ok_or_else(|| Error::not_found(messages::USER_DOES_NOT_EXIST))?;
    if user.is_email_verified || user.is_admin {
        return Err(Error::invalid(
            messages::CONSOLE_ONLY_UNVERIFIED_CAN_BE_DELETED,
        ));
    }
    store::users::delete_unverified(work.tx(), &[user_id]).await?;
    work.audit(
        Event::new(Some(me), "console.account_delete", audit::user(user_id))
            .with(serde_json::json!({"reason": "never_verified"})),
    );
    // Their unsent mail and throttling windows go too, as when a member leaves.
    work.erase(Erasure {
        user_id,
        email: user.email.clone(),
        username: user.username.clone(),
    });
    work.commit().await?;
    tracing::info!(
        by = me,
        user_id,
        "unverified account deleted from the console"
    );
    Ok(messages::CONSOLE_ACCOUNT_DELETED)
}

// ---- Relations and meetings --------------------------------------------------------------

#[derive(Debug, Serialize)]
pub struct RelationView {
    #[serde(flatten)]
    pub row: RelationListRow,
    pub state_name: &'static str,
}

fn relation_view(row: RelationListRow) -> RelationView {
    RelationView {
        state_name: RelationState::from_number(row.state).map_or("unknown", relation_state_name),
        row,
    }
}

pub async fn relations(
    state: &AppState,
    filter: Option<RelationState>,
    before: i64,
) -> Result<Page<RelationView>> {
    let rows = store::console::relations(
        &state.db,
        filter.map(RelationState::number),
        before,
        PAGE_SIZE + 1,
    )
    .await?;
    let page = page(rows, |r| r.id);
    Ok(Page {
        rows: page.rows.into_iter().map(relation_view).collect(),
        next: page.next,
    })
}

pub async fn meetings(
    state: &AppState,
    filter: Option<MeetingState>,
    invitation: Option<InvitationStatus>,
    before: i64,
) -> Result<Page<MeetingListRow>> {
    let rows =
        store::console::meetings(&state.db, filter, invitation, before, PAGE_SIZE + 1).await?;
    Ok(page(rows, |m| m.id))
}

#[derive(Debug, Serialize)]
pub struct InvitationView {
    pub invitee_id: Option<i64>,
    pub invitee: Option<String>,
    pub status: &'static str,
    pub invited_at: f64,
    pub expires_at: f64,
    pub ended_at: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct MeetingView {
    pub meeting: MeetingListRow,
    pub invitations: Vec<InvitationView>,
}

/// A meeting and the history of its substitute invitations, oldest first.
pub async fn meeting(state: &AppState, id: i64) -> Result<MeetingView> {
    let meeting = store::console::meeting(&state.db, id)
        .await?
        .ok_or_else(|| Error::not_found(messages::MEETING_DOES_NOT_EXIST))?;
    let history = store::substitutes::history(&state.db, id).await?;
    Ok(MeetingView {
        meeting,
        invitations: history
            .into_iter()
            .map(|i: InvitationRow| InvitationView {
                invitee_id: i.invitee_id,
                invitee: i.invitee_name,
                status: i.status.as_str(),
                invited_at: i.invited_at,
                expires_at: i.expires_at,
                ended_at: i.ended_at,
            })
            .collect(),
    })
}

// ---- Mail --------------------------------------------------------------------------------

/// An outbox row: what it is and to whom, never its content (mail bodies hold live links).
#[derive(Debug, Serialize)]
pub struct OutboxView {
    pub id: i64,
    pub kind: String,
    pub recipient: Option<String>,
    pub subject: Option<String>,
    pub created_at: f64,
    pub attempts: i64,
    pub next_attempt_at: f64,
    pub last_error: Option<String>,
    pub dead_at: Option<f64>,
}

fn outbox_view(row: OutboxListRow) -> OutboxView {
    let (recipient, subject) = match outbox::Message::from_row(&row.kind, &row.payload) {
        Ok(outbox::Message::Mail(Mail {
            recipient, subject, ..
        })) => (Some(recipient), Some(subject)),
        Ok(outbox::Message::AccountMail(request)) => (Some(request.email), None),
        Err(_) => (None, None),
    };
    OutboxView {
        id: row.id,
        kind: row.kind,
        recipient,
        subject,
        created_at: row.created_at,
        attempts: row.attempts,
        next_attempt_at: row.next_attempt_at,
        last_error: row.last_error,
        dead_at: row.dead_at,
    }
}

#[derive(Debug, Serialize)]
pub struct MailView {
    pub unsent: Vec<OutboxView>,
    pub dead: Vec<OutboxView>,
}

pub async fn mail(state: &AppState) -> Result<MailView> {
    let unsent = store::console::unsent(&state.db, PAGE_SIZE).await?;
    let dead = store::console::dead(&state.db, PAGE_SIZE).await?;
    Ok(MailView {
        unsent: unsent.into_iter().map(outbox_view).collect(),
        dead: dead.into_iter().map(outbox_view).collect(),
    })
}

/// Puts one dead letter (or all) back in the queue, due now, and wakes the worker.
pub async fn retry_mail(state: &AppState, me: i64, id: Option<i64>) -> Result<Message> {
    let mut work = state.unit_of_work().await?;
    require_admin(work.tx(), me).await?;
    let retried = store::console::retry_dead(work.tx(), id, state.clock.now()).await?;
    if retried == 0 {
        return Err(Error::not_found(messages::CONSOLE_NOTHING_TO_RETRY));
    }
    let subject = id.map_or_else(|| "outbox:dead".to_owned(), |id| format!("outbox:{id}"));
    work.audit(
        Event::new(Some(me), "console.mail_retry", subject)
            .with(serde_json::json!({"retried": retried})),
    );
    work.commit().await?;
    state.outbox_wake.notify_one();
    tracing::info!(by = me, retried, "dead letters retried from the console");
    Ok(messages::CONSOLE_MAIL_RETRIED)
}

/// Queues a mail to the admin, to check the mail settings end to end.
pub async fn send_test_mail(state: &AppState, me: i64) -> Result<Message> {
    let mut work = state.unit_of_work().await?;
    let user = store::users::lock_by_id(work.tx(), me)
        .await?
        .filter(|user| user.is_admin)
        .ok_or_else(|| Error::forbidden(messages::CONSOLE_ADMINS_ONLY))?;
    work.queue_mail(Outgoing {
        template: "console_test",
        recipient: &user.email,
        context: serde_json::json!({"name": user.name}),
        calendar: None,
    })?;
    work.audit(Event::new(Some(me), "console.test_mail", audit::user(me)));
    work.commit().await?;
    tracing::info!(by = me, "test mail queued from the console");
    Ok(messages::CONSOLE_TEST_MAIL_QUEUED)
}

// ---- Jobs --------------------------------------------------------------------------------

#[derive(Debug, Serialize)]
pub struct JobRunView {
    pub started_at: f64,
    pub duration_secs: Option<f64>,
    /// `succeeded`, `running`, or `failed` (unfinished and its lease run out).
    pub outcome: &'static str,
    pub affected: Option<i64>,
}

#[derive(Debug, Serialize)]
pub struct JobView {
    pub name: &'static str,
    pub schedule: String,
    pub next_run: Option<f64>,
    pub runs: Vec<JobRunView>,
}

fn run_view(run: JobRunRow, now: Timestamp) -> JobRunView {
    let outcome = match (run.finished_at, run.lease_until) {
        (Some(_), _) => "succeeded",
        (None, Some(lease)) if lease >= now => "running",
        (None, _) => "failed",
    };
    JobRunView {
        started_at: run.started_at,
        duration_secs: run
            .finished_at
            .map(|end| ((end - run.started_at) * 1000.0).round() / 1000.0),
        outcome,
        affected: run.affected,
    }
}

/// Every job with its schedule and its latest runs (one bounded query per job).
pub async fn jobs_with_runs(state: &AppState, runs: i64) -> Result<Vec<JobView>> {
    let now = state.clock.now();
    let mut views = Vec::with_capacity(Job::ALL.len());
    for job in Job::ALL {
        let rows = store::console::job_runs(&state.db, job.name(), runs).await?;
        views.push(JobView {
            name: job.name(),
            schedule: job.schedule_expression(&state.config).to_owned(),
            next_run: job.next_tick(&state.config, now),
            runs: rows.into_iter().map(|r| run_view(r, now)).collect(),
        });
    }
    Ok(views)
}

pub async fn jobs(state: &AppState) -> Result<Vec<JobView>> {
    jobs_with_runs(state, RUNS_SHOWN).await
}

/// Runs a job now, as the scheduler runs a tick (claimed in `job_runs`, so it shows in its
/// history and never runs twice for one tick). It runs in the background: a long job must not
/// hold the page.
pub async fn run_job(state: &AppState, me: i64, name: &str) -> Result<Message> {
    let job =
        Job::from_name(name).ok_or_else(|| Error::not_found(messages::CONSOLE_UNKNOWN_JOB))?;
    let mut work = state.unit_of_work().await?;
    require_admin(work.tx(), me).await?;
    work.audit(Event::new(
        Some(me),
        "console.job_run",
        format!("job:{}", job.name()),
    ));
    work.commit().await?;
    let state = state.clone();
    let tick = state.clock.now();
    tokio::spawn(async move {
        crate::jobs::run_tick(&state, job, tick).await;
    });
    tracing::info!(by = me, job = name, "job started from the console");
    Ok(messages::CONSOLE_JOB_STARTED)
}
