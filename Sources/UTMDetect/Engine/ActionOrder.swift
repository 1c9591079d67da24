/// The order in which actions are evaluated on a packet (Suricata's `action-order`): a pass
/// earlier in the order stops the rules after it; a drop before a pass still drops.
///
/// The product's order is drop, reject, pass, alert: a drop rule cannot be undone by a broad
/// pass rule. Suricata's own default is pass, drop, reject, alert; `utmctl replay
/// --action-order` takes either.
public struct ActionOrder: Sendable, Equatable {
    /// Rank per `RuleAction.rawValue` (lower first).
    let ranks: [Int]

    public static let standard = ActionOrder(ranks: [3, 0, 1, 2, 1, 1, 1])

    /// "pass,drop,reject,alert": each of the four named once.
    public init?(parsing text: String) {
        let names = text.split(separator: ",").map { $0.trimmingCharacters(in: " ").lowercased() }
        guard names.count == 4, Set(names) == ["pass", "drop", "reject", "alert"] else { return nil }
        var r = [Int](repeating: 0, count: 7)
        for (rank, n) in names.enumerated() {
            switch n {
            case "alert": r[Int(RuleAction.alert.rawValue)] = rank
            case "drop": r[Int(RuleAction.drop.rawValue)] = rank
            case "pass": r[Int(RuleAction.pass.rawValue)] = rank
            default:
                for a in [RuleAction.reject, .rejectSource, .rejectDestination, .rejectBoth] { r[Int(a.rawValue)] = rank }
            }
        }
        ranks = r
    }

    init(ranks: [Int]) { self.ranks = ranks }

    func rank(_ a: RuleAction) -> Int { ranks[Int(a.rawValue)] }
}

extension Substring {
    fileprivate func trimmingCharacters(in c: Character) -> Substring {
        var s = self
        while s.first == c { s = s.dropFirst() }
        while s.last == c { s = s.dropLast() }
        return s
    }
}
