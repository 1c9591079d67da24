import UTMCore

/// One fragment as the IP decoders hand it to reassembly.
@usableFromInline
struct Fragment {
    var isV6: Bool
    var src: IPAddress
    var dst: IPAddress
    var id: UInt32
    /// IPv4 protocol (part of the key), or the IPv6 fragment header's next header.
    var proto: UInt8
    var vlan: UInt16
    /// Byte offset of `data` in the datagram's fragmentable part.
    var offset: Int
    var more: Bool
    /// The unfragmentable part: the IPv4 header, or the IPv6 header with the extension headers
    /// before the fragment header. Only the first fragment's is kept.
    var header: ByteView
    /// IPv6: offset in `header` of the next-header byte that named the fragment header.
    var nextHeaderOffset: Int
    var data: ByteView
}

@usableFromInline
struct DefragOutcome {
    /// The rebuilt datagram (header included), when this fragment completed one. Lives in the
    /// pool's slab until the slot is reused, i.e. at least until the next decode call.
    var datagram: ByteView?
    /// Datagrams dropped because they timed out while handling this fragment.
    var timedOut: Int
    /// False when the fragment itself was refused (bad shape, too large, no pool): it is not
    /// held, and the packet is reported invalid.
    var accepted: Bool
}

/// Bookkeeping of one datagram being rebuilt. Kept in a pre-sized array: no allocation per
/// datagram.
@usableFromInline
struct DefragSlot {
    var active = false
    var isV6 = false
    var src = IPAddress.none
    var dst = IPAddress.none
    var id: UInt32 = 0
    var proto: UInt8 = 0
    var vlan: UInt16 = 0
    var firstSeen: Int64 = 0
    /// End of the fragmentable part, set by the final fragment (MF clear); -1 until then.
    var dataEnd = -1
    /// Highest end of any fragment stored, to reject a final fragment that ends before data
    /// already held.
    var maxEnd = 0
    /// Length of the unfragmentable part, 0 until the first fragment (offset 0) arrives.
    var headerLength = 0
    var nextHeaderOffset = 0
    var nextHeader: UInt8 = 0
    var filledBlocks = 0
    var conflicted = false
    /// Next slot in the same hash bucket, -1 at the end.
    var chain: Int32 = -1
}

/// IP fragment reassembly in a fixed pool.
///
/// Why this shape: fragments are rare in normal traffic but are a classic evasion and DoS
/// vector, so memory is bounded up front (one slab, one slot table, one fill bitmap) and the
/// policy is explicit: the first data received for a byte wins, a later fragment that disagrees
/// raises `fragmentOverlap` (the target OS might have kept either copy), and when the pool is
/// full the oldest datagram gives way. Each slot's buffer holds the unfragmentable header just
/// before the data area, so a completed datagram is one contiguous view.
///
/// Fill is tracked per 8-byte block: every fragment but the last starts and ends on a multiple
/// of 8, so blocks are the natural unit.
@usableFromInline
struct Defrag {
    /// Room before each slot's data area for the unfragmentable header (IPv4 at most 60 bytes,
    /// IPv6 header plus the extension headers before the fragment header).
    static let headerRoom = 512

    let slotCount: Int
    let dataCapacity: Int
    let maxDatagramSize: Int
    let slotSize: Int
    let wordsPerSlot: Int
    let timeout: Int64
    let bucketMask: Int
    var slab: ByteSlab
    var slots: [DefragSlot]
    var bitmap: [UInt64]
    var buckets: [Int32]
    var freeList: [Int32]
    var freeCount: Int
    @usableFromInline var inUse = 0

    init(config: DecoderConfig) {
        slotCount = Swift.min(Swift.max(0, config.maxReassemblies), 65536)
        maxDatagramSize = Swift.min(Swift.max(68, config.maxDatagramSize), 65535)
        dataCapacity = maxDatagramSize
        slotSize = Defrag.headerRoom &+ dataCapacity
        wordsPerSlot = ((dataCapacity &+ 7) >> 3 &+ 63) >> 6
        timeout = Swift.max(0, config.fragmentTimeoutMicros)
        var buckets = 1
        while buckets < slotCount &* 2 { buckets &<<= 1 }
        bucketMask = buckets &- 1
        slab = ByteSlab(capacity: slotCount &* slotSize)
        slots = Array(repeating: DefragSlot(), count: slotCount)
        bitmap = Array(repeating: 0, count: slotCount &* wordsPerSlot)
        self.buckets = Array(repeating: -1, count: buckets)
        freeList = Array(repeating: 0, count: slotCount)
        var i = 0
        while i < slotCount {
            // Highest index on top is arbitrary; reversed so slot 0 is used first.
            freeList[i] = Int32(truncatingIfNeeded: slotCount &- 1 &- i)
            i &+= 1
        }
        freeCount = slotCount
    }

    // MARK: Insertion

    mutating func insert(_ f: Fragment, now: Int64, events: inout DecodeEvents) -> DefragOutcome {
        var outcome = DefragOutcome(datagram: nil, timedOut: 0, accepted: false)
        guard slotCount > 0 else {
            events.insert(f.isV6 ? .ipv6FragmentPoolFull : .fragmentPoolFull)
            return outcome
        }
        let end = f.offset &+ f.data.count
        let bucket = Defrag.hash(f) & bucketMask
        var found = lookup(f, bucket)

        // Ping of death: no header can make this fit. Drop what we hold of the datagram too,
        // since it can never complete.
        let minimumHeader = f.isV6 ? 0 : 20
        if end > maxDatagramSize &- minimumHeader {
            events.insert(f.isV6 ? .ipv6FragmentTooLarge : .fragmentTooLarge)
            if found >= 0 { release(found) }
            return outcome
        }
        if f.more && (f.data.count == 0 || f.data.count & 7 != 0) {
            // Suricata names the IPv6 case only (an empty fragment is not one of them).
            events.insert(f.isV6 && f.data.count != 0 ? .ipv6FragInvalidLength : .fragmentInvalid)
            return outcome
        }
        if f.header.count > Defrag.headerRoom || f.header.count < (f.isV6 ? 40 : 20) {
            events.insert(.fragmentInvalid)
            return outcome
        }

        if found >= 0, now &- slots[found].firstSeen > timeout {
            release(found)
            outcome.timedOut &+= 1
            found = -1
        }
        if found < 0 {
            found = allocate(f, bucket, now: now, timedOut: &outcome.timedOut, events: &events)
        }
        let s = found

        // Shape: fragments must agree on where the datagram ends.
        if f.more {
            if slots[s].dataEnd >= 0 && end > slots[s].dataEnd {
                events.insert(.fragmentInvalid)
                return outcome
            }
        } else {
            if (slots[s].dataEnd >= 0 && slots[s].dataEnd != end) || slots[s].maxEnd > end {
                events.insert(.fragmentInvalid)
                return outcome
            }
            slots[s].dataEnd = end
        }

        outcome.accepted = true
        ensureUniqueSlab()
        let dataBase = s &* slotSize &+ Defrag.headerRoom
        if f.offset == 0 && slots[s].headerLength == 0 {
            slab.write(f.header, at: dataBase &- f.header.count)
            slots[s].headerLength = f.header.count
            slots[s].nextHeaderOffset = f.nextHeaderOffset
            slots[s].nextHeader = f.proto
        }
        if store(f, end, s, dataBase) {
            slots[s].conflicted = true
            events.insert(f.isV6 ? .ipv6FragmentOverlap : .fragmentOverlap)
        }
        if end > slots[s].maxEnd { slots[s].maxEnd = end }

        let slot = slots[s]
        if slot.dataEnd >= 0 && slot.headerLength > 0 && slot.filledBlocks == (slot.dataEnd &+ 7) >> 3 {
            if slot.conflicted { events.insert(slot.isV6 ? .ipv6FragmentOverlap : .fragmentOverlap) }
            outcome.datagram = complete(s, dataBase, events: &events)
        }
        return outcome
    }

    /// Copies the blocks of `f` not yet held; returns true when a block already held had
    /// different bytes (first data wins, the copy is ignored).
    private mutating func store(_ f: Fragment, _ end: Int, _ s: Int, _ dataBase: Int) -> Bool {
        var conflict = false
        let wordBase = s &* wordsPerSlot
        var block = f.offset >> 3
        let endBlock = (end &+ 7) >> 3
        var runStart = -1
        while block <= endBlock {
            var held = true
            if block < endBlock {
                let word = wordBase &+ (block >> 6)
                let bit = UInt64(1) << UInt64(block & 63)
                held = bitmap[word] & bit != 0
                if !held {
                    bitmap[word] |= bit
                    slots[s].filledBlocks &+= 1
                    if runStart < 0 { runStart = block }
                }
            }
            if held {
                if runStart >= 0 {
                    // Copy the run of new blocks [runStart, block).
                    let lo = runStart &<< 3
                    let hi = Swift.min(block &<< 3, end)
                    if let piece = f.data.slice(lo &- f.offset, hi &- lo) {
                        slab.write(piece, at: dataBase &+ lo)
                    }
                    runStart = -1
                }
                if block < endBlock {
                    let lo = block &<< 3
                    let hi = Swift.min(lo &+ 8, end)
                    if let mine = f.data.slice(lo &- f.offset, hi &- lo),
                       let kept = slab.view(dataBase &+ lo, hi &- lo), !(mine == kept) {
                        conflict = true
                    }
                }
            }
            block &+= 1
        }
        return conflict
    }

    /// Fixes the kept header so the datagram reads as if it had never been fragmented, then
    /// frees the slot (its bytes stay until the slot is reused).
    private mutating func complete(_ s: Int, _ dataBase: Int, events: inout DecodeEvents) -> ByteView? {
        let slot = slots[s]
        let start = dataBase &- slot.headerLength
        let length = slot.headerLength &+ slot.dataEnd
        defer { release(s) }
        if slot.isV6 {
            let payloadLength = length &- 40
            guard payloadLength <= maxDatagramSize else {
                events.insert(.ipv6FragmentTooLarge)
                return nil
            }
            writeU16(UInt16(truncatingIfNeeded: payloadLength), at: start &+ 4)
            slab.write(slot.nextHeader, at: start &+ slot.nextHeaderOffset)
        } else {
            guard length <= maxDatagramSize else {
                events.insert(.fragmentTooLarge)
                return nil
            }
            writeU16(UInt16(truncatingIfNeeded: length), at: start &+ 2)
            let flags = UInt16(slab.read(start &+ 6) ?? 0) << 8 & 0x4000   // keep DF only
            writeU16(flags, at: start &+ 6)
            writeU16(0, at: start &+ 10)
            var sum: UInt32 = 0
            var i = 0
            while i < slot.headerLength {
                let hi = UInt32(slab.read(start &+ i) ?? 0)
                let lo = UInt32(slab.read(start &+ i &+ 1) ?? 0)
                sum &+= hi << 8 | lo
                i &+= 2
            }
            while sum > 0xFFFF { sum = (sum & 0xFFFF) &+ (sum >> 16) }
            writeU16(~UInt16(truncatingIfNeeded: sum), at: start &+ 10)
        }
        return slab.view(start, length)
    }

    private func writeU16(_ v: UInt16, at offset: Int) {
        slab.write(UInt8(truncatingIfNeeded: v >> 8), at: offset)
        slab.write(UInt8(truncatingIfNeeded: v), at: offset &+ 1)
    }

    // MARK: Slots

    private func lookup(_ f: Fragment, _ bucket: Int) -> Int {
        var i = Int(buckets[bucket])
        while i >= 0 {
            let s = slots[i]
            if s.id == f.id && s.isV6 == f.isV6 && s.src == f.src && s.dst == f.dst
                && s.vlan == f.vlan && (f.isV6 || s.proto == f.proto) {
                return i
            }
            i = Int(s.chain)
        }
        return -1
    }

    private mutating func allocate(_ f: Fragment, _ bucket: Int, now: Int64, timedOut: inout Int,
                                   events: inout DecodeEvents) -> Int {
        if freeCount == 0 { timedOut &+= expire(now: now) }
        if freeCount == 0 {
            var oldest = 0
            var i = 1
            while i < slotCount {
                if slots[i].firstSeen < slots[oldest].firstSeen { oldest = i }
                i &+= 1
            }
            // The evicted datagram's fragments are what gets ignored; flagged by its family.
            events.insert(slots[oldest].isV6 ? .ipv6FragmentPoolFull : .fragmentPoolFull)
            release(oldest)
        }
        freeCount &-= 1
        let s = Int(freeList[freeCount])
        var slot = DefragSlot()
        slot.active = true
        slot.isV6 = f.isV6
        slot.src = f.src
        slot.dst = f.dst
        slot.id = f.id
        slot.proto = f.proto
        slot.vlan = f.vlan
        slot.firstSeen = now
        slot.chain = buckets[bucket]
        slots[s] = slot
        buckets[bucket] = Int32(truncatingIfNeeded: s)
        inUse &+= 1
        return s
    }

    private mutating func release(_ s: Int) {
        guard slots[s].active else { return }
        // Unlink from its bucket chain.
        let bucket = Defrag.hash(slots[s]) & bucketMask
        if Int(buckets[bucket]) == s {
            buckets[bucket] = slots[s].chain
        } else {
            var i = Int(buckets[bucket])
            while i >= 0 {
                let next = Int(slots[i].chain)
                if next == s {
                    slots[i].chain = slots[s].chain
                    break
                }
                i = next
            }
        }
        // Clear only the bitmap words this datagram could have touched.
        let words = Swift.min(((slots[s].maxEnd &+ 7) >> 3 &+ 63) >> 6, wordsPerSlot)
        var w = 0
        let base = s &* wordsPerSlot
        while w < words {
            bitmap[base &+ w] = 0
            w &+= 1
        }
        slots[s].active = false
        slots[s].chain = -1
        freeList[freeCount] = Int32(truncatingIfNeeded: s)
        freeCount &+= 1
        inUse &-= 1
    }

    /// Releases every datagram older than the timeout; returns how many.
    mutating func expire(now: Int64) -> Int {
        var n = 0
        var i = 0
        while i < slotCount {
            if slots[i].active && now &- slots[i].firstSeen > timeout {
                release(i)
                n &+= 1
            }
            i &+= 1
        }
        return n
    }

    /// A copied `Decoder` shares the slab object; the first copy to write gets its own, so two
    /// decoders never rebuild into the same bytes.
    private mutating func ensureUniqueSlab() {
        if isKnownUniquelyReferenced(&slab) { return }
        let fresh = ByteSlab(capacity: slab.capacity)
        if let all = slab.view(0, slab.capacity) { fresh.write(all, at: 0) }
        slab = fresh
    }

    // MARK: Hashing

    @inline(__always)
    static func mix(_ src: IPAddress, _ dst: IPAddress, _ id: UInt32) -> Int {
        var h = UInt64(id) &* 0x9E37_79B9_7F4A_7C15
        h ^= src.lo &* 0xC2B2_AE3D_27D4_EB4F
        h ^= dst.lo &* 0x1656_67B1_9E37_79F9
        h ^= (src.hi ^ dst.hi.rotatedLeft32)
        h ^= h >> 29
        h &*= 0xBF58_476D_1CE4_E5B9
        h ^= h >> 32
        return Int(truncatingIfNeeded: h & 0x7FFF_FFFF)
    }

    static func hash(_ f: Fragment) -> Int { mix(f.src, f.dst, f.id) }
    static func hash(_ s: DefragSlot) -> Int { mix(s.src, s.dst, s.id) }
}

extension UInt64 {
    @inline(__always)
    fileprivate var rotatedLeft32: UInt64 { self << 32 | self >> 32 }
}
