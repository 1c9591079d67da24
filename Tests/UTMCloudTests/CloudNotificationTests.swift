import Foundation
import Testing
@testable import UTMCloudClient
import UTMCloudService
import UTMStore
#if canImport(Glibc)
import Glibc
#endif

/// A tiny SMTP server on loopback: speaks the real conversation and keeps what it received.
final class SMTPSink: @unchecked Sendable {
    struct Message {
        var recipients: [String]
        var data: String
        /// The decoded RFC 2047 subject.
        var subject: String {
            guard let line = data.split(separator: "\r\n").first(where: { $0.hasPrefix("Subject: ") }) else { return "" }
            let v = line.dropFirst("Subject: ".count)
            guard v.hasPrefix("=?UTF-8?B?"), v.hasSuffix("?=") else { return String(v) }
            let b64 = v.dropFirst(10).dropLast(2)
            return Data(base64Encoded: String(b64)).map { String(decoding: $0, as: UTF8.self) } ?? ""
        }
    }

    let fd: Int32
    let port: UInt16
    private let lock = NSLock()
    private var got: [Message] = []
    var messages: [Message] { lock.withLock { got } }

    init() {
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let sock = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        fd = sock
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(sock, $0, len) } }
        listen(sock, 8)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(sock, $0, &len) } }
        port = UInt16(bigEndian: addr.sin_port)
        let t = Thread { [self] in
            while true {
                let c = accept(fd, nil, nil)
                if c < 0 { return }
                converse(c)
                close(c)
            }
        }
        t.start()
    }

    func converse(_ c: Int32) {
        var buffer: [UInt8] = []
        func send(_ s: String) { _ = s.withCString { Glibc.send(c, $0, strlen($0), Int32(MSG_NOSIGNAL)) } }
        func line() -> String? {
            while true {
                if let i = buffer.firstIndex(of: 10) {
                    let l = String(decoding: buffer[..<i], as: UTF8.self).trimmingCharacters(in: .init(charactersIn: "\r"))
                    buffer.removeFirst(i + 1)
                    return l
                }
                var chunk = [UInt8](repeating: 0, count: 4096)
                let n = recv(c, &chunk, chunk.count, 0)
                if n <= 0 { return nil }
                buffer += chunk[..<n]
            }
        }
        send("220 sink ESMTP\r\n")
        var rcpt: [String] = []
        while let l = line() {
            let upper = l.uppercased()
            if upper.hasPrefix("EHLO") || upper.hasPrefix("HELO") {
                send("250-sink\r\n250 8BITMIME\r\n")
            } else if upper.hasPrefix("MAIL FROM:") {
                rcpt = []
                send("250 ok\r\n")
            } else if upper.hasPrefix("RCPT TO:") {
                rcpt.append(String(l.dropFirst(8)).trimmingCharacters(in: .init(charactersIn: "<> ")))
                send("250 ok\r\n")
            } else if upper == "DATA" {
                send("354 go\r\n")
                var data: [String] = []
                while let d = line(), d != "." { data.append(d.hasPrefix("..") ? String(d.dropFirst()) : d) }
                let m = Message(recipients: rcpt, data: data.joined(separator: "\r\n"))
                lock.withLock { got.append(m) }
                send("250 queued\r\n")
            } else if upper == "QUIT" {
                send("221 bye\r\n")
                return
            } else {
                send("500 what\r\n")
            }
        }
    }

    func stop() {
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
    }
}

@Suite(.serialized) struct CloudNotificationTests {
    func record(_ seq: Int, severity: Int, name: String) throws -> UploadRecord {
        try JSONDecoder().decode(UploadRecord.self, from: Data("""
            {"seq":\(seq),"time":"2026-01-10T09:00:0\(seq).000000+0000","type":"alert","src_ip":"192.168.10.30","dest_ip":"198.51.100.7","name":"\(name)","severity":\(severity)}
            """.utf8))
    }

    @Test func alertsMakeOneMailTitledWithTheHighestSeverity() throws {
        let f = try CloudFixture("mail")
        let sink = SMTPSink()
        defer { sink.stop() }
        try f.start()
        let creds = try f.activate("MMR-0100", emails: ["owner@example.jp", "it@example.jp"])
        let context = try TLSContext(clientCA: creds.caPath, certificate: creds.certificatePath, key: creds.keyPath)
        let transport = CloudTransport(host: "127.0.0.1", port: f.port, context: context, timeout: 3)
        let batch = AlertBatch(epoch: creds.info.settings.epoch, records: [
            try record(1, severity: 1, name: "ET POLICY curl"), try record(2, severity: 3, name: "ET MALWARE Beacon"),
            try record(3, severity: 2, name: "ET TROJAN Something"),
        ])
        _ = try transport.post(CloudAPI.alertsPath, batch, as: AlertAck.self)
        let smtp = SMTPClient(host: "127.0.0.1", port: sink.port)
        let r = f.service.notify(smtp: smtp)
        #expect(r.failures.isEmpty, "\(r.failures)")
        #expect(eventually(5) { sink.messages.count == 1 })
        let m = try #require(sink.messages.first)
        #expect(m.subject.contains("★★★") && m.subject.contains("3件") && m.subject.contains("MMR-0100"), "\(m.subject)")
        #expect(m.recipients == ["owner@example.jp", "it@example.jp"])
        let body = m.data.split(separator: "\r\n\r\n", maxSplits: 1).last.map(String.init) ?? ""
        let text = Data(base64Encoded: body.replacingOccurrences(of: "\r\n", with: "")).map { String(decoding: $0, as: UTF8.self) } ?? ""
        #expect(text.contains("ET MALWARE Beacon") && text.contains("★☆☆ ") && text.contains("フルスキャン"), "\(text)")
        // Nothing new: no second mail.
        _ = f.service.notify(smtp: smtp)
        usleep(100_000)
        #expect(sink.messages.count == 1)
        // Only lower ones next time: the subject says so.
        _ = try transport.post(CloudAPI.alertsPath, AlertBatch(epoch: batch.epoch, records: [try record(4, severity: 1, name: "low")]),
                               as: AlertAck.self)
        _ = f.service.notify(smtp: smtp)
        #expect(eventually(5) { sink.messages.count == 2 })
        #expect(sink.messages.last?.subject.contains("★☆☆ 1件") == true, "\(sink.messages.last?.subject ?? "")")
        #expect(CloudService.stars(0) == "※調査中※")
    }

    @Test func aSilentBoxIsReportedThenDailyWhileOffline() throws {
        let f = try CloudFixture("offline")
        let sink = SMTPSink()
        defer { sink.stop() }
        try f.start()
        let creds = try f.activate("MMR-0200", emails: ["owner@example.jp"])
        let smtp = SMTPClient(host: "127.0.0.1", port: sink.port)
        #expect(f.service.notify(smtp: smtp).offline.isEmpty)
        f.clock.advance(seconds: 9 * 60)
        #expect(f.service.notify(smtp: smtp).offline.isEmpty, "within the 10 minutes")
        f.clock.advance(seconds: 2 * 60)
        #expect(f.service.notify(smtp: smtp).offline == ["MMR-0200"])
        #expect(eventually(5) { sink.messages.count == 1 })
        #expect(sink.messages[0].subject.contains("稼働停止") && sink.messages[0].subject.contains("MMR-0200"))
        f.clock.advance(seconds: 3600)
        #expect(f.service.notify(smtp: smtp).offline.isEmpty, "reported already today")
        f.clock.advance(seconds: 86_400)
        #expect(f.service.notify(smtp: smtp).offline == ["MMR-0200"], "re-reported daily")
        // A heartbeat brings it back; silence afterwards is a new outage.
        let context = try TLSContext(clientCA: creds.caPath, certificate: creds.certificatePath, key: creds.keyPath)
        _ = try CloudTransport(host: "127.0.0.1", port: f.port, context: context, timeout: 3)
            .post(CloudAPI.heartbeatPath, Heartbeat(), as: HeartbeatResponse.self)
        #expect(f.service.notify(smtp: smtp).offline.isEmpty)
        f.clock.advance(seconds: 11 * 60)
        #expect(f.service.notify(smtp: smtp).offline == ["MMR-0200"])
        #expect(eventually(5) { sink.messages.count == 3 })
    }

    @Test func aDownRelayLosesNoMail() throws {
        let f = try CloudFixture("relay")
        try f.start()
        let creds = try f.activate("MMR-0300", emails: ["owner@example.jp"])
        let context = try TLSContext(clientCA: creds.caPath, certificate: creds.certificatePath, key: creds.keyPath)
        _ = try CloudTransport(host: "127.0.0.1", port: f.port, context: context, timeout: 3)
            .post(CloudAPI.alertsPath, AlertBatch(epoch: creds.info.settings.epoch, records: [try record(1, severity: 3, name: "x")]),
                  as: AlertAck.self)
        let sink = SMTPSink()
        sink.stop() // a port nobody listens on any more
        let r = f.service.notify(smtp: SMTPClient(host: "127.0.0.1", port: sink.port))
        #expect(r.failures.count == 1 && r.alertMails.isEmpty)
        let live = SMTPSink()
        defer { live.stop() }
        #expect(f.service.notify(smtp: SMTPClient(host: "127.0.0.1", port: live.port)).alertMails.count == 1)
    }
}
