-- Bulk seed for the benchmark, written once for both databases. :N is replaced by the number of
-- users. User 1 (bench_user) was registered through the API first; every seeded member gets its
-- password hash. Members come in pairs (2p+1 mentors 2p+2); each pair has two relations: the
-- first accepted for one pair in ten (completed otherwise), the second pending for one pair in
-- ten (cancelled otherwise). Each relation has five tasks, two of them done; each accepted
-- relation has a confirmed meeting next week. Every member lists two skills and two interests
-- from sixteen words (one in 10,007 a rare seventeenth), and their words are indexed for the
-- directory's skills filter and for ranking substitute candidates as the server would index
-- them.
CREATE TEMPORARY TABLE vocabulary (n INTEGER PRIMARY KEY, word TEXT NOT NULL);
INSERT INTO vocabulary (n, word) VALUES (0, 'rust'), (1, 'python'), (2, 'sql'), (3, 'databases'), (4, 'design'), (5, 'android'), (6, 'ios'), (7, 'flutter'), (8, 'security'), (9, 'testing'), (10, 'devops'), (11, 'cloud'), (12, 'data'), (13, 'web'), (14, 'career'), (15, 'writing');

WITH RECURSIVE n(i) AS (SELECT 2 UNION ALL SELECT i + 1 FROM n WHERE i < :N)
INSERT INTO users (name, username, email, password_hash, registration_date, terms_and_conditions_checked,
    is_email_verified, email_verification_date, need_mentoring, available_to_mentor, bio, skills, interests)
SELECT
    trim(substr('Ada     Grace   Alan    Linus   Barbara Edsger  Donald  Frances Ken     Dennis  Radia   Shafi   Leslie  Tim     Margaret', 1 + (i % 15) * 8, 8))
        || ' ' || trim(substr('Smith   Garcia  Okafor  Tanaka  Nguyen  Rossi   KowalskiHaddad  Silva   Ivanova Larsen  Moreau  ', 1 + ((i / 15) % 12) * 8, 8)),
    'member_' || i, 'member_' || i || '@example.com',
    (SELECT password_hash FROM users WHERE id = 1), 1700000000.0 + i, TRUE, TRUE, 1700000000.0 + i,
    i % 2 = 0, i % 2 = 1, 'Seeded member number ' || i,
    (SELECT word FROM vocabulary WHERE n = i % 16) || ', ' || (SELECT word FROM vocabulary WHERE n = (i / 16) % 16)
        || CASE WHEN i % 10007 = 0 THEN ', haskell' ELSE '' END,
    (SELECT word FROM vocabulary WHERE n = (i / 256) % 16) || ', ' || (SELECT word FROM vocabulary WHERE n = (i * 7 + 3) % 16)
FROM n;

-- The words the server keeps for ranking substitutes (mentors' only), as it splits them.
INSERT INTO mentor_words (word, user_id, source)
SELECT (SELECT word FROM vocabulary WHERE n = id % 16), id, 'skills' FROM users WHERE id > 1 AND available_to_mentor
UNION SELECT (SELECT word FROM vocabulary WHERE n = (id / 16) % 16), id, 'skills' FROM users WHERE id > 1 AND available_to_mentor
UNION SELECT (SELECT word FROM vocabulary WHERE n = (id / 256) % 16), id, 'interests' FROM users WHERE id > 1 AND available_to_mentor
UNION SELECT (SELECT word FROM vocabulary WHERE n = (id * 7 + 3) % 16), id, 'interests' FROM users WHERE id > 1 AND available_to_mentor;

-- Every verified member's skill words, for the directory's skills filter; one member in 10,007
-- also has the rare 'haskell'.
INSERT INTO member_skills (word, user_id)
SELECT (SELECT word FROM vocabulary WHERE n = id % 16), id FROM users WHERE id > 1
UNION SELECT (SELECT word FROM vocabulary WHERE n = (id / 16) % 16), id FROM users WHERE id > 1
UNION SELECT 'haskell', id FROM users WHERE id > 1 AND id % 10007 = 0;

WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 2 * (:N / 2) - 1)
INSERT INTO mentorship_relations (mentor_id, mentee_id, action_user_id, creation_date, accept_date, start_date,
    end_date, state, notes, next_task_id)
SELECT
    2 * (i % (:N / 2)) + 1, 2 * (i % (:N / 2)) + 2, 2 * (i % (:N / 2)) + 2, 1700000000.0 + i,
    1700000100.0 + i, 1700000100.0 + i,
    CASE WHEN i < :N / 2 AND (i % (:N / 2)) % 10 = 0 THEN 1900000000.0 ELSE 1710000000.0 + i END,
    CASE WHEN i < :N / 2 THEN (CASE WHEN (i % (:N / 2)) % 10 = 0 THEN 2 ELSE 5 END)
         ELSE (CASE WHEN (i % (:N / 2)) % 10 = 1 THEN 1 ELSE 4 END) END,
    'Seeded relation', 6
FROM n;

INSERT INTO current_relations (user_id, relation_id)
SELECT mentor_id, id FROM mentorship_relations WHERE state = 2
UNION ALL SELECT mentee_id, id FROM mentorship_relations WHERE state = 2;

WITH RECURSIVE k(j) AS (SELECT 1 UNION ALL SELECT j + 1 FROM k WHERE j < 5)
INSERT INTO tasks (relation_id, id, description, is_done, created_at, completed_at)
SELECT r.id, k.j, 'Seeded task ' || k.j, k.j <= 2, 1700000200.0 + r.id, CASE WHEN k.j <= 2 THEN 1700000300.0 + r.id + k.j END
FROM mentorship_relations r, k;

INSERT INTO meetings (relation_id, mentor_id, mentee_id, proposer_id, start_date, end_date, place, state,
    created_at, updated_at)
SELECT id, mentor_id, mentee_id, mentee_id, :NOW + 7 * 86400, :NOW + 7 * 86400 + 3600, 'Room 1', 'confirmed', :NOW, :NOW
FROM mentorship_relations WHERE state = 2;
