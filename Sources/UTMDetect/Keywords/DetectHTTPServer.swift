/// `http.server` (Suricata 7): sticky buffer of the response's Server header value (no name,
/// no CRLF), HTTP/1 and HTTP/2.
enum DetectHTTPServer {
    @Sendable static func sticky(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        try KW.noValue(v, "http.server")
        b.sticky = .httpServer
    }
}
