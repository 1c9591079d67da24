/// `http.location` (Suricata 7): sticky buffer of the response's Location header value (no
/// name, no CRLF), HTTP/1 and HTTP/2.
enum DetectHTTPLocation {
    @Sendable static func sticky(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        try KW.noValue(v, "http.location")
        b.sticky = .httpLocation
    }
}
