//! Certificate revocation: a facility certificate revoked by fingerprint is refused at once, on a
//! connection already open too; the revocation survives a restart and a Reset; a CRL loaded at
//! start refuses the certificates it lists.

use onshi_proto::v1::{
    ListRevokedCertificatesRequest, ReinstateCertificateRequest, ResetRequest, RevokeCertificateRequest,
};
use onshi_server::auth::identity::certificate_identity;
use onshi_server::pki::Ca;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use tonic::Code;

use crate::common::{CLINIC, PHARMACY, TestServer, VALID_SERIAL, bad_request_fields, card_with_consents, error_reason};

fn fingerprint(server: &TestServer, facility: &str) -> String {
    let pem = std::fs::read(server.pki.facility_cert(facility)).expect("cert");
    let der = CertificateDer::from_pem_slice(&pem).expect("PEM");
    certificate_identity(der.as_ref()).sha256
}

async fn ask(
    c: &mut onshi_proto::v1::qualification_service_client::QualificationServiceClient<tonic::transport::Channel>,
) -> Result<(), tonic::Status> {
    c.confirm_by_card(card_with_consents(VALID_SERIAL, &[])).await.map(|_| ())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_certificate_is_refused_on_its_open_connection_and_stays_revoked() {
    let server = TestServer::start().await;
    let mut clinic = server.qualification(CLINIC).await;
    ask(&mut clinic).await.expect("answered before");
    let sha = fingerprint(&server, CLINIC);
    // As openssl prints it: upper case with colons.
    let colons =
        sha.as_bytes().chunks(2).map(|p| String::from_utf8_lossy(p).to_uppercase()).collect::<Vec<_>>().join(":");
    let mut admin = server.admin().await;
    let listed = admin
        .revoke_certificate(RevokeCertificateRequest { certificate_sha256: colons, reason: "leaked".into() })
        .await
        .expect("revoked")
        .into_inner();
    assert_eq!(listed.revoked.len(), 1);
    assert_eq!(listed.revoked[0].certificate_sha256, sha);

    // The same connection: refused at the next call.
    let refused = ask(&mut clinic).await.expect_err("refused");
    assert_eq!(refused.code(), Code::PermissionDenied);
    assert_eq!(error_reason(&refused).as_deref(), Some("CERTIFICATE_REVOKED"));
    // Others are not affected.
    ask(&mut server.qualification(PHARMACY).await).await.expect("the pharmacy is answered");

    // A Reset rewinds the store, not the revocation.
    admin.reset(ResetRequest {}).await.expect("reset");
    assert_eq!(error_reason(&ask(&mut clinic).await.expect_err("refused")).as_deref(), Some("CERTIFICATE_REVOKED"));

    // Nor does a restart.
    let server = server.restart().await;
    let mut clinic = server.qualification(CLINIC).await;
    assert_eq!(error_reason(&ask(&mut clinic).await.expect_err("refused")).as_deref(), Some("CERTIFICATE_REVOKED"));
    let mut admin = server.admin().await;
    assert_eq!(
        admin
            .list_revoked_certificates(ListRevokedCertificatesRequest {})
            .await
            .expect("list")
            .into_inner()
            .revoked
            .len(),
        1
    );

    // Reinstated: answered again, on the same connection.
    admin
        .reinstate_certificate(ReinstateCertificateRequest { certificate_sha256: sha.clone() })
        .await
        .expect("reinstated");
    ask(&mut clinic).await.expect("answered after reinstating");
    let again = admin.reinstate_certificate(ReinstateCertificateRequest { certificate_sha256: sha }).await;
    assert_eq!(again.expect_err("not revoked").code(), Code::NotFound);
    let bad = admin
        .revoke_certificate(RevokeCertificateRequest { certificate_sha256: "xyz".into(), reason: String::new() })
        .await
        .expect_err("not a fingerprint");
    assert_eq!(bad_request_fields(&bad), vec!["certificate_sha256"]);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crl_loaded_at_start_refuses_the_certificates_it_lists() {
    let server = TestServer::start_with(|c| {
        let pki = c.tls.ca.as_ref().and_then(|p| p.parent()).expect("pki dir").to_owned();
        let read = |name: &str| std::fs::read_to_string(pki.join(name)).expect("PKI file");
        let ca = Ca::load(&read("ca.pem"), &read("ca.key")).expect("CA");
        let crl = ca.crl(&[&read(&format!("{PHARMACY}.pem"))]).expect("CRL");
        std::fs::write(pki.join("crl.pem"), crl).expect("write CRL");
        c.tls.crl = Some(pki.join("crl.pem"));
    })
    .await;
    let refused = ask(&mut server.qualification(PHARMACY).await).await.expect_err("refused");
    assert_eq!(error_reason(&refused).as_deref(), Some("CERTIFICATE_REVOKED"));
    ask(&mut server.qualification(CLINIC).await).await.expect("the clinic is not on the CRL");
    server.stop().await;
}
