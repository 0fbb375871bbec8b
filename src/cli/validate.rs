//! `orbdeck validate PATH`: every problem in desired/ with file:line:column, exit 1 on errors.

use crate::text::sanitize;
use crate::validate;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

/// Options of `orbdeck validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// An ORB repo (its desired/ is checked) or a directory of manifests.
    #[arg(default_value = ".")]
    pub path: PathBuf,
}

/// Runs `orbdeck validate`; prints each diagnostic, then a summary.
pub fn run(args: ValidateArgs) -> ExitCode {
    if !args.path.is_dir() {
        eprintln!("orbdeck validate: {}: not a directory", args.path.display());
        return ExitCode::from(2);
    }
    let mut report = validate::validate_dir(&args.path, &validate::ModelSchemas);
    validate::check_orb_file(&args.path, &mut report);
    for d in &report.diagnostics {
        println!("{}", sanitize(&d.to_string()));
    }
    let errors = report.errors();
    let warnings = report.diagnostics.len() - errors;
    eprintln!(
        "{} object(s) checked: {errors} error(s), {warnings} warning(s)",
        report.objects.len()
    );
    if errors > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
