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
/// section kind u32 + offset u64 + length u64. Sections: the compiled signatures in evaluation
/// order (`SignatureCodec`) and one serialized prefilter automaton per buffer.
///
/// Version 2 stores the compiled signatures instead of the rule text (version 1): loading is a
/// walk over the bytes plus the PCRE compiles, no rule parsing, so the ET set loads in well
/// under a second. A version 1 file is refused with `E_BUNDLE_VERSION` (recompile it with
/// `utmctl defs compile`).
public enum DefinitionsBundle {
    public static let magic: [UInt8] = Array("MIMAIPS".utf8) + [0]
    public static let version: UInt32 = 2
    static let sectionSignatures: UInt32 = 2
    static let sectionPatternSetBase: UInt32 = 0x100
    /// Derived-buffer automata (a buffer through a transform chain): `+ slot - 1`, apart from
    /// the buffer ones so that a new `BufferID` case never renumbers them.
    static let sectionDerivedSetBase: UInt32 = 0x1000

    public static func isBundle(prefix: [UInt8]) -> Bool { prefix.starts(with: magic) }

    /// Encodes the definitions. `sources` (file name, text) is no longer stored: the bundle
    /// carries the compiled signatures (kept for callers of version 1's API).
    public static func encode(sources: [(String, String)], definitions defs: DetectDefinitions) -> [UInt8] {
        encode(definitions: defs)
    }

    /// Encodes the compiled signatures and their prefilter automata.
    public static func encode(definitions defs: DetectDefinitions) -> [UInt8] {
        var sections: [(UInt32, [UInt8])] = [(sectionSignatures, SignatureCodec.encode(defs.signatures, flowbitNames: defs.flowbitNames))]
        for (b, set) in defs.patternSets.enumerated() {
            guard let set else { continue }
            let kind = b < BufferID.count ? sectionPatternSetBase + UInt32(b) : sectionDerivedSetBase + UInt32(b - BufferID.count)
            sections.append((kind, set.serialized()))
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
        out.reserveCapacity(Int(total))
        put32(&out, version)
        put32(&out, UInt32(header.count))
        out += header
        for (_, bytes) in sections { out += bytes }
        let sum = out.withUnsafeBytes { fnv1a(ByteView($0)) }
        put64(&out, sum)
        return out
    }

    /// Decodes a bundle held in an array (tests, small files).
    public static func decode(_ bytes: [UInt8], file: String) throws(BundleError) -> DetectDefinitions {
        let r: Result<DetectDefinitions, BundleError> = bytes.withUnsafeBytes { raw in
            do throws(BundleError) { return .success(try decode(ByteView(raw), file: file)) } catch { return .failure(error) }
        }
        return try r.get()
    }

    /// Decodes a bundle from a view (a mapped file: nothing is copied but the decoded tables).
    /// Every length is checked: a truncated or altered file is an error, never a trap.
    public static func decode(_ bytes: ByteView, file: String) throws(BundleError) -> DetectDefinitions {
        try decodeParts(bytes, file: file).definitions()
    }

    /// A checked, decoded bundle that holds no reference to the file's bytes: a loader can
    /// unmap the file before the definitions (groups, alert texts) are built, so the mapping
    /// and those tables are never resident together (peak RSS).
    public struct Decoded: Sendable {
        let signatures: [Signature]
        let flowbitNames: FlowbitNames
        let patternSets: [CompiledPatternSet?]

        public func definitions() -> DetectDefinitions {
            DetectDefinitions(ordered: signatures, flowbitNames: flowbitNames, patternSets: patternSets)
        }
    }

    /// `decode` without building the definitions yet (see `Decoded`).
    public static func decodeParts(_ bytes: ByteView, file: String) throws(BundleError) -> Decoded {
        func err(_ c: BundleError.Code, _ r: String) -> BundleError { BundleError(code: c, file: file, reason: r) }
        guard bytes.count >= 8, (0 ..< 8).allSatisfy({ bytes.u8($0) == magic[$0] }) else {
            throw err(.badMagic, "not an IPS definitions bundle")
        }
        guard bytes.count >= 8 + 4 + 4 + 8, let v = bytes.u32le(8) else { throw err(.truncated, "file ends inside the header") }
        guard v == version else {
            throw err(.badVersion, "format version \(v), this build reads \(version): recompile it with 'utmctl defs compile'")
        }
        let stored = get64(bytes, bytes.count - 8)
        let headerLength = Int(get32(bytes, 12))
        guard headerLength >= 24, 16 + headerLength <= bytes.count - 8 else { throw err(.truncated, "file ends inside the header") }
        let total = get64(bytes, 16)
        guard total == UInt64(bytes.count) else {
            throw err(total > UInt64(bytes.count) ? .truncated : .corrupt, "length \(bytes.count), header says \(total)")
        }
        guard fnv1a(bytes.prefix(bytes.count - 8)) == stored else { throw err(.checksum, "checksum mismatch (altered file)") }
        let sigCount = Int(get32(bytes, 24))
        let hash = get64(bytes, 28)
        let sectionCount = Int(get32(bytes, 36))
        guard 24 + sectionCount * 20 == headerLength else { throw err(.corrupt, "bad section table") }
        var decoded: (signatures: [Signature], flowbitNames: FlowbitNames)? = nil
        var sets = [CompiledPatternSet?](repeating: nil, count: BufferID.count + DerivedBuffers.maxSlots)
        for s in 0 ..< sectionCount {
            let at = 40 + s * 20
            let kind = get32(bytes, at)
            let off = get64(bytes, at + 4), len = get64(bytes, at + 12)
            guard off <= UInt64(bytes.count - 8), len <= UInt64(bytes.count - 8) - off,
                  let body = bytes.slice(Int(off), Int(len)) else { throw err(.corrupt, "section out of range") }
            if kind == sectionSignatures {
                do throws(SignatureCodec.Bad) { decoded = try SignatureCodec.decode(body) } catch {
                    throw err(.corrupt, "signatures: \(error.reason)")
                }
            } else if kind >= sectionPatternSetBase && kind < sectionPatternSetBase + UInt32(BufferID.count) {
                guard let set = CompiledPatternSet(serialized: body) else {
                    throw err(.corrupt, "prefilter automaton \(kind - sectionPatternSetBase)")
                }
                sets[Int(kind - sectionPatternSetBase)] = set
            } else if kind >= sectionDerivedSetBase && kind < sectionDerivedSetBase + UInt32(DerivedBuffers.maxSlots) {
                guard let set = CompiledPatternSet(serialized: body) else {
                    throw err(.corrupt, "prefilter automaton of derived buffer \(kind - sectionDerivedSetBase + 1)")
                }
                sets[BufferID.count + Int(kind - sectionDerivedSetBase)] = set
            } else {
                throw err(.corrupt, "unknown section \(kind)")
            }
        }
        guard let decoded else { throw err(.corrupt, "no signatures section") }
        guard decoded.signatures.count == sigCount, orderHash(decoded.signatures) == hash else {
            throw err(.corrupt, "signature table does not match the header")
        }
        for (b, set) in sets.enumerated() {
            // Every prefilter id must name a signature (the scan reports ids as indices).
            if let set, set.maxID >= 0, set.maxID >= sigCount { throw err(.corrupt, "prefilter automaton \(b): id out of range") }
        }
        return Decoded(signatures: decoded.signatures, flowbitNames: decoded.flowbitNames, patternSets: sets)
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

    static func fnv1a(_ b: ByteView) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        b.forEachByte { x in h = (h ^ UInt64(x)) &* 0x100_0000_01b3 }
        return h
    }

    static func put32(_ o: inout [UInt8], _ v: UInt32) { for i in 0 ..< 4 { o.append(UInt8(truncatingIfNeeded: v >> (8 * UInt32(i)))) } }
    static func put64(_ o: inout [UInt8], _ v: UInt64) { for i in 0 ..< 8 { o.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) } }
    /// Callers checked the range; out of range reads as 0.
    static func get32(_ b: ByteView, _ at: Int) -> UInt32 { b.u32le(at) ?? 0 }
    static func get64(_ b: ByteView, _ at: Int) -> UInt64 { UInt64(get32(b, at + 4)) << 32 | UInt64(get32(b, at)) }
}
