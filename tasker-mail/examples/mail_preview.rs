//! Writes every e-mail, rendered with sample data, into a folder.
//!
//! ```sh
//! cargo run -p tasker-mail --example mail_preview -- data/mail-samples
//! ```

use std::path::PathBuf;

fn main() -> Result<(), tasker_mail::MailError> {
    let dir = std::env::args_os()
        .nth(1)
        .map_or_else(|| PathBuf::from("data/mail-samples"), PathBuf::from);
    let templates = tasker_mail::Templates::load("templates/emails")?
        .with_app_url("https://tasker.example.com");
    for files in tasker_mail::preview::write_samples(&templates, &dir)? {
        println!("{}", files.eml.display());
        println!("{}", files.html.display());
        println!("{}", files.text.display());
    }
    Ok(())
}
