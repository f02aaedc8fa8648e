//! The arguments of the commands after the last step: `verify` (outcomes
//! against their targets) and `action` (follow-ups).

use clap::Args;

use super::RunRef;

#[derive(Debug, Args)]
pub struct ActionArgs {
    #[command(flatten)]
    pub run: RunRef,
    /// What is to be done (masked); without it, the items are listed.
    #[arg(conflicts_with = "close")]
    pub text: Option<String>,
    /// Who does it (needed to add one).
    #[arg(long, value_name = "NAME")]
    pub owner: Option<String>,
    /// When it is due: a date (`2026-12-31`, the end of that day UTC) or an RFC 3339 time.
    #[arg(long, value_name = "DATE")]
    pub due: Option<String>,
    /// The suggested follow-up it adopts (`S17`, as listed).
    #[arg(long, value_name = "KEY")]
    pub from: Option<String>,
    /// Close action item ID.
    #[arg(long, value_name = "ID", conflicts_with_all = ["owner", "due", "from"])]
    pub close: Option<u32>,
    /// With `--close`: how it was done (masked).
    #[arg(long, value_name = "TEXT", requires = "close")]
    pub note: Option<String>,
    /// Record as this person (recorded next to the login name).
    #[arg(long = "as", value_name = "NAME", env = "CUTOVER_ACTOR")]
    pub actor: Option<String>,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub run: RunRef,
    /// Measure every outcome now, due or not (journaled as measured early).
    #[arg(long)]
    pub now: bool,
    /// Measure again the outcomes that already have a verdict.
    #[arg(long)]
    pub again: bool,
    /// Record as this person (recorded next to the login name).
    #[arg(long = "as", value_name = "NAME", env = "CUTOVER_ACTOR")]
    pub actor: Option<String>,
}
