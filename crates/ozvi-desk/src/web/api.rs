//! The UI's JSON API. Every handler answers `{"error": message}` on failure
//! with a status that says what kind of failure it is.

use std::sync::Arc;
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::WebState;
use crate::body::Status;
use crate::error::DeskError;
use crate::session::Session;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/state", web::get().to(state))
        .route("/api/unlock", web::post().to(unlock))
        .route("/api/lock", web::post().to(lock))
        .route("/api/inbox", web::get().to(inbox))
        .route("/api/thread", web::post().to(thread))
        .route("/api/reply", web::post().to(reply))
        .route("/api/note", web::post().to(note))
        .route("/api/status", web::post().to(status))
        .route("/api/assign", web::post().to(assign))
        .route("/api/transfer", web::post().to(transfer))
        .route("/api/export", web::post().to(export))
        .route("/api/wait", web::get().to(wait));
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
            DeskError::UnknownThread(_) => StatusCode::NOT_FOUND,
            DeskError::Invalid(_) | DeskError::AmbiguousThread(_) => StatusCode::BAD_REQUEST,
            DeskError::Unreachable(_) | DeskError::BadResponse | DeskError::Refused { .. } => {
                StatusCode::BAD_GATEWAY
            }
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let locked = matches!(self.0, DeskError::Locked);
        HttpResponse::build(self.status_code())
            .json(json!({"error": self.0.to_string(), "locked": locked}))
    }
}

type Answer = Result<HttpResponse, Failure>;

/// The unlocked session; the call counts as activity.
async fn with_session(state: &WebState) -> Result<Arc<Session>, Failure> {
    state.touch();
    state.current().await.ok_or(Failure(DeskError::Locked))
}

async fn state(state: web::Data<WebState>) -> Answer {
    Ok(
        HttpResponse::Ok().json(match state.current().await.as_deref() {
            Some(s) => {
                json!({"unlocked": true, "me": s.me(), "centres": centres(s), "staff": staff(s),
                       "generation": *state.generation.borrow()})
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Unlock {
    passphrase: String,
}

async fn unlock(state: web::Data<WebState>, body: web::Json<Unlock>) -> Answer {
    let session = Arc::new(Session::open(&state.home, &body.passphrase).await?);
    let answer = json!({"unlocked": true, "me": session.me(), "centres": centres(&session),
                        "staff": staff(&session), "generation": *state.generation.borrow()});
    super::follow(state.clone(), Arc::downgrade(&session));
    *state.session.write().await = Some(session);
    state.touch();
    Ok(HttpResponse::Ok().json(answer))
}

async fn lock(state: web::Data<WebState>) -> Answer {
    *state.session.write().await = None;
    Ok(HttpResponse::Ok().json(json!({"unlocked": false})))
}

async fn inbox(state: web::Data<WebState>) -> Answer {
    let session = with_session(&state).await?;
    Ok(HttpResponse::Ok().json(session.inbox().await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ThreadRequest {
    id: String,
}

async fn thread(state: web::Data<WebState>, body: web::Json<ThreadRequest>) -> Answer {
    let session = with_session(&state).await?;
    let mailbox = session.resolve(&body.id).await?;
    let view = session.thread(&mailbox).await?;
    if let Some(last) = view.messages.last() {
        session.mark_read(&mailbox, last.seq).await?;
    }
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TextRequest {
    id: String,
    text: String,
}

async fn reply(state: web::Data<WebState>, body: web::Json<TextRequest>) -> Answer {
    let session = with_session(&state).await?;
    let mailbox = session.resolve(&body.id).await?;
    let seq = session.reply(&mailbox, &body.text).await?;
    Ok(HttpResponse::Ok().json(json!({"seq": seq})))
}

async fn note(state: web::Data<WebState>, body: web::Json<TextRequest>) -> Answer {
    let session = with_session(&state).await?;
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

async fn status(state: web::Data<WebState>, body: web::Json<StatusRequest>) -> Answer {
    let status = Status::parse(&body.status)
        .ok_or_else(|| Failure(DeskError::Invalid("unknown status".into())))?;
    let session = with_session(&state).await?;
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

async fn assign(state: web::Data<WebState>, body: web::Json<AssignRequest>) -> Answer {
    let session = with_session(&state).await?;
    let mailbox = session.resolve(&body.id).await?;
    session.assign(&mailbox, body.staff.as_deref()).await?;
    Ok(HttpResponse::Ok().json(json!({})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TransferRequest {
    id: String,
    to: String,
}

async fn transfer(state: web::Data<WebState>, body: web::Json<TransferRequest>) -> Answer {
    let session = with_session(&state).await?;
    let mailbox = session.resolve(&body.id).await?;
    session.transfer(&mailbox, &body.to).await?;
    Ok(HttpResponse::Ok().json(json!({})))
}

async fn export(state: web::Data<WebState>, body: web::Json<ThreadRequest>) -> Answer {
    let session = with_session(&state).await?;
    let mailbox = session.resolve(&body.id).await?;
    let text = session.export_text(&mailbox).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(text))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Since {
    #[serde(default)]
    since: u64,
}

/// Long poll: answers as soon as the relay has reported a change that the
/// page has not seen (`since` is the generation it last got), or after 25 s.
/// Waiting does not count as activity, so an idle desk still locks.
async fn wait(state: web::Data<WebState>, query: web::Query<Since>) -> Answer {
    if state.current().await.is_none() {
        return Err(Failure(DeskError::Locked));
    }
    let mut rx = state.generation.subscribe();
    let changed = *rx.borrow_and_update() != query.since
        || tokio::time::timeout(Duration::from_secs(25), rx.changed())
            .await
            .is_ok_and(|r| r.is_ok());
    let generation = *rx.borrow();
    Ok(HttpResponse::Ok().json(json!({"changed": changed, "generation": generation})))
}
