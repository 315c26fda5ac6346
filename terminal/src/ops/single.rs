//! `OQSsiquc01req` → `OQSsiquc01res`: one qualification check by the insurance card's numbers.
//! The face file of a tap has the same layout, so its writer is here too.

use onshi_proto::v1::{
    ConfirmByInsuredNumberRequest, QualificationConfirmSearchInfo, QualificationConfirmationResponse,
};

use super::{Answer, Context, request_header, search_info, status_header};
use crate::layout;
use crate::xml_in::{Document, TextEncoding};
use crate::xml_out::XmlOut;

pub async fn answer(ctx: &Context, doc: &Document) -> Answer {
    let header = request_header(&doc.root);
    let info = doc.root.at(&["MessageBody", "QualificationConfirmSearchInfo"]).map(search_info).unwrap_or_default();
    let request = ConfirmByInsuredNumberRequest {
        message_header: Some(header.clone()),
        qualification_confirm_search_info: Some(info.clone()),
    };
    match ctx.qualification().confirm_by_insured_number(request).await {
        Ok(response) => {
            let response = response.into_inner();
            remember(ctx, &response);
            Answer::xml(write(&response, Some(&info), ctx.encoding), false)
        }
        Err(status) => {
            let mut out = XmlOut::new();
            layout::result_header(&mut out, &status_header(ctx, &header, &status), ctx.encoding);
            out.open("MessageBody");
            layout::search_info(&mut out, &info);
            out.close();
            Answer::xml(out.finish(ctx.encoding), true)
        }
    }
}

/// Keeps the patients a confirmation named in the patient book.
pub fn remember(ctx: &Context, response: &QualificationConfirmationResponse) {
    for r in response.message_body.iter().flat_map(|b| b.result_list.iter()) {
        ctx.patients.remember(r);
    }
}

/// An `OQSsiquc01res` document (also the face file's).
pub fn write(
    response: &QualificationConfirmationResponse,
    echo: Option<&QualificationConfirmSearchInfo>,
    encoding: TextEncoding,
) -> Vec<u8> {
    let mut out = XmlOut::new();
    layout::result_header(&mut out, &response.message_header.clone().unwrap_or_default(), encoding);
    out.open("MessageBody");
    if let Some(body) = &response.message_body {
        layout::confirmation_body(&mut out, body, echo);
    }
    out.close();
    out.finish(encoding)
}
