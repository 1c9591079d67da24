/// A keyword's parser: reads the option value (nil when the option has no `:`) into the rule
/// being built, or throws why the rule cannot load.
public typealias KeywordParser = @Sendable (inout SignatureBuilder, Substring?) throws(RuleError) -> Void

/// What the loader does with a keyword.
public enum KeywordEntry: Sendable {
    case parse(KeywordParser)
    /// Known to Suricata but not implemented here: the rule is skipped with this reason.
    case unsupported(String)
    /// Accepted and without effect on matching (`tag`, `prefilter` hints).
    case ignored
}

/// Every rule keyword the loader knows, in one table (Suricata registers each keyword in one
/// table too). Adding a keyword: write `Detect<Keyword>.swift`, then add a line here.
public enum KeywordRegistry {
    public static let table: [String: KeywordEntry] = {
        var t: [String: KeywordEntry] = [
            // Metadata (DetectMetadata.swift)
            "msg": .parse(DetectMetadata.msg),
            "sid": .parse(DetectMetadata.sid),
            "rev": .parse(DetectMetadata.rev),
            "gid": .parse(DetectMetadata.gid),
            "classtype": .parse(DetectMetadata.classtype),
            "priority": .parse(DetectMetadata.priority),
            "metadata": .parse(DetectMetadata.metadata),
            "reference": .parse(DetectMetadata.reference),
            "target": .parse(DetectMetadata.target),
            "noalert": .parse(DetectMetadata.noalert),

            // Payload matching (DetectContent.swift, DetectContentPosition.swift, DetectFastPattern.swift)
            "content": .parse(DetectContent.content),
            "uricontent": .parse(DetectContent.uricontent),
            "nocase": .parse(DetectContent.nocase),
            "rawbytes": .parse(DetectContent.rawbytes),
            "startswith": .parse(DetectContent.startswith),
            "endswith": .parse(DetectContent.endswith),
            "depth": .parse(DetectContentPosition.depth),
            "offset": .parse(DetectContentPosition.offset),
            "distance": .parse(DetectContentPosition.distance),
            "within": .parse(DetectContentPosition.within),
            "fast_pattern": .parse(DetectFastPattern.fastPattern),
            "pcre": .parse(DetectPCRE.pcre),
            "isdataat": .parse(DetectIsDataAt.isdataat),
            "byte_test": .parse(DetectByteTest.byteTest),
            "byte_jump": .parse(DetectByteJump.byteJump),
            "byte_extract": .parse(DetectByteExtract.byteExtract),
            "dsize": .parse(DetectDsize.dsize),
            "urilen": .parse(DetectUrilen.urilen),
            "pkt_data": .parse(DetectBuffers.pktData),
            "asn1": .parse(DetectASN1.asn1),
            "ftpbounce": .parse(DetectFTPBounce.ftpbounce),
            "ftpdata_command": .parse(DetectFTPDataCommand.ftpdataCommand),

            // Flow (DetectFlow.swift, DetectFlowbits.swift)
            "flow": .parse(DetectFlow.flow),
            "flowbits": .parse(DetectFlowbits.flowbits),

            // Rate (DetectThreshold.swift)
            "threshold": .parse(DetectThreshold.threshold),
            "detection_filter": .parse(DetectThreshold.detectionFilter),

            // Packet headers (DetectIPHeader.swift)
            "flags": .parse(DetectIPHeader.flags),
            "itype": .parse(DetectIPHeader.itype),
            "icode": .parse(DetectIPHeader.icode),
            "icmp_id": .parse(DetectIPHeader.icmpID),
            "id": .parse(DetectIPHeader.id),
            "ip_proto": .parse(DetectIPHeader.ipProto),
            "ttl": .parse(DetectIPHeader.ttl),
            "stream_size": .parse(DetectIPHeader.streamSize),
            "ssl_version": .parse(DetectIPHeader.sslVersion),
            "ssl_state": .parse(DetectIPHeader.sslState),

            // SSH (DetectSSH*.swift, one file per keyword)
            "ssh.proto": .parse(DetectSSHProto.sticky("ssh.proto")),
            "ssh_proto": .parse(DetectSSHProto.sticky("ssh_proto")),
            "ssh.software": .parse(DetectSSHSoftware.sticky("ssh.software")),
            "ssh_software": .parse(DetectSSHSoftware.sticky("ssh_software")),
            "ssh.protoversion": .parse(DetectSSHProtoVersion.protoversion),
            "ssh.softwareversion": .parse(DetectSSHSoftwareVersion.softwareversion),
            "ssh.hassh": .parse(DetectSSHHassh.sticky),
            "ssh.hassh.string": .parse(DetectSSHHasshString.sticky),
            "ssh.hassh.server": .parse(DetectSSHHasshServer.sticky),
            "ssh.hassh.server.string": .parse(DetectSSHHasshServerString.sticky),

            // Session 6 keywords (keywords helper): one file each, Detect<Keyword>.swift.
            "bsize": .parse(DetectBsize.bsize),
            "byte_math": .parse(DetectByteMath.byteMath),
            "fragbits": .parse(DetectFragbits.fragbits),
            "fragoffset": .parse(DetectFragoffset.fragoffset),
            "seq": .parse(DetectSeq.seq),
            "ack": .parse(DetectAck.ack),
            "window": .parse(DetectWindow.window),
            "tos": .parse(DetectTos.tos),
            "ipopts": .parse(DetectIpopts.ipopts),
            "sameip": .parse(DetectSameip.sameip),
            "icmp_seq": .parse(DetectIcmpSeq.icmpSeq),
            "tcp.mss": .parse(DetectTcpMss.tcpMSS),
            "tcp.flags": .parse(DetectIPHeader.flags),
            "tls.version": .parse(DetectTLSVersion.tlsVersion),
            "dns.opcode": .parse(DetectDnsOpcode.dnsOpcode),
            // HTTP header keywords, session 6 (DetectHTTPRequestHeader.swift, DetectHTTPResponseHeader.swift,
            // DetectHTTPServer.swift, DetectHTTPLocation.swift)
            "http.request_header": .parse(DetectHTTPRequestHeader.sticky),
            "http.response_header": .parse(DetectHTTPResponseHeader.sticky),
            "http.server": .parse(DetectHTTPServer.sticky),
            "http.location": .parse(DetectHTTPLocation.sticky),

            // App-layer protocol, base64, host bits (session 6, appproto; one file per keyword)
            "app-layer-protocol": .parse(DetectAppLayerProtocol.appLayerProtocol),
            "base64_decode": .parse(DetectBase64Decode.base64Decode),
            "base64_data": .parse(DetectBase64Data.base64Data),
            "xbits": .parse(DetectXbits.xbits),
            "hostbits": .parse(DetectHostbits.hostbits),

            // Suricata 7/8 keywords of session 7 (modernkw): one file each, Detect<Keyword>.swift.
            "ja4.hash": .parse(DetectJA4Hash.sticky),
            "tls.random": .parse(DetectTLSRandom.sticky),
            "tls.random_time": .parse(DetectTLSRandomTime.sticky),
            "tls.random_bytes": .parse(DetectTLSRandomBytes.sticky),
            "tls.certs": .parse(DetectTLSCerts.sticky),
            "tls.cert_chain_len": .parse(DetectTLSCertChainLen.certChainLen),
            "quic.sni": .parse(DetectQUICSNI.sticky),
            "quic.version": .parse(DetectQUICVersion.sticky),
            "dns.queries.rrname": .parse(DetectDnsQueriesRRName.sticky),
            "dns.answers.rrname": .parse(DetectDnsAnswersRRName.sticky("dns.answers.rrname")),
            "dns.answer.name": .parse(DetectDnsAnswersRRName.sticky("dns.answer.name")),
            "smb.share": .parse(DetectSMBShare.sticky),
            "smb.named_pipe": .parse(DetectSMBNamedPipe.sticky),
            // Session 12: DCE/RPC over TCP, with Suricata 4's names as aliases.
            "dcerpc.iface": .parse(DetectDCERPCIface.iface("dcerpc.iface")),
            "dce_iface": .parse(DetectDCERPCIface.iface("dce_iface")),
            "dcerpc.opnum": .parse(DetectDCERPCOpnum.opnum("dcerpc.opnum")),
            "dce_opnum": .parse(DetectDCERPCOpnum.opnum("dce_opnum")),
            "dcerpc.stub_data": .parse(DetectDCERPCStubData.sticky("dcerpc.stub_data")),
            "dce_stub_data": .parse(DetectDCERPCStubData.sticky("dce_stub_data")),
            "smtp.helo": .parse(DetectSMTPHelo.sticky),
            "smtp.mail_from": .parse(DetectSMTPMailFrom.sticky),
            "smtp.rcpt_to": .parse(DetectSMTPRcptTo.sticky),
            "email.from": .parse(DetectEmailFrom.sticky),
            "email.subject": .parse(DetectEmailSubject.sticky),
            "email.to": .parse(DetectEmailTo.sticky),
            "email.cc": .parse(DetectEmailCc.sticky),
            "email.date": .parse(DetectEmailDate.sticky),
            "email.message_id": .parse(DetectEmailMessageID.sticky),
            "email.x_mailer": .parse(DetectEmailXMailer.sticky),
            "email.received": .parse(DetectEmailReceived.sticky),
            "email.url": .parse(DetectEmailURL.sticky),
            "tls.subjectaltname": .parse(DetectTLSSubjectAltName.sticky),
            "tls.alpn": .parse(DetectTLSALPN.sticky),
            "tls_cert_notbefore": .parse(DetectTLSCertValidity.dated(.notBefore, "tls_cert_notbefore")),
            "tls_cert_notafter": .parse(DetectTLSCertValidity.dated(.notAfter, "tls_cert_notafter")),
            "tls_cert_expired": .parse(DetectTLSCertValidity.state(.expired, "tls_cert_expired")),
            "tls_cert_valid": .parse(DetectTLSCertValidity.state(.valid, "tls_cert_valid")),
            // Google QUIC up to Q046 (cleartext CHLO in STREAM frames, its own header layout) is
            // the only place Suricata fills these; our QUIC parser reads IETF QUIC and Q050.
            "quic.ua": .unsupported("needs a Google QUIC (Q043-Q046) CHLO parser"),
            "quic.cyu.hash": .unsupported("needs a Google QUIC (Q043-Q046) CHLO parser"),
            "quic.cyu.string": .unsupported("needs a Google QUIC (Q043-Q046) CHLO parser"),

            // File keywords (session 9, filekw): one file each, DetectFile*.swift; judged at the
            // HTTP point's file phases (EngineDetectFiles.swift).
            "file.name": .parse(DetectFileName.sticky),
            "filename": .parse(DetectFileName.filename),
            "fileext": .parse(DetectFileExt.fileext),
            "filesize": .parse(DetectFileSize.filesize),
            "filemd5": .parse(DetectFileHash.keyword(.md5)),
            "filesha1": .parse(DetectFileHash.keyword(.sha1)),
            "filesha256": .parse(DetectFileHash.keyword(.sha256)),
            // libmagic descriptions differ between libmagic versions (Suricata's docs say so) and
            // no rule of the 2019 ET Open set uses it; a C dependency parsing hostile file heads
            // on the packet path is not worth that (README "File keywords, session 9").
            "filemagic": .unsupported("no libmagic (descriptions differ by libmagic version; see README)"),
            "file.magic": .unsupported("no libmagic (descriptions differ by libmagic version; see README)"),
            "filestore": .unsupported("no file store"),
            // Datasets (session 9, dataset): named sets looked up by a sticky buffer's bytes
            // (DetectDataset.swift, DetectDatarep.swift; tables in Engine/Datasets.swift), and
            // the address sticky buffers address lists need (DetectIPAddr.swift).
            "dataset": .parse(DetectDataset.dataset),
            "datarep": .parse(DetectDatarep.datarep),
            "ip.src": .parse(DetectIPAddr.sticky(.ipSrc)),
            "ip.dst": .parse(DetectIPAddr.sticky(.ipDst)),
            // Session 9 (modernkw2): Suricata 7/8 keywords, one file each, Detect<Keyword>.swift.
            "flowint": .parse(DetectFlowint.flowint),
            // Judged by RuleParser before the header (Suricata's pre-scan); here it only loads.
            "requires": .parse(DetectRequires.requires),
            "entropy": .parse(DetectEntropy.entropy),
            "dns.rrtype": .parse(DetectDNSRRType.rrtype),
            "dns.rcode": .parse(DetectDNSRRType.rcode),

            // Session 10: anomaly events of the decoder, the TCP stream and the app-layer
            // parsers (Detect*Event.swift; Suricata's *-events.rules).
            "decode-event": .parse(DetectDecodeEvent.decodeEvent),
            "stream-event": .parse(DetectStreamEvent.streamEvent),
            "app-layer-event": .parse(DetectAppLayerEvent.appLayerEvent),

            // Accepted, no effect on matching.
            "tag": .ignored,
            "prefilter": .ignored,

            // Known, not implemented: the rule is skipped and reported.
            "tls.store": .unsupported("certificate storage is not done here"),
            "lua": .unsupported("no Lua"), "luajit": .unsupported("no Lua"),
            "rpc": .unsupported("no RPC parser"),
            "replace": .unsupported("inline replace is not supported"),
            "iprep": .unsupported("no IP reputation"), "geoip": .unsupported("no GeoIP"),
            // Not a Suricata keyword (Suricata 6/7 have none by that name): the raw URI's length is
            // `urilen:N,raw`.
            "urilen_raw": .unsupported("not a Suricata keyword; use urilen:N,raw"),
        ]
        for (name, buffer) in DetectBuffers.contentModifiers {
            t[name] = .parse(DetectBuffers.modifier(buffer, name))
        }
        for (name, buffer) in DetectBuffers.stickyBuffers {
            t[name] = .parse(DetectBuffers.sticky(buffer, name))
        }
        // Packet header buffers (session 9, DetectHeaderBuffers.swift).
        for (name, buffer) in DetectHeaderBuffers.keywords {
            t[name] = .parse(DetectBuffers.sticky(buffer, name))
        }
        // Buffer transforms (Keywords/Transforms/, session 6): dotprefix, to_lowercase, xor...
        for (name, parser) in DetectTransforms.keywords {
            t[name] = .parse(parser)
        }
        for (name, why) in DetectTransforms.unsupported {
            t[name] = .unsupported(why)
        }
        return t
    }()
}
