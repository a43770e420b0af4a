//! Reader for the IDX format used by MNIST and Fashion-MNIST, raw or gzip-compressed.
//!
//! An IDX file is a big-endian header followed by a row-major payload of u8 values:
//!
//! - images: magic 0x00000803 (u8, three dimensions), then count, rows, cols as u32;
//!   payload count × rows × cols bytes, one byte per pixel (0 = background, 255 = ink);
//! - labels: magic 0x00000801 (u8, one dimension), then count as u32; payload count bytes.
//!
//! A file is gzip-compressed when it starts with the bytes 1f 8b, whatever its name. The reader
//! checks the magic number, the dimensions and that the payload length equals what the header
//! declares, so truncated downloads and files with trailing bytes are rejected.

use std::io::Read;
use std::path::Path;

use flate2::read::MultiGzDecoder;

use super::DataError;

/// Magic number of an IDX file of u8 values with three dimensions (images).
pub const IMAGES_MAGIC: u32 = 0x0000_0803;

/// Magic number of an IDX file of u8 values with one dimension (labels).
pub const LABELS_MAGIC: u32 = 0x0000_0801;

/// The two bytes every gzip stream starts with.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Header length of an image file: magic, count, rows, cols.
const IMAGES_HEADER_BYTES: usize = 16;

/// Header length of a label file: magic, count.
const LABELS_HEADER_BYTES: usize = 8;

/// Images decoded from one IDX file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxImages {
    /// Number of images.
    pub count: usize,
    /// Rows per image.
    pub rows: usize,
    /// Columns per image.
    pub cols: usize,
    /// Pixels, image after image, each row-major; length count × rows × cols.
    pub pixels: Vec<u8>,
}

/// Reads and checks an IDX image file (gzip or raw).
pub fn read_images(path: &Path) -> Result<IdxImages, DataError> {
    let bytes = read_decompressed(path)?;
    parse_images(bytes, path)
}

/// Reads and checks an IDX label file (gzip or raw); returns one label per item.
pub fn read_labels(path: &Path) -> Result<Vec<u8>, DataError> {
    let bytes = read_decompressed(path)?;
    parse_labels(bytes, path)
}

/// Reads a file and decompresses it when it starts with the gzip magic bytes.
pub fn read_decompressed(path: &Path) -> Result<Vec<u8>, DataError> {
    let raw = std::fs::read(path).map_err(|source| DataError::io("read", path, source))?;
    decompress_if_gzip(raw, path)
}

/// Decompresses `raw` when it starts with the gzip magic bytes and returns it unchanged
/// otherwise; `path` only names the origin in errors.
pub fn decompress_if_gzip(raw: Vec<u8>, path: &Path) -> Result<Vec<u8>, DataError> {
    if !raw.starts_with(&GZIP_MAGIC) {
        return Ok(raw);
    }

    // The gzip trailer stores the uncompressed size modulo 2^32, which is exact for these
    // files (the largest is 47 MB), so the output buffer is allocated once.
    let size_hint = match raw.len() {
        len if len >= 4 => {
            let tail = [raw[len - 4], raw[len - 3], raw[len - 2], raw[len - 1]];
            u32::from_le_bytes(tail) as usize
        }
        _ => 0,
    };
    let mut out = Vec::with_capacity(size_hint.min(1 << 30));
    MultiGzDecoder::new(raw.as_slice())
        .read_to_end(&mut out)
        .map_err(|source| DataError::Gzip {
            path: path.to_path_buf(),
            source,
        })?;
    Ok(out)
}

/// Parses decompressed IDX image bytes; `path` only names the origin in errors.
pub fn parse_images(mut bytes: Vec<u8>, path: &Path) -> Result<IdxImages, DataError> {
    let header = read_header(&bytes, path, IMAGES_HEADER_BYTES)?;
    check_magic(header[0], IMAGES_MAGIC, "images", path)?;
    let [_, count, rows, cols] = [header[0], header[1], header[2], header[3]].map(|v| v as usize);

    if rows == 0 || cols == 0 {
        return Err(DataError::BadDimensions {
            path: path.to_path_buf(),
            message: format!("expected non-zero rows and columns, found {rows}×{cols}"),
        });
    }
    let expected = count
        .checked_mul(rows)
        .and_then(|n| n.checked_mul(cols))
        .ok_or_else(|| DataError::BadDimensions {
            path: path.to_path_buf(),
            message: format!("{count} images of {rows}×{cols} overflow the address space"),
        })?;
    check_payload(bytes.len() - IMAGES_HEADER_BYTES, expected, count, path)?;

    // Dropping the header in place moves the payload once instead of copying it.
    bytes.drain(..IMAGES_HEADER_BYTES);
    Ok(IdxImages {
        count,
        rows,
        cols,
        pixels: bytes,
    })
}

/// Parses decompressed IDX label bytes; `path` only names the origin in errors.
pub fn parse_labels(mut bytes: Vec<u8>, path: &Path) -> Result<Vec<u8>, DataError> {
    let header = read_header(&bytes, path, LABELS_HEADER_BYTES)?;
    check_magic(header[0], LABELS_MAGIC, "labels", path)?;
    let count = header[1] as usize;
    check_payload(bytes.len() - LABELS_HEADER_BYTES, count, count, path)?;

    bytes.drain(..LABELS_HEADER_BYTES);
    Ok(bytes)
}

/// Returns the big-endian u32 words of a header of `header_bytes` bytes.
fn read_header(bytes: &[u8], path: &Path, header_bytes: usize) -> Result<Vec<u32>, DataError> {
    if bytes.len() < header_bytes {
        return Err(DataError::HeaderTooShort {
            path: path.to_path_buf(),
            expected: header_bytes,
            found: bytes.len(),
        });
    }
    let words = bytes[..header_bytes]
        .chunks_exact(4)
        .map(|w| u32::from_be_bytes([w[0], w[1], w[2], w[3]]))
        .collect();
    Ok(words)
}

fn check_magic(
    found: u32,
    expected: u32,
    file_kind: &'static str,
    path: &Path,
) -> Result<(), DataError> {
    if found == expected {
        return Ok(());
    }
    Err(DataError::BadMagic {
        path: path.to_path_buf(),
        file_kind,
        expected,
        found,
    })
}

fn check_payload(
    found: usize,
    expected: usize,
    items: usize,
    path: &Path,
) -> Result<(), DataError> {
    if found == expected {
        return Ok(());
    }
    Err(DataError::LengthMismatch {
        path: path.to_path_buf(),
        items,
        expected,
        found,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn images_bytes(count: u32, rows: u32, cols: u32, payload: &[u8]) -> Vec<u8> {
        let mut bytes = Vec::new();
        for word in [IMAGES_MAGIC, count, rows, cols] {
            bytes.extend_from_slice(&word.to_be_bytes());
        }
        bytes.extend_from_slice(payload);
        bytes
    }

    #[test]
    fn images_parse_dimensions_and_pixels() {
        let payload: Vec<u8> = (0..12).collect();
        let images = parse_images(images_bytes(3, 2, 2, &payload), Path::new("x")).unwrap();
        assert_eq!((images.count, images.rows, images.cols), (3, 2, 2));
        assert_eq!(images.pixels, payload);
    }

    #[test]
    fn images_reject_trailing_bytes() {
        let err = parse_images(images_bytes(1, 2, 2, &[0; 5]), Path::new("x")).unwrap_err();
        assert!(matches!(
            err,
            DataError::LengthMismatch {
                expected: 4,
                found: 5,
                ..
            }
        ));
    }

    #[test]
    fn images_reject_zero_rows() {
        let err = parse_images(images_bytes(1, 0, 2, &[]), Path::new("x")).unwrap_err();
        assert!(matches!(err, DataError::BadDimensions { .. }));
    }

    #[test]
    fn labels_reject_short_header() {
        let err = parse_labels(vec![0, 0, 8, 1, 0], Path::new("x")).unwrap_err();
        assert!(matches!(
            err,
            DataError::HeaderTooShort {
                expected: 8,
                found: 5,
                ..
            }
        ));
    }

    #[test]
    fn raw_bytes_pass_through_unchanged() {
        let raw = vec![0, 0, 8, 1];
        assert_eq!(
            decompress_if_gzip(raw.clone(), Path::new("x")).unwrap(),
            raw
        );
    }
}
