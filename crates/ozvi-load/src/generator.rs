//! The load generator's HTTP/1.1: one keep-alive connection per client over
//! a plain Tokio socket, one request in flight, requests written as ready
//! bytes, answers parsed only as far as the status line and headers
//! (`httparse`) and read to their `Content-Length`.
//!
//! A general HTTP client (reqwest: a connection pool, header maps, a body
//! stream per answer) cost the generator more CPU per request than the
//! baseline server spends, on the same two cores: against the sled relay
//! it measured 7,834 posts/s where Debian's `wrk` measured 13,000–14,000/s.
//! This one does no more work per request than `wrk` does.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// Headers an answer may carry (the relay sends about 15).
const MAX_HEADERS: usize = 64;
/// The largest body read (a full inbox page is about 100 KB).
const MAX_BODY: usize = 64 << 20;

/// The `Host` header of every request: both servers ignore it, so a post
/// is the same bytes to the relay and to the baseline.
pub const HOST: &str = "127.0.0.1";

/// A request, ready to write.
pub fn request(method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = format!("{method} {path} HTTP/1.1\r\nHost: {HOST}\r\n");
    for (name, value) in headers {
        out.push_str(name);
        out.push_str(": ");
        out.push_str(value);
        out.push_str("\r\n");
    }
    if !body.is_empty() || method == "POST" {
        out.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    out.push_str("\r\n");
    let mut out = out.into_bytes();
    out.extend_from_slice(body);
    out
}

/// An answer: its status and its body, borrowed from the connection's buffer.
pub struct Answer<'a> {
    pub status: u16,
    pub body: &'a [u8],
}

/// One keep-alive connection to `addr`, reopened after an error or a
/// `Connection: close`.
pub struct Connection {
    addr: SocketAddr,
    stream: Option<TcpStream>,
    buffer: Vec<u8>,
    /// Connections opened so far (1 if the server kept the first one alive).
    pub opened: u64,
}

impl Connection {
    /// Opens a connection to `addr`.
    pub async fn open(addr: SocketAddr) -> Result<Self, String> {
        let mut connection = Self {
            addr,
            stream: None,
            buffer: Vec::with_capacity(16 * 1024),
            opened: 0,
        };
        connection.connect().await?;
        Ok(connection)
    }

    async fn connect(&mut self) -> Result<(), String> {
        let stream = TcpStream::connect(self.addr)
            .await
            .map_err(|e| format!("transport error: connect: {}", e.kind()))?;
        stream
            .set_nodelay(true)
            .map_err(|e| format!("transport error: nodelay: {}", e.kind()))?;
        self.stream = Some(stream);
        self.opened += 1;
        Ok(())
    }

    /// Writes `request` and reads its answer. After any error the
    /// connection is closed, and the next exchange opens a new one.
    pub async fn exchange(&mut self, request: &[u8]) -> Result<Answer<'_>, String> {
        if self.stream.is_none() {
            self.connect().await?;
        }
        match self.exchange_open(request).await {
            Ok((status, head, length, close)) => {
                if close {
                    self.stream = None;
                }
                Ok(Answer {
                    status,
                    body: &self.buffer[head..head + length],
                })
            }
            Err(e) => {
                self.stream = None;
                Err(e)
            }
        }
    }

    /// Returns the status, the header length, the body length, and whether
    /// the server closes the connection.
    async fn exchange_open(&mut self, request: &[u8]) -> Result<(u16, usize, usize, bool), String> {
        let stream = self
            .stream
            .as_mut()
            .ok_or("transport error: not connected")?;
        stream
            .write_all(request)
            .await
            .map_err(|e| format!("transport error: write: {}", e.kind()))?;
        self.buffer.clear();
        let (status, head, length, close) = loop {
            if !self.buffer.is_empty()
                && let Some(parsed) = parse_head(&self.buffer)?
            {
                break parsed;
            }
            fill(stream, &mut self.buffer).await?;
        };
        while self.buffer.len() < head + length {
            fill(stream, &mut self.buffer).await?;
        }
        if self.buffer.len() > head + length {
            return Err("bad answer: bytes after the body".into());
        }
        Ok((status, head, length, close))
    }
}

/// Reads what the socket has into `buffer`; an error at the end of the stream.
async fn fill(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> Result<(), String> {
    buffer.reserve(16 * 1024);
    match stream.read_buf(buffer).await {
        Ok(0) => Err("transport error: connection closed".into()),
        Ok(_) => Ok(()),
        Err(e) => Err(format!("transport error: read: {}", e.kind())),
    }
}

/// The status, header length, body length and `Connection: close` of a
/// complete head at the start of `buffer`; `None` while it is incomplete.
fn parse_head(buffer: &[u8]) -> Result<Option<(u16, usize, usize, bool)>, String> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    let head = match response.parse(buffer) {
        Ok(httparse::Status::Complete(head)) => head,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(format!("bad answer: {e}")),
    };
    let status = response.code.ok_or("bad answer: no status")?;
    let mut length = None;
    let mut close = false;
    for header in response.headers.iter() {
        if header.name.eq_ignore_ascii_case("content-length") {
            length = std::str::from_utf8(header.value)
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok());
            if length.is_none() {
                return Err("bad answer: Content-Length".into());
            }
        } else if header.name.eq_ignore_ascii_case("transfer-encoding") {
            return Err("bad answer: chunked bodies are not read".into());
        } else if header.name.eq_ignore_ascii_case("connection") {
            close = header.value.eq_ignore_ascii_case(b"close");
        }
    }
    let length = match (length, status) {
        (Some(length), _) => length,
        (None, 204 | 304) | (None, 100..=199) => 0,
        (None, _) => return Err("bad answer: no Content-Length".into()),
    };
    if length > MAX_BODY {
        return Err("bad answer: body too large".into());
    }
    Ok(Some((status, head, length, close)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_request() {
        assert_eq!(
            request("POST", "/p", &[("A", "b")], b"{}"),
            b"POST /p HTTP/1.1\r\nHost: 127.0.0.1\r\nA: b\r\nContent-Length: 2\r\n\r\n{}"
        );
        assert_eq!(
            request("GET", "/healthz", &[], b""),
            b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        );
    }

    #[test]
    fn parses_heads() {
        let answer = b"HTTP/1.1 201 Created\r\ncontent-length: 9\r\n\r\n{\"seq\":1}";
        assert_eq!(parse_head(answer), Ok(Some((201, 43, 9, false))));
        assert_eq!(parse_head(&answer[..20]), Ok(None));
        assert_eq!(
            parse_head(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"),
            Ok(Some((200, 57, 0, true)))
        );
        assert!(parse_head(b"HTTP/1.1 200 OK\r\n\r\n").is_err());
        assert!(parse_head(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n").is_err());
        assert!(parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n").is_err());
        assert!(parse_head(b"nonsense\r\n\r\n").is_err());
        assert_eq!(
            parse_head(b"HTTP/1.1 204 No Content\r\n\r\n"),
            Ok(Some((204, 27, 0, false)))
        );
    }

    #[tokio::test]
    async fn exchanges_over_one_connection() {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buffer = [0u8; 1024];
            for body in ["one", "three"] {
                let mut read = 0;
                while !buffer[..read].ends_with(b"\r\n\r\n") {
                    read += socket.read(&mut buffer[read..]).await.unwrap();
                }
                let answer = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len());
                // The head and the body in two writes.
                socket.write_all(answer.as_bytes()).await.unwrap();
                socket.flush().await.unwrap();
                socket.write_all(body.as_bytes()).await.unwrap();
            }
        });
        let mut connection = Connection::open(addr).await.unwrap();
        let get = request("GET", "/", &[], b"");
        for expected in [&b"one"[..], b"three"] {
            let answer = connection.exchange(&get).await.unwrap();
            assert_eq!((answer.status, answer.body), (200, expected));
        }
        server.await.unwrap();
        assert_eq!(connection.opened, 1);
        // The server is gone: an error, then a failed reconnection.
        assert!(connection.exchange(&get).await.is_err());
        assert!(connection.exchange(&get).await.is_err());
    }
}
