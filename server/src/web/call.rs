//! The in-process AdminService call: the request the page builds carries what a plaintext
//! loopback admin client's does (a connection identity without a certificate), so it passes the
//! same authorization (`App::admin_allowed`) and runs the same code as a gRPC call.

use tonic::Request;

use crate::auth::ConnIdentity;

/// `message` as a request from a plaintext loopback admin client.
pub(super) fn request<T>(message: T) -> Request<T> {
    let mut request = Request::new(message);
    request.extensions_mut().insert(ConnIdentity::plaintext(None));
    request
}
