import Testing
@testable import UTMCore

@Suite struct ByteViewTests {
    @Test func readsAreBoundsChecked() {
        let bytes: [UInt8] = [0x01, 0x02, 0x03, 0x04, 0x05]
        bytes.withByteView { v in
            #expect(v.u8(0) == 1)
            #expect(v.u8(5) == nil)
            #expect(v.u8(-1) == nil)
            #expect(v.u16(3) == 0x0405)
            #expect(v.u16(4) == nil)
            #expect(v.u32(1) == 0x0203_0405)
            #expect(v.u32(2) == nil)
            #expect(v.u24(2) == 0x03_0405)
            #expect(v.slice(2, 3)?.bytes == [3, 4, 5])
            #expect(v.slice(2, 4) == nil)
            #expect(v.slice(6, 0) == nil)
            #expect(v.suffix(from: 5)?.count == 0)
            #expect(v.suffix(from: 6) == nil)
            #expect(v.prefix(99).count == 5)
            #expect(v.dropFirst(99).isEmpty)
        }
    }

    @Test func searching() {
        Array("GET /index.html HTTP/1.1\r\nHost: x\r\n".utf8).withByteView { v in
            #expect(v.firstIndex(of: UInt8(ascii: " ")) == 3)
            #expect(v.firstIndex(of: ("\r\n" as StaticString).byteView) == 24)
            #expect(v.startsCaseInsensitive(with: ("get /" as StaticString).byteView))
            #expect(!v.starts(with: ("get" as StaticString).byteView))
            #expect(v.firstIndex(of: ("zz" as StaticString).byteView) == nil)
        }
    }

    /// The eight-bytes-a-step scan must agree with a byte loop for every start, length and
    /// needle, including bytes whose borrow crosses into the next lane (0x00, 0x01, 0x80, 0xff
    /// next to each other) and a match in the tail after the last full word.
    @Test func byteScanAgreesWithByteLoop() {
        let bytes: [UInt8] = [0x00, 0x01, 0x80, 0xff, 0x41, 0x61, 0x5a, 0x7a, 0x20, 0x00,
                              0x01, 0x01, 0x41, 0xc1, 0x61, 0xe1, 0x7f, 0x60, 0x40, 0x5b, 0x4d]
        let needles: [UInt8] = [0x00, 0x01, 0x80, 0xff, 0x41, 0x61, 0x7a, 0x6d, 0x60, 0x33]
        for n in 0...bytes.count {
            Array(bytes.prefix(n)).withByteView { v in
                for from in 0...n {
                    for b in needles {
                        let exact = (from..<n).first { bytes[$0] == b }
                        #expect(v.firstIndex(of: b, from: from) == exact, "byte \(b) from \(from) in \(n)")
                        guard b >= 0x61 && b <= 0x7a else { continue }
                        let folded = (from..<n).first { bytes[$0] == b || bytes[$0] == b - 0x20 }
                        #expect(v.firstIndex(ofLetterIgnoringCase: b, from: from) == folded,
                                "letter \(b) from \(from) in \(n)")
                    }
                }
            }
        }
    }
}

@Suite struct IPAddressTests {
    @Test func formatsLikeInetNtop() {
        #expect(IPAddress("192.168.1.10")?.description == "192.168.1.10")
        #expect(IPAddress("2001:db8::1")?.description == "2001:db8::1")
        #expect(IPAddress("2001:db8:0:0:1:0:0:1")?.description == "2001:db8::1:0:0:1")
        #expect(IPAddress("::")?.description == "::")
        #expect(IPAddress("::1")?.description == "::1")
        #expect(IPAddress("fe80::1:2:3:4")?.description == "fe80::1:2:3:4")
        #expect(IPAddress("1:2:3:4:5:6:7:8")?.description == "1:2:3:4:5:6:7:8")
        #expect(IPAddress("1:0:3:4:5:6:7:8")?.description == "1:0:3:4:5:6:7:8")
        #expect(IPAddress("::ffff:10.0.0.1")?.description == "::ffff:10.0.0.1")
        #expect(IPAddress("1.2.3") == nil)
        var expanded: [UInt8] = []
        IPAddress("2001:db8:85a3::8a2e:370:8334")!.writeExpanded { expanded.append($0) }
        #expect(String(decoding: expanded, as: UTF8.self) == "2001:0db8:85a3:0000:0000:8a2e:0370:8334")
        #expect(IPAddress("1::2::3") == nil)
    }
}

@Suite struct JSONWriterTests {
    func render(_ body: (inout JSONWriter) -> Void) -> String {
        var w = JSONWriter()
        body(&w)
        return String(decoding: w.buffer, as: UTF8.self)
    }

    @Test func nestedObjectsAndArrays() {
        let s = render { w in
            w.beginObject()
            w.key("a"); w.int(-5)
            w.key("b"); w.beginArray(); w.int(1); w.string("x" as StaticString)
            w.beginObject(); w.key("c"); w.bool(true); w.endObject(); w.endArray()
            w.key("d"); w.beginObject(); w.endObject()
            w.key("e"); w.null()
            w.endObject()
        }
        #expect(s == #"{"a":-5,"b":[1,"x",{"c":true}],"d":{},"e":null}"#)
    }

    @Test func escapesHostileBytes() {
        let s = render { w in
            [0x41, 0x22, 0x5c, 0x0a, 0x01, 0xff].withByteView { w.string($0) }
        }
        #expect(s == #""A\"\\\n\u0001\u00ff""#)
    }

    @Test func timestamps() {
        let s = render { w in w.timestamp(Timestamp(seconds: 1_700_000_000, micros: 42)) }
        #expect(s == "\"2023-11-14T22:13:20.000042+0000\"")
        let leap = render { w in w.timestamp(Timestamp(seconds: 951_782_400, micros: 0)) }
        #expect(leap == "\"2000-02-29T00:00:00.000000+0000\"")
    }
}

@Suite struct FieldStoreTests {
    @Test func capacityIsNeverExceeded() {
        var s = FieldStore(capacity: 8)
        let f = Array("hello".utf8).withByteView { s.append($0) }
        let g = Array("world!".utf8).withByteView { s.append($0) }
        #expect(s.string(f) == "hello")
        #expect(s.string(g) == "wor")
        #expect(s.truncated)
        #expect(s.used == 8)
        s.reset()
        #expect(s.used == 0 && !s.truncated)
        var h = Array("ab".utf8).withByteView { s.append($0) }
        h = Array("cd".utf8).withByteView { s.extend(h, with: $0) }
        #expect(s.string(h) == "abcd")
        #expect(s.string(.absent) == nil)
    }
}

@Suite struct ByteSlabTests {
    @Test func writesStayInBounds() {
        let slab = ByteSlab(capacity: 8)
        let ok = [1, 2, 3].withByteView { slab.write($0, at: 5) }
        let tooFar = [1, 2, 3].withByteView { slab.write($0, at: 6) }
        #expect(ok && !tooFar)
        #expect(slab.view(5, 3)?.bytes == [1, 2, 3])
        #expect(slab.view(6, 3) == nil)
        #expect(slab.move(from: 5, to: 0, count: 3))
        #expect(slab.view(0, 3)?.bytes == [1, 2, 3])
        #expect(!slab.move(from: 6, to: 0, count: 3))
        #expect(slab.read(8) == nil && !slab.write(UInt8(1), at: 8))
    }
}
