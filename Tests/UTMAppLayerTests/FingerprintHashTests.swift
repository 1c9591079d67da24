import Testing
import UTMCore
@testable import UTMAppLayer

/// RFC 1321 appendix A.5 and FIPS 180-2 appendix B vectors, plus block-boundary lengths.
@Suite struct FingerprintHashTests {
    func md5(_ s: String) -> String {
        var h = MD5()
        for b in s.utf8 { h.update(b) }
        let d = h.finish()
        return (0..<16).map { String(format2(d[$0])) }.joined()
    }
    func sha(_ bytes: [UInt8]) -> String {
        var h = SHA256()
        bytes.withByteView { h.update($0) }
        let d = h.finish()
        return (0..<32).map { String(format2(d[$0])) }.joined()
    }
    func format2(_ b: UInt8) -> String {
        let s = String(b, radix: 16)
        return s.count == 1 ? "0" + s : s
    }

    @Test func md5RFC1321() {
        #expect(md5("") == "d41d8cd98f00b204e9800998ecf8427e")
        #expect(md5("a") == "0cc175b9c0f1b6a831c399e269772661")
        #expect(md5("abc") == "900150983cd24fb0d6963f7d28e17f72")
        #expect(md5("message digest") == "f96b697d7cb7938d525a2f31aaf161d0")
        #expect(md5("abcdefghijklmnopqrstuvwxyz") == "c3fcd3d76192e4007dfb496cca67e13b")
        #expect(md5("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") == "d174ab98d277d9f5a5611c2c9f419d9f")
        #expect(md5(String(repeating: "1234567890", count: 8)) == "57edf4a22be3c955ac49da2e2107b67a")
    }

    @Test func sha256FIPS180() {
        #expect(sha(Array("".utf8)) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(sha(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(sha(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(sha([UInt8](repeating: 0x61, count: 1_000_000))
                == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    /// Lengths around the 55/56/64-byte padding boundaries: byte-at-a-time and view updates agree.
    @Test func streamingEqualsOneShotAtBoundaries() {
        for n in [55, 56, 57, 63, 64, 65, 119, 120, 128] {
            let bytes = (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 7) }
            var a = SHA256()
            bytes.withByteView { a.update($0) }
            var b = SHA256()
            for x in bytes { b.update(x) }
            let da = a.finish(), db = b.finish()
            #expect((0..<32).allSatisfy { da[$0] == db[$0] })
        }
    }

    @Test func heapSortSorts() {
        var rng = SplitRNG(seed: 42)
        for n in [0, 1, 2, 3, 17, 300] {
            var a = (0..<n).map { _ in UInt16(truncatingIfNeeded: rng.next()) } + [1, 2, 3]
            let expected = Array(a[0..<n]).sorted() + [1, 2, 3]
            heapSort(&a, count: n)
            #expect(a == expected)
        }
    }
}
