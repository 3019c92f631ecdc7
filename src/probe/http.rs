//! The HTTP step: one polite `GET /` (no body, `Connection: close`), the
//! head parsed with httparse, the `<title>` found by a small scan.

use std::fmt::Write as _;
use std::io::{self, Read, Write};
use std::net::IpAddr;

use super::{Bounded, Budget, Target};

/// The longest title and body excerpt kept.
const MAX_TITLE: usize = 200;
const MAX_EXCERPT: usize = 200;

/// What `GET /` answered.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HttpInfo {
    /// `HTTP/1.1`.
    pub version: Option<String>,
    pub status: Option<u16>,
    pub reason: Option<String>,
    pub server: Option<String>,
    pub location: Option<String>,
    pub content_type: Option<String>,
    pub title: Option<String>,
    pub body_excerpt: Option<String>,
    /// Whether the head ended (a never-ending head is cut at the limits).
    pub head_complete: bool,
    /// Bytes the answer had (0: nothing came back).
    pub raw_bytes: usize,
    /// The server closed the connection.
    pub closed: bool,
}

impl HttpInfo {
    /// `HTTP/1.1 200 OK, title "x"`, `HTTP/1.1 301 Moved Permanently →
    /// https://x/`.
    pub fn summary(&self) -> String {
        let mut text = format!(
            "{} {}",
            self.version.as_deref().unwrap_or("HTTP"),
            self.status
                .map_or_else(|| "?".to_owned(), |s| s.to_string())
        );
        if let Some(reason) = self.reason.as_deref().filter(|r| !r.is_empty()) {
            text.push(' ');
            text.push_str(reason);
        }
        if let Some(location) = &self.location {
            text.push_str(" → ");
            text.push_str(location);
        }
        if let Some(title) = &self.title {
            let _ = write!(text, ", title \"{title}\"");
        }
        if !self.head_complete {
            text.push_str(", head never ended");
        }
        text
    }
}

/// Words TLS servers answer plain HTTP with (on a 400 or nginx's own
/// 497): nginx `ngx_http_special_response.c` ("The plain HTTP request was
/// sent to HTTPS port"), Apache `mod_ssl` ("You're speaking plain HTTP to
/// an SSL-enabled server port").
const PLAIN_HTTP_REJECTIONS: &[&str] = &[
    "plain http request was sent to https port",
    "speaking plain http to an ssl-enabled server port",
];

/// Whether a plain-HTTP answer from a socket that also spoke TLS is the
/// TLS server refusing plain HTTP rather than a real answer: said in
/// words (`400 The plain HTTP request was sent to HTTPS port`), or `None`.
pub fn plain_http_rejection(info: &HttpInfo) -> Option<String> {
    let text = [info.title.as_deref(), info.body_excerpt.as_deref()]
        .into_iter()
        .flatten()
        .map(str::to_ascii_lowercase)
        .collect::<Vec<_>>()
        .join(" ");
    let worded = PLAIN_HTTP_REJECTIONS.iter().any(|w| text.contains(w));
    let status = info.status?;
    // 400 to a well-formed `GET /` is a refusal of the request's protocol,
    // not an answer; 497 is nginx's internal "HTTP to HTTPS" code.
    if worded || status == 400 || status == 497 {
        let what = info
            .title
            .as_deref()
            .or(info.reason.as_deref())
            .unwrap_or_default();
        // nginx's title already starts with the status.
        let code = status.to_string();
        let words = if what.starts_with(&code) {
            what.to_owned()
        } else {
            format!("{code} {what}")
        };
        return Some(super::untrusted(words.trim_end(), 80));
    }
    None
}

/// `GET /` on a new plain connection.
pub fn get(budget: &mut Budget, target: &Target, tls: bool) -> io::Result<HttpInfo> {
    let stream = budget.connect(target.address)?;
    let mut io = Bounded::new(stream, budget);
    exchange(&mut io, target, tls)
}

/// The request: `Host` as the user named it, our `User-Agent`, no body.
fn request(target: &Target, tls: bool) -> String {
    let port = target.address.port();
    let host = match (&target.host_name, target.address.ip()) {
        (Some(name), _) if name.parse::<IpAddr>().is_err() => name.clone(),
        (_, IpAddr::V6(v6)) => format!("[{v6}]"),
        (_, IpAddr::V4(v4)) => v4.to_string(),
    };
    let default_port = if tls { 443 } else { 80 };
    let host = if port == default_port {
        host
    } else {
        format!("{host}:{port}")
    };
    format!(
        "GET / HTTP/1.1\r\nHost: {host}\r\nUser-Agent: portcheck/{}\r\nAccept: */*\r\nConnection: close\r\n\r\n",
        env!("CARGO_PKG_VERSION")
    )
}

/// Sends `GET /` and reads the answer within the probe's bounds.
pub fn exchange<S: Read + Write>(
    stream: &mut S,
    target: &Target,
    tls: bool,
) -> io::Result<HttpInfo> {
    stream.write_all(request(target, tls).as_bytes())?;
    stream.flush()?;
    let mut answer = Vec::new();
    let mut buf = [0u8; 8192];
    let mut closed = false;
    loop {
        match stream.read(&mut buf) {
            Ok(0) => {
                closed = true;
                break;
            }
            Ok(n) => {
                answer.extend_from_slice(buf.get(..n).unwrap_or_default());
                if let Some(complete) = enough(&answer) {
                    // The whole answer came: wait for the close asked for,
                    // so that the server's side ends at once (see Conn).
                    if complete && matches!(stream.read(&mut buf), Ok(0)) {
                        closed = true;
                    }
                    break;
                }
            }
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            // A TLS peer that closes without close_notify.
            Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => {
                closed = true;
                break;
            }
            Err(error) if answer.is_empty() => return Err(error),
            Err(_) => break,
        }
    }
    let mut info = parse(&answer);
    info.closed = closed;
    Ok(info)
}

/// Whether the answer is enough to stop reading: `Some(true)` the head
/// and the whole body (by length or chunks), `Some(false)` the title
/// already, `None` not yet.
fn enough(answer: &[u8]) -> Option<bool> {
    let mut headers = [httparse::EMPTY_HEADER; 100];
    let mut response = httparse::Response::new(&mut headers);
    let Ok(httparse::Status::Complete(head)) = response.parse(answer) else {
        return None;
    };
    let body = answer.get(head..).unwrap_or_default();
    if matches!(response.code, Some(204 | 304)) {
        return Some(true);
    }
    let length: Option<usize> =
        header(&response, "content-length").and_then(|v| v.trim().parse().ok());
    let chunked = header(&response, "transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    let complete = match length {
        Some(length) => body.len() >= length,
        None => {
            chunked && (body.starts_with(b"0\r\n") || body.windows(5).any(|w| w == b"\n0\r\n\r"))
        }
    };
    if complete {
        Some(true)
    } else if find_title(body).is_some() {
        Some(false)
    } else {
        None
    }
}

fn header(response: &httparse::Response<'_, '_>, name: &str) -> Option<String> {
    response
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case(name))
        .map(|h| String::from_utf8_lossy(h.value).into_owned())
}

/// The answer's head and what the body shows.
pub fn parse(answer: &[u8]) -> HttpInfo {
    let mut info = HttpInfo {
        raw_bytes: answer.len(),
        ..HttpInfo::default()
    };
    let mut headers = [httparse::EMPTY_HEADER; 100];
    let mut response = httparse::Response::new(&mut headers);
    let head = match response.parse(answer) {
        Ok(httparse::Status::Complete(head)) => Some(head),
        Ok(httparse::Status::Partial) => None,
        Err(_) => {
            if !answer.is_empty() {
                info.body_excerpt = Some(excerpt(answer));
            }
            return info;
        }
    };
    info.status = response.code;
    info.version = response.version.map(|v| format!("HTTP/1.{v}"));
    info.reason = response.reason.map(str::to_owned);
    let Some(head) = head else {
        return info;
    };
    info.head_complete = true;
    info.server = header(&response, "server");
    info.location = header(&response, "location");
    info.content_type = header(&response, "content-type");
    let raw_body = answer.get(head..).unwrap_or_default();
    let chunked = header(&response, "transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    let body = if chunked {
        dechunk(raw_body)
    } else {
        raw_body.to_vec()
    };
    info.title = find_title(&body);
    if !body.is_empty() {
        info.body_excerpt = Some(excerpt(&body));
    }
    info
}

/// The data of a chunked body, as far as it goes.
fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Ok(httparse::Status::Complete((start, size))) = httparse::parse_chunk_size(body) {
        let Ok(size) = usize::try_from(size) else {
            break;
        };
        if size == 0 {
            break;
        }
        let rest = body.get(start..).unwrap_or_default();
        let take = size.min(rest.len());
        out.extend_from_slice(rest.get(..take).unwrap_or_default());
        // Past the data and its CRLF.
        body = rest.get(take + 2..).unwrap_or_default();
    }
    out
}

/// Whitespace collapsed, at most [`MAX_EXCERPT`] characters.
fn excerpt(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let words: Vec<&str> = text.split_whitespace().collect();
    let joined = words.join(" ");
    let mut out: String = joined.chars().take(MAX_EXCERPT).collect();
    if joined.chars().count() > MAX_EXCERPT {
        out.push('…');
    }
    out
}

/// The text of the first `<title>…</title>`, case-insensitive, with the
/// common entities decoded and whitespace collapsed.
pub fn find_title(body: &[u8]) -> Option<String> {
    let lower = body.to_ascii_lowercase();
    let open = find(&lower, b"<title", 0)?;
    let start = find(&lower, b">", open)? + 1;
    let end = find(&lower, b"</title", start)?;
    let raw = String::from_utf8_lossy(body.get(start..end)?);
    let decoded = raw
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&apos;", "'")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&");
    let words: Vec<&str> = decoded.split_whitespace().collect();
    let title: String = words.join(" ").chars().take(MAX_TITLE).collect();
    (!title.is_empty()).then_some(title)
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_are_found_case_insensitively() {
        assert_eq!(
            find_title(b"<html><HEAD><Title lang=en>\n ipv6  &amp; more </TITLE>"),
            Some("ipv6 & more".into())
        );
        assert_eq!(find_title(b"<title></title>"), None);
        assert_eq!(find_title(b"<title>never closed"), None);
    }

    #[test]
    fn a_response_is_parsed() {
        let info = parse(
            b"HTTP/1.1 301 Moved Permanently\r\nLocation: https://dual.test/\r\nServer: x\r\nContent-Length: 0\r\n\r\n",
        );
        assert_eq!(info.status, Some(301));
        assert_eq!(info.location.as_deref(), Some("https://dual.test/"));
        assert_eq!(
            info.summary(),
            "HTTP/1.1 301 Moved Permanently → https://dual.test/"
        );
        let info = parse(b"HTTP/1.1 200 OK\r\nX-Slow: aaaa");
        assert_eq!(info.status, Some(200));
        assert!(!info.head_complete);
        let info = parse(b"\x00\x01garbage");
        assert_eq!(info.status, None);
    }

    #[test]
    fn chunked_bodies_are_joined() {
        let info = parse(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n7\r\n<title>\r\n3\r\nabc\r\n8\r\n</title>\r\n0\r\n\r\n",
        );
        assert_eq!(info.title.as_deref(), Some("abc"));
    }

    #[test]
    fn a_tls_servers_refusal_of_plain_http_is_not_an_answer() {
        let nginx = HttpInfo {
            status: Some(400),
            reason: Some("Bad Request".into()),
            title: Some("400 The plain HTTP request was sent to HTTPS port".into()),
            ..HttpInfo::default()
        };
        assert_eq!(
            plain_http_rejection(&nginx).as_deref(),
            Some("400 The plain HTTP request was sent to HTTPS port")
        );
        let real = HttpInfo {
            status: Some(200),
            title: Some("home".into()),
            ..HttpInfo::default()
        };
        assert_eq!(plain_http_rejection(&real), None);
        let not_found = HttpInfo {
            status: Some(404),
            ..HttpInfo::default()
        };
        assert_eq!(plain_http_rejection(&not_found), None);
    }

    #[test]
    fn the_request_is_polite() {
        let target = Target::new("[::1]:8000".parse().expect("addr"), None, None);
        let text = request(&target, false);
        assert!(text.starts_with("GET / HTTP/1.1\r\nHost: [::1]:8000\r\n"));
        assert!(text.contains("User-Agent: portcheck/"));
        let named = Target::new(
            "127.0.0.1:443".parse().expect("addr"),
            Some("dual.test".into()),
            None,
        );
        assert!(request(&named, true).contains("Host: dual.test\r\n"));
    }
}
