//! The card reader page: find a patient (scenario people by case, population people by name,
//! kana, insured numbers or card serial), then put the card on the reader — face or PIN, the
//! consent questions in the reader's order — which does what `onshi-terminal tap` does (the
//! ConfirmByCard call and the face file) and shows what the reader would.

use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::response::Response;
use onshi_domain::codes::{ConsentKind, QualificationValidity};

use super::Screen;
use super::page::{Chrome, render};
use super::search::{self, FieldError, Hit};
use crate::tap::{self, TapError, Verify};

/// The consent questions in the order the reader asks them: (form name, what is asked).
pub const QUESTIONS: [(&str, ConsentKind); 6] = [
    ("medication", ConsentKind::Pharmacists),
    ("checkup", ConsentKind::SpecificHealthCheckups),
    ("diagnosis", ConsentKind::Diagnosis),
    ("operation", ConsentKind::Operation),
    ("limit", ConsentKind::LimitCertificate),
    ("diseases", ConsentKind::SpecificDiseasesCertificate),
];

/// What the reader showed after a tap.
pub struct Shown {
    /// Whether the reader shows a success (possibly with a notice) or an error.
    pub ok: bool,
    pub headline: String,
    pub lines: Vec<String>,
    pub face_file: String,
    pub entry: Option<u64>,
    /// A link to the medical information the patient agreed to show.
    pub medical_link: Option<String>,
}

pub struct Question {
    pub name: &'static str,
    pub label: &'static str,
    pub checked: bool,
}

#[derive(Template)]
#[template(path = "reader.html")]
pub struct ReaderPage {
    pub chrome: Chrome,
    pub query: search::Query,
    pub errors: Vec<FieldError>,
    pub searched: bool,
    pub hits: Vec<Hit>,
    pub population: String,
    pub serial: String,
    pub verify_pin: bool,
    pub questions: Vec<Question>,
    pub shown: Option<Shown>,
}

impl ReaderPage {
    pub fn error(&self, field: &str) -> Option<&str> {
        self.errors.iter().find(|e| e.field == field).map(|e| e.message.as_str())
    }
}

/// The search query and a preselected card (`?serial=`; the search's card serial also fills it).
#[derive(Debug, Default, serde::Deserialize)]
pub struct PageQuery {
    #[serde(flatten)]
    pub search: search::Query,
    #[serde(default)]
    pub card: String,
}

fn questions(checked: impl Fn(&str) -> bool) -> Vec<Question> {
    QUESTIONS.iter().map(|(n, k)| Question { name: n, label: k.name(), checked: checked(n) }).collect()
}

async fn base(screen: &Arc<Screen>, q: search::Query, card: String) -> ReaderPage {
    let errors = q.check();
    let searched = !q.is_empty();
    let on = screen.today();
    let hits = if !searched {
        search::scenario_people(on)
    } else if errors.is_empty() {
        let (q2, pop) = (q.clone(), screen.population);
        tokio::task::spawn_blocking(move || search::find(&q2, pop, on)).await.unwrap_or_default()
    } else {
        Vec::new()
    };
    let serial = if card.is_empty() { q.serial.trim().to_owned() } else { card };
    ReaderPage {
        chrome: Chrome::new(&screen.ctx.facility, "/", "カードリーダー"),
        query: q,
        errors,
        searched,
        hits,
        population: screen
            .population
            .map(|p| format!("人口（seed {}、{} 人）とシナリオの人", p.seed, p.persons))
            .unwrap_or_else(|| "シナリオの人（人口の検索には --population SEED:PERSONS）".into()),
        serial,
        verify_pin: false,
        questions: questions(|_| false),
        shown: None,
    }
}

pub async fn page(State(screen): State<Arc<Screen>>, Query(q): Query<PageQuery>) -> Response {
    render(&base(&screen, q.search, q.card).await)
}

/// The reader's form.
#[derive(Debug, Default, serde::Deserialize)]
pub struct TapForm {
    #[serde(default)]
    pub serial: String,
    #[serde(default)]
    pub verify: String,
    #[serde(default)]
    pub medication: Option<String>,
    #[serde(default)]
    pub checkup: Option<String>,
    #[serde(default)]
    pub diagnosis: Option<String>,
    #[serde(default)]
    pub operation: Option<String>,
    #[serde(default)]
    pub limit: Option<String>,
    #[serde(default)]
    pub diseases: Option<String>,
}

impl TapForm {
    fn consents(&self) -> Vec<String> {
        let given = [
            ("medication", &self.medication),
            ("checkup", &self.checkup),
            ("diagnosis", &self.diagnosis),
            ("operation", &self.operation),
            ("limit", &self.limit),
            ("diseases", &self.diseases),
        ];
        given.iter().filter(|(_, v)| v.is_some()).map(|(n, _)| (*n).to_owned()).collect()
    }
}

pub async fn tap(State(screen): State<Arc<Screen>>, Form(form): Form<TapForm>) -> Response {
    let consents = form.consents();
    let mut page = base(&screen, search::Query::default(), form.serial.trim().to_owned()).await;
    page.verify_pin = form.verify == "pin";
    page.questions = questions(|n| consents.iter().any(|c| c == n));
    let serial = form.serial.trim();
    if serial.is_empty() {
        page.errors.push(FieldError {
            field: "card",
            message: "カードのシリアル番号を入力するか、上の一覧から選んでください".into(),
        });
        return render(&page);
    }
    if serial.len() > 32 || !serial.bytes().all(|b| b.is_ascii_hexdigit()) {
        page.errors
            .push(FieldError { field: "card", message: "シリアル番号は16進数（32桁まで）です".into() });
        return render(&page);
    }
    let verify = if page.verify_pin { Verify::Pin } else { Verify::Face };
    let request = match tap::request(serial, verify, &consents) {
        Ok(r) => r,
        Err(e) => {
            page.errors.push(FieldError { field: "card", message: e.to_string() });
            return render(&page);
        }
    };
    page.shown = Some(match tap::tap(&screen.ctx, &screen.folders, request).await {
        Ok(t) => shown(&t),
        Err(TapError::Refused(message)) => Shown {
            ok: false,
            headline: "システムが応答しませんでした".into(),
            lines: vec![message, "もう一度カードをかざすか、窓口で保険証を確認してください。".into()],
            face_file: String::new(),
            entry: None,
            medical_link: None,
        },
        Err(e) => Shown {
            ok: false,
            headline: "端末のエラー".into(),
            lines: vec![e.to_string()],
            face_file: String::new(),
            entry: None,
            medical_link: None,
        },
    });
    render(&page)
}

fn shown(t: &tap::Tapped) -> Shown {
    let face_file = t.face_file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let body = t.response.message_body.clone().unwrap_or_default();
    let header = t.response.message_header.clone().unwrap_or_default();
    let entry = t.entry;
    if header.segment_of_result == "9" {
        return Shown {
            ok: false,
            headline: "資格確認ができませんでした".into(),
            lines: vec![format!("{} {}", header.error_code, header.error_message)],
            face_file,
            entry,
            medical_link: None,
        };
    }
    let validity = QualificationValidity::from_code(&body.qualification_validity);
    let first = body.result_list.first();
    let mut lines = Vec::new();
    if let Some(r) = first {
        lines.push(format!("{}（{}）様", r.name, r.name_kana));
    }
    if body.processing_result_status == "2" {
        lines.push(format!("{} {}", body.processing_result_code, body.processing_result_message));
        lines.push("このカードでは資格を確認できません。保険証などで確認してください。".into());
        return Shown {
            ok: false,
            headline: "このカードは利用できません".into(),
            lines,
            face_file,
            entry,
            medical_link: None,
        };
    }
    if let Some(v) = validity {
        lines.push(format!("資格有効性: {}", v.name()));
    }
    if !body.processing_result_code.is_empty() {
        lines.push(format!("お知らせ {} {}", body.processing_result_code, body.processing_result_message));
    }
    let medical_link = first
        .filter(|r| r.pharmacists_info_cons_flg == "1" || r.specific_health_checkups_info_cons_flg == "1")
        .map(|r| {
            super::medical::link(
                &r.insurer_number,
                &r.insured_card_symbol,
                &r.insured_identification_number,
                &r.insured_branch_number,
                &r.birthdate,
            )
        });
    Shown {
        ok: true,
        headline: if validity == Some(QualificationValidity::Valid) {
            "資格確認が完了しました".into()
        } else {
            "資格確認の結果".into()
        },
        lines,
        face_file,
        entry,
        medical_link,
    }
}
