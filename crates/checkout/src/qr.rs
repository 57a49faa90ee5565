//! The QR code as a matrix of dark modules, with the quiet zone the spec asks for. The
//! widget turns it into SVG with DOM calls; tests decode it back.

use qrcode::{EcLevel, QrCode};

/// Modules of light margin around the code (the QR spec's quiet zone).
pub const QUIET_ZONE: usize = 4;

/// A square matrix of modules, quiet zone included; `true` is dark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matrix {
    /// Modules per side.
    pub size: usize,
    /// Row-major modules.
    pub dark: Vec<bool>,
}

impl Matrix {
    /// Whether the module at (x, y) is dark.
    pub fn is_dark(&self, x: usize, y: usize) -> bool {
        self.dark[y * self.size + x]
    }

    /// Horizontal runs of dark modules per row, `(x, y, length)`: one SVG rect per run keeps
    /// the DOM small.
    pub fn runs(&self) -> Vec<(usize, usize, usize)> {
        let mut runs = Vec::new();
        for y in 0..self.size {
            let mut x = 0;
            while x < self.size {
                if self.is_dark(x, y) {
                    let start = x;
                    while x < self.size && self.is_dark(x, y) {
                        x += 1;
                    }
                    runs.push((start, y, x - start));
                } else {
                    x += 1;
                }
            }
        }
        runs
    }
}

/// Encodes `text` (medium error correction), or `None` when it is too long for a QR code.
pub fn encode(text: &str) -> Option<Matrix> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).ok()?;
    let width = code.width();
    let size = width + 2 * QUIET_ZONE;
    let mut dark = vec![false; size * size];
    let colors = code.to_colors();
    for y in 0..width {
        for x in 0..width {
            dark[(y + QUIET_ZONE) * size + x + QUIET_ZONE] = colors[y * width + x] == qrcode::Color::Dark;
        }
    }
    Some(Matrix { size, dark })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(m: &Matrix, scale: usize) -> String {
        let side = m.size * scale;
        let mut img = rqrr::PreparedImage::prepare_from_greyscale(side, side, |x, y| {
            if m.is_dark(x / scale, y / scale) {
                0
            } else {
                255
            }
        });
        let grids = img.detect_grids();
        assert_eq!(grids.len(), 1, "one QR code found");
        grids[0].decode().expect("decodes").1
    }

    #[test]
    fn a_simulator_qrcode_round_trips() {
        let url = "http://127.0.0.1:8788/sim/wallet/5f0c2a9b1e7d4c3a8b6e0f12";
        let m = encode(url).expect("encodes");
        assert!(m.size > 2 * QUIET_ZONE);
        assert!(!m.is_dark(0, 0) && !m.is_dark(QUIET_ZONE - 1, QUIET_ZONE - 1), "quiet zone is light");
        assert_eq!(decode(&m, 4), url);
    }

    #[test]
    fn runs_cover_exactly_the_dark_modules() {
        let m = encode("https://qr.alipay.com/bax03431ljhokirwl38f00a7").unwrap();
        let covered: usize = m.runs().iter().map(|r| r.2).sum();
        assert_eq!(covered, m.dark.iter().filter(|d| **d).count());
        assert!(encode(&"x".repeat(5000)).is_none(), "too long is None, not a panic");
    }
}
