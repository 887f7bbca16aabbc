//! The UI's JSON API. Every handler answers `{"error": message}` on failure
//! with a status that says what kind of failure it is.

use std::sync::Arc;
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::json;
use zeroize::Zeroizing;

use super::WebState;
use crate::error::DeskError;
use crate::plaintext::{HerState, Status};
use crate::session::{Listing, Session};

/// The routes of the `/api` scope (guarded by the page token).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/state", web::get().to(state))
        .route("/unlock", web::post().to(unlock))
        .route("/lock", web::post().to(lock))
        .route("/activity", web::post().to(activity))
        .route("/inbox", web::get().to(inbox))
        .route("/notifications", web::get().to(notifications))
        .route("/keep", web::post().to(keep))
        .route("/templates", web::get().to(templates))
        .route("/templates", web::post().to(save_templates))
        .route("/thread", web::post().to(thread))
        .route("/read", web::post().to(read))
        .service(
            // Files travel as base64 inside JSON: up to five of 16 MiB.
            web::resource("/reply")
                .app_data(web::JsonConfig::default().limit(REPLY_LIMIT))
                .route(web::post().to(reply)),
        )
        .route("/attachment", web::post().to(attachment))
        .route("/attachment/save", web::post().to(save_attachment))
        .route("/note", web::post().to(note))
        .route("/status", web::post().to(status))
        .route("/her-state", web::post().to(her_state))
        .route("/assign", web::post().to(assign))
        .route("/transfer", web::post().to(transfer))
        .route("/export", web::post().to(export))
        .route("/safe-contact", web::post().to(safe_contact))
        .route("/cases", web::get().to(cases))
        .route("/case", web::post().to(case))
        .route("/case/open", web::post().to(open_case))
        .route("/case/entry", web::post().to(case_entry))
        .route("/stats", web::post().to(stats))
        .route("/wait", web::get().to(wait));
}

/// A handler's error, as JSON.
struct Failure(DeskError);

impl From<DeskError> for Failure {
    fn from(e: DeskError) -> Self {
        Self(e)
    }
}

impl std::fmt::Debug for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl actix_web::ResponseError for Failure {
    fn status_code(&self) -> StatusCode {
        match &self.0 {
            DeskError::Locked => StatusCode::UNAUTHORIZED,
            DeskError::Keystore(crate::keystore::KeystoreError::WrongPassphrase) => {
                StatusCode::UNAUTHORIZED
            }
            DeskError::UnknownThread(_)
            | DeskError::UnknownCentre(_)
            | DeskError::UnknownAttachment(_) => StatusCode::NOT_FOUND,
            DeskError::Attachment(_) => StatusCode::UNPROCESSABLE_ENTITY,
            DeskError::Invalid(_)
            | DeskError::AmbiguousThread(_)
            | DeskError::EmptyText
            | DeskError::TooLong
            | DeskError::SameCentre
            | DeskError::NotStaffOfCentre(_) => StatusCode::BAD_REQUEST,
            DeskError::NoPersonKey
            | DeskError::TransferUnchecked { .. }
            | DeskError::NoteUnverified(_)
            | DeskError::MessageUnverified(_)
            | DeskError::NoteBlocksTransfer
            | DeskError::LegacyThread => StatusCode::CONFLICT,
            DeskError::Unreachable(_) | DeskError::BadResponse | DeskError::Refused { .. } => {
                StatusCode::BAD_GATEWAY
            }
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let locked = matches!(self.0, DeskError::Locked);
        // A stable code the page translates (its language, not the desk's).
        let code = match &self.0 {
            DeskError::Locked => "locked",
            DeskError::Keystore(crate::keystore::KeystoreError::WrongPassphrase) => {
                "wrong_passphrase"
            }
            _ => "error",
        };
        HttpResponse::build(self.status_code())
            .json(json!({"error": self.0.to_string(), "code": code, "locked": locked}))
    }
}

type Answer = Result<HttpResponse, Failure>;

/// Whether the page marked the request as the staff member's own action
/// (real keyboard or pointer input), as opposed to a live update.
fn by_user(req: &HttpRequest) -> bool {
    req.headers()
        .get(super::INTENT_HEADER)
        .is_some_and(|v| v.as_bytes() == b"user")
}

/// The unlocked session. Only the staff member's own actions count as
/// activity; background requests (live updates) never delay the lock.
async fn with_session(state: &WebState, req: &HttpRequest) -> Result<Arc<Session>, Failure> {
    let session = state.current().await.ok_or(Failure(DeskError::Locked))?;
    if by_user(req) {
        state.touch();
    }
    Ok(session)
}

/// The unlocked session, for a request that changes something or marks
/// something read: refused unless it is the staff member's own action.
async fn for_user(state: &WebState, req: &HttpRequest) -> Result<Arc<Session>, Failure> {
    if !by_user(req) {
        return Err(Failure(DeskError::Invalid(
            "only the staff member's own action can do this".into(),
        )));
    }
    with_session(state, req).await
}

/// `POST /session`: spends the launch secret from the opening URL (checked
/// by the guard, and again here, atomically) for the page's token.
pub async fn session(state: web::Data<WebState>, req: HttpRequest) -> HttpResponse {
    let presented = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    match state.exchange(presented) {
        Some(token) => HttpResponse::Ok().json(json!({"token": token.as_str()})),
        None => super::refuse(StatusCode::UNAUTHORIZED, super::NO_SECRET),
    }
}

async fn state(state: web::Data<WebState>) -> Answer {
    Ok(
        HttpResponse::Ok().json(match state.current().await.as_deref() {
            Some(s) => {
                json!({"unlocked": true, "me": s.me(), "centres": centres(s), "staff": staff(s),
                       "generation": *state.generation.borrow(),
                       "lock_after": state.lock_after.as_secs_f64()})
            }
            None => json!({"unlocked": false}),
        }),
    )
}

#[derive(Serialize)]
struct CentreOption {
    id: String,
    name: String,
}

fn centres(session: &Session) -> Vec<CentreOption> {
    session
        .directory()
        .centres
        .iter()
        .filter(|c| c.id != session.me().centre)
        .map(|c| CentreOption {
            id: c.id.clone(),
            name: c.names.cs.clone(),
        })
        .collect()
}

fn staff(session: &Session) -> Vec<CentreOption> {
    session
        .directory()
        .centre(&session.me().centre)
        .map(|c| {
            c.staff
                .iter()
                .map(|s| CentreOption {
                    id: s.id.clone(),
                    name: s.label.clone(),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The unlock request. The passphrase is zeroized when it is dropped.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Unlock {
    #[serde(deserialize_with = "secret_string")]
    passphrase: Zeroizing<String>,
}

fn secret_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Zeroizing<String>, D::Error> {
    String::deserialize(d).map(Zeroizing::new)
}

/// Reads a request body into memory that is zeroized afterwards (the
/// chunks are wiped too when nothing else holds them).
async fn secret_body(
    mut payload: web::Payload,
    limit: usize,
) -> Result<Zeroizing<Vec<u8>>, Failure> {
    let mut body = Zeroizing::new(Vec::new());
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| Failure(DeskError::Invalid("unreadable request".into())))?;
        if body.len() + chunk.len() > limit {
            return Err(Failure(DeskError::Invalid("request too large".into())));
        }
        body.extend_from_slice(&chunk);
        if let Ok(mut owned) = chunk.try_into_mut() {
            zeroize::Zeroize::zeroize(owned.as_mut());
        }
    }
    Ok(body)
}

fn too_soon(wait: Duration) -> HttpResponse {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    HttpResponse::TooManyRequests()
        .insert_header(("Retry-After", seconds.to_string()))
        .json(json!({
            "error": format!("too many wrong passphrases; try again in {seconds} s"),
            "code": "too_many_attempts",
            "retry_after": seconds,
        }))
}

/// Unlocks the keystore. One attempt at a time; after a few wrong
/// passphrases every further attempt waits longer (in memory, for as long
/// as the desk runs), and an attempt during the wait is refused without
/// trying the passphrase.
async fn unlock(state: web::Data<WebState>, payload: web::Payload) -> Answer {
    let Ok(mut backoff) = state.unlock.try_lock() else {
        return Ok(too_soon(Duration::from_secs(1)));
    };
    if let Some(not_before) = backoff.not_before {
        let now = std::time::Instant::now();
        if now < not_before {
            return Ok(too_soon(not_before - now));
        }
    }
    let body = secret_body(payload, 4096).await?;
    let request: Unlock = serde_json::from_slice(&body).map_err(|_| {
        Failure(DeskError::Invalid(
            "expected {\"passphrase\": \"…\"}".into(),
        ))
    })?;
    drop(body);
    let opened = Session::open(&state.home, &request.passphrase).await;
    drop(request);
    let session = match opened {
        Ok(session) => Arc::new(session),
        Err(e) => {
            if matches!(
                e,
                DeskError::Keystore(crate::keystore::KeystoreError::WrongPassphrase)
            ) {
                backoff.failures = backoff.failures.saturating_add(1);
                let delay = super::unlock_delay(backoff.failures);
                backoff.not_before = Some(std::time::Instant::now() + delay);
                tracing::warn!(failures = backoff.failures, "wrong passphrase");
            }
            return Err(Failure(e));
        }
    };
    *backoff = super::Backoff::default();
    let answer = json!({"unlocked": true, "me": session.me(), "centres": centres(&session),
                        "staff": staff(&session), "generation": *state.generation.borrow(),
                        "lock_after": state.lock_after.as_secs_f64()});
    state
        .unlocks
        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    state
        .while_locked
        .store(0, std::sync::atomic::Ordering::SeqCst);
    super::follow(state.clone(), Arc::downgrade(&session));
    *state.session.write().await = Some(session);
    state.touch();
    Ok(HttpResponse::Ok().json(answer))
}

async fn lock(state: web::Data<WebState>) -> Answer {
    state.lock().await;
    Ok(HttpResponse::Ok().json(json!({"unlocked": false})))
}

/// The page reports the staff member's own keyboard or pointer input (she
/// may be reading or typing without any other request).
async fn activity(state: web::Data<WebState>, req: HttpRequest) -> Answer {
    for_user(&state, &req).await?;
    Ok(HttpResponse::Ok().json(json!({"unlocked": true})))
}

async fn inbox(state: web::Data<WebState>, req: HttpRequest) -> Answer {
    let session = with_session(&state, &req).await?;
    // She asked for the inbox: every thread. A live update: what changed.
    let how = if by_user(&req) {
        Listing::Full
    } else {
        Listing::Changes
    };
    Ok(HttpResponse::Ok().json(session.inbox_listing(how).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeepRequest {
    id: String,
}

/// Keeps a quiet conversation: only as her own action.
async fn keep(
    state: web::Data<WebState>,
    req: HttpRequest,
    body: web::Json<KeepRequest>,
) -> Answer {
    let session = for_user(&state, &req).await?;
    let mailbox = session.resolve(&body.id).await?;
    session.keep(&mailbox).await?;
    Ok(HttpResponse::Ok().json(json!({})))
}

async fn templates(state: web::Data<WebState>, req: HttpRequest) -> Answer {
    let session = with_session(&state, &req).await?;
    Ok(HttpResponse::Ok().json(session.templates().await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TemplatesRequest {
    templates: Vec<crate::plaintext::Template>,
}

/// Replaces the centre's templates: only as her own action.
async fn save_templates(
    state: web::Data<WebState>,
    req: HttpRequest,
    body: web::Json<TemplatesRequest>,
) -> Answer {
    let session = for_user(&state, &req).await?;
    session.save_templates(body.into_inner().templates).await?;
    Ok(HttpResponse::Ok().json(session.templates().await?))
}

/// Whether the centre's e-mail notifications arrive (a background request:
/// the page asks every few minutes).
async fn notifications(state: web::Data<WebState>, req: HttpRequest) -> Answer {
    let session = with_session(&state, &req).await?;
    Ok(HttpResponse::Ok().json(session.notifications().await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ThreadRequest {
    id: String,
}

/// A thread, decrypted. Showing it marks nothing read: the page says what
/// the staff member has seen with `/api/read`.
async fn thread(
    state: web::Data<WebState>,
    req: HttpRequest,
    body: web::Json<ThreadRequest>,
) -> Answer {
    let session = with_session(&state, &req).await?;
    let mailbox = session.resolve(&body.id).await?;
    let view = session.thread(&mailbox).await?;
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReadRequest {
    id: String,
    seq: u64,
}

/// Marks the thread read up to `seq`: only as the staff member's own action
/// (the page sends it when she opened the thread herself, in a visible,
/// focused page, or gave input while it was shown).
async fn read(
    state: web::Data<WebState>,
    req: HttpRequest,
    body: web::Json<ReadRequest>,
) -> Answer {
    let session = for_user(&state, &req).await?;
    let mailbox = session.resolve(&body.id).await?;
    session.mark_read(&mailbox, body.seq).await?;
    Ok(HttpResponse::Ok().json(json!({})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TextRequest {
    id: String,
    text: String,
}

/// The largest reply request: five files of 16 MiB in base64, and text.
const REPLY_LIMIT: usize = 5 * (16 * 1024 * 1024 / 3 + 1) * 4 + 256 * 1024;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplyRequest {
    id: String,
    text: String,
    /// Files staff attach (the same rules as `reply --attach`).
    #[serde(default)]
    files: Vec<UploadedFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UploadedFile {
    /// The file's own name.
    name: String,
    /// Its bytes, base64 (standard, as the browser's FileReader gives it).
    data: String,
}

/// Standard base64 (with padding), as a browser encodes a file.
fn base64_standard(text: &str) -> Option<Vec<u8>> {
    fn value(c: u8) -> Option<u32> {
        Some(u32::from(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        }))
    }
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    for (i, quad) in bytes.chunks(4).enumerate() {
        let last = i + 1 == bytes.len() / 4;
        let pad = quad.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && !last) {
            return None;
        }
        let mut n = 0u32;
        for &c in &quad[..4 - pad] {
            n = (n << 6) | value(c)?;
        }
        n <<= 6 * pad as u32;
        let three = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&three[..3 - pad]);
    }
    Some(out)
}

async fn reply(
    state: web::Data<WebState>,
    req: HttpRequest,
    body: web::Json<ReplyRequest>,
) -> Answer {
    let session = for_user(&state, &req).await?;
    let body = body.into_inner();
    if body.files.len() > ozvi_crypto::protocol::file::MAX_FILES_PER_MESSAGE {
        return Err(Failure(DeskError::Invalid(
            "nejvýš 5 příloh v jedné odpovědi / at most 5 attachments in one reply".into(),
        )));
    }
    let files = body
        .files
        .into_iter()
        .enumerate()
        .map(|(i, f)| {
            let bytes = base64_standard(&f.data)
                .ok_or_else(|| DeskError::Invalid("unreadable attachment".into()))?;
            crate::session::Outgoing::new(Some(&f.name), bytes, i + 1)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mailbox = session.resolve(&body.id).await?;
    let seq = session
        .reply_with_files(&mailbox, &body.text, files)
        .await?;
    Ok(HttpResponse::Ok().json(json!({"seq": seq})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AttachmentRequest {
    id: String,
    /// Its number in the thread, from 1.
    number: usize,
}

/// An attached image, decrypted and verified in the desk, for the page to
/// show (it makes a `blob:` URL of it): only JPEG and PNG (a PDF is only
/// saved, never rendered), never cached, never written to disk.
async fn attachment(
    state: web::Data<WebState>,
    req: HttpRequest,
    body: web::Json<AttachmentRequest>,
) -> Answer {
    let session = with_session(&state, &req).await?;
    let mailbox = session.resolve(&body.id).await?;
    let file = session.attachment(&mailbox, body.number).await?;
    if !matches!(file.media_type.as_str(), "image/jpeg" | "image/png") {
        return Err(Failure(DeskError::Invalid(
            "PDF se nezobrazuje, jen ukládá / a PDF is only saved, never shown".into(),
        )));
    }
    Ok(HttpResponse::Ok()
        .content_type(file.media_type.as_str())
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .body(file.bytes.to_vec()))
}

/// "Uložit": writes the decrypted, verified file into the desk's
/// attachments folder (0700) under a name that clashes with nothing (0600)
/// and says where.
async fn save_attachment(
    state: web::Data<WebState>,
    req: HttpRequest,
    body: web::Json<AttachmentRequest>,
) -> Answer {
    let session = for_user(&state, &req).await?;
    let mailbox = session.resolve(&body.id).await?;
    let file = session.attachment(&mailbox, body.number).await?;
    let path = crate::session::files::save_into(&state.home.attachments(), &file, "")?;
    Ok(HttpResponse::Ok().json(json!({"path": path.display().to_string()})))
}

async fn note(
    state: web::Data<WebState>,
    req: HttpRequest,
    body: web::Json<TextRequest>,
) -> Answer {
    let session = for_user(&state, &req).await?;
    let mailbox = session.resolve(&body.id).await?;
    session.add_note(&mailbox, &body.text).await?;
    Ok(HttpResponse::Ok().json(json!({})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusRequest {
    id: String,
    status: String,
}

async fn status(
    state: web::Data<WebState>,
    req: HttpRequest,
    body: web::Json<StatusRequest>,
) -> Answer {
    let status = Status::parse(&body.status)
        .ok_or_else(|| Failure(DeskError::Invalid("unknown status".into())))?;
    let session = for_user(&state, &req).await?;
    let mailbox = session.resolve(&body.id).await?;
    session.set_status(&mailbox, status).await?;
    Ok(HttpResponse::Ok().json(json!({})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AssignRequest {
    id: String,
    staff: Option<String>,
}

async fn assign(
    state: web::Data<WebState>,
    req: HttpRequest,
    body: web::Json<AssignRequest>,
) -> Answer {
    let session = for_user(&state, &req).await?;
    let mailbox = session.resolve(&body.id).await?;
    session.assign(&mailbox, body.staff.as_deref()).await?;
    Ok(HttpResponse::Ok().json(json!({})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TransferRequest {
    id: String,
    to: String,
    /// Why, in words she reads in the notice.
    #[serde(default)]
    reason: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HerStateRequest {
    id: String,
    state: String,
    #[serde(default)]
    note: String,
}

/// Tells her the conversation's state (a sealed reply).
async fn her_state(
    state: web::Data<WebState>,
    req: HttpRequest,
    body: web::Json<HerStateRequest>,
) -> Answer {
    let told = HerState::parse(&body.state)
        .ok_or_else(|| Failure(DeskError::Invalid("unknown state".into())))?;
    let session = for_user(&state, &req).await?;
    let mailbox = session.resolve(&body.id).await?;
    let seq = session.set_her_state(&mailbox, told, &body.note).await?;
    Ok(HttpResponse::Ok().json(json!({ "seq": seq })))
}

async fn transfer(
    state: web::Data<WebState>,
    req: HttpRequest,
    body: web::Json<TransferRequest>,
) -> Answer {
    let session = for_user(&state, &req).await?;
    let mailbox = session.resolve(&body.id).await?;
    session.transfer(&mailbox, &body.to, &body.reason).await?;
    Ok(HttpResponse::Ok().json(json!({})))
}

async fn export(
    state: web::Data<WebState>,
    req: HttpRequest,
    body: web::Json<ThreadRequest>,
) -> Answer {
    let session = for_user(&state, &req).await?;
    let mailbox = session.resolve(&body.id).await?;
    let text = session.export_text(&mailbox).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(text))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SafeContactRequest {
    id: String,
    safe: Option<crate::plaintext::SafeContact>,
}

/// When and how it is safe to contact her, in a conversation's note.
async fn safe_contact(
    state: web::Data<WebState>,
    req: HttpRequest,
    body: web::Json<SafeContactRequest>,
) -> Answer {
    let session = for_user(&state, &req).await?;
    let mailbox = session.resolve(&body.id).await?;
    session
        .set_safe_contact(&mailbox, body.into_inner().safe)
        .await?;
    Ok(HttpResponse::Ok().json(json!({})))
}

/// The centre's eviction cases, the nearest deadline first.
async fn cases(state: web::Data<WebState>, req: HttpRequest) -> Answer {
    let session = with_session(&state, &req).await?;
    Ok(HttpResponse::Ok().json(session.cases().await?))
}

/// One case with its clocks and log.
async fn case(
    state: web::Data<WebState>,
    req: HttpRequest,
    body: web::Json<ThreadRequest>,
) -> Answer {
    let session = with_session(&state, &req).await?;
    let id = session.resolve_case(&body.id).await?;
    Ok(HttpResponse::Ok().json(session.case(&id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OpenCaseRequest {
    record: crate::plaintext::EvictionRecord,
}

/// Registers a police eviction record: only as her own action.
async fn open_case(
    state: web::Data<WebState>,
    req: HttpRequest,
    body: web::Json<OpenCaseRequest>,
) -> Answer {
    let session = for_user(&state, &req).await?;
    let id = session.open_case(body.into_inner().record).await?;
    Ok(HttpResponse::Ok().json(session.case(&id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseEntryRequest {
    id: String,
    entry: crate::plaintext::CaseBody,
}

/// Appends an entry (an attempt, safe contact, a link, closing, a note).
async fn case_entry(
    state: web::Data<WebState>,
    req: HttpRequest,
    body: web::Json<CaseEntryRequest>,
) -> Answer {
    let session = for_user(&state, &req).await?;
    let body = body.into_inner();
    let id = session.resolve_case(&body.id).await?;
    session.add_case_entry(&id, body.entry).await?;
    Ok(HttpResponse::Ok().json(session.case(&id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatsRequest {
    from: u64,
    to: u64,
}

/// The annual-report figures as CSV.
async fn stats(
    state: web::Data<WebState>,
    req: HttpRequest,
    body: web::Json<StatsRequest>,
) -> Answer {
    let session = for_user(&state, &req).await?;
    let stats = session.statistics(body.from, body.to).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .body(stats.to_csv()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Since {
    #[serde(default)]
    since: u64,
}

/// Long poll: answers as soon as the relay has reported a change that the
/// page has not seen (`since` is the generation it last got), or after 25 s.
/// Waiting does not count as activity, so an idle desk still locks; when it
/// locks, a waiting page is told at once.
async fn wait(state: web::Data<WebState>, query: web::Query<Since>) -> Answer {
    if state.current().await.is_none() {
        // Locked: the page still learns how many changes arrived since,
        // and nothing else.
        let mut rx = state.generation.subscribe();
        if *rx.borrow_and_update() == query.since {
            let _ = tokio::time::timeout(Duration::from_secs(25), rx.changed()).await;
        }
        let generation = *rx.borrow();
        let changes = state.while_locked.load(std::sync::atomic::Ordering::SeqCst);
        return Ok(HttpResponse::Unauthorized().json(json!({
            "error": DeskError::Locked.to_string(), "code": "locked", "locked": true,
            "changes": changes, "generation": generation,
        })));
    }
    let mut rx = state.generation.subscribe();
    let changed = *rx.borrow_and_update() != query.since
        || tokio::time::timeout(Duration::from_secs(25), rx.changed())
            .await
            .is_ok_and(|r| r.is_ok());
    let generation = *rx.borrow();
    // Locking moves the generation too: the page learns at once.
    if state.current().await.is_none() {
        return Err(Failure(DeskError::Locked));
    }
    Ok(HttpResponse::Ok().json(json!({"changed": changed, "generation": generation})))
}

#[cfg(test)]
mod tests {
    use super::base64_standard;

    #[test]
    fn standard_base64_as_a_browser_writes_it() {
        assert_eq!(base64_standard("").as_deref(), Some(&b""[..]));
        assert_eq!(base64_standard("TWFu").as_deref(), Some(&b"Man"[..]));
        assert_eq!(base64_standard("TWE=").as_deref(), Some(&b"Ma"[..]));
        assert_eq!(base64_standard("TQ==").as_deref(), Some(&b"M"[..]));
        assert_eq!(
            base64_standard("+/+/").as_deref(),
            Some(&[0xFB, 0xFF, 0xBF][..])
        );
        for bad in ["TQ=", "T===", "TQ==TWFu", "TW-_", "TWF u", "===="] {
            assert_eq!(base64_standard(bad), None, "{bad}");
        }
    }
}
