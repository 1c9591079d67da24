import UTMCore
import UTMAppLayer
import UTMInflate

// Streaming container decoders: zip (stored, deflate, bzip2; local headers, data descriptors),
// gzip, bzip2,
// tar (ustar/gnu), cpio (newc/crc, odc, binary both byte orders), and mail (MIME, uuencode,
// in `AVMime.swift`). Each member is scanned as a file by the next `ScanLevel`. Headers are
// collected in the level's fixed 512-byte slab; nothing allocates per chunk.

struct ContainerState {
    enum Kind: UInt8 { case none, zip, gzip, bzip2, tar, cpio, mime, szdd, dataURI }
    enum Phase: UInt8 { case header, name, skip, data, inflate, descriptor, done }
    enum CpioFormat: UInt8 { case newc, odc, binLE, binBE }

    var kind: Kind = .none
    var phase: Phase = .header
    var afterSkip: Phase = .header
    var hdrLen = 0
    var hdrNeed = 0
    var skipLeft: Int64 = 0
    /// Member data bytes left; -1 when only the compressed stream knows its end.
    var remaining: Int64 = 0
    var padAfter: Int64 = 0
    var memberOpen = false
    var memberStopped = false
    var nameLeft = 0
    var nameLen = 0
    var extraLen = 0
    var declared: Int64 = -1
    var openAfterName = false
    var isRegular = true
    var zipMethod: UInt16 = 0
    /// The member in `.inflate` is bzip2 (`level.bunzip`), not deflate (`level.inflater`).
    var useBz = false
    var zipFlags: UInt16 = 0
    var cpio: CpioFormat = .newc
    var longName = false
    var haveLongName = false
    static let nameBase = 128
    static let nameCap = 380

    mutating func start(type: AVFileType, level: ScanLevel) {
        self = ContainerState()
        switch type {
        case .zip: kind = .zip; hdrNeed = 30
        case .gzip: kind = .gzip; phase = .inflate; remaining = -1
        case .bzip2: kind = .bzip2; phase = .inflate; remaining = -1; useBz = true
        case .tar: kind = .tar; hdrNeed = 512
        case .cpio: kind = .cpio; hdrNeed = 6
        case .mail, .uuencoded: kind = .mime; level.mime?.reset(uuOnly: type == .uuencoded)
        case .szdd: kind = .szdd; hdrNeed = 14
        case .html: kind = .dataURI; level.dataURI.reset()
        default: kind = .none
        }
        if kind == .gzip { level.inflater?.reset(format: .gzip) }
    }

    // MARK: Feeding

    mutating func feed(_ input: ByteView, level: ScanLevel, child: ScanLevel, session: FileScanSession) {
        if kind == .mime { level.mime?.feed(input, AVMimeSink(level: level, child: child, session: session)); return }
        if kind == .dataURI { level.dataURI.feed(input, level: level, child: child, session: session); return }
        var data = input
        var guardCount = 0
        while !data.isEmpty && phase != .done && level.infected < 0 {
            guardCount += 1
            if guardCount > 1_000_000 { phase = .done; break }
            switch phase {
            case .done: return
            case .header:
                let take = Swift.min(hdrNeed - hdrLen, data.count)
                level.header.write(data.prefix(take), at: hdrLen)
                hdrLen += take
                data = data.dropFirst(take)
                if hdrLen == hdrNeed { headerComplete(level: level, child: child, session: session) }
            case .name:
                let take = Swift.min(nameLeft, data.count)
                let keep = Swift.max(0, Swift.min(take, ContainerState.nameCap - nameLen))
                if keep > 0 { level.header.write(data.prefix(keep), at: ContainerState.nameBase + nameLen) }
                nameLen += keep
                nameLeft -= take
                data = data.dropFirst(take)
                if nameLeft == 0 { nameComplete(level: level, child: child, session: session) }
            case .skip:
                let take = Int(Swift.min(skipLeft, Int64(data.count)))
                skipLeft -= Int64(take)
                data = data.dropFirst(take)
                if skipLeft == 0 {
                    phase = afterSkip
                    hdrLen = 0
                    if phase == .data { afterSkipToData(level: level, child: child, session: session) }
                }
            case .data where kind == .szdd:
                if !level.szdd.feed(data, level: level, child: child, session: session) {
                    closeMember(level: level, child: child, session: session, truncated: true)
                    phase = .done
                }
                data = .empty
            case .data:
                let take = Int(Swift.min(remaining, Int64(data.count)))
                if memberOpen && !memberStopped && !level.feedMember(child, session, data.prefix(take)) { memberStopped = true }
                remaining -= Int64(take)
                data = data.dropFirst(take)
                if remaining == 0 { closeMember(level: level, child: child, session: session, truncated: false) }
            case .inflate:
                data = inflate(data, level: level, child: child, session: session)
            case .descriptor:
                let take = Swift.min(hdrNeed - hdrLen, data.count)
                level.header.write(data.prefix(take), at: hdrLen)
                hdrLen += take
                data = data.dropFirst(take)
                if hdrLen == hdrNeed {
                    let sig = level.header.view(0, 4)?.u32le(0) ?? 0
                    startSkip(sig == 0x0807_4b50 ? 12 : 8, then: .header)
                    hdrNeed = 30
                }
            }
        }
    }

    mutating func finish(level: ScanLevel, child: ScanLevel, session: FileScanSession) {
        if kind == .mime { level.mime?.finish(AVMimeSink(level: level, child: child, session: session)); return }
        if kind == .dataURI { level.dataURI.finish(level: level, child: child, session: session); return }
        if kind == .szdd && memberOpen {
            level.szdd.flush(level: level, child: child, session: session)
            closeMember(level: level, child: child, session: session, truncated: false)
        }
        if memberOpen {
            if phase == .inflate {
                let st = useBz ? level.bunzip?.finish() : level.inflater?.finish()
                if st == .failed { session.damaged = true }
            }
            closeMember(level: level, child: child, session: session, truncated: true)
        }
        phase = .done
    }

    private mutating func startSkip(_ n: Int64, then next: Phase) {
        hdrLen = 0
        if n <= 0 { phase = next; return }
        skipLeft = n
        afterSkip = next
        phase = .skip
    }

    private mutating func openMember(level: ScanLevel, child: ScanLevel, session: FileScanSession) -> Bool {
        let name = level.header.view(ContainerState.nameBase, nameLen) ?? .empty
        memberStopped = false
        guard level.beginMember(child, session, name: name, size: declared) else {
            memberOpen = false
            phase = .done
            return false
        }
        memberOpen = true
        return true
    }

    private mutating func closeMember(level: ScanLevel, child: ScanLevel, session: FileScanSession, truncated: Bool) {
        if memberOpen { level.endMember(child, session, truncated: truncated || memberStopped) }
        memberOpen = false
        if phase == .data || phase == .inflate {
            startSkip(padAfter, then: .header)
            padAfter = 0
        }
        if session.limits.contains(.memberCount) || session.limits.contains(.expandedSize) || session.limits.contains(.ratio) {
            phase = .done
        }
    }

    // MARK: Headers

    private mutating func headerComplete(level: ScanLevel, child: ScanLevel, session: FileScanSession) {
        guard let h = level.header.view(0, hdrNeed) else { phase = .done; return }
        switch kind {
        case .zip: zipHeader(h, level: level, child: child, session: session)
        case .tar: tarHeader(h, level: level, child: child, session: session)
        case .cpio: cpioHeader(h, level: level, child: child, session: session)
        case .szdd:
            declared = Int64(h.u32le(10) ?? 0)
            nameLen = 0
            guard openMember(level: level, child: child, session: session) else { return }
            level.szdd.reset()
            phase = .data
            remaining = Int64.max
        default: phase = .done
        }
    }

    private mutating func nameComplete(level: ScanLevel, child: ScanLevel, session: FileScanSession) {
        switch kind {
        case .zip:
            // Extra field next, then the data.
            startSkip(Int64(extraLen), then: .data)
            if phase == .data { zipData(level: level, child: child, session: session) } else { afterSkip = .data; openAfterName = true }
        case .cpio:
            let name = level.header.view(ContainerState.nameBase, nameLen) ?? .empty
            if name.starts(with: trailerName) { phase = .done; return }
            startSkip(padAfterName, then: .data)
            if phase == .data { cpioData(level: level, child: child, session: session) } else { openAfterName = true }
        case .tar:
            // GNU long name: the data was the next member's name.
            haveLongName = true
            while nameLen > 0, level.header.read(ContainerState.nameBase + nameLen - 1) == 0 { nameLen -= 1 }
            startSkip(padAfter, then: .header)
            padAfter = 0
        default: phase = .done
        }
    }

    private var trailerName: ByteView { ContainerState.trailer.byteView }
    static let trailer: StaticString = "TRAILER!!!"
    var padAfterName: Int64 = 0

    // ZIP

    private mutating func zipHeader(_ h: ByteView, level: ScanLevel, child: ScanLevel, session: FileScanSession) {
        let sig = h.u32le(0) ?? 0
        if sig == 0x3030_4b50 {  // "PK00" spanning marker before the first header
            _ = level.header.move(from: 4, to: 0, count: 26)
            hdrLen = 26
            return
        }
        guard sig == 0x0403_4b50 else {
            if sig != 0x0201_4b50 && sig != 0x0605_4b50 { session.damaged = true }
            phase = .done
            return
        }
        zipFlags = h.u16le(6) ?? 0
        zipMethod = h.u16le(8) ?? 0
        remaining = Int64(h.u32le(18) ?? 0)
        declared = Int64(h.u32le(22) ?? 0)
        nameLeft = Int(h.u16le(26) ?? 0)
        extraLen = Int(h.u16le(28) ?? 0)
        nameLen = 0
        openAfterName = false
        if nameLeft == 0 { nameComplete(level: level, child: child, session: session) } else { phase = .name }
    }

    /// Called when the extra field is behind us.
    private mutating func zipData(level: ScanLevel, child: ScanLevel, session: FileScanSession) {
        let descriptor = zipFlags & 8 != 0
        let isDir = nameLen > 0 && level.header.read(ContainerState.nameBase + nameLen - 1) == UInt8(ascii: "/")
        if descriptor { declared = -1 }
        if zipFlags & 1 != 0 || (zipMethod != 0 && zipMethod != 8 && zipMethod != 12) || isDir {
            // Encrypted or a method we cannot decode (deflate64, implode, LZMA, ...): skip.
            if descriptor && zipMethod != 0 && remaining == 0 { phase = .done; return }
            startSkip(remaining, then: .header)
            return
        }
        if zipMethod == 0 {
            if descriptor && remaining == 0 { phase = .done; return }  // stored with unknown size
            guard openMember(level: level, child: child, session: session) else { return }
            phase = .data
            if remaining == 0 { closeMember(level: level, child: child, session: session, truncated: false) }
            return
        }
        useBz = zipMethod == 12
        guard let inf = level.inflater, let bz = level.bunzip else { phase = .done; return }
        guard openMember(level: level, child: child, session: session) else { return }
        var limits = InflateLimits()
        limits.maxOutput = Swift.max(1, session.expandBudget())
        limits.maxRatio = Int64.max / 2
        if useBz { bz.reset(limits: limits) } else { inf.reset(format: .raw, limits: limits) }
        if descriptor { remaining = -1 }
        phase = .inflate
        if remaining == 0 && !descriptor {
            closeMember(level: level, child: child, session: session, truncated: false)
        }
    }

    private mutating func inflate(_ data: ByteView, level: ScanLevel, child: ScanLevel, session: FileScanSession) -> ByteView {
        guard let inf = level.inflater, let bz = level.bunzip else { phase = .done; return .empty }
        let single = kind == .gzip || kind == .bzip2  // the whole file is one compressed stream
        if single && !memberOpen {
            guard openMember(level: level, child: child, session: session) else { return .empty }
            var limits = InflateLimits()
            limits.maxOutput = Swift.max(1, session.expandBudget())
            limits.maxRatio = Int64.max / 2
            if useBz { bz.reset(limits: limits) } else { inf.reset(format: .gzip, limits: limits) }
        }
        let piece = remaining >= 0 ? data.prefix(Int(Swift.min(remaining, Int64(data.count)))) : data
        var stopped = memberStopped
        let st: InflateState
        let trailing: Int
        if useBz {
            let before = bz.trailingBytes
            st = bz.feed(piece) { out in
                if !stopped && !level.feedMember(child, session, out) { stopped = true }
            }
            trailing = Int(bz.trailingBytes - before)
        } else {
            let before = inf.trailingBytes
            st = inf.feed(piece) { out in
                if !stopped && !level.feedMember(child, session, out) { stopped = true }
            }
            trailing = Int(inf.trailingBytes - before)
        }
        memberStopped = stopped
        switch st {
        case .running:
            if remaining >= 0 {
                remaining -= Int64(piece.count)
                if remaining == 0 {
                    session.damaged = true
                    closeMember(level: level, child: child, session: session, truncated: true)
                }
            }
            return data.dropFirst(piece.count)
        case .finished:
            let consumed = piece.count - trailing
            if single {
                closeMember(level: level, child: child, session: session, truncated: false)
                phase = .done
                return .empty
            }
            if remaining >= 0 {
                let left = remaining - Int64(consumed)
                remaining = 0
                closeMember(level: level, child: child, session: session, truncated: false)
                startSkip(Swift.max(0, left), then: .header)
                return data.dropFirst(consumed)
            }
            closeMember(level: level, child: child, session: session, truncated: false)
            phase = .descriptor
            hdrLen = 0
            hdrNeed = 4
            return data.dropFirst(consumed)
        case .limited, .failed:
            if st == .failed { session.damaged = true } else { session.limits.insert(AVLimitSet(.expandedSize)) }
            let wasKnown = remaining >= 0
            closeMember(level: level, child: child, session: session, truncated: true)
            if wasKnown && kind == .zip && st == .failed {
                let left = remaining - Int64(piece.count)
                startSkip(Swift.max(0, left), then: .header)
                return data.dropFirst(piece.count)
            }
            phase = .done
            return .empty
        }
    }

    // TAR

    private static func octal(_ h: ByteView, _ off: Int, _ len: Int) -> Int64? {
        // GNU base-256 for large sizes.
        if let first = h.u8(off), first & 0x80 != 0 {
            var v: Int64 = Int64(first & 0x7f)
            for i in 1..<len { v = v << 8 | Int64(h.u8(off + i) ?? 0); if v > 1 << 50 { return nil } }
            return v
        }
        var v: Int64 = 0
        var seen = false
        for i in 0..<len {
            guard let c = h.u8(off + i) else { return nil }
            if c == 0 || c == 0x20 { if seen { break } else { continue } }
            guard c >= 0x30 && c <= 0x37 else { return nil }
            v = v << 3 | Int64(c - 0x30)
            seen = true
            if v > 1 << 50 { return nil }
        }
        return v
    }

    private mutating func tarHeader(_ h: ByteView, level: ScanLevel, child: ScanLevel, session: FileScanSession) {
        var zero = true
        var sum: Int64 = 0
        for i in 0..<512 {
            let b = h.u8(i) ?? 0
            if b != 0 { zero = false }
            sum += (i >= 148 && i < 156) ? 32 : Int64(b)
        }
        if zero { phase = .done; return }
        guard let check = ContainerState.octal(h, 148, 8), check == sum, let size = ContainerState.octal(h, 124, 12) else {
            session.damaged = true
            phase = .done
            return
        }
        let flag = h.u8(156) ?? 0
        let pad = (512 - size % 512) % 512
        hdrLen = 0
        switch flag {
        case UInt8(ascii: "L"):
            nameLen = 0
            nameLeft = Int(Swift.min(size, 1 << 20))
            padAfter = pad + (size - Int64(nameLeft))
            phase = nameLeft > 0 ? .name : .header
        case 0, UInt8(ascii: "0"), UInt8(ascii: "7"):
            if !haveLongName {
                var n = 0
                while n < 100, let c = h.u8(n), c != 0 { n += 1 }
                nameLen = Swift.min(n, ContainerState.nameCap)
                if let v = h.slice(0, nameLen) { level.header.write(v, at: ContainerState.nameBase) }
            }
            haveLongName = false
            declared = size
            remaining = size
            padAfter = pad
            guard openMember(level: level, child: child, session: session) else { return }
            phase = .data
            if size == 0 { closeMember(level: level, child: child, session: session, truncated: false) }
        default:
            haveLongName = false
            startSkip(size + pad, then: .header)
        }
    }

    // CPIO

    private static func hex(_ h: ByteView, _ off: Int, _ len: Int) -> Int64? {
        var v: Int64 = 0
        for i in 0..<len {
            guard let c = h.u8(off + i), let d = HexPatternParser.hexValue(c) else { return nil }
            v = v << 4 | Int64(d)
        }
        return v
    }

    private static func oct(_ h: ByteView, _ off: Int, _ len: Int) -> Int64? {
        var v: Int64 = 0
        for i in 0..<len {
            guard let c = h.u8(off + i), c >= 0x30, c <= 0x37 else { return nil }
            v = v << 3 | Int64(c - 0x30)
        }
        return v
    }

    private mutating func cpioHeader(_ h: ByteView, level: ScanLevel, child: ScanLevel, session: FileScanSession) {
        if hdrNeed == 6 {
            if h.starts(with: ("070701" as StaticString).byteView) || h.starts(with: ("070702" as StaticString).byteView) { cpio = .newc; hdrNeed = 110 }
            else if h.starts(with: ("070707" as StaticString).byteView) { cpio = .odc; hdrNeed = 76 }
            else if h.u16le(0) == 0o070707 { cpio = .binLE; hdrNeed = 26 }
            else if h.u16(0) == 0o070707 { cpio = .binBE; hdrNeed = 26 }
            else { session.damaged = true; phase = .done }
            return
        }
        var mode: Int64 = 0, nsize: Int64 = 0, fsize: Int64 = 0
        switch cpio {
        case .newc:
            guard let m = ContainerState.hex(h, 14, 8), let f = ContainerState.hex(h, 54, 8), let n = ContainerState.hex(h, 94, 8) else {
                session.damaged = true; phase = .done; return
            }
            mode = m; fsize = f; nsize = n
            padAfterName = (4 - (110 + n) % 4) % 4
            padAfter = (4 - f % 4) % 4
        case .odc:
            guard let m = ContainerState.oct(h, 18, 6), let n = ContainerState.oct(h, 59, 6), let f = ContainerState.oct(h, 65, 11) else {
                session.damaged = true; phase = .done; return
            }
            mode = m; fsize = f; nsize = n
            padAfterName = 0
            padAfter = 0
        case .binLE, .binBE:
            func u16(_ o: Int) -> Int64 { Int64(cpio == .binLE ? (h.u16le(o) ?? 0) : (h.u16(o) ?? 0)) }
            mode = u16(6); nsize = u16(20); fsize = u16(22) << 16 | u16(24)
            padAfterName = nsize % 2
            padAfter = fsize % 2
        }
        guard nsize > 0, nsize < 1 << 16 else { session.damaged = true; phase = .done; return }
        isRegular = mode & 0o170000 == 0o100000
        declared = fsize
        remaining = fsize
        nameLen = 0
        nameLeft = Int(nsize)
        hdrNeed = 6
        hdrLen = 0
        phase = .name
    }

    private mutating func cpioData(level: ScanLevel, child: ScanLevel, session: FileScanSession) {
        // Strip the name's terminating NUL.
        while nameLen > 0, level.header.read(ContainerState.nameBase + nameLen - 1) == 0 { nameLen -= 1 }
        if !isRegular || remaining == 0 { startSkip(remaining + padAfter, then: .header); padAfter = 0; return }
        guard openMember(level: level, child: child, session: session) else { return }
        phase = .data
    }

    /// Skips that end in `.data` must open the member first (zip extra field, cpio name padding).
    mutating func afterSkipToData(level: ScanLevel, child: ScanLevel, session: FileScanSession) {
        switch kind {
        case .zip: zipData(level: level, child: child, session: session)
        case .cpio: cpioData(level: level, child: child, session: session)
        default: break
        }
    }
}

/// MS-DOS `COMPRESS.EXE` (SZDD) decoder: LZSS with a 4 KiB window primed with spaces, eight
/// items per flag byte (set bit: literal; clear: 12-bit position and 4-bit length + 3).
struct SzddDecoder {
    let window = ByteSlab(capacity: 4096)
    let out = ByteSlab(capacity: 1024)
    var outLen = 0
    var pos = 4096 - 16
    var flags = 0
    var flagBits = 0
    var pendingFirst = -1

    mutating func reset() {
        _ = window.withUnsafeMutableBytes(0, 4096) { $0.initializeMemory(as: UInt8.self, repeating: 0x20) }
        pos = 4096 - 16
        flagBits = 0
        pendingFirst = -1
        outLen = 0
    }

    private mutating func put(_ b: UInt8, level: ScanLevel, child: ScanLevel, session: FileScanSession) -> Bool {
        window.write(b, at: pos)
        pos = (pos + 1) & 4095
        out.write(b, at: outLen)
        outLen += 1
        if outLen == out.capacity { return flush(level: level, child: child, session: session) }
        return true
    }

    @discardableResult
    mutating func flush(level: ScanLevel, child: ScanLevel, session: FileScanSession) -> Bool {
        defer { outLen = 0 }
        guard outLen > 0, let v = out.view(0, outLen) else { return true }
        return level.feedMember(child, session, v)
    }

    /// False when a limit or a detection stops the member.
    mutating func feed(_ data: ByteView, level: ScanLevel, child: ScanLevel, session: FileScanSession) -> Bool {
        var ok = true
        data.forEachByte { b in
            guard ok else { return }
            if flagBits == 0 && pendingFirst < 0 {
                flags = Int(b)
                flagBits = 8
                return
            }
            if pendingFirst >= 0 {
                let offset = pendingFirst | (Int(b & 0xf0) << 4)
                let length = Int(b & 0x0f) + 3
                pendingFirst = -1
                for k in 0..<length where ok {
                    let c = window.read((offset + k) & 4095) ?? 0x20
                    ok = put(c, level: level, child: child, session: session)
                }
                return
            }
            let literal = flags & 1 != 0
            flags >>= 1
            flagBits -= 1
            if literal {
                ok = put(b, level: level, child: child, session: session)
            } else {
                pendingFirst = Int(b)
            }
        }
        return ok
    }
}

/// `data:...;base64,` URIs inside HTML: each one's decoded bytes are scanned as a member
/// (HTML smuggling delivers executables this way).
struct DataURIDecoder {
    static let marker: StaticString = ";base64,"
    let out = ByteSlab(capacity: 768)
    var matched = 0
    var inData = false
    var acc: UInt32 = 0
    var count = 0
    var outLen = 0
    var memberOpen = false

    mutating func reset() { matched = 0; inData = false; acc = 0; count = 0; outLen = 0; memberOpen = false }

    mutating func feed(_ data: ByteView, level: ScanLevel, child: ScanLevel, session: FileScanSession) {
        let m = DataURIDecoder.marker.byteView
        var stop = false
        data.forEachByte { c in
            guard !stop else { return }
            if !inData {
                if asciiLowerByte(c) == m[checked: matched] {
                    matched += 1
                    if matched == m.count {
                        matched = 0
                        inData = true
                        acc = 0; count = 0; outLen = 0
                        memberOpen = level.beginMember(child, session, name: .empty, size: -1)
                        if !memberOpen { stop = true; inData = false }
                    }
                } else {
                    matched = c == m[checked: 0] ? 1 : 0
                }
                return
            }
            let v: UInt32
            switch c {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): v = UInt32(c - 65)
            case UInt8(ascii: "a")...UInt8(ascii: "z"): v = UInt32(c - 71)
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v = UInt32(c + 4)
            case UInt8(ascii: "+"): v = 62
            case UInt8(ascii: "/"): v = 63
            case 0x0d, 0x0a, 0x20, 0x09: return
            default:
                if !close(level: level, child: child, session: session) { stop = true }
                return
            }
            acc = acc << 6 | v
            count += 1
            if count == 4 {
                out.write(UInt8(truncatingIfNeeded: acc >> 16), at: outLen)
                out.write(UInt8(truncatingIfNeeded: acc >> 8), at: outLen + 1)
                out.write(UInt8(truncatingIfNeeded: acc), at: outLen + 2)
                outLen += 3
                acc = 0
                count = 0
                if outLen + 3 > out.capacity {
                    if let v = out.view(0, outLen), !level.feedMember(child, session, v) { stop = true }
                    outLen = 0
                }
            }
        }
    }

    /// Ends the current URI; false when scanning should stop.
    private mutating func close(level: ScanLevel, child: ScanLevel, session: FileScanSession) -> Bool {
        inData = false
        guard memberOpen else { return true }
        if count >= 2 {
            let a = acc << UInt32(6 * (4 - count))
            out.write(UInt8(truncatingIfNeeded: a >> 16), at: outLen)
            out.write(UInt8(truncatingIfNeeded: a >> 8), at: outLen + 1)
            outLen += count - 1
        }
        var ok = true
        if let v = out.view(0, outLen), !v.isEmpty { ok = level.feedMember(child, session, v) }
        outLen = 0; count = 0; acc = 0
        memberOpen = false
        level.endMember(child, session, truncated: false)
        return ok && level.infected < 0
    }

    mutating func finish(level: ScanLevel, child: ScanLevel, session: FileScanSession) {
        if inData { _ = close(level: level, child: child, session: session) }
    }
}

/// The MIME decoder's parts as members of a scan level (the decoder lives in UTMAppLayer since
/// session 12; this is what it called directly before).
struct AVMimeSink: MimeSink {
    let level: ScanLevel
    let child: ScanLevel
    let session: FileScanSession

    var wantsMore: Bool { level.infected < 0 }
    func beginPart(name: ByteView) -> Bool { level.beginMember(child, session, name: name, size: -1) }
    func feedPart(_ data: ByteView) -> Bool { level.feedMember(child, session, data) }
    func endPart() { level.endMember(child, session, truncated: false) }
}
