/// Chooses each signature's prefilter pattern, following Suricata: the content marked
/// `fast_pattern` if any; otherwise, among the positive (non-negated) contents, the one in the
/// highest-priority buffer, then the longest, then the "strongest" (most distinct bytes, with
/// non-letters worth more, as Suricata's pattern strength). Negated contents never serve: the
/// prefilter must only drop packets the rule cannot match.
public enum FastPatternSelection {
    public static func select(_ sig: inout Signature) {
        var best: (list: Int, element: Int, key: (Int, Int, Int))?
        var explicit: (list: Int, element: Int)?
        for (li, list) in sig.lists.enumerated() where !list.buffer.isPacketHeader {
            // `ip.src` / `ip.dst` are read from the packet's addresses, never scanned: a pattern
            // there would keep the rule from ever being a candidate (even with fast_pattern).
            if list.buffer.isAddress { continue }
            for (ei, element) in list.elements.enumerated() {
                guard case .content(let c) = element, !c.negated, !c.pattern.isEmpty else { continue }
                if c.fastPattern { explicit = (li, ei) }
                let key = (list.buffer.prefilterPriority, c.pattern.count, strength(c.pattern))
                if let b = best, !(key > b.key) { continue }
                best = (li, ei, key)
            }
        }
        guard let chosen = explicit ?? best.map({ ($0.list, $0.element) }),
              case .content(let c) = sig.lists[chosen.0].elements[chosen.1] else {
            sig.prefilter = nil
            sig.prefilterSource = nil
            return
        }
        var pattern = c.pattern
        if let chop = c.fastPatternChop, chop.offset >= 0, chop.length > 0, chop.offset + chop.length <= pattern.count {
            pattern = Array(pattern[chop.offset ..< chop.offset + chop.length])
        }
        sig.prefilter = (sig.lists[chosen.0].buffer, pattern, c.nocase)
        sig.prefilterSource = (chosen.0, chosen.1)
    }

    /// Suricata's pattern strength: a byte seen for the first time scores 3 if a letter, 4 if
    /// printable or 0x00/0x01/0xff, 6 otherwise; repeats score 1.
    public static func strength(_ p: [UInt8]) -> Int {
        var seen = [Bool](repeating: false, count: 256)
        var s = 0
        for b in p {
            if seen[Int(b)] { s += 1; continue }
            seen[Int(b)] = true
            let isAlpha = (b | 0x20) >= 0x61 && (b | 0x20) <= 0x7a
            if isAlpha { s += 3 } else if (b >= 0x20 && b < 0x7f) || b == 0 || b == 1 || b == 0xff { s += 4 } else { s += 6 }
        }
        return s
    }
}
