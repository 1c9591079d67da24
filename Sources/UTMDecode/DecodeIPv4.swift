import UTMCore

extension Decoder {
    /// IPv4 (RFC 791). A total length shorter than the captured bytes is honoured: Ethernet pads
    /// short frames to 60 bytes and that padding is not payload.
    @inline(__always)
    mutating func decodeIPv4(_ l3: ByteView, _ timestamp: Timestamp, _ packet: inout DecodedPacket,
                             fromReassembly: Bool) -> DecodeResult {
        guard l3.count >= 20, let versionIHL = l3.u8(0), let tos = l3.u8(1),
              let totalLength = l3.u16(2), let id = l3.u16(4), let fragField = l3.u16(6),
              let ttl = l3.u8(8), let proto = l3.u8(9),
              let src = l3.u32(12), let dst = l3.u32(16) else {
            packet.events.insert(.ipv4TooShort)
            return .invalid
        }
        guard versionIHL >> 4 == 4 else {
            packet.events.insert(.ipBadVersion)
            return .invalid
        }
        // Addresses first: even a broken packet should be attributable in the event log.
        packet.ipVersion = 4
        packet.src = IPAddress(v4: src)
        packet.dst = IPAddress(v4: dst)
        packet.ipProto = proto
        packet.ttl = ttl
        packet.tos = tos
        packet.ipID = UInt32(id)
        packet.dontFragment = fragField & 0x4000 != 0
        if !fromReassembly { counters.ipv4 &+= 1 }

        let headerLength = Int(versionIHL & 0x0F) &* 4
        guard headerLength >= 20, headerLength <= l3.count else {
            packet.events.insert(.ipv4BadIHL)
            return .invalid
        }
        var total = Int(totalLength)
        if total == 0 && !fromReassembly {
            packet.events.insert(.ipLengthZero)
            total = l3.count
        }
        guard total >= headerLength else {
            packet.events.insert(.ipv4BadTotalLength)
            return .invalid
        }
        guard total <= l3.count else {
            packet.events.insert(.ipv4Truncated)
            return .invalid
        }
        let ip = l3.prefix(total)
        packet.ipLength = total
        packet.ipHeaderLength = headerLength
        packet.ipPacket = ip
        if headerLength > 20 { checkIPv4Options(ip, headerLength, &packet) }

        let l4 = ip.suffix(from: headerLength) ?? .empty
        let fragmentOffset = Int(fragField & 0x1FFF) &* 8
        let more = fragField & 0x2000 != 0
        if !fromReassembly {
            packet.fragmentOffset = fragmentOffset
            packet.moreFragments = more
            if more || fragmentOffset != 0 {
                packet.payload = l4
                let fragment = Fragment(
                    isV6: false, src: packet.src, dst: packet.dst, id: UInt32(id), proto: proto,
                    vlan: packet.vlanIDs.0, offset: fragmentOffset, more: more,
                    header: ip.prefix(headerLength), nextHeaderOffset: 9, data: l4)
                return reassemble(fragment, timestamp, &packet)
            }
        }
        return decodeTransport(l4, proto, timestamp, &packet)
    }

    /// Only checks that the option lengths hold together: options are rare, and a bad one is an
    /// anomaly worth an event, not a reason to drop the packet.
    @inline(never)
    func checkIPv4Options(_ ip: ByteView, _ headerLength: Int, _ packet: inout DecodedPacket) {
        var i = 20
        while i < headerLength {
            guard let kind = ip.u8(i) else { break }
            if kind == 0 { return }            // end of options list
            if kind == 1 { i &+= 1; continue } // no-op
            guard let length = ip.u8(i &+ 1), length >= 2, Int(length) <= headerLength &- i else {
                packet.events.insert(.ipv4OptionInvalid)
                return
            }
            i &+= Int(length)
        }
    }
}
