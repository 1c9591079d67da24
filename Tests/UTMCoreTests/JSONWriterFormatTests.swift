import Testing
import UTMCore

/// The fast paths of `JSONWriter` (one capacity check per key, number, address or timestamp,
/// digits written in place) must give the bytes the byte-by-byte writer gave: EVE consumers
/// match them as text.
@Suite struct JSONWriterFormatTests {
    func render(capacity: Int = 1 << 16, _ body: (inout JSONWriter) -> Void) -> String {
        var w = JSONWriter(capacity: capacity)
        body(&w)
        return String(decoding: w.buffer, as: UTF8.self)
    }

    @Test func numbersAtTheirEdges() {
        let s = render { w in
            w.beginArray()
            for v: UInt64 in [0, 9, 10, 99, 100, 65_535, 1 << 32, UInt64.max] { w.uint(v) }
            for v: Int64 in [-1, -10, Int64.min, Int64.max] { w.int(v) }
            w.endArray()
        }
        #expect(s == "[0,9,10,99,100,65535,4294967296,18446744073709551615,"
                   + "-1,-10,-9223372036854775808,9223372036854775807]")
    }

    @Test func addressesAsSuricataWritesThem() {
        let s = render { w in
            w.beginArray()
            w.ip(IPAddress(v4: 0)); w.ip(IPAddress(v4: 0xffff_ffff)); w.ip(IPAddress(v4: 0x0a00_6401))
            w.ip(IPAddress(v6Hi: 0x2001_0db8_0000_0000, lo: 0x0000_0000_00ab_0001))
            w.ip(IPAddress(v6Hi: 0, lo: 0))
            w.endArray()
        }
        #expect(s == #"["0.0.0.0","255.255.255.255","10.0.100.1","#
                   + #""2001:0db8:0000:0000:0000:0000:00ab:0001","#
                   + #""0000:0000:0000:0000:0000:0000:0000:0000"]"#)
    }

    @Test func keysHexAndMACs() {
        let s = render { w in
            w.beginObject()
            w.key("flags"); w.stringHex(0x8180, width: 4)
            w.key("tcp_flags"); w.stringHex(0x1b, width: 2)
            w.key(""); w.string("" as StaticString)
            w.key("type"); w.string("TYPE", decimal: 65_534)
            w.key("src_mac"); w.mac(MACAddress(value: 0x00_1b_2c_3d_4e_ff))
            w.endObject()
        }
        #expect(s == #"{"flags":"8180","tcp_flags":"1b","":"","type":"TYPE65534","#
                   + #""src_mac":"00:1b:2c:3d:4e:ff"}"#)
    }

    @Test func timestampsAcrossSeconds() {
        var w = JSONWriter()
        w.beginArray()
        w.timestamp(Timestamp(seconds: 1_700_000_000, micros: 0))
        w.timestamp(Timestamp(seconds: 1_700_000_000, micros: 999_999))
        w.timestamp(Timestamp(seconds: 1_700_000_001, micros: 5))
        w.timestamp(Timestamp(seconds: 1_700_000_001, micros: 6))
        w.endArray()
        #expect(String(decoding: w.buffer, as: UTF8.self)
                == #"["2023-11-14T22:13:20.000000+0000","2023-11-14T22:13:20.999999+0000","#
                 + #""2023-11-14T22:13:21.000005+0000","2023-11-14T22:13:21.000006+0000"]"#)
    }

    /// A writer reserved smaller than one event grows and loses nothing.
    @Test func growsPastItsFirstCapacity() {
        let small = render(capacity: 64) { w in
            for i in 0..<200 {
                w.beginObject()
                w.key("timestamp"); w.timestamp(Timestamp(seconds: 1_700_000_000 + Int64(i), micros: Int32(i)))
                w.key("src_ip"); w.ip(IPAddress(v6Hi: UInt64(i), lo: UInt64.max))
                w.key("n"); w.uint(UInt64.max - UInt64(i))
                w.endObject(); w.newline()
            }
        }
        let big = render(capacity: 1 << 20) { w in
            for i in 0..<200 {
                w.beginObject()
                w.key("timestamp"); w.timestamp(Timestamp(seconds: 1_700_000_000 + Int64(i), micros: Int32(i)))
                w.key("src_ip"); w.ip(IPAddress(v6Hi: UInt64(i), lo: UInt64.max))
                w.key("n"); w.uint(UInt64.max - UInt64(i))
                w.endObject(); w.newline()
            }
        }
        #expect(small == big)
        #expect(small.hasPrefix(#"{"timestamp":"2023-11-14T22:13:20.000000+0000","src_ip":"0000:0000:0000:0000:ffff:ffff:ffff:ffff","n":18446744073709551615}"#))
    }
}

@Suite struct ByteSlabFormatTests {
    @Test func formattersStayInBounds() {
        let slab = ByteSlab(capacity: 8)
        #expect(slab.writeDecimal(12_345, at: 3) == 5)
        #expect(slab.view(3, 5)?.bytes == Array("12345".utf8))
        #expect(slab.writeDecimal(123_456, at: 3) == 0)
        #expect(!slab.writeDecimal(7, width: 3, at: 6))
        #expect(slab.writeDecimal(7, width: 3, at: 5))
        #expect(slab.view(5, 3)?.bytes == Array("007".utf8))
        #expect(slab.writeHex(0xbeef, width: 4, at: 4) && !slab.writeHex(1, width: 4, at: 5))
        #expect(slab.view(4, 4)?.bytes == Array("beef".utf8))
        #expect(slab.writeQuoted("ab", colon: true, at: 3) == 5 && slab.writeQuoted("ab", colon: true, at: 4) == 0)
        #expect(slab.view(3, 5)?.bytes == Array(#""ab":"#.utf8))
        #expect(slab.write(word: 0x4847_4645_4443_4241, at: 0) && !slab.write(word: 0, at: 1))
        #expect(slab.view(0, 8)?.bytes == Array("ABCDEFGH".utf8))
        #expect(slab.writeDecimal(1, at: -1) == 0 && !slab.writeDecimal(1, width: 1, at: 9))
    }
}
