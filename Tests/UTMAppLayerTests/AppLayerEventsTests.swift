import Testing
import UTMCore
import UTMInflate
@testable import UTMAppLayer

/// Suricata's names of the events set in `e` for `proto`, for readable expectations.
private func names(_ e: AppLayerEvents, _ proto: AppProto) -> Set<String> {
    var out = Set<String>()
    for bit in 0 ..< 64 where e.rawValue & (1 << UInt64(bit)) != 0 {
        out.insert(AppLayerEvents.name(proto: proto, bit: bit).map { "\($0)" } ?? "bit\(bit)")
    }
    return out
}

/// Feeds HTTP/1 segments in pieces of `piece` bytes (nil: whole), ORing what each feed raised
/// (the engine reads `appEvents` after every feed the same way).
private func httpEvents(_ segs: [(Direction, [UInt8])], piece: Int? = nil, finish: Bool = false) -> AppLayerEvents {
    var p = HTTPParser()
    var all = AppLayerEvents()
    for (d, bytes) in segs {
        let n = piece ?? max(1, bytes.count)
        var off = 0
        while off < bytes.count {
            let end = min(bytes.count, off + n)
            bytes[off ..< end].withByteView { p.feed($0, direction: d, gap: false) { _ in } }
            all.formUnion(p.appEvents)
            off = end
        }
    }
    if finish { p.finish(); all.formUnion(p.appEvents) }
    return all
}

private func http(_ segs: [(Direction, String)]) -> Set<String> {
    names(httpEvents(segs.map { ($0.0, Array($0.1.utf8)) }), .http)
}

private let okResponse = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"

@Suite struct AppLayerEventsTests {
    // MARK: Names

    @Test func namesAreUniqueAndLookupRoundTrips() {
        for proto in AppProto.allCases {
            guard let table = AppLayerEvents.names(proto) else { continue }
            #expect(table.count <= AppLayerEvents.firstGenericBit)
            var seen = Set<String>()
            for (bit, name) in table.enumerated() {
                let s = "\(name)"
                #expect(seen.insert(s).inserted, "duplicate \(proto).\(s)")
                let found = AppLayerEvents.lookup(Substring("\(proto.eveName).\(s)"))
                #expect(found?.proto == proto && found?.bit == bit, "\(proto).\(s)")
                // Rules name events in any case.
                let upper = AppLayerEvents.lookup(Substring("\(proto.eveName).\(s.uppercased())"))
                #expect(upper?.bit == bit)
            }
        }
        for bit in AppLayerEvents.firstGenericBit ..< 64 {
            guard let name = AppLayerEvents.name(proto: .http, bit: bit) else { continue }
            let found = AppLayerEvents.lookup(Substring("\(name)"))
            #expect(found?.proto == nil && found?.bit == bit)
        }
        #expect(AppLayerEvents.lookup("http.request_field_missing_colon")?.bit == 1)
        #expect(AppLayerEvents.lookup("dns.not_a_request")?.bit == AppLayerEvents.lookup("dns.not_request")?.bit)
        // Events no parser here detects, and unknown protocols, are not found (rule skipped).
        #expect(AppLayerEvents.lookup("http.multipart_generic_error") == nil)
        #expect(AppLayerEvents.lookup("dns.state_memcap_reached") == nil)
        #expect(AppLayerEvents.lookup("modbus.flooded") == nil)
        #expect(AppLayerEvents.lookup("applayer_no_tls_after_starttls") == nil)
        #expect(AppLayerEvents.lookup("http.") == nil)
    }

    // MARK: HTTP/1

    @Test func cleanHTTPRaisesNothing() {
        let req = "GET /a?b=c HTTP/1.1\r\nHost: www.example.com:8080\r\nUser-Agent: x\r\n"
            + "Content-Type: text/plain\r\nX-Fold: a\r\n b\r\n\r\n"
        let post = "POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
        let resp = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n"
            + "Transfer-Encoding: chunked\r\n\r\n"
        let gz = Deflate.compress(Array("hello".utf8), format: .gzip)
        let chunk = Array(String(gz.count, radix: 16).utf8) + [13, 10] + gz + Array("\r\n0\r\n\r\n".utf8)
        let segs: [(Direction, [UInt8])] = [
            (.toServer, Array((req + post).utf8)),
            (.toClient, Array(resp.utf8) + chunk + Array(okResponse.utf8)),
        ]
        for piece in [nil, 1, 2, 3, 7] as [Int?] {
            #expect(httpEvents(segs, piece: piece, finish: true).isEmpty, "piece \(String(describing: piece))")
        }
        // HTTP/1.0 needs no Host; an absolute target with the same host (any case) is not ambiguous.
        #expect(http([(.toServer, "GET / HTTP/1.0\r\n\r\n"), (.toServer, "GET http://A.b/ HTTP/1.1\r\nHost: a.B\r\n\r\n")]).isEmpty)
    }

    @Test func requestHeaderEvents() {
        #expect(http([(.toServer, "GET / HTTP/1.1\r\nHost: a\r\nNoColonHere\r\n\r\n")]) == ["request_field_missing_colon"])
        #expect(http([(.toServer, "GET / HTTP/1.1\r\nHost: a\r\nName : v\r\n\r\n")]) == ["request_header_invalid"])
        #expect(http([(.toServer, "GET / HTTP/1.1\r\n  Host: a\r\n\r\n")]).contains("invalid_request_field_folding"))
        #expect(http([(.toServer, "GET / HTTP/1.1\r\n\r\n")]) == ["missing_host_header"])
        // Past our 4 KiB line limit but within libhtp's 9000: cut here, no anomaly for Suricata.
        let long = "GET / HTTP/1.1\r\nHost: a\r\nCookie: " + String(repeating: "a", count: 5000) + "\r\n\r\n"
        #expect(http([(.toServer, long)]).isEmpty)
        let tooLong = "GET / HTTP/1.1\r\nHost: a\r\nX: " + String(repeating: "a", count: 9000) + "\r\n\r\n"
        #expect(http([(.toServer, tooLong)]) == ["request_field_too_long"])
        #expect(names(httpEvents([(.toServer, Array(tooLong.utf8))], piece: 1000), .http) == ["request_field_too_long"])
        let longLine = "GET /" + String(repeating: "a", count: 9000) + " HTTP/1.1\r\nHost: a\r\n\r\n"
        #expect(http([(.toServer, longLine)]) == ["request_field_too_long"])
        #expect(http([(.toServer, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1x\r\n\r\n")]) == ["invalid_content_length_field_in_request"])
        #expect(http([(.toServer, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx")])
                == ["duplicate_content_length_field_in_request"])
        // The same length twice is not a conflict.
        #expect(http([(.toServer, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx")]).isEmpty)
        #expect(http([(.toServer, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n")])
                == ["invalid_transfer_encoding_value_in_request"])
        #expect(http([(.toServer, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")])
                == ["invalid_request_chunk_len"])
        #expect(http([(.toServer, "POST / HTTP/1.1\r\nHost: a\r\nContent-Encoding: br\r\nContent-Length: 0\r\n\r\n")])
                == ["abnormal_ce_header"])
    }

    @Test func requestLineAndAuthorityEvents() {
        #expect(http([(.toServer, "GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n")]) == ["method_delim_non_compliant"])
        #expect(http([(.toServer, "GET /\tHTTP/1.1\r\nHost: a\r\n\r\n")]) == ["uri_delim_non_compliant"])
        #expect(http([(.toServer, "GET / HTTP/1.2\r\nHost: a\r\n\r\n")]) == ["request_line_invalid"])
        #expect(http([(.toServer, "GET /x\r\n")]) == ["request_line_missing_protocol"])
        #expect(http([(.toServer, "CONNECT host:https HTTP/1.1\r\nHost: host:443\r\n\r\n")]) == ["invalid_server_port_in_request"])
        #expect(http([(.toServer, "CONNECT host:443 HTTP/1.1\r\nHost: host:443\r\n\r\n")]).isEmpty)
        #expect(http([(.toServer, "GET http://a:99999/ HTTP/1.1\r\nHost: a\r\n\r\n")]) == ["invalid_authority_port"])
        #expect(http([(.toServer, "GET http:/// HTTP/1.1\r\nHost: a\r\n\r\n")]).contains("request_uri_host_invalid"))
        #expect(http([(.toServer, "GET / HTTP/1.1\r\nHost: a:x1\r\n\r\n")]) == ["request_header_host_invalid"])
        #expect(http([(.toServer, "GET / HTTP/1.1\r\nHost: [::1]:65536\r\n\r\n")]) == ["request_header_host_invalid"])
        #expect(http([(.toServer, "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n")]).isEmpty)
        #expect(http([(.toServer, "GET http://a/ HTTP/1.1\r\nHost: b\r\n\r\n")]) == ["host_header_ambiguous"])
    }

    @Test func responseEvents() {
        let get = (Direction.toServer, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(http([get, (.toClient, "HTTP/1.1 200 OK\r\nBad\r\nContent-Length: 0\r\n\r\n")]) == ["response_field_missing_colon"])
        #expect(http([get, (.toClient, "HTTP/1.1 200 OK\r\nA : c\r\nContent-Length: 0\r\n\r\n")]) == ["response_header_invalid"])
        #expect(http([get, (.toClient, "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n")]) == ["invalid_content_length_field_in_response"])
        #expect(http([get, (.toClient, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nContent-Length: 3\r\n\r\n")])
                == ["duplicate_content_length_field_in_response"])
        #expect(http([get, (.toClient, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\n")]) == ["invalid_response_chunk_len"])
        #expect(http([get, (.toClient, "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n")])
                == ["response_abnormal_transfer_encoding"])
        #expect(http([get, (.toClient, "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 0\r\n\r\n")])
                == ["invalid_transfer_encoding_value_in_response"])
        #expect(http([get, (.toClient, "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")]) == ["response_chunked_old_proto"])
        #expect(http([get, (.toClient, "HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n")]) == ["response_invalid_protocol"])
        #expect(http([get, (.toClient, "HTTP/1.1 099 Odd\r\nContent-Length: 0\r\n\r\n")]) == ["response_invalid_status"])
        #expect(http([get, (.toClient, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n" + okResponse)])
                == ["100_continue_already_seen"])
        // One 100 Continue per request is normal, also on the next request.
        #expect(http([get, get, (.toClient, "HTTP/1.1 100 Continue\r\n\r\n" + okResponse + "HTTP/1.1 100 Continue\r\n\r\n" + okResponse)]).isEmpty)
        #expect(http([(.toClient, okResponse)]) == ["unable_to_match_response_to_request"])
        #expect(http([get, (.toClient, okResponse + okResponse)]) == ["unable_to_match_response_to_request"])
        let bad: [UInt8] = [UInt8](repeating: 0xff, count: 16)
        let resp = Array("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 16\r\n\r\n".utf8) + bad
        #expect(names(httpEvents([(.toServer, Array(get.1.utf8)), (.toClient, resp)]), .http) == ["gzip_decompression_failed"])
    }

    /// Every event the same for any split of the stream (the parser is byte-driven), and
    /// truncated input never traps: each prefix of a message full of anomalies is fed.
    @Test func splitAndTruncatedInput() {
        let req = "GET\thttp://a:99999/ HTTP/1.1\r\nHost: b:x\r\nBad\r\nN : v\r\nContent-Length: 1x\r\n"
            + "Transfer-Encoding: gzip, chunked\r\n\r\nzz\r\n"
        let resp = "HTTP/1.0 100 Continue\r\n\r\nHTTP/1.0 100 Continue\r\n\r\nHTTP/1.0 200 OK\r\nContent-Length: 1\r\n"
            + "Content-Length: 2\r\nTransfer-Encoding: gzip, chunked\r\n\r\nq\r\n"
        let segs: [(Direction, [UInt8])] = [(.toServer, Array(req.utf8)), (.toClient, Array(resp.utf8))]
        let whole = httpEvents(segs)
        #expect(names(whole, .http).isSuperset(of: ["method_delim_non_compliant", "invalid_authority_port",
            "request_header_host_invalid", "host_header_ambiguous", "request_field_missing_colon", "request_header_invalid",
            "invalid_content_length_field_in_request", "invalid_request_chunk_len", "100_continue_already_seen",
            "duplicate_content_length_field_in_response", "response_abnormal_transfer_encoding",
            "response_chunked_old_proto", "invalid_response_chunk_len"]))
        for piece in 1 ... 9 {
            #expect(httpEvents(segs, piece: piece) == whole, "piece \(piece)")
        }
        for cut in 0 ... req.utf8.count {
            _ = httpEvents([(.toServer, Array(Array(req.utf8)[..<cut]))], finish: true)
        }
    }

    // MARK: TLS

    private func tls(client: [UInt8], server: [UInt8] = [], piece: Int? = nil) -> Set<String> {
        var p = TLSParser()
        var all = AppLayerEvents()
        for (d, bytes) in [(Direction.toServer, client), (.toClient, server)] {
            let n = piece ?? max(1, bytes.count)
            var off = 0
            while off < bytes.count {
                let end = min(bytes.count, off + n)
                bytes[off ..< end].withByteView { p.feed($0, direction: d, gap: false) }
                all.formUnion(p.takeAppEvents())
                off = end
            }
        }
        return names(all, .tls)
    }

    @Test func tlsEvents() {
        let hello = TLSBuild.records(TLSBuild.hello)
        #expect(tls(client: hello).isEmpty)
        #expect(tls(client: [0x30, 3, 1, 0, 1, 0]) == ["invalid_record_type"])
        #expect(tls(client: [22, 4, 1, 0, 1, 0]) == ["invalid_record_version"])
        #expect(tls(client: [22, 3, 3, 0x50, 0x01]) == ["invalid_record_length"])
        #expect(tls(client: hello + [24, 3, 3, 0, 3, 1, 0x40, 0]) == ["heartbeat_message"])
        // A hello and 255 empty alert records in one piece of stream; 254 are fine.
        let tiny: [UInt8] = [21, 3, 3, 0, 0]
        #expect(tls(client: hello + Array([[UInt8]](repeating: tiny, count: 255).joined())) == ["too_many_records_in_packet"])
        #expect(tls(client: hello + Array([[UInt8]](repeating: tiny, count: 254).joined())).isEmpty)
        let twoSNI = TLSBuild.clientHello(ciphers: [0x1301], extensions: [TLSBuild.sni, TLSBuild.sni])
        #expect(tls(client: TLSBuild.records(twoSNI)) == ["multiple_sni_extensions"])
        let badType = TLSBuild.ext(0, TLSBuild.u16(6) + [7] + TLSBuild.u16(3) + Array("abc".utf8))
        #expect(tls(client: TLSBuild.records(TLSBuild.clientHello(ciphers: [0x1301], extensions: [badType]))) == ["invalid_sni_type"])
        let badLen = TLSBuild.ext(0, TLSBuild.u16(6) + [0] + TLSBuild.u16(30) + Array("abc".utf8))
        #expect(tls(client: TLSBuild.records(TLSBuild.clientHello(ciphers: [0x1301], extensions: [badLen]))) == ["invalid_sni_length"])
        // A ClientHello whose cipher list runs past the message.
        var broken = TLSBuild.hello
        broken[4 + 2 + 32 + 1 + 32] = 0xff
        #expect(tls(client: TLSBuild.records(broken)) == ["invalid_handshake_message"])
        // A server Certificate whose entry claims more than the message holds.
        let sh = TLSBuild.serverHello(cipher: 0xc02f, extensions: [])
        let certBody: [UInt8] = [0, 0, 7, 0, 0, 9, 1, 2, 3, 4]
        let cert: [UInt8] = [11, 0, 0, UInt8(certBody.count)] + certBody
        #expect(tls(client: hello, server: TLSBuild.records(sh + cert)) == ["certificate_invalid_length"])
        // Any split gives the same events.
        let all = hello + [24, 3, 3, 0, 3, 1, 0x40, 0] + Array([[UInt8]](repeating: tiny, count: 300).joined())
        let whole = tls(client: all)
        #expect(whole == ["heartbeat_message", "too_many_records_in_packet"])
        for piece in [1, 2, 5, 13] { _ = tls(client: all, piece: piece) }
        #expect(tls(client: all, piece: 13).contains("heartbeat_message"))
        for cut in 0 ... broken.count + 5 { _ = tls(client: Array(TLSBuild.records(broken)[..<min(cut, broken.count + 5)])) }
    }

    // MARK: DNS

    @Test func dnsEvents() {
        var p = DNSParser()
        func udp(_ m: [UInt8], _ d: Direction) -> Set<String> {
            p.appEvents = []
            let ok = m.withByteView { p.parse($0) }
            if ok { p.noteDirection(d) }
            return names(p.takeAppEvents(), .dns)
        }
        #expect(udp(DNSBuild.query, .toServer).isEmpty)
        #expect(udp(DNSBuild.response, .toClient).isEmpty)
        #expect(udp(DNSBuild.response, .toServer) == ["not_request"])
        #expect(udp(DNSBuild.query, .toClient) == ["not_response"])
        var z = DNSBuild.query
        z[3] |= 0x40
        #expect(udp(z, .toServer) == ["z_flag_set"])
        var op = DNSBuild.query
        op[2] = (op[2] & 0x87) | (3 << 3)
        #expect(udp(op, .toServer) == ["invalid_opcode"])
        #expect(udp(Array(DNSBuild.query[..<7]), .toServer) == ["malformed_data"])
        #expect(udp(Array(DNSBuild.query.dropLast(3)), .toServer) == ["malformed_data"])
        let cutAnswer = Array(DNSBuild.response.dropLast(2))
        #expect(udp(cutAnswer, .toClient) == ["malformed_data"])
        for cut in 0 ... DNSBuild.response.count { _ = udp(Array(DNSBuild.response[..<cut]), .toClient) }

        // TCP: the message's direction comes from the stream; any split gives the same events.
        let framed = DNSBuild.u16(UInt16(DNSBuild.response.count)) + DNSBuild.response
        for piece in [1, 3, framed.count] {
            var t = DNSParser()
            var off = 0
            var all = AppLayerEvents()
            while off < framed.count {
                let end = min(framed.count, off + piece)
                framed[off ..< end].withByteView { t.feedStream($0, direction: .toServer, gap: false) { _, _ in } }
                all.formUnion(t.takeAppEvents())
                off = end
            }
            #expect(names(all, .dns) == ["not_request"])
        }
    }

    // MARK: SSH

    @Test func sshEvents() {
        func run(_ client: String, _ server: String = "SSH-2.0-OpenSSH_9.6\r\n", gap: Bool = false) -> Set<String> {
            var p = SSHParser()
            var all = AppLayerEvents()
            all.formUnion(Array(server.utf8).withByteView { p.feed($0, direction: .toClient, gap: false) }.anomalies(gap: false))
            all.formUnion(Array(client.utf8).withByteView { p.feed($0, direction: .toServer, gap: gap) }.anomalies(gap: gap))
            return names(all, .ssh)
        }
        #expect(run("SSH-2.0-PuTTY\r\n").isEmpty)
        #expect(run("GET / HTTP/1.1\r\n") == ["invalid_banner"])
        #expect(run("SSH-2.0-" + String(repeating: "x", count: 300) + "\r\n") == ["long_banner"])
        // Bytes lost are not an anomaly of the protocol (Suricata raises nothing for a gap).
        #expect(run("SSH-2.0-PuTTY\r\n", gap: true).isEmpty)
    }

    // MARK: HTTP/2

    @Test func http2Events() {
        func run(_ client: [UInt8], server: [UInt8] = []) -> Set<String> {
            var p = HTTP2Parser()
            var all = AppLayerEvents()
            client.withByteView { p.feed($0, direction: .toServer, gap: false) }
            all.formUnion(p.appEvents)
            server.withByteView { p.feed($0, direction: .toClient, gap: false) }
            all.formUnion(p.appEvents)
            return names(all, .http2)
        }
        let pre = HTTP2ParserTests.preface + HTTP2ParserTests.settings
        #expect(run(HTTP2ParserTests.client(HTTP2ParserTests.c3)).isEmpty)
        #expect(run(Array("PRI * HTTP/1.1\r\n\r\nSM\r\n\r\n".utf8)) == ["invalid_client_magic"])
        #expect(run(pre + HTTP2ParserTests.frame(0, 0, 0, [1, 2])) == ["data_stream_id_zero"])
        #expect(run(pre + HTTP2ParserTests.frame(4, 0, 0, [0, 1, 0])) == ["invalid_frame_length"])
        #expect(run(pre + HTTP2ParserTests.frame(3, 0, 1, [0, 0])) == ["invalid_frame_length"])
        #expect(run(pre + HTTP2ParserTests.frame(0, 0, 1, [UInt8](repeating: 0, count: 16385))) == ["long_frame_data"])
        #expect(run(pre + HTTP2ParserTests.frame(1, 0x8, 1, [200])) == ["invalid_frame_data"])
        // Index 0 is not valid HPACK (RFC 7541 §6.1).
        #expect(run(pre + HTTP2ParserTests.frame(1, 0x5, 1, [0x80])) == ["invalid_header"])
    }
}
