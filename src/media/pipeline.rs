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

use fast_image_resize::{FilterType, ResizeAlg, ResizeOptions, Resizer};
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits, RgbImage};

use crate::codes::Code;
use crate::error::AppError;

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

impl PhotoError {
    /// Its code in the one table (`crate::codes`).
    pub fn code(&self) -> Code {
        match self {
            Self::TooLarge => Code::PayloadTooLarge,
            Self::NotAnImage => Code::NotAnImage,
            Self::TooManyPixels(..) => Code::ImageTooLarge,
            Self::Damaged => Code::ImageDamaged,
        }
    }
}

impl From<PhotoError> for AppError {
    fn from(e: PhotoError) -> Self {
        AppError::Coded { code: e.code(), message: e.to_string(), retry_after: None }
    }
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

/// Most bytes a picture may decode to (50 MP of 8-bit RGBA; a 16-bit or
/// float picture must be smaller).
const MAX_DECODED_BYTES: u64 = MAX_PIXELS * 4;

fn reader(bytes: &[u8]) -> Result<ImageReader<Cursor<&[u8]>>, PhotoError> {
    let mut reader = ImageReader::new(Cursor::new(bytes)).with_guessed_format().map_err(|_| PhotoError::NotAnImage)?;
    match reader.format() {
        Some(ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP) => {}
        _ => return Err(PhotoError::NotAnImage),
    }
    // Sides and pixel counts are checked by `inspect` (with the real
    // numbers in the error); this bounds the decoders' own allocations.
    let mut limits = Limits::default();
    limits.max_alloc = Some(MAX_DECODED_BYTES + 64 * 1024 * 1024);
    reader.limits(limits);
    Ok(reader)
}

/// Checks size, format (by content, not by name), declared dimensions and
/// decoded size, and that the file is not cut off — all from the headers,
/// before anything is decoded.
pub fn inspect(bytes: &[u8]) -> Result<Inspected, PhotoError> {
    if bytes.len() > MAX_PHOTO_BYTES {
        return Err(PhotoError::TooLarge);
    }
    let reader = reader(bytes)?;
    let format = reader.format().ok_or(PhotoError::NotAnImage)?;
    let decoder = reader.into_decoder().map_err(|e| classify(&e))?;
    let (width, height) = decoder.dimensions();
    if width == 0
        || height == 0
        || width > MAX_SIDE
        || height > MAX_SIDE
        || u64::from(width) * u64::from(height) > MAX_PIXELS
        || decoder.total_bytes() > MAX_DECODED_BYTES
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

/// Whether the file reaches its format's end, so a cut-off upload is
/// refused at once instead of failing later in the render job (and the
/// JPEG decoder would fill a cut-off picture with grey instead of failing).
fn is_complete(bytes: &[u8], format: ImageFormat) -> bool {
    match format {
        ImageFormat::Jpeg => jpeg_is_complete(bytes),
        ImageFormat::Png => png_is_complete(bytes),
        // The RIFF header's size of the rest of the file.
        ImageFormat::WebP => bytes
            .get(4..8)
            .and_then(|b| b.try_into().ok())
            .is_some_and(|size: [u8; 4]| bytes.len() >= u32::from_le_bytes(size) as usize + 8),
        _ => false,
    }
}

/// Walks the marker segments from the start of image to the first scan
/// (skipping each by its length, so the complete JPEG thumbnail inside an
/// EXIF segment is never mistaken for the picture), then looks for the end
/// of image after it: inside scan data a 0xFF byte is always followed by
/// 0x00 or a restart marker, so 0xFF 0xD9 there is the real end.
fn jpeg_is_complete(bytes: &[u8]) -> bool {
    let mut at = 2;
    loop {
        let (Some(&0xFF), Some(&marker)) = (bytes.get(at), bytes.get(at + 1)) else { return false };
        match marker {
            0xFF => at += 1,
            0x01 | 0xD0..=0xD7 => at += 2,
            _ => {
                let Some(length) = bytes.get(at + 2..at + 4).map(|l| usize::from(u16::from_be_bytes([l[0], l[1]])))
                else {
                    return false;
                };
                let segment_end = at + 2 + length;
                if marker == 0xDA {
                    return bytes.get(segment_end..).is_some_and(|scan| scan.windows(2).any(|w| w == [0xFF, 0xD9]));
                }
                at = segment_end;
            }
        }
    }
}

/// Walks the chunks (length, type, data, CRC) up to `IEND`.
fn png_is_complete(bytes: &[u8]) -> bool {
    let mut at = 8;
    while let Some(header) = bytes.get(at..at + 8) {
        let length = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let end = at.saturating_add(12).saturating_add(length);
        if end > bytes.len() {
            return false;
        }
        if &header[4..8] == b"IEND" {
            return true;
        }
        at = end;
    }
    false
}

/// Decodes the whole picture and renders the variants.
pub fn render(bytes: &[u8]) -> Result<Rendered, PhotoError> {
    let picture = decode_upright(bytes)?;
    // Each size from the next larger one: resizing is the costly part.
    let full = fit(&picture, FULL_SIDE)?;
    let preview = fit(&full, PREVIEW_SIDE)?;
    let thumb = fit(&preview, THUMB_SIDE)?;
    Ok(Rendered {
        width: full.width(),
        height: full.height(),
        full: jpeg(&full)?,
        preview: jpeg(&preview)?,
        thumb: jpeg(&thumb)?,
    })
}

/// Side of an account's avatar (a square JPEG).
pub const AVATAR_SIDE: u32 = 256;

/// The picture decoded, turned upright (EXIF orientation) and flattened to
/// 8-bit RGB (what a JPEG holds).
fn decode_upright(bytes: &[u8]) -> Result<RgbImage, PhotoError> {
    inspect(bytes)?;
    let mut decoder = reader(bytes)?.into_decoder().map_err(|e| classify(&e))?;
    let orientation = decoder.orientation().ok();
    let mut picture = DynamicImage::from_decoder(decoder).map_err(|e| classify(&e))?;
    if let Some(orientation) = orientation {
        picture.apply_orientation(orientation);
    }
    Ok(picture.into_rgb8())
}

/// An avatar: the centre square of the picture, `AVATAR_SIDE` wide, JPEG
/// without metadata.
pub fn avatar(bytes: &[u8]) -> Result<Vec<u8>, PhotoError> {
    let picture = decode_upright(bytes)?;
    let side = picture.width().min(picture.height());
    let (x, y) = ((picture.width() - side) / 2, (picture.height() - side) / 2);
    let square = image::imageops::crop_imm(&picture, x, y, side, side).to_image();
    jpeg(&fit(&square, AVATAR_SIDE)?)
}

/// The picture scaled down (never up) to fit a `side`×`side` box, with a
/// SIMD bilinear convolution (fast_image_resize: several times faster
/// than `image`'s own resizing, which was the costliest step).
fn fit(picture: &RgbImage, side: u32) -> Result<RgbImage, PhotoError> {
    let (width, height) = picture.dimensions();
    if width <= side && height <= side {
        return Ok(picture.clone());
    }
    let scale = f64::from(side) / f64::from(width.max(height));
    let scaled = |n: u32| ((f64::from(n) * scale).round() as u32).clamp(1, side);
    let mut out = RgbImage::new(scaled(width), scaled(height));
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Bilinear));
    Resizer::new().resize(picture, &mut out, &options).map_err(|_| PhotoError::Damaged)?;
    Ok(out)
}

/// Baseline JPEG without any metadata (jpeg-encoder: SIMD, several times
/// faster than `image`'s encoder).
fn jpeg(picture: &RgbImage) -> Result<Vec<u8>, PhotoError> {
    let mut out = Vec::new();
    let (Ok(width), Ok(height)) = (u16::try_from(picture.width()), u16::try_from(picture.height())) else {
        return Err(PhotoError::TooManyPixels(picture.width(), picture.height()));
    };
    let encoder = jpeg_encoder::Encoder::new(&mut out, JPEG_QUALITY);
    encoder.encode(picture.as_raw(), width, height, jpeg_encoder::ColorType::Rgb).map_err(|_| PhotoError::Damaged)?;
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

    /// A PNG of the given header (size, bit depth, colour type) with a
    /// token pixel stream: `inspect` reads only headers.
    fn png_header(width: u32, height: u32, depth: u8, colour: u8) -> Vec<u8> {
        fn crc32(data: &[u8]) -> u32 {
            let mut c = !0u32;
            for &b in data {
                c ^= u32::from(b);
                for _ in 0..8 {
                    c = if c & 1 == 1 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
                }
            }
            !c
        }
        fn chunk(out: &mut Vec<u8>, kind: &[u8], data: &[u8]) {
            out.extend_from_slice(&(data.len() as u32).to_be_bytes());
            let mut typed = kind.to_vec();
            typed.extend_from_slice(data);
            out.extend_from_slice(&typed);
            out.extend_from_slice(&crc32(&typed).to_be_bytes());
        }
        let mut ihdr = width.to_be_bytes().to_vec();
        ihdr.extend_from_slice(&height.to_be_bytes());
        ihdr.extend_from_slice(&[depth, colour, 0, 0, 0]);
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        chunk(&mut out, b"IHDR", &ihdr);
        chunk(&mut out, b"IDAT", &[0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]);
        chunk(&mut out, b"IEND", &[]);
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
            assert_eq!(thumb.width(), THUMB_SIDE);
            assert!(thumb.height().abs_diff(213) <= 1, "aspect kept (rounding aside): {}", thumb.height());
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
        // A camera JPEG carries a complete thumbnail JPEG in its EXIF
        // segment: cutting the picture itself off must still be noticed.
        let thumbnail = encoded(160, 120, ImageFormat::Jpeg);
        let picture = encoded(600, 400, ImageFormat::Jpeg);
        let mut app1 = b"Exif\0\0".to_vec();
        app1.extend_from_slice(&thumbnail);
        let mut camera = vec![0xFF, 0xD8, 0xFF, 0xE1];
        camera.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
        camera.extend_from_slice(&app1);
        camera.extend_from_slice(&picture[2..]);
        assert!(inspect(&camera).is_ok(), "the whole camera JPEG is fine");
        let cut = &camera[..camera.len() - picture.len() / 2];
        assert_eq!(inspect(cut), Err(PhotoError::Damaged), "cut off after its EXIF thumbnail");
        // A long thin strip has few pixels but a side over the limit; the
        // error names the real dimensions.
        let strip = encoded(MAX_SIDE + 1, 2, ImageFormat::Png);
        assert_eq!(inspect(&strip), Err(PhotoError::TooManyPixels(MAX_SIDE + 1, 2)));
        // 16-bit RGBA decodes to 8 bytes a pixel: 7000 × 7000 is under the
        // pixel limit but over the decoded-size budget.
        assert_eq!(inspect(&png_header(7_000, 7_000, 16, 6)), Err(PhotoError::TooManyPixels(7_000, 7_000)));
        assert!(inspect(&png_header(7_000, 7_000, 8, 0)).is_ok(), "the same size in 8-bit grey is fine");
        // A 12,000 × 12,000 picture declared in a tiny file (a decompression
        // bomb) is refused from its header.
        let bomb = png_header(12_000, 12_000, 8, 0);
        assert_eq!(inspect(&bomb), Err(PhotoError::TooManyPixels(12_000, 12_000)));
        assert!(render(&bomb).is_err());
        assert_eq!(inspect(&vec![0; MAX_PHOTO_BYTES + 1]), Err(PhotoError::TooLarge));
    }
}
