//! `cutover waive CHECKLIST ITEM --reason ... --approver ... --expires ...`.

use std::process::ExitCode;

use crate::cli::WaiveArgs;
use crate::error::{Error, exit};
use crate::readiness::{edit, time};

pub fn exec(args: &WaiveArgs) -> Result<ExitCode, Error> {
    let now = super::check::now()?;
    let expires = time::parse_expiry(&args.expires, now)
        .map_err(|e| Error::Usage(format!("--expires: {e}")))?;
    if expires <= now {
        return Err(Error::Usage(format!(
            "--expires: {} is already past",
            time::format_human(expires)
        )));
    }
    for (flag, value) in [("--reason", &args.reason), ("--approver", &args.approver)] {
        if value.trim().is_empty() {
            return Err(Error::Usage(format!("{flag} is empty")));
        }
    }
    // A pasted secret is masked like command output.
    let masker = super::attest::checklist_masker(&args.checklist);
    let (reason, approver) = (masker.mask(&args.reason), masker.mask(&args.approver));
    super::attest::edit_file(&args.checklist, |text| {
        edit::waive(text, &args.item, &reason, &approver, expires, now)
    })?;
    println!(
        "{}: `{}` waived by {} until {}",
        args.checklist.display(),
        args.item,
        approver,
        time::format_human(expires)
    );
    Ok(ExitCode::from(exit::OK))
}
