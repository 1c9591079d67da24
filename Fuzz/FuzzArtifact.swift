// libFuzzer target: the input as a signed artifact (MIMASIG1 header, then the payload), parsed
// and verified against a fixed key, and its payload (or the whole input) as a definition
// payload archive. Built with Sources/UTMUpdate's SignedArtifact.swift and PayloadArchive.swift
// compiled into this module (tools/fuzz.sh), so UTMUpdate's heavier dependencies stay out.
// Must never trap.
import UTMCrypto

/// A fixed public key (any 32 bytes; no private key exists for it): signatures never verify,
/// so the fuzzer exercises everything before and including the signature check.
private let fuzzKeyring = Keyring(keys: [[UInt8](repeating: 0x5a, count: 32)])

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzArtifact(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let a = try? SignedArtifact.parse(bytes) {
        _ = try? a.verify(keyring: fuzzKeyring, now: 1_800_000_000)
        _ = try? PayloadArchive.decode(a.payload)
    }
    _ = try? PayloadArchive.decode(bytes)
    return 0
}
