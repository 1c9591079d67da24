import Testing
import UTMCore
import UTMDetect
@testable import UTMEngine

/// File keywords after the session 9 review (EngineDetectFiles.swift): an HTTP/1 file is
/// followed by its transaction's sequence, not its position among the parser's pending
/// transactions (which shifts when a finished one is removed between packets); the HTTP/2
/// table has an entry for every stream a parser can hold; the digest pool has a context for
/// every file that can be open at once. Each case failed before the fix.
@Suite struct FileKeywordReviewTests {
    typealias F = FileKeywordEngineTests
    typealias B = HTTP2BodyEngineTests

    /// Pipelined: response 0 ends and response 1's body begins in one segment, the rest of
    /// body 1 comes in the next. Response 0 is removed after the first segment, so body 1's
    /// later chunks come under another position: the file was abandoned and restarted
    /// mid-body, and `filesize` never matched the truncated rest.
    @Test func pipelinedBodySpanningSegmentsIsOneFile() {
        let defs = F.definitions("""
            alert http any any -> any any (msg:"exact size"; fileext:"exe"; filesize:3002; sid:1;)
            alert http any any -> any any (msg:"name"; fileext:"exe"; sid:2;)
            alert http any any -> any any (msg:"md5"; filemd5:x.md5; sid:3;)
            """, lists: ["/rules/x.md5": "\(F.hex(F.digests(F.exe).md5, 16))\n"])
        let small = Array("tiny".utf8)
        let first = F.head(small.count) + small + F.head(F.exe.count) + Array(F.exe[0 ..< 1000])
        let second = Array(F.exe[1000...])
        let frames = B.session(sport: 48600, dport: 80, [(true, F.request("/a.txt") + F.request("/b.exe")), (false, first), (false, second)])
        let engine = Engine()
        engine.loadDetection(defs)
        let r = FirewallEngineTests.run(engine, frames)
        #expect(FirewallEngineTests.sids(r.events).sorted() == [1, 2, 3])
        #expect(engine.fileDetectStats.abandoned == 0)
        #expect(engine.fileDetectStats.files == 2)
    }

    /// Pipelined upload: request 1's body spans segments while response 0 completes in
    /// between (and is removed): the upload stays one file of 3002 bytes.
    @Test func pipelinedUploadSpanningSegmentsIsOneFile() {
        let defs = F.definitions("""
            alert http any any -> any any (msg:"upload size"; flow:to_server; filesize:3002; sid:1;)
            """)
        let req1 = F.request("/up.bin", method: "POST", body: F.exe)
        let part1 = F.request("/a.txt") + Array(req1[0 ..< (req1.count - 2000)])
        let part2 = Array(req1[(req1.count - 2000)...])
        let resp0 = F.head(4) + Array("tiny".utf8)
        let frames = B.session(sport: 48700, dport: 80, [(true, part1), (false, resp0), (true, part2), (false, F.head(0))])
        let engine = Engine()
        engine.loadDetection(defs)
        let r = FirewallEngineTests.run(engine, frames)
        #expect(FirewallEngineTests.sids(r.events).sorted() == [1])
        #expect(engine.fileDetectStats.abandoned == 0)
    }

    /// 8 HTTP/2 connections with 8 stalled streams each (one DATA byte, no END_STREAM) held
    /// the old 64-entry table shared by all flows: the next connection's download was not
    /// followed. Each parser slot's streams now have their own entries.
    @Test func stalledHTTP2StreamsDoNotStopOtherConnections() {
        let defs = F.definitions("""
            alert http any any -> any any (msg:"h2 exe"; fileext:"exe"; sid:1;)
            """)
        func get(_ stream: UInt32, _ path: String) -> [UInt8] {
            B.frame(1, 0x5, stream, [0x82, 0x86] + B.lit(":path", path) + B.lit(":authority", "dl.example"))
        }
        var frames: [[UInt8]] = []
        for c in 0 ..< 12 {
            var client = B.preface + B.frame(4, 0, 0, [])
            var server = B.frame(4, 0, 0, [])
            for k in 0 ..< 8 {
                let id = UInt32(2 * k + 1)
                client += get(id, "/p\(k)")
                server += B.frame(1, 0x4, id, [0x88]) + B.frame(0, 0, id, [0x41])
            }
            frames += B.session(sport: UInt16(32000 + c), [(true, client), (false, server)]).dropLast(2)
        }
        let client = B.preface + B.frame(4, 0, 0, []) + get(1, "/dl/tool.exe")
        let server = B.frame(4, 0, 0, []) + B.frame(1, 0x4, 1, [0x88]) + B.frame(0, 0x1, 1, F.exe)
        frames += B.session(sport: 33000, [(true, client), (false, server)])
        let engine = Engine()
        engine.loadDetection(defs)
        #expect(engine.fileDetect.h2.count == engine.config.maxHTTP2States * engine.config.http2.maxStreams * 2)
        let r = FirewallEngineTests.run(engine, frames)
        #expect(FirewallEngineTests.sids(r.events) == [1])
        #expect(engine.fileDetectStats.h2TracksExhausted == 0)
        #expect(engine.fileDetectStats.files == 12 * 8 + 1)
    }

    /// 100 stalled downloads (flows kept open, bodies unfinished) took every one of the old 64
    /// digest contexts: the next download's `filemd5` could not match. The pool now has a
    /// context per file that can be open at once; without hash rules it is not allocated.
    @Test func stalledDownloadsDoNotStarveHashRules() {
        let d = F.digests(F.exe)
        let defs = F.definitions("""
            alert http any any -> any any (msg:"md5"; filemd5:x.md5; sid:1;)
            """, lists: ["/rules/x.md5": "\(F.hex(d.md5, 16))\n"])
        var frames: [[UInt8]] = []
        for c in 0 ..< 100 {
            let s = B.session(sport: UInt16(30000 + c), dport: 80, [(true, F.request("/big")), (false, F.head(1_000_000) + [0x41])])
            frames += s.dropLast(2)
        }
        frames += F.download("/a.exe", F.exe, sport: 31000)
        let engine = Engine()
        engine.loadDetection(defs)
        let c = engine.config
        #expect(engine.fileDetect.pool.count == 2 * c.maxHTTPStates + c.maxHTTP2States * c.http2.maxStreams * 2)
        let r = FirewallEngineTests.run(engine, frames)
        #expect(FirewallEngineTests.sids(r.events) == [1])
        #expect(engine.fileDetectStats.digestPoolExhausted == 0)

        let names = Engine()
        names.loadDetection(F.definitions("alert http any any -> any any (msg:\"n\"; fileext:\"exe\"; sid:1;)"))
        #expect(names.fileDetect.active && names.fileDetect.pool.isEmpty, "no hash rule: no digest context")
    }
}
