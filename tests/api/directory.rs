//! The member directory's search and filters, served by trigram indexes.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

fn usernames(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap().to_owned())
        .collect()
}

/// The usernames `GET /users?<query>` lists for the holder of `token`.
async fn listed(app: &TestApp, token: &str, query: &str) -> Vec<String> {
    let (status, list) = app.get(&format!("/users?{query}"), Some(token)).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    usernames(&list)
}

async fn the_directory_finds_substrings_of_names_and_usernames_in_any_case(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let me = app.user("searcher", json!({})).await;
    app.user(
        "ada_lovelace",
        json!({"name": "Ada Lovelace", "available_to_mentor": true}),
    )
    .await;
    app.user(
        "grace_hopper",
        json!({"name": "Grace Hopper", "need_mentoring": true}),
    )
    .await;
    app.register("pending_ada", json!({"name": "Unverified Person"}))
        .await;
    let search = |query: &'static str| listed(&app, &me.token, query);
    assert_eq!(search("search=LOVE").await, vec!["ada_lovelace"]);
    assert_eq!(
        search("search=ada").await,
        vec!["ada_lovelace", "pending_ada"]
    );
    assert_eq!(search("search=Hopper").await, vec!["grace_hopper"]);
    assert_eq!(
        search("search=ce%20Ho").await,
        vec!["grace_hopper"],
        "spaces are part of the text"
    );
    assert_eq!(
        search("search=pe").await,
        vec!["grace_hopper", "pending_ada"],
        "short texts work too"
    );
    assert_eq!(
        search("search=%25").await,
        Vec::<String>::new(),
        "% is no wildcard"
    );
    assert_eq!(
        search("search=ada&available_to_mentor=true").await,
        vec!["ada_lovelace"]
    );
    assert_eq!(search("need_mentoring=true").await, vec!["grace_hopper"]);
    assert_eq!(search("search=\"quoted\"").await, Vec::<String>::new());
    let (_, verified) = app.get("/users/verified?search=ada", Some(&me.token)).await;
    assert_eq!(usernames(&verified), vec!["ada_lovelace"]);

    // Renaming is searchable at once (the index follows the table).
    let renamed = app.user("renamed_one", json!({"name": "Old Name"})).await;
    let (status, _) = app
        .put(
            "/user",
            Some(&renamed.token),
            json!({"name": "Katherine Johnson"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(search("search=katherine").await, vec!["renamed_one"]);
    assert!(search("search=old%20name").await.is_empty());
    app.stop().await;
}

async fn odd_directory_queries_get_plain_answers(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let me = app.user("searcher", json!({})).await;
    app.user("ada_smith", json!({"name": "Ada"})).await;
    app.user("ada_jones", json!({"name": "Ada"})).await;
    let search = |query: &str| {
        let path = format!("/users?{query}");
        let token = me.token.clone();
        let app = &app;
        async move {
            let (status, list) = app.get(&path, Some(&token)).await;
            assert_eq!(status, StatusCode::OK, "{path}: {list}");
            usernames(&list)
        }
    };
    // No match spans the name and the username; control characters match nothing (and NUL,
    // which PostgreSQL text cannot hold, is no error).
    assert!(search("search=aada").await.is_empty());
    for text in ["a%01a", "a%00", "%00"] {
        assert!(search(&format!("search={text}")).await.is_empty(), "{text}");
    }
    // A parameter given twice keeps its first value, as in the reference.
    assert_eq!(
        search("search=ada&per_page=1&per_page=5").await,
        vec!["ada_smith"]
    );
    // Deep, empty and capped pages.
    assert!(
        search("search=ada&page=1000000&per_page=50")
            .await
            .is_empty()
    );
    assert!(search("per_page=0").await.is_empty());
    assert_eq!(search("per_page=1000").await.len(), 2);
    app.stop().await;
}

async fn text_with_a_nul_character_is_refused_in_any_body(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let me = app.user("nul_user", json!({})).await;
    let refused = "Text fields must not contain the NUL character.";
    let (status, body) = app
        .put("/user", Some(&me.token), json!({"bio": "a\u{0}b"}))
        .await;
    assert_eq!(
        (status, body["message"].as_str()),
        (StatusCode::BAD_REQUEST, Some(refused))
    );
    let (status, body) = app
        .post(
            "/login",
            None,
            json!({"username": "nul\u{0}user", "password": "x"}),
        )
        .await;
    assert_eq!(
        (status, body["message"].as_str()),
        (StatusCode::BAD_REQUEST, Some(refused))
    );
    let (_, profile) = app.get("/user", Some(&me.token)).await;
    assert_eq!(profile["bio"], Value::Null, "nothing was stored");
    app.stop().await;
}

async fn compacting_the_search_index_keeps_every_answer(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let me = app.user("index_reader", json!({})).await;
    // One registration after another: each adds its own piece to SQLite's search index.
    for (username, name) in [
        ("ada_king", "Ada King"),
        ("ada_byron", "Ada Byron"),
        ("grace_brewster", "Grace Brewster"),
        ("lovelace_fan", "Lovelace Fan"),
        ("radia_p", "Radia Perlman"),
        ("adaline_q", "Adaline Quill"),
    ] {
        app.user(username, json!({"name": name})).await;
    }
    let renamed = app
        .user("renamed_member", json!({"name": "Old Name"}))
        .await;
    let (status, _) = app
        .put("/user", Some(&renamed.token), json!({"name": "Ada New"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let searches = [
        "search=ada",
        "search=ADA&page=2&per_page=2",
        "search=old",
        "search=lace",
        "search=ewst",
        "search=_",
    ];
    let answers = async || {
        let mut answers = Vec::new();
        for query in searches {
            let (status, list) = app.get(&format!("/users?{query}"), Some(&me.token)).await;
            assert_eq!(status, StatusCode::OK, "{list}");
            answers.push(usernames(&list));
        }
        answers
    };
    let before = answers().await;
    assert_eq!(
        before[0],
        vec!["ada_king", "ada_byron", "adaline_q", "renamed_member"]
    );
    assert_eq!(before[2], Vec::<String>::new(), "the old name is gone");

    let compacted = app.run_job("optimize-search-index").await;
    if kind == DbKind::Sqlite {
        assert!(compacted > 0, "the index was in several pieces");
    }
    assert_eq!(answers().await, before);
    assert_eq!(
        app.run_job("optimize-search-index").await,
        0,
        "nothing is left to compact"
    );
    // The index keeps working as members join and leave.
    app.user("ada_latecomer", json!({"name": "Ada Latecomer"}))
        .await;
    let (status, _) = app.delete("/user", Some(&renamed.token)).await;
    assert_eq!(status, StatusCode::OK);
    let (_, list) = app.get("/users?search=ada", Some(&me.token)).await;
    assert_eq!(
        usernames(&list),
        vec!["ada_king", "ada_byron", "adaline_q", "ada_latecomer"]
    );
    app.stop().await;
}

async fn the_skills_filter_finds_members_with_each_word_asked_for(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let me = app.user("searcher", json!({})).await;
    let ada = app
        .user(
            "ada_lovelace",
            json!({"name": "Ada Lovelace", "available_to_mentor": true}),
        )
        .await;
    let grace = app
        .user(
            "grace_hopper",
            json!({"name": "Grace Hopper", "need_mentoring": true}),
        )
        .await;
    let skills = |user: &User, skills: &'static str| {
        let app = &app;
        let token = user.token.clone();
        async move {
            let (status, body) = app
                .put("/user", Some(&token), json!({"skills": skills}))
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
    };
    skills(&ada, "Rust, C++ and Machine Learning").await;
    skills(&grace, "COBOL; compilers").await;
    let search = |query: &'static str| listed(&app, &me.token, query);
    assert_eq!(search("skills=RUST").await, vec!["ada_lovelace"]);
    assert_eq!(search("skills=c%2B%2B").await, vec!["ada_lovelace"]);
    assert_eq!(
        search("skills=machine%20learning").await,
        vec!["ada_lovelace"]
    );
    assert_eq!(
        search("skills=machine,cobol").await,
        Vec::<String>::new(),
        "every word must match"
    );
    assert_eq!(
        search("skills=rus").await,
        Vec::<String>::new(),
        "whole words"
    );
    assert_eq!(
        search("skills=cobol&need_mentoring=true").await,
        vec!["grace_hopper"]
    );
    assert_eq!(
        search("skills=cobol&available_to_mentor=true").await,
        Vec::<String>::new()
    );
    assert_eq!(
        search("skills=compilers&search=hop").await,
        vec!["grace_hopper"],
        "with a text search (PostgreSQL plans it per call)"
    );
    assert_eq!(
        search("skills=compilers&search=ada").await,
        Vec::<String>::new()
    );
    assert_eq!(
        search("skills=%20,%20").await,
        vec!["ada_lovelace", "grace_hopper"],
        "no word: no filter"
    );
    // A profile change moves the member between answers at once.
    skills(&grace, "Rust").await;
    assert_eq!(
        search("skills=rust").await,
        vec!["ada_lovelace", "grace_hopper"]
    );
    assert_eq!(search("skills=cobol").await, Vec::<String>::new());
    let (_, verified) = app
        .get(
            "/users/verified?skills=rust&per_page=1&page=2",
            Some(&me.token),
        )
        .await;
    assert_eq!(usernames(&verified), vec!["grace_hopper"]);
    app.stop().await;
}

crate::db_tests!(
    the_skills_filter_finds_members_with_each_word_asked_for,
    the_directory_finds_substrings_of_names_and_usernames_in_any_case,
    odd_directory_queries_get_plain_answers,
    text_with_a_nul_character_is_refused_in_any_body,
    compacting_the_search_index_keeps_every_answer,
);
