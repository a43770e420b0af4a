//! `hhlab data fetch`: downloads the four IDX files of a dataset, resumably, and verifies them.
//!
//! Each file is streamed into `<name>.part` next to its destination. A `.part` left by an
//! interrupted run is resumed with an HTTP `Range: bytes=N-` request; a server that ignores
//! Range (status 200) or responds with another start offset makes the download restart from
//! byte 0. Only after verification is the `.part` file renamed to its final name, so a file
//! under the official name has always passed the checks below.
//!
//! What is verified, per file:
//! - the SHA-256 digest listed in [`RemoteFile::sha256`]. For MNIST it is the digest of the
//!   decompressed IDX bytes (the official uncompressed files), because the `.gz` bytes differ
//!   between mirrors that recompressed them. For Fashion-MNIST it is the digest of the `.gz`
//!   file as served by Zalando's official bucket, whose MD5 sums the Fashion-MNIST README
//!   publishes (SHA-256 taken from two independent public checksum lists that agree);
//! - the IDX structure: gzip integrity (CRC-32 and length in the trailer), magic number,
//!   dimensions and payload length.
//!
//! When a resumed download fails verification the `.part` is deleted and the file is
//! downloaded once more from byte 0; a second failure is an error and leaves no `.part`.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};

use super::{idx, DataError, DatasetKind, Split};

/// Default download location of MNIST: the copy of the original files on Amazon S3 that
/// torchvision falls back to, because yann.lecun.com has answered scripted downloads with
/// 403 Forbidden.
pub const MNIST_BASE_URL: &str = "https://ossci-datasets.s3.amazonaws.com/mnist/";

/// Default download location of Fashion-MNIST: Zalando's official bucket (HTTP only).
// NOTE: the tests use loopback servers only, so neither default URL is contacted by them.
pub const FASHION_MNIST_BASE_URL: &str =
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/";

/// Chunk size of the streamed copy from the socket to the `.part` file.
const CHUNK_BYTES: usize = 64 * 1024;

/// Characters of an error response body kept in the error message.
const ERROR_BODY_CHARS: usize = 200;

/// Part of a file that a known SHA-256 digest covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestOf {
    /// The bytes of the file as downloaded (the `.gz`).
    Compressed,
    /// The bytes after gzip decompression (the raw IDX file).
    Decompressed,
}

/// One file to download and the digest it must have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteFile {
    /// File name, appended to the base URL and used in the dataset folder.
    pub name: String,
    /// Expected SHA-256 digest, lowercase hex.
    pub sha256: String,
    /// Bytes the digest covers.
    pub digest_of: DigestOf,
}

/// Settings of one `fetch` call.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// Data folder; files go to `data_dir/<dataset>/`.
    pub data_dir: PathBuf,
    /// URL prefix the file names are appended to (a `/` is added when missing).
    pub base_url: String,
    /// Files and their digests; tests replace the official table.
    pub files: Vec<RemoteFile>,
    /// Draw a progress bar on stderr.
    pub show_progress: bool,
}

impl FetchOptions {
    /// Options for the official files of `kind`, from the default location.
    pub fn official(kind: DatasetKind, data_dir: &Path) -> Self {
        FetchOptions {
            data_dir: data_dir.to_path_buf(),
            base_url: default_base_url(kind).to_string(),
            files: official_files(kind),
            show_progress: true,
        }
    }
}

/// Outcome of fetching one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchOutcome {
    /// The file was already there and passed verification; nothing was downloaded.
    AlreadyPresent,
    /// The file was downloaded; `resumed_from` is the `.part` length the final attempt
    /// started from (0 for a full download).
    Downloaded {
        /// Bytes already on disk when the final attempt started.
        resumed_from: u64,
    },
}

/// Result of fetching one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedFile {
    /// Final path of the file.
    pub path: PathBuf,
    /// Whether it was downloaded or already present.
    pub outcome: FetchOutcome,
}

/// Returns the default base URL of `kind`.
pub fn default_base_url(kind: DatasetKind) -> &'static str {
    match kind {
        DatasetKind::Mnist => MNIST_BASE_URL,
        DatasetKind::FashionMnist => FASHION_MNIST_BASE_URL,
    }
}

/// Returns the four official files of `kind` with their known SHA-256 digests.
pub fn official_files(kind: DatasetKind) -> Vec<RemoteFile> {
    // MNIST: digests of the uncompressed official IDX files.
    // Fashion-MNIST: digests of the .gz files served by Zalando's official bucket.
    let (digests, digest_of) = match kind {
        DatasetKind::Mnist => (
            [
                "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
                "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
                "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
                "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
            ],
            DigestOf::Decompressed,
        ),
        DatasetKind::FashionMnist => (
            [
                "08dc20ab1689590a0bcd66e874647b6ee8464e2d501b5a3f1f78831db19a3fdc",
                "b0197879cbda89f3dc7b894f9fd52b858e68ea4182b6947c9d8c2b67e5f18dcc",
                "78dcbbfb5a27efaf1b6c1d616caca68560be8766c5bffcb2791df9273a534229",
                "42bd18137a62d5998cdeae52bf3a0676ac6b706f5cf8439b47bb5b151ae3dccf",
            ],
            DigestOf::Compressed,
        ),
    };
    let names = Split::ALL
        .iter()
        .flat_map(|split| [split.images_file(), split.labels_file()]);
    names
        .zip(digests)
        .map(|(name, sha256)| RemoteFile {
            name,
            sha256: sha256.to_string(),
            digest_of,
        })
        .collect()
}

/// Downloads and verifies every file of `options.files` into `data_dir/<kind>/`, skipping
/// files that are already present and valid.
pub fn fetch(kind: DatasetKind, options: &FetchOptions) -> Result<Vec<FetchedFile>, DataError> {
    let folder = kind.folder(&options.data_dir);
    std::fs::create_dir_all(&folder)
        .map_err(|source| DataError::io("create folder", &folder, source))?;
    let agent = build_agent();

    let mut fetched = Vec::with_capacity(options.files.len());
    for file in &options.files {
        let path = folder.join(&file.name);
        let url = join_url(&options.base_url, &file.name);
        let outcome = fetch_file(&agent, &url, &path, file, options.show_progress)?;
        fetched.push(FetchedFile { path, outcome });
    }
    Ok(fetched)
}

/// Checks a file against its digest and its IDX structure.
pub fn verify_file(path: &Path, file: &RemoteFile) -> Result<(), DataError> {
    let raw = std::fs::read(path).map_err(|source| DataError::io("read", path, source))?;
    if file.digest_of == DigestOf::Compressed {
        check_digest(&raw, file, path, "compressed file")?;
    }

    let bytes = idx::decompress_if_gzip(raw, path)?;
    if file.digest_of == DigestOf::Decompressed {
        check_digest(&bytes, file, path, "decompressed content")?;
    }

    if file.name.contains("-labels-") {
        idx::parse_labels(bytes, path)?;
    } else {
        idx::parse_images(bytes, path)?;
    }
    Ok(())
}

/// Returns the SHA-256 digest of `bytes` as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn check_digest(
    bytes: &[u8],
    file: &RemoteFile,
    path: &Path,
    content: &'static str,
) -> Result<(), DataError> {
    let found = sha256_hex(bytes);
    if found.eq_ignore_ascii_case(&file.sha256) {
        return Ok(());
    }
    Err(DataError::ChecksumMismatch {
        path: path.to_path_buf(),
        content,
        expected: file.sha256.to_lowercase(),
        found,
    })
}

fn fetch_file(
    agent: &ureq::Agent,
    url: &str,
    path: &Path,
    file: &RemoteFile,
    show_progress: bool,
) -> Result<FetchOutcome, DataError> {
    if path.is_file() {
        match verify_file(path, file) {
            Ok(()) => {
                tracing::info!("{} is present and verified", path.display());
                return Ok(FetchOutcome::AlreadyPresent);
            }
            Err(err) => tracing::warn!("downloading again, existing file is invalid: {err}"),
        }
    }

    let part = part_path(path);
    let resumed_from = download(agent, url, &part, &file.name, show_progress)?;
    let verified = verify_file(&part, file);
    let resumed_from = match verified {
        Ok(()) => resumed_from,
        Err(err) if resumed_from > 0 => {
            // The old .part may hold bytes of another version of the file: start over once.
            tracing::warn!("resumed download is invalid, downloading from the start: {err}");
            remove_part(&part)?;
            download(agent, url, &part, &file.name, show_progress)?;
            verify_or_discard(&part, file)?;
            0
        }
        Err(err) => {
            remove_part(&part)?;
            return Err(err);
        }
    };

    std::fs::rename(&part, path)
        .map_err(|source| DataError::io("rename .part file", &part, source))?;
    tracing::info!("downloaded and verified {}", path.display());
    Ok(FetchOutcome::Downloaded { resumed_from })
}

fn verify_or_discard(part: &Path, file: &RemoteFile) -> Result<(), DataError> {
    verify_file(part, file).or_else(|err| {
        remove_part(part)?;
        Err(err)
    })
}

/// Downloads `url` into `part`, resuming from its current length; returns the offset the
/// download started from. A 416 response to a resume means the `.part` is already complete
/// (or larger than the file); verification decides which.
fn download(
    agent: &ureq::Agent,
    url: &str,
    part: &Path,
    label: &str,
    show_progress: bool,
) -> Result<u64, DataError> {
    let offset = std::fs::metadata(part).map(|m| m.len()).unwrap_or(0);
    let mut request = agent.get(url);
    if offset > 0 {
        request = request.header("Range", format!("bytes={offset}-"));
    }
    let response = request.call().map_err(|source| http_error(url, source))?;

    let status = response.status().as_u16();
    let content_range = response
        .headers()
        .get("content-range")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let start = match status {
        206 if offset > 0 && range_start(content_range.as_deref()) == Some(offset) => offset,
        206 if offset > 0 => {
            // A partial body from another offset cannot be appended: ask for the whole file.
            tracing::warn!("server resumed at {content_range:?}, not byte {offset}; restarting");
            drop(response);
            remove_part(part)?;
            return download(agent, url, part, label, show_progress);
        }
        200 => {
            if offset > 0 {
                tracing::warn!("server ignored the Range request, restarting {url}");
            }
            0
        }
        416 if offset > 0 => return Ok(offset),
        _ => return Err(status_error(url, response)),
    };

    let mut out = if start > 0 {
        OpenOptions::new().append(true).open(part)
    } else {
        File::create(part)
    }
    .map_err(|source| DataError::io("open .part file", part, source))?;

    let length = response.body().content_length().map(|n| n + start);
    let progress = progress_bar(length, start, label, show_progress);
    let mut reader = response.into_body().into_reader();
    let mut buffer = vec![0u8; CHUNK_BYTES];
    loop {
        let n = match reader.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(err) => {
                progress.abandon();
                // Bytes written so far stay in the .part file for the next run to resume.
                return Err(http_error(url, ureq::Error::Io(err)));
            }
        };
        out.write_all(&buffer[..n])
            .map_err(|source| DataError::io("write .part file", part, source))?;
        progress.inc(n as u64);
    }
    out.flush()
        .map_err(|source| DataError::io("write .part file", part, source))?;
    progress.finish();
    Ok(start)
}

/// Returns START of a `Content-Range: bytes START-END/TOTAL` header.
fn range_start(content_range: Option<&str>) -> Option<u64> {
    let spec = content_range?.trim().strip_prefix("bytes")?.trim_start();
    spec.split('-').next()?.trim().parse().ok()
}

fn status_error(url: &str, response: ureq::http::Response<ureq::Body>) -> DataError {
    let status = response.status();
    let mut body = String::new();
    // A body that cannot be read still leaves the status code, which is the main fact.
    let _ = response
        .into_body()
        .into_reader()
        .take(4 * ERROR_BODY_CHARS as u64)
        .read_to_string(&mut body);
    let body: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
    let body: String = body.chars().take(ERROR_BODY_CHARS).collect();
    let mut reason = status.canonical_reason().unwrap_or("").to_string();
    if !body.is_empty() {
        reason = format!("{reason}: {body}");
    }
    DataError::HttpStatus {
        url: url.to_string(),
        status: status.as_u16(),
        reason,
    }
}

fn http_error(url: &str, source: ureq::Error) -> DataError {
    DataError::Http {
        url: url.to_string(),
        source: Box::new(source),
    }
}

fn build_agent() -> ureq::Agent {
    // Status codes are handled here (206, 200, 416), and no Accept-Encoding is sent so that
    // byte ranges refer to the file as stored.
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .accept_encoding("")
        .timeout_connect(Some(Duration::from_secs(30)))
        .timeout_recv_response(Some(Duration::from_secs(60)))
        // NOTE: ureq 3 has no idle timeout per read, so a stalled body waits up to this budget.
        .timeout_recv_body(Some(Duration::from_secs(3600)))
        .build();
    ureq::Agent::new_with_config(config)
}

fn progress_bar(length: Option<u64>, start: u64, label: &str, show: bool) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = match length {
        Some(total) => ProgressBar::new(total),
        None => ProgressBar::no_length(),
    };
    let template = "{msg:28} [{bar:32}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}";
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(label.to_string());
    bar.set_position(start);
    bar
}

fn join_url(base: &str, name: &str) -> String {
    if base.ends_with('/') {
        format!("{base}{name}")
    } else {
        format!("{base}/{name}")
    }
}

fn part_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".part");
    path.with_file_name(name)
}

fn remove_part(part: &Path) -> Result<(), DataError> {
    match std::fs::remove_file(part) {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
            Err(DataError::io("delete .part file", part, err))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_start_parses_header() {
        assert_eq!(range_start(Some("bytes 100-199/200")), Some(100));
        assert_eq!(range_start(Some("bytes */200")), None);
        assert_eq!(range_start(None), None);
    }

    #[test]
    fn official_table_has_four_files() {
        for kind in DatasetKind::ALL {
            let files = official_files(kind);
            let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
            assert_eq!(
                names,
                [
                    "train-images-idx3-ubyte.gz",
                    "train-labels-idx1-ubyte.gz",
                    "t10k-images-idx3-ubyte.gz",
                    "t10k-labels-idx1-ubyte.gz"
                ]
            );
            assert!(files.iter().all(|f| f.sha256.len() == 64));
        }
    }

    #[test]
    fn sha256_of_empty_input() {
        // The SHA-256 of the empty string, from FIPS 180-4 test vectors.
        let expected = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(sha256_hex(b""), expected);
    }
}
