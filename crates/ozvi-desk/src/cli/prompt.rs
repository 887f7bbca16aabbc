//! Passphrases: from an environment variable (scripts) or a terminal
//! prompt, zeroized when dropped.

use zeroize::Zeroizing;

use crate::DeskError;

/// A passphrase from `variable` or, on a terminal, a prompt; zeroized when
/// dropped.
pub fn passphrase(variable: &str, prompt: &str) -> Result<Zeroizing<String>, DeskError> {
    if let Ok(value) = std::env::var(variable) {
        return Ok(Zeroizing::new(value));
    }
    if !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        return Err(DeskError::Invalid(format!(
            "no passphrase: run in a terminal, or set {variable}"
        )));
    }
    rpassword::prompt_password(prompt)
        .map(Zeroizing::new)
        .map_err(|e| DeskError::Io(format!("cannot read: {e}")))
}

/// A new passphrase, asked twice on a terminal.
pub fn new_passphrase(variable: &str) -> Result<Zeroizing<String>, DeskError> {
    if let Ok(value) = std::env::var(variable) {
        return Ok(Zeroizing::new(value));
    }
    let first = passphrase(variable, "New passphrase (at least 10 characters): ")?;
    let second = passphrase(variable, "The same passphrase again: ")?;
    if first != second {
        return Err(DeskError::Invalid("the two passphrases differ".into()));
    }
    Ok(first)
}
