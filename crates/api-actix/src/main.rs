use std::process::ExitCode;

use authusers_api_actix::app::cli::{self, Cli};
use clap::Parser;

#[actix_web::main]
async fn main() -> ExitCode {
    cli::run(Cli::parse()).await
}
