//! The photo pipeline: prove an upload is an image, hold it to limits, and
//! render what the app shows — the picture re-encoded (which drops EXIF and
//! GPS data), a screen-size preview and a thumbnail — all JPEG. Pure and
//! blocking: callers run it off the async runtime (`spawn_blocking`).
//!
//! Two steps, so the upload can answer fast and a background job does the
//! heavy part: `inspect` reads only the header (format, dimensions, limits);
//! `render` decodes, turns the picture upright (EXIF orientation) and encodes
//! the variants.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};

/// Largest upload, in bytes.
pub const MAX_PHOTO_BYTES: usize = 15 * 1024 * 1024;
/// Most pixels a photo may declare (a 48 MP phone camera fits); more is
/// refused before anything is decoded, which stops decompression bombs.
pub const MAX_PIXELS: u64 = 50_000_000;
/// Longest side of any dimension.
pub const MAX_SIDE: u32 = 16_384;
/// Longest side of the variants.
pub const FULL_SIDE: u32 = 2_560;
pub const PREVIEW_SIDE: u32 = 1_280;
pub const THUMB_SIDE: u32 = 320;
const JPEG_QUALITY: u8 = 85;

#[derive(Debug, PartialEq, thiserror::Error)]
pub enum PhotoError {
    #[error("the photo is larger than {} MB", MAX_PHOTO_BYTES / 1024 / 1024)]
    TooLarge,
    #[error("this is not a JPEG, PNG or WebP image")]
    NotAnImage,
    #[error("the image is {0}×{1} pixels, more than allowed")]
    TooManyPixels(u32, u32),
    #[error("the image is damaged or truncated")]
    Damaged,
}

/// What the header says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Inspected {
    pub format: ImageFormat,
    pub width: u32,
    pub height: u32,
}

/// The rendered variants (JPEG bytes) and the upright dimensions.
pub struct Rendered {
    pub width: u32,
    pub height: u32,
    pub full: Vec<u8>,
    pub preview: Vec<u8>,
    pub thumb: Vec<u8>,
}

fn reader(bytes: &[u8]) -> Result<ImageReader<Cursor<&[u8]>>, PhotoError> {
    let mut reader = ImageReader::new(Cursor::new(bytes)).with_guessed_format().map_err(|_| PhotoError::NotAnImage)?;
    match reader.format() {
        Some(ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP) => {}
        _ => return Err(PhotoError::NotAnImage),
    }
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    // Decoded RGBA of the largest allowed picture, plus headroom.
    limits.max_alloc = Some(MAX_PIXELS * 4 + 64 * 1024 * 1024);
    reader.limits(limits);
    Ok(reader)
}

/// Checks size, format (by content, not by name) and declared dimensions.
pub fn inspect(bytes: &[u8]) -> Result<Inspected, PhotoError> {
    if bytes.len() > MAX_PHOTO_BYTES {
        return Err(PhotoError::TooLarge);
    }
    let reader = reader(bytes)?;
    let format = reader.format().ok_or(PhotoError::NotAnImage)?;
    let (width, height) = reader.into_dimensions().map_err(|e| classify(&e))?;
    if width == 0
        || height == 0
        || width > MAX_SIDE
        || height > MAX_SIDE
        || u64::from(width) * u64::from(height) > MAX_PIXELS
    {
        return Err(PhotoError::TooManyPixels(width, height));
    }
    if !is_complete(bytes, format) {
        return Err(PhotoError::Damaged);
    }
    Ok(Inspected { format, width, height })
}

fn classify(e: &image::ImageError) -> PhotoError {
    match e {
        image::ImageError::Limits(_) => PhotoError::TooManyPixels(0, 0),
        image::ImageError::Unsupported(_) => PhotoError::NotAnImage,
        _ => PhotoError::Damaged,
    }
}

/// Whether the file reaches its format's end marker, so a cut-off upload
/// is refused at once instead of failing later in the render job (and the
/// JPEG decoder would fill a cut-off picture with grey instead of failing).
fn is_complete(bytes: &[u8], format: ImageFormat) -> bool {
    match format {
        // The end-of-image marker after the image data (data appended
        // after it, as in motion photos, is fine).
        ImageFormat::Jpeg => {
            let Some(scan) = bytes.windows(2).position(|w| w == [0xFF, 0xDA]) else { return false };
            bytes[scan..].windows(2).any(|w| w == [0xFF, 0xD9])
        }
        ImageFormat::Png => bytes.windows(4).any(|w| w == b"IEND"),
        // The RIFF header's size of the rest of the file.
        ImageFormat::WebP => bytes
            .get(4..8)
            .and_then(|b| b.try_into().ok())
            .is_some_and(|size: [u8; 4]| bytes.len() >= u32::from_le_bytes(size) as usize + 8),
        _ => false,
    }
}

/// Decodes the whole picture and renders the variants.
pub fn render(bytes: &[u8]) -> Result<Rendered, PhotoError> {
    inspect(bytes)?;
    let mut decoder = reader(bytes)?.into_decoder().map_err(|e| classify(&e))?;
    let orientation = decoder.orientation().ok();
    let mut picture = DynamicImage::from_decoder(decoder).map_err(|e| classify(&e))?;
    if let Some(orientation) = orientation {
        picture.apply_orientation(orientation);
    }
    let full = fit(&picture, FULL_SIDE);
    Ok(Rendered {
        width: full.width(),
        height: full.height(),
        full: jpeg(&full)?,
        preview: jpeg(&fit(&picture, PREVIEW_SIDE))?,
        thumb: jpeg(&fit(&picture, THUMB_SIDE))?,
    })
}

/// The picture scaled down (never up) to fit a `side`×`side` box.
fn fit(picture: &DynamicImage, side: u32) -> DynamicImage {
    if picture.width() <= side && picture.height() <= side {
        return picture.clone();
    }
    picture.thumbnail(side, side)
}

/// Baseline JPEG without any metadata.
fn jpeg(picture: &DynamicImage) -> Result<Vec<u8>, PhotoError> {
    let mut out = Vec::new();
    let rgb = picture.to_rgb8();
    JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY).encode_image(&rgb).map_err(|_| PhotoError::Damaged)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgb, RgbImage};

    fn encoded(width: u32, height: u32, format: ImageFormat) -> Vec<u8> {
        let picture = RgbImage::from_fn(width, height, |x, y| Rgb([(x % 256) as u8, (y % 256) as u8, 128]));
        let mut out = Cursor::new(Vec::new());
        DynamicImage::ImageRgb8(picture).write_to(&mut out, format).expect("encodes");
        out.into_inner()
    }

    /// A JPEG with an EXIF segment (APP1) holding a GPS marker and an
    /// orientation of 6 (rotate 90° clockwise), inserted after SOI.
    fn jpeg_with_exif(width: u32, height: u32) -> Vec<u8> {
        let plain = encoded(width, height, ImageFormat::Jpeg);
        // TIFF header (little endian), one IFD entry: Orientation (0x0112) SHORT 1 = 6.
        let mut tiff = b"II*\0\x08\0\0\0\x01\0\x12\x01\x03\0\x01\0\0\0\x06\0\0\0\0\0\0\0".to_vec();
        tiff.extend_from_slice(b"GPSLatitude 48.8566 secret");
        let mut app1 = b"Exif\0\0".to_vec();
        app1.extend_from_slice(&tiff);
        let length = (app1.len() + 2) as u16;
        let mut out = vec![0xFF, 0xD8, 0xFF, 0xE1];
        out.extend_from_slice(&length.to_be_bytes());
        out.extend_from_slice(&app1);
        out.extend_from_slice(&plain[2..]);
        out
    }

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn jpeg_png_and_webp_are_accepted_and_rendered_in_three_sizes() {
        for format in [ImageFormat::Jpeg, ImageFormat::Png, ImageFormat::WebP] {
            let bytes = encoded(3000, 2000, format);
            let seen = inspect(&bytes).expect("an image");
            assert_eq!((seen.format, seen.width, seen.height), (format, 3000, 2000));
            let rendered = render(&bytes).expect("renders");
            assert_eq!((rendered.width, rendered.height), (FULL_SIDE, 1707));
            let thumb = image::load_from_memory(&rendered.thumb).expect("thumb decodes");
            assert_eq!((thumb.width(), thumb.height()), (THUMB_SIDE, 213));
            let preview = image::load_from_memory(&rendered.preview).expect("preview decodes");
            assert_eq!(preview.width(), PREVIEW_SIDE);
        }
    }

    #[test]
    fn exif_and_gps_data_are_gone_and_the_picture_is_upright() {
        let bytes = jpeg_with_exif(400, 200);
        assert!(contains(&bytes, b"GPSLatitude"));
        let rendered = render(&bytes).expect("renders");
        for variant in [&rendered.full, &rendered.preview, &rendered.thumb] {
            assert!(!contains(variant, b"Exif") && !contains(variant, b"GPSLatitude"));
        }
        assert_eq!((rendered.width, rendered.height), (200, 400), "orientation 6 turns it upright");
    }

    #[test]
    fn non_images_damaged_images_and_bombs_are_refused() {
        assert_eq!(inspect(b"<html>not a photo</html>"), Err(PhotoError::NotAnImage));
        assert_eq!(inspect(b"GIF89a\x01\0\x01\0\0\0\0;"), Err(PhotoError::NotAnImage), "GIF is not accepted");
        for (format, name) in [(ImageFormat::Jpeg, "JPEG"), (ImageFormat::Png, "PNG"), (ImageFormat::WebP, "WebP")] {
            let whole = encoded(600, 400, format);
            let cut = &whole[..whole.len() / 2];
            assert_eq!(inspect(cut), Err(PhotoError::Damaged), "a truncated {name} is refused before decoding");
            assert!(matches!(render(cut), Err(PhotoError::Damaged)));
        }
        // A 12,000 × 12,000 PNG of one colour is tiny on disk and 576 MB decoded.
        let bomb = {
            let picture = image::GrayImage::new(12_000, 12_000);
            let mut out = Cursor::new(Vec::new());
            DynamicImage::ImageLuma8(picture).write_to(&mut out, ImageFormat::Png).expect("encodes");
            out.into_inner()
        };
        assert!(bomb.len() < 1_000_000);
        assert_eq!(inspect(&bomb), Err(PhotoError::TooManyPixels(12_000, 12_000)));
        assert!(render(&bomb).is_err());
        assert_eq!(inspect(&vec![0; MAX_PHOTO_BYTES + 1]), Err(PhotoError::TooLarge));
    }
}
