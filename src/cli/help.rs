//! What every `--help` ends with (clap's `after_help`): the command's exit
//! codes and one example, as `man` pages and `gh` do. Also the test that no
//! argument of any command is left without help text.

pub(crate) const TOP: &str = "\
Exit codes:
  0  success (a run completed, a checklist is ready, a file is valid)
  1  invalid input or a refusal; `check`: not ready
  2  internal error; `check`: could not evaluate
  3  the run rolled back
  4  the run paused (an approval, a manual step, a decision) or was aborted
  5  a rollback failed

Diagnostics: -v (info), -vv (debug), or RUST_LOG=cutover=debug (CUTOVER_LOG is an alias).

Example:
  cutover run runbooks/demo.toml --dry-run";

pub(crate) const VALIDATE: &str = "\
Exit codes:
  0  every file is valid
  1  a file is invalid (or has warnings, with --deny-warnings), or a source did not answer (--check-sources)

Example:
  cutover validate runbooks/*.toml checks/*.toml --format github";

pub(crate) const PLAN: &str = "\
Exit codes:
  0  the plan was shown
  1  the runbook is invalid, or a variable or secret is missing

Example:
  cutover plan runbooks/demo.toml --env staging -o plan.json";

pub(crate) const SCHEMA: &str = "\
Exit codes:
  0  the schema was printed

Example:
  cutover schema checklist > schemas/checklist.schema.json";

pub(crate) const SOURCES: &str = "\
Exit codes:
  0  every source answered
  1  a source did not answer, or the runbook is invalid

Example:
  cutover sources runbooks/db.toml --env staging";

pub(crate) const QUERY: &str = "\
Exit codes:
  0  the query answered (and passed --condition)
  1  it failed, errored, or the runbook is invalid

Example:
  cutover query prom 'up' --runbook runbooks/db.toml --condition '== 1'";

pub(crate) const GATE: &str = "\
Exit codes:
  0  every selected gate passed
  1  a gate failed, was inconclusive or errored, or the runbook is invalid

Example:
  cutover gate runbooks/demo.toml deploy-green.green-healthy";

pub(crate) const RUN: &str = "\
Exit codes:
  0  completed (also a dry run); with --detach-hypercare also: every step done and
     the hypercare watch handed to a background process (`cutover status RUN`
     gives the run's outcome once it ends)
  1  invalid input: runbook, --plan mismatch, a run driven by another process; or not ready
  2  internal error (the journal could not be written, ...)
  3  rolled back
  4  paused or aborted: an approval, a manual step, a decision, an interrupt
  5  a rollback failed

Example:
  cutover run runbooks/demo.toml --plan plan.json";

pub(crate) const RESUME: &str = "\
Exit codes:
  0  completed (also a dry run); with --detach-hypercare also: every step done and
     the hypercare watch handed to a background process (`cutover status RUN`
     gives the run's outcome once it ends); --end-hypercare: hypercare ended
  1  invalid input: runbook, --plan mismatch, a run driven by another process; or not ready
  2  internal error (the journal could not be written, ...)
  3  rolled back
  4  paused or aborted: an approval, a manual step, a decision, an interrupt
  5  a rollback failed

Example:
  cutover resume RUN --rerun switch-traffic";

pub(crate) const DONE: &str = "\
Exit codes:
  0  the step was marked done
  1  refused (no such run or step, not a manual step waiting) or invalid input

Example:
  cutover done RUN confirm-with-bank --note 'bank confirmed at 02:14'";

pub(crate) const APPROVE: &str = "\
Exit codes:
  0  the vote was recorded (and counted)
  1  refused (not an approver, voted already, decided already) or invalid input

Example:
  cutover approve RUN switch-traffic --reason 'dashboards green'";

pub(crate) const NOTE: &str = "\
Exit codes:
  0  the note was journaled
  1  no such run, or invalid input

Example:
  cutover note RUN 'holding for the bank call' --as ic";

pub(crate) const MARK: &str = "\
Exit codes:
  0  the milestone was journaled
  1  no such run, a likely typo of a well-known milestone (use --free), or invalid input

Example:
  cutover mark RUN impact-start --at 2026-12-03T02:07:00Z";

pub(crate) const STATUS: &str = "\
Exit codes:
  0  the view was shown
  1  no such run, or not a journal

Example:
  cutover status RUN --follow";

pub(crate) const RUNS: &str = "\
Exit codes:
  0  the list was shown (also when there is no run)

Example:
  cutover runs --format json";

pub(crate) const CHECK: &str = "\
Exit codes:
  0  ready
  1  not ready: a blocker fails (or a warning, with --fail-on-warn)
  2  could not evaluate (an invalid checklist, a source down); also a usage error

Example:
  cutover check checks/launch.toml --format junit -o readiness.xml";

pub(crate) const ATTEST: &str = "\
Exit codes:
  0  the attestation was written into the checklist
  1  no such item, or invalid input

Example:
  cutover attest checks/launch.toml comms --evidence https://x/1 --expires 7d";

pub(crate) const WAIVE: &str = "\
Exit codes:
  0  the waiver was written into the checklist
  1  no such item, or invalid input

Example:
  cutover waive checks/launch.toml alerts --reason r --approver a --expires 3d";

pub(crate) const REPORT: &str = "\
Exit codes:
  0  the report was written
  1  no such run, or not a journal

Example:
  cutover report RUN --format html -o report.html";

pub(crate) const COMPLETIONS: &str = "\
Exit codes:
  0  the script was printed
  1  unknown shell

Example:
  cutover completions bash > /etc/bash_completion.d/cutover";

pub(crate) const MAN: &str = "\
Exit codes:
  0  the pages were written
  1  the directory could not be written

Example:
  cutover man --dir ~/.local/share/man/man1";

pub(crate) const VERIFY: &str = "\
Exit codes:
  0  every outcome due is met (or none is due yet)
  1  an outcome missed its target, or invalid input
  2  an outcome could not be measured (its source is down, no data)

Example:
  cutover verify r1 --now";

pub(crate) const ACTION: &str = "\
Exit codes:
  0  the item was added or closed, or the items were listed
  1  invalid input (no owner, a bad date, no such item)

Example:
  cutover action r1 \"Alert on lag\" --owner alice --due 2026-12-31";

pub(crate) const INIT: &str = "\
Exit codes:
  0  the files were written
  1  a file is there already (nothing is written), or the directory cannot be written

Example:
  cutover init --template db-migration payments";

pub(crate) const DB: &str = "\
Exit codes:
  0  the schema is at the version this cutover knows
  1  the URL is invalid, or the database refused (no right to create roles)
  2  the database could not be reached

Example:
  cutover db init postgres://admin@db.internal:5432/cutover";

pub(crate) const JOURNAL: &str = "\
Exit codes:
  0  the run was copied
  1  no such run, the run already exists, or the file is not a journal
  2  the database could not be reached

Example:
  cutover journal export r1 --journal-url postgres://ic@db/cutover > r1.jsonl";

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    use crate::cli::Cli;

    /// Every argument of every command (positionals too) says what it is for.
    #[test]
    fn every_argument_of_every_command_has_help() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in cmd.get_arguments() {
                let id = arg.get_id().as_str();
                if arg.is_hide_set() || id == "help" || id == "version" {
                    continue;
                }
                if arg.get_help().is_none() && arg.get_long_help().is_none() {
                    missing.push(format!("{path} {id}"));
                }
            }
            for sub in cmd.get_subcommands() {
                walk(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        walk(&Cli::command(), "cutover", &mut missing);
        assert!(missing.is_empty(), "arguments without help: {missing:#?}");
    }

    #[test]
    fn every_command_ends_its_help_with_exit_codes_and_an_example() {
        let cli = Cli::command();
        for cmd in std::iter::once(&cli).chain(cli.get_subcommands()) {
            if cmd.get_name() == "help" {
                continue;
            }
            let after = cmd
                .get_after_help()
                .map(ToString::to_string)
                .unwrap_or_default();
            assert!(after.starts_with("Exit codes:\n"), "{}", cmd.get_name());
            let example = after.rsplit_once("\nExample:\n  ").map(|(_, e)| e);
            // Short enough that no terminal wraps it (`--help` ends with it).
            assert!(
                example.is_some_and(|e| e.starts_with("cutover ")
                    && !e.contains('\n')
                    && e.chars().count() <= 76),
                "{}: {after}",
                cmd.get_name()
            );
        }
    }
}
