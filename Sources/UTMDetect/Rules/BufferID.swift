/// The inspection buffers a rule can match in: the packet/stream payload and every app-layer
/// field the parsers expose. A rule keeps one ordered match list per buffer it uses.
///
/// Raw values are dense so per-packet buffer tables are fixed arrays indexed by them.
public enum BufferID: UInt8, CaseIterable, Sendable, Hashable, Comparable {
    /// Packet payload or reassembled stream chunk (no sticky buffer, `pkt_data`).
    case payload = 0
    case httpURI, httpRawURI, httpHost, httpRawHost, httpMethod, httpUserAgent
    case httpHeader, httpRawHeader, httpCookie, httpClientBody, httpServerBody
    case httpStatCode, httpStatMsg, httpHeaderNames, httpAccept, httpAcceptEnc, httpAcceptLang
    case httpConnection, httpContentLen, httpContentType, httpReferer, httpRequestLine
    case httpResponseLine, httpStart, httpProtocol
    /// `file_data`: the file bytes of the transaction (HTTP response body, or upload body).
    case fileData
    case tlsSNI, tlsCertSubject, tlsCertIssuer, tlsCertSerial, tlsCertFingerprint
    case ja3Hash, ja3String, ja3sHash, ja3sString
    case dnsQuery
    /// SSH (one side's banner and KEXINIT, the side sending in the inspected direction):
    /// protocol and software versions, the client's HASSH and the server's HASSH-server.
    case sshProto, sshSoftware, sshHassh, sshHasshString, sshHasshServer, sshHasshServerString
    /// Suricata 6/7 HTTP header keywords (HTTP/1 and HTTP/2), appended here so compiled bundles
    /// keep their ids. `http.request_header` / `http.response_header`: one "name: value" per
    /// header, a multi-buffer (lines joined by CRLF in the table, matched line by line:
    /// `isMultiLine`); `http.server` / `http.location`: those response headers' values.
    case httpRequestHeader, httpResponseHeader, httpServer, httpLocation
    /// `base64_data`: where the builder collects the elements that follow it; `finish()` moves
    /// them into the rule's `base64_decode` element, so no match list and no engine buffer
    /// ever carry this id.
    case base64Data
    /// Suricata 7/8 keywords of session 7 (modernkw), appended so compiled bundles keep their
    /// ids. TLS: `ja4.hash` (the ClientHello's JA4, TLS and QUIC), `tls.random` (the hello's
    /// 32-byte random of the inspected side) and its `_time` (first 4) / `_bytes` (last 28)
    /// views, `tls.certs` (one DER certificate of the server's chain per inspection). QUIC:
    /// `quic.sni`, `quic.version` (the long header's 4 version bytes). DNS multi-buffers, one name
    /// per inspection: `dns.queries.rrname` (questions of requests and responses),
    /// `dns.answers.rrname` / `dns.answer.name` (answer records' names). SMB: the TREE_CONNECT
    /// path as `smb.share` (disk/printer) or `smb.named_pipe` (share type pipe).
    case ja4Hash, tlsRandom, tlsRandomTime, tlsRandomBytes, tlsCerts
    case quicSNI, quicVersion
    case dnsQueriesRRName, dnsAnswersRRName
    case smbShare, smbNamedPipe
    /// `tls.subjectaltname`: the server certificate's subjectAltName DNS names, one per
    /// inspection (a multi-buffer).
    case tlsSubjectAltName
    /// `tls.alpn` (Suricata 8): the ClientHello's ALPN protocol names one per inspection, or
    /// the ServerHello's selected one (a multi-buffer).
    case tlsALPN
    /// `file.name` (Suricata 7; also what the legacy `filename` and `fileext` compile to): the
    /// name of the file being transferred (HTTP: Content-Disposition's filename, else the
    /// request URI's path, as Suricata names HTTP files). Filled only at the file inspections
    /// (EngineDetectFiles.swift), never with the other HTTP buffers.
    case fileName
    /// `ip.src` / `ip.dst` (session 9, datasets): the packet's source / destination address, 4
    /// or 16 bytes in network order. The verifier reads them from `PacketFacts`, so no engine
    /// buffer table slot carries them (`isAddress`).
    case ipSrc, ipDst
    /// Session 9 (modernkw2), appended: the packet's raw headers (Suricata 6+'s `ipv4.hdr`,
    /// `ipv6.hdr` with its extension headers, `tcp.hdr` with options, `udp.hdr`, `icmpv4.hdr`,
    /// `icmpv6.hdr`), lent from the decoded packet (no copy) at the packet inspection point
    /// only, and only when a rule uses them (`isPacketHeader`, DetectHeaderBuffers.swift).
    case ipv4Header, ipv6Header, tcpHeader, udpHeader, icmpv4Header, icmpv6Header
    /// `dcerpc.stub_data` (session 12): the reassembled stub of a DCE/RPC call's side.
    case dcerpcStubData
    /// Session 12 (SMTP), appended: Suricata 8's `smtp.helo`, `smtp.mail_from`, `smtp.rcpt_to`
    /// (a multi-buffer: one recipient per inspection) and Suricata 7/8's `email.*` header
    /// values of the transaction's message (`email.received` a multi-buffer, one header per
    /// inspection). All are evaluated at the SMTP inspection point (`isSMTP`).
    case smtpHelo, smtpMailFrom, smtpRcptTo
    case emailFrom, emailSubject, emailTo, emailCc, emailDate, emailMessageID, emailXMailer, emailReceived
    /// `email.url`: one body URL per inspection (a multi-buffer).
    case emailURL

    public static let count = BufferID.allCases.count

    public static func < (a: BufferID, b: BufferID) -> Bool { a.rawValue < b.rawValue }

    /// Suricata's name for the buffer (the modern sticky-buffer spelling), for messages.
    public var name: String {
        switch self {
        case .payload: "pkt_data"
        case .httpURI: "http.uri"
        case .httpRawURI: "http.uri.raw"
        case .httpHost: "http.host"
        case .httpRawHost: "http.host.raw"
        case .httpMethod: "http.method"
        case .httpUserAgent: "http.user_agent"
        case .httpHeader: "http.header"
        case .httpRawHeader: "http.header.raw"
        case .httpCookie: "http.cookie"
        case .httpClientBody: "http.request_body"
        case .httpServerBody: "http.response_body"
        case .httpStatCode: "http.stat_code"
        case .httpStatMsg: "http.stat_msg"
        case .httpHeaderNames: "http.header_names"
        case .httpAccept: "http.accept"
        case .httpAcceptEnc: "http.accept_enc"
        case .httpAcceptLang: "http.accept_lang"
        case .httpConnection: "http.connection"
        case .httpContentLen: "http.content_len"
        case .httpContentType: "http.content_type"
        case .httpReferer: "http.referer"
        case .httpRequestLine: "http.request_line"
        case .httpResponseLine: "http.response_line"
        case .httpStart: "http.start"
        case .httpProtocol: "http.protocol"
        case .fileData: "file.data"
        case .tlsSNI: "tls.sni"
        case .tlsCertSubject: "tls.cert_subject"
        case .tlsCertIssuer: "tls.cert_issuer"
        case .tlsCertSerial: "tls.cert_serial"
        case .tlsCertFingerprint: "tls.cert_fingerprint"
        case .ja3Hash: "ja3.hash"
        case .ja3String: "ja3.string"
        case .ja3sHash: "ja3s.hash"
        case .ja3sString: "ja3s.string"
        case .dnsQuery: "dns.query"
        case .sshProto: "ssh.proto"
        case .sshSoftware: "ssh.software"
        case .sshHassh: "ssh.hassh"
        case .sshHasshString: "ssh.hassh.string"
        case .sshHasshServer: "ssh.hassh.server"
        case .sshHasshServerString: "ssh.hassh.server.string"
        case .httpRequestHeader: "http.request_header"
        case .httpResponseHeader: "http.response_header"
        case .httpServer: "http.server"
        case .httpLocation: "http.location"
        case .base64Data: "base64_data"
        case .ja4Hash: "ja4.hash"
        case .tlsRandom: "tls.random"
        case .tlsRandomTime: "tls.random_time"
        case .tlsRandomBytes: "tls.random_bytes"
        case .tlsCerts: "tls.certs"
        case .quicSNI: "quic.sni"
        case .quicVersion: "quic.version"
        case .dnsQueriesRRName: "dns.queries.rrname"
        case .dnsAnswersRRName: "dns.answers.rrname"
        case .smbShare: "smb.share"
        case .smbNamedPipe: "smb.named_pipe"
        case .tlsSubjectAltName: "tls.subjectaltname"
        case .tlsALPN: "tls.alpn"
        case .fileName: "file.name"
        case .ipSrc: "ip.src"
        case .ipDst: "ip.dst"
        case .ipv4Header: "ipv4.hdr"
        case .ipv6Header: "ipv6.hdr"
        case .tcpHeader: "tcp.hdr"
        case .udpHeader: "udp.hdr"
        case .icmpv4Header: "icmpv4.hdr"
        case .icmpv6Header: "icmpv6.hdr"
        case .dcerpcStubData: "dcerpc.stub_data"
        case .smtpHelo: "smtp.helo"
        case .smtpMailFrom: "smtp.mail_from"
        case .smtpRcptTo: "smtp.rcpt_to"
        case .emailFrom: "email.from"
        case .emailSubject: "email.subject"
        case .emailTo: "email.to"
        case .emailCc: "email.cc"
        case .emailDate: "email.date"
        case .emailMessageID: "email.message_id"
        case .emailXMailer: "email.x_mailer"
        case .emailReceived: "email.received"
        case .emailURL: "email.url"
        }
    }

    /// Whether the buffer is an HTTP transaction field (the rule then needs HTTP on the flow).
    public var isHTTP: Bool {
        (rawValue >= BufferID.httpURI.rawValue && rawValue <= BufferID.httpProtocol.rawValue)
            || (rawValue >= BufferID.httpRequestHeader.rawValue && rawValue <= BufferID.httpLocation.rawValue)
    }

    /// A multi-buffer (Suricata: one buffer per header): the engine lends the instances joined
    /// by CRLF, the prefilter scans them together, and the verifier runs the rule's list on
    /// each line alone, matching when one line matches.
    public var isMultiLine: Bool { self == .httpRequestHeader || self == .httpResponseHeader }
    /// TLS hello, certificate and QUIC buffers: all evaluated at the TLS inspection point (a
    /// QUIC flow's CRYPTO stream is TLS; `ja4.hash` serves both).
    public var isTLS: Bool {
        (rawValue >= BufferID.tlsSNI.rawValue && rawValue <= BufferID.ja3sString.rawValue)
            || (rawValue >= BufferID.ja4Hash.rawValue && rawValue <= BufferID.quicVersion.rawValue)
            || self == .tlsSubjectAltName || self == .tlsALPN
    }
    /// DNS names: `dns.query` and the session 7 multi-buffers.
    public var isDNS: Bool { self == .dnsQuery || self == .dnsQueriesRRName || self == .dnsAnswersRRName }
    /// A packet header buffer: filled at the packet inspection point only, never a prefilter
    /// buffer (no automaton scans headers; such rules are verified on each packet their
    /// header admits).
    public var isPacketHeader: Bool { rawValue >= BufferID.ipv4Header.rawValue && rawValue <= BufferID.icmpv6Header.rawValue }
    public var isSMB: Bool { self == .smbShare || self == .smbNamedPipe }
    /// `ip.src` / `ip.dst`: taken from the packet's addresses, in any inspection.
    public var isAddress: Bool { self == .ipSrc || self == .ipDst }
    public var isSMTP: Bool { rawValue >= BufferID.smtpHelo.rawValue && rawValue <= BufferID.emailURL.rawValue }
    public var isSSH: Bool { rawValue >= BufferID.sshProto.rawValue && rawValue <= BufferID.sshHasshServerString.rawValue }

    /// Prefilter priority when no content is marked `fast_pattern` (higher wins; Suricata
    /// registers every multi-pattern buffer at the same default priority, so length decides).
    public var prefilterPriority: Int { 2 }
}
