import Foundation
import Testing
import UTMCapture
import UTMCore
import UTMEngine

/// Golden tests (STYLE.md point 6): a capture in Tests/Fixtures beside the EVE lines it must
/// produce. flow_id is left out of the comparison: it is a per-process random value.
@Suite struct GoldenTests {
    static let fixtures = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")

    /// Replays a capture in process and returns its EVE lines without flow ids.
    static func replay(_ path: String) throws -> [String] {
        let source = try PcapFileSource(path: path)
        let engine = Engine()
        var out: [UInt8] = []
        try source.forEachFrame { frame, time, length in
            engine.process(frame: frame, rawLinkType: source.rawLinkType, timestamp: time, wireLength: length)
            out += engine.eve.buffer
            engine.eve.reset()
        }
        engine.finish()
        out += engine.eve.buffer
        return String(decoding: out, as: UTF8.self).split(separator: "\n").map { withoutFlowID(String($0)) }
    }

    static func withoutFlowID(_ line: String) -> String {
        guard let r = line.range(of: #""flow_id":[0-9]+,"#, options: .regularExpression) else { return line }
        return line.replacingCharacters(in: r, with: "")
    }

    @Test func sampleOfficeCapture() throws {
        let pcap = Self.fixtures.appendingPathComponent("sample-office.pcap").path
        let expected = try String(contentsOf: Self.fixtures.appendingPathComponent("sample-office.eve.jsonl"), encoding: .utf8)
            .split(separator: "\n").map(String.init)
        let got = try Self.replay(pcap)
        #expect(got.count == expected.count)
        for (i, (g, e)) in zip(got, expected).enumerated() {
            #expect(g == e, "line \(i + 1) differs")
        }
    }

    /// Every event line is one valid JSON object with the header fields every consumer needs
    /// (addresses on every event about traffic; the stats event is about none).
    @Test func everyLineIsValidEVE() throws {
        let lines = try Self.replay(Self.fixtures.appendingPathComponent("sample-office.pcap").path)
        #expect(!lines.isEmpty)
        for line in lines {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object?["timestamp"] is String)
            let type = object?["event_type"] as? String
            #expect(type != nil)
            if type != "stats" {
                #expect(object?["src_ip"] is String && object?["dest_ip"] is String)
            }
        }
    }
}
