import UTMCore

/// What a file is, from its first bytes (EVE `fileinfo.magic`, signature targets, and which
/// container decoder runs).
public enum AVFileType: UInt8, Sendable, CaseIterable {
    case unknown = 0
    case pe, elf, machO, zip, gzip, bzip2, xz, sevenZip, rar, tar, cpio, pdf, ole2, png, jpeg, gif,
         html, script, mail, text, cab, uuencoded, java, swf, szdd

    /// A short human name for EVE (`magic`).
    public var name: StaticString {
        switch self {
        case .unknown: return "data"
        case .pe: return "PE executable"
        case .elf: return "ELF executable"
        case .machO: return "Mach-O executable"
        case .zip: return "Zip archive"
        case .gzip: return "gzip compressed data"
        case .bzip2: return "bzip2 compressed data"
        case .xz: return "XZ compressed data"
        case .sevenZip: return "7-zip archive"
        case .rar: return "RAR archive"
        case .tar: return "POSIX tar archive"
        case .cpio: return "cpio archive"
        case .pdf: return "PDF document"
        case .ole2: return "Composite Document File V2 (OLE2)"
        case .png: return "PNG image"
        case .jpeg: return "JPEG image"
        case .gif: return "GIF image"
        case .html: return "HTML document"
        case .script: return "script text"
        case .mail: return "mail message"
        case .text: return "ASCII text"
        case .cab: return "Microsoft Cabinet archive"
        case .uuencoded: return "uuencoded text"
        case .java: return "Java class"
        case .swf: return "Flash SWF"
        case .szdd: return "MS Compress SZDD"
        }
    }

    /// Whether the scanner unpacks this type into members.
    public var isContainer: Bool {
        switch self {
        case .zip, .gzip, .bzip2, .tar, .cpio, .mail, .uuencoded, .szdd, .html: return true
        default: return false
        }
    }

    /// Bytes of the file start `detect` may look at (tar's magic sits at 257).
    public static let prefixNeeded = 512

    /// Decides the type from the first bytes (up to `prefixNeeded`; fewer when the file is
    /// shorter). Never traps on any input.
    public static func detect(_ p: ByteView) -> AVFileType {
        guard p.count >= 2 else { return p.isEmpty ? .unknown : .text }
        if at(p, 0, "MZ") { return .pe }
        if at(p, 0, "\u{7f}ELF") { return .elf }
        if let m = p.u32(0), m == 0xfeedface || m == 0xfeedfacf || m == 0xcefaedfe || m == 0xcffaedfe { return .machO }
        if at(p, 0, "PK\u{03}\u{04}") { return .zip }
        if at(p, 0, "PK\u{05}\u{06}") { return .zip }
        if at(p, 0, "PK00PK\u{03}\u{04}") { return .zip }
        if p.u8(0) == 0x1f && p.u8(1) == 0x8b { return .gzip }
        if at(p, 0, "BZh") { return .bzip2 }
        if let a = p.u32(0), a == 0xfd377a58 { return .xz }
        if let a = p.u32(0), a == 0x377abcaf { return .sevenZip }
        if at(p, 0, "Rar!") { return .rar }
        if at(p, 257, "ustar") { return .tar }
        if at(p, 0, "070701") { return .cpio }
        if at(p, 0, "070702") { return .cpio }
        if at(p, 0, "070707") { return .cpio }
        if let h = p.u16le(0), h == 0o070707 { return .cpio }
        if let h = p.u16(0), h == 0o070707 { return .cpio }
        if at(p, 0, "%PDF-") { return .pdf }
        if let a = p.u64(0), a == 0xd0cf11e0a1b11ae1 { return .ole2 }
        if let a = p.u64(0), a == 0x89504e470d0a1a0a { return .png }
        if p.u8(0) == 0xff && p.u8(1) == 0xd8 && p.u8(2) == 0xff { return .jpeg }
        if at(p, 0, "GIF87a") { return .gif }
        if at(p, 0, "GIF89a") { return .gif }
        if at(p, 0, "MSCF") { return .cab }
        if let a = p.u64(0), a == 0x535a_4444_88f0_2733 { return .szdd }
        if let a = p.u32(0), a == 0xcafebabe { return .java }
        if at(p, 0, "FWS") { return .swf }
        if at(p, 0, "CWS") { return .swf }
        if at(p, 0, "ZWS") { return .swf }
        if at(p, 0, "#!") { return .script }
        if at(p, 0, "begin ") { return .uuencoded }
        if looksLikeMail(p) { return .mail }
        if looksLikeHTML(p) { return .html }
        if looksLikeText(p) { return .text }
        return .unknown
    }

    @inline(__always)
    static func at(_ p: ByteView, _ off: Int, _ s: StaticString) -> Bool {
        guard off <= p.count else { return false }
        return p.dropFirst(off).starts(with: s.byteView)
    }

    private static let mailStarts: [[UInt8]] = lowered(["From ", "Received:", "Return-Path:", "From:", "To:", "Subject:",
                                                     "Date:", "Message-ID:", "MIME-Version:", "Delivered-To:",
                                                     "X-", "Content-Type:", "Reply-To:"])

    private static func looksLikeMail(_ p: ByteView) -> Bool {
        var k = 0
        while k < mailStarts.count {
            defer { k += 1 }
            guard startsCI(p, mailStarts[k]) else { continue }
            // Header-like first line, and a second header line or a blank line follows.
            return looksLikeText(p)
        }
        return false
    }

    /// Case-insensitive prefix test against an already lower-cased literal.
    private static func startsCI(_ p: ByteView, _ s: [UInt8]) -> Bool {
        guard p.count >= s.count else { return false }
        var i = 0
        while i < s.count {
            guard let b = p.u8(i), asciiLower(b) == s[i] else { return false }
            i += 1
        }
        return true
    }

    private static let htmlStarts: [[UInt8]] = lowered(["<!doctype html", "<html", "<head", "<body", "<script", "<a ",
                                                        "<iframe", "<!--", "<meta", "<title"])

    private static func lowered(_ list: [String]) -> [[UInt8]] { list.map { Array($0.lowercased().utf8) } }

    private static func looksLikeHTML(_ p: ByteView) -> Bool {
        var i = 0
        while let c = p.u8(i), c == 0x20 || c == 0x09 || c == 0x0d || c == 0x0a || c == 0xef || c == 0xbb || c == 0xbf { i += 1 }
        guard p.u8(i) == UInt8(ascii: "<") else { return false }
        let rest = p.dropFirst(i)
        var k = 0
        while k < htmlStarts.count {
            if startsCI(rest, htmlStarts[k]) { return true }
            k += 1
        }
        return false
    }

    private static func looksLikeText(_ p: ByteView) -> Bool {
        var i = 0
        while let b = p.u8(i) {
            if b < 0x09 || (b > 0x0d && b < 0x20 && b != 0x1b) || b == 0x7f { return false }
            i += 1
        }
        return true
    }

    /// ClamAV's signature target numbers (`Target:` / .ndb's second field): whether a file of
    /// this type is one the target names. 0 is any file.
    func matchesTarget(_ target: UInt8) -> Bool {
        switch target {
        case 0: return true
        case 1: return self == .pe
        case 2: return self == .ole2
        case 3: return self == .html
        case 4: return self == .mail
        case 5: return self == .png || self == .jpeg || self == .gif
        case 6: return self == .elf
        case 7: return self == .text || self == .html || self == .script || self == .mail
        case 9: return self == .machO
        case 10: return self == .pdf
        case 11: return self == .swf
        case 12: return self == .java
        default: return false
        }
    }
}
