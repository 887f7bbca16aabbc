//! Words the desk shows staff about a message, a note or a transfer: Czech
//! first, then English, as the desk's pages and the case export show them.
//! Kept here, away from the logic, so they can be read and changed in one
//! place.

use ozvi_crypto::OpenError;

/// Why a message or note cannot be shown.
pub fn unopened(e: OpenError) -> String {
    match e {
        OpenError::NoMatchingKey => {
            "Tato zpráva nebyla zašifrována pro váš klíč (byla odeslána dříve, než jste byla \
             zařazena); přečte ji kolegyně. / Not encrypted to your key (sent before you were \
             enrolled); a colleague can read it."
                .into()
        }
        OpenError::UnauthorizedSender => {
            "PODEZŘELÁ ZPRÁVA: odesílatel není oprávněn psát do tohoto vlákna. / SUSPICIOUS: the \
             sender is not allowed to write in this thread."
                .into()
        }
        _ => "PODEZŘELÁ ZPRÁVA: nelze ověřit, mohla být podvržena nebo poškozena. / SUSPICIOUS: \
              this message does not verify; it may be forged or damaged."
            .into(),
    }
}

/// A message that repeats an earlier one (PROTOCOL.md §4.5).
pub fn replay(first_seq: u64) -> String {
    format!(
        "OPAKOVANÁ ZPRÁVA: kopie zprávy #{first_seq}, znovu se nezobrazuje. / \
         REPLAY: a copy of message #{first_seq}, not shown again."
    )
}

/// A message out of the thread's order.
pub fn out_of_order() -> String {
    "PODEZŘELÁ ZPRÁVA: mimo pořadí vlákna. / SUSPICIOUS: out of the thread's order.".into()
}

/// The internal note a desk adds once it has checked a transferred thread.
pub fn transfer_checked(from: &str, messages: usize) -> String {
    format!(
        "Předání z {from} ověřeno: {messages} zpráv otevřeno, podpisy a adresace v pořádku. / \
         Transfer from {from} checked: {messages} messages open, signatures and addressing hold."
    )
}
