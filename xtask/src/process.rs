//! Running child commands with the terminal attached, and saying clearly
//! which command failed.

use std::process::{Command, Stdio};

use anyhow::{Context, bail};

/// Prints a step heading, e.g. `==> [3/7] Formatting`.
pub fn heading(index: usize, total: usize, title: &str) {
    println!("\n==> [{index}/{total}] {title}");
}

/// Runs `cmd` with inherited stdin, stdout and stderr; fails unless it exits
/// successfully.
pub fn run(cmd: &mut Command) -> anyhow::Result<()> {
    let shown = describe(cmd);
    println!("$ {shown}");
    let status = cmd
        .status()
        .with_context(|| format!("could not start `{shown}`: is it installed and on PATH?"))?;
    if !status.success() {
        bail!("`{shown}` failed ({status})");
    }
    Ok(())
}

/// The standard output of `cmd`, or `None` if it cannot be started or fails.
/// Its standard error is discarded: this is for probing what is installed.
pub fn stdout_of(cmd: &mut Command) -> Option<String> {
    let output = cmd.stderr(Stdio::null()).output().ok()?;
    if !output.status.success() {
        return None;
    }
    String::from_utf8(output.stdout).ok()
}

/// The command as one would type it in a shell, environment included.
pub fn describe(cmd: &Command) -> String {
    let envs = cmd.get_envs().filter_map(|(key, value)| {
        value.map(|v| format!("{}={}", key.to_string_lossy(), v.to_string_lossy()))
    });
    let words = std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|w| w.to_string_lossy().into_owned());
    envs.chain(words).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_a_command_with_its_environment() {
        let mut cmd = Command::new("cargo");
        cmd.args(["test", "--workspace"]).env("A", "b");
        assert_eq!(describe(&cmd), "A=b cargo test --workspace");
    }
}
