import Foundation
import Testing
import UTMCore
@testable import UTMDecode

/// Real captures from nDPI's test suite, read from the shared test-data folder (never copied
/// into the repository). Classic pcap is parsed here by hand: libpcap is not a dependency of
/// this module.
enum Corpus {
    static let relative = "corpus/ndpi/tests/cfgs/default/pcap"

    static var sharedFolder: String? {
        var candidates: [String] = []
        if let env = ProcessInfo.processInfo.environment["MIMAMORI_SHARED"] { candidates.append(env) }
        // <repo>/Tests/UTMDecodeTests/CorpusTests.swift → <repo>/../shared
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        candidates.append(repo.deletingLastPathComponent().appendingPathComponent("shared").path)
        candidates.append("/work/shared")
        return candidates.first { FileManager.default.fileExists(atPath: $0 + "/" + relative) }
    }

    static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    struct Record { var seconds: Int64; var micros: Int32; var bytes: ArraySlice<UInt8> }

    /// Returns the link type and records of a classic pcap file, or nil for pcapng and
    /// anything unreadable. A truncated last record ends the file.
    static func read(_ data: [UInt8]) -> (UInt32, [Record])? {
        guard data.count >= 24 else { return nil }
        func u32(_ at: Int, _ little: Bool) -> UInt32 {
            let b = (0..<4).map { UInt32(data[at + $0]) }
            return little ? b[0] | b[1] << 8 | b[2] << 16 | b[3] << 24 : b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3]
        }
        let magicLE = u32(0, true)
        let little: Bool, nanos: Bool
        switch magicLE {
        case 0xA1B2_C3D4: little = true; nanos = false
        case 0xA1B2_3C4D: little = true; nanos = true
        case 0xD4C3_B2A1: little = false; nanos = false
        case 0x4D3C_B2A1: little = false; nanos = true
        default: return nil
        }
        let linkType = u32(20, little) & 0x0FFF_FFFF
        var records: [Record] = []
        var at = 24
        while at + 16 <= data.count {
            let sec = Int64(u32(at, little))
            let frac = u32(at + 4, little)
            let incl = Int(u32(at + 8, little))
            at += 16
            guard incl <= data.count - at else { break }
            records.append(Record(seconds: sec, micros: Int32(truncatingIfNeeded: nanos ? frac / 1000 : frac),
                                  bytes: data[at..<at + incl]))
            at += incl
        }
        return (linkType, records)
    }
}

@Suite struct CorpusTests {
    @Test(.enabled(if: Corpus.sharedFolder != nil || Corpus.isCI,
                   "shared corpus not found (set MIMAMORI_SHARED); skipped outside CI"))
    func ndpiCapturesDecode() throws {
        guard let shared = Corpus.sharedFolder else {
            Issue.record("CI=true but the shared corpus (../shared/\(Corpus.relative)) is missing")
            return
        }
        let folder = shared + "/" + Corpus.relative
        let names = try FileManager.default.contentsOfDirectory(atPath: folder)
            .filter { $0.hasSuffix(".pcap") }.sorted()
        #expect(names.count > 10)
        var files = 0, packets = 0, decoded = 0, held = 0, notIP = 0, invalid = 0
        var unknownLinkTypes: Set<UInt32> = []
        var worst: [(String, Int, Int)] = []
        for name in names {
            guard let data = FileManager.default.contents(atPath: folder + "/" + name),
                  let (linkType, records) = Corpus.read([UInt8](data)) else { continue }
            files += 1
            var d = Decoder()
            var p = DecodedPacket()
            var bad = 0
            for r in records {
                let result = r.bytes.withByteView {
                    d.decode($0, rawLinkType: linkType, timestamp: Timestamp(seconds: r.seconds, micros: r.micros), into: &p)
                }
                packets += 1
                switch result {
                case .decoded: decoded += 1
                case .fragmentHeld: held += 1
                case .notIP: notIP += 1
                case .invalid:
                    invalid += 1; bad += 1
                    if p.events.contains(.unknownLinkType) { unknownLinkTypes.insert(linkType) }
                }
            }
            #expect(d.counters.packets == UInt64(records.count))
            if bad > 0 { worst.append((name, bad, records.count)) }
        }
        let summary = "files \(files) packets \(packets) decoded \(decoded) held \(held) notIP \(notIP) invalid \(invalid)"
            + " unknown link types \(unknownLinkTypes.sorted())"
            + " worst \(worst.sorted { $0.1 > $1.1 }.prefix(8).map { "\($0.0) \($0.1)/\($0.2)" })"
        print(summary)
        #expect(files > 10, "\(summary)")
        #expect(decoded * 100 >= packets * 90, "\(summary)")
        #expect(invalid * 100 <= packets * 2, "\(summary)")
    }
}
