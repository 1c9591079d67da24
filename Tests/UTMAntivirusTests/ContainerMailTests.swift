import Foundation
import Testing
import UTMAntivirus
import UTMCore
import UTMInflate

@Suite struct ContainerMailTests {
    let payload = Array("hello MALWARE-MARKER-1234 world\n".utf8)
    var db: AVDatabase { AV.db([("Test.Marker:0:*:4d414c574152452d4d41524b4552", .ndb)]) }

    func detectsAtAnySplit(_ bytes: [UInt8], _ expected: String = "Test.Marker", db: AVDatabase? = nil, type: AVFileType? = nil) {
        let d = db ?? self.db
        for c in [0, 1, 3, 17, 512, 1460] {
            #expect(AV.name(AV.scan(bytes, db: d, chunk: c, type: type)) == expected, "chunk \(c)")
        }
    }

    @Test func zipStoredDeflateDescriptor() {
        detectsAtAnySplit(AV.zip([("a.txt", Array("clean".utf8)), ("b.txt", payload)], deflate: false))
        detectsAtAnySplit(AV.zip([("a.txt", Array("clean".utf8)), ("b.txt", payload)], deflate: true))
        detectsAtAnySplit(AV.zip([("a.txt", Array("clean".utf8)), ("b.txt", payload)], deflate: true, descriptor: true))
    }

    @Test func gzipTarCpio() {
        detectsAtAnySplit(Deflate.compress(payload, format: .gzip))
        detectsAtAnySplit(AV.tar([("x", Array("clean".utf8)), ("y", payload)]))
        detectsAtAnySplit(Deflate.compress(AV.tar([("y", payload)]), format: .gzip))
        detectsAtAnySplit(AV.cpioNewc([("x", Array("clean".utf8)), ("y", payload)]))
    }

    @Test func nestedAndDepthLimit() {
        let inner = AV.zip([("in.tar", AV.tar([("y", payload)]))])
        let outer = Deflate.compress(AV.tar([("in.zip", inner)]), format: .gzip)  // gzip > tar > zip > tar > file
        detectsAtAnySplit(outer)
        var cfg = AVScanConfig()
        cfg.maxDepth = 2
        let r = AV.scan(outer, db: db, config: cfg)
        #expect(r.verdict == .limitExceeded(.depth))
        #expect(!r.shouldBlock)
        cfg.limitAction = .block
        #expect(AV.scan(outer, db: db, config: cfg).shouldBlock)
    }

    @Test func bombsHitLimits() {
        let zeros = [UInt8](repeating: 0, count: 20 << 20)
        let bomb = Deflate.compress(zeros, format: .gzip)
        var cfg = AVScanConfig()
        cfg.maxExpandedBytes = 4 << 20
        let r = AV.scan(bomb, db: db, chunk: 4096, config: cfg)
        #expect(r.limits.contains(.expandedSize) || r.limits.contains(.ratio))
        if case .limitExceeded = r.verdict {} else { Issue.record("verdict \(r.verdict)") }
        // Member count.
        let many = AV.tar((0..<50).map { ("f\($0)", [UInt8]("x".utf8)) })
        cfg = AVScanConfig()
        cfg.maxMembers = 10
        #expect(AV.scan(many, db: db, config: cfg).verdict == .limitExceeded(.memberCount))
    }

    @Test func hashOfMemberMatches() {
        let db = AV.db([("44d88612fea8a8f36de82e1278abb02f:68:Not-Eicar-Name", .hdb)])
        // A hash signature only (EICAR's MD5): also hit by the built-in rule first.
        let r = AV.scan(AV.zip([("e.com", AV.eicar)]), db: db)
        #expect(AV.name(r) != nil)
    }

    @Test func mimeBase64QPUuencodeNested() {
        let b64 = AV.base64Lines(payload + [UInt8](repeating: 0x41, count: 200))
        let mail = """
        From: a@example.com\r
        Subject: test\r
        MIME-Version: 1.0\r
        Content-Type: multipart/mixed; boundary="outer"\r
        \r
        preamble\r
        --outer\r
        Content-Type: text/plain\r
        \r
        hello\r
        --outer\r
        Content-Type: multipart/alternative; boundary=inner\r
        \r
        --inner\r
        Content-Type: application/octet-stream; name="x.bin"\r
        Content-Transfer-Encoding: base64\r
        \r
        \(b64)\r
        --inner--\r
        --outer--\r

        """
        detectsAtAnySplit(Array(mail.utf8))
        let qp = "Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nhello MALWARE-=\r\nMARKER=2D1234\r\n"
        detectsAtAnySplit(Array(("From: x\r\n" + qp).utf8))
        var uu = "From: x\r\nSubject: y\r\n\r\nsee attached\r\nbegin 644 m.txt\r\n"
        // uuencode by hand (45 bytes per line).
        var i = 0
        while i < payload.count {
            let chunk = Array(payload[i..<min(i + 45, payload.count)])
            var line = [UInt8(32 + chunk.count)]
            var k = 0
            while k < chunk.count {
                let b0 = chunk[k], b1 = k + 1 < chunk.count ? chunk[k + 1] : 0, b2 = k + 2 < chunk.count ? chunk[k + 2] : 0
                for v in [b0 >> 2, (b0 & 3) << 4 | b1 >> 4, (b1 & 15) << 2 | b2 >> 6, b2 & 63] { line.append(v == 0 ? 0x60 : v + 32) }
                k += 3
            }
            uu += String(decoding: line, as: UTF8.self) + "\r\n"
            i += 45
        }
        uu += "`\r\nend\r\n"
        detectsAtAnySplit(Array(uu.utf8))
    }

    @Test func eicarInEveryEncoding() {
        let db = AVDatabase.builtinOnly()
        let name = AVDatabase.eicarName
        detectsAtAnySplit(AV.eicar, name, db: db)
        detectsAtAnySplit(AV.eicar + Array("\r\n".utf8), name, db: db)
        detectsAtAnySplit(AV.eicar + Array("   \t\n\n".utf8), name, db: db)
        #expect(AV.name(AV.scan(AV.eicar + Array("x".utf8), db: db)) == nil)
        #expect(AV.name(AV.scan(Array(" ".utf8) + AV.eicar, db: db)) == nil)
        #expect(AV.name(AV.scan(AV.eicar + [UInt8](repeating: 0x20, count: 61), db: db)) == nil)  // > 128 bytes
        detectsAtAnySplit(Deflate.compress(AV.eicar, format: .gzip), name, db: db)
        detectsAtAnySplit(AV.zip([("eicar.com", AV.eicar)]), name, db: db)
        detectsAtAnySplit(AV.tar([("eicar.com", AV.eicar)]), name, db: db)
        detectsAtAnySplit(AV.cpioNewc([("eicar.com", AV.eicar)]), name, db: db)
        let mail = "From: a\r\nContent-Type: application/octet-stream; name=eicar.com\r\nContent-Transfer-Encoding: base64\r\n\r\n\(AV.base64Lines(AV.eicar))\r\n"
        detectsAtAnySplit(Array(mail.utf8), name, db: db)
        detectsAtAnySplit(Array(("<html><a href=\"data:application/octet-stream;base64," + Data(AV.eicar).base64EncodedString() + "\">x</a></html>").utf8), name, db: db)
        #expect(AV.name(AV.scan(Array("clean text file\n".utf8), db: db)) == nil)
    }

    @Test func smtpAndPop3Extraction() {
        let b64 = AV.base64Lines(AV.eicar)
        let message = "From: a\r\nContent-Type: application/octet-stream; name=e.com\r\nContent-Transfer-Encoding: base64\r\n\r\n\(b64)\r\n..dot line\r\n"
        let client = Array("EHLO x\r\nMAIL FROM:<a>\r\nRCPT TO:<b>\r\nDATA\r\n".utf8)
        let body = Array((message + ".\r\nQUIT\r\n").utf8)
        let db = AVDatabase.builtinOnly()
        for chunk in [1, 5, 1000] {
            var smtp = SMTPFileExtractor()
            let session = FileScanSession(database: db)
            var verdict: AVVerdict?
            var delivered: [UInt8] = []
            func feed(_ bytes: [UInt8], _ dir: Direction) {
                bytes.withUnsafeBytes { raw in
                    let v = ByteView(raw)
                    var off = 0
                    while off < v.count {
                        smtp.feed(v.dropFirst(off).prefix(chunk), direction: dir) { ev in
                            switch ev {
                            case .begin: session.begin(type: .mail)
                            case .data(let d): delivered += d.bytes; session.feed(d)
                            case .end: verdict = session.end().verdict
                            }
                        }
                        off += chunk
                    }
                }
            }
            feed(client, .toServer)
            feed(Array("354 go ahead\r\n".utf8), .toClient)
            feed(body, .toServer)
            #expect(verdict == .infected(AVDatabase.eicarName), "chunk \(chunk)")
            #expect(String(decoding: delivered, as: UTF8.self) == message.replacingOccurrences(of: "\r\n..dot", with: "\r\n.dot"))
        }
        var pop = POP3FileExtractor()
        let session = FileScanSession(database: db)
        var verdict: AVVerdict?
        let events: (MailEvent) -> Void = { ev in
            switch ev {
            case .begin: session.begin(type: .mail)
            case .data(let d): session.feed(d)
            case .end: verdict = session.end().verdict
            }
        }
        Array("RETR 1\r\n".utf8).withUnsafeBytes { pop.feed(ByteView($0), direction: .toServer, events) }
        Array(("+OK 100 octets\r\n" + message + ".\r\n").utf8).withUnsafeBytes { pop.feed(ByteView($0), direction: .toClient, events) }
        #expect(verdict == .infected(AVDatabase.eicarName))
    }

    @Test func httpHelpers() {
        func name(_ s: String) -> String? {
            Array(s.utf8).withUnsafeBytes { HTTPFileInfo.fileName(contentDisposition: ByteView($0)).map { String(decoding: $0.bytes, as: UTF8.self) } }
        }
        #expect(name("attachment; filename=\"a b.exe\"") == "a b.exe")
        #expect(name("attachment; filename=x.zip; size=3") == "x.zip")
        #expect(name("attachment; filename=\"x\"; filename*=UTF-8''%e2%82%ac.exe") == "%e2%82%ac.exe")
        #expect(name("inline") == nil)
        #expect(HTTPFileInfo.isPartial(status: 206, contentRange: nil))
        #expect(!HTTPFileInfo.isPartial(status: 200, contentRange: nil))
        #expect(Array("bytes 100-199/1000".utf8).withUnsafeBytes { HTTPFileInfo.isPartial(status: 200, contentRange: ByteView($0)) })
    }

    @Test func fileinfoFacts() {
        let db = AVDatabase.builtinOnly()
        let r = AV.scan(Array("%PDF-1.4 hello".utf8), db: db, chunk: 3)
        #expect(r.info.type == .pdf)
        #expect(r.info.size == 14)
        #expect(r.info.hex(.md5)?.count == 32)
        #expect(r.info.hex(.sha256)?.count == 64)
        let e = AV.scan(AV.eicar, db: db)
        #expect(e.info.hex(.md5) == "44d88612fea8a8f36de82e1278abb02f")
        #expect(e.info.hex(.sha256) == "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f")
    }
}
