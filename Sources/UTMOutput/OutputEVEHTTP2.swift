import UTMCore
import UTMAppLayer

extension EVEWriter {
    /// Suricata's `http` event for one HTTP/2 stream (client → server): the HTTP/1 fields it
    /// shares, `protocol` "HTTP/2", and `http2` with the stream id and both header lists.
    public mutating func writeHTTP2(_ parser: HTTP2Parser, stream i: Int, time: Timestamp, _ e: EVEEndpoints) {
        guard isEnabled(.http) else { return }
        let s = parser.stream(i)
        begin(.http, time: time, e)
        json.key("http"); json.beginObject()
        writeHTTP2Fields(parser, stream: i)
        headerList("request_headers", parser, i, response: false, s.request)
        headerList("response_headers", parser, i, response: true, s.response)
        json.endObject()
        end()
    }

    /// The `http` object's fields of an HTTP/2 stream without the header lists (the event's,
    /// and an alert's metadata).
    mutating func writeHTTP2Fields(_ parser: HTTP2Parser, stream i: Int) {
        let s = parser.stream(i)
        let hostField = s.request.authority.isPresent ? s.request.authority : s.request.host
        parser.withField(i, response: false, hostField) { v in
            // "host:port" → host (a bracketed IPv6 literal keeps its brackets).
            var end = v.count
            if v.u8(0) != UInt8(ascii: "["), let colon = v.firstIndex(of: UInt8(ascii: ":")) { end = colon }
            field("hostname", v.prefix(end))
        }
        parser.withField(i, response: false, s.request.path) { field("url", $0) }
        parser.withField(i, response: false, s.request.userAgent) { field("http_user_agent", $0) }
        parser.withField(i, response: true, s.response.contentType) { field("http_content_type", $0) }
        parser.withField(i, response: false, s.request.referer) { field("http_refer", $0) }
        parser.withField(i, response: false, s.request.method) { field("http_method", $0) }
        json.key("protocol"); json.string("HTTP/2")
        let status = s.response.statusCode
        if status > 0 { json.key("status"); json.int(status) }
        parser.withField(i, response: true, s.response.location) { field("redirect", $0) }
        json.key("length"); json.int(s.response.dataBytes)
        if s.request.dataBytes > 0 { json.key("request_body_length"); json.int(s.request.dataBytes) }
        json.key("http2"); json.beginObject()
        json.key("stream_id"); json.uint(UInt64(s.id))
        json.key("request"); json.beginObject(); json.endObject()
        json.key("response"); json.beginObject(); json.endObject()
        json.endObject()
    }

    mutating func headerList(_ key: StaticString, _ parser: HTTP2Parser, _ i: Int, response: Bool, _ side: HTTP2Side) {
        guard !side.headers.isEmpty else { return }
        json.key(key); json.beginArray()
        var k = 0
        while k < side.headers.count {
            let h = side.headers[k]
            json.beginObject()
            parser.withField(i, response: response, h.name) { json.key("name"); json.string($0) }
            parser.withField(i, response: response, h.value) { json.key("value"); json.string($0) }
            json.endObject()
            k += 1
        }
        json.endArray()
    }
}
