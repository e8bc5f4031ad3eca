//! Who is on the other end of a request.

use poem::Request;

/// The client's IP address: the socket peer, or the first `X-Forwarded-For` entry when
/// the service runs behind a trusted proxy (`trust_forwarded_for`).
pub fn address(req: &Request, trust_forwarded_for: bool) -> String {
    if trust_forwarded_for
        && let Some(first) = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
    {
        return first.trim().to_owned();
    }
    req.remote_addr()
        .as_socket_addr()
        .map_or_else(|| "unknown".to_owned(), |a| a.ip().to_string())
}
