import UTMCore
import UTMMatch

/// A definitions update (utmd's SIGHUP, the daily rule update) without restarting the flows.
///
/// Why: a box that swapped its whole engine at each update picked every flow up mid-stream
/// afterwards: flow records split at the update, HTTP flows parsed mid-stream, flowbits set by
/// a login rule forgotten before the rule that checks them. Suricata swaps only the detection
/// context and keeps flows and stream progress; so does this. Unlike Suricata, which frees a
/// flow's variables (flowbits) and re-inspects its open transactions at the first packet under
/// new rules, flowbits are kept here (a rule update must not forget a login seen an hour ago)
/// and open transactions are not inspected again (no second alert from an unchanged rule).
/// The new engine
/// is built aside with the new definitions; at a packet boundary it takes the old one's per-flow
/// state here, keeping what does not depend on the rules and resetting what names them:
/// - kept: which flow owns each slot, pass decisions, the stream tails (bytes) and gap marks,
///   the HTTP header progress, body bytes held and counted, per-host body counts, counters;
/// - mapped: flowbits and flowints, by name (a name no new rule uses is dropped: nothing can read it);
/// - mapped by gid:sid: each held body's list of signatures that already matched it (an
///   unchanged rule does not alert twice on one body; a removed one is dropped);
/// - reset: automaton states (to the same stream offset) and pending candidates (indices into
///   the old automaton and signatures; the kept bytes are scanned again with the new automaton
///   before the next chunk, `rescanTail`), and the "headers gave no body candidate" marks (the
///   new rules may have some);
/// - header-only rules (IP-only: addresses, ports, protocol) run once per flow direction; those
///   the update added run on each open flow's next packet (`headerRecheck`), so a new
///   `drop ip <C2>` rule also cuts a connection already open to it. A transaction already inspected is not inspected again
///   by the new rules (its header progress is kept); its later bytes are.
extension DetectEngine {
    /// Takes over `old`'s per-flow state; false (nothing changed) when the two were sized
    /// differently (another flow capacity, other pool sizes: then the caller restarts flows).
    /// Runs once per update on the worker's thread, between two packets; it allocates (the
    /// flowbit map), which the packet path never does.
    public func takeFlows(from old: DetectEngine) -> Bool {
        guard old.config == config, old.flowIDs.count == flowIDs.count,
              old.tailSlot.count == tailSlot.count, old.bodies.owner.count == bodies.owner.count else { return false }
        flowIDs = old.flowIDs
        passed = old.passed
        alerted = old.alerted
        var map = [UInt16?](repeating: nil, count: old.defs.flowbitNames.count)
        for (i, name) in old.defs.flowbitNames.names.enumerated() { map[i] = defs.flowbitNames.lookup(name) }
        var i = 0
        while i < bits.count {
            bits[i] = DetectEngine.remap(old.bits[i], map)
            i &+= 1
        }
        // flowint values (session 9) are named from the same table: mapped alike.
        if let ints = flowInts, let oldInts = old.flowInts { ints.take(from: oldInts, map) }
        // Tails: the same slot numbers, their bytes copied (the slab is sized alike).
        tailSlot = old.tailSlot
        tailLen = old.tailLen
        freeTails = old.freeTails
        afterGap = old.afterGap
        var si = 0
        while si < tailSlot.count {
            // The automaton state names the old automaton's nodes: a fresh one at the same
            // stream offset (positions of anchored rules keep counting from the stream's start).
            var state = MatchState()
            state.skip(old.states[si].offset)
            states[si] = state
            if let bytes = old.keptBytes(si) {
                _ = tails.write(bytes, at: Int(tailSlot[si]) &* config.tailBytes)
                rescanTail[si] = true
            }
            si &+= 1
        }
        progressStore = old.progressStore
        pendingAppEvents = old.pendingAppEvents
        bodySequence = old.bodySequence
        bodyBytes = old.bodyBytes
        // Signatures by gid:sid: old index → new index (-1: gone), and which are new.
        var byKey: [UInt64: Int32] = [:]
        byKey.reserveCapacity(defs.count)
        for n in 0 ..< defs.count { byKey[DetectEngine.key(defs.signatureInfo(n))] = Int32(n) }
        var oldToNew = [Int32](repeating: -1, count: old.defs.count)
        var kept = [Bool](repeating: false, count: defs.count)
        for o in 0 ..< old.defs.count {
            if let n = byKey[DetectEngine.key(old.defs.signatureInfo(o))] {
                oldToNew[o] = n
                kept[Int(n)] = true
            }
        }
        var addedHeaderOnly = false
        for n in 0 ..< defs.count {
            addedByUpdate[n] = !kept[n]
            if !kept[n] && isHeaderOnly(n) { addedHeaderOnly = true }
        }
        if addedHeaderOnly {
            anyHeaderRecheck = true
            for slot in 0 ..< flowIDs.count where flowIDs[slot] != 0 {
                headerRecheck[slot &* 2] = true
                headerRecheck[slot &* 2 &+ 1] = true
            }
        }
        bodies = old.bodies
        bodies.remapMatches(oldToNew)
        bodyAcc = old.bodyAcc
        bodyStreamHeld = old.bodyStreamHeld
        stats = old.stats
        return true
    }

    /// One flow's flowbits under the new name table (`map`: old index → new index).
    static func remap(_ bits: FlowBits, _ map: [UInt16?]) -> FlowBits {
        var out = FlowBits()
        out.overflows = bits.overflows
        var k = 0
        while k < bits.count {
            let old = Int(bits.slots[k])
            if old < map.count, let new = map[old] { out.set(new) }
            k &+= 1
        }
        return out
    }
}

extension DetectEngine {
    static func key(_ info: SignatureInfo) -> UInt64 { UInt64(info.gid) << 32 | UInt64(info.sid) }
}

extension BodyAccumulators {
    /// The matched lists hold signature indices of the definitions they were made under:
    /// renumbered for the new ones (`map`: old index → new, -1 when the rule is gone).
    /// Each list stays packed from its start (a free entry ends it).
    mutating func remapMatches(_ map: [Int32]) {
        var base = 0
        while base < matched.count {
            var write = base
            var k = base
            while k < base &+ BodyAccumulators.matchedPerBody && k < matched.count {
                let old = Int(matched[k])
                if old < 0 { break }
                let new = old < map.count ? map[old] : -1
                if new >= 0 { matched[write] = new; write &+= 1 }
                k &+= 1
            }
            while write < k { matched[write] = -1; write &+= 1 }
            base &+= BodyAccumulators.matchedPerBody
        }
    }
}
