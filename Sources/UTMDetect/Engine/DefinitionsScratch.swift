extension DetectDefinitions {
    /// The decoded bytes the largest `base64_decode` of the rule set can produce (Suricata
    /// sizes its per-thread base64 buffer the same way): each worker's verifier reserves it
    /// once, 0 when no rule decodes base64.
    public var base64Capacity: Int {
        var most = 0
        for box in boxes {
            for list in box.sig.lists {
                for e in list.elements {
                    if case .base64Decode(let d) = e { most = Swift.max(most, d.decodedCapacity) }
                }
            }
        }
        return most
    }
}

extension DetectDefinitions {
    /// Whether a rule uses `xbits`/`hostbits`: only then does a worker build the host table.
    public var usesHostBits: Bool {
        boxes.contains { box in box.sig.headerMatches.contains { if case .hostBit = $0 { true } else { false } } }
    }
}
