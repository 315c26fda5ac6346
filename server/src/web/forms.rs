//! Forms: what a browser posted, the fields a page renders (with the values entered and the
//! error next to each), and how an admin call's refusal is spread over them — a BadRequest field
//! violation goes to the input of the same name (its field path), everything else to the top.

use axum::http::StatusCode;
use tonic::{Code, Status};
use tonic_types::StatusExt;

/// The name/value pairs of a submitted form or a query string, in order.
#[derive(Debug, Default, Clone)]
pub struct FormData(pub Vec<(String, String)>);

impl FormData {
    /// The value of `name` (the first, trimmed), or "".
    pub fn get(&self, name: &str) -> &str {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim()).unwrap_or("")
    }

    pub fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k == name)
    }

    /// `name` as a number: None when empty, an error message when it is not a number of `T`.
    pub fn number<T: std::str::FromStr>(&self, name: &str, problems: &mut Problems) -> Option<T> {
        let raw = self.get(name);
        if raw.is_empty() {
            return None;
        }
        match raw.parse() {
            Ok(v) => Some(v),
            Err(_) => {
                problems.field(name, format!("数値ではありません / not a number: {}", onshi_domain::echo::echo(raw)));
                None
            }
        }
    }
}

/// What went wrong with a submission: messages per field path, and the rest.
#[derive(Debug, Default, Clone)]
pub struct Problems {
    pub fields: Vec<(String, String)>,
    pub general: Vec<String>,
    /// The HTTP status the page is answered with.
    pub status: Option<StatusCode>,
}

impl Problems {
    pub fn field(&mut self, name: &str, message: impl Into<String>) {
        self.fields.push((name.to_owned(), message.into()));
        self.status.get_or_insert(StatusCode::UNPROCESSABLE_ENTITY);
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.general.is_empty()
    }

    /// An admin call's refusal: its field violations by field path, or its message.
    pub fn from_status(status: &Status) -> Problems {
        let mut p = Problems { status: Some(http_status(status.code())), ..Problems::default() };
        let violations = status.get_details_bad_request().map(|b| b.field_violations).unwrap_or_default();
        for v in &violations {
            if v.field.is_empty() {
                p.general.push(v.description.clone());
            } else {
                p.fields.push((v.field.clone(), v.description.clone()));
            }
        }
        if violations.is_empty() {
            let reason = status.get_details_error_info().map(|i| format!(" ({})", i.reason)).unwrap_or_default();
            p.general.push(format!("{}{reason}: {}", code_name(status.code()), status.message()));
        }
        p
    }
}

/// The page's answer to a refused call: the form is shown again, with a status that says why.
fn http_status(code: Code) -> StatusCode {
    match code {
        Code::InvalidArgument | Code::OutOfRange => StatusCode::UNPROCESSABLE_ENTITY,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        _ => StatusCode::CONFLICT,
    }
}

fn code_name(code: Code) -> String {
    format!("{code:?}")
}

/// One choice of a `<select>`.
#[derive(Debug, Clone)]
pub struct Choice {
    pub value: String,
    pub label: String,
}

/// One input of a form.
#[derive(Debug, Clone)]
pub struct Field {
    /// The element id (form id and name), for `<label for>`.
    pub id: String,
    /// The input's name: the request's field path, as the admin API names it in violations.
    pub name: String,
    pub label: String,
    pub value: String,
    /// "text", "number", … or "select".
    pub kind: &'static str,
    pub choices: Vec<Choice>,
    pub hint: String,
    pub error: Option<String>,
}

impl Field {
    pub fn is_select(&self) -> bool {
        self.kind == "select"
    }
}

/// A hidden input.
#[derive(Debug, Clone)]
pub struct Hidden {
    pub name: String,
    pub value: String,
}

/// A form as a page renders it (`templates/admin/form.html`).
#[derive(Debug, Clone)]
pub struct Form {
    pub id: String,
    pub action: String,
    /// "post" or "get".
    pub method: &'static str,
    pub title: String,
    pub submit: String,
    pub fields: Vec<Field>,
    pub hidden: Vec<Hidden>,
    /// Messages that name no input of this form.
    pub errors: Vec<String>,
}

impl Form {
    pub fn post(id: &str, action: &str, title: &str, submit: &str) -> Form {
        Form {
            id: id.to_owned(),
            action: action.to_owned(),
            method: "post",
            title: title.to_owned(),
            submit: submit.to_owned(),
            fields: Vec::new(),
            hidden: Vec::new(),
            errors: Vec::new(),
        }
    }

    pub fn get(id: &str, action: &str, title: &str, submit: &str) -> Form {
        Form { method: "get", ..Form::post(id, action, title, submit) }
    }

    fn push(mut self, name: &str, label: &str, kind: &'static str, hint: &str, choices: Vec<Choice>) -> Form {
        self.fields.push(Field {
            id: format!("{}-{}", self.id, name.replace(['.', '[', ']'], "-")),
            name: name.to_owned(),
            label: label.to_owned(),
            value: choices.first().map(|c| c.value.clone()).unwrap_or_default(),
            kind,
            choices,
            hint: hint.to_owned(),
            error: None,
        });
        self
    }

    pub fn text(self, name: &str, label: &str, hint: &str) -> Form {
        self.push(name, label, "text", hint, Vec::new())
    }

    pub fn select(self, name: &str, label: &str, hint: &str, choices: &[(&str, &str)]) -> Form {
        let choices = choices.iter().map(|(v, l)| Choice { value: (*v).to_owned(), label: (*l).to_owned() }).collect();
        self.push(name, label, "select", hint, choices)
    }

    pub fn hidden(mut self, name: &str, value: impl Into<String>) -> Form {
        self.hidden.push(Hidden { name: name.to_owned(), value: value.into() });
        self
    }

    /// The values entered, kept when the form is shown again.
    pub fn filled(mut self, data: &FormData) -> Form {
        for f in &mut self.fields {
            if data.has(&f.name) {
                f.value = data.get(&f.name).to_owned();
            }
        }
        self
    }

    /// Puts each problem next to its input: the input of that name, or else the first input
    /// inside it (a violation of "fault.latency" goes to "fault.latency.min_ms"); what names no
    /// input of this form goes to its top.
    pub fn with_problems(mut self, problems: &Problems) -> Form {
        for (field, message) in &problems.fields {
            let inside = format!("{field}.");
            let target = match self.fields.iter().position(|f| &f.name == field) {
                Some(i) => Some(i),
                None => self.fields.iter().position(|f| f.name.starts_with(&inside)),
            };
            match target {
                Some(i) => {
                    let f = &mut self.fields[i];
                    f.error = Some(match f.error.take() {
                        Some(before) => format!("{before}; {message}"),
                        None => message.clone(),
                    });
                }
                None => self.errors.push(format!("{field}: {message}")),
            }
        }
        self.errors.extend(problems.general.iter().cloned());
        if !problems.fields.is_empty() && self.errors.is_empty() {
            self.errors.push("入力内容を確認してください / check the marked fields".to_owned());
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_violation_goes_to_its_input_or_the_first_inside_it_or_the_top() {
        let form = Form::post("f", "/x", "t", "go")
            .text("fault.latency.min_ms", "min", "")
            .text("fault.latency.max_ms", "max", "")
            .text("name", "name", "");
        let problems = Problems {
            fields: vec![
                ("fault.latency".into(), "at most 120,000 ms".into()),
                ("name".into(), "is required".into()),
                ("person".into(), "has no qualification".into()),
            ],
            general: Vec::new(),
            status: None,
        };
        let form = form.with_problems(&problems);
        assert_eq!(form.fields[0].error.as_deref(), Some("at most 120,000 ms"));
        assert_eq!(form.fields[1].error, None);
        assert_eq!(form.fields[2].error.as_deref(), Some("is required"));
        assert_eq!(form.errors, vec!["person: has no qualification".to_owned()]);
    }

    #[test]
    fn entered_values_are_kept_and_numbers_are_checked() {
        let data = FormData(vec![("a".into(), " 12 ".into()), ("n".into(), "12x".into())]);
        let form = Form::post("f", "/x", "t", "go").text("a", "a", "").filled(&data);
        assert_eq!(form.fields[0].value, "12");
        let mut p = Problems::default();
        assert_eq!(data.number::<u32>("a", &mut p), Some(12));
        assert_eq!(data.number::<u32>("n", &mut p), None);
        assert_eq!(p.fields.len(), 1);
        assert_eq!(p.status, Some(StatusCode::UNPROCESSABLE_ENTITY));
    }
}
