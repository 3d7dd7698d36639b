//! Queries on `users`.

use super::{Db, Tx, with_db, with_tx};
use crate::domain::clock::Timestamp;
use crate::domain::console::MemberFilter;
use crate::domain::relations::RelationState;
use crate::domain::users::{ProfileUpdate, SKILL_WORDS_PER_QUERY};

/// A whole `users` row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    pub id: i64,
    pub name: String,
    pub username: String,
    pub email: String,
    pub password_hash: String,
    pub registration_date: f64,
    pub terms_and_conditions_checked: bool,
    pub is_admin: bool,
    pub is_email_verified: bool,
    pub email_verification_date: Option<f64>,
    pub bio: Option<String>,
    pub location: Option<String>,
    pub occupation: Option<String>,
    pub organization: Option<String>,
    pub slack_username: Option<String>,
    pub social_media_links: Option<String>,
    pub skills: Option<String>,
    pub interests: Option<String>,
    pub resume_url: Option<String>,
    pub photo_url: Option<String>,
    pub need_mentoring: bool,
    pub available_to_mentor: bool,
}

/// What other members may see of a user, with `is_available` computed.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PublicUserRow {
    pub id: i64,
    pub username: String,
    pub name: String,
    pub slack_username: Option<String>,
    pub bio: Option<String>,
    pub location: Option<String>,
    pub occupation: Option<String>,
    pub organization: Option<String>,
    pub interests: Option<String>,
    pub skills: Option<String>,
    pub need_mentoring: bool,
    pub available_to_mentor: bool,
    pub is_available: bool,
    pub registration_date: f64,
    pub is_email_verified: bool,
}

const PUBLIC_COLUMNS: &str = "u.id, u.username, u.name, u.slack_username, u.bio, u.location, \
    u.occupation, u.organization, u.interests, u.skills, u.need_mentoring, u.available_to_mentor, \
    (cr.user_id IS NULL AND (u.need_mentoring OR u.available_to_mentor)) AS is_available, \
    u.registration_date, u.is_email_verified";

/// The join [`PUBLIC_COLUMNS`] reads `is_available` from (`users` aliased as `u`).
const PUBLIC_JOIN: &str = "LEFT JOIN current_relations cr ON cr.user_id = u.id";

pub struct NewUserRecord<'a> {
    pub name: &'a str,
    pub username: &'a str,
    pub email: &'a str,
    pub password_hash: &'a str,
    pub registration_date: Timestamp,
    pub is_admin: bool,
    pub need_mentoring: bool,
    pub available_to_mentor: bool,
}

pub async fn insert(tx: &mut Tx, user: &NewUserRecord<'_>) -> Result<i64, sqlx::Error> {
    with_tx!(tx, |c| sqlx::query_scalar::<_, i64>(
        "INSERT INTO users (name, username, email, password_hash, registration_date,
             terms_and_conditions_checked, is_admin, need_mentoring, available_to_mentor)
         VALUES ($1, $2, $3, $4, $5, TRUE, $6, $7, $8) RETURNING id"
    )
    .bind(user.name)
    .bind(user.username)
    .bind(user.email)
    .bind(user.password_hash)
    .bind(user.registration_date)
    .bind(user.is_admin)
    .bind(user.need_mentoring)
    .bind(user.available_to_mentor)
    .fetch_one(c)
    .await)
}

pub async fn any_exists(tx: &mut Tx) -> Result<bool, sqlx::Error> {
    with_tx!(tx, |c| sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM (SELECT 1 FROM users LIMIT 1) AS t"
    )
    .fetch_one(c)
    .await)
    .map(|n| n > 0)
}

pub async fn find_by_id(db: &Db, id: i64) -> Result<Option<UserRow>, sqlx::Error> {
    with_db!(db, |c| sqlx::query_as::<_, UserRow>(
        "SELECT * FROM users WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(c)
    .await)
}

/// Reads a user inside a transaction, locking the row on PostgreSQL (SQLite's write
/// transaction already excludes other writers).
pub async fn lock_by_id(tx: &mut Tx, id: i64) -> Result<Option<UserRow>, sqlx::Error> {
    let sql = if tx.is_postgres() {
        "SELECT * FROM users WHERE id = $1 FOR UPDATE"
    } else {
        "SELECT * FROM users WHERE id = $1"
    };
    with_tx!(tx, |c| sqlx::query_as::<_, UserRow>(sql)
        .bind(id)
        .fetch_optional(c)
        .await)
}

pub async fn find_by_email(db: &Db, email: &str) -> Result<Option<UserRow>, sqlx::Error> {
    with_db!(db, |c| sqlx::query_as::<_, UserRow>(
        "SELECT * FROM users WHERE lower(email) = lower($1)"
    )
    .bind(email)
    .fetch_optional(c)
    .await)
}

pub async fn find_by_username(db: &Db, username: &str) -> Result<Option<UserRow>, sqlx::Error> {
    with_db!(db, |c| sqlx::query_as::<_, UserRow>(
        "SELECT * FROM users WHERE lower(username) = lower($1)"
    )
    .bind(username)
    .fetch_optional(c)
    .await)
}

pub async fn username_taken_by_other(
    db: &Db,
    username: &str,
    me: i64,
) -> Result<bool, sqlx::Error> {
    with_db!(db, |c| sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM users WHERE lower(username) = lower($1) AND id <> $2"
    )
    .bind(username)
    .bind(me)
    .fetch_one(c)
    .await)
    .map(|n| n > 0)
}

pub async fn set_verified(tx: &mut Tx, id: i64, now: Timestamp) -> Result<u64, sqlx::Error> {
    with_tx!(tx, |c| sqlx::query(
        "UPDATE users SET is_email_verified = TRUE, email_verification_date = $2
         WHERE id = $1 AND NOT is_email_verified"
    )
    .bind(id)
    .bind(now)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
}

pub async fn set_password_hash(tx: &mut Tx, id: i64, hash: &str) -> Result<u64, sqlx::Error> {
    with_tx!(tx, |c| sqlx::query(
        "UPDATE users SET password_hash = $2 WHERE id = $1"
    )
    .bind(id)
    .bind(hash)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
}

/// Replaces a hash only if it is still the one that was verified (a concurrent password change wins).
pub async fn upgrade_password_hash(
    tx: &mut Tx,
    id: i64,
    old: &str,
    new: &str,
) -> Result<u64, sqlx::Error> {
    with_tx!(tx, |c| sqlx::query(
        "UPDATE users SET password_hash = $3 WHERE id = $1 AND password_hash = $2"
    )
    .bind(id)
    .bind(old)
    .bind(new)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
}

/// Applies a validated profile change in one statement: each optional text is either kept
/// (its flag false) or set to the given value, which may be NULL.
pub async fn update_profile(
    tx: &mut Tx,
    id: i64,
    update: &ProfileUpdate,
) -> Result<u64, sqlx::Error> {
    let text = |field: &Option<Option<String>>| (field.is_some(), field.clone().flatten());
    let (set_bio, bio) = text(&update.bio);
    let (set_location, location) = text(&update.location);
    let (set_occupation, occupation) = text(&update.occupation);
    let (set_organization, organization) = text(&update.organization);
    let (set_slack, slack) = text(&update.slack_username);
    let (set_social, social) = text(&update.social_media_links);
    let (set_skills, skills) = text(&update.skills);
    let (set_interests, interests) = text(&update.interests);
    let (set_resume, resume) = text(&update.resume_url);
    let (set_photo, photo) = text(&update.photo_url);
    with_tx!(tx, |c| sqlx::query(
        "UPDATE users SET
            name = COALESCE($2, name),
            username = COALESCE($3, username),
            bio = CASE WHEN $4 THEN $5 ELSE bio END,
            location = CASE WHEN $6 THEN $7 ELSE location END,
            occupation = CASE WHEN $8 THEN $9 ELSE occupation END,
            organization = CASE WHEN $10 THEN $11 ELSE organization END,
            slack_username = CASE WHEN $12 THEN $13 ELSE slack_username END,
            social_media_links = CASE WHEN $14 THEN $15 ELSE social_media_links END,
            skills = CASE WHEN $16 THEN $17 ELSE skills END,
            interests = CASE WHEN $18 THEN $19 ELSE interests END,
            resume_url = CASE WHEN $20 THEN $21 ELSE resume_url END,
            photo_url = CASE WHEN $22 THEN $23 ELSE photo_url END,
            need_mentoring = COALESCE($24, need_mentoring),
            available_to_mentor = COALESCE($25, available_to_mentor)
         WHERE id = $1"
    )
    .bind(id)
    .bind(update.name.as_deref())
    .bind(update.username.as_deref())
    .bind(set_bio)
    .bind(bio)
    .bind(set_location)
    .bind(location)
    .bind(set_occupation)
    .bind(occupation)
    .bind(set_organization)
    .bind(organization)
    .bind(set_slack)
    .bind(slack)
    .bind(set_social)
    .bind(social)
    .bind(set_skills)
    .bind(skills)
    .bind(set_interests)
    .bind(interests)
    .bind(set_resume)
    .bind(resume)
    .bind(set_photo)
    .bind(photo)
    .bind(update.need_mentoring)
    .bind(update.available_to_mentor)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
}

pub async fn delete(tx: &mut Tx, id: i64) -> Result<u64, sqlx::Error> {
    with_tx!(tx, |c| sqlx::query("DELETE FROM users WHERE id = $1")
        .bind(id)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
}

pub async fn public_by_id(db: &Db, id: i64) -> Result<Option<PublicUserRow>, sqlx::Error> {
    with_db!(db, |c| sqlx::query_as::<_, PublicUserRow>(
        sqlx::AssertSqlSafe(format!(
            "SELECT {PUBLIC_COLUMNS} FROM users u {PUBLIC_JOIN} WHERE u.id = $1"
        ))
    )
    .bind(id)
    .fetch_optional(c)
    .await)
}

/// Filters of the member directory.
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    pub exclude_id: i64,
    pub verified_only: bool,
    /// Lower-cased text to find in the name or username.
    pub search: Option<String>,
    pub need_mentoring: Option<bool>,
    pub available_to_mentor: Option<bool>,
    /// Skill words the member must all have (`member_skills`); the first three count.
    pub skills: Vec<String>,
}

/// The conditions of the skill words, bound as `$5` to `$7`: each a probe of the primary key
/// (word, user_id) for the member at hand. (`u.id IN (SELECT ...)` had SQLite collect every
/// member with a common word first: 220 ms a page at 1M members.)
const SKILL_CONDITIONS: [&str; SKILL_WORDS_PER_QUERY] = [
    "EXISTS (SELECT 1 FROM member_skills w WHERE w.word = $5 AND w.user_id = u.id)",
    "EXISTS (SELECT 1 FROM member_skills w WHERE w.word = $6 AND w.user_id = u.id)",
    "EXISTS (SELECT 1 FROM member_skills w WHERE w.word = $7 AND w.user_id = u.id)",
];

/// Replaces a member's skill words (`member_skills`): those of their skills if they are
/// verified, none otherwise.
pub async fn refresh_skills(tx: &mut Tx, user_id: i64) -> Result<(), sqlx::Error> {
    with_tx!(tx, |c| sqlx::query(
        "DELETE FROM member_skills WHERE user_id = $1"
    )
    .bind(user_id)
    .execute(&mut *c)
    .await
    .map(|_| ()))?;
    let skills = with_tx!(tx, |c| sqlx::query_scalar::<_, Option<String>>(
        "SELECT skills FROM users WHERE id = $1 AND is_email_verified"
    )
    .bind(user_id)
    .fetch_optional(&mut *c)
    .await)?;
    insert_skills(tx, user_id, skills.flatten().as_deref()).await
}

async fn insert_skills(tx: &mut Tx, user_id: i64, skills: Option<&str>) -> Result<(), sqlx::Error> {
    let words = crate::domain::users::profile_words(skills.unwrap_or_default());
    // (`WHERE true`: SQLite reads `ON CONFLICT` after a bare `SELECT ... FROM` as a join.)
    if words.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO member_skills (word, user_id)
         SELECT value, $1 FROM {} WHERE true ON CONFLICT DO NOTHING",
        if tx.is_postgres() {
            "json_array_elements_text($2::json) AS words (value)"
        } else {
            "json_each($2)"
        }
    );
    with_tx!(tx, |c| sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
        .bind(user_id)
        .bind(super::json_list(&words))
        .execute(c)
        .await
        .map(|_| ()))
}

/// Fills `member_skills` for the verified members after `after` (by id), up to `limit` of
/// them; returns the last id done, or `None` when there were none left (the backfill of
/// migration 0041).
pub async fn backfill_skills_step(
    tx: &mut Tx,
    after: i64,
    limit: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let members = with_tx!(tx, |c| sqlx::query_as::<_, (i64, Option<String>)>(
        sqlx::AssertSqlSafe(format!(
            "SELECT id, skills FROM users WHERE id > $1 AND is_email_verified ORDER BY id {}",
            super::limit_offset(limit, 0)
        ))
    )
    .bind(after)
    .fetch_all(&mut *c)
    .await)?;
    let last = members.last().map(|m| m.0);
    for (id, skills) in members {
        insert_skills(tx, id, skills.as_deref()).await?;
    }
    Ok(last)
}

/// One page of the member directory, ordered by id.
///
/// The text search uses a trigram index on both databases (PostgreSQL
/// `pg_trgm` on `search_key`, SQLite FTS5 `trigram`), so it never scans the table. The WHERE
/// clause is assembled from fixed fragments, only those the filter needs, so each variant gets
/// its own plan.
pub async fn list_public(
    db: &Db,
    filter: &UserFilter,
    limit: i64,
    offset: i64,
) -> Result<Vec<PublicUserRow>, sqlx::Error> {
    let skills = &filter.skills[..filter.skills.len().min(SKILL_WORDS_PER_QUERY)];
    let text_search = filter
        .search
        .as_deref()
        .map(|text| DirectorySearch::new(db, text));
    // A text search drives from its trigram index; without one, the first skill word drives.
    let skill_drives = text_search.is_none() && !skills.is_empty();
    let search = if skill_drives {
        Some(DirectorySearch::by_skill())
    } else {
        text_search
    };
    let mut conditions = vec!["u.id <> $1"];
    if filter.verified_only {
        conditions.push("u.is_email_verified");
    }
    if let Some(search) = &search {
        conditions.push(search.condition);
    }
    if filter.need_mentoring.is_some() {
        conditions.push("u.need_mentoring = $3");
    }
    if filter.available_to_mentor.is_some() {
        conditions.push("u.available_to_mentor = $4");
    }
    let probed = if skill_drives { 1 } else { 0 }..skills.len();
    conditions.extend(&SKILL_CONDITIONS[probed]);
    let skill = |i: usize| skills.get(i).map(String::as_str).unwrap_or_default();
    let term = search.as_ref().map(|s| s.term.clone()).unwrap_or_default();
    let binds = (
        filter.exclude_id,
        term,
        filter.need_mentoring.unwrap_or_default(),
        filter.available_to_mentor.unwrap_or_default(),
    );
    match db {
        // PostgreSQL must plan a search with its term: a common one ("smi") is found fastest
        // by walking the members in id order until the page is full (0.2 ms), a rare one
        // through the trigram index. A prepared statement ends up with one generic plan for
        // all terms, so the page's ids come from `directory_page` (migrations 0006 and 0041),
        // which plans their query anew for each call. Skill words likewise: a generic plan
        // walked every member looking for a rare word (2.6 s at 1M members).
        Db::Postgres(pool) if search.is_some() => {
            sqlx::query_as::<_, PublicUserRow>(sqlx::AssertSqlSafe(format!(
                "SELECT {PUBLIC_COLUMNS} FROM directory_page($1, $2, $3, $4, $5, $6, $7, $8)
                 AS page (id)
                 JOIN users u ON u.id = page.id {PUBLIC_JOIN}
                 ORDER BY u.id"
            )))
            .bind(directory_sql(
                DirectoryColumns::Ids,
                search.as_ref(),
                &conditions,
                limit,
                offset,
            ))
            .bind(binds.0)
            .bind(binds.1)
            .bind(binds.2)
            .bind(binds.3)
            .bind(skill(0))
            .bind(skill(1))
            .bind(skill(2))
            .fetch_all(pool)
            .await
        }
        _ => {
            let sql = directory_sql(
                DirectoryColumns::Public,
                search.as_ref(),
                &conditions,
                limit,
                offset,
            );
            with_db!(db, |c| sqlx::query_as::<_, PublicUserRow>(
                sqlx::AssertSqlSafe(sql.clone())
            )
            .bind(binds.0)
            .bind(&binds.1)
            .bind(binds.2)
            .bind(binds.3)
            .bind(skill(0))
            .bind(skill(1))
            .bind(skill(2))
            .fetch_all(c)
            .await)
        }
    }
}

/// What a directory query selects.
#[derive(Clone, Copy)]
enum DirectoryColumns {
    /// [`PUBLIC_COLUMNS`], with [`PUBLIC_JOIN`].
    Public,
    /// The users' ids alone, without that join: PostgreSQL would drop it from the plan, but
    /// only after parsing it on every call of `directory_page` (a tenth of a search's cost).
    Ids,
}

/// One page of the directory, for these conditions; binds: $1 the caller, $2 the search term,
/// $3 need_mentoring, $4 available_to_mentor, $5 to $7 skill words.
///
/// The page's bounds are written into the SQL ([`super::limit_offset`]): a page of
/// `/users/verified` was planned anew on every execution otherwise (on PostgreSQL 0.25 ms of
/// planning for 0.07 ms of work).
fn directory_sql(
    columns: DirectoryColumns,
    search: Option<&DirectorySearch>,
    conditions: &[&str],
    limit: i64,
    offset: i64,
) -> String {
    let (source, order) = search.map_or(("users u", "u.id"), |s| (s.source, s.order));
    let (columns, join) = match columns {
        DirectoryColumns::Public => (PUBLIC_COLUMNS, PUBLIC_JOIN),
        DirectoryColumns::Ids => ("u.id", ""),
    };
    format!(
        "SELECT {columns} FROM {source} {join}
         WHERE {} ORDER BY {order} {}",
        conditions.join(" AND "),
        super::limit_offset(limit, offset)
    )
}

/// The query that finds the ids of the first page of 20 of a directory search, and its
/// search term, for plan checks (`EXPLAIN`) in tests.
pub fn directory_search_sql(db: &Db, text: &str) -> (String, String) {
    let search = DirectorySearch::new(db, text);
    (
        directory_sql(
            DirectoryColumns::Ids,
            Some(&search),
            &["u.id <> $1", "u.is_email_verified", search.condition],
            20,
            0,
        ),
        search.term,
    )
}

/// The query that finds the ids of the first page of 20 members with one skill word (bound
/// to `$5`), for plan checks (`EXPLAIN`) in tests.
pub fn directory_skill_sql() -> String {
    let skill = DirectorySearch::by_skill();
    directory_sql(
        DirectoryColumns::Ids,
        Some(&skill),
        &["u.id <> $1", "u.is_email_verified", skill.condition],
        20,
        0,
    )
}

/// How the directory finds its members, by a search text or a skill word: the rows it reads
/// first (aliasing `users` as `u`), the condition (binding `$2`, the text's term, or `$5`, the
/// skill word), the order of the page (by user id) and the term bound to `$2`.
struct DirectorySearch {
    source: &'static str,
    condition: &'static str,
    order: &'static str,
    term: String,
}

impl DirectorySearch {
    /// A skills filter without a search text: the first word's rows of `member_skills`, read
    /// from its primary key (word, user_id) in member id order, so a page of a common word
    /// stops once full and a rare word reads only its own rows.
    fn by_skill() -> DirectorySearch {
        DirectorySearch {
            source: "member_skills s JOIN users u ON u.id = s.user_id",
            condition: "s.word = $5",
            order: "s.user_id",
            term: String::new(),
        }
    }

    fn new(db: &Db, text: &str) -> DirectorySearch {
        match db {
            // `search_key` is the lower-cased name and username (migration 0006), read from
            // the covering index `users_directory_idx` or found through its trigram index.
            Db::Postgres(_) => DirectorySearch {
                source: "users u",
                condition: "u.search_key LIKE $2",
                order: "u.id",
                term: super::like_pattern(text),
            },
            // The trigram index answers substrings of three characters or more. The query is
            // driven from it, in its rowid (= user id) order, so SQLite stops once the page is
            // full instead of collecting every match first (83,000 for a common trigram at 1M
            // users: 40 ms, against 0.1 ms).
            Db::Sqlite(_) if text.chars().count() >= 3 => DirectorySearch {
                source: "users_search s JOIN users u ON u.id = s.rowid",
                condition: "s.users_search MATCH $2",
                order: "s.rowid",
                term: format!("\"{}\"", text.replace('"', "\"\"")),
            },
            // Shorter ones scan.
            Db::Sqlite(_) => DirectorySearch {
                source: "users u",
                condition: "(lower(u.name) LIKE $2 ESCAPE '\\' OR lower(u.username) LIKE $2 ESCAPE '\\')",
                order: "u.id",
                term: super::like_pattern(text),
            },
        }
    }
}

/// Pages of the SQLite search index merged per step of [`compact_search_index_step`]: at 1M
/// members a step held the write lock for 0.3 s at most, and 34 steps merged ten segments into
/// one in 1.2 s.
const SEARCH_INDEX_MERGE_PAGES: i64 = 500;

/// One bounded step of compacting the directory's search index; 0 once there is nothing left
/// to do (see `jobs::optimize_search_index`).
///
/// SQLite: FTS5's `merge` command with a negative page count, which treats every segment as
/// one level, so the steps end with a single segment, as `optimize` would in one long
/// transaction. It reports its work only through `total_changes()`, which grows by 2 or more
/// when it merged something. PostgreSQL: `gin_clean_pending_list` folds the trigram index's
/// pending entries in, all at once.
pub async fn compact_search_index_step(tx: &mut Tx) -> Result<u64, sqlx::Error> {
    match tx {
        Tx::Sqlite(t, _) => {
            let c = &mut **t;
            let changes = "SELECT total_changes()";
            let before: i64 = sqlx::query_scalar(changes).fetch_one(&mut *c).await?;
            sqlx::query("INSERT INTO users_search (users_search, rank) VALUES ('merge', $1)")
                .bind(-SEARCH_INDEX_MERGE_PAGES)
                .execute(&mut *c)
                .await?;
            let after: i64 = sqlx::query_scalar(changes).fetch_one(&mut *c).await?;
            Ok(if after - before >= 2 {
                (after - before) as u64
            } else {
                0
            })
        }
        Tx::Postgres(t) => {
            let folded: i64 = sqlx::query_scalar(
                "SELECT gin_clean_pending_list('users_search_key_trgm_idx'::regclass)",
            )
            .fetch_one(&mut **t)
            .await?;
            Ok(folded as u64)
        }
    }
}

/// The ids of the admins, locked until the transaction ends. Every transaction that can change
/// the set of admins (grant, revoke, account deletion) takes this lock first, so two of them
/// never both see "another admin is left" and leave none. SQLite transactions hold the write
/// lock from their start already.
pub async fn lock_admins(tx: &mut Tx) -> Result<Vec<i64>, sqlx::Error> {
    let sql = if tx.is_postgres() {
        "SELECT id FROM users WHERE is_admin ORDER BY id FOR UPDATE"
    } else {
        "SELECT id FROM users WHERE is_admin ORDER BY id"
    };
    with_tx!(tx, |c| sqlx::query_scalar::<_, i64>(sql).fetch_all(c).await)
}

pub async fn set_admin(tx: &mut Tx, id: i64, is_admin: bool) -> Result<u64, sqlx::Error> {
    with_tx!(tx, |c| sqlx::query(
        "UPDATE users SET is_admin = $2 WHERE id = $1"
    )
    .bind(id)
    .bind(is_admin)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
}

pub async fn admins_except(db: &Db, me: i64) -> Result<Vec<UserRow>, sqlx::Error> {
    with_db!(db, |c| sqlx::query_as::<_, UserRow>(
        "SELECT * FROM users WHERE is_admin AND id <> $1 ORDER BY id"
    )
    .bind(me)
    .fetch_all(c)
    .await)
}

/// Accounts never verified and registered before `cutoff`, oldest first.
pub async fn unverified_before(
    tx: &mut Tx,
    cutoff: Timestamp,
    limit: i64,
) -> Result<Vec<(i64, String, String)>, sqlx::Error> {
    with_tx!(tx, |c| {
        sqlx::query_as::<_, (i64, String, String)>(sqlx::AssertSqlSafe(format!(
            "SELECT id, email, username FROM users
             WHERE NOT is_email_verified AND registration_date < $1
             ORDER BY registration_date {}",
            super::limit_offset(limit, 0)
        )))
        .bind(cutoff)
        .fetch_all(c)
        .await
    })
}

/// Deletes the given never-verified accounts and the pending requests that name them.
pub async fn delete_unverified(tx: &mut Tx, ids: &[i64]) -> Result<u64, sqlx::Error> {
    let list = super::id_list(ids);
    with_tx!(tx, |c| {
        sqlx::query(sqlx::AssertSqlSafe(format!(
        "DELETE FROM mentorship_relations WHERE state = $1 AND (mentor_id IN ({list}) OR mentee_id IN ({list}))"
    )))
    .bind(RelationState::Pending)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected())
    })?;
    with_tx!(tx, |c| sqlx::query(sqlx::AssertSqlSafe(format!(
        "DELETE FROM users WHERE NOT is_email_verified AND id IN ({list})"
    )))
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
}

/// A member as the console lists them.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct MemberRow {
    pub id: i64,
    pub username: String,
    pub name: String,
    pub email: String,
    pub registration_date: f64,
    pub is_admin: bool,
    pub is_email_verified: bool,
    pub need_mentoring: bool,
    pub available_to_mentor: bool,
}

const MEMBER_COLUMNS: &str = "u.id, u.username, u.name, u.email, u.registration_date, \
    u.is_admin, u.is_email_verified, u.need_mentoring, u.available_to_mentor";

/// One page of members with ids above `after`, in id order (keyset pagination: every page costs
/// the same, however deep). The flags are written as fixed fragments, never bound, so the
/// partial indexes on admins and unverified members serve those filters; the text search is
/// the directory's (trigram index on both databases).
pub async fn console_members(
    db: &Db,
    filter: &MemberFilter,
    after: i64,
    limit: i64,
) -> Result<Vec<MemberRow>, sqlx::Error> {
    let email = filter.search.as_deref().filter(|s| s.contains('@'));
    let search = match email {
        Some(_) => None,
        None => filter
            .search
            .as_deref()
            .map(|text| DirectorySearch::new(db, text)),
    };
    let order = search.as_ref().map_or("u.id", |s| s.order);
    let after_condition = format!("{order} > $1");
    let mut conditions: Vec<&str> = vec![&after_condition];
    if let Some(search) = &search {
        conditions.push(search.condition);
    }
    if email.is_some() {
        conditions.push("lower(u.email) = $2");
    }
    let flags = [
        (
            filter.verified,
            "u.is_email_verified",
            "NOT u.is_email_verified",
        ),
        (
            filter.available_to_mentor,
            "u.available_to_mentor",
            "NOT u.available_to_mentor",
        ),
        (
            filter.need_mentoring,
            "u.need_mentoring",
            "NOT u.need_mentoring",
        ),
        (filter.admin, "u.is_admin", "NOT u.is_admin"),
    ];
    for (wanted, yes, no) in flags {
        match wanted {
            Some(true) => conditions.push(yes),
            Some(false) => conditions.push(no),
            None => {}
        }
    }
    let term = match (&search, email) {
        (Some(search), _) => search.term.clone(),
        (None, Some(email)) => email.to_lowercase(),
        (None, None) => String::new(),
    };
    let source = search.as_ref().map_or("users u", |s| s.source);
    let conditions = conditions.join(" AND ");
    let limit = super::limit_offset(limit, 0);
    match db {
        // As the directory: the page's ids planned anew for each term (migration 0006).
        Db::Postgres(pool) if search.is_some() => {
            let ids_sql =
                format!("SELECT u.id FROM {source} WHERE {conditions} ORDER BY {order} {limit}");
            sqlx::query_as::<_, MemberRow>(sqlx::AssertSqlSafe(format!(
                "SELECT {MEMBER_COLUMNS} FROM directory_page($1, $2, $3, FALSE, FALSE) AS page (id)
                 JOIN users u ON u.id = page.id ORDER BY u.id"
            )))
            .bind(ids_sql)
            .bind(after)
            .bind(term)
            .fetch_all(pool)
            .await
        }
        _ => {
            let sql = format!(
                "SELECT {MEMBER_COLUMNS} FROM {source} WHERE {conditions} ORDER BY {order} {limit}"
            );
            with_db!(db, |c| sqlx::query_as::<_, MemberRow>(sqlx::AssertSqlSafe(
                sql.clone()
            ))
            .bind(after)
            .bind(&term)
            .fetch_all(c)
            .await)
        }
    }
}
