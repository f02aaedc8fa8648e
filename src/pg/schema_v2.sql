-- The shared journal's schema, version 2: after the launch (`cutover db init`
-- applies it once, after version 1, which it never edits).
--
--   * approvers may also append what `cutover verify` and `cutover action`
--     write: outcomes measured, action items added and closed (operators
--     append anything already; viewers still append notes only);
--   * an action item's id is used once per run, and an item is closed at
--     most once (as one vote per person: records appended live, not
--     imported ones, which the file's own rules judged).

CREATE POLICY approver_after_launch ON cutover.records FOR INSERT
    TO cutover_approver WITH CHECK (
        NOT imported AND type IN ('outcome_measured', 'action_added', 'action_closed'));

CREATE UNIQUE INDEX records_one_action_per_id
    ON cutover.records (run_id, ((line::jsonb -> 'data' ->> 'id')))
    WHERE type = 'action_added' AND NOT imported;

CREATE UNIQUE INDEX records_one_close_per_action
    ON cutover.records (run_id, ((line::jsonb -> 'data' ->> 'id')))
    WHERE type = 'action_closed' AND NOT imported;
