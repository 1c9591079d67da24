import UTMCore
import UTMAppLayer
import UTMCrypto
import UTMDetect

/// Session 7 (modernkw) detection hooks: the buffers of the Suricata 7/8 keywords the TLS,
/// QUIC, DNS and SMB parsers already had the bytes for. Each is filled only when a rule uses
/// it (`DetectEngine.uses`), into the fixed `InspectionBuffers` table: no allocation.
extension Engine {
    // MARK: TLS

    /// The ClientHello's session 7 buffers: JA4 and the client random (with its time and
    /// bytes parts).
    func fillClientHelloSession7(_ b: inout InspectionBuffers, _ d: DetectEngine, _ p: borrowing TLSParser,
                                 _ ch: TLSClientHello) {
        if ch.ja4.isPresent && d.uses(.ja4Hash) { p.withField(ch.ja4) { b[.ja4Hash] = $0 } }
        if ch.random.isPresent { p.withField(ch.random) { Engine.putRandom(&b, d, $0) } }
    }

    /// `tls.alpn` on the client's side: each offered protocol name in turn (TLS phase 4) with
    /// the ClientHello's buffers; a rule alerts once per hello.
    func detectClientALPN(_ d: DetectEngine, _ p: borrowing TLSParser, _ ch: TLSClientHello,
                          _ hello: InspectionBuffers, _ f: PacketFacts) {
        let slot = detectCursor.slot, time = detectCursor.time
        d.beginInstances()
        var buffers = hello
        p.forEachALPN(ch) { name in
            buffers[.tlsALPN] = name
            d.inspectApp(.tls, phase: 4, f, buffers: buffers, slot: slot, time: time) { s, alert in
                if d.firstInstanceMatch(s) { self.detectMatched(s, alert, f) }
            }
        }
    }

    /// `tls.random` and its `_time` (first 4 bytes) and `_bytes` (last 28) views.
    static func putRandom(_ b: inout InspectionBuffers, _ d: DetectEngine, _ random: ByteView) {
        guard random.count == 32 else { return }
        if d.uses(.tlsRandom) { b[.tlsRandom] = random }
        if d.uses(.tlsRandomTime), let t = random.slice(0, 4) { b[.tlsRandomTime] = t }
        if d.uses(.tlsRandomBytes), let r = random.slice(4, 28) { b[.tlsRandomBytes] = r }
    }

    /// The server's Certificate message (TLS phase 3): `tls.cert_chain_len` from the count,
    /// the leaf's subject, issuer, serial and fingerprint (when a rule uses them), then each
    /// certificate in turn as `tls.certs` and each subjectAltName DNS name as
    /// `tls.subjectaltname`; a rule alerts once for the message whichever instances matched
    /// (`DetectEngine.firstInstanceMatch`). The hello buffers are filled too, for rules that
    /// mix them with the certificates.
    func detectCertificates(_ d: DetectEngine, _ i: Int) {
        let p = tls.items[i]
        var buffers = InspectionBuffers()
        if let ch = p.clientHello {
            if ch.sni.isPresent { p.withField(ch.sni) { buffers[.tlsSNI] = $0 } }
            if ch.ja3Hash.isPresent { p.withField(ch.ja3Hash) { buffers[.ja3Hash] = $0 } }
            if ch.ja3.isPresent { p.withField(ch.ja3) { buffers[.ja3String] = $0 } }
        }
        if let sh = p.serverHello {
            if sh.ja3sHash.isPresent { p.withField(sh.ja3sHash) { buffers[.ja3sHash] = $0 } }
            if sh.ja3s.isPresent { p.withField(sh.ja3s) { buffers[.ja3sString] = $0 } }
            if sh.random.isPresent { p.withField(sh.random) { Engine.putRandom(&buffers, d, $0) } }
        }
        if p.certificateCount > 0 { p.withCertificate(0) { Engine.putLeafFields(&buffers, d, $0) } }
        var f = detectFacts(.toClient, app: .tls, stream: false)
        if let sh = p.serverHello { f.tlsVersion = sh.version != 0 ? sh.version : sh.legacyVersion }
        f.tlsCertCount = p.certificateCount
        if p.certificateCount > 0 {
            p.withCertificate(0) { leaf in
                if let l = X509.layout(leaf) { f.tlsCertNotBefore = l.notBefore; f.tlsCertNotAfter = l.notAfter }
            }
        }
        let slot = detectCursor.slot, time = detectCursor.time
        d.beginInstances()
        // Certificates lent: of a chain larger than the parser's buffer only those within its
        // head are (the count covers them all), so stop at the first one not lent.
        var n = d.uses(.tlsCerts) ? Swift.min(p.certificateCount, p.config.maxCertificates) : 0
        if n > 0 && p.withCertificate(0, { _ in true }) == nil { n = 0 }
        let sans = d.uses(.tlsSubjectAltName) && p.certificateCount > 0
        if n == 0 && !sans {
            d.inspectApp(.tls, phase: 3, f, buffers: buffers, slot: slot, time: time) { s, alert in
                self.detectMatched(s, alert, f)
            }
            return
        }
        var k = 0
        while k < n {
            guard p.withCertificate(k, { buffers[.tlsCerts] = $0 }) != nil else { break }
            d.inspectApp(.tls, phase: 3, f, buffers: buffers, slot: slot, time: time) { s, alert in
                if d.firstInstanceMatch(s) { self.detectMatched(s, alert, f) }
            }
            k &+= 1
        }
        if sans {
            // The leaf as tls.certs alongside its names, for rules that use both.
            if n > 0 { p.withCertificate(0) { buffers[.tlsCerts] = $0 } }
            var named = false
            p.withCertificate(0) { leaf in
                guard let layout = X509.layout(leaf) else { return }
                X509.forEachDNSName(layout.extensions, limit: Engine.maxSubjectAltNames) { name in
                    named = true
                    buffers[.tlsSubjectAltName] = name
                    d.inspectApp(.tls, phase: 3, f, buffers: buffers, slot: slot, time: time) { s, alert in
                        if d.firstInstanceMatch(s) { self.detectMatched(s, alert, f) }
                    }
                }
            }
            // A leaf without DNS names (no subjectAltName, IP addresses only, a self-signed C2
            // certificate with just a CN) or one that does not parse: the message is still
            // inspected once, or every tls.cert_subject/issuer/serial rule would miss it
            // whenever some loaded rule used tls.subjectaltname.
            if !named && n == 0 {
                buffers[.tlsSubjectAltName] = nil
                d.inspectApp(.tls, phase: 3, f, buffers: buffers, slot: slot, time: time) { s, alert in
                    if d.firstInstanceMatch(s) { self.detectMatched(s, alert, f) }
                }
            }
        }
    }

    /// subjectAltName DNS names inspected per certificate: real ones list up to a few
    /// hundred; more only makes a hostile certificate cost more.
    static let maxSubjectAltNames = 256

    /// The leaf certificate's `tls.cert_subject`, `tls.cert_issuer` (Suricata's
    /// "C=US, O=..., CN=..." form), `tls.cert_serial` ("0A:1B:...", upper case) and
    /// `tls.cert_fingerprint` (SHA-1 of the DER, "0a:1b:...", lower case), written into the
    /// worker's certificate scratch, each only when a rule uses it.
    static func putLeafFields(_ b: inout InspectionBuffers, _ d: DetectEngine, _ leaf: ByteView) {
        let wantName = d.uses(.tlsCertSubject) || d.uses(.tlsCertIssuer)
        let wantSerial = d.uses(.tlsCertSerial)
        let wantFingerprint = d.uses(.tlsCertFingerprint)
        guard wantName || wantSerial || wantFingerprint else { return }
        let quarter = DetectEngine.certScratchBytes / 4
        if wantName || wantSerial, let layout = X509.layout(leaf) {
            if d.uses(.tlsCertSubject) {
                var t = X509Text(slab: d.certScratch, start: 0, capacity: quarter)
                if X509.writeName(layout.subject, into: &t), !t.full { b[.tlsCertSubject] = t.view(from: t.start) }
            }
            if d.uses(.tlsCertIssuer) {
                var t = X509Text(slab: d.certScratch, start: quarter, capacity: quarter)
                if X509.writeName(layout.issuer, into: &t), !t.full { b[.tlsCertIssuer] = t.view(from: t.start) }
            }
            if wantSerial && !layout.serial.isEmpty {
                var t = X509Text(slab: d.certScratch, start: 2 &* quarter, capacity: quarter)
                X509.writeHex(layout.serial, separator: UInt8(ascii: ":"), upper: true, into: &t)
                if !t.full { b[.tlsCertSerial] = t.view(from: t.start) }
            }
        }
        if wantFingerprint {
            d.certDigest.begin(.sha1)
            d.certDigest.update(leaf)
            let digest = d.certDigest.finish()
            guard digest.kinds.contains(.sha1) else { return }
            var t = X509Text(slab: d.certScratch, start: 3 &* quarter, capacity: quarter)
            let raw = t.start
            var k = 0
            while k < 20 { d.certScratch.write(digest.sha1[k], at: raw &+ 128 &+ k); k &+= 1 }
            if let bytes = d.certScratch.view(raw &+ 128, 20) {
                X509.writeHex(bytes, separator: UInt8(ascii: ":"), upper: false, into: &t)
                if !t.full { b[.tlsCertFingerprint] = t.view(from: raw) }
            }
        }
    }

    // MARK: QUIC

    /// A QUIC flow's hellos (from the CRYPTO stream's TLS): `quic.sni`, `quic.version`,
    /// `ja4.hash`, `ja3.*` and the randoms with the ClientHello (TLS point, phase 1), the
    /// version, `ja3s.*` and the server random with the ServerHello (phase 2). The facts say
    /// QUIC, so only quic (or app-less) rules match.
    func detectQUIC(_ state: QUICFlowState) {
        guard let d = detect, detectCursor.slot >= 0 else { return }
        let events = state.tls.takeEvents()
        let slot = detectCursor.slot, time = detectCursor.time
        if events.contains(.clientHelloDone), let ch = state.tls.clientHello {
            var buffers = InspectionBuffers()
            let p = state.tls
            if ch.sni.isPresent && d.uses(.quicSNI) { p.withField(ch.sni) { buffers[.quicSNI] = $0 } }
            if ch.ja3.isPresent { p.withField(ch.ja3) { buffers[.ja3String] = $0 } }
            if ch.ja3Hash.isPresent { p.withField(ch.ja3Hash) { buffers[.ja3Hash] = $0 } }
            fillClientHelloSession7(&buffers, d, p, ch)
            putQUICVersion(&buffers, d, state.quic.version)
            var f = detectFacts(.toServer, app: .quic, stream: false)
            f.tlsVersion = ch.legacyVersion
            d.inspectApp(.tls, phase: 1, f, buffers: buffers, slot: slot, time: time) { s, alert in
                self.detectMatched(s, alert, f)
            }
        }
        if events.contains(.serverHelloDone), let sh = state.tls.serverHello {
            var buffers = InspectionBuffers()
            let p = state.tls
            if sh.ja3s.isPresent { p.withField(sh.ja3s) { buffers[.ja3sString] = $0 } }
            if sh.ja3sHash.isPresent { p.withField(sh.ja3sHash) { buffers[.ja3sHash] = $0 } }
            if sh.random.isPresent { p.withField(sh.random) { Engine.putRandom(&buffers, d, $0) } }
            putQUICVersion(&buffers, d, state.quic.version)
            var f = detectFacts(.toClient, app: .quic, stream: false)
            f.tlsVersion = sh.version != 0 ? sh.version : sh.legacyVersion
            d.inspectApp(.tls, phase: 2, f, buffers: buffers, slot: slot, time: time) { s, alert in
                self.detectMatched(s, alert, f)
            }
        }
    }

    /// The long header's version as its 4 wire bytes (big-endian), from the worker's scratch.
    func putQUICVersion(_ b: inout InspectionBuffers, _ d: DetectEngine, _ version: UInt32) {
        guard version != 0 && d.uses(.quicVersion) else { return }
        let s = d.factScratch
        _ = s.write(UInt8(truncatingIfNeeded: version >> 24), at: 0)
        _ = s.write(UInt8(truncatingIfNeeded: version >> 16), at: 1)
        _ = s.write(UInt8(truncatingIfNeeded: version >> 8), at: 2)
        _ = s.write(UInt8(truncatingIfNeeded: version), at: 3)
        if let v = s.view(0, 4) { b[.quicVersion] = v }
    }

    // MARK: DNS

    /// `dns.queries.rrname` (phase 3, each question) and `dns.answers.rrname` (phase 4, each
    /// answer-section record; the first question rides along for rules that use both) of any
    /// DNS message, request or response. A rule alerts once per message.
    func detectDNSNames(_ d: DetectEngine, _ parser: DNSParser, _ direction: Direction) {
        var f = detectFacts(direction, app: .dns, stream: false)
        f.dnsOpcode = parser.message.flags.opcode
        if d.usesDNSRecordFacts { Engine.fillDNSFacts(&f, parser.message) }
        let slot = detectCursor.slot, time = detectCursor.time
        if d.uses(.dnsQueriesRRName) && parser.message.questionCount > 0 {
            d.beginInstances()
            var q = 0
            while q < parser.message.questionCount {
                if let question = parser.message.question(q), question.name.isPresent {
                    var buffers = InspectionBuffers()
                    parser.withField(question.name) { buffers[.dnsQueriesRRName] = $0 }
                    // The alert's dns object names this question (as for dns.query).
                    detectCursor.dnsName = buffers[.dnsQueriesRRName] ?? .empty
                    detectCursor.dnsType = question.type
                    detectCursor.dnsID = parser.message.id
                    detectCursor.dnsQuestion = q
                    d.inspectApp(.dns, phase: 3, f, buffers: buffers, slot: slot, time: time) { s, alert in
                        if d.firstInstanceMatch(s) { self.detectMatched(s, alert, f) }
                    }
                    detectCursor.dnsQuestion = -1
                }
                q &+= 1
            }
        }
        if d.uses(.dnsAnswersRRName) && parser.message.answerCount > 0 {
            d.beginInstances()
            var first = InspectionBuffers()
            if let question = parser.message.question(0), question.name.isPresent {
                parser.withField(question.name) { first[.dnsQueriesRRName] = $0 }
                detectCursor.dnsName = first[.dnsQueriesRRName] ?? .empty
                detectCursor.dnsType = question.type
                detectCursor.dnsID = parser.message.id
                detectCursor.dnsQuestion = 0
            }
            defer { detectCursor.dnsQuestion = -1 }
            var a = 0
            while a < parser.message.answerCount {
                if let answer = parser.message.answer(a), answer.section == DNSSection.answer, answer.name.isPresent {
                    var buffers = first
                    parser.withField(answer.name) { buffers[.dnsAnswersRRName] = $0 }
                    d.inspectApp(.dns, phase: 4, f, buffers: buffers, slot: slot, time: time) { s, alert in
                        if d.firstInstanceMatch(s) { self.detectMatched(s, alert, f) }
                    }
                }
                a &+= 1
            }
        }
    }

    // MARK: SMB

    /// An SMB2/3 TREE_CONNECT: its path as `smb.named_pipe` when the response said the share
    /// is a pipe (type 2), else as `smb.share` (Suricata's is_pipe comes from the response
    /// too). Inspected once per request/response pair, on the request's side (the response's
    /// when the request came before the capture).
    func detectSMB(_ p: borrowing SMBParser, _ tx: SMBTransaction) {
        guard let d = detect, detectCursor.slot >= 0, tx.command == 3, tx.share.isPresent else { return }
        let id: BufferID = tx.shareType == 2 ? .smbNamedPipe : .smbShare
        guard d.uses(id) else { return }
        let f = detectFacts(tx.hasRequest ? .toServer : .toClient, app: .smb, stream: false)
        let slot = detectCursor.slot, time = detectCursor.time
        // The share is lent for the inspection only: the view must not outlive `withView`.
        p.store.withView(tx.share) { share in
            var buffers = InspectionBuffers()
            buffers[id] = share
            d.inspectApp(.smb, phase: 1, f, buffers: buffers, slot: slot, time: time) { s, alert in
                self.detectMatched(s, alert, f)
            }
        }
    }
}
