//! QR codes for join links: SVG for screens, Unicode blocks for the terminal.
//!
//! Owns: QR rendering, and the printable sheet of table cards. A leaf:
//! imports nothing.

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

/// What a table card says: the venue, the zone, and how to join it.
pub struct TableCard<'a> {
    pub venue: &'a str,
    pub zone: &'a str,
    pub code: &'a str,
    pub url: &'a str,
}

/// A sheet of six table cards (2 × 3) on an A4 page, in millimetres, to
/// print and cut: each with the venue's and zone's names, the QR code of
/// the join link, the code in big letters and the link without `https://`.
pub fn table_cards(card: &TableCard) -> anyhow::Result<String> {
    let qr = QrCode::new(card.url.as_bytes())?;
    let width = qr.width();
    // One path of 1 × 1 squares, scaled into place on each card.
    let mut modules = String::new();
    for (i, color) in qr.to_colors().iter().enumerate() {
        if *color == qrcode::Color::Dark {
            modules.push_str(&format!("M{} {}h1v1h-1z", i % width, i / width));
        }
    }
    let (venue, zone, code) = (escape(card.venue), escape(card.zone), escape(card.code));
    let link = escape(card.url.trim_start_matches("https://").trim_start_matches("http://"));
    let (card_w, card_h, margin) = (95.0, 89.0, 10.0);
    let qr_size = 46.0;
    let scale = qr_size / width as f64;
    let mut svg = String::from(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"210mm\" height=\"297mm\" viewBox=\"0 0 210 297\" \
         font-family=\"Helvetica, Arial, sans-serif\">\n<title>Table cards</title>\n",
    );
    svg.push_str(&format!("<defs><path id=\"qr\" d=\"{modules}\"/></defs>\n"));
    for row in 0..3 {
        for col in 0..2 {
            let (x, y) = (margin + f64::from(col) * card_w, margin + f64::from(row) * card_h);
            let qr_x = x + (card_w - qr_size) / 2.0;
            svg.push_str(&format!(
                "<g class=\"card\">\
                 <rect x=\"{x}\" y=\"{y}\" width=\"{card_w}\" height=\"{card_h}\" fill=\"none\" stroke=\"#999\" \
                 stroke-width=\"0.2\" stroke-dasharray=\"2 2\"/>\
                 <text x=\"{cx}\" y=\"{ty}\" font-size=\"6\" font-weight=\"bold\" text-anchor=\"middle\">{venue}</text>\
                 <text x=\"{cx}\" y=\"{zy}\" font-size=\"4.2\" text-anchor=\"middle\">{zone} · Pick the music!</text>\
                 <use href=\"#qr\" transform=\"translate({qr_x} {qy}) scale({scale})\"/>\
                 <text x=\"{cx}\" y=\"{cy}\" font-size=\"9\" font-weight=\"bold\" letter-spacing=\"1.5\" \
                 text-anchor=\"middle\">{code}</text>\
                 <text x=\"{cx}\" y=\"{ly}\" font-size=\"3.4\" text-anchor=\"middle\">{link}</text></g>\n",
                cx = x + card_w / 2.0,
                ty = y + 11.0,
                zy = y + 17.0,
                qy = y + 20.0,
                cy = y + 75.0,
                ly = y + 82.0,
            ));
        }
    }
    svg.push_str("</svg>\n");
    Ok(svg)
}

/// Text for an SVG element: `&`, `<`, `>` and quotes escaped.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sheet_holds_six_cards_with_the_names_escaped() {
        let card =
            TableCard { venue: "Bea & <Co>", zone: "Terrace", code: "K7M2PQ", url: "https://bar.example/join/K7M2PQ" };
        let svg = table_cards(&card).expect("svg");
        assert_eq!(svg.matches("<g class=\"card\">").count(), 6);
        assert!(svg.contains("Bea &amp; &lt;Co&gt;") && !svg.contains("<Co>"));
        assert!(svg.contains(">bar.example/join/K7M2PQ<"));
        assert!(svg.contains("width=\"210mm\" height=\"297mm\""));
    }
}
