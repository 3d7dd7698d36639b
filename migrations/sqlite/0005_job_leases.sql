-- A claimed tick is leased to the instance running it, which renews the lease while it works.
-- An instance that dies mid-run (SIGKILL, power loss) stops renewing; once the lease has
-- expired another instance takes the tick over and finishes it. The jobs work in batches that
-- each commit on their own and are idempotent, so the takeover resumes where the dead run
-- stopped. Ticks claimed before this column existed count as leased to nobody.
ALTER TABLE job_runs ADD COLUMN lease_until REAL;
