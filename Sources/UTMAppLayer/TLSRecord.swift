import UTMCore

// TLS record layer (RFC 5246 section 6.2, RFC 8446 section 5.1): 5-byte headers, records split
// across TCP segments. Only handshake records are looked into; the rest is counted and skipped.

enum TLSContentType {
    static let changeCipherSpec: UInt8 = 20
    static let alert: UInt8 = 21
    static let handshake: UInt8 = 22
    static let applicationData: UInt8 = 23
    static let heartbeat: UInt8 = 24
}

/// TLSCiphertext may be up to 2^14 + 2048 bytes; anything longer is not TLS.
let tlsMaxRecordLength = 16384 + 2048

extension TLSParser {
    /// TLS record-layer bytes from a TCP stream, in order. Any split of the stream gives the same
    /// result, because every piece of state (record header, handshake header) is accumulated
    /// byte-exactly. `gap`: bytes were lost before `data`, so this direction is abandoned.
    public mutating func feed(_ data: ByteView, direction: Direction, gap: Bool) {
        if dir(direction).stopped || encrypted { return }
        if gap {
            stop(direction, .gap)
            return
        }
        var rest = data
        recordsThisFeed = 0
        while !rest.isEmpty {
            if dir(direction).stopped || encrypted { return }
            var st = dir(direction)
            if st.recordHeaderCount < 5 {
                // Header bytes, possibly one at a time.
                while st.recordHeaderCount < 5, let b = rest.u8(0) {
                    st.recordHeader = st.recordHeader << 8 | UInt64(b)
                    st.recordHeaderCount &+= 1
                    rest = rest.dropFirst(1)
                }
                withDir(direction) { $0 = st }
                if st.recordHeaderCount < 5 { return }
                if !beginRecord(direction) { return }
                continue
            }
            let n = Swift.min(st.recordRemaining, rest.count)
            let chunk = rest.prefix(n)
            rest = rest.dropFirst(n)
            withDir(direction) {
                $0.recordRemaining &-= n
                if $0.recordRemaining == 0 { $0.recordHeaderCount = 0; $0.recordHeader = 0 }
            }
            if st.recordType == TLSContentType.handshake && !st.sawChangeCipherSpec {
                // After ChangeCipherSpec, handshake records (Finished) are encrypted.
                feedHandshake(chunk, direction: direction)
            }
        }
    }

    /// Checks a complete record header; false when the direction was stopped.
    private mutating func beginRecord(_ d: Direction) -> Bool {
        let st = dir(d)
        let h = st.recordHeader
        let type = UInt8(truncatingIfNeeded: h >> 32)
        let major = UInt8(truncatingIfNeeded: h >> 24)
        let minor = UInt8(truncatingIfNeeded: h >> 16)
        let length = Int(h & 0xffff)

        if st.recordsSeen == 0 && d == .toServer && type & 0x80 != 0 && minor == 1 {
            // SSLv2 header: [0x80|len_hi, len_lo, msg_type=1 (CLIENT-HELLO), version...].
            stop(d, .sslv2ClientHello)
            return false
        }
        guard type >= TLSContentType.changeCipherSpec, type <= TLSContentType.heartbeat,
              major == 3, minor <= 4, length <= tlsMaxRecordLength else {
            // Suricata names which part of the header was wrong.
            if type < TLSContentType.changeCipherSpec || type > TLSContentType.heartbeat {
                appEvents.formUnion(AppLayerEvents.TLS.invalidRecordType)
            } else if major != 3 || minor > 4 {
                appEvents.formUnion(AppLayerEvents.TLS.invalidRecordVersion)
            } else {
                appEvents.formUnion(AppLayerEvents.TLS.invalidRecordLength)
            }
            stop(d, .malformed)
            return false
        }
        recordsThisFeed &+= 1
        if recordsThisFeed == AppLayerEvents.TLS.maxRecordsPerPacket &+ 1 {
            appEvents.formUnion(AppLayerEvents.TLS.tooManyRecordsInPacket)
        }
        withDir(d) {
            $0.recordType = type
            $0.recordRemaining = length
            $0.recordsSeen &+= 1
            if length == 0 { $0.recordHeaderCount = 0; $0.recordHeader = 0 }
        }
        switch type {
        case TLSContentType.changeCipherSpec:
            withDir(d) { $0.sawChangeCipherSpec = true }
            if dirs.0.sawChangeCipherSpec && dirs.1.sawChangeCipherSpec { setEncrypted() }
        case TLSContentType.applicationData:
            withDir(d) { $0.sawApplicationData = true }
            if dirs.0.sawApplicationData && dirs.1.sawApplicationData { setEncrypted() }
        case TLSContentType.alert:
            events.insert(.alert)
        case TLSContentType.heartbeat:
            // Heartbeat (RFC 6520) is rare in real traffic and was Heartbleed's carrier.
            appEvents.formUnion(AppLayerEvents.TLS.heartbeatMessage)
        default:
            break
        }
        return true
    }
}
