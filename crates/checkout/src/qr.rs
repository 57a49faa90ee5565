//! The QR code as a matrix of dark modules, with the quiet zone the spec asks for. The
//! widget turns it into SVG with DOM calls; tests decode it back.
//!
//! A small encoder of its own (ISO/IEC 18004), doing only what a payment link needs: byte
//! mode, error correction level M (15% of the code may be lost), any of the 40 versions, and
//! the mask with the lowest penalty. A general-purpose QR crate, with its other modes and
//! segment optimiser, was a fifth of the widget's download for the same codes.

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

/// Level M's error-correction codewords per block, by version (the standard's table).
const ECC_PER_BLOCK: [u8; 41] = [
    0, 10, 16, 26, 18, 24, 16, 18, 22, 22, 26, 30, 22, 22, 24, 24, 28, 28, 26, 26, 26, 26, 28, 28, 28, 28, 28, 28, 28,
    28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28,
];
/// Level M's number of blocks, by version (the standard's table).
const BLOCKS: [u8; 41] = [
    0, 1, 1, 1, 2, 2, 4, 4, 4, 5, 5, 5, 8, 9, 9, 10, 10, 11, 13, 14, 16, 17, 17, 18, 20, 21, 23, 25, 26, 28, 29, 31,
    33, 35, 37, 38, 40, 43, 45, 47, 49,
];
/// Format information for level M is (00 << 3 | mask), BCH-coded and masked with this.
const FORMAT_MASK: u32 = 0x5412;

// Written for size as much as for clarity: one byte per module (dark and function flags), bits
// written straight into bytes, no iterator chains or per-line buffers, and the few indexing
// sites that can be checked once. This file was a seventh of the widget's download when each
// step had buffers and adaptors of its own.

/// Codewords a version holds: its modules less the function patterns and format and version
/// areas, in bytes.
fn codewords(version: usize) -> usize {
    let mut modules = (16 * version + 128) * version + 64;
    if version >= 2 {
        let align = version / 7 + 2;
        modules -= (25 * align - 10) * align - 55;
        if version >= 7 {
            modules -= 36;
        }
    }
    modules / 8
}

/// The version's blocks and the error-correction codewords of each.
fn blocks(version: usize) -> (usize, usize) {
    (usize::from(BLOCKS[version]), usize::from(ECC_PER_BLOCK[version]))
}

fn data_codewords(version: usize) -> usize {
    let (blocks, ecc) = blocks(version);
    codewords(version) - ecc * blocks
}

/// Multiplication in GF(2^8) modulo x^8 + x^4 + x^3 + x^2 + 1, the field of QR codes.
fn gf_mul(x: u8, y: u8) -> u8 {
    let mut product: u32 = 0;
    for i in (0..8).rev() {
        product = (product << 1) ^ ((product >> 7) * 0x11d);
        product ^= ((u32::from(y) >> i) & 1) * u32::from(x);
    }
    product as u8
}

/// The Reed-Solomon error-correction codewords of `data`: the remainder of its division by the
/// generator polynomial (x - 1)(x - 2)(x - 4)...(x - 2^(n-1)), whose leading 1 is left out.
fn reed_solomon(data: &[u8], n: usize) -> Vec<u8> {
    let mut generator = vec![0u8; n];
    generator[n - 1] = 1;
    let mut root = 1u8;
    for _ in 0..n {
        for j in 0..n {
            generator[j] = gf_mul(generator[j], root) ^ generator.get(j + 1).copied().unwrap_or(0);
        }
        root = gf_mul(root, 2);
    }
    let mut remainder = vec![0u8; n];
    for &byte in data {
        let factor = byte ^ remainder[0];
        // Shifted one codeword to the left as the generator's multiple is added.
        for j in 0..n {
            remainder[j] = remainder.get(j + 1).copied().unwrap_or(0) ^ gf_mul(generator[j], factor);
        }
    }
    remainder
}

/// The version's codewords: mode, length, the bytes, terminator and padding, split into blocks
/// that each get their error correction, then interleaved as the symbol is read.
fn codeword_stream(bytes: &[u8], version: usize) -> Vec<u8> {
    let capacity = data_codewords(version);
    // Bits go most significant first into zeroed bytes. Mode and length end 4 bits into a
    // byte (4 + 8 or 16 bits), and so do the bytes after them: the terminator's 4 zeros fill
    // that byte, and need nothing written.
    let mut data: Vec<u8> = Vec::with_capacity(capacity);
    let mut len = 0;
    let mut push = |value: usize, bits: usize| {
        for i in (0..bits).rev() {
            if len % 8 == 0 {
                data.push(0);
            }
            if let Some(last) = data.last_mut() {
                *last |= (((value >> i) & 1) as u8) << (7 - len % 8);
            }
            len += 1;
        }
    };
    push(0b0100, 4);
    push(bytes.len(), if version <= 9 { 8 } else { 16 });
    for &b in bytes {
        push(usize::from(b), 8);
    }
    let mut pad = 0xec;
    while data.len() < capacity {
        data.push(pad);
        pad ^= 0xec ^ 0x11;
    }
    let (blocks, ecc) = blocks(version);
    let total = codewords(version);
    // The first `short` blocks hold `short_data` codewords, the others one more.
    let short = blocks - total % blocks;
    let short_data = total / blocks - ecc;
    let start = |b: usize| b * short_data + b.saturating_sub(short);
    let mut out = Vec::with_capacity(total);
    for i in 0..=short_data {
        for b in 0..blocks {
            if i < short_data || b >= short {
                out.push(data[start(b) + i]);
            }
        }
    }
    let mut corrections = Vec::with_capacity(blocks * ecc);
    for b in 0..blocks {
        corrections.extend(reed_solomon(&data[start(b)..start(b + 1)], ecc));
    }
    for i in 0..ecc {
        for b in 0..blocks {
            out.push(corrections[b * ecc + i]);
        }
    }
    out
}

/// A module's flags in [`Symbol`].
const DARK: u8 = 1;
/// Part of a function pattern (finder, timing, alignment, format, version): never masked.
const FUNCTION: u8 = 2;

/// The symbol being drawn: each module's [`DARK`] and [`FUNCTION`] flags, row by row.
struct Symbol {
    size: usize,
    modules: Vec<u8>,
}

impl Symbol {
    fn dark(&self, x: usize, y: usize) -> bool {
        self.modules[y * self.size + x] & DARK != 0
    }

    /// A function module.
    fn set(&mut self, x: usize, y: usize, dark: bool) {
        self.modules[y * self.size + x] = FUNCTION | u8::from(dark);
    }

    /// A square pattern of `2 * r + 1` modules centred at (cx, cy), cut at the symbol's edges:
    /// rings at a distance in `light` (a bit per distance) are light, the others dark.
    fn rings(&mut self, cx: usize, cy: usize, r: usize, light: u32) {
        for dy in 0..=2 * r {
            for dx in 0..=2 * r {
                // Off the symbol to the left or top wraps to a huge number: also skipped.
                let (x, y) = ((cx + dx).wrapping_sub(r), (cy + dy).wrapping_sub(r));
                if x < self.size && y < self.size {
                    let ring = dx.abs_diff(r).max(dy.abs_diff(r));
                    self.set(x, y, light >> ring & 1 == 0);
                }
            }
        }
    }

    /// Format information (and the dark module), both copies.
    fn format(&mut self, mask: usize) {
        let data = mask as u32;
        let mut rem = data;
        for _ in 0..10 {
            rem = (rem << 1) ^ ((rem >> 9) * 0x537);
        }
        let bits = ((data << 10) | rem) ^ FORMAT_MASK;
        let last = self.size - 1;
        for i in 0..15 {
            let dark = (bits >> i) & 1 == 1;
            // Down the column beside the top-left finder (skipping the timing row), then
            // along the row beside it to the left (skipping the timing column).
            let (x, y) = match i {
                0..=5 => (8, i),
                6 | 7 => (8, i + 1),
                8 => (7, 8),
                _ => (14 - i, 8),
            };
            self.set(x, y, dark);
            // The copy: along the top-right finder, then up the bottom-left one.
            let (x, y) = if i < 8 { (last - i, 8) } else { (8, self.size - 15 + i) };
            self.set(x, y, dark);
        }
        self.set(8, self.size - 8, true);
    }

    fn version_info(&mut self, version: usize) {
        let mut rem = version as u32;
        for _ in 0..12 {
            rem = (rem << 1) ^ ((rem >> 11) * 0x1f25);
        }
        let bits = ((version as u32) << 12) | rem;
        for i in 0..18 {
            let dark = (bits >> i) & 1 == 1;
            let (a, b) = (self.size - 11 + i % 3, i / 3);
            self.set(a, b, dark);
            self.set(b, a, dark);
        }
    }

    /// Every function pattern of `version`, format areas reserved.
    fn new(version: usize) -> Symbol {
        let size = 4 * version + 17;
        let mut s = Symbol { size, modules: vec![0; size * size] };
        for i in 0..size {
            s.set(6, i, i % 2 == 0);
            s.set(i, 6, i % 2 == 0);
        }
        // Finders: dark centre (3x3), light ring, dark ring, and the light separator.
        for (cx, cy) in [(3, 3), (size - 4, 3), (3, size - 4)] {
            s.rings(cx, cy, 4, 0b10100);
        }
        if version >= 2 {
            let count = version / 7 + 2;
            let step = if version == 32 { 26 } else { (version * 4 + count * 2 + 1) / (count * 2 - 2) * 2 };
            // The centres' coordinates: 6, then evenly spaced up to `size - 7`.
            let at = |i: usize| if i == 0 { 6 } else { size - 7 - (count - 1 - i) * step };
            let last = count - 1;
            for i in 0..count {
                for j in 0..count {
                    // Not the three corners where the finder patterns are.
                    let corner = matches!((i, j), (0, 0)) || (i == 0 && j == last) || (i == last && j == 0);
                    if !corner {
                        s.rings(at(j), at(i), 2, 0b10);
                    }
                }
            }
        }
        s.format(0);
        if version >= 7 {
            s.version_info(version);
        }
        s
    }

    /// The codewords along the zigzag: two columns at a time from the right, up then down,
    /// around the vertical timing pattern, skipping function modules.
    fn place(&mut self, codewords: &[u8]) {
        let mut i = 0;
        let mut right = self.size - 1;
        while right >= 1 {
            if right == 6 {
                right = 5;
            }
            let upward = (right + 1) & 2 == 0;
            for vert in 0..self.size {
                let y = if upward { self.size - 1 - vert } else { vert };
                for x in [right, right - 1] {
                    let at = y * self.size + x;
                    if self.modules[at] & FUNCTION == 0 {
                        if let Some(byte) = codewords.get(i >> 3) {
                            self.modules[at] = (byte >> (7 - (i & 7))) & 1;
                            i += 1;
                        }
                    }
                }
            }
            right = right.saturating_sub(2);
            if right == 0 {
                break;
            }
        }
    }

    /// Inverts the data modules where mask `m` says (applying it twice undoes it).
    fn mask(&mut self, m: usize) {
        for y in 0..self.size {
            for x in 0..self.size {
                let flip = match m {
                    0 => (x + y) % 2 == 0,
                    1 => y % 2 == 0,
                    2 => x % 3 == 0,
                    3 => (x + y) % 3 == 0,
                    4 => (x / 3 + y / 2) % 2 == 0,
                    5 => x * y % 2 + x * y % 3 == 0,
                    6 => (x * y % 2 + x * y % 3) % 2 == 0,
                    _ => ((x + y) % 2 + x * y % 3) % 2 == 0,
                };
                let module = &mut self.modules[y * self.size + x];
                if flip && *module & FUNCTION == 0 {
                    *module ^= DARK;
                }
            }
        }
    }

    /// The standard's penalty: long runs, 2x2 blocks, finder-like patterns, and dark/light
    /// imbalance. The mask with the lowest is the easiest to scan.
    fn penalty(&self) -> usize {
        let n = self.size;
        let mut score = 0;
        for transpose in [false, true] {
            for a in 0..n {
                // The a-th row, or column; off the line (wrapped below 0 too) reads as light.
                let dark = |b: usize| b < n && if transpose { self.dark(a, b) } else { self.dark(b, a) };
                let mut run = 0;
                for b in 0..=n {
                    if b < n && b > 0 && dark(b) == dark(b - 1) {
                        run += 1;
                    } else {
                        if run >= 5 {
                            score += run - 2;
                        }
                        run = 1;
                    }
                }
                // Dark, light, three dark, light, dark (a finder's 1:1:3:1:1), with four light
                // modules before or after it.
                for b in 0..n.saturating_sub(6) {
                    let finder_like = (0..7).all(|k| dark(b + k) == (k != 1 && k != 5));
                    let light_before = (1..=4).all(|k| !dark(b.wrapping_sub(k)));
                    if finder_like && (light_before || (7..11).all(|k| !dark(b + k))) {
                        score += 40;
                    }
                }
            }
        }
        for y in 1..n {
            for x in 1..n {
                let c = self.dark(x, y);
                if self.dark(x - 1, y) == c && self.dark(x, y - 1) == c && self.dark(x - 1, y - 1) == c {
                    score += 3;
                }
            }
        }
        let dark = self.modules.iter().filter(|m| **m & DARK != 0).count();
        let percent = dark * 100 / (n * n);
        score + 10 * (percent.abs_diff(50) / 5)
    }
}

/// Encodes `text` (medium error correction), or `None` when it is too long for a QR code.
pub fn encode(text: &str) -> Option<Matrix> {
    let bytes = text.as_bytes();
    let version = (1..=40).find(|&v| {
        let length_bits = if v <= 9 { 8 } else { 16 };
        bytes.len() < 1 << length_bits && 4 + length_bits + 8 * bytes.len() <= data_codewords(v) * 8
    })?;
    let mut symbol = Symbol::new(version);
    symbol.place(&codeword_stream(bytes, version));
    let mut best = (usize::MAX, 0);
    for m in 0..8 {
        symbol.mask(m);
        symbol.format(m);
        best = best.min((symbol.penalty(), m));
        symbol.mask(m);
    }
    symbol.mask(best.1);
    symbol.format(best.1);
    let width = symbol.size;
    let size = width + 2 * QUIET_ZONE;
    let mut dark = vec![false; size * size];
    for y in 0..width {
        for x in 0..width {
            dark[(y + QUIET_ZONE) * size + x + QUIET_ZONE] = symbol.dark(x, y);
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
    fn every_size_of_payment_link_round_trips() {
        // Lengths that land in small and large versions, block splits of both lengths, and the
        // versions that carry version information (7 and up).
        for len in [0, 1, 13, 14, 26, 27, 60, 90, 120, 150, 200, 250, 300, 400, 600, 800, 1000, 1400, 2000] {
            let text: String = (0..len).map(|i| char::from(b"weixin://wxpay/bizpayurl?pr=Ab9_"[i % 32])).collect();
            let m = encode(&text).unwrap_or_else(|| panic!("{len} bytes encode"));
            assert_eq!(decode(&m, 2), text, "{len} bytes, {} modules", m.size);
        }
        let zh = "https://shop.example/茶?單號=5f0c";
        assert_eq!(decode(&encode(zh).unwrap(), 3), zh, "UTF-8 bytes");
    }

    #[test]
    fn the_smallest_version_that_fits_is_used() {
        // Version 1 at level M holds 14 bytes; 15 need version 2 (25 modules, 33 with the zone).
        assert_eq!(encode(&"a".repeat(14)).unwrap().size, 21 + 2 * QUIET_ZONE);
        assert_eq!(encode(&"a".repeat(15)).unwrap().size, 25 + 2 * QUIET_ZONE);
        // Version 40 at level M holds 2331 bytes.
        assert_eq!(encode(&"a".repeat(2331)).unwrap().size, 177 + 2 * QUIET_ZONE);
        assert!(encode(&"a".repeat(2332)).is_none());
    }

    #[test]
    fn the_field_and_the_codes_are_the_standards() {
        assert_eq!(gf_mul(0x80, 2), 0x1d, "reduced by x^8 + x^4 + x^3 + x^2 + 1");
        assert_eq!(gf_mul(0x53, 0xca), gf_mul(0xca, 0x53));
        // The standard's worked example (version 1-M, "01234567"): its 10 error-correction
        // codewords.
        let data = [0x10, 0x20, 0x0c, 0x56, 0x61, 0x80, 0xec, 0x11, 0xec, 0x11, 0xec, 0x11, 0xec, 0x11, 0xec, 0x11];
        assert_eq!(reed_solomon(&data, 10), [0xa5, 0x24, 0xd4, 0xc1, 0xed, 0x36, 0xc7, 0x87, 0x2c, 0x55]);
    }

    #[test]
    fn runs_cover_exactly_the_dark_modules() {
        let m = encode("https://qr.alipay.com/bax03431ljhokirwl38f00a7").unwrap();
        let covered: usize = m.runs().iter().map(|r| r.2).sum();
        assert_eq!(covered, m.dark.iter().filter(|d| **d).count());
        assert!(encode(&"x".repeat(5000)).is_none(), "too long is None, not a panic");
    }
}
