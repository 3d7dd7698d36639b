//! Queries on `mentorship_relations` and `current_relations`.

use super::{Tx, with_tx};
use crate::domain::clock::Timestamp;

/// Someone to tell about a change: their e-mail and name.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Contact {
    pub user_id: i64,
    pub email: String,
    pub name: String,
}

/// Before an account is deleted: its current relation is cancelled (the other party is returned,
/// to be told) and its pending requests are deleted, so nothing dangles.
pub async fn end_relations_of_leaving_users(
    tx: &mut Tx,
    user_ids: &[i64],
    now: Timestamp,
) -> Result<Vec<Contact>, sqlx::Error> {
    let mut partners = Vec::new();
    for &user_id in user_ids {
        let current = with_tx!(tx, |c| sqlx::query_as::<_, (i64, Option<i64>)>(
            "SELECT r.id, CASE WHEN r.mentor_id = $1 THEN r.mentee_id ELSE r.mentor_id END
             FROM current_relations cr JOIN mentorship_relations r ON r.id = cr.relation_id
             WHERE cr.user_id = $1"
        )
        .bind(user_id)
        .fetch_optional(&mut *c)
        .await)?;
        if let Some((relation_id, partner_id)) = current {
            with_tx!(tx, |c| sqlx::query(
                "UPDATE mentorship_relations SET state = 4 WHERE id = $1 AND state = 2"
            )
            .bind(relation_id)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected()))?;
            with_tx!(tx, |c| sqlx::query(
                "DELETE FROM current_relations WHERE relation_id = $1"
            )
            .bind(relation_id)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected()))?;
            let _ = now;
            if let Some(partner_id) = partner_id {
                let contact = with_tx!(tx, |c| sqlx::query_as::<_, Contact>(
                    "SELECT id AS user_id, email, name FROM users WHERE id = $1"
                )
                .bind(partner_id)
                .fetch_optional(&mut *c)
                .await)?;
                partners.extend(contact);
            }
        }
        with_tx!(tx, |c| {
            sqlx::query("DELETE FROM mentorship_relations WHERE state = 1 AND (mentor_id = $1 OR mentee_id = $1)")
            .bind(user_id)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
        })?;
    }
    Ok(partners)
}

/// A relation the completion job just completed, with both parties to tell.
#[derive(Debug, Clone)]
pub struct CompletedRelation {
    pub id: i64,
    pub end_date: f64,
    pub parties: Vec<Contact>,
}

/// Completes up to `limit` ACCEPTED relations whose end date is before `now`, frees their
/// parties, and returns them. PostgreSQL instances skip rows another run has locked.
pub async fn complete_due(
    tx: &mut Tx,
    now: Timestamp,
    limit: i64,
) -> Result<Vec<CompletedRelation>, sqlx::Error> {
    let lock = if tx.is_postgres() {
        "FOR UPDATE SKIP LOCKED"
    } else {
        ""
    };
    let due = with_tx!(tx, |c| {
        sqlx::query_as::<_, (i64, f64)>(sqlx::AssertSqlSafe(format!(
        "SELECT id, end_date FROM mentorship_relations WHERE state = 2 AND end_date < $1 ORDER BY end_date LIMIT $2 {lock}"
    )))
    .bind(now)
    .bind(limit)
    .fetch_all(&mut *c)
    .await
    })?;
    if due.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = due.iter().map(|(id, _)| *id).collect();
    let list = super::id_list(&ids);
    with_tx!(tx, |c| sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE mentorship_relations SET state = 5 WHERE state = 2 AND id IN ({list})"
    )))
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    with_tx!(tx, |c| sqlx::query(sqlx::AssertSqlSafe(format!(
        "DELETE FROM current_relations WHERE relation_id IN ({list})"
    )))
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    let parties = with_tx!(tx, |c| sqlx::query_as::<_, (i64, i64, String, String)>(
        sqlx::AssertSqlSafe(format!(
            "SELECT r.id, u.id, u.email, u.name FROM mentorship_relations r
         JOIN users u ON u.id = r.mentor_id OR u.id = r.mentee_id
         WHERE r.id IN ({list})"
        ))
    )
    .fetch_all(c)
    .await)?;
    Ok(due
        .into_iter()
        .map(|(id, end_date)| CompletedRelation {
            id,
            end_date,
            parties: parties
                .iter()
                .filter(|(rid, ..)| *rid == id)
                .map(|(_, user_id, email, name)| Contact {
                    user_id: *user_id,
                    email: email.clone(),
                    name: name.clone(),
                })
                .collect(),
        })
        .collect())
}
