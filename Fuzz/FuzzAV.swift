// libFuzzer target for the antivirus engine: signature-line parsing, the scanner with its
// container and MIME decoders, and the SMTP/POP3 framers. Must never trap.
// Build (from the package root, after `swift build --target UTMAntivirus`), e.g.:
//   swiftc -sanitize=fuzzer,address -parse-as-library -I .build/debug/Modules -I Sources/CZlib \
//     -I Sources/COpenSSL Fuzz/FuzzAV.swift .build/debug/UTMAntivirus.build/*.o \
//     .build/debug/UTMCore.build/*.o .build/debug/UTMInflate.build/*.o \
//     .build/debug/UTMCrypto.build/*.o .build/debug/UTMMatch.build/*.o -I Sources/CBzip2 -lz -lbz2 -lcrypto -o fuzz-av
//
// The first byte picks the mode and the chunk size: 0–3 signature text of each format
// (then, if it loaded, a scan of the same bytes with it), 4 a file scan, 5 a mail scan,
// 6 SMTP and 7 POP3 streams whose direction flips at every 0xff byte.
import UTMCore
import UTMAntivirus

private let fuzzDB: AVDatabase = {
    var b = AVDatabaseBuilder()
    b.load("M:0:*:4d414c5741{1-3}4d41524b4552\nN:0:*:41424344*45464748\nO:0:EOF-4:5a5a(41|42)5a\n", format: .ndb)
    b.load("L;Target:0;(0&1)|2>1;4d414c;4b4552;504b\n", format: .ldb)
    b.load("44d88612fea8a8f36de82e1278abb02f:68:X\n", format: .hdb)
    return b.build()
}()
nonisolated(unsafe) private let fuzzSession: FileScanSession = {
    var c = AVScanConfig()
    c.maxExpandedBytes = 1 << 20
    c.maxFileBytes = 1 << 20
    return FileScanSession(database: fuzzDB, config: c)
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAV(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let mode = Int(data[0] & 7)
    let chunk = Int(data[0] >> 3) * 37 + 1
    let body = ByteView(unsafeStart: UnsafeRawPointer(data + 1), count: size - 1)
    func scan(_ db: AVDatabase?, type: AVFileType?) {
        let s = db.map { FileScanSession(database: $0) } ?? fuzzSession
        s.begin(type: type)
        var off = 0
        while off < body.count {
            s.feed(body.dropFirst(off).prefix(chunk))
            off += chunk
        }
        _ = s.end()
        _ = s.withMemberName { $0.count }  // the decoded attachment name (RFC 2047/2231)
    }
    switch mode {
    case 0, 1, 2, 3:
        let formats: [AVSignatureFormat] = [.hdb, .ndb, .ldb, .hsb]
        var b = AVDatabaseBuilder()
        b.load(body.bytes, format: formats[mode])
        if b.report.totalLoaded > 0 { scan(b.build(), type: nil) }
    case 4:
        scan(nil, type: nil)
    case 5:
        scan(nil, type: .mail)
    default:
        var smtp = SMTPFileExtractor()
        var pop = POP3FileExtractor()
        let s = fuzzSession
        let events: (MailEvent) -> Void = { ev in
            switch ev {
            case .begin: s.begin(type: .mail)
            case .data(let d): s.feed(d)
            case .end: _ = s.end()
            }
        }
        var dir = Direction.toServer
        var start = 0
        var i = 0
        while i <= body.count {
            if i == body.count || body.u8(i) == 0xff {
                let piece = body.dropFirst(start).prefix(i - start)
                if mode == 6 { smtp.feed(piece, direction: dir, events) } else { pop.feed(piece, direction: dir, events) }
                dir = dir == .toServer ? .toClient : .toServer
                start = i + 1
            }
            i += 1
        }
        if mode == 6 { smtp.finish(events) } else { pop.finish(events) }
    }
    return 0
}
