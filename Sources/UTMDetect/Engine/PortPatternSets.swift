import UTMMatch

/// The payload prefilter of one inspection point (UDP packets, TCP streams) split by the ports
/// its signatures name, after Suricata's per-port signature group heads: a packet or stream
/// direction is scanned only with the patterns of signatures its ports admit.
///
/// Why: the ports decide most of what can match, and the automaton's cost is its hits. With ET,
/// the `GET ` (nocase) of the 300 rules to port 80 hit ~78,000 times in one 10 MB capture's HTTP
/// *responses* ("forget ", "widget "), and TFTP's `|00 01|` (port 69) hit every DNS packet; the
/// header check then dropped every one of those candidates.
///
/// A signature is keyed like `PortGroup`: on its destination ports when they are few, else on its
/// source ports when those are few; bidirectional and many-port signatures are unkeyed. The one
/// key with the most signatures (`dst 80` for TCP streams, `dst 53` for UDP with ET) gets its own
/// automaton (unkeyed + its signatures); the other keyed signatures share two more, one for the
/// destination-keyed (unkeyed + those) and one for the source-keyed: a DNS response (source 53,
/// destination an ephemeral port) cannot match a rule to port 69, so it does not meet TFTP's
/// `|00 01|`. A packet two keys apply to (53 -> 53) takes the full payload set.
struct PortPatternSets: Sendable {
    /// The smallest key that gets its own automaton (smaller keys are not worth the memory).
    static let minimumDedicated = 64

    /// Unkeyed signatures only: ports that no signature names.
    let unkeyed: CompiledPatternSet?
    /// Unkeyed + the dedicated key's signatures.
    let dedicated: CompiledPatternSet?
    let dedicatedPort: UInt16
    let dedicatedIsSource: Bool
    let hasDedicated: Bool
    /// Unkeyed + the destination-keyed (source-keyed) signatures but the dedicated key's.
    let restDestination: CompiledPatternSet?
    let restSource: CompiledPatternSet?
    /// One bit per port that keys some signature, as destination / as source.
    let keyedDestination: [UInt64]
    let keyedSource: [UInt64]

    /// Which automaton a packet (stream direction) with these ports needs; `fallback` means the
    /// caller scans a superset (both ports key signatures: rare, e.g. 53 -> 53).
    /// The choice depends on the ports only, so a stream direction always meets the same
    /// automaton and its `MatchState` stays valid.
    @inline(__always)
    func select(source sp: UInt16, destination dp: UInt16) -> (set: CompiledPatternSet?, fallback: Bool) {
        let d = PortPatternSets.bit(keyedDestination, dp)
        let s = PortPatternSets.bit(keyedSource, sp)
        if !d && !s { return (unkeyed, false) }
        if d && s { return (nil, true) }
        if d {
            let ded = hasDedicated && !dedicatedIsSource && dp == dedicatedPort
            return (ded ? dedicated : restDestination, false)
        }
        let ded = hasDedicated && dedicatedIsSource && sp == dedicatedPort
        return (ded ? dedicated : restSource, false)
    }

    @inline(__always)
    static func bit(_ bits: [UInt64], _ p: UInt16) -> Bool {
        bits[Int(p &>> 6)] & (1 &<< UInt64(p & 63)) != 0
    }

    /// The entries are (signature index, signature, prefilter pattern, nocase), in evaluation order.
    init(_ entries: [(id: UInt32, sig: Signature, pattern: [UInt8], nocase: Bool)]) {
        var dst = [UInt64](repeating: 0, count: 1024), src = dst
        var keys: [Int] = []          // per entry: -1 unkeyed, else port | (source ? 0x10000 : 0)
        var sizes: [Int: Int] = [:]
        keys.reserveCapacity(entries.count)
        for e in entries {
            let s = e.sig
            var key = -1
            if !s.bidirectional, let ports = PortGroup.Builder.few(s.destinationPorts) {
                for p in ports { dst[Int(p >> 6)] |= 1 << UInt64(p & 63) }
                key = ports.count == 1 ? Int(ports[0]) : -2
            } else if !s.bidirectional, let ports = PortGroup.Builder.few(s.sourcePorts) {
                for p in ports { src[Int(p >> 6)] |= 1 << UInt64(p & 63) }
                key = ports.count == 1 ? Int(ports[0]) | 0x10000 : -3
            }
            keys.append(key)
            if key >= 0 { sizes[key, default: 0] += 1 }
        }
        // The dedicated key: the single port (one side) named alone by the most signatures.
        var best = -1, bestCount = PortPatternSets.minimumDedicated - 1
        for (k, n) in sizes where n > bestCount || (n == bestCount && best >= 0 && k < best) {
            best = k
            bestCount = n
        }
        var unkeyedB = PatternSetBuilder(), dedB = PatternSetBuilder()
        var restDB = PatternSetBuilder(), restSB = PatternSetBuilder()
        for (e, key) in zip(entries, keys) {
            if key == -1 {
                unkeyedB.add(e.pattern, nocase: e.nocase, id: e.id)
                dedB.add(e.pattern, nocase: e.nocase, id: e.id)
                restDB.add(e.pattern, nocase: e.nocase, id: e.id)
                restSB.add(e.pattern, nocase: e.nocase, id: e.id)
            } else if best >= 0 && key == best {
                dedB.add(e.pattern, nocase: e.nocase, id: e.id)
            } else {
                // Several ports (-2: destination, -3: source) or another single port: the shared
                // automaton of its side. A several-port signature that also names the dedicated
                // port can meet that port's packets, which scan `dedicated`: it goes there too.
                if key == -3 || key >= 0x10000 {
                    restSB.add(e.pattern, nocase: e.nocase, id: e.id)
                } else {
                    restDB.add(e.pattern, nocase: e.nocase, id: e.id)
                }
                let named: Bool
                switch key {
                case -2: named = best >= 0 && best < 0x10000 && e.sig.destinationPorts.contains(UInt16(best))
                case -3: named = best >= 0x10000 && e.sig.sourcePorts.contains(UInt16(best & 0xffff))
                default: named = false
                }
                if named { dedB.add(e.pattern, nocase: e.nocase, id: e.id) }
            }
        }
        unkeyed = unkeyedB.count > 0 ? unkeyedB.compile() : nil
        hasDedicated = best >= 0
        dedicated = best >= 0 && dedB.count > 0 ? dedB.compile() : nil
        dedicatedPort = best >= 0 ? UInt16(best & 0xffff) : 0
        dedicatedIsSource = best >= 0x10000
        restDestination = restDB.count > 0 ? restDB.compile() : nil
        restSource = restSB.count > 0 ? restSB.compile() : nil
        keyedDestination = dst
        keyedSource = src
    }
}
