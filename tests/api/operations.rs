//! What operators look at: metrics, request ids, health.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

async fn metrics_count_requests_per_route_and_show_the_outbox(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let user = app.user("metered_user", json!({})).await;
    app.get("/users/12345", Some(&user.token)).await;
    let job = mentorship::jobs::Job::OptimizeSearchIndex;
    assert!(mentorship::jobs::run_tick(app.state(), job, app.clock.now()).await);
    let response = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    // Routes are counted by pattern, not by raw path.
    assert!(
        text.contains(r#"http_requests_total{method="GET",route="/users/{user_id}",status="404"}"#),
        "{text}"
    );
    assert!(text.contains(r#"route="/register",status="201""#), "{text}");
    assert!(
        text.contains("http_request_duration_seconds_bucket"),
        "{text}"
    );
    // Metrics belong to the process, which the tests share: counts only grow.
    for series in [
        r#"job_runs_total{job="optimize-search-index",outcome="ok"} "#,
        r#"job_duration_seconds_count{job="optimize-search-index"} "#,
    ] {
        let count = text
            .lines()
            .find_map(|line| line.strip_prefix(series))
            .and_then(|n| n.parse::<u64>().ok());
        assert!(count >= Some(1), "{series}\n{text}");
    }
    assert!(text.contains("outbox_unsent_mails"), "{text}");
    assert!(text.contains("db_pool_connections_in_use"), "{text}");
    app.stop().await;
}

async fn every_response_carries_a_request_id(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let response = app.client.get(app.url("/health")).send().await.unwrap();
    let id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(id.len(), 36, "{id}");
    let given = app
        .client
        .get(app.url("/health/live"))
        .header("x-request-id", "trace-me-42")
        .send()
        .await
        .unwrap();
    assert_eq!(given.headers()["x-request-id"], "trace-me-42");
    app.stop().await;
}

crate::db_tests!(
    metrics_count_requests_per_route_and_show_the_outbox,
    every_response_carries_a_request_id
);
