import Foundation
import Testing
@testable import UTMStore

@Suite struct UploadQueueTests {
    typealias F = StoreFixtures

    /// The alert metadata rule [000 2.1]: even when the EVE line carries headers, bodies,
    /// payload and file contents, the upload holds only the allowed keys and none of them.
    @Test func uploadsAreMetadataOnly() throws {
        let path = F.tempPath("meta")
        let s = try EventStore(path: path)
        try s.ingest(lines: F.all)
        let batch = try s.nextBatch(limit: 100)
        #expect(batch.map(\.type) == ["alert", "alert", "virus", "web_filter"],
                "clean files, recorded sites and old DNS are not alerts")
        let encoder = JSONEncoder()
        for r in batch {
            let data = try encoder.encode(r)
            let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            #expect(Set(object.keys).isSubset(of: UploadRecord.allowedKeys), "\(object.keys)")
            #expect(!String(decoding: data, as: UTF8.self).contains("SECRET"))
        }
        let a = batch[0]
        #expect(a.src_ip == "192.168.10.30" && a.dest_ip == "198.51.100.7" && a.src_mac == "aa:bb:cc:00:00:30")
        #expect(a.url == "http://evil.example/gate.php?id=7" && a.name == "ET MALWARE Evil CnC Beacon" && a.severity == 3)
        #expect(a.time == "2026-01-10T09:00:00.000000+0000")
        #expect(batch[1].sni == "api.example" && batch[1].url == nil && batch[1].severity == 1)
        #expect(batch[2].name == "Eicar-Test-Signature" && batch[2].url == "http://dl.example/eicar.com")
        #expect(batch[3].sni == "login.phish.example" && batch[3].name == "security")
        // Nor is anything secret stored in the queue's table itself.
        let raw = try s.db.prepare("SELECT group_concat(record) FROM upload_queue")
        try raw.bind([])
        _ = try raw.step()
        #expect(raw.text(0)?.contains("SECRET") == false)
    }

    /// The cloud is unreachable for a while, the box restarts twice meanwhile, and a send is
    /// lost before its acknowledgement: every alert arrives exactly once, in order.
    @Test func offlineThenBackDeliversOnceInOrder() throws {
        let path = F.tempPath("offline")
        var sent = 0
        func ingestSome(_ s: EventStore) throws {
            try s.ingest(lines: (0..<7).map { F.alert(sent + $0, sid: 1000 + sent + $0) })
            sent += 7
        }
        do { try ingestSome(try EventStore(path: path)) } // offline: queued
        do { try ingestSome(try EventStore(path: path)) } // restart, still offline
        var cloud: [Int64: UploadRecord] = [:]
        var arrival: [String] = []
        do {
            let s = try EventStore(path: path)
            #expect(try s.pendingUploads() == 14)
            // The cloud receives a batch but the acknowledgement is lost (connection cut).
            for r in try s.nextBatch(limit: 5) where cloud[r.seq] == nil { cloud[r.seq] = r; arrival.append(r.name ?? "") }
        }
        do {
            let s = try EventStore(path: path) // restart
            try ingestSome(s)
            while true {
                let batch = try s.nextBatch(limit: 4)
                guard let last = batch.last else { break }
                for r in batch where cloud[r.seq] == nil { cloud[r.seq] = r; arrival.append(r.name ?? "") }
                try s.acknowledge(upTo: last.seq)
            }
            #expect(try s.pendingUploads() == 0 && s.uploadsDropped() == 0)
        }
        #expect(arrival == (0..<21).map { "rule \(1000 + $0)" })
        let times = cloud.values.sorted { $0.seq < $1.seq }.map(\.time)
        #expect(times == times.sorted())
    }

    @Test func twoWeeksThenOldestDropped() throws {
        let clock = FakeClock(EventTime.parse("2026-01-01")!)
        var c = EventStoreConfig()
        c.clock = { clock.now }
        let s = try EventStore(path: F.tempPath("expiry"), config: c)
        try s.ingest(lines: [F.alert(0, sid: 1)])
        clock.advance(days: 10)
        try s.ingest(lines: [F.alert(1, sid: 2)])
        clock.advance(days: 3) // day 13: both kept
        #expect(try s.pruneOlderThan(days: 14) == 0)
        clock.advance(days: 2) // day 15: the first is more than two weeks old
        #expect(try s.pruneOlderThan(days: 14) == 1)
        #expect(try s.nextBatch(limit: 10).map(\.name) == ["rule 2"])
        #expect(try s.uploadsDropped() == 1)
        // Events themselves stay for investigations; only the upload expired.
        #expect(try s.search(LogQuery(types: [.alert])).count == 2)
    }

    @Test func queueCapDropsOldestFirst() throws {
        var c = EventStoreConfig()
        c.uploadMaxRows = 5
        c.batchLines = 3
        let s = try EventStore(path: F.tempPath("qcap"), config: c)
        try s.ingest(lines: (0..<12).map { F.alert($0, sid: $0) })
        #expect(try s.nextBatch(limit: 100).map(\.name) == (7..<12).map { "rule \($0)" })
        #expect(try s.uploadsDropped() == 7)
    }
}
