//! Random bytes from the platform's CSPRNG (`crypto.getRandomValues`).

/// `N` random bytes.
pub fn bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    // The Workers runtime always provides crypto.getRandomValues; without it no id is safe.
    getrandom::getrandom(&mut out).expect("crypto.getRandomValues is available in Workers");
    out
}

/// A number in 0..1 for back-off jitter.
pub fn unit() -> f64 {
    let b = bytes::<4>();
    f64::from(u32::from_le_bytes(b)) / f64::from(u32::MAX)
}
