import UTMCore

/// IPv6 next-header values that are extension headers in the (n+1)*8-byte format.
@inline(__always)
func isGenericIPv6ExtHeader(_ nh: UInt8) -> Bool {
    switch nh {
    case 0, 43, 60, 135, 139, 140: return true   // hop-by-hop, routing, dest opts, mobility, HIP, shim6
    default: return false
    }
}

extension Decoder {
    /// IPv6 (RFC 8200) and its extension header chain. The chain is walked so rules and the
    /// flow table see the real transport protocol; ESP and "no next header" end the walk.
    @inline(__always)
    mutating func decodeIPv6(_ l3: ByteView, _ timestamp: Timestamp, _ packet: inout DecodedPacket,
                             fromReassembly: Bool) -> DecodeResult {
        guard l3.count >= 40, let vtf = l3.u32(0), let payloadLength = l3.u16(4),
              let firstNext = l3.u8(6), let hopLimit = l3.u8(7),
              let src = IPAddress.read(l3, at: 8, v6: true),
              let dst = IPAddress.read(l3, at: 24, v6: true) else {
            packet.events.insert(.ipv6TooShort)
            return .invalid
        }
        guard vtf >> 28 == 6 else {
            packet.events.insert(.ipBadVersion)
            return .invalid
        }
        packet.ipVersion = 6
        packet.src = src
        packet.dst = dst
        packet.ttl = hopLimit
        packet.tos = UInt8(truncatingIfNeeded: vtf >> 20)
        packet.flowLabel = vtf & 0xF_FFFF
        packet.ipProto = firstNext
        if !fromReassembly { counters.ipv6 &+= 1 }

        var total = 40 &+ Int(payloadLength)
        // Zero with bytes following: a TSO capture or a jumbogram (RFC 2675). "No next header"
        // packets are legitimately empty and may carry Ethernet padding.
        if payloadLength == 0 && l3.count > 40 && firstNext != 59 && !fromReassembly {
            packet.events.insert(.ipLengthZero)
            total = l3.count
        }
        guard total <= l3.count else {
            packet.events.insert(.ipv6Truncated)
            return .invalid
        }
        let ip = l3.prefix(total)
        packet.ipLength = total
        packet.ipPacket = ip
        packet.ipHeaderLength = 40

        var next = firstNext
        var offset = 40
        /// Where the next-header byte that names the current header lives: reassembly rewrites
        /// it when it removes the fragment header.
        var nextFieldOffset = 6
        var walked = 0
        while true {
            let isExt = isGenericIPv6ExtHeader(next) || next == 44 || next == 51
            if !isExt { break }
            walked &+= 1
            if walked > Decoder.maxIPv6ExtHeaders {
                packet.events.insert(.ipv6TooManyExtHeaders)
                return .invalid
            }
            guard let following = ip.u8(offset), let lengthField = ip.u8(offset &+ 1) else {
                packet.events.insert(.ipv6ExtHeaderTruncated)
                return .invalid
            }
            let length: Int
            if next == 44 {
                length = 8
            } else if next == 51 {
                length = (Int(lengthField) &+ 2) &* 4   // AH counts 4-byte words
            } else {
                if next == 0 && offset != 40 { packet.events.insert(.ipv6HopByHopNotFirst) }
                length = (Int(lengthField) &+ 1) &* 8
            }
            guard length <= ip.count &- offset else {
                packet.events.insert(.ipv6ExtHeaderTruncated)
                return .invalid
            }
            if next == 44 {
                guard let field = ip.u16(offset &+ 2), let id = ip.u32(offset &+ 4) else {
                    packet.events.insert(.ipv6ExtHeaderTruncated)
                    return .invalid
                }
                let fragmentOffset = Int(field & 0xFFF8)
                let more = field & 1 != 0
                packet.ipID = id
                if more || fragmentOffset != 0 {
                    // A datagram rebuilt from fragments has no fragment header left; one here
                    // would be a fragment inside a fragment.
                    if fromReassembly {
                        packet.events.insert(.fragmentInvalid)
                        return .invalid
                    }
                    packet.fragmentOffset = fragmentOffset
                    packet.moreFragments = more
                    packet.ipProto = following
                    packet.ipHeaderLength = offset &+ 8
                    let data = ip.suffix(from: offset &+ 8) ?? .empty
                    packet.payload = data
                    let fragment = Fragment(
                        isV6: true, src: src, dst: dst, id: id, proto: following,
                        vlan: packet.vlanIDs.0, offset: fragmentOffset, more: more,
                        header: ip.prefix(offset), nextHeaderOffset: nextFieldOffset, data: data)
                    return reassemble(fragment, timestamp, &packet)
                }
                // An atomic fragment (RFC 6946): offset 0 and no more fragments; just skip it.
            }
            nextFieldOffset = offset
            next = following
            offset &+= length
        }
        packet.ipProto = next
        packet.ipHeaderLength = offset
        return decodeTransport(ip.suffix(from: offset) ?? .empty, next, timestamp, &packet)
    }
}
