//! QR codes for join links: SVG for screens, Unicode blocks for the terminal.
//!
//! Owns: QR rendering. A leaf: imports nothing.

use qrcode::QrCode;
use qrcode::render::{svg, unicode};

pub fn svg(url: &str) -> anyhow::Result<String> {
    let code = QrCode::new(url.as_bytes())?;
    Ok(code.render::<svg::Color>().min_dimensions(240, 240).quiet_zone(true).build())
}

pub fn terminal(url: &str) -> anyhow::Result<String> {
    let code = QrCode::new(url.as_bytes())?;
    Ok(code.render::<unicode::Dense1x2>().quiet_zone(true).build())
}
