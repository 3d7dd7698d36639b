//! Queries on `tasks` and `task_comments`.
