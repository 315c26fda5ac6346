//! People: look a person up (GetPerson by person id, card serial or insured numbers) and show
//! them — name, kana, birthdate, cards, qualifications — with the actions on them:
//! LoseQualification, ChangeInsurer, IssueCard (a reissue when they hold a card), RevokeCard.

use askama::Template;
use axum::Router;
use axum::extract::{Form as Posted, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use onshi_domain::qualification::Person;
use onshi_proto::served::admin_service_server::AdminService;
use onshi_proto::served::{self as pb, person_ref::By};

use super::Web;
use super::call::request;
use super::forms::{Form, FormData, Problems};
use super::page::{Chrome, html, see_other};

pub(super) fn routes() -> Router<Web> {
    Router::new()
        .route("/people", get(show))
        .route("/people/lose", post(lose))
        .route("/people/change-insurer", post(change_insurer))
        .route("/people/issue-card", post(issue_card))
        .route("/people/revoke-card", post(revoke_card))
}

/// A card as the page lists it.
struct CardView {
    serial: String,
    issued: String,
    expires: String,
    /// "active" or "revoked".
    state: &'static str,
    state_text: String,
}

/// A qualification as the page lists it.
struct QualificationView {
    insurer_number: String,
    insurer_name: String,
    symbol: String,
    number: String,
    branch: String,
    family: &'static str,
    from: String,
    /// "active" or "lost".
    state: &'static str,
    state_text: String,
    contribution: String,
}

struct PersonView {
    id: u64,
    name: String,
    kana: String,
    sex: &'static str,
    birthdate: String,
    address: String,
    cards: Vec<CardView>,
    qualifications: Vec<QualificationView>,
}

#[derive(Template)]
#[template(path = "admin/people.html")]
struct PeoplePage {
    page: Chrome,
    lookups: Vec<Form>,
    person: Option<PersonView>,
    /// The record as the admin API answered it (JSON), for what the summary leaves out.
    person_json: String,
    actions: Vec<Form>,
}

fn lookup_forms() -> Vec<Form> {
    vec![
        Form::get("lookup-serial", "/people", "カードで検索 / By card serial", "検索 / Look up")
            .hidden("by", "serial")
            .text(
                "person.certificate_serial_number",
                "証明書シリアル番号 / certificate serial",
                "e.g. A0000000000000000001",
            ),
        Form::get("lookup-insured", "/people", "被保険者番号で検索 / By insured numbers", "検索 / Look up")
            .hidden("by", "insured")
            .text("person.insured.insurer_number", "保険者番号 / insurer number", "8 digits (国保 6)")
            .text("person.insured.insured_card_symbol", "記号 / symbol", "")
            .text("person.insured.insured_identification_number", "番号 / number", "")
            .text("person.insured.insured_branch_number", "枝番 / branch", "2 digits, or empty")
            .text("person.insured.birthdate", "生年月日 / birthdate", "YYYYMMDD"),
        Form::get("lookup-id", "/people", "人物IDで検索 / By person id", "検索 / Look up").hidden("by", "id").text(
            "person.person_id",
            "人物ID / person id",
            "",
        ),
    ]
}

fn action_forms(id: u64) -> Vec<Form> {
    let person = id.to_string();
    vec![
        Form::post("lose", "/people/lose", "資格喪失 / Lose the qualification", "喪失させる / Lose")
            .hidden("person.person_id", person.clone())
            .text("disqualification_date", "資格喪失年月日 / date", "YYYYMMDD; empty: today")
            .select(
                "reason_of_loss",
                "喪失事由 / reason",
                "",
                &[
                    ("99", "99 その他 / other"),
                    ("01", "01 死亡 / death"),
                    ("02", "02 生活保護 / public assistance"),
                    ("03", "03 他の医療保険 / other insurance"),
                ],
            ),
        Form::post("change-insurer", "/people/change-insurer", "保険者変更 / Change insurer", "変更する / Change")
            .hidden("person.person_id", person.clone())
            .text("qualification.insurer_number", "保険者番号 / insurer number", "")
            .text("qualification.insurer_name", "保険者名称 / insurer name", "")
            .text("qualification.insured_card_symbol", "記号 / symbol", "")
            .text("qualification.insured_identification_number", "番号 / number", "")
            .text("qualification.insured_branch_number", "枝番 / branch", "2 digits, or empty")
            .text("qualification.qualification_date", "資格取得年月日 / from", "YYYYMMDD; empty: today")
            .select(
                "qualification.personal_family_classification",
                "本人・家族 / insured or dependent",
                "",
                &[("1", "1 本人 / insured"), ("2", "2 家族 / dependent")],
            )
            .select(
                "qualification.insured_partial_contribution_ratio",
                "負担割合 / co-payment",
                "",
                &[("", "年齢から / by age"), ("010", "1割"), ("020", "2割"), ("030", "3割")],
            ),
        Form::post(
            "issue-card",
            "/people/issue-card",
            "カード発行・再発行 / Issue or reissue a card",
            "発行する / Issue",
        )
        .hidden("person.person_id", person)
        .text("certificate_serial_number", "証明書シリアル番号 / serial", "hex; empty: a new one")
        .text("issued", "発行日 / issued", "YYYYMMDD; empty: today")
        .text("expires", "有効期限 / expires", "YYYYMMDD; empty: 5th birthday"),
    ]
}

fn person_view(p: &Person) -> PersonView {
    let cards = p
        .cards
        .iter()
        .map(|c| CardView {
            serial: c.serial.as_str().to_owned(),
            issued: c.issued.to_string(),
            expires: c.expires.to_string(),
            state: if c.revoked.is_some() { "revoked" } else { "active" },
            state_text: match c.revoked {
                Some(d) => format!("失効 / revoked {d}"),
                None => "有効 / active".to_owned(),
            },
        })
        .collect();
    let qualifications = p
        .qualifications
        .iter()
        .map(|q| QualificationView {
            insurer_number: q.insurer_number.as_str().to_owned(),
            insurer_name: q.insurer_name.clone(),
            symbol: q.symbol.as_str().to_owned(),
            number: q.number.as_str().to_owned(),
            branch: q.branch.as_ref().map(|b| b.as_str().to_owned()).unwrap_or_else(|| "—".to_owned()),
            family: match q.family.code() {
                "1" => "本人",
                _ => "家族",
            },
            from: q.qualification_date.to_string(),
            state: if q.loss.is_some() { "lost" } else { "active" },
            state_text: match &q.loss {
                Some(l) => format!("喪失 / lost {} (事由 {})", l.date, l.reason.code()),
                None => "有効 / in force".to_owned(),
            },
            contribution: format!("{}割", q.contribution_percent / 10),
        })
        .collect();
    PersonView {
        id: p.id.0,
        name: p.name.clone(),
        kana: p.name_kana.clone(),
        sex: match p.sex.code() {
            "1" => "男 / male",
            "2" => "女 / female",
            _ => "未設定 / unset",
        },
        birthdate: p.birthdate.to_string(),
        address: format!("〒{} {}", p.post_number, p.address),
        cards,
        qualifications,
    }
}

/// The person a lookup names: which form was used, and the reference it gives.
fn lookup_ref(q: &FormData, problems: &mut Problems) -> Option<(&'static str, Option<pb::PersonRef>)> {
    let by = match q.get("by") {
        "id" => ("lookup-id", q.number::<u64>("person.person_id", problems).map(By::PersonId)),
        "serial" => {
            ("lookup-serial", Some(By::CertificateSerialNumber(q.get("person.certificate_serial_number").into())))
        }
        "insured" => (
            "lookup-insured",
            Some(By::Insured(pb::QualificationConfirmSearchInfo {
                insurer_number: q.get("person.insured.insurer_number").into(),
                insured_card_symbol: q.get("person.insured.insured_card_symbol").into(),
                insured_identification_number: q.get("person.insured.insured_identification_number").into(),
                insured_branch_number: q.get("person.insured.insured_branch_number").into(),
                birthdate: q.get("person.insured.birthdate").into(),
                ..Default::default()
            })),
        ),
        _ => return None,
    };
    Some((by.0, Some(pb::PersonRef { by: by.1 })))
}

/// A form that failed, to show again with what was entered and what is wrong.
struct Failed<'a> {
    form: &'a str,
    data: &'a FormData,
    problems: Problems,
}

/// Renders the page: the lookup forms, the person `who` names (if any) and their actions.
async fn render(web: &Web, query: &FormData, who: Option<pb::PersonRef>, failed: Option<Failed<'_>>) -> Response {
    let mut page = Chrome::new("人 / People", "people", query);
    let mut status = failed.as_ref().and_then(|f| f.problems.status).unwrap_or(StatusCode::OK);
    let mut failed = failed;
    let mut person = None;
    let mut person_json = String::new();
    if let Some(r) = who {
        match web.admin.get_person(request(pb::GetPersonRequest { person: Some(r) })).await {
            Ok(answer) => {
                let answer = answer.into_inner();
                match serde_json::from_str::<Person>(&answer.person_json) {
                    Ok(p) => person = Some(person_view(&p)),
                    Err(e) => page.alerts.push(format!("the record did not read: {e}")),
                }
                person_json = answer.person_json;
            }
            Err(status_of_get) => {
                let problems = Problems::from_status(&status_of_get);
                match failed.as_mut() {
                    // A lookup that failed: its messages go next to its inputs.
                    Some(f) if f.form.starts_with("lookup-") => {
                        f.problems.fields.extend(problems.fields);
                        f.problems.general.extend(problems.general);
                    }
                    _ => page.alert(&problems),
                }
                if status == StatusCode::OK {
                    status = problems.status.unwrap_or(StatusCode::CONFLICT);
                }
            }
        }
    }
    let place = |forms: Vec<Form>, failed: &Option<Failed<'_>>| -> Vec<Form> {
        forms
            .into_iter()
            .map(|f| match failed {
                Some(x) if x.form == f.id => f.filled(x.data).with_problems(&x.problems),
                _ => f,
            })
            .collect()
    };
    let lookups = place(lookup_forms(), &failed);
    let actions = person.as_ref().map(|p| place(action_forms(p.id), &failed)).unwrap_or_default();
    if let Some(f) = failed.as_ref().filter(|f| f.form == "revoke-card") {
        page.alert(&f.problems);
    }
    html(status, &PeoplePage { page, lookups, person, person_json, actions })
}

async fn show(State(web): State<Web>, Query(pairs): Query<Vec<(String, String)>>) -> Response {
    let query = FormData(pairs);
    let mut problems = Problems::default();
    let Some((form, who)) = lookup_ref(&query, &mut problems) else {
        return render(&web, &query, None, None).await;
    };
    // A malformed person id is named before anything is asked.
    let who = if problems.is_empty() { who } else { None };
    let failed = Failed { form, data: &query, problems };
    render(&web, &query, who, Some(failed)).await
}

/// The person an action form is about (its hidden `person.person_id`).
fn shown(data: &FormData) -> Option<u64> {
    data.get("person.person_id").parse().ok()
}

fn by_id(id: Option<u64>) -> Option<pb::PersonRef> {
    id.map(|id| pb::PersonRef { by: Some(By::PersonId(id)) })
}

/// After an action: back to the person with a notice, or the form again with its problems.
async fn after(web: &Web, data: &FormData, form: &str, result: Result<(), tonic::Status>, done: &str) -> Response {
    let id = shown(data);
    match result {
        Ok(()) => see_other(&format!("/people?by=id&person.person_id={}&done={done}", id.unwrap_or(0))),
        Err(status) => {
            let problems = Problems::from_status(&status);
            render(web, &FormData::default(), by_id(id), Some(Failed { form, data, problems })).await
        }
    }
}

async fn lose(State(web): State<Web>, Posted(pairs): Posted<Vec<(String, String)>>) -> Response {
    let data = FormData(pairs);
    let req = pb::LoseQualificationRequest {
        person: by_id(shown(&data)),
        disqualification_date: data.get("disqualification_date").into(),
        reason_of_loss: data.get("reason_of_loss").into(),
    };
    let result = web.admin.lose_qualification(request(req)).await.map(drop);
    after(&web, &data, "lose", result, "lost").await
}

async fn change_insurer(State(web): State<Web>, Posted(pairs): Posted<Vec<(String, String)>>) -> Response {
    let data = FormData(pairs);
    let q = |name: &str| data.get(&format!("qualification.{name}")).to_owned();
    let req = pb::ChangeInsurerRequest {
        person: by_id(shown(&data)),
        qualification: Some(pb::QualificationSpec {
            insurer_number: q("insurer_number"),
            insurer_name: q("insurer_name"),
            insured_card_symbol: q("insured_card_symbol"),
            insured_identification_number: q("insured_identification_number"),
            insured_branch_number: q("insured_branch_number"),
            personal_family_classification: q("personal_family_classification"),
            qualification_date: q("qualification_date"),
            insured_partial_contribution_ratio: q("insured_partial_contribution_ratio"),
            ..Default::default()
        }),
    };
    let result = web.admin.change_insurer(request(req)).await.map(drop);
    after(&web, &data, "change-insurer", result, "insurer").await
}

async fn issue_card(State(web): State<Web>, Posted(pairs): Posted<Vec<(String, String)>>) -> Response {
    let data = FormData(pairs);
    let req = pb::IssueCardRequest {
        person: by_id(shown(&data)),
        certificate_serial_number: data.get("certificate_serial_number").into(),
        issued: data.get("issued").into(),
        expires: data.get("expires").into(),
    };
    let result = web.admin.issue_card(request(req)).await.map(drop);
    after(&web, &data, "issue-card", result, "card-issued").await
}

async fn revoke_card(State(web): State<Web>, Posted(pairs): Posted<Vec<(String, String)>>) -> Response {
    let data = FormData(pairs);
    let req = pb::RevokeCardRequest { certificate_serial_number: data.get("certificate_serial_number").into() };
    let result = web.admin.revoke_card(request(req)).await.map(drop);
    after(&web, &data, "revoke-card", result, "card-revoked").await
}
