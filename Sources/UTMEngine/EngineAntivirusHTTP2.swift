import UTMCore
import UTMAppLayer
import UTMAntivirus
import UTMOutput

/// The antivirus on HTTP/2: each stream's body (decoded by the parser when gzip/deflate) is one
/// file, as an HTTP/1 body is. Streams interleave, so sessions are kept per parser slot, stream
/// slot and direction (`EngineAVStage.h2Sessions`, sized at init); a session starts with a
/// body's first bytes (offset 0) and ends at END_STREAM (RST_STREAM: truncated), or early on a
/// body-signature hit. Verdicts, `fileinfo` and blocking go through `avReport` like HTTP/1
/// downloads; blocking resets the connection, every stream with it.
extension Engine {
    @inline(__always)
    func avHTTP2Index(_ h2: Int, _ stream: Int, _ d: Int) -> Int {
        (h2 &* config.http2.maxStreams &+ stream) &* 2 &+ d
    }

    /// One body piece (called from inside the HTTP/2 parser `h2`: must not touch `http2`).
    func avHTTP2Body(_ k: Int, _ h2: Int, _ body: HTTP2BodyChunk) {
        guard let scanner = av.scanner else { return }
        let d = body.response ? 1 : 0
        let x = avHTTP2Index(h2, body.stream, d)
        guard x >= 0 && x < av.h2Sessions.count else { return }
        if let s = av.h2Sessions[x] {
            if body.offset == 0 && !body.data.isEmpty {
                // A new body in a slot whose last one never ended: that one is cut here.
                av.h2Sessions[x] = nil
                endedHTTP2(s, d, body.stream, truncated: true)
            } else {
                if !body.data.isEmpty { s.feed(body.data) }
                if body.isLast {
                    av.h2Sessions[x] = nil
                    endedHTTP2(s, d, body.stream, truncated: body.truncated)
                }
                return
            }
        }
        // Only a body's first bytes start a file (the rest of one decided early stays unscanned).
        guard body.offset == 0, !body.data.isEmpty else { return }
        av.files[k].fileCount &+= 1
        av.stats.files &+= 1
        guard let s = scanner.begin() else {
            av.stats.sessionsExhausted &+= 1
            return
        }
        av.h2Sessions[x] = s
        s.feed(body.data)
    }

    func endedHTTP2(_ s: FileScanSession, _ d: Int, _ stream: Int, truncated: Bool) {
        avQueueEnded(s, d, tx: Int32(stream), truncated: truncated)
    }

    /// After a feed of HTTP/2 parser `h2`: files that ended, and files a body signature
    /// already decided while they stream. `enforce` false: the flow ends, every file still
    /// open is decided as truncated and nothing can be blocked.
    func avSettleHTTP2(_ k: Int, _ h2: Int, _ m: EVEEndpoints, time: Timestamp, enforce: Bool) {
        var j = 0
        while j < av.ended.count {
            let e = av.ended[j]
            avDecideHTTP2(k, h2, e.session, e.direction, stream: Int(e.tx), truncated: e.truncated, m, time: time,
                          enforce: enforce)
            j += 1
        }
        av.ended.removeAll(keepingCapacity: true)
        let first = avHTTP2Index(h2, 0, 0)
        let n = config.http2.maxStreams &* 2
        guard first >= 0 && first &+ n <= av.h2Sessions.count else { return }
        var x = first
        while x < first &+ n {
            if let s = av.h2Sessions[x], s.detection != nil || !enforce {
                av.h2Sessions[x] = nil
                let local = x &- first
                avDecideHTTP2(k, h2, s, local & 1, stream: local >> 1, truncated: true, m, time: time, enforce: enforce)
            }
            x &+= 1
        }
    }

    /// One HTTP/2 file: verdict and `fileinfo` with the stream's authority and path.
    func avDecideHTTP2(_ k: Int, _ h2: Int, _ s: FileScanSession, _ d: Int, stream: Int, truncated: Bool,
                       _ m: EVEEndpoints, time: Timestamp, enforce: Bool) {
        let result = s.end(truncated: truncated)
        s.release()
        var f = EVEFile()
        f.fileID = UInt64(av.files[k].fileCount)
        f.gaps = truncated
        let e = d == 0 ? m : m.reversed
        guard stream >= 0, stream < http2.items[h2].streams.count, http2.items[h2].streams[stream].isActive else {
            avReport(result, &f, e, time: time, enforce: enforce)
            return
        }
        let request = http2.items[h2].streams[stream].request
        let host = request.authority.isPresent ? request.authority : request.host
        http2.items[h2].withField(stream, response: false, host) { hv in
            http2.items[h2].withField(stream, response: false, request.path) { uri in
                f.hostname = hv
                f.url = uri
                f.filename = AVHeaders.lastPathSegment(uri)
                avReport(result, &f, e, time: time, enforce: enforce)
            }
        }
    }
}
