//! `data::fetch` against HTTP servers on 127.0.0.1 that serve small generated IDX files:
//! full downloads, resumes through Range requests, servers that ignore Range, corrupt files,
//! error statuses and dropped connections. No test reaches beyond the loopback interface.

#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is a failed test.

mod data_support;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use data_support::{gzip, synthetic_split};
use hhlab::data::fetch::{fetch, sha256_hex, DigestOf, FetchOptions, FetchOutcome, RemoteFile};
use hhlab::data::{load_split, DataError, DatasetKind, Split};

/// Response behaviour of the test server.
#[derive(Debug, Clone, Copy)]
enum Behaviour {
    /// Serve files and honour `Range: bytes=N-`.
    Honest,
    /// Serve files whole with status 200, ignoring any Range header.
    IgnoreRange,
    /// Respond to every request with this status and a short text body.
    Fail(u16),
}

/// One request the server received: the path and the Range header, if any.
type Seen = (String, Option<String>);

struct TestServer {
    base_url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    server: Arc<tiny_http::Server>,
    worker: Option<JoinHandle<()>>,
}

impl TestServer {
    fn start(files: HashMap<String, Vec<u8>>, behaviour: Behaviour) -> Self {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let port = server.server_addr().to_ip().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let worker = {
            let server = Arc::clone(&server);
            let seen = Arc::clone(&seen);
            std::thread::Builder::new()
                .name("test-http".into())
                .spawn(move || {
                    for request in server.incoming_requests() {
                        answer(request, &files, behaviour, &seen);
                    }
                })
                .unwrap()
        };
        TestServer {
            base_url: format!("http://127.0.0.1:{port}/files/"),
            seen,
            server,
            worker: Some(worker),
        }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(worker) = self.worker.take() {
            worker.join().unwrap();
        }
    }
}

fn header(name: &str, value: &str) -> tiny_http::Header {
    tiny_http::Header::from_bytes(name, value).unwrap()
}

fn answer(
    request: tiny_http::Request,
    files: &HashMap<String, Vec<u8>>,
    behaviour: Behaviour,
    seen: &Mutex<Vec<Seen>>,
) {
    let name = request.url().trim_start_matches("/files/").to_string();
    let range = request
        .headers()
        .iter()
        .find(|h| h.field.equiv("Range"))
        .map(|h| h.value.as_str().to_string());
    seen.lock().unwrap().push((name.clone(), range.clone()));

    let response = match (behaviour, files.get(&name)) {
        (Behaviour::Fail(code), _) => {
            tiny_http::Response::from_string("simulated failure").with_status_code(code)
        }
        (_, None) => {
            tiny_http::Response::from_string(format!("no such file: {name}")).with_status_code(404)
        }
        (Behaviour::IgnoreRange, Some(data)) => tiny_http::Response::from_data(data.clone()),
        (Behaviour::Honest, Some(data)) => {
            let start = range
                .as_deref()
                .and_then(|r| r.strip_prefix("bytes="))
                .and_then(|r| r.trim_end_matches('-').parse::<usize>().ok());
            match start {
                None => tiny_http::Response::from_data(data.clone()),
                Some(start) if start >= data.len() => tiny_http::Response::from_data(Vec::new())
                    .with_status_code(416)
                    .with_header(header("Content-Range", &format!("bytes */{}", data.len()))),
                Some(start) => {
                    let content_range = format!("bytes {start}-{}/{}", data.len() - 1, data.len());
                    tiny_http::Response::from_data(data[start..].to_vec())
                        .with_status_code(206)
                        .with_header(header("Content-Range", &content_range))
                }
            }
        }
    };
    let _ = request.respond(response);
}

/// A generated dataset as served: file name, served bytes, table entry.
struct Served {
    files: HashMap<String, Vec<u8>>,
    table: Vec<RemoteFile>,
}

/// Generates the four files of a small dataset. Image files carry the digest of their
/// decompressed content and label files the digest of the .gz, so both kinds are exercised.
fn served_dataset() -> Served {
    let mut files = HashMap::new();
    let mut table = Vec::new();
    for (split, count) in [(Split::Train, 40), (Split::Test, 12)] {
        let (images, labels) = synthetic_split(count);
        let images_gz = gzip(&images);
        let labels_gz = gzip(&labels);
        table.push(RemoteFile {
            name: split.images_file(),
            sha256: sha256_hex(&images),
            digest_of: DigestOf::Decompressed,
        });
        table.push(RemoteFile {
            name: split.labels_file(),
            sha256: sha256_hex(&labels_gz),
            digest_of: DigestOf::Compressed,
        });
        files.insert(split.images_file(), images_gz);
        files.insert(split.labels_file(), labels_gz);
    }
    Served { files, table }
}

fn options(data_dir: &Path, base_url: &str, table: Vec<RemoteFile>) -> FetchOptions {
    FetchOptions {
        data_dir: data_dir.to_path_buf(),
        base_url: base_url.to_string(),
        files: table,
        show_progress: false,
    }
}

/// The table entry and destination of the training images only.
fn train_images(served: &Served, data_dir: &Path) -> (Vec<RemoteFile>, PathBuf) {
    let entry = served.table[0].clone();
    let path = data_dir.join("mnist").join(&entry.name);
    (vec![entry], path)
}

fn part_of(path: &Path) -> PathBuf {
    path.with_file_name(format!(
        "{}.part",
        path.file_name().unwrap().to_string_lossy()
    ))
}

#[test]
fn fetch_downloads_and_verifies_all_files() {
    let served = served_dataset();
    let server = TestServer::start(served.files.clone(), Behaviour::Honest);
    let dir = tempfile::tempdir().unwrap();
    let opts = options(dir.path(), &server.base_url, served.table.clone());

    let fetched = fetch(DatasetKind::Mnist, &opts).unwrap();
    assert_eq!(fetched.len(), 4);
    for file in &fetched {
        assert_eq!(file.outcome, FetchOutcome::Downloaded { resumed_from: 0 });
        let name = file.path.file_name().unwrap().to_string_lossy().to_string();
        assert_eq!(std::fs::read(&file.path).unwrap(), served.files[&name]);
        assert!(!part_of(&file.path).exists(), "{name}.part left behind");
    }
    assert!(server.seen().iter().all(|(_, range)| range.is_none()));

    let train = load_split(dir.path(), DatasetKind::Mnist, Split::Train).unwrap();
    let test = load_split(dir.path(), DatasetKind::Mnist, Split::Test).unwrap();
    assert_eq!((train.count, test.count), (40, 12));
}

#[test]
fn second_fetch_downloads_nothing() {
    let served = served_dataset();
    let server = TestServer::start(served.files.clone(), Behaviour::Honest);
    let dir = tempfile::tempdir().unwrap();
    let opts = options(dir.path(), &server.base_url, served.table.clone());

    fetch(DatasetKind::Mnist, &opts).unwrap();
    let requests_after_first = server.seen().len();
    let fetched = fetch(DatasetKind::Mnist, &opts).unwrap();

    assert!(fetched
        .iter()
        .all(|f| f.outcome == FetchOutcome::AlreadyPresent));
    assert_eq!(server.seen().len(), requests_after_first);
}

#[test]
fn partial_file_resumes_with_range() {
    let served = served_dataset();
    let server = TestServer::start(served.files.clone(), Behaviour::Honest);
    let dir = tempfile::tempdir().unwrap();
    let (table, path) = train_images(&served, dir.path());
    let full = &served.files[&table[0].name];
    let half = full.len() / 2;
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(part_of(&path), &full[..half]).unwrap();

    let fetched = fetch(
        DatasetKind::Mnist,
        &options(dir.path(), &server.base_url, table),
    )
    .unwrap();

    assert_eq!(
        fetched[0].outcome,
        FetchOutcome::Downloaded {
            resumed_from: half as u64
        }
    );
    assert_eq!(
        server.seen(),
        [(fetched_name(&path), Some(format!("bytes={half}-")))]
    );
    assert_eq!(&std::fs::read(&path).unwrap(), full);
}

fn fetched_name(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().to_string()
}

#[test]
fn server_ignoring_range_restarts_download() {
    let served = served_dataset();
    let server = TestServer::start(served.files.clone(), Behaviour::IgnoreRange);
    let dir = tempfile::tempdir().unwrap();
    let (table, path) = train_images(&served, dir.path());
    let full = &served.files[&table[0].name];
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(part_of(&path), &full[..full.len() / 3]).unwrap();

    let fetched = fetch(
        DatasetKind::Mnist,
        &options(dir.path(), &server.base_url, table),
    )
    .unwrap();

    assert_eq!(
        fetched[0].outcome,
        FetchOutcome::Downloaded { resumed_from: 0 }
    );
    assert_eq!(server.seen().len(), 1);
    assert_eq!(&std::fs::read(&path).unwrap(), full);
}

#[test]
fn complete_part_file_is_accepted_after_416() {
    let served = served_dataset();
    let server = TestServer::start(served.files.clone(), Behaviour::Honest);
    let dir = tempfile::tempdir().unwrap();
    let (table, path) = train_images(&served, dir.path());
    let full = served.files[&table[0].name].clone();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(part_of(&path), &full).unwrap();

    let fetched = fetch(
        DatasetKind::Mnist,
        &options(dir.path(), &server.base_url, table),
    )
    .unwrap();

    let resumed_from = full.len() as u64;
    assert_eq!(
        fetched[0].outcome,
        FetchOutcome::Downloaded { resumed_from }
    );
    assert_eq!(std::fs::read(&path).unwrap(), full);
}

#[test]
fn stale_part_file_is_downloaded_again() {
    let served = served_dataset();
    let server = TestServer::start(served.files.clone(), Behaviour::Honest);
    let dir = tempfile::tempdir().unwrap();
    let (table, path) = train_images(&served, dir.path());
    let full = served.files[&table[0].name].clone();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    // Bytes that are not a prefix of the served file: resuming yields a corrupt file.
    std::fs::write(part_of(&path), vec![0x1f; full.len() / 2]).unwrap();

    let fetched = fetch(
        DatasetKind::Mnist,
        &options(dir.path(), &server.base_url, table),
    )
    .unwrap();

    assert_eq!(
        fetched[0].outcome,
        FetchOutcome::Downloaded { resumed_from: 0 }
    );
    let ranges: Vec<Option<String>> = server.seen().into_iter().map(|(_, r)| r).collect();
    assert_eq!(ranges, [Some(format!("bytes={}-", full.len() / 2)), None]);
    assert_eq!(std::fs::read(&path).unwrap(), full);
}

#[test]
fn corrupt_download_fails_checksum() {
    let mut served = served_dataset();
    let (images, _) = synthetic_split(40);
    let mut tampered = images.clone();
    tampered[16 + 100] ^= 0xff;
    let name = Split::Train.images_file();
    served.files.insert(name.clone(), gzip(&tampered));
    let server = TestServer::start(served.files.clone(), Behaviour::Honest);
    let dir = tempfile::tempdir().unwrap();
    let (table, path) = train_images(&served, dir.path());

    let err = fetch(
        DatasetKind::Mnist,
        &options(dir.path(), &server.base_url, table),
    )
    .unwrap_err();

    match &err {
        DataError::ChecksumMismatch {
            content,
            expected,
            found,
            ..
        } => {
            assert_eq!(*content, "decompressed content");
            assert_eq!(expected, &sha256_hex(&images));
            assert_eq!(found, &sha256_hex(&tampered));
        }
        other => panic!("expected ChecksumMismatch, got {other:?}"),
    }
    assert!(err.to_string().contains("SHA-256 mismatch"), "{err}");
    assert!(!path.exists(), "a file that failed verification was kept");
    assert!(
        !part_of(&path).exists(),
        "a .part that failed verification was kept"
    );
}

#[test]
fn corrupt_gz_fails_compressed_checksum() {
    let mut served = served_dataset();
    let name = Split::Test.labels_file();
    let entry = served
        .table
        .iter()
        .find(|f| f.name == name)
        .unwrap()
        .clone();
    served.files.get_mut(&name).unwrap()[12] ^= 0x01;
    let server = TestServer::start(served.files.clone(), Behaviour::Honest);
    let dir = tempfile::tempdir().unwrap();

    let opts = options(dir.path(), &server.base_url, vec![entry]);
    let err = fetch(DatasetKind::Mnist, &opts).unwrap_err();

    assert!(
        matches!(
            err,
            DataError::ChecksumMismatch {
                content: "compressed file",
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn missing_remote_file_reports_404() {
    let served = served_dataset();
    let server = TestServer::start(HashMap::new(), Behaviour::Honest);
    let dir = tempfile::tempdir().unwrap();
    let (table, _) = train_images(&served, dir.path());

    let err = fetch(
        DatasetKind::Mnist,
        &options(dir.path(), &server.base_url, table),
    )
    .unwrap_err();

    assert!(
        matches!(err, DataError::HttpStatus { status: 404, .. }),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(message.contains("HTTP 404 Not Found"), "{message}");
    assert!(message.contains("no such file"), "{message}");
    let url = format!("{}train-images-idx3-ubyte.gz", server.base_url);
    assert!(message.contains(&url), "{message}");
}

#[test]
fn server_error_reports_status_and_body() {
    let served = served_dataset();
    let server = TestServer::start(served.files.clone(), Behaviour::Fail(503));
    let dir = tempfile::tempdir().unwrap();
    let (table, path) = train_images(&served, dir.path());

    let err = fetch(
        DatasetKind::Mnist,
        &options(dir.path(), &server.base_url, table),
    )
    .unwrap_err();

    assert!(
        matches!(err, DataError::HttpStatus { status: 503, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("simulated failure"), "{err}");
    assert!(!path.exists());
}

#[test]
fn refused_connection_is_an_http_error() {
    // Bind and release a port so that nothing listens on it.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let served = served_dataset();
    let dir = tempfile::tempdir().unwrap();
    let (table, _) = train_images(&served, dir.path());
    let base_url = format!("http://127.0.0.1:{port}/");

    let err = fetch(DatasetKind::Mnist, &options(dir.path(), &base_url, table)).unwrap_err();

    assert!(matches!(err, DataError::Http { .. }), "{err:?}");
    assert!(err.to_string().contains(&base_url), "{err}");
}

#[test]
fn dropped_connection_leaves_part_to_resume() {
    let served = served_dataset();
    let dir = tempfile::tempdir().unwrap();
    let (table, path) = train_images(&served, dir.path());
    let full = served.files[&table[0].name].clone();
    let sent = full.len() / 2;

    // A server that announces the full length, sends half and closes the connection.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let body = full.clone();
    let cut = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut request = [0u8; 4096];
        let _ = stream.read(&mut request).unwrap();
        let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len());
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(&body[..sent]).unwrap();
    });
    let base_url = format!("http://127.0.0.1:{port}/");
    let err = fetch(
        DatasetKind::Mnist,
        &options(dir.path(), &base_url, table.clone()),
    );
    cut.join().unwrap();

    assert!(matches!(err, Err(DataError::Http { .. })), "{err:?}");
    assert_eq!(std::fs::read(part_of(&path)).unwrap(), &full[..sent]);

    let server = TestServer::start(served.files.clone(), Behaviour::Honest);
    let fetched = fetch(
        DatasetKind::Mnist,
        &options(dir.path(), &server.base_url, table),
    )
    .unwrap();
    assert_eq!(
        fetched[0].outcome,
        FetchOutcome::Downloaded {
            resumed_from: sent as u64
        }
    );
    assert_eq!(std::fs::read(&path).unwrap(), full);
}

#[test]
fn invalid_existing_file_is_replaced() {
    let served = served_dataset();
    let server = TestServer::start(served.files.clone(), Behaviour::Honest);
    let dir = tempfile::tempdir().unwrap();
    let (table, path) = train_images(&served, dir.path());
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, b"not an idx file").unwrap();

    let fetched = fetch(
        DatasetKind::Mnist,
        &options(dir.path(), &server.base_url, table),
    )
    .unwrap();

    assert_eq!(
        fetched[0].outcome,
        FetchOutcome::Downloaded { resumed_from: 0 }
    );
    assert_eq!(
        std::fs::read(&path).unwrap(),
        served.files[&fetched_name(&path)]
    );
}

#[test]
fn official_mnist_table_accepts_real_files() {
    let Some(real_dir) = data_support::real_data_dir("official_mnist_table_accepts_real_files")
    else {
        return;
    };
    let table = hhlab::data::fetch::official_files(DatasetKind::Mnist);
    let files: HashMap<String, Vec<u8>> = table
        .iter()
        .map(|f| {
            (
                f.name.clone(),
                std::fs::read(real_dir.join("mnist").join(&f.name)).unwrap(),
            )
        })
        .collect();
    let server = TestServer::start(files, Behaviour::Honest);
    let dir = tempfile::tempdir().unwrap();

    let fetched = fetch(
        DatasetKind::Mnist,
        &options(dir.path(), &server.base_url, table),
    )
    .unwrap();

    assert!(fetched
        .iter()
        .all(|f| f.outcome == FetchOutcome::Downloaded { resumed_from: 0 }));
    let train = load_split(dir.path(), DatasetKind::Mnist, Split::Train).unwrap();
    assert_eq!(train.count, 60_000);
}
