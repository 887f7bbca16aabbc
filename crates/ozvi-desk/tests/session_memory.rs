//! A session remembers what it opened and asks the relay only for what
//! changed (docs/DESK.md, "What the desk asks of the relay"). These tests
//! hold one session open across the person's and colleagues' actions and
//! check both that it shows the truth and how little it asked for it.

mod common;

use common::*;
use ozvi_crypto::format::envelope::Kind;
use ozvi_desk::home::Home;
use ozvi_desk::relay::Traffic;
use ozvi_desk::session::{Listing, Session};

struct Setup {
    deployment: Deployment,
    session: Session,
    colleague: Session,
    anna: Person,
}

async fn setup() -> Setup {
    let deployment = Deployment::new(&[JANA, PETRA]).await;
    let (zlin, zlin_b) = (deployment.homes[0].clone(), deployment.homes[1].clone());
    let session = Session::open(&Home::new(zlin), STAFF_PASS)
        .await
        .expect("unlocks");
    let colleague = Session::open(&Home::new(zlin_b), STAFF_PASS)
        .await
        .expect("unlocks");
    let anna = deployment.person(21);
    Setup {
        deployment,
        session,
        colleague,
        anna,
    }
}

fn spent(session: &Session, before: (Traffic, u64)) -> (u64, u64) {
    let now = session.relay().traffic();
    (
        (now - before.0).requests,
        session.envelopes_opened() - before.1,
    )
}

fn mark(session: &Session) -> (Traffic, u64) {
    (session.relay().traffic(), session.envelopes_opened())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thread_is_fetched_and_opened_once_and_then_only_what_is_new() {
    let s = setup().await;
    let mailbox = s.anna.mailbox();
    s.anna.write_first("ic-zlin", "první").await;
    let view = s.session.thread(&mailbox).await.expect("opens");
    assert_eq!(view.messages.len(), 1);

    // Two more from her: one request, two envelopes opened (and the note,
    // which has not changed, not again).
    s.anna.write_more("druhá").await;
    s.anna.write_more("třetí").await;
    let before = mark(&s.session);
    let view = s.session.thread(&mailbox).await.expect("opens");
    let texts: Vec<&str> = view.messages.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["první", "druhá", "třetí"]);
    assert_eq!(spent(&s.session, before), (1, 2));

    // Nothing new: one request, nothing opened.
    let before = mark(&s.session);
    assert_eq!(
        s.session
            .thread(&mailbox)
            .await
            .expect("opens")
            .messages
            .len(),
        3
    );
    assert_eq!(spent(&s.session, before), (1, 0));

    // A reply needs no download to find her key: the reply and the read mark.
    let before = mark(&s.session);
    let seq = s
        .session
        .reply(&mailbox, "Jsme tu.")
        .await
        .expect("replies");
    assert_eq!(seq, 4);
    assert_eq!(spent(&s.session, before), (2, 0));
    // Marking read what this session already marked asks nothing.
    let before = mark(&s.session);
    s.session.mark_read(&mailbox, seq).await.expect("read");
    assert_eq!(spent(&s.session, before), (0, 0));
    let seen = s.anna.read_all().await;
    assert_eq!(
        seen.last().map(|m| (m.1, m.3.as_str())),
        Some((Kind::StaffReply, "Jsme tu."))
    );

    // A colleague's note reaches this session's next view of the thread.
    s.colleague
        .add_note(&mailbox, "Volat po 17.")
        .await
        .expect("noted");
    let view = s.session.thread(&mailbox).await.expect("opens");
    assert_eq!(view.messages.len(), 4);
    assert_eq!(view.note.notes.len(), 1);
    assert_eq!(view.note.notes[0].text, "Volat po 17.");
    s.deployment.relay.handle.stop(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thread_deleted_and_begun_again_under_the_same_code_is_shown_anew() {
    let s = setup().await;
    let mailbox = s.anna.mailbox();
    s.anna.write_first("ic-zlin", "STARÁ ZPRÁVA").await;
    s.anna.write_more("také stará").await;
    assert_eq!(
        s.session
            .thread(&mailbox)
            .await
            .expect("opens")
            .messages
            .len(),
        2
    );

    // She deletes everything; the desk learns it when it looks.
    s.anna.delete().await;
    let gone = s.session.thread(&mailbox).await;
    assert!(
        matches!(gone, Err(ozvi_desk::DeskError::UnknownThread(_))),
        "{gone:?}"
    );

    // Later she writes again with the same code: a new thread, from seq 1.
    // Its creation minute may equal the old one's, so the desk must not
    // rely on it alone: it forgot the thread when the relay said it was gone.
    s.anna.write_first("ic-zlin", "NOVÁ ZPRÁVA").await;
    let view = s.session.thread(&mailbox).await.expect("opens");
    let texts: Vec<&str> = view.messages.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["NOVÁ ZPRÁVA"]);

    // Again, but now the desk does not look in between, and the new thread
    // has grown past the old one (within the same minute): the desk must
    // not take the new messages for a continuation of the old.
    s.anna.write_more("druhá nová").await;
    assert_eq!(
        s.session
            .thread(&mailbox)
            .await
            .expect("opens")
            .messages
            .len(),
        2
    );
    s.anna.delete().await;
    s.anna.write_first("ic-zlin", "TŘETÍ ZAČÁTEK").await;
    s.anna.write_more("a dál").await;
    s.anna.write_more("a ještě").await;
    let view = s.session.thread(&mailbox).await.expect("opens");
    let texts: Vec<&str> = view.messages.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["TŘETÍ ZAČÁTEK", "a dál", "a ještě"]);
    s.deployment.relay.handle.stop(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_fetched_later_is_still_recognised() {
    let s = setup().await;
    let mailbox = s.anna.mailbox();
    s.anna.write_first("ic-zlin", "jednou").await;
    assert_eq!(
        s.session
            .thread(&mailbox)
            .await
            .expect("opens")
            .messages
            .len(),
        1
    );

    // The same envelope stored again, after the desk opened the original:
    // the conversation's memory of message #1 must carry over.
    s.anna.replay_first(&s.deployment.relay).await;
    let view = s.session.thread(&mailbox).await.expect("opens");
    assert_eq!(view.messages.len(), 2);
    assert!(view.messages[0].problem.is_none());
    assert!(
        view.messages[1]
            .problem
            .as_deref()
            .is_some_and(|p| p.contains("REPLAY: a copy of message #1")),
        "{:?}",
        view.messages[1]
    );
    s.deployment.relay.handle.stop(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_inbox_refresh_asks_only_for_changes_and_a_full_listing_forgets_what_left() {
    let s = setup().await;
    let bara = s.deployment.person(22);
    s.anna.write_first("ic-zlin", "a").await;
    bara.write_first("ic-zlin", "b").await;
    let inbox = s.session.inbox().await.expect("inbox");
    assert_eq!(inbox.len(), 2);

    // Nothing changed: one request, nothing opened.
    let before = mark(&s.session);
    let again = s
        .session
        .inbox_listing(Listing::Changes)
        .await
        .expect("inbox");
    assert_eq!(again.len(), 2);
    assert_eq!(spent(&s.session, before), (1, 0));

    // She writes again: the refresh shows one unread more, and only her
    // thread came back.
    s.anna.write_more("znovu").await;
    let before = mark(&s.session);
    let fresh = s
        .session
        .inbox_listing(Listing::Changes)
        .await
        .expect("inbox");
    let hers = fresh
        .iter()
        .find(|e| e.id == s.anna.mailbox().to_b64())
        .expect("listed");
    assert_eq!(hers.unread, 2);
    assert_eq!(spent(&s.session, before).0, 1);

    // Bára deletes her thread: a change listing cannot know; the full
    // listing a staff member asks for does, and forgets it.
    bara.delete().await;
    let full = s.session.inbox().await.expect("inbox");
    assert_eq!(full.len(), 1);
    assert_eq!(full[0].id, s.anna.mailbox().to_b64());
    let after = s
        .session
        .inbox_listing(Listing::Changes)
        .await
        .expect("inbox");
    assert_eq!(
        after.len(),
        1,
        "a full listing replaces what was remembered"
    );
    s.deployment.relay.handle.stop(true).await;
}
