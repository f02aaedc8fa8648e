-- The shared journal's schema, version 1 (`cutover db init` applies it once).
--
-- The database, not only the client, enforces who may append what:
--   * records are append-only (no UPDATE or DELETE, for anyone);
--   * `seq` is contiguous per run (the primary key refuses a duplicate, a
--     trigger refuses a gap);
--   * a live record's `actor` is the authenticated database user
--     (`session_user`), and no record names someone else with `as`;
--   * row-level security lets `cutover_viewer` append notes only and
--     `cutover_approver` votes, done, notes and milestones; `cutover_operator`
--     drives runs and imports journals;
--   * one person votes once per go/no-go (a unique index over the
--     `approval_requested` record a vote answers); a vote with no open
--     go/no-go is refused.

CREATE SCHEMA IF NOT EXISTS cutover;

-- Roles are shared by every database of the cluster: another database's
-- `db init` may be creating them at this very moment.
DO $$
DECLARE
    wanted text;
BEGIN
    FOREACH wanted IN ARRAY ARRAY['cutover_viewer', 'cutover_approver', 'cutover_operator'] LOOP
        BEGIN
            EXECUTE format('CREATE ROLE %I NOLOGIN', wanted);
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;
        END;
    END LOOP;
END
$$;

CREATE TABLE cutover.runs (
    run_id     text PRIMARY KEY
               CHECK (run_id ~ '^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$'),
    header     text NOT NULL,
    created_by name NOT NULL DEFAULT session_user,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (header::jsonb ->> 'run_id' = run_id),
    CHECK (header::jsonb ->> 'journal' = 'cutover-journal')
);

CREATE TABLE cutover.records (
    run_id      text NOT NULL REFERENCES cutover.runs (run_id),
    seq         bigint NOT NULL CHECK (seq > 0),
    type        text NOT NULL,
    -- Who wrote it: the database user for a live record; for an imported
    -- one, the journal's own `actor` (the person behind `as` when given).
    actor       text NOT NULL,
    step        text,
    -- For a vote: the seq of the `approval_requested` it answers.
    request_seq bigint,
    imported    boolean NOT NULL DEFAULT false,
    written_by  name NOT NULL DEFAULT session_user,
    written_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    line        text NOT NULL,
    PRIMARY KEY (run_id, seq)
);

CREATE UNIQUE INDEX records_one_vote_per_person
    ON cutover.records (run_id, request_seq, actor)
    WHERE type IN ('approval_granted', 'approval_rejected') AND NOT imported;

CREATE FUNCTION cutover.check_record() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, cutover AS $$
DECLARE
    doc jsonb;
    last bigint;
BEGIN
    BEGIN
        doc := NEW.line::jsonb;
    EXCEPTION WHEN others THEN
        RAISE EXCEPTION 'cutover: record % of run % is not JSON', NEW.seq, NEW.run_id
            USING ERRCODE = 'check_violation';
    END;
    IF (doc ->> 'seq')::bigint IS DISTINCT FROM NEW.seq
       OR doc ->> 'run_id' IS DISTINCT FROM NEW.run_id
       OR doc ->> 'type' IS DISTINCT FROM NEW.type THEN
        RAISE EXCEPTION 'cutover: record % of run % does not match its seq, run or type', NEW.seq, NEW.run_id
            USING ERRCODE = 'check_violation';
    END IF;
    -- Appends to one run are serialised, so the gap check below sees every
    -- record committed before this one.
    PERFORM pg_advisory_xact_lock(hashtextextended('cutover:' || NEW.run_id, 0));
    SELECT max(seq) INTO last FROM cutover.records WHERE run_id = NEW.run_id;
    IF NEW.seq <> coalesce(last, 0) + 1 THEN
        RAISE EXCEPTION 'cutover: record % of run % is out of order (the journal is at %)', NEW.seq, NEW.run_id, coalesce(last, 0)
            USING ERRCODE = 'serialization_failure';
    END IF;
    NEW.step := doc -> 'data' ->> 'step';
    NEW.written_by := session_user;
    IF NEW.imported THEN
        NEW.actor := coalesce(doc ->> 'as', doc ->> 'actor');
    ELSE
        IF doc ->> 'actor' IS DISTINCT FROM session_user::text OR doc ? 'as' THEN
            RAISE EXCEPTION 'cutover: a record is written as its database user (%), not as %', session_user, coalesce(doc ->> 'as', doc ->> 'actor')
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        NEW.actor := session_user;
    END IF;
    IF NEW.type IN ('approval_granted', 'approval_rejected') THEN
        SELECT max(seq) INTO NEW.request_seq FROM cutover.records
            WHERE run_id = NEW.run_id AND type = 'approval_requested' AND step = NEW.step;
        IF NEW.request_seq IS NULL AND NOT NEW.imported THEN
            RAISE EXCEPTION 'cutover: step % of run % has not asked for a go/no-go', NEW.step, NEW.run_id
                USING ERRCODE = 'check_violation';
        END IF;
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER records_check BEFORE INSERT ON cutover.records
    FOR EACH ROW EXECUTE FUNCTION cutover.check_record();

CREATE FUNCTION cutover.append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'cutover: the journal is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER records_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON cutover.records
    FOR EACH STATEMENT EXECUTE FUNCTION cutover.append_only();
CREATE TRIGGER runs_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON cutover.runs
    FOR EACH STATEMENT EXECUTE FUNCTION cutover.append_only();

-- Followers wake on this instead of polling.
CREATE FUNCTION cutover.notify_record() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('cutover_records', NEW.run_id || ' ' || NEW.seq);
    RETURN NULL;
END
$$;

CREATE TRIGGER records_notify AFTER INSERT ON cutover.records
    FOR EACH ROW EXECUTE FUNCTION cutover.notify_record();

ALTER TABLE cutover.records ENABLE ROW LEVEL SECURITY;
ALTER TABLE cutover.runs ENABLE ROW LEVEL SECURITY;

CREATE POLICY read_runs ON cutover.runs FOR SELECT
    TO cutover_viewer, cutover_approver, cutover_operator USING (true);
CREATE POLICY start_runs ON cutover.runs FOR INSERT
    TO cutover_operator WITH CHECK (created_by = session_user);

CREATE POLICY read_records ON cutover.records FOR SELECT
    TO cutover_viewer, cutover_approver, cutover_operator USING (true);
CREATE POLICY operator_appends ON cutover.records FOR INSERT
    TO cutover_operator WITH CHECK (true);
CREATE POLICY approver_appends ON cutover.records FOR INSERT
    TO cutover_approver WITH CHECK (
        NOT imported AND type IN ('approval_granted', 'approval_rejected',
            'approval_decided', 'manual_done', 'note', 'milestone'));
CREATE POLICY viewer_appends ON cutover.records FOR INSERT
    TO cutover_viewer WITH CHECK (NOT imported AND type = 'note');

GRANT USAGE ON SCHEMA cutover TO cutover_viewer, cutover_approver, cutover_operator;
GRANT SELECT ON cutover.runs, cutover.records, cutover.migrations TO cutover_viewer, cutover_approver, cutover_operator;
GRANT INSERT ON cutover.records TO cutover_viewer, cutover_approver, cutover_operator;
GRANT INSERT ON cutover.runs TO cutover_operator;
