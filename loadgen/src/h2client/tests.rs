//! The client against the `h2` crate's server over an in-memory pipe: every way an answer can
//! end, Huffman-coded literals of every printable ASCII byte (h2 codes all literals), a body
//! larger than the initial flow-control windows, and more calls than the server lets in at
//! once.

use super::*;

/// Every printable ASCII byte but those a header value cannot hold at its ends.
fn printable() -> String {
    (b'!'..=b'~').map(char::from).collect()
}

/// Answers by path: "/ok" (headers, a 7-byte message, trailers OK), "/denied" (trailers-only
/// PERMISSION_DENIED with every printable byte as its message), "/teapot" (HTTP 418),
/// "/echo" (OK with as many bytes as the request had), "/reset" (RST_STREAM).
async fn serve(io: tokio::io::DuplexStream) {
    let mut builder = h2::server::Builder::new();
    builder.max_concurrent_streams(2);
    let mut conn = builder.handshake::<_, Bytes>(io).await.expect("handshake");
    while let Some(Ok((request, mut respond))) = conn.accept().await {
        tokio::spawn(async move {
            let path = request.uri().path().to_owned();
            let mut body = request.into_body();
            let mut size = 0;
            while let Some(Ok(chunk)) = body.data().await {
                size += chunk.len();
                let _ = body.flow_control().release_capacity(chunk.len());
            }
            let response = |status: u16| {
                http::Response::builder()
                    .status(status)
                    .header("content-type", "application/grpc")
                    .body(())
                    .expect("response")
            };
            let mut trailers = http::HeaderMap::new();
            match path.as_str() {
                "/denied" => {
                    let mut answer = response(200);
                    answer.headers_mut().insert("grpc-status", "7".parse().expect("value"));
                    answer.headers_mut().insert("grpc-message", printable().parse().expect("value"));
                    let _ = respond.send_response(answer, true);
                }
                "/teapot" => {
                    let _ = respond.send_response(response(418), true);
                }
                "/reset" => respond.send_reset(h2::Reason::REFUSED_STREAM),
                _ => {
                    let mut send = respond.send_response(response(200), false).expect("headers");
                    let n = if path == "/echo" { size } else { 7 };
                    send.reserve_capacity(n);
                    let _ = send.send_data(Bytes::from(vec![0u8; n]), false);
                    trailers.insert("grpc-status", "0".parse().expect("value"));
                    let _ = send.send_trailers(trailers);
                }
            }
        });
    }
}

fn route(path: &'static str) -> Route {
    Route::new(&Target { addr: "test:1".to_owned(), tls: None }, path, &[("x-onshi-facility", b"13")])
}

#[tokio::test]
async fn answers_of_an_h2_server_are_read() {
    let (client, server) = tokio::io::duplex(1 << 16);
    tokio::spawn(serve(server));
    let mut conn = start(client);
    let body = frame(b"hi");
    // Twice each: the second time the server sends its headers as dynamic-table indices.
    for _ in 0..2 {
        assert_eq!(unary(&mut conn, &route("/ok"), body.clone()).await.expect("ok"), 7);
        let denied = unary(&mut conn, &route("/denied"), body.clone()).await.expect_err("denied");
        assert_eq!(
            (denied.code, denied.message.as_str(), denied.connection_lost),
            (Code::PermissionDenied, &printable()[..], false)
        );
        let teapot = unary(&mut conn, &route("/teapot"), body.clone()).await.expect_err("teapot");
        assert_eq!((teapot.code, teapot.message.as_str()), (Code::Unknown, "HTTP status 418"));
        let reset = unary(&mut conn, &route("/reset"), body.clone()).await.expect_err("reset");
        assert_eq!((reset.code, reset.connection_lost), (Code::Unavailable, false));
    }
    // 300 kB: beyond the 64 kB initial windows, so it goes out as WINDOW_UPDATEs come in.
    let big = frame(&vec![7u8; 300_000]);
    assert_eq!(unary(&mut conn, &route("/echo"), big.clone()).await.expect("echo"), big.len());
    // Twenty calls at once on a server that lets two in at a time.
    let calls = (0..20).map(|_| {
        let mut conn = conn.clone();
        let body = body.clone();
        tokio::spawn(async move { unary(&mut conn, &route("/ok"), body).await })
    });
    for call in calls.collect::<Vec<_>>() {
        assert_eq!(call.await.expect("joined").expect("ok"), 7);
    }
}

#[tokio::test]
async fn a_closed_connection_fails_every_call_as_lost() {
    let (client, server) = tokio::io::duplex(1 << 16);
    drop(server);
    let mut conn = start(client);
    let error = unary(&mut conn, &route("/ok"), frame(b"hi")).await.expect_err("closed");
    assert_eq!((error.code, error.connection_lost), (Code::Unavailable, true));
    let again = unary(&mut conn, &route("/ok"), frame(b"hi")).await.expect_err("still closed");
    assert!(again.connection_lost);
}
