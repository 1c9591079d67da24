import Testing
import UTMCore
@testable import UTMAntivirus
import UTMAppLayer

/// RFC 2047 / RFC 2231 attachment names as real mailers send them, decoded, bounded, and
/// never trapping on truncated or damaged values.
@Suite struct MimeFileNameTests {
    func decode(_ header: String, key: String = "filename", capacity: Int = 256) -> String? {
        let slab = ByteSlab(capacity: capacity)
        let h = Array(header.utf8), k = Array(key.utf8)
        let n = h.withUnsafeBytes { hv in k.withUnsafeBytes { kv in MimeFileName.decode(ByteView(hv), key: ByteView(kv), into: slab) } }
        return n.map { String(decoding: slab.view(0, $0)?.bytes ?? [], as: UTF8.self) }
    }

    @Test func plainAndQuoted() {
        #expect(decode("attachment; filename=report.pdf") == "report.pdf")
        #expect(decode("attachment; filename=\"a; b.exe\"; size=3") == "a; b.exe")
        #expect(decode("attachment; filename=\"say \\\"hi\\\".txt\"") == "say \"hi\".txt")
        #expect(decode("attachment; size=3") == nil)
        #expect(decode("inline") == nil)
    }

    @Test func rfc2047EncodedWords() {
        // 請求書.pdf in UTF-8, base64 (what Outlook and Japanese mailers send).
        #expect(decode("attachment; filename=\"=?UTF-8?B?6KuL5rGC5pu4LnBkZg==?=\"") == "請求書.pdf")
        // Split into two words with folding whitespace between them: the space is dropped.
        #expect(decode("attachment; filename=\"=?UTF-8?B?6KuL5rGC?=\r\n =?UTF-8?B?5pu4LnBkZg==?=\"") == "請求書.pdf")
        #expect(decode("attachment; filename=\"=?iso-8859-1?Q?R=E9sum=E9_final.doc?=\"") == "Résumé final.doc")
        #expect(decode("application/octet-stream; name==?utf-8?q?invoice=5F2024.zip?=", key: "name") == "invoice_2024.zip")
        // Text around a word is kept; a broken word is copied as written.
        #expect(decode("attachment; filename=\"x =?UTF-8?B?YQ==?= y\"") == "x a y")
        #expect(decode("attachment; filename=\"=?UTF-8?X?abc?=\"") == "=?UTF-8?X?abc?=")
        #expect(decode("attachment; filename=\"=?UTF-8?B?6Kq\"") == "=?UTF-8?B?6Kq")
    }

    @Test func rfc2231ExtendedAndContinuations() {
        #expect(decode("attachment; filename*=UTF-8''%E8%AB%8B%E6%B1%82%E6%9B%B8.pdf") == "請求書.pdf")
        #expect(decode("attachment; filename=\"fallback.pdf\"; filename*=utf-8'ja'%E8%AB%8B.pdf") == "請.pdf")
        #expect(decode("attachment; filename*=iso-8859-1'en'%E9t%E9.txt") == "été.txt")
        #expect(decode("attachment; filename*0*=UTF-8''%E8%AB%8B%E6; filename*1*=%B1%82; filename*2=\".pdf\"") == "請求.pdf")
        #expect(decode("attachment; filename*1=\"b.txt\"; filename*0=\"a\"") == "ab.txt")
        #expect(decode("attachment; filename*=UTF-8''100%25%zz") == "100%%zz")
    }

    @Test func boundedAndRobust() {
        #expect(decode("attachment; filename=" + String(repeating: "a", count: 1000), capacity: 16) == String(repeating: "a", count: 16))
        #expect(decode("attachment; filename*=iso-8859-1''%E9%E9%E9", capacity: 5) == "éé")
        let samples = ["attachment; filename*0*=UTF-8''%E8%AB; filename*1*=%8B", "attachment; filename=\"=?UTF-8?B?6KuL5rGC5pu4LnBkZg==?=\"",
                       "a; filename=\"\\", "a;;;=;filename", "a; filename*=''", "a; filename*00000000001=x"]
        for s in samples {
            let b = Array(s.utf8)
            for n in 0...b.count { _ = decode(String(decoding: b.prefix(n), as: UTF8.self)) }
        }
    }

    /// The decoded name is what the MIME decoder gives the attachment's scan level.
    @Test func mimePartUsesDecodedName() {
        let eicarB64 = AV.base64Lines(AV.eicar)
        let mail = "From: a\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: application/octet-stream;\r\n name=\"=?UTF-8?B?6KuL5rGC5pu4LmNvbQ==?=\"\r\nContent-Transfer-Encoding: base64\r\n\r\n\(eicarB64)\r\n--b--\r\n"
        for c in [1, 7, 64, 0] {
            let s = FileScanSession(database: AVDatabase.builtinOnly())
            s.begin(type: .mail)
            let bytes = Array(mail.utf8)
            bytes.withUnsafeBytes { raw in
                let all = ByteView(raw)
                let step = c == 0 ? all.count : c
                var off = 0
                while off < all.count { s.feed(all.dropFirst(off).prefix(step)); off += step }
            }
            #expect(s.end().verdict == .infected(AVDatabase.eicarName), "chunk \(c)")
            let member = s.levels[1]
            #expect(member.names.string(member.name) == "請求書.com", "chunk \(c)")
        }
    }

    /// What the engine writes as the mail's fileinfo filename: the infected attachment's
    /// decoded name; for a clean mail the last attachment's; nothing left from an earlier file.
    @Test func sessionLendsTheDetectedMemberName() {
        func mail(_ parts: [(String, [UInt8])]) -> [UInt8] {
            var m = "From: a\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
            for (disp, body) in parts {
                m += "--b\r\nContent-Disposition: \(disp)\r\nContent-Transfer-Encoding: base64\r\n\r\n\(AV.base64Lines(body))\r\n"
            }
            return Array((m + "--b--\r\n").utf8)
        }
        let scanner = AVScanner(database: AVDatabase.builtinOnly(), sessions: 1)
        func run(_ bytes: [UInt8]) -> (String?, String) {
            guard let s = scanner.begin(type: .mail) else { return (nil, "") }
            bytes.withUnsafeBytes { raw in
                let all = ByteView(raw)
                var off = 0
                while off < all.count { s.feed(all.dropFirst(off).prefix(13)); off += 13 }
            }
            let r = s.end()
            let name = s.withMemberName { String(decoding: $0.bytes, as: UTF8.self) }
            s.release()
            return (AV.name(r), name)
        }
        let infected = mail([("attachment; filename=\"note.txt\"", Array("hello".utf8)),
                             ("attachment; filename=\"=?UTF-8?B?6KuL5rGC5pu4LmNvbQ==?=\"", AV.eicar),
                             ("attachment; filename*=UTF-8''%E5%86%99%E7%9C%9F.jpg", Array("jpeg".utf8))])
        #expect(run(infected) == (AVDatabase.eicarName, "請求書.com"))
        let clean = mail([("attachment; filename=a.txt", Array("x".utf8)), ("attachment; filename*=UTF-8''%E5%86%99.jpg", Array("y".utf8))])
        #expect(run(clean) == (nil, "写.jpg"))
        // A message without attachments: no name, not the previous file's.
        #expect(run(Array("From: a\r\nSubject: hi\r\n\r\nplain body\r\n".utf8)) == (nil, ""))
    }
}
