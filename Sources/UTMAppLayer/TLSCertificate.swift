import UTMCore

// The server's Certificate message of TLS 1.2 and earlier (RFC 5246 section 7.4.2):
// certificate_list<0..2^24-1>, each entry a 3-byte length and one DER certificate. TLS 1.3
// sends it encrypted. Only the list's framing is read here (for `tls.certs` and
// `tls.cert_chain_len`); the certificates are lent as bytes, not decoded.

extension TLSParser {
    /// Reads the framing of a Certificate message's body, kept at the start of `bufToClient`.
    /// Whole entries are counted; a list or entry length past the message is `malformed` and
    /// ends the list where the last whole entry ended. `partialCount` >= 0: only the message's
    /// head was kept (it was larger than the buffer) and the entries were counted from the
    /// framing as it passed; the whole entries in the head are lent, the count is the walk's.
    mutating func parseCertificate(_ body: ByteView, partialCount: Int = -1) {
        guard let declared = body.u24(0) else {
            events.insert(.malformed)
            appEvents.formUnion(AppLayerEvents.TLS.certificateInvalidLength)
            return
        }
        let partial = partialCount >= 0
        var listLength = Int(declared)
        if listLength > body.count &- 3 {
            if !partial { events.insert(.malformed); appEvents.formUnion(AppLayerEvents.TLS.certificateInvalidLength) }
            listLength = body.count &- 3
        }
        var off = 0
        var count = 0
        while off < listLength {
            guard let length = body.u24(3 &+ off), off &+ 3 &+ Int(length) <= listLength else {
                if !partial { events.insert(.malformed); appEvents.formUnion(AppLayerEvents.TLS.certificateInvalidLength) }
                break
            }
            off &+= 3 &+ Int(length)
            count &+= 1
        }
        // The walk saw the whole list (the head's entries among them).
        if partial { count = partialCount }
        certificateCount = count
        certificateListLength = count > 0 ? off : 0
        events.insert(.certificateDone)
    }

    /// Lends certificate `index` (0 = the server's own) of the Certificate message as its DER
    /// bytes; nil past the certificates kept (`certificateCount`, at most
    /// `config.maxCertificates` are lent).
    public func withCertificate<R>(_ index: Int, _ body: (ByteView) -> R) -> R? {
        guard index >= 0, index < certificateCount, index < config.maxCertificates, certificateListLength > 0 else { return nil }
        return bufToClient.withByteView { all -> R? in
            guard let list = all.slice(3, certificateListLength) else { return nil }
            var off = 0
            var k = 0
            while let length = list.u24(off), let cert = list.slice(off &+ 3, Int(length)) {
                if k == index { return body(cert) }
                off &+= 3 &+ Int(length)
                k &+= 1
            }
            return nil
        }
    }

    /// Each protocol name of the ClientHello's ALPN list, in order (whole entries only).
    public func forEachALPN(_ hello: TLSClientHello, _ body: (ByteView) -> Void) {
        guard hello.alpnList.isPresent else { return }
        store.withView(hello.alpnList) { list in
            var i = 0
            while let n = list.u8(i), let name = list.slice(i &+ 1, Int(n)) {
                body(name)
                i &+= 1 &+ Int(n)
            }
        }
    }
}
