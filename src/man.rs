//! Shell completions and man pages, generated from the clap definition in `cli` at run time, so
//! that they can never describe flags the binary does not have (README, Completions and man page).

use std::io::{self, Write};

/// The command line as clap knows it, with global flags propagated into every subcommand.
fn command() -> clap::Command {
    crate::cli::command()
}

/// Writes the completion script for `shell`.
pub(crate) fn completions(shell: clap_complete::Shell, out: &mut dyn Write) {
    let mut cmd = command();
    let name = cmd.get_name().to_owned();
    clap_complete::generate(shell, &mut cmd, name, out);
}

/// Writes the man page of switcher, or of `switcher <subcommand>` (a name the command line
/// checked: `cli::parse`).
pub(crate) fn man(subcommand: Option<&str>, out: &mut dyn Write) -> io::Result<()> {
    let cmd = command();
    let page = match subcommand {
        None => cmd,
        Some(name) => {
            let sub = cmd
                .find_subcommand(name)
                .expect("the command line names a known command");
            // The page is named like the ones git and cargo ship: `switcher-watch(1)`.
            // clap takes names as `&'static str`; one page is printed per process.
            let title: &'static str = format!("{}-{}", cmd.get_name(), sub.get_name()).leak();
            sub.clone()
                .name(title)
                .bin_name(format!("{} {}", cmd.get_name(), sub.get_name()))
                .version(env!("CARGO_PKG_VERSION"))
        }
    };
    clap_mangen::Man::new(page).render(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subcommands() -> Vec<String> {
        command()
            .get_subcommands()
            .map(|s| s.get_name().to_owned())
            .filter(|n| n != "help")
            .collect()
    }

    #[test]
    fn every_page_renders_and_the_main_one_names_every_command() {
        let mut main = Vec::new();
        man(None, &mut main).unwrap();
        let main = String::from_utf8(main).unwrap();
        for name in subcommands() {
            assert!(main.contains(&name), "{name} missing from the man page");
            let mut page = Vec::new();
            man(Some(&name), &mut page).unwrap();
            let page = String::from_utf8(page).unwrap();
            assert!(page.contains(&format!("switcher\\-{name}")), "{page}");
        }
    }
}
