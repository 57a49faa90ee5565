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

fn data_codewords(version: usize) -> usize {
    codewords(version) - usize::from(ECC_PER_BLOCK[version]) * usize::from(BLOCKS[version])
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
        remainder.rotate_left(1);
        remainder[n - 1] = 0;
        for (r, g) in remainder.iter_mut().zip(&generator) {
            *r ^= gf_mul(*g, factor);
        }
    }
    remainder
}

/// Bits appended most significant first.
struct Bits(Vec<bool>);

impl Bits {
    fn push(&mut self, value: usize, len: usize) {
        self.0.extend((0..len).rev().map(|i| (value >> i) & 1 == 1));
    }
}

/// The version's codewords: mode, length, the bytes, terminator and padding, split into blocks
/// that each get their error correction, then interleaved as the symbol is read.
fn codeword_stream(bytes: &[u8], version: usize) -> Vec<u8> {
    let capacity = data_codewords(version);
    let mut bits = Bits(Vec::new());
    bits.push(0b0100, 4);
    bits.push(bytes.len(), if version <= 9 { 8 } else { 16 });
    for &b in bytes {
        bits.push(usize::from(b), 8);
    }
    let terminator = (capacity * 8 - bits.0.len()).min(4);
    bits.push(0, terminator);
    bits.push(0, (8 - bits.0.len() % 8) % 8);
    let mut data: Vec<u8> =
        bits.0.chunks(8).map(|byte| byte.iter().fold(0u8, |acc, &bit| (acc << 1) | u8::from(bit))).collect();
    for pad in [0xec, 0x11].into_iter().cycle() {
        if data.len() >= capacity {
            break;
        }
        data.push(pad);
    }
    let (blocks, ecc) = (usize::from(BLOCKS[version]), usize::from(ECC_PER_BLOCK[version]));
    let total = codewords(version);
    let short = blocks - total % blocks;
    let short_data = total / blocks - ecc;
    let mut parts = Vec::with_capacity(blocks);
    let mut at = 0;
    for i in 0..blocks {
        let len = short_data + usize::from(i >= short);
        let block = &data[at..at + len];
        at += len;
        parts.push((block, reed_solomon(block, ecc)));
    }
    let mut out = Vec::with_capacity(total);
    for i in 0..=short_data {
        out.extend(parts.iter().filter_map(|(d, _)| d.get(i)));
    }
    for i in 0..ecc {
        out.extend(parts.iter().map(|(_, e)| e[i]));
    }
    out
}

/// The symbol being drawn: modules, and which belong to function patterns (never masked).
struct Symbol {
    size: usize,
    dark: Vec<bool>,
    function: Vec<bool>,
}

impl Symbol {
    fn set(&mut self, x: usize, y: usize, dark: bool) {
        let i = y * self.size + x;
        self.dark[i] = dark;
        self.function[i] = true;
    }

    /// A finder pattern centred at (cx, cy), with its light separator.
    fn finder(&mut self, cx: usize, cy: usize) {
        for dy in -4i32..=4 {
            for dx in -4i32..=4 {
                let (x, y) = (cx as i32 + dx, cy as i32 + dy);
                if (0..self.size as i32).contains(&x) && (0..self.size as i32).contains(&y) {
                    let ring = dx.abs().max(dy.abs());
                    self.set(x as usize, y as usize, ring != 2 && ring != 4);
                }
            }
        }
    }

    fn alignment(&mut self, cx: usize, cy: usize) {
        for dy in 0..5 {
            for dx in 0..5 {
                let ring = (dx as i32 - 2).abs().max((dy as i32 - 2).abs());
                self.set(cx + dx - 2, cy + dy - 2, ring != 1);
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
        let bit = |i: usize| (bits >> i) & 1 == 1;
        let last = self.size - 1;
        for i in 0..6 {
            self.set(8, i, bit(i));
        }
        self.set(8, 7, bit(6));
        self.set(8, 8, bit(7));
        self.set(7, 8, bit(8));
        for i in 9..15 {
            self.set(14 - i, 8, bit(i));
        }
        for i in 0..8 {
            self.set(last - i, 8, bit(i));
        }
        for i in 8..15 {
            self.set(8, self.size - 15 + i, bit(i));
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
        let mut s = Symbol { size, dark: vec![false; size * size], function: vec![false; size * size] };
        for i in 0..size {
            s.set(6, i, i % 2 == 0);
            s.set(i, 6, i % 2 == 0);
        }
        s.finder(3, 3);
        s.finder(size - 4, 3);
        s.finder(3, size - 4);
        if version >= 2 {
            let count = version / 7 + 2;
            let step = if version == 32 { 26 } else { (version * 4 + count * 2 + 1) / (count * 2 - 2) * 2 };
            let mut centres = vec![6];
            centres.extend((0..count - 1).rev().map(|i| size - 7 - i * step));
            for (i, &cy) in centres.iter().enumerate() {
                for (j, &cx) in centres.iter().enumerate() {
                    // The three corners where the finder patterns are.
                    let last = count - 1;
                    let corner = matches!((i, j), (0, 0)) || (i == 0 && j == last) || (i == last && j == 0);
                    if !corner {
                        s.alignment(cx, cy);
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
                    if !self.function[at] && i < codewords.len() * 8 {
                        self.dark[at] = (codewords[i >> 3] >> (7 - (i & 7))) & 1 == 1;
                        i += 1;
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
                let at = y * self.size + x;
                if flip && !self.function[at] {
                    self.dark[at] = !self.dark[at];
                }
            }
        }
    }

    /// The standard's penalty: long runs, 2x2 blocks, finder-like patterns, and dark/light
    /// imbalance. The mask with the lowest is the easiest to scan.
    fn penalty(&self) -> usize {
        let n = self.size;
        let at = |x: usize, y: usize| self.dark[y * n + x];
        let mut score = 0;
        for transpose in [false, true] {
            for a in 0..n {
                let line: Vec<bool> = (0..n).map(|b| if transpose { at(a, b) } else { at(b, a) }).collect();
                let mut run = 1;
                for b in 1..=n {
                    if b < n && line[b] == line[b - 1] {
                        run += 1;
                    } else {
                        if run >= 5 {
                            score += run - 2;
                        }
                        run = 1;
                    }
                }
                let light = |i: isize| i < 0 || i >= n as isize || !line[i as usize];
                for b in 0..n.saturating_sub(6) {
                    let core = [true, false, true, true, true, false, true];
                    if core.iter().enumerate().all(|(k, &d)| line[b + k] == d) {
                        let b = b as isize;
                        if (1..=4).all(|k| light(b - k)) || (1..=4).all(|k| light(b + 6 + k)) {
                            score += 40;
                        }
                    }
                }
            }
        }
        for y in 0..n - 1 {
            for x in 0..n - 1 {
                let c = at(x, y);
                if at(x + 1, y) == c && at(x, y + 1) == c && at(x + 1, y + 1) == c {
                    score += 3;
                }
            }
        }
        let dark = self.dark.iter().filter(|d| **d).count();
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
            dark[(y + QUIET_ZONE) * size + x + QUIET_ZONE] = symbol.dark[y * width + x];
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
