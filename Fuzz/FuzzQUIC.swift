import UTMCore
import UTMAppLayer
@_spi(Testing) import UTMAppLayer

// libFuzzer target for the QUIC Initial parser. The first byte picks a mode:
//   even: the rest is a sequence of datagrams (2-byte big-endian length + bytes, direction from
//         the length's top bit) fed to one parser, plus the probe on each;
//   odd:  the rest is a decrypted Initial payload fed straight to the frame walk and CRYPTO
//         reassembly (random bytes never pass the AEAD tag, so this reaches the frame code).
// Build (from the package root, after swift build):
//   swiftc -typecheck -parse-as-library -I .build/debug/Modules -I Sources/COpenSSL Fuzz/FuzzQUIC.swift
// (a libFuzzer build also links the UTMCore, UTMCrypto and UTMAppLayer objects and -lcrypto).

nonisolated(unsafe) var fuzzParser = QUICParser()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzQUIC(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = ByteView(unsafeStart: UnsafeRawPointer(data), count: size)
    guard let mode = input.u8(0) else { return 0 }
    fuzzParser.reset()
    var sink = 0
    if mode & 1 == 1 {
        let direction: Direction = mode & 2 == 0 ? .toServer : .toClient
        fuzzParser.feedDecryptedPayload(input.dropFirst(1), direction: direction) { bytes, _ in sink &+= bytes.count }
        return 0
    }
    var off = 1
    while let header = input.u16(off) {
        off += 2
        let length = Int(header & 0x7fff)
        let direction: Direction = header & 0x8000 == 0 ? .toServer : .toClient
        let datagram = input.slice(off, length) ?? input.dropFirst(off)
        off += datagram.count
        _ = QUICParser.probe(datagram)
        fuzzParser.feed(datagram, direction: direction) { bytes, _ in sink &+= bytes.count }
        if datagram.count < length { break }
    }
    _ = fuzzParser.done
    return 0
}
