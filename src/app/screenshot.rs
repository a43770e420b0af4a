//! PNG export of the window: the user's "Save PNG" button and the scripted `--screenshot`
//! option both go through [`ScreenshotSaver`].
//!
//! eframe reads the window's pixels after the frame that requested them has been painted and
//! hands them to a callback on its own thread; the callback writes the PNG and sends the
//! outcome back over a channel that the app drains each frame, so a slow disk never stalls
//! the UI and a failed write becomes a message, not a panic.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender};
use egui::{ColorImage, Context};

/// Outcomes kept in the channel at most; a user cannot click faster than this drains.
const CHANNEL_CAPACITY: usize = 16;

/// Errors of writing a window image.
#[derive(Debug, thiserror::Error)]
pub enum ScreenshotError {
    /// Occurs when the folder cannot be created or the file cannot be written.
    #[error("cannot write {path}: {source}; choose a folder you can write to")]
    Write {
        /// The PNG path.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Occurs when the image encoder fails.
    #[error("cannot encode {path} as PNG: {source}")]
    Encode {
        /// The PNG path.
        path: PathBuf,
        /// The encoder's error.
        source: image::ImageError,
    },
}

/// The outcome of one screenshot request.
#[derive(Debug)]
pub struct ScreenshotOutcome {
    /// Where the PNG was meant to go.
    pub path: PathBuf,
    /// `Ok` when the file was written.
    pub result: Result<(), ScreenshotError>,
    /// Whether the app should close after this screenshot (scripted screenshots).
    pub close_after: bool,
}

/// Requests window screenshots and collects their outcomes.
pub struct ScreenshotSaver {
    sender: Sender<ScreenshotOutcome>,
    receiver: Receiver<ScreenshotOutcome>,
    /// Requests sent whose outcome has not arrived yet.
    pub pending: usize,
}

impl Default for ScreenshotSaver {
    fn default() -> Self {
        let (sender, receiver) = crossbeam_channel::bounded(CHANNEL_CAPACITY);
        Self {
            sender,
            receiver,
            pending: 0,
        }
    }
}

impl ScreenshotSaver {
    /// Asks eframe for the window's pixels and writes them to `path` when they arrive.
    pub fn request(&mut self, ctx: &Context, path: PathBuf, close_after: bool) {
        let sender = self.sender.clone();
        let repaint_ctx = ctx.clone();
        self.pending += 1;
        ctx.request_screenshot(move |image: Arc<ColorImage>| {
            let result = save_png(&image, &path);
            let outcome = ScreenshotOutcome {
                path,
                result,
                close_after,
            };
            if sender.try_send(outcome).is_err() {
                tracing::warn!("screenshot outcome dropped: the channel is full");
            }
            repaint_ctx.request_repaint();
        });
    }

    /// Returns the outcomes that arrived since the last call.
    pub fn drain(&mut self) -> Vec<ScreenshotOutcome> {
        let outcomes: Vec<_> = self.receiver.try_iter().collect();
        self.pending = self.pending.saturating_sub(outcomes.len());
        outcomes
    }
}

/// Writes `image` to `path` as an RGBA PNG, creating the parent folder when missing.
pub fn save_png(image: &ColorImage, path: &Path) -> Result<(), ScreenshotError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|source| ScreenshotError::Write {
            path: path.to_path_buf(),
            source,
        })?;
    }
    let [width, height] = image.size;
    let bytes: Vec<u8> = image
        .pixels
        .iter()
        .flat_map(|c| c.to_srgba_unmultiplied())
        .collect();
    let buffer = image::RgbaImage::from_raw(width as u32, height as u32, bytes);
    let Some(buffer) = buffer else {
        return Err(ScreenshotError::Write {
            path: path.to_path_buf(),
            source: std::io::Error::other("pixel count does not match the image size"),
        });
    };
    buffer.save(path).map_err(|source| match source {
        image::ImageError::IoError(source) => ScreenshotError::Write {
            path: path.to_path_buf(),
            source,
        },
        other => ScreenshotError::Encode {
            path: path.to_path_buf(),
            source: other,
        },
    })?;
    tracing::info!(path = %path.display(), "window saved as PNG");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_round_trips_pixels() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("sub").join("w.png");
        let image = ColorImage::new([2, 1], vec![egui::Color32::RED, egui::Color32::BLUE]);
        save_png(&image, &path).expect("write");
        let back = image::open(&path).expect("read").to_rgba8();
        assert_eq!(back.dimensions(), (2, 1));
        assert_eq!(back.get_pixel(0, 0).0, [255, 0, 0, 255]);
        assert_eq!(back.get_pixel(1, 0).0, [0, 0, 255, 255]);
    }

    #[test]
    fn unwritable_path_names_the_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, b"x").expect("write blocker");
        let path = blocker.join("w.png");
        let image = ColorImage::new([1, 1], vec![egui::Color32::RED]);
        let error = save_png(&image, &path).expect_err("a file is not a folder");
        assert!(error.to_string().contains("w.png"), "{error}");
    }
}
