//! The file-send path on a real listener, read by a raw TCP client so that framing, ordering and
//! the absence of the marker on the wire are checked byte for byte.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, web};

use super::{MARKER_NAME, available, bind_plain, file_response};

struct Fixture {
    _dir: tempfile::TempDir,
    path: PathBuf,
    data: Arc<Vec<u8>>,
}

fn fixture(len: usize) -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("blob");
    let data: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&path, &data).expect("write blob");
    Fixture {
        _dir: dir,
        path,
        data: Arc::new(data),
    }
}

/// `GET /file?from=a&len=n` sends that region; `/replaced` queues a file and then answers
/// something else; `/small` is an ordinary body; `/can` tells whether files can be sent.
async fn file(req: HttpRequest, path: web::Data<PathBuf>) -> HttpResponse {
    let query =
        web::Query::<std::collections::HashMap<String, u64>>::from_query(req.query_string())
            .map(|q| q.into_inner())
            .unwrap_or_default();
    let file = std::fs::File::open(path.get_ref()).expect("open");
    let size = file.metadata().expect("stat").len();
    let from = query.get("from").copied().unwrap_or(0);
    let len = query.get("len").copied().unwrap_or(size - from);
    let mut response = HttpResponse::Ok();
    response.content_type("application/octet-stream");
    file_response(&req, &mut response, file, from, len).expect("a file-send connection")
}

async fn replaced(req: HttpRequest, path: web::Data<PathBuf>) -> HttpResponse {
    let file = std::fs::File::open(path.get_ref()).expect("open");
    let mut response = HttpResponse::Ok();
    drop(file_response(&req, &mut response, file, 0, 10));
    HttpResponse::NotFound().body("gone")
}

async fn small() -> HttpResponse {
    HttpResponse::Ok().body("{\"small\": true}")
}

async fn can(req: HttpRequest) -> HttpResponse {
    HttpResponse::Ok().body(available(&req).to_string())
}

fn start(path: PathBuf) -> (SocketAddr, actix_web::dev::ServerHandle) {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
    let addr = probe.local_addr().expect("addr");
    drop(probe);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let builder = actix_web::dev::Server::build().workers(1).disable_signals();
            let server = bind_plain(builder, addr, move || {
                App::new()
                    .app_data(web::Data::new(path.clone()))
                    .route("/file", web::get().to(file))
                    .route("/replaced", web::get().to(replaced))
                    .route("/small", web::get().to(small))
                    .route("/can", web::get().to(can))
            })
            .expect("bind")
            .run();
            tx.send(server.handle()).expect("handle");
            server.await.expect("server");
        });
    });
    let handle = rx.recv().expect("server started");
    for _ in 0..100 {
        if TcpStream::connect(addr).is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    (addr, handle)
}

/// Reads one response: its head (lower-cased) and its `Content-Length` body.
fn read_response(stream: &mut TcpStream) -> (String, Vec<u8>) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).expect("head byte");
        head.push(byte[0]);
    }
    let head = String::from_utf8(head)
        .expect("ascii head")
        .to_ascii_lowercase();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "))
        .map_or(0, |v| v.trim().parse().expect("length"));
    let mut body = vec![0; len];
    stream.read_exact(&mut body).expect("body");
    (head, body)
}

fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    stream
}

#[test]
fn files_regions_and_pipelined_responses_keep_their_order() {
    let blob = fixture(9 * 1024 * 1024 + 123);
    let (addr, server) = start(blob.path.clone());
    let mut client = connect(addr);

    client
        .write_all(b"GET /can HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("send");
    assert_eq!(read_response(&mut client).1, b"true");

    // Whole file, a range, an ordinary body, an empty region: pipelined in one write.
    client
        .write_all(
            b"GET /file HTTP/1.1\r\nHost: t\r\n\r\n\
              GET /file?from=1000&len=70000 HTTP/1.1\r\nHost: t\r\n\r\n\
              GET /small HTTP/1.1\r\nHost: t\r\n\r\n\
              GET /file?from=5&len=0 HTTP/1.1\r\nHost: t\r\n\r\n\
              GET /small HTTP/1.1\r\nHost: t\r\n\r\n",
        )
        .expect("send");
    let (head, body) = read_response(&mut client);
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(
        !head.contains(MARKER_NAME),
        "the marker never leaves: {head}"
    );
    assert!(!head.contains("transfer-encoding"), "{head}");
    assert_eq!(body.len(), blob.data.len());
    assert!(body == *blob.data, "whole file");
    let (head, body) = read_response(&mut client);
    assert!(!head.contains(MARKER_NAME), "{head}");
    assert_eq!(body, blob.data[1000..71_000]);
    assert_eq!(read_response(&mut client).1, b"{\"small\": true}");
    let (head, body) = read_response(&mut client);
    assert!(head.contains("content-length: 0"), "{head}");
    assert!(body.is_empty());
    assert_eq!(read_response(&mut client).1, b"{\"small\": true}");

    // A response that queued a file and was replaced leaves nothing behind on the connection.
    client
        .write_all(
            b"GET /replaced HTTP/1.1\r\nHost: t\r\n\r\n\
              GET /file?from=0&len=10 HTTP/1.1\r\nHost: t\r\n\r\n",
        )
        .expect("send");
    let (head, body) = read_response(&mut client);
    assert!(head.starts_with("http/1.1 404"), "{head}");
    assert_eq!(body, b"gone");
    assert_eq!(read_response(&mut client).1, blob.data[..10]);
    actix_web::rt::System::new().block_on(server.stop(false));
}

#[test]
fn a_slow_reader_gets_every_byte() {
    let blob = fixture(6 * 1024 * 1024);
    let (addr, server) = start(blob.path.clone());
    let mut client = connect(addr);
    client
        .write_all(b"GET /file HTTP/1.1\r\nHost: t\r\n\r\nGET /small HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("send");
    // The socket buffers fill and the server waits for room, many times over.
    std::thread::sleep(Duration::from_millis(300));
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        client.read_exact(&mut byte).expect("head");
        head.push(byte[0]);
    }
    let mut body = vec![0; blob.data.len()];
    for chunk in body.chunks_mut(64 * 1024) {
        client.read_exact(chunk).expect("chunk");
        std::thread::sleep(Duration::from_millis(2));
    }
    assert!(body == *blob.data);
    assert_eq!(read_response(&mut client).1, b"{\"small\": true}");
    actix_web::rt::System::new().block_on(server.stop(false));
}

#[test]
fn a_file_that_shrinks_closes_the_connection_short() {
    let blob = fixture(64 * 1024 * 1024);
    let (addr, server) = start(blob.path.clone());
    let mut client = connect(addr);
    client
        .write_all(b"GET /file HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("send");
    let mut first = vec![0; 64 * 1024];
    client.read_exact(&mut first).expect("first bytes");
    std::fs::OpenOptions::new()
        .write(true)
        .open(&blob.path)
        .expect("open")
        .set_len(1024 * 1024)
        .expect("truncate");
    let mut rest = Vec::new();
    // The connection ends (cleanly or reset) before the promised length.
    let _ = client.read_to_end(&mut rest);
    assert!(first.len() + rest.len() < blob.data.len());
    actix_web::rt::System::new().block_on(server.stop(false));
}

#[test]
fn repeated_large_downloads_never_stall() {
    // The socket fills and drains thousands of times: a lost "writable" wake-up would hang a
    // download here (the read timeout turns that into a failure).
    let blob = fixture(48 * 1024 * 1024);
    let (addr, server) = start(blob.path.clone());
    let mut client = connect(addr);
    for round in 0..12 {
        client
            .write_all(b"GET /file HTTP/1.1\r\nHost: t\r\n\r\n")
            .expect("send");
        let (_, body) = read_response(&mut client);
        assert_eq!(body.len(), blob.data.len(), "round {round}");
    }
    actix_web::rt::System::new().block_on(server.stop(false));
}

#[test]
fn a_closing_connection_sends_the_whole_file_before_it_closes() {
    let blob = fixture(5 * 1024 * 1024 + 1);
    let (addr, server) = start(blob.path.clone());
    for version in ["HTTP/1.1", "HTTP/1.0"] {
        let mut client = connect(addr);
        client
            .write_all(
                format!("GET /file {version}\r\nHost: t\r\nConnection: close\r\n\r\n").as_bytes(),
            )
            .expect("send");
        let (head, body) = read_response(&mut client);
        assert!(!head.contains(MARKER_NAME), "{head}");
        assert!(body == *blob.data, "{version}");
        let mut rest = Vec::new();
        client.read_to_end(&mut rest).expect("closed cleanly");
        assert!(rest.is_empty(), "{version}: nothing after the body");
    }
    actix_web::rt::System::new().block_on(server.stop(false));
}

#[test]
fn a_client_that_stalls_past_the_keep_alive_gets_the_whole_file() {
    // actix closes a connection 5 s (keep-alive) + 1 s (disconnect) after a response is over;
    // a response is not over until its file is sent, however long the client stalls.
    let blob = fixture(24 * 1024 * 1024);
    let (addr, server) = start(blob.path.clone());
    let mut client = connect(addr);
    client
        .write_all(b"GET /file HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("send");
    let mut first = vec![0; 1024 * 1024];
    client.read_exact(&mut first).expect("first bytes");
    std::thread::sleep(Duration::from_secs(7));
    client
        .write_all(b"GET /small HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("send after the stall");
    let mut rest = Vec::new();
    while !rest.ends_with(b"{\"small\": true}") {
        let mut buf = vec![0; 1024 * 1024];
        let n = client.read(&mut buf).expect("read after the stall");
        assert!(
            n > 0,
            "the connection was closed after {} bytes",
            first.len() + rest.len()
        );
        rest.extend_from_slice(&buf[..n]);
    }
    let all = [first, rest].concat();
    let head_end = memchr::memmem::find(&all, b"\r\n\r\n").expect("head") + 4;
    assert!(all[head_end..head_end + blob.data.len()] == *blob.data);
    actix_web::rt::System::new().block_on(server.stop(false));
}
