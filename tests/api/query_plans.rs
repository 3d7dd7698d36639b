//! The query plans of the directory search use the trigram indexes, so its cost does not grow
//! with the table. Checked on 10,000 users, on both databases.

use mentorship::store::{Db, users::directory_search_sql};

use crate::helpers::*;

/// Adds `count` verified users in one statement.
async fn seed_users(db: &Db, count: i64) {
    let sql = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1)
        INSERT INTO users (name, username, email, password_hash, registration_date,
            terms_and_conditions_checked, is_email_verified)
        SELECT 'Member ' || i, 'member_' || i, 'member_' || i || '@example.com', 'x', 0, TRUE, TRUE FROM n";
    mentorship::with_db!(db, |c| sqlx::query(sql)
        .bind(count)
        .execute(c)
        .await
        .map(|_| ()))
    .unwrap();
    let analyze = "ANALYZE";
    mentorship::with_db!(db, |c| sqlx::query(analyze).execute(c).await.map(|_| ())).unwrap();
}

async fn plan(db: &Db, text: &str) -> String {
    let (sql, term) = directory_search_sql(db, text);
    match db {
        Db::Postgres(pool) => {
            // At 10,000 rows, scanning the table (or its primary key) costs less than the trigram
            // index, which wins only as the table grows. So the planner is asked to avoid full
            // scans: the plan then shows whether the index can serve the query at all (without
            // it, the planner has to fall back to a full scan), which is what must not regress.
            let mut conn = pool.acquire().await.unwrap();
            for setting in ["SET enable_seqscan = off", "SET enable_indexscan = off"] {
                sqlx::query(setting).execute(&mut *conn).await.unwrap();
            }
            let rows: Vec<String> =
                sqlx::query_scalar(sqlx::AssertSqlSafe(format!("EXPLAIN {sql}")))
                    .bind(0i64)
                    .bind(&term)
                    .bind(false)
                    .bind(false)
                    .bind(20i64)
                    .bind(0i64)
                    .fetch_all(&mut *conn)
                    .await
                    .unwrap();
            rows.join("\n")
        }
        Db::Sqlite(pool) => {
            let rows: Vec<(i64, i64, i64, String)> =
                sqlx::query_as(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}")))
                    .bind(0i64)
                    .bind(&term)
                    .bind(false)
                    .bind(false)
                    .bind(20i64)
                    .bind(0i64)
                    .fetch_all(pool)
                    .await
                    .unwrap();
            rows.into_iter().map(|r| r.3).collect::<Vec<_>>().join("\n")
        }
    }
}

async fn the_directory_search_uses_the_trigram_index(kind: DbKind) {
    let database = TestDatabase::create(kind).await;
    let db = Db::connect(&database.url, 2).await.unwrap();
    db.migrate().await.unwrap();
    seed_users(&db, 10_000).await;
    let plan = plan(&db, "ber_9999").await;
    match kind {
        DbKind::Postgres => {
            assert!(plan.contains("trgm_idx"), "{plan}");
            assert!(!plan.contains("Seq Scan on users"), "{plan}");
        }
        DbKind::Sqlite => {
            assert!(plan.contains("VIRTUAL TABLE INDEX"), "{plan}");
            assert!(
                !plan.contains("SCAN u\n") && !plan.ends_with("SCAN u"),
                "{plan}"
            );
        }
    }
    db.close().await;
}

crate::db_tests!(the_directory_search_uses_the_trigram_index);
