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

/// The language of a transfer notice: hers when the page offers it, else
/// Czech.
pub fn notice_lang(lang: Option<&str>) -> &'static str {
    match lang {
        Some("en") => "en",
        Some("uk") => "uk",
        _ => "cs",
    }
}

/// The text of a transfer notice to her, in `lang` (`cs`, `en`, `uk`):
/// which centre reads her conversation now, and why (PROTOCOL.md §4.6).
pub fn transfer_notice(
    lang: &str,
    names: &ozvi_crypto::protocol::directory::Names,
    reason: &str,
) -> String {
    let (name, head, why, same) = match lang {
        "en" => (
            &names.en,
            "Your conversation has been passed to",
            "Why:",
            "Your code stays the same, and the centre sees the whole conversation so far.",
        ),
        "uk" => (
            &names.uk,
            "Вашу розмову передано до",
            "Причина:",
            "Ваш код не змінюється, і центр бачить усю розмову.",
        ),
        _ => (
            &names.cs,
            "Vaši konverzaci jsme předali centru",
            "Důvod:",
            "Váš kód zůstává stejný a centrum vidí celou dosavadní konverzaci.",
        ),
    };
    let mut out = format!("{head} {name}.");
    if !reason.is_empty() {
        out.push_str(&format!(" {why} {reason}"));
    }
    out.push(' ');
    out.push_str(same);
    out
}

/// What staff see for a first message from someone under 16.
pub const UNDER_16: &str = "MLADŠÍ 16 LET: intervenční centra pomáhají lidem od 16 let;      laskavě ji nasměrujte na Linku bezpečí 116 111 (telefon i chat) a přesto ji vyslechněte. /      UNDER 16: ICs serve people over 16: point her kindly to Linka bezpečí 116 111 and still      hear her.";

/// Her safe-contact details as one line (the same for a note's and her own).
pub fn safe_contact(s: &crate::plaintext::SafeContact) -> String {
    format!(
        "{}; {}; vzkaz na záznamník / voicemail: {}{}",
        if s.times.is_empty() { "—" } else { &s.times },
        if s.chat_only {
            "JEN CHAT, NEVOLAT / CHAT ONLY, DO NOT CALL"
        } else {
            "volat lze / calls allowed"
        },
        if s.voicemail { "ano / yes" } else { "NE / NO" },
        if s.code_word.is_empty() {
            String::new()
        } else {
            format!("; heslo / code word: {}", s.code_word)
        },
    )
}

/// The line about the centre's e-mail notifications.
pub fn notifications(health: &ozvi_api::staff::Notifications) -> String {
    let when = |t: Option<u64>| t.map_or_else(|| "nikdy / never".to_string(), crate::export::time);
    if !health.configured {
        return "Upozornění e-mailem nejsou pro vaše centrum nastavena. / E-mail notifications \
                are not set up for your centre."
            .into();
    }
    if health.failing {
        let why = match health.failure.as_deref() {
            Some("authentication") => "server odmítl přihlášení / the server refused the login",
            Some("connection") => "server nedostupný / the server could not be reached",
            Some("tls") => "zabezpečené spojení selhalo / the secure connection failed",
            Some("refused") => "server zprávu odmítl / the server refused the mail",
            _ => "chyba / an error",
        };
        return format!(
            "POZOR: upozornění e-mailem se nepodařilo doručit ({}: {why}). Poslední doručeno: {}. \
             Nové zprávy sledujte v desku a informujte správce. / WARNING: e-mail notifications \
             are failing; last delivered {}. Watch the desk and tell the operator.",
            when(health.last_failure),
            when(health.last_success),
            when(health.last_success),
        );
    }
    format!(
        "Upozornění e-mailem: naposledy doručeno {}. / E-mail notifications: last delivered {}.",
        when(health.last_success),
        when(health.last_success)
    )
}

/// Who writes, from the form, in Czech (an unknown code as it is).
pub fn role(code: &str) -> String {
    match code {
        "self" => "ohrožená osoba (píše sama za sebe)".into(),
        "witness" => "svědek".into(),
        "professional" => "odborník".into(),
        other => other.into(),
    }
}

/// A kind of violence, in Czech (an unknown code as it is).
pub fn violence(code: &str) -> String {
    match code {
        "psychological" => "psychické".into(),
        "physical" => "fyzické".into(),
        "sexual" => "sexuální".into(),
        "economic" => "ekonomické".into(),
        other => other.into(),
    }
}

/// A region (ISO 3166-2:CZ) by its Czech name, with the code.
pub fn region(code: Option<&str>) -> String {
    let Some(code) = code else {
        return "neví".into();
    };
    let name = match code {
        "CZ-10" => "Hlavní město Praha",
        "CZ-20" => "Středočeský kraj",
        "CZ-31" => "Jihočeský kraj",
        "CZ-32" => "Plzeňský kraj",
        "CZ-41" => "Karlovarský kraj",
        "CZ-42" => "Ústecký kraj",
        "CZ-51" => "Liberecký kraj",
        "CZ-52" => "Královéhradecký kraj",
        "CZ-53" => "Pardubický kraj",
        "CZ-63" => "Kraj Vysočina",
        "CZ-64" => "Jihomoravský kraj",
        "CZ-71" => "Olomoucký kraj",
        "CZ-72" => "Zlínský kraj",
        "CZ-80" => "Moravskoslezský kraj",
        _ => return code.into(),
    };
    format!("{name} ({code})")
}

/// The built-in first answers, offered until a centre stores its own.
pub fn default_templates() -> Vec<crate::plaintext::Template> {
    let t = |id: &str, lang: &str, title: &str, text: &str| crate::plaintext::Template {
        id: id.into(),
        lang: lang.into(),
        title: title.into(),
        text: text.into(),
    };
    vec![
        t(
            "first-cs",
            "cs",
            "První odpověď (česky)",
            "Dobrý den, děkujeme, že jste nám napsala. Jsme intervenční centrum a pomáháme \
             lidem, kteří zažívají násilí od blízké osoby. Vše, co nám napíšete, je důvěrné a \
             naše pomoc je zdarma. Napište nám prosím, kdy a jak je pro vás bezpečné se s námi \
             spojit. Pokud jste v ohrožení teď, volejte 158 nebo 112.",
        ),
        t(
            "first-en",
            "en",
            "First answer (English)",
            "Hello, thank you for writing to us. We are an intervention centre and we help \
             people who experience violence from someone close. Everything you write is \
             confidential and our help is free. Please tell us when and how it is safe to \
             contact you. If you are in danger right now, call 112 (they speak English).",
        ),
        t(
            "first-uk",
            "uk",
            "Перша відповідь (українською)",
            "Добрий день, дякуємо, що написали нам. Ми — інтервенційний центр і допомагаємо \
             людям, які зазнають насильства від близької людини. Усе, що ви нам напишете, \
             конфіденційне, а наша допомога безкоштовна. Напишіть, будь ласка, коли і як \
             безпечно з вами зв'язатися. Якщо ви в небезпеці зараз, телефонуйте 112.",
        ),
    ]
}

/// How the case log names an attempt's channel.
pub fn channel(channel: crate::plaintext::Channel) -> &'static str {
    use crate::plaintext::Channel;
    match channel {
        Channel::Phone => "telefon / phone",
        Channel::Visit => "návštěva / visit",
        Channel::Letter => "dopis / letter",
        Channel::Chat => "chat / chat",
    }
}

/// How the case log names an attempt's outcome.
pub fn outcome(outcome: crate::plaintext::Outcome) -> &'static str {
    use crate::plaintext::Outcome;
    match outcome {
        Outcome::Reached => "zastižena / reached",
        Outcome::NoAnswer => "nebere to / no answer",
        Outcome::WrongNumber => "špatné číslo / wrong number",
        Outcome::UnsafeToTalk => "nemůže bezpečně mluvit / unsafe to talk",
        Outcome::Declined => "pomoc odmítla / declined help",
        Outcome::Accepted => "pomoc přijala / accepted help",
    }
}

/// How the case log names her choice at closing.
pub fn choice(choice: crate::plaintext::Choice) -> &'static str {
    use crate::plaintext::Choice;
    match choice {
        Choice::Accepted => "pomoc přijala / accepted help",
        Choice::Declined => "pomoc odmítla / declined help",
        Choice::Unreachable => "nepodařilo se zastihnout / could not be reached",
    }
}

/// One line for an entry of the case log.
pub fn case_entry_line(body: &crate::plaintext::CaseBody) -> String {
    use crate::plaintext::CaseBody;
    let time = crate::export::time;
    match body {
        CaseBody::Record(r) => format!(
            "Záznam o vykázání: vykázání {}, přijat {} ({} {}) / Eviction record: evicted {}, received {}",
            time(r.entered_at),
            time(r.received_at),
            r.police_unit,
            r.record_no,
            time(r.entered_at),
            time(r.received_at),
        ),
        CaseBody::Attempt(a) => format!(
            "Pokus o kontakt {}: {}, {}{} / Contact attempt",
            time(a.at),
            channel(a.channel),
            outcome(a.outcome),
            if a.text.is_empty() {
                String::new()
            } else {
                format!(" — {}", a.text)
            },
        ),
        CaseBody::SafeContact(s) => format!(
            "Bezpečný kontakt / Safe contact: {}; vzkaz na záznamník / voicemail: {}{}",
            s.times,
            if s.voicemail { "ano / yes" } else { "NE / NO" },
            if s.code_word.is_empty() {
                ""
            } else {
                "; heslo domluveno / code word agreed"
            },
        ),
        CaseBody::Link { mailbox_id } => format!(
            "Propojeno s konverzací / Linked to conversation {}",
            mailbox_id.chars().take(8).collect::<String>()
        ),
        CaseBody::Close { choice: c, text } => format!(
            "Případ uzavřen / Case closed: {}{}",
            choice(*c),
            if text.is_empty() {
                String::new()
            } else {
                format!(" — {text}")
            },
        ),
        CaseBody::Note { text } => format!("Poznámka / Note: {text}"),
    }
}

/// What the 48-hour clock says.
pub fn deadline_line(
    due: Option<u64>,
    stopped: Option<u64>,
    closed: bool,
    overdue: bool,
    now: u64,
) -> String {
    let time = crate::export::time;
    match (due, stopped) {
        (None, _) => "Chybí záznam o vykázání. / The eviction record is missing.".into(),
        (Some(due), Some(at)) if at <= due => format!(
            "Kontaktováno včas ({}). / Contacted in time ({}).",
            time(at),
            time(at)
        ),
        (Some(due), Some(at)) => format!(
            "Kontaktováno po lhůtě ({}, lhůta {}). / Contacted late ({}, due {}).",
            time(at),
            time(due),
            time(at),
            time(due)
        ),
        (Some(_), None) if closed => "Uzavřeno bez kontaktu. / Closed without contact.".into(),
        (Some(due), None) if overdue => {
            let hours = now.saturating_sub(due) / 3600;
            format!(
                "PO LHŮTĚ: kontakt měl proběhnout do {} (před {hours} h). / OVERDUE: contact was due {} ({hours} h ago).",
                time(due),
                time(due)
            )
        }
        (Some(due), None) => {
            let hours = due.saturating_sub(now) / 3600;
            format!(
                "Kontaktovat do {} (zbývá {hours} h). / Contact due {} ({hours} h left).",
                time(due),
                time(due)
            )
        }
    }
}

/// The reminder about the court petition while the eviction runs.
pub fn court_reminder(eviction_end: u64) -> String {
    let end = crate::export::time(eviction_end);
    format!(
        "Vykázání končí {end}. Do té doby může podat návrh na předběžné opatření k soudu; \
         podáním se vykázání prodlužuje do rozhodnutí soudu. / The eviction ends {end}. Until \
         then she may petition the court for a preliminary measure; filing extends the eviction \
         until the court decides."
    )
}

/// An attached file whose reference breaks PROTOCOL.md §12.3, shown in its
/// place (the message and its other files are still shown).
pub const ATTACHMENT_INVALID: &str =
    "příloha, kterou nelze otevřít / an attachment that cannot be opened";

/// A file's kind in Czech.
pub fn media_kind(media_type: &str) -> &'static str {
    match media_type {
        "image/jpeg" => "obrázek JPEG",
        "image/png" => "obrázek PNG",
        "application/pdf" => "dokument PDF",
        _ => "soubor",
    }
}

/// A file's size as staff read it: `812 B`, `64 kB`, `1,2 MB`.
pub fn file_size(bytes: u64) -> String {
    if bytes < 1000 {
        format!("{bytes} B")
    } else if bytes < 1_000_000 {
        format!("{} kB", bytes.div_ceil(1000))
    } else {
        let tenths = bytes.div_ceil(100_000);
        format!("{},{} MB", tenths / 10, tenths % 10)
    }
}

/// Why attachment `number` is refused: its decrypted bytes are not of the
/// type its reference states.
pub fn attachment_wrong_kind(number: usize, media_type: &str) -> String {
    format!(
        "přílohu {number} nelze otevřít: její obsah není {}, jak uvádí zpráva (může jít o jiný, \
         i nebezpečný soubor); nic z ní nebylo zobrazeno ani uloženo / attachment {number} \
         cannot be opened: its content is not the type the message states; nothing of it was \
         shown or written",
        media_kind(media_type)
    )
}

/// Why attachment `number` of an export was not written (`why`: the
/// error, which names no more than the folder and the saved name).
pub fn attachment_not_written(number: usize, why: &str) -> String {
    format!(
        "přílohu {number} se nepodařilo uložit: {why} / attachment {number} could not be written"
    )
}

/// Why an attached file was not shown or saved: plain words, and that
/// nothing of it was written.
pub fn attachment_failed(number: usize, e: ozvi_crypto::protocol::file::FileError) -> String {
    use ozvi_crypto::protocol::file::FileError;
    let why = match e {
        FileError::InvalidReference => {
            "odkaz na ni ve zprávě je neplatný / its reference is invalid"
        }
        FileError::Length | FileError::Hash => {
            "soubor na relayi není ten, na který zpráva odkazuje (změněný nebo poškozený) / the \
             relay's file is not the one the message refers to (changed or damaged)"
        }
        _ => {
            "soubor nejde rozšifrovat a ověřit (změněný nebo poškozený) / the file does not \
             decrypt and verify (changed or damaged)"
        }
    };
    format!(
        "přílohu {number} nelze otevřít: {why}; nic z ní nebylo zobrazeno ani uloženo / \
         attachment {number} cannot be opened; nothing of it was shown or written"
    )
}
