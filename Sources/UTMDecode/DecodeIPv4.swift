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
            packet.events.insert(.ipv4WrongVersion)
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

        // Suricata's order: IHL, then total length against IHL, then against the bytes held;
        // a header longer than the capture is one of the last two.
        let headerLength = Int(versionIHL & 0x0F) &* 4
        guard headerLength >= 20 else {
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
                packet.fragmentTTL = ttl
                packet.fragmentTOS = tos
                packet.fragmentField = fragField
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

    /// Validates the options as Suricata does (RFC 791, 781, 1108, 2113, 4782): lengths per
    /// kind, route and timestamp pointers, duplicates. Options are rare; a bad one is an
    /// anomaly worth an event, not a reason to drop the packet, so decoding goes on whatever
    /// this finds. Stops at the first length or pointer error, like Suricata.
    @inline(never)
    func checkIPv4Options(_ ip: ByteView, _ headerLength: Int, _ packet: inout DecodedPacket) {
        var i = 20
        /// Validated kinds already seen, one bit each (see `ipv4OptionSlot`).
        var seen: UInt16 = 0
        while i < headerLength {
            guard let kind = ip.u8(i) else { return }
            if kind == 0 { return }            // end of options list
            if kind == 1 { i &+= 1; continue } // no-op
            // One byte left that is neither EOL nor NOP: Suricata's `opt_eol_required`, which
            // has no bit here (64 at most); the padding is ignored.
            guard headerLength &- i >= 2, let length = ip.u8(i &+ 1) else { return }
            guard length >= 2, Int(length) <= headerLength &- i else {
                packet.events.insert(.ipv4OptionInvalid)
                return
            }
            let slot = ipv4OptionSlot(kind)
            if slot < 0 {
                packet.events.insert(.ipv4OptionUnknownKind)
            } else if seen & (1 << UInt16(slot)) != 0 {
                packet.events.insert(.ipv4OptionDuplicate)
            } else {
                seen |= 1 << UInt16(slot)
                let bad = checkIPv4Option(kind, Int(length), ip, i)
                if !bad.isEmpty {
                    packet.events.formUnion(bad)
                    return
                }
            }
            i &+= Int(length)
        }
    }
}

/// Index of an option kind Suricata validates, for duplicate detection; -1 for the others.
@inline(__always)
func ipv4OptionSlot(_ kind: UInt8) -> Int {
    switch kind {
    case 7: return 0      // record route
    case 131: return 1    // loose source route
    case 137: return 2    // strict source route
    case 68: return 3     // timestamp
    case 130: return 4    // security (RFC 1108)
    case 134: return 5    // CIPSO
    case 136: return 6    // stream id
    case 148: return 7    // router alert (RFC 2113)
    case 25: return 8     // quick-start (RFC 4782)
    default: return -1
    }
}

/// One validated option at `at` (its kind byte), `length` bytes long and inside the header:
/// the event it raises, or none.
@inline(__always)
func checkIPv4Option(_ kind: UInt8, _ length: Int, _ ip: ByteView, _ at: Int) -> DecodeEvents {
    switch kind {
    case 7, 131, 137:
        // Pointer is 1-based, past type/length/pointer, on an address boundary, inside.
        guard length >= 3 else { return .ipv4OptionInvalid }
        guard let ptr = ip.u8(at &+ 2) else { return .ipv4OptionMalformed }
        if ptr < 4 || ptr % 4 != 0 || Int(ptr) > length &+ 1 { return .ipv4OptionMalformed }
    case 68:
        // Records are 4 bytes (timestamps) or 8 (address + timestamp, flags 1 and 3).
        guard length >= 5 else { return .ipv4OptionInvalid }
        guard let ptr = ip.u8(at &+ 2), let flags = ip.u8(at &+ 3) else { return .ipv4OptionMalformed }
        let record = (flags & 0x0F == 1 || flags & 0x0F == 3) ? 8 : 4
        if ptr < 5 || (Int(ptr) &- 5) % record != 0 || Int(ptr) > length &+ 1 { return .ipv4OptionMalformed }
    case 130: if length < 3 { return .ipv4OptionInvalid }
    case 134: if length < 10 { return .ipv4OptionInvalid }
    case 136, 148: if length != 4 { return .ipv4OptionInvalid }
    case 25: if length < 8 { return .ipv4OptionInvalid }
    default: break
    }
    return .none
}
