import Foundation
import Testing
import UTMAppID
import UTMCore

// The issue's criterion: App-ID agrees with nDPI's expected results on at least 90% of the flows
// whose protocol is in our supported list; the rest is reported as a confusion table.
//
// How a flow is compared (nDPI prints "master.app", e.g. "TLS.YouTube", or one name):
// - nDPI's app is one we support → we must name that app (as app or master);
// - else nDPI's master is one we support → our master (or, for one-name results such as
//   "WhatsApp", our app) must be it;
// - else the flow is outside our list and not counted.
// Flows nDPI lists that our flow table does not produce (different timeouts, non-IP) are
// reported as unmatched, not counted.

struct AgreementTally {
    var compared = 0, agreed = 0, unmatched = 0, outOfScope = 0
    var confusion: [String: Int] = [:]
    var perExpected: [String: (Int, Int)] = [:]
    var examples: [String: String] = [:]
}

func ourName(_ s: AppIDState) -> String {
    var bytes: [UInt8] = []
    AppIdentifier.writeName(s) { bytes.append($0) }
    return String(decoding: bytes, as: UTF8.self)
}

func compare(_ e: NDPIExpected, _ s: AppIDState, name: String, supported: [String: AppID], tally: inout AgreementTally) {
    let expected: AppID
    let appLevel: Bool
    if let a = e.app, let id = supported[a] { expected = id; appLevel = true }
    else if let id = supported[e.master] { expected = id; appLevel = false }
    else { tally.outOfScope += 1; return }
    let ok = appLevel ? (s.app == expected || s.master == expected) : (s.master == expected || s.app == expected)
    tally.compared += 1
    let label = "\(AppIdentifier.name(expected))"
    var pe = tally.perExpected[label] ?? (0, 0)
    pe.0 += 1
    if ok { tally.agreed += 1; pe.1 += 1 } else {
        let k = "\(e.full) -> \(ourName(s))"
        tally.confusion[k, default: 0] += 1
        if tally.examples[k] == nil { tally.examples[k] = "\(e.key) \(name)" }
    }
    tally.perExpected[label] = pe
}

@Suite struct NDPIAgreementTests {
    @Test func agreesWithNDPIOnSupportedFlows() throws {
        guard let root = ndpiCorpus() else { return }
        var supported: [String: AppID] = [:]
        for id in AppID.allCases where id != .unknown { supported[AppIdentifier.name(id).description] = id }
        let identifier = AppIdentifier()
        let outs = try FileManager.default.contentsOfDirectory(atPath: root + "/result")
            .filter { $0.hasSuffix(".out") }.sorted()
        var tally = AgreementTally()
        var captures = 0
        let started = Date()
        for out in outs {
            let pcapName = String(out.dropLast(4))
            let pcap = root + "/pcap/" + pcapName
            guard FileManager.default.fileExists(atPath: pcap) else { continue }
            let expected = ndpiExpected(root + "/result/" + out)
            // Only captures with at least one flow in our list are replayed (keeps the run short).
            let inScope = expected.filter { e in (e.app.map { supported[$0] != nil } ?? false) || supported[e.master] != nil }
            guard !inScope.isEmpty else { continue }
            guard let observed = replayForAppID(pcap, identifier: identifier) else { continue }
            captures += 1
            var byKey: [TupleKey: [ObservedFlow]] = [:]
            for o in observed { byKey[o.key, default: []].append(o) }
            for e in expected {
                guard var list = byKey[e.key], !list.isEmpty else {
                    if (e.app.map { supported[$0] != nil } ?? false) || supported[e.master] != nil { tally.unmatched += 1 }
                    continue
                }
                let o = list.removeFirst()
                byKey[e.key] = list
                compare(e, o.state, name: o.name, supported: supported, tally: &tally)
            }
        }
        let pct = tally.compared == 0 ? 0 : Double(tally.agreed) * 100 / Double(tally.compared)
        print("nDPI agreement: \(tally.agreed)/\(tally.compared) flows = \(String(format: "%.1f", pct))% over \(captures) captures"
              + " (\(tally.unmatched) nDPI flows not produced by our flow table, \(tally.outOfScope) flows outside our list)"
              + " in \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
        print("Top disagreements (nDPI -> ours):")
        for (k, n) in tally.confusion.sorted(by: { $0.value > $1.value || ($0.value == $1.value && $0.key < $1.key) }).prefix(40) {
            print("  \(n)\t\(k)\t e.g. \(tally.examples[k] ?? "")")
        }
        print("Per expected protocol (agreed/compared):")
        print("  " + tally.perExpected.sorted { $0.value.0 > $1.value.0 }
            .map { "\($0.key) \($0.value.1)/\($0.value.0)" }.joined(separator: ", "))
        #expect(tally.compared > 1000)
        #expect(pct >= 90, "App-ID agrees with nDPI on \(pct)% of supported flows; need 90%")
    }
}
