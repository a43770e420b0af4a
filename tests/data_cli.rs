//! `hhlab data` end to end: the binary run on generated data folders and a loopback server.

#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is a failed test.

mod data_support;

use std::process::Command;

use data_support::write_split;
use hhlab::data::{DatasetKind, Split};

fn hhlab(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_hhlab"))
        .args(args)
        .env_remove("HHLAB_DATA")
        .output()
        .unwrap()
}

#[test]
fn info_reports_counts_and_missing_data() {
    let dir = tempfile::tempdir().unwrap();
    write_split(dir.path(), DatasetKind::Mnist, Split::Train, 20);
    write_split(dir.path(), DatasetKind::Mnist, Split::Test, 10);
    let data_dir = dir.path().to_str().unwrap();

    let output = hhlab(&["data", "info", "--data-dir", data_dir]);

    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    // Labels of the synthetic split are i % 10, so 20 images give two of each class.
    let train =
        "mnist train: 20 images of 28×28 u8, label counts 0–9 [2, 2, 2, 2, 2, 2, 2, 2, 2, 2]";
    assert!(stdout.contains(train), "{stdout}");
    assert!(stdout.contains("mnist test: 10 images"), "{stdout}");
    let fetch = format!("hhlab data fetch fashion-mnist --data-dir {data_dir}");
    assert!(stdout.contains(&fetch), "{stdout}");
}

#[test]
fn fetch_rejects_files_with_unknown_digest() {
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let port = server.server_addr().to_ip().unwrap().port();
    let (images, _) = data_support::synthetic_split(3);
    let body = data_support::gzip(&images);
    let worker = std::thread::spawn(move || {
        let request = server.recv().unwrap();
        request
            .respond(tiny_http::Response::from_data(body))
            .unwrap();
    });
    let dir = tempfile::tempdir().unwrap();
    let base_url = format!("http://127.0.0.1:{port}/");

    let output = hhlab(&[
        "data",
        "fetch",
        "mnist",
        "--data-dir",
        dir.path().to_str().unwrap(),
        "--base-url",
        &base_url,
        "--no-progress",
    ]);
    worker.join().unwrap();

    assert!(!output.status.success(), "{output:?}");
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("SHA-256 mismatch"), "{stderr}");
    assert!(!dir.path().join("mnist/train-images-idx3-ubyte.gz").exists());
}
