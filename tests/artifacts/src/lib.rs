//! Paths of the example and test connectors, built for `wasm32-wasip2` from the sources in
//! `examples/` and `tests/guests/` by this crate's build script.

include!(concat!(env!("OUT_DIR"), "/artifacts.rs"));

#[cfg(test)]
mod tests {
    #[test]
    fn every_guest_is_a_component() {
        for (package, path) in super::ALL {
            let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{package}: {path}: {e}"));
            // A component's preamble: magic, then version 0x0d and layer 1 (a core module has layer 0).
            assert_eq!(&bytes[..4], b"\0asm", "{package} is not wasm");
            assert_eq!(&bytes[4..8], &[0x0d, 0x00, 0x01, 0x00], "{package} is not a component");
        }
    }
}
