import UTMCore

// TLS handshake protocol (RFC 8446 section 4): 4-byte message headers, messages split across
// records (and QUIC CRYPTO frames) or several in one record. Only the hellos are kept.

enum TLSHandshakeType {
    static let clientHello: UInt8 = 1
    static let serverHello: UInt8 = 2
    static let certificate: UInt8 = 11
}

extension TLSParser {
    /// Handshake-protocol bytes without the record layer: the payload of QUIC CRYPTO frames in
    /// offset order (the QUIC parser reorders them), or the body of TLS handshake records.
    public mutating func feedHandshake(_ data: ByteView, direction: Direction) {
        var rest = data
        while !rest.isEmpty {
            if dir(direction).stopped || encrypted { return }
            var st = dir(direction)
            if st.hsHeaderCount < 4 {
                while st.hsHeaderCount < 4, let b = rest.u8(0) {
                    st.hsHeader = st.hsHeader << 8 | UInt32(b)
                    st.hsHeaderCount &+= 1
                    rest = rest.dropFirst(1)
                }
                if st.hsHeaderCount == 4 {
                    st.hsType = UInt8(truncatingIfNeeded: st.hsHeader >> 24)
                    st.hsRemaining = Int(st.hsHeader & 0x00ff_ffff)
                    st.hsBuffering = wants(st.hsType, direction)
                    st.hsLength = st.hsRemaining
                    st.hsKeep = st.hsRemaining
                    st.hsPartial = false
                    if st.hsBuffering && st.hsRemaining > config.maxHandshakeSize {
                        if st.hsType == TLSHandshakeType.certificate && config.maxHandshakeSize >= 64 {
                            // Keep the head (the list length and the leaf first), count the rest.
                            st.hsKeep = config.maxHandshakeSize
                            st.hsPartial = true
                            st.certWalkNext = 0
                            st.certWalkHeader = 0
                            st.certWalkHeaderCount = 0
                            st.certWalkListEnd = -1
                            st.certWalkCount = 0
                            st.certWalkMalformed = false
                            events.insert(.certificatePartial)
                        } else {
                            st.hsBuffering = false
                            events.insert(.handshakeTooLarge)
                        }
                    }
                    // The buffer is only reset for a message that is kept: the server's
                    // certificate_list stays in it after its message (TLSCertificate.swift).
                    if st.hsBuffering { clearBuffer(direction) }
                }
                withDir(direction) { $0 = st }
                if st.hsHeaderCount == 4 && st.hsRemaining == 0 {
                    finishMessage(direction, body: .empty, fromBuffer: false)
                }
                continue
            }
            let n = Swift.min(st.hsRemaining, rest.count)
            let chunk = rest.prefix(n)
            rest = rest.dropFirst(n)
            withDir(direction) { $0.hsRemaining &-= n }
            guard st.hsBuffering else {
                if n == st.hsRemaining { withDir(direction) { $0.hsHeaderCount = 0; $0.hsHeader = 0 } }
                continue
            }
            if st.hsPartial {
                let at = st.hsLength &- st.hsRemaining
                let keep = Swift.min(n, st.hsKeep)
                appendBuffer(direction, chunk.prefix(keep))
                withDir(direction) {
                    $0.hsKeep &-= keep
                    TLSParser.walkCertificateFraming(&$0, chunk, at: at)
                }
                if n == st.hsRemaining { finishMessage(direction, body: .empty, fromBuffer: true) }
            } else if n == st.hsRemaining && bufferCount(direction) == 0 {
                // Whole message in this piece: parse it in place, no copy.
                finishMessage(direction, body: chunk, fromBuffer: false)
            } else {
                appendBuffer(direction, chunk)
                if n == st.hsRemaining { finishMessage(direction, body: .empty, fromBuffer: true) }
            }
        }
    }

    /// Which messages are worth buffering: the first ClientHello (also the one after a
    /// HelloRetryRequest is ignored, so the fingerprint stays the connection's first) and the
    /// ServerHello until a real (non-HRR) one was seen.
    private func wants(_ type: UInt8, _ d: Direction) -> Bool {
        switch (type, d) {
        case (TLSHandshakeType.clientHello, .toServer): return clientHello == nil
        case (TLSHandshakeType.serverHello, .toClient):
            return serverHello == nil || serverHello?.isHelloRetryRequest == true
        // The first Certificate of the server, once its ServerHello was seen (a TLS 1.2 one:
        // 1.3 encrypts it). Kept in bufToClient for the detection engine to read.
        case (TLSHandshakeType.certificate, .toClient):
            return certificateCount < 0 && serverHello != nil && serverHello?.isHelloRetryRequest != true
        default: return false
        }
    }

    private mutating func finishMessage(_ d: Direction, body: ByteView, fromBuffer: Bool) {
        let type = dir(d).hsType
        let buffering = dir(d).hsBuffering
        let partial = dir(d).hsPartial ? dir(d).certWalkCount : -1
        if dir(d).hsPartial && dir(d).certWalkMalformed { events.insert(.malformed) }
        withDir(d) { $0.hsHeaderCount = 0; $0.hsHeader = 0; $0.hsBuffering = false; $0.hsPartial = false }
        guard buffering else { return }
        if type == TLSHandshakeType.certificate {
            // Kept after the message: copied into the (empty, reserved) buffer when it came
            // whole in one piece, then read there.
            if !fromBuffer { clearBuffer(d); appendBuffer(d, body) }
            var buf = [UInt8]()
            swap(&buf, &bufToClient)
            buf.withByteView { parseCertificate($0, partialCount: partial) }
            swap(&buf, &bufToClient)
            if certificateListLength == 0 { clearBuffer(d) }
            return
        }
        if fromBuffer {
            // Move the buffer out so the parser can mutate `self` while reading it; swapping
            // with an empty array neither copies nor allocates.
            var buf = [UInt8]()
            if d == .toServer { swap(&buf, &bufToServer) } else { swap(&buf, &bufToClient) }
            buf.withByteView { dispatch(type, d, $0) }
            buf.removeAll(keepingCapacity: true)
            if d == .toServer { swap(&buf, &bufToServer) } else { swap(&buf, &bufToClient) }
        } else {
            dispatch(type, d, body)
        }
    }

    private mutating func dispatch(_ type: UInt8, _ d: Direction, _ body: ByteView) {
        // A hello that does not parse is Suricata's `invalid_handshake_message`: the
        // `malformed` raised inside, told apart from one raised before by clearing it first.
        let before = events
        events.remove(.malformed)
        defer {
            if events.contains(.malformed) { appEvents.formUnion(AppLayerEvents.TLS.invalidHandshakeMessage) }
            events.formUnion(before)
        }
        switch type {
        case TLSHandshakeType.clientHello: parseClientHello(body)
        case TLSHandshakeType.serverHello: parseServerHello(body)
        default: break
        }
        noteFieldTruncation()
    }

    /// Counts the entries of a partial Certificate message from the 3-byte lengths as its
    /// bytes stream by (`chunk` begins at message-body offset `at`); only the head is kept.
    /// The same rules as `parseCertificate` on a whole message: the list ends where its length
    /// says (clamped to the message, `malformed` when it claims more), an entry counts when it
    /// ends within the list, and the first one that does not ends the walk (`malformed`).
    static func walkCertificateFraming(_ st: inout TLSDirectionState, _ chunk: ByteView, at: Int) {
        let end = at &+ chunk.count
        while st.certWalkNext < end, st.certWalkNext >= at, let b = chunk.u8(st.certWalkNext &- at) {
            st.certWalkHeader = st.certWalkHeader << 8 | Int(b)
            st.certWalkHeaderCount &+= 1
            st.certWalkNext &+= 1
            guard st.certWalkHeaderCount == 3 else { continue }
            let length = st.certWalkHeader
            st.certWalkHeader = 0
            st.certWalkHeaderCount = 0
            if st.certWalkListEnd < 0 {
                st.certWalkListEnd = 3 &+ length
                if st.certWalkListEnd > st.hsLength { st.certWalkMalformed = true; st.certWalkListEnd = st.hsLength }
            } else {
                st.certWalkNext &+= length
                guard st.certWalkNext <= st.certWalkListEnd else {
                    st.certWalkMalformed = true
                    st.certWalkNext = Int.max
                    return
                }
                st.certWalkCount &+= 1
            }
            // The list's end: nothing more to count.
            if st.certWalkNext >= st.certWalkListEnd { st.certWalkNext = Int.max; return }
        }
    }

    private func bufferCount(_ d: Direction) -> Int {
        d == .toServer ? bufToServer.count : bufToClient.count
    }

    private mutating func clearBuffer(_ d: Direction) {
        if d == .toServer { bufToServer.removeAll(keepingCapacity: true) } else { bufToClient.removeAll(keepingCapacity: true) }
    }

    private mutating func appendBuffer(_ d: Direction, _ v: ByteView) {
        // The declared length was checked against maxHandshakeSize, so this stays within the
        // reserved capacity.
        if d == .toServer { v.append(to: &bufToServer) } else { v.append(to: &bufToClient) }
    }
}
