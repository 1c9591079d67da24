import Testing
import UTMCore
@testable import UTMAppLayer

/// DER built here (X.690 definite lengths) for the X.509 reader's tests.
enum DER {
    static func tlv(_ tag: UInt8, _ content: [UInt8]) -> [UInt8] {
        let n = content.count
        let length: [UInt8] = n < 0x80 ? [UInt8(n)] : n < 0x100 ? [0x81, UInt8(n)] : [0x82, UInt8(n >> 8), UInt8(n & 0xff)]
        return [tag] + length + content
    }
    static func seq(_ parts: [UInt8]...) -> [UInt8] { tlv(0x30, parts.flatMap { $0 }) }
    static func set(_ parts: [UInt8]...) -> [UInt8] { tlv(0x31, parts.flatMap { $0 }) }
    static func oid(_ bytes: [UInt8]) -> [UInt8] { tlv(0x06, bytes) }
    static func attr(_ oidBytes: [UInt8], _ tag: UInt8, _ value: [UInt8]) -> [UInt8] { seq(oid(oidBytes), tlv(tag, value)) }
    static func printable(_ s: String) -> [UInt8] { Array(s.utf8) }
    static let cn: [UInt8] = [0x55, 4, 3], c: [UInt8] = [0x55, 4, 6], l: [UInt8] = [0x55, 4, 7], st: [UInt8] = [0x55, 4, 8]
    static let o: [UInt8] = [0x55, 4, 10], ou: [UInt8] = [0x55, 4, 11]
    static let email: [UInt8] = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01]
    /// 1.3.6.1.4.1.311.60.2.1.3 (jurisdictionCountryName, EV certificates): not in the table.
    static let jurisdiction: [UInt8] = [0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x3c, 0x02, 0x01, 0x03]

    static let issuer = seq(set(attr(c, 0x13, printable("US"))), set(attr(o, 0x13, printable("Cheap CA Inc"))),
                            set(attr(cn, 0x0c, printable("Cheap Intermediate CA"))))
    static let subject = seq(
        set(attr(c, 0x13, printable("JP"))), set(attr(st, 0x0c, printable("Tokyo"))),
        set(attr(o, 0x0c, printable("Evil K.K.")), attr(ou, 0x0c, printable("Ops"))),
        set(attr(cn, 0x0c, printable("login.evil.example"))), set(attr(email, 0x16, printable("admin@evil.example"))),
        set(attr(l, 0x1e, [0x67, 0x71, 0x4e, 0xac])),                 // BMPString "東京"
        set(attr(jurisdiction, 0x13, printable("JP"))))
    static let sanExtension = seq(oid([0x55, 0x1d, 0x11]), tlv(0x04, seq(
        tlv(0x82, printable("login.evil.example")), tlv(0x87, [192, 0, 2, 1]), tlv(0x82, printable("*.evil.example")))))
    static let otherExtension = seq(oid([0x55, 0x1d, 0x13]), tlv(0x01, [0xff]), tlv(0x04, seq()))

    /// A whole certificate: version 3, serial 00 8f 1a, the names above, the SAN extension.
    static func certificate(extensions: Bool = true, version: Bool = true) -> [UInt8] {
        let sigAlg = seq(oid([0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b]), [0x05, 0x00])
        let validity = seq(tlv(0x17, printable("260101000000Z")), tlv(0x17, printable("270101000000Z")))
        let spki = seq(seq(oid([0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01]), [0x05, 0x00]),
                       tlv(0x03, [0x00] + [UInt8](repeating: 0x42, count: 64)))
        var tbs: [UInt8] = version ? tlv(0xa0, tlv(0x02, [2])) : []
        tbs += tlv(0x02, [0x00, 0x8f, 0x1a]) + sigAlg + issuer + validity + subject + spki
        if extensions { tbs += tlv(0xa3, seq(otherExtension, sanExtension)) }
        return seq(seq(tbs), sigAlg, tlv(0x03, [0x00] + [UInt8](repeating: 0x99, count: 64)))
    }
}

/// The X.509 reader behind tls.cert_subject / cert_issuer / cert_serial / subjectaltname:
/// Suricata's text forms on a certificate built here, and hostile framing (every truncation,
/// lying lengths, high tags, garbage) giving nil or partial results, never a trap.
@Suite struct X509Tests {
    static func text(_ body: (inout X509Text) -> Void, capacity: Int = 1024) -> String {
        let slab = ByteSlab(capacity: capacity)
        var t = X509Text(slab: slab, start: 0, capacity: capacity)
        body(&t)
        return String(decoding: t.view(from: 0).bytes, as: UTF8.self)
    }

    @Test func namesSerialAndAltNames() {
        let der = DER.certificate()
        der.withByteView { v in
            guard let l = X509.layout(v) else { Issue.record("no layout"); return }
            #expect(Self.text { X509.writeName(l.subject, into: &$0) }
                    == "C=JP, ST=Tokyo, O=Evil K.K. + OU=Ops, CN=login.evil.example, Email=admin@evil.example, L=東京, 1.3.6.1.4.1.311.60.2.1.3=JP")
            #expect(Self.text { X509.writeName(l.issuer, into: &$0) } == "C=US, O=Cheap CA Inc, CN=Cheap Intermediate CA")
            #expect(Self.text { X509.writeHex(l.serial, separator: UInt8(ascii: ":"), upper: true, into: &$0) } == "00:8F:1A")
            var names: [String] = []
            let n = X509.forEachDNSName(l.extensions, limit: 10) { names.append(String(decoding: $0.bytes, as: UTF8.self)) }
            #expect(n == 2 && names == ["login.evil.example", "*.evil.example"], "the IP entry is not a DNS name")
            #expect(X509.forEachDNSName(l.extensions, limit: 1) { _ in } == 1)
            #expect(l.notBefore == 1_767_225_600 && l.notAfter == 1_798_761_600, "2026-01-01 and 2027-01-01, UTCTime")
        }
    }

    @Test func versionAndExtensionsAreOptional() {
        DER.certificate(extensions: false, version: false).withByteView { v in
            let l = X509.layout(v)
            #expect(l != nil && l?.extensions.isEmpty == true)
            if let serial = l?.serial {
                #expect(Self.text { X509.writeHex(serial, separator: nil, upper: false, into: &$0) } == "008f1a")
            }
        }
    }

    @Test func textStopsAtItsWindow() {
        DER.certificate().withByteView { v in
            guard let l = X509.layout(v) else { return }
            let slab = ByteSlab(capacity: 64)
            var t = X509Text(slab: slab, start: 8, capacity: 20)
            X509.writeName(l.subject, into: &t)
            #expect(t.full && t.position == 28, "cut at the window's end, nothing written past it")
        }
    }

    @Test func everyTruncationAndCorruptionIsSafe() {
        let der = DER.certificate()
        for cut in 0 ..< der.count {
            let part = Array(der.prefix(cut))
            part.withByteView { v in
                // The outer length now overruns: no layout. Reading the names of whatever
                // parses must stay in bounds.
                #expect(X509.layout(v) == nil, "cut \(cut)")
            }
        }
        var rng = SplitRNG(seed: 7)
        for _ in 0 ..< 2000 {
            var bad = der
            for _ in 0 ..< 1 + rng.next(upTo: 4) { bad[rng.next(upTo: bad.count)] = UInt8(rng.next(upTo: 256)) }
            bad.withByteView { v in
                if let l = X509.layout(v) {
                    _ = Self.text { X509.writeName(l.subject, into: &$0) }
                    _ = Self.text { X509.writeName(l.issuer, into: &$0) }
                    X509.forEachDNSName(l.extensions, limit: 300) { _ in }
                }
                // The names parsed as RDNs straight from random offsets.
                _ = Self.text { X509.writeName(v.dropFirst(rng.next(upTo: v.count)), into: &$0) }
            }
        }
    }

    @Test func validityTimes() {
        func t(_ tag: UInt8, _ s: String) -> Int64? { Array(s.utf8).withByteView { X509.time(tag, $0) } }
        #expect(t(0x17, "491231235959Z") == 2_524_607_999, "UTCTime years below 50 are 20xx")
        #expect(t(0x17, "500101000000Z") == -631_152_000, "50 and above are 19xx")
        #expect(t(0x18, "20380119031408Z") == 2_147_483_648)
        #expect(t(0x18, "20380119031408.123Z") == 2_147_483_648)
        #expect(t(0x17, "2601010000Z") == 1_767_225_600, "seconds are optional in UTCTime")
        for bad in ["", "26", "2601010000+0900", "26130100000Z", "26x1010000Z", "260101000000"] {
            #expect(t(0x17, bad) == nil, "\(bad)")
        }
        #expect(t(0x04, "260101000000Z") == nil)
    }

    @Test func elementFraming() {
        // High tag number, indefinite length, 4-byte length, length past the end: refused.
        for bytes: [UInt8] in [[0x1f, 0x01, 0x00], [0x30, 0x80, 0x00, 0x00], [0x30, 0x84, 0, 0, 0, 1, 0], [0x30, 0x05, 1, 2]] {
            bytes.withByteView { #expect(X509.element($0, at: 0) == nil, "\(bytes)") }
        }
        [0x04, 0x82, 0x00, 0x01, 0xaa].withByteView { v in
            let e = X509.element(v, at: 0)
            #expect(e?.tag == 0x04 && e?.content.count == 1 && e?.end == 5)
        }
    }
}
