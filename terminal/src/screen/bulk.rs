//! The 一括照会 jobs this terminal uploaded (each `OQSmuquc01req` keeps its upload under
//! `state/bulk/<ReceptionNumber>.xml`): their state as the system reports it now (処理中 /
//! 完了), the counts by validity, and each job's results.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use onshi_proto::v1::{BulkConfirmDownloadRequest, BulkConfirmDownloadResponse, RequestHeader};

use super::Screen;
use super::labels;
use super::page::{Chrome, not_found, refusal, render};
use crate::xml_in;

/// The most jobs the list asks the system about.
const MAX_JOBS: usize = 50;

pub struct Job {
    pub reception: String,
    pub uploaded: String,
    pub file_identifier: String,
    pub units: usize,
    pub state: String,
    pub done: bool,
    /// (validity name, count) for the counts that are not zero.
    pub counts: Vec<(String, i32)>,
    pub error: Option<String>,
}

pub struct UnitRow {
    pub arbitrary: String,
    pub keys: String,
    pub status: String,
    pub validity: String,
    pub name: String,
    pub message: String,
}

#[derive(Template)]
#[template(path = "bulk.html")]
pub struct BulkPage {
    pub chrome: Chrome,
    pub jobs: Vec<Job>,
    pub job: Option<Job>,
    pub units: Vec<UnitRow>,
}

fn kept(screen: &Screen) -> Vec<(String, std::time::SystemTime)> {
    let dir = screen.ctx.state_dir.join("bulk");
    let mut out: Vec<(String, std::time::SystemTime)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let reception = name.strip_suffix(".xml")?.to_owned();
            Some((reception, e.metadata().and_then(|m| m.modified()).ok()?))
        })
        .collect();
    out.sort_by_key(|b| std::cmp::Reverse(b.1));
    out.truncate(MAX_JOBS);
    out
}

fn local_time(t: std::time::SystemTime) -> String {
    let secs = t.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    onshi_domain::date::JstDateTime::from_unix_seconds(secs).map(|t| labels::time(&t.compact())).unwrap_or_default()
}

async fn ask(screen: &Screen, reception: &str) -> Result<BulkConfirmDownloadResponse, String> {
    let request = BulkConfirmDownloadRequest {
        message_header: Some(RequestHeader {
            qualification_confirmation_date: screen.today().yyyymmdd(),
            medical_institution_code: screen.ctx.facility.clone(),
            arbitrary_file_identifier: String::new(),
        }),
        reception_number: reception.to_owned(),
    };
    screen.ctx.qualification().bulk_confirm_download(request).await.map(|r| r.into_inner()).map_err(|s| refusal(&s))
}

async fn describe(
    screen: &Screen,
    reception: &str,
    uploaded: std::time::SystemTime,
) -> (Job, Option<BulkConfirmDownloadResponse>) {
    let doc = std::fs::read(screen.ctx.state_dir.join("bulk").join(format!("{reception}.xml")))
        .ok()
        .and_then(|b| xml_in::read(&b).ok());
    let units = doc
        .as_ref()
        .and_then(|d| d.root.child("MessageBody"))
        .map_or(0, |b| b.children_named("QualificationConfirmSearchInfo").count());
    let file_identifier = doc
        .as_ref()
        .map(|d| d.root.at(&["MessageHeader", "ArbitraryFileIdentifier"]).map_or("", |e| e.text.trim()).to_owned())
        .unwrap_or_default();
    let mut job = Job {
        reception: reception.to_owned(),
        uploaded: local_time(uploaded),
        file_identifier,
        units,
        state: String::new(),
        done: false,
        counts: Vec::new(),
        error: None,
    };
    match ask(screen, reception).await {
        Ok(r) => {
            let segment = r.message_header.as_ref().map_or("", |h| h.segment_of_result.as_str()).to_owned();
            job.done = segment == "1";
            job.state = if job.done { "完了".into() } else { labels::meaning("SegmentOfResult", &segment) };
            use onshi_domain::codes::QualificationValidity as V;
            job.counts = [
                (V::Valid.name().to_owned(), r.number_of_valid),
                (V::Invalid.name().to_owned(), r.number_of_invalid),
                (V::InvalidNewerExists.name().to_owned(), r.number_of_invalid_newer_exists),
                (V::NotFound.name().to_owned(), r.number_of_not_found),
                (V::SeveralMatch.name().to_owned(), r.number_of_several_match),
                ("エラー".to_owned(), r.number_of_errors),
            ]
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .collect();
            (job, Some(r))
        }
        Err(e) => {
            job.state = "照会できません".into();
            job.error = Some(e);
            (job, None)
        }
    }
}

pub async fn page(State(screen): State<Arc<Screen>>) -> Response {
    let mut jobs = Vec::new();
    for (reception, at) in kept(&screen) {
        jobs.push(describe(&screen, &reception, at).await.0);
    }
    render(&BulkPage {
        chrome: Chrome::new(&screen.ctx.facility, "/bulk", "一括照会"),
        jobs,
        job: None,
        units: Vec::new(),
    })
}

pub async fn job_page(screen: &Arc<Screen>, reception: &str) -> Option<Response> {
    let (_, at) = kept(screen).into_iter().find(|(r, _)| r == reception)?;
    let (j, response) = describe(screen, reception, at).await;
    let units = response
        .map(|r| {
            r.bulk_confirm_unit
                .iter()
                .map(|u| {
                    let body = u.message_body.clone().unwrap_or_default();
                    let first = body.result_list.first();
                    UnitRow {
                        arbitrary: u.arbitrary_identifier.clone(),
                        keys: first
                            .map(|r| {
                                format!(
                                    "{} {} {} {}",
                                    r.insurer_number,
                                    r.insured_card_symbol,
                                    r.insured_identification_number,
                                    r.insured_branch_number
                                )
                            })
                            .unwrap_or_default(),
                        status: labels::meaning("ProcessingResultStatus", &body.processing_result_status),
                        validity: labels::meaning("QualificationValidity", &body.qualification_validity),
                        name: first.map(|r| r.name.clone()).unwrap_or_default(),
                        message: format!("{} {}", body.processing_result_code, body.processing_result_message)
                            .trim()
                            .to_owned(),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    Some(render(&BulkPage {
        chrome: Chrome::new(&screen.ctx.facility, "/bulk", "一括照会"),
        jobs: Vec::new(),
        job: Some(j),
        units,
    }))
}

pub async fn job(State(screen): State<Arc<Screen>>, Path(reception): Path<String>) -> Response {
    job_page(&screen, &reception).await.unwrap_or_else(not_found)
}
