//! QR codes (一案一码, 扫码入企) as SVG and PNG.

use qrcode::{EcLevel, QrCode, render::svg};

/// Pixels per module in PNG output.
const PNG_SCALE: usize = 8;
/// Quiet zone in modules, as the standard asks.
const QUIET: usize = 4;

fn code(text: &str) -> Result<QrCode, String> {
    QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
        .map_err(|e| format!("cannot encode QR: {e}"))
}

/// An SVG QR code of `text`.
pub fn svg(text: &str) -> Result<String, String> {
    Ok(code(text)?
        .render::<svg::Color<'_>>()
        .min_dimensions(240, 240)
        .quiet_zone(true)
        .build())
}

/// A greyscale PNG QR code of `text`.
pub fn png(text: &str) -> Result<Vec<u8>, String> {
    let qr = code(text)?;
    let width = qr.width();
    let colors = qr.to_colors();
    let side = (width + 2 * QUIET) * PNG_SCALE;
    let mut pixels = vec![255u8; side * side];
    for (i, c) in colors.iter().enumerate() {
        if *c == qrcode::Color::Dark {
            let (x, y) = (i % width + QUIET, i / width + QUIET);
            for dy in 0..PNG_SCALE {
                let row = (y * PNG_SCALE + dy) * side;
                pixels[row + x * PNG_SCALE..row + (x + 1) * PNG_SCALE].fill(0);
            }
        }
    }
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, side as u32, side as u32);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
        writer
            .write_image_data(&pixels)
            .map_err(|e| e.to_string())?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn svg_and_png_render() {
        let s = svg("https://t.me/pingjia_bot?start=abc").unwrap();
        assert!(s.starts_with("<?xml") && s.contains("<svg"));
        let p = png("https://example.org/c/ABCDEFGH2345").unwrap();
        assert_eq!(&p[1..4], b"PNG");
    }
}
