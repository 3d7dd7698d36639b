//! The query plans of the directory search, the relation list and the upcoming meetings use
//! their indexes, so their cost does not grow with the tables. Checked on 10,000 members seeded
//! by the benchmark's own seed (`bench/seed.sql`, so it stays valid on both databases).

use mentorship::domain::relations::RelationState;
use mentorship::store::users::{directory_search_sql, directory_skill_sql};
use mentorship::store::{Db, meetings, relations};

use crate::helpers::*;

/// User 1, then the benchmark's seed for `count` members: pairs with relations, tasks and
/// meetings.
async fn seed(db: &Db, count: i64) {
    let first = "INSERT INTO users (name, username, email, password_hash, registration_date,
            terms_and_conditions_checked, is_email_verified, need_mentoring, available_to_mentor)
        VALUES ('Bench User', 'bench_user', 'bench@example.com', 'x', 0, TRUE, TRUE, FALSE, TRUE)";
    let now = chrono::Utc::now().timestamp().to_string();
    let seed = include_str!("../../bench/seed.sql")
        .replace(":NOW", &now)
        .replace(":N", &count.to_string());
    for sql in [first.to_owned(), seed, "ANALYZE".to_owned()] {
        mentorship::with_db!(db, |c| sqlx::raw_sql(sqlx::AssertSqlSafe(sql.clone()))
            .execute(c)
            .await
            .map(|_| ()))
        .unwrap();
    }
}

/// The plan of `sql` with these binds, one line per step.
async fn plan(db: &Db, sql: &str, binds: &[Bind]) -> String {
    match db {
        Db::Postgres(pool) => {
            // At 10,000 rows, scanning a table costs less than an index, which wins only as the
            // table grows. So the planner is asked to avoid full scans: the plan then shows
            // whether an index can serve the query at all (without one, the planner has to fall
            // back to a full scan), which is what must not regress.
            let mut conn = pool.acquire().await.unwrap();
            for setting in ["SET enable_seqscan = off", "SET enable_indexscan = off"] {
                sqlx::query(setting).execute(&mut *conn).await.unwrap();
            }
            let explain = format!("EXPLAIN {sql}");
            let mut query = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(explain));
            for bind in binds {
                query = match bind {
                    Bind::Int(v) => query.bind(*v),
                    Bind::Real(v) => query.bind(*v),
                    Bind::Text(v) => query.bind(v.clone()),
                    Bind::Bool(v) => query.bind(*v),
                };
            }
            query.fetch_all(&mut *conn).await.unwrap().join("\n")
        }
        Db::Sqlite(pool) => {
            let explain = format!("EXPLAIN QUERY PLAN {sql}");
            let mut query =
                sqlx::query_as::<_, (i64, i64, i64, String)>(sqlx::AssertSqlSafe(explain));
            for bind in binds {
                query = match bind {
                    Bind::Int(v) => query.bind(*v),
                    Bind::Real(v) => query.bind(*v),
                    Bind::Text(v) => query.bind(v.clone()),
                    Bind::Bool(v) => query.bind(*v),
                };
            }
            let rows = query.fetch_all(pool).await.unwrap();
            rows.into_iter().map(|r| r.3).collect::<Vec<_>>().join("\n")
        }
    }
}

enum Bind {
    Int(i64),
    Real(f64),
    Text(String),
    Bool(bool),
}

/// No step of `plan` reads the whole of one of `tables`.
fn assert_no_full_scan(kind: DbKind, plan: &str, tables: &[&str]) {
    for table in tables {
        let full_scan = match kind {
            DbKind::Postgres => plan.contains(&format!("Seq Scan on {table}")),
            // SQLite says "SCAN <table or alias>" for a full scan ("SCAN ... VIRTUAL TABLE" is
            // the FTS index, "SEARCH" an index lookup).
            DbKind::Sqlite => plan.lines().any(|line| {
                line.trim_start_matches(['|', '`', '-', ' ']) == format!("SCAN {table}")
            }),
        };
        assert!(!full_scan, "full scan of {table}:\n{plan}");
    }
}

async fn seeded_database(kind: DbKind) -> (TestDatabase, Db) {
    let database = TestDatabase::create(kind).await;
    let db = Db::connect(&database.url, 2).await.unwrap();
    db.migrate().await.unwrap();
    seed(&db, 10_000).await;
    (database, db)
}

async fn the_directory_search_uses_the_trigram_index(kind: DbKind) {
    let (_database, db) = seeded_database(kind).await;
    // A rare term is looked up in the trigram index; a common one may instead walk
    // PostgreSQL's covering index in id order (the page fills at once), never the table.
    for (text, rare) in [("ber_9999", true), ("smi", false)] {
        let (sql, term) = directory_search_sql(&db, text);
        let binds = [
            Bind::Int(0),
            Bind::Text(term),
            Bind::Bool(false),
            Bind::Bool(false),
            Bind::Int(20),
            Bind::Int(0),
        ];
        let plan = plan(&db, &sql, &binds).await;
        match kind {
            DbKind::Postgres if rare => assert!(plan.contains("trgm_idx"), "{plan}"),
            DbKind::Postgres => assert!(
                plan.contains("trgm_idx") || plan.contains("users_directory_idx"),
                "{plan}"
            ),
            DbKind::Sqlite => assert!(plan.contains("VIRTUAL TABLE INDEX"), "{plan}"),
        }
        assert_no_full_scan(kind, &plan, &["users", "u"]);
    }
    db.close().await;
}

async fn the_skills_filter_reads_its_word_in_member_order_from_the_primary_key(kind: DbKind) {
    let (_database, db) = seeded_database(kind).await;
    let binds = [
        Bind::Int(0),
        Bind::Text(String::new()),
        Bind::Bool(false),
        Bind::Bool(false),
        Bind::Text("rust".into()),
    ];
    let plan = plan(&db, &directory_skill_sql(), &binds).await;
    match kind {
        DbKind::Postgres => assert!(plan.contains("member_skills_pkey"), "{plan}"),
        DbKind::Sqlite => assert!(
            plan.contains("sqlite_autoindex_member_skills_1 (word=?)"),
            "{plan}"
        ),
    }
    // Read in member order: no sort of every member with the word. (PostgreSQL's plans are
    // taken with index scans off, above, so its bitmap scans sort; the benchmark measures it.)
    assert!(!plan.contains("TEMP B-TREE"), "{plan}");
    assert_no_full_scan(kind, &plan, &["users", "u", "member_skills", "s"]);
    db.close().await;
}

async fn the_relation_list_uses_the_party_indexes(kind: DbKind) {
    let (_database, db) = seeded_database(kind).await;
    for scope in [
        relations::RelationScope::All(None),
        relations::RelationScope::All(Some(RelationState::Accepted)),
        relations::RelationScope::PendingEndingAfter(0.0),
    ] {
        let (state, ended_before, ending_after) = scope.binds();
        // `$n IS NULL` needs a typed NULL on PostgreSQL; a non-null value plans the same way.
        let binds = vec![
            Bind::Int(7),
            Bind::Int(state.map_or(0, RelationState::number)),
            Bind::Real(ended_before.unwrap_or(0.0)),
            Bind::Real(ending_after.unwrap_or(0.0)),
        ];
        let plan = plan(&db, &relations::list_for_user_sql(), &binds).await;
        assert_no_full_scan(kind, &plan, &["mentorship_relations", "r"]);
    }
    db.close().await;
}

async fn the_upcoming_meetings_use_their_indexes(kind: DbKind) {
    let (_database, db) = seeded_database(kind).await;
    let binds = [
        Bind::Int(1),
        Bind::Real(0.0),
        Bind::Text("proposed".into()),
        Bind::Text("confirmed".into()),
        Bind::Text("accepted".into()),
    ];
    let plan = plan(&db, &meetings::upcoming_sql(20, 0), &binds).await;
    assert_no_full_scan(kind, &plan, &["meetings", "m"]);
    assert!(plan.contains("meetings_substitute_idx"), "{plan}");
    db.close().await;
}

/// Every foreign key, as (table, column), whose column leads no index of its table: deleting
/// the referenced row would then read the whole table (once per row deleted).
async fn unindexed_foreign_keys(db: &Db) -> Vec<(String, String)> {
    let sql = match db {
        // A rowid primary key (`INTEGER PRIMARY KEY`) is the table's own order: it counts.
        Db::Sqlite(_) => {
            "SELECT m.name, f.\"from\" FROM sqlite_master m, pragma_foreign_key_list(m.name) f
             WHERE m.type = 'table'
               AND NOT EXISTS (SELECT 1 FROM pragma_index_list(m.name) l, pragma_index_info(l.name) i
                               WHERE i.seqno = 0 AND i.name = f.\"from\")
               AND NOT EXISTS (SELECT 1 FROM pragma_table_info(m.name) t
                               WHERE t.pk = 1 AND t.name = f.\"from\"
                                 AND upper(t.type) = 'INTEGER')
             ORDER BY 1, 2"
        }
        Db::Postgres(_) => {
            "SELECT c.conrelid::regclass::text, a.attname::text
             FROM pg_constraint c
             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
             WHERE c.contype = 'f'
               AND NOT EXISTS (SELECT 1 FROM pg_index i
                               WHERE i.indrelid = c.conrelid AND i.indkey[0] = c.conkey[1])
             ORDER BY 1, 2"
        }
    };
    mentorship::with_db!(db, |c| sqlx::query_as::<_, (String, String)>(sql)
        .fetch_all(c)
        .await
        .unwrap())
}

async fn every_foreign_key_leads_an_index(kind: DbKind) {
    let database = TestDatabase::create(kind).await;
    let db = Db::connect(&database.url, 2).await.unwrap();
    db.migrate().await.unwrap();
    assert_eq!(
        unindexed_foreign_keys(&db).await,
        Vec::<(String, String)>::new()
    );
    db.close().await;
}

crate::db_tests!(
    every_foreign_key_leads_an_index,
    the_directory_search_uses_the_trigram_index,
    the_skills_filter_reads_its_word_in_member_order_from_the_primary_key,
    the_relation_list_uses_the_party_indexes,
    the_upcoming_meetings_use_their_indexes,
);
