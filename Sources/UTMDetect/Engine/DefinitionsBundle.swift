import UTMCore
import UTMMatch

/// Why a definitions bundle cannot be used. One line: code, file, reason.
public struct BundleError: Error, CustomStringConvertible, Sendable {
    public enum Code: String, Sendable { case badMagic = "E_BUNDLE_MAGIC", badVersion = "E_BUNDLE_VERSION",
                                         truncated = "E_BUNDLE_TRUNCATED", checksum = "E_BUNDLE_CHECKSUM",
                                         corrupt = "E_BUNDLE_CORRUPT" }
    public var code: Code
    public var file: String
    public var reason: String
    public var description: String { "\(code.rawValue): \(file): \(reason)" }
}

/// The compiled IPS definitions as one versioned, checksummed file.
///
/// Layout (little endian): magic "MIMAIPS\0" (8), version u32, header length u32, header,
/// sections, then an FNV-1a 64 checksum of everything before it. Header: total length u64,
/// signature count u32, a hash of the signature order (sids), section count u32, and per
/// section kind u32 + offset u64 + length u64. Sections: the rule sources (file name + text,
/// in load order) and one serialized prefilter automaton per buffer. At load the rules are
/// parsed again (cheap) while the automata are mapped as they are (no recompilation).
public enum DefinitionsBundle {
    public static let magic: [UInt8] = Array("MIMAIPS".utf8) + [0]
    public static let version: UInt32 = 1
    static let sectionSources: UInt32 = 1
    static let sectionPatternSetBase: UInt32 = 0x100

    public static func isBundle(prefix: [UInt8]) -> Bool { prefix.starts(with: magic) }

    /// Encodes `sources` (file name, text) and the definitions compiled from them.
    public static func encode(sources: [(String, String)], definitions defs: DetectDefinitions) -> [UInt8] {
        var srcSection: [UInt8] = []
        put32(&srcSection, UInt32(sources.count))
        for (name, text) in sources {
            let n = Array(name.utf8), t = Array(text.utf8)
            put32(&srcSection, UInt32(n.count)); srcSection += n
            put64(&srcSection, UInt64(t.count)); srcSection += t
        }
        var sections: [(UInt32, [UInt8])] = [(sectionSources, srcSection)]
        for (b, set) in defs.patternSets.enumerated() {
            if let set { sections.append((sectionPatternSetBase + UInt32(b), set.serialized())) }
        }
        let headerLength = 8 + 4 + 8 + 4 + sections.count * 20
        var offset = UInt64(8 + 4 + 4 + headerLength)
        var header: [UInt8] = []
        let total = offset + sections.reduce(0) { $0 + UInt64($1.1.count) } + 8
        put64(&header, total)
        put32(&header, UInt32(defs.count))
        put64(&header, orderHash(defs.signatures))
        put32(&header, UInt32(sections.count))
        for (kind, bytes) in sections {
            put32(&header, kind); put64(&header, offset); put64(&header, UInt64(bytes.count))
            offset += UInt64(bytes.count)
        }
        var out = magic
        put32(&out, version)
        put32(&out, UInt32(header.count))
        out += header
        for (_, bytes) in sections { out += bytes }
        put64(&out, fnv1a(out[...]))
        return out
    }

    /// Decodes a bundle. Every length is checked: a truncated or altered file is an error,
    /// never a trap.
    public static func decode(_ bytes: [UInt8], file: String) throws(BundleError) -> DetectDefinitions {
        func err(_ c: BundleError.Code, _ r: String) -> BundleError { BundleError(code: c, file: file, reason: r) }
        guard bytes.count >= 8, Array(bytes[0 ..< 8]) == magic else { throw err(.badMagic, "not an IPS definitions bundle") }
        guard bytes.count >= 8 + 4 + 4 + 8 else { throw err(.truncated, "file ends inside the header") }
        let v = get32(bytes, 8)
        guard v == version else { throw err(.badVersion, "format version \(v), this build reads \(version)") }
        let stored = get64(bytes, bytes.count - 8)
        let headerLength = Int(get32(bytes, 12))
        guard headerLength >= 24, 16 + headerLength <= bytes.count - 8 else { throw err(.truncated, "file ends inside the header") }
        let total = get64(bytes, 16)
        guard total == UInt64(bytes.count) else {
            throw err(total > UInt64(bytes.count) ? .truncated : .corrupt, "length \(bytes.count), header says \(total)")
        }
        guard fnv1a(bytes[0 ..< bytes.count - 8]) == stored else { throw err(.checksum, "checksum mismatch (altered file)") }
        let sigCount = Int(get32(bytes, 24))
        let hash = get64(bytes, 28)
        let sectionCount = Int(get32(bytes, 36))
        guard 24 + sectionCount * 20 == headerLength else { throw err(.corrupt, "bad section table") }
        var sources: [(String, String)]? = nil
        var sets = [CompiledPatternSet?](repeating: nil, count: BufferID.count)
        for s in 0 ..< sectionCount {
            let at = 40 + s * 20
            let kind = get32(bytes, at)
            let off = get64(bytes, at + 4), len = get64(bytes, at + 12)
            guard off <= UInt64(bytes.count - 8), len <= UInt64(bytes.count - 8) - off else { throw err(.corrupt, "section out of range") }
            let body = Array(bytes[Int(off) ..< Int(off + len)])
            if kind == sectionSources {
                guard let src = decodeSources(body) else { throw err(.corrupt, "rule sources section") }
                sources = src
            } else if kind >= sectionPatternSetBase && kind < sectionPatternSetBase + UInt32(BufferID.count) {
                let set: CompiledPatternSet? = body.withUnsafeBytes { CompiledPatternSet(serialized: ByteView($0)) }
                guard let set else { throw err(.corrupt, "prefilter automaton \(kind - sectionPatternSetBase)") }
                sets[Int(kind - sectionPatternSetBase)] = set
            } else {
                throw err(.corrupt, "unknown section \(kind)")
            }
        }
        guard let sources else { throw err(.corrupt, "no rule sources section") }
        var parser = RuleParser()
        for (name, text) in sources { parser.load(text: text, file: name) }
        let set = parser.finish()
        let ordered = DetectDefinitions.evaluationOrder(set.signatures)
        guard ordered.count == sigCount, orderHash(ordered) == hash else {
            throw err(.corrupt, "rules do not rebuild to the compiled set (other parser version?)")
        }
        return DetectDefinitions(ordered: ordered, flowbitNames: set.flowbitNames, patternSets: sets)
    }

    static func decodeSources(_ b: [UInt8]) -> [(String, String)]? {
        guard b.count >= 4 else { return nil }
        let n = Int(get32(b, 0))
        var at = 4
        var out: [(String, String)] = []
        for _ in 0 ..< n {
            guard at + 4 <= b.count else { return nil }
            let nl = Int(get32(b, at)); at += 4
            guard nl <= b.count - at else { return nil }
            let name = String(decoding: b[at ..< at + nl], as: UTF8.self); at += nl
            guard at + 8 <= b.count else { return nil }
            let tl = get64(b, at); at += 8
            guard tl <= UInt64(b.count - at) else { return nil }
            let text = String(decoding: b[at ..< at + Int(tl)], as: UTF8.self); at += Int(tl)
            out.append((name, text))
        }
        return at == b.count ? out : nil
    }

    static func orderHash(_ sigs: [Signature]) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for s in sigs {
            h = (h ^ UInt64(s.sid)) &* 0x100_0000_01b3
            h = (h ^ UInt64(s.gid)) &* 0x100_0000_01b3
            h = (h ^ UInt64(s.prefilter?.pattern.count ?? 0)) &* 0x100_0000_01b3
        }
        return h
    }

    static func fnv1a(_ b: ArraySlice<UInt8>) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for x in b { h = (h ^ UInt64(x)) &* 0x100_0000_01b3 }
        return h
    }

    static func put32(_ o: inout [UInt8], _ v: UInt32) { for i in 0 ..< 4 { o.append(UInt8(truncatingIfNeeded: v >> (8 * UInt32(i)))) } }
    static func put64(_ o: inout [UInt8], _ v: UInt64) { for i in 0 ..< 8 { o.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) } }
    static func get32(_ b: [UInt8], _ at: Int) -> UInt32 {
        var v: UInt32 = 0
        for i in 0 ..< 4 { v |= UInt32(b[at + i]) << (8 * UInt32(i)) }
        return v
    }
    static func get64(_ b: [UInt8], _ at: Int) -> UInt64 {
        var v: UInt64 = 0
        for i in 0 ..< 8 { v |= UInt64(b[at + i]) << (8 * UInt64(i)) }
        return v
    }
}
