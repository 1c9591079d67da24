import UTMCore

// DNS over TCP (RFC 1035 section 4.2.2, RFC 7766): each message is preceded by a 2-byte length;
// messages are split over segments and several may share one segment.

extension DNSParser {
    /// Feeds TCP payload in stream order. After each complete, plausible message has been parsed
    /// into `message`, calls `onMessage` with the direction and the parser itself, borrowed: the
    /// caller's own parser variable is being mutated by this call, so reading it from the
    /// closure would be an exclusivity violation. Non-escaping: no allocation.
    /// `gap`: bytes were lost, the framing cannot be recovered, so this direction stops.
    public mutating func feedStream(_ data: ByteView, direction: Direction, gap: Bool,
                                    onMessage: (Direction, borrowing DNSParser) -> Void) {
        if gap { withStream(direction) { $0.stopped = true } }
        var rest = data
        while !rest.isEmpty {
            var st = stream(direction)
            if st.stopped { return }
            if st.lengthBytes < 2 {
                while st.lengthBytes < 2, let b = rest.u8(0) {
                    st.length = st.length << 8 | Int(b)
                    st.lengthBytes += 1
                    rest = rest.dropFirst(1)
                }
                if st.lengthBytes == 2 {
                    st.remaining = st.length
                    st.buffering = st.length <= config.maxTCPMessageSize
                    if !st.buffering { skippedMessages += 1 }
                    clearBuffer(direction)
                }
                withStream(direction) { $0 = st }
                if st.lengthBytes == 2 && st.remaining == 0 {
                    // A zero-length message is not DNS; skip it.
                    skippedMessages += 1
                    withStream(direction) { $0 = DNSStreamState() }
                }
                continue
            }
            let n = Swift.min(st.remaining, rest.count)
            let chunk = rest.prefix(n)
            rest = rest.dropFirst(n)
            let complete = n == st.remaining
            withStream(direction) {
                $0.remaining -= n
                if complete { $0 = DNSStreamState() }
            }
            guard st.buffering else { continue }
            if complete && bufferCount(direction) == 0 {
                // The whole message is in this segment: parse it in place.
                deliver(chunk, direction, onMessage)
            } else {
                appendBuffer(direction, chunk)
                if complete {
                    // Move the buffer out so `parse` may mutate `self`; swapping with an empty
                    // array neither copies nor allocates.
                    var buf = [UInt8]()
                    if direction == .toServer { swap(&buf, &bufToServer) } else { swap(&buf, &bufToClient) }
                    buf.withByteView { deliver($0, direction, onMessage) }
                    buf.removeAll(keepingCapacity: true)
                    if direction == .toServer { swap(&buf, &bufToServer) } else { swap(&buf, &bufToClient) }
                }
            }
        }
    }

    private mutating func deliver(_ msg: ByteView, _ d: Direction, _ onMessage: (Direction, borrowing DNSParser) -> Void) {
        if parse(msg) {
            noteDirection(d)
            appEvents.formUnion(transactions.note(message, d, limit: config.requestFlood))
            onMessage(d, self)
        } else {
            skippedMessages += 1
        }
    }

    private func stream(_ d: Direction) -> DNSStreamState { d == .toServer ? streams.0 : streams.1 }

    private mutating func withStream(_ d: Direction, _ body: (inout DNSStreamState) -> Void) {
        if d == .toServer { body(&streams.0) } else { body(&streams.1) }
    }

    private func bufferCount(_ d: Direction) -> Int { d == .toServer ? bufToServer.count : bufToClient.count }

    private mutating func clearBuffer(_ d: Direction) {
        if d == .toServer { bufToServer.removeAll(keepingCapacity: true) } else { bufToClient.removeAll(keepingCapacity: true) }
    }

    private mutating func appendBuffer(_ d: Direction, _ v: ByteView) {
        if d == .toServer { v.append(to: &bufToServer) } else { v.append(to: &bufToClient) }
    }
}
