import UTMCore
import UTMRegex

/// The compiled signatures as bytes, for the definitions bundle: loading them back is a walk
/// over the bytes (no rule text parsed again). PCRE patterns are stored as pattern + options
/// (PCRE2's own serialized form is tied to the library build), checked to compile at load
/// (`checkPatterns`) and compiled for matching on their first match.
///
/// Every read is bounds-checked: a truncated or altered section throws, it never traps.
enum SignatureCodec {
    static let formatVersion: UInt32 = 1

    // MARK: Writing

    struct Writer {
        var out: [UInt8] = []
        /// Datasets already written, by identity, with their number: a set's contents are written
        /// once, where a rule first names it (tag 200), and later rules refer to it (tag 201).
        var datasets: [ObjectIdentifier: Int] = [:]
        /// Hash lists already written, by kind and path, with their number and digests: a list
        /// is written once, where a rule first names it (tag 222), and later rules naming the
        /// same list refer to it (tag 223), as datasets are (a 10,000-entry SHA-256 list named
        /// by 20 rules was written 20 times).
        var hashLists: [String: (number: Int, digests: [UInt8])] = [:]
        mutating func u8(_ v: UInt8) { out.append(v) }
        mutating func bool(_ v: Bool) { out.append(v ? 1 : 0) }
        mutating func fixed32(_ v: UInt32) { for i in 0 ..< 4 { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt32(i)))) } }
        /// Integers are LEB128 varints (zigzag for signed ones): most are small, and the file
        /// is mapped and read whole at load, so its size is load time and peak memory.
        mutating func u64(_ v: UInt64) {
            var x = v
            while x >= 0x80 { out.append(UInt8(truncatingIfNeeded: x) | 0x80); x >>= 7 }
            out.append(UInt8(x))
        }
        mutating func u32(_ v: UInt32) { u64(UInt64(v)) }
        mutating func u16(_ v: UInt16) { u64(UInt64(v)) }
        mutating func int(_ v: Int) { u64(UInt64(bitPattern: Int64((v << 1) ^ (v >> 63)))) }
        mutating func bytes(_ b: [UInt8]) { u32(UInt32(b.count)); out += b }
        mutating func string(_ s: String) { bytes(Array(s.utf8)) }
        mutating func optional<T>(_ v: T?, _ body: (inout Writer, T) -> Void) {
            if let v { u8(1); body(&self, v) } else { u8(0) }
        }
        mutating func value(_ v: ValueRef) {
            switch v {
            case .constant(let c): u8(0); int(c)
            case .variable(let i): u8(1); int(i)
            }
        }
        mutating func intMatch(_ m: IntMatch) { u8(m.mode.rawValue); int(m.a); int(m.b) }
        mutating func encoding(_ e: NumberEncoding) { int(e.bytes); bool(e.littleEndian); int(e.stringBase); bool(e.dce) }
        mutating func mask(_ m: UInt64?) { optional(m) { $0.u64($1) } }
        mutating func threshold(_ t: ThresholdSpec) { u8(t.kind.rawValue); u8(t.track.rawValue); int(t.count); int(t.seconds) }
        mutating func addresses(_ a: AddressSet) {
            u32(UInt32(a.v4.count))
            for r in a.v4 { u32(r.lowerBound); u32(r.upperBound) }
            u32(UInt32(a.v6.count))
            for r in a.v6 {
                u64(UInt64(truncatingIfNeeded: r.lowerBound)); u64(UInt64(truncatingIfNeeded: r.lowerBound >> 64))
                u64(UInt64(truncatingIfNeeded: r.upperBound)); u64(UInt64(truncatingIfNeeded: r.upperBound >> 64))
            }
        }
        mutating func ports(_ p: PortSet) {
            u32(UInt32(p.ranges.count))
            for r in p.ranges { u16(r.lowerBound); u16(r.upperBound) }
        }
    }

    static func encode(_ sigs: [Signature], flowbitNames: FlowbitNames) -> [UInt8] {
        var w = Writer()
        w.fixed32(formatVersion)
        w.u32(UInt32(flowbitNames.count))
        for n in flowbitNames.names { w.string(n) }
        w.u32(UInt32(sigs.count))
        for s in sigs { encode(s, &w) }
        return w.out
    }

    static func encode(_ s: Signature, _ w: inout Writer) {
        w.u8(s.action.rawValue)
        w.string(s.proto.name)
        w.optional(s.proto.ipProto) { $0.u8($1) }
        w.bool(s.proto.alsoUDP)
        w.optional(s.proto.app) { $0.u8($1.rawValue) }
        w.bool(s.proto.packetOnly)
        w.bool(s.proto.streamOnly)
        w.optional(s.proto.unparsedApp) { $0.string($1) }
        w.addresses(s.source); w.ports(s.sourcePorts)
        w.addresses(s.destination); w.ports(s.destinationPorts)
        w.bool(s.bidirectional)
        w.u32(s.sid); w.u32(s.gid); w.u32(s.rev)
        w.string(s.msg)
        w.optional(s.classtype) { w, c in w.string(c.name); w.string(c.description); w.int(c.priority) }
        w.int(s.priority)
        w.u32(UInt32(s.metadata.count))
        for (k, v) in s.metadata { w.string(k); w.string(v) }
        w.u32(UInt32(s.references.count))
        for r in s.references { w.string(r) }
        w.optional(s.target) { $0.u8($1.rawValue) }
        w.bool(s.noalert)
        w.u16(s.flow.rawValue)
        w.u32(UInt32(s.flowbits.count))
        for op in s.flowbits {
            w.u8(op.kind.rawValue); w.bool(op.any)
            w.u32(UInt32(op.bits.count))
            for b in op.bits { w.u16(b) }
        }
        w.optional(s.dsize) { $0.intMatch($1) }
        w.u32(UInt32(s.headerMatches.count))
        for h in s.headerMatches { header(h, &w) }
        w.optional(s.threshold) { $0.threshold($1) }
        w.optional(s.detectionFilter) { $0.threshold($1) }
        w.u32(UInt32(s.lists.count))
        for l in s.lists {
            // A transformed list sets the buffer byte's high bit and its chain follows
            // (`transformFlag`); bundles written before transforms never set it and still load.
            if l.transforms.isEmpty {
                w.u8(l.buffer.rawValue)
            } else {
                w.u8(l.buffer.rawValue | transformFlag)
                w.u32(UInt32(l.transforms.count))
                for t in l.transforms { transform(t, &w) }
            }
            w.u32(UInt32(l.elements.count))
            for e in l.elements { element(e, &w) }
        }
        w.int(s.variableCount)
        w.optional(s.prefilter) { w, p in w.u8(p.buffer.rawValue); w.bytes(p.pattern); w.bool(p.nocase) }
        w.optional(s.prefilterSource) { w, p in w.int(p.list); w.int(p.element) }
        w.string(s.file)
        w.int(s.line)
    }

    static func header(_ h: HeaderMatch, _ w: inout Writer) {
        switch h {
        case .tcpFlags(let r, let m, let i): w.u8(0); w.u8(r); w.u8(m); w.u8(i)
        case .icmpType(let m): w.u8(1); w.intMatch(m)
        case .icmpCode(let m): w.u8(2); w.intMatch(m)
        case .icmpID(let v): w.u8(3); w.int(v)
        case .ipID(let v): w.u8(4); w.int(v)
        case .ipProto(let m): w.u8(5); w.intMatch(m)
        case .ttl(let m): w.u8(6); w.intMatch(m)
        case .streamSize(let side, let m): w.u8(7); w.u8(side.rawValue); w.intMatch(m)
        case .sslVersion(let mask, let negated): w.u8(8); w.u8(mask); w.bool(negated)
        case .sslState(let all, let none, let any): w.u8(9); w.u8(all); w.u8(none); w.u8(any)
        case .ftpBounce: w.u8(10)
        case .ftpDataCommand(let c): w.u8(11); w.u8(c)
        case .fragBits(let bits, let modifier): w.u8(13); w.u8(bits); w.u8(modifier)
        case .fragOffset(let m): w.u8(14); w.intMatch(m)
        case .tcpSeq(let v): w.u8(15); w.u32(v)
        case .tcpAck(let v): w.u8(16); w.u32(v)
        case .tcpWindow(let m): w.u8(17); w.intMatch(m)
        case .tos(let m): w.u8(18); w.intMatch(m)
        case .ipOptions(let mask): w.u8(19); w.u16(mask)
        case .sameIP: w.u8(20)
        case .icmpSeq(let m): w.u8(21); w.intMatch(m)
        case .tcpMSS(let m): w.u8(22); w.intMatch(m)
        case .tlsVersion(let version, let raw): w.u8(23); w.u16(version); w.bool(raw)
        case .dnsOpcode(let m): w.u8(24); w.intMatch(m)
        // Session 12 (DCE/RPC), tags 230+.
        case .dcerpcIface(let m):
            w.u8(230); w.u64(m.hi); w.u64(m.lo); w.bool(m.anyFrag); w.bool(m.version != nil)
            if let v = m.version { w.intMatch(v) }
        case .dcerpcOpnum(let m):
            w.u8(231); w.bool(m.compare != nil)
            if let c = m.compare { w.intMatch(c) }
            w.int(m.ranges.count)
            for r in m.ranges { w.u32(r) }
        case .tlsCertChainLen(let m): w.u8(26); w.intMatch(m)
        case .tlsCertValidity(let v): w.u8(27); w.u8(v.field.rawValue); w.u8(v.mode.rawValue); w.int(Int(v.a)); w.int(Int(v.b))
        case .appLayerProtocol(let m): w.u8(12); w.u32(m.mask); w.bool(m.negated); w.bool(m.unknown); w.u8(m.mode)
        case .hostBit(let op): w.u8(25); w.u8(op.kind.rawValue); w.u8(op.track.rawValue); w.u16(op.name); w.int(op.expire)
        // Session 9 (filekw), tags 220+: filesize, and a hash list: its digests written once
        // per list (222, numbered in order), a reference to it for later rules (223). Tag 221
        // (digests inline) is still read; it is written only for a list whose path and kind
        // were seen with other digests (not expected: the parser caches lists by path).
        case .fileSize(let m): w.u8(220); w.intMatch(m)
        case .fileHash(let l):
            let key = "\(l.kind.rawValue):\(l.path)"
            if let known = w.hashLists[key] {
                if known.digests == l.digests {
                    w.u8(223); w.u32(UInt32(known.number)); w.bool(l.negated)
                } else {
                    w.u8(221); w.u8(l.kind.rawValue); w.bool(l.negated); w.string(l.path); w.bytes(l.digests)
                }
            } else {
                w.hashLists[key] = (w.hashLists.count, l.digests)
                w.u8(222); w.u8(l.kind.rawValue); w.bool(l.negated); w.string(l.path); w.bytes(l.digests)
            }
        // Session 9 (modernkw2) header tags from 240.
        case .dnsRRType(let m): w.u8(241); w.intMatch(m)
        case .dnsRcode(let m): w.u8(242); w.intMatch(m)
        // Session 10: an event keyword (layer, mask, protocol of app-layer events).
        case .anomaly(let m): w.u8(250); w.u8(m.layer.rawValue); w.u64(m.mask); w.u8(m.proto.rawValue)
        case .flowInt(let op): w.u8(240); w.u8(op.kind.rawValue); w.u16(op.name); w.u32(op.target); w.bool(op.targetIsVariable)
        }
    }

    /// Set in a list's buffer byte when a transform chain follows it (buffer ids stay below 128).
    static let transformFlag: UInt8 = 0x80

    /// Transform tags: 0 dotprefix, 1 to_lowercase, 2 to_uppercase, 3 strip_whitespace,
    /// 4 compress_whitespace, 5 url_decode, 6 xor (key, offset), 7 to_md5, 8 to_sha1,
    /// 9 to_sha256, 10 header_lowercase, 11 strip_pseudo_headers, 12 pcrexform (pattern,
    /// options, source), 13 from_base64 (bytes, offset, mode).
    static func transform(_ t: Transform, _ w: inout Writer) {
        switch t {
        case .dotprefix: w.u8(0)
        case .toLowercase: w.u8(1)
        case .toUppercase: w.u8(2)
        case .stripWhitespace: w.u8(3)
        case .compressWhitespace: w.u8(4)
        case .urlDecode: w.u8(5)
        case .xor(let key, let offset): w.u8(6); w.bytes(key); w.int(offset)
        case .toMD5: w.u8(7)
        case .toSHA1: w.u8(8)
        case .toSHA256: w.u8(9)
        case .headerLowercase: w.u8(10)
        case .stripPseudoHeaders: w.u8(11)
        case .pcrexform(let p): w.u8(12); w.bytes(p.regex.pattern); w.u32(p.regex.options.rawValue); w.string(p.source)
        case .fromBase64(let o): w.u8(13); w.int(o.bytes); w.int(o.offset); w.u8(o.mode.rawValue)
        }
    }

    static func transform(_ r: inout Reader) throws(Bad) -> Transform {
        switch try r.u8() {
        case 0: return .dotprefix
        case 1: return .toLowercase
        case 2: return .toUppercase
        case 3: return .stripWhitespace
        case 4: return .compressWhitespace
        case 5: return .urlDecode
        case 6:
            let key = try r.bytes(), offset = try r.int()
            guard !key.isEmpty, key.count <= 255, offset >= 0 else { throw Bad(reason: "bad xor transform") }
            return .xor(key: key, offset: offset)
        case 7: return .toMD5
        case 8: return .toSHA1
        case 9: return .toSHA256
        case 10: return .headerLowercase
        case 11: return .stripPseudoHeaders
        case 12:
            let pattern = try r.bytes()
            let options = RegexOptions(rawValue: try r.u32())
            let source = try r.string()
            guard let groups = Regex.captureCount(pattern: pattern, options: options), groups >= 1 else {
                throw Bad(reason: "pcrexform /\(source.prefix(60))/ does not compile with a capture group")
            }
            return .pcrexform(PCRETransform(regex: Regex(deferred: pattern, options: options), source: source))
        case 13:
            var o = Base64Options()
            o.bytes = try r.int(); o.offset = try r.int()
            guard o.bytes >= 0, o.offset >= 0, let mode = Base64Options.Mode(rawValue: try r.u8()) else {
                throw Bad(reason: "bad from_base64 transform")
            }
            o.mode = mode
            return .fromBase64(o)
        default:
            throw Bad(reason: "bad transform tag")
        }
    }

    static func element(_ e: MatchElement, _ w: inout Writer) {
        switch e {
        case .content(let c):
            w.u8(0)
            w.bytes(c.pattern); w.bytes(c.folded)
            w.bool(c.nocase); w.bool(c.negated)
            w.optional(c.offset) { $0.value($1) }
            w.optional(c.depth) { $0.value($1) }
            w.optional(c.distance) { $0.value($1) }
            w.optional(c.within) { $0.value($1) }
            w.bool(c.startsWith); w.bool(c.endsWith); w.bool(c.rawbytes)
            w.bool(c.fastPattern); w.bool(c.fastPatternOnly)
            w.optional(c.fastPatternChop) { w, p in w.int(p.offset); w.int(p.length) }
        case .pcre(let p):
            w.u8(1)
            w.bytes(p.regex.pattern); w.u32(p.regex.options.rawValue)
            w.bool(p.negated); w.bool(p.relative); w.string(p.source)
        case .isDataAt(let d):
            w.u8(2); w.value(d.value); w.bool(d.relative); w.bool(d.negated)
        case .byteTest(let t):
            w.u8(3); w.encoding(t.encoding); w.u8(t.op.rawValue); w.bool(t.negated)
            w.value(t.value); w.value(t.offset); w.bool(t.relative); w.mask(t.bitmask)
        case .byteJump(let j):
            w.u8(4); w.encoding(j.encoding); w.value(j.offset); w.bool(j.relative); w.int(j.multiplier)
            w.bool(j.align); w.bool(j.fromBeginning); w.bool(j.fromEnd); w.int(j.postOffset); w.mask(j.bitmask)
        case .byteExtract(let x):
            w.u8(5); w.encoding(x.encoding); w.int(x.offset); w.bool(x.relative); w.int(x.multiplier)
            w.int(x.align); w.int(x.slot); w.mask(x.bitmask)
        case .length(let m):
            w.u8(6); w.intMatch(m)
        // Session 9 (modernkw2) element tags from 240.
        case .entropy(let m):
            w.u8(240); w.u8(m.mode.rawValue); w.u64(m.value.bitPattern); w.int(m.offset); w.int(m.bytes)
        case .asn1(let o):
            w.u8(7); w.bool(o.bitstringOverflow); w.bool(o.doubleOverflow)
            w.optional(o.oversizeLength) { $0.int(Int($1)) }
            w.optional(o.absoluteOffset) { $0.int($1) }
            w.optional(o.relativeOffset) { $0.int($1) }
        case .byteMath(let m):
            w.u8(9); w.encoding(m.encoding); w.int(m.offset); w.bool(m.relative); w.u8(m.op.rawValue)
            w.value(m.rvalue); w.int(m.slot); w.mask(m.bitmask)
        case .base64Decode(let d):
            w.u8(8); w.int(d.bytes); w.int(d.offset); w.bool(d.relative)
            w.u32(UInt32(d.data.count))
            for e in d.data { element(e, &w) }
        case .dataset(let m):
            // Session 9 (datasets), tags from 200: the bundle carries the set's contents, so it
            // needs no list file where it is installed.
            if let n = w.datasets[ObjectIdentifier(m.set)] {
                w.u8(201); w.u32(UInt32(n))
            } else {
                w.datasets[ObjectIdentifier(m.set)] = w.datasets.count
                w.u8(200)
                dataset(m.set, &w)
            }
            w.u8(m.op.rawValue); w.u32(m.value)
        }
    }

    /// A dataset: name, type, list file, memcap, hashsize, whether rules change it, then its
    /// members (key bytes, reputation).
    static func dataset(_ d: Dataset, _ w: inout Writer) {
        w.string(d.name); w.u8(d.type.rawValue); w.string(d.load)
        w.int(d.memcap); w.int(d.hashsize); w.bool(d.isMutable)
        let members = d.members()
        w.u32(UInt32(members.count))
        for m in members { w.bytes(m.key); w.u32(m.rep) }
    }

    static func dataset(_ r: inout Reader) throws(Bad) -> Dataset {
        let name = try r.string()
        guard !name.isEmpty, name.utf8.count <= DetectDataset.maxNameLength else { throw Bad(reason: "bad dataset name") }
        guard let type = DatasetType(rawValue: try r.u8()) else { throw Bad(reason: "bad dataset type") }
        let load = try r.string()
        let memcap = try r.int(), hashsize = try r.int()
        guard memcap >= 0, memcap <= Dataset.maxMemcap, hashsize >= 0 else { throw Bad(reason: "bad dataset memcap") }
        let set = Dataset(name: name, type: type, load: load, memcap: memcap, hashsize: hashsize)
        if try r.bool() { set.markMutable() }
        // Each member takes at least its length varint and its reputation.
        let n = try r.count(2)
        for _ in 0 ..< n {
            let key = try r.bytes()
            let rep = try r.u32()
            guard type.admits(length: key.count), rep <= 65535 else { throw Bad(reason: "bad member of dataset \(name)") }
            key.withByteView { _ = set.insertLoaded($0, rep: rep) }
        }
        if set.isMutable {
            // The same total limit as the rule loader's (`DatasetRegistry.markMutable`): a
            // tampered bundle cannot reserve more than a rule set could.
            r.datasetRoom += Dataset.room(type: type, memcap: memcap)
            guard r.datasetRoom <= Dataset.maxTotalRoom else {
                throw Bad(reason: "dataset \(name): the sets rules change reserve over \(Dataset.maxTotalRoom >> 20) MiB together")
            }
        }
        r.datasets.append(set)
        return set
    }

    // MARK: Reading

    struct Bad: Error { var reason: String }

    struct Reader {
        let view: ByteView
        var at = 0
        /// Interning: the same long string or address/port list (`$HOME_NET`, a classtype, the
        /// file name, metadata values) decodes to one shared storage, not one copy per rule.
        /// About a fifth of the decoded signatures' memory.
        var strings: Set<String> = []
        /// Keyed by an FNV-1a hash of the encoded bytes (hashing an `[UInt8]` key byte by byte
        /// cost more than the decode); a hit is used only when the sets are equal.
        var addressSets: [UInt64: AddressSet] = [:]
        var portSets: [UInt64: PortSet] = [:]
        /// Datasets decoded so far, by number (tag 201 refers to one).
        var datasets: [Dataset] = []
        /// Room the decoded sets rules change reserve (`Dataset.room`), against the total limit.
        var datasetRoom = 0
        /// Hash lists decoded so far, by number (tag 223 refers to one): every rule naming a
        /// list shares its one digest array.
        var hashLists: [FileHashList] = []

        init(view: ByteView) { self.view = view }

        static func fnv(_ b: ByteView) -> UInt64 {
            var h: UInt64 = 0xcbf2_9ce4_8422_2325
            b.forEachByte { x in h = (h ^ UInt64(x)) &* 0x100_0000_01b3 }
            return h
        }

        @inline(__always)
        mutating func u8() throws(Bad) -> UInt8 {
            guard let v = view.u8(at) else { throw Bad(reason: "ends at byte \(at)") }
            at &+= 1
            return v
        }
        @inline(__always)
        mutating func bool() throws(Bad) -> Bool {
            let v = try u8()
            guard v <= 1 else { throw Bad(reason: "bad flag at byte \(at - 1)") }
            return v == 1
        }
        mutating func u16() throws(Bad) -> UInt16 {
            guard let v = UInt16(exactly: try u64()) else { throw Bad(reason: "16-bit value out of range") }
            return v
        }
        mutating func fixed32() throws(Bad) -> UInt32 {
            guard let v = view.u32le(at) else { throw Bad(reason: "ends at byte \(at)") }
            at &+= 4
            return v
        }
        @inline(__always)
        mutating func u32() throws(Bad) -> UInt32 {
            guard let v = UInt32(exactly: try u64()) else { throw Bad(reason: "32-bit value out of range") }
            return v
        }
        @inline(__always)
        mutating func u64() throws(Bad) -> UInt64 {
            var v: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                guard let b = view.u8(at) else { throw Bad(reason: "ends at byte \(at)") }
                at &+= 1
                guard shift < 64, shift < 63 || b <= 1 else { throw Bad(reason: "varint too long") }
                v |= UInt64(b & 0x7f) << shift
                if b < 0x80 { return v }
                shift &+= 7
            }
        }
        @inline(__always)
        mutating func int() throws(Bad) -> Int {
            let z = try u64()
            return Int(truncatingIfNeeded: Int64(bitPattern: (z >> 1) ^ (0 &- (z & 1))))
        }
        /// A count of items that each take at least `minSize` bytes: bounded by what is left.
        mutating func count(_ minSize: Int) throws(Bad) -> Int {
            let n = Int(try u32())
            guard n <= (view.count &- at) / Swift.max(1, minSize) else { throw Bad(reason: "count \(n) past the end") }
            return n
        }
        mutating func bytes() throws(Bad) -> [UInt8] {
            let n = try count(1)
            guard let s = view.slice(at, n) else { throw Bad(reason: "ends at byte \(at)") }
            at &+= n
            return s.bytes
        }
        mutating func string() throws(Bad) -> String {
            let n = try count(1)
            guard let s = view.slice(at, n) else { throw Bad(reason: "ends at byte \(at)") }
            at &+= n
            // Strings of up to 15 UTF-8 bytes are stored inline by Swift: nothing to share.
            let v = s.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
            guard n > 15 else { return v }
            if let known = strings.firstIndex(of: v) { return strings[known] }
            strings.insert(v)
            return v
        }
        mutating func present() throws(Bad) -> Bool { try bool() }
        mutating func value() throws(Bad) -> ValueRef {
            switch try u8() {
            case 0: return .constant(try int())
            case 1:
                let i = try int()
                guard i >= 0 && i < ExtractedVariables.capacity else { throw Bad(reason: "bad variable \(i)") }
                return .variable(i)
            default: throw Bad(reason: "bad value tag")
            }
        }
        mutating func optValue() throws(Bad) -> ValueRef? { try present() ? try value() : nil }
        mutating func intMatch() throws(Bad) -> IntMatch {
            guard let mode = IntMatch.Mode(rawValue: try u8()) else { throw Bad(reason: "bad comparison") }
            return IntMatch(mode: mode, a: try int(), b: try int())
        }
        mutating func encoding() throws(Bad) -> NumberEncoding {
            let e = NumberEncoding(bytes: try int(), littleEndian: try bool(), stringBase: try int(), dce: try bool())
            guard e.bytes >= 0 && e.bytes <= 64 else { throw Bad(reason: "bad byte count") }
            return e
        }
        mutating func mask() throws(Bad) -> UInt64? { try present() ? try u64() : nil }
        mutating func threshold() throws(Bad) -> ThresholdSpec {
            guard let k = ThresholdSpec.Kind(rawValue: try u8()), let t = ThresholdSpec.Track(rawValue: try u8()) else {
                throw Bad(reason: "bad threshold")
            }
            return ThresholdSpec(kind: k, track: t, count: try int(), seconds: try int())
        }
        mutating func buffer() throws(Bad) -> BufferID {
            guard let b = BufferID(rawValue: try u8()) else { throw Bad(reason: "bad buffer id") }
            return b
        }
        mutating func addresses() throws(Bad) -> AddressSet {
            let start = at
            let a = try decodeAddresses()
            guard let raw = view.slice(start, at &- start) else { return a }
            let key = Reader.fnv(raw)
            if let known = addressSets[key] { return known == a ? known : a }
            addressSets[key] = a
            return a
        }
        mutating func decodeAddresses() throws(Bad) -> AddressSet {
            var a = AddressSet()
            let n4 = try count(2)
            a.v4.reserveCapacity(n4)
            for _ in 0 ..< n4 {
                let lo = try u32(), hi = try u32()
                guard lo <= hi else { throw Bad(reason: "bad address range") }
                a.v4.append(lo ... hi)
            }
            let n6 = try count(4)
            a.v6.reserveCapacity(n6)
            for _ in 0 ..< n6 {
                let l0 = try u64(), l1 = try u64(), h0 = try u64(), h1 = try u64()
                let lo = UInt128(l1) << 64 | UInt128(l0), hi = UInt128(h1) << 64 | UInt128(h0)
                guard lo <= hi else { throw Bad(reason: "bad address range") }
                a.v6.append(lo ... hi)
            }
            return a
        }
        mutating func ports() throws(Bad) -> PortSet {
            let start = at
            let p = try decodePorts()
            guard let raw = view.slice(start, at &- start) else { return p }
            let key = Reader.fnv(raw)
            if let known = portSets[key] { return known == p ? known : p }
            portSets[key] = p
            return p
        }
        mutating func decodePorts() throws(Bad) -> PortSet {
            var p = PortSet()
            let n = try count(2)
            p.ranges.reserveCapacity(n)
            for _ in 0 ..< n {
                let lo = try u16(), hi = try u16()
                guard lo <= hi else { throw Bad(reason: "bad port range") }
                p.ranges.append(lo ... hi)
            }
            return p
        }
    }

    /// Decodes what `encode` wrote. Each regex is compiled again (`RegexError` → `Bad`).
    static func decode(_ view: ByteView) throws(Bad) -> (signatures: [Signature], flowbitNames: FlowbitNames) {
        var r = Reader(view: view)
        let v = try r.fixed32()
        guard v == formatVersion else { throw Bad(reason: "signature format \(v), this build reads \(formatVersion)") }
        var names = FlowbitNames()
        let nn = try r.count(1)
        for _ in 0 ..< nn {
            do { _ = try names.intern(try r.string()) } catch let e as Bad { throw e } catch { throw Bad(reason: "flowbit names") }
        }
        let n = try r.count(8)
        var sigs: [Signature] = []
        sigs.reserveCapacity(n)
        for _ in 0 ..< n { sigs.append(try signature(&r, flowbits: nn)) }
        guard r.at == view.count else { throw Bad(reason: "\(view.count - r.at) bytes after the last signature") }
        return (sigs, names)
    }

    static func signature(_ r: inout Reader, flowbits: Int) throws(Bad) -> Signature {
        let actionRaw = try r.u8()
        guard let action = RuleAction(rawValue: actionRaw) else { throw Bad(reason: "bad action") }
        let name = try r.string()
        let ipProto: UInt8? = try r.present() ? try r.u8() : nil
        var proto = RuleProtocol(name: name, ipProto: ipProto)
        proto.alsoUDP = try r.bool()
        if try r.present() {
            guard let app = AppProto(rawValue: try r.u8()) else { throw Bad(reason: "bad app protocol") }
            proto.app = app
        }
        proto.packetOnly = try r.bool()
        proto.streamOnly = try r.bool()
        proto.unparsedApp = try r.present() ? try r.string() : nil
        let src = try r.addresses(), sp = try r.ports()
        let dst = try r.addresses(), dp = try r.ports()
        var s = Signature(action: action, proto: proto, source: src, sourcePorts: sp, destination: dst,
                          destinationPorts: dp, bidirectional: try r.bool())
        s.sid = try r.u32(); s.gid = try r.u32(); s.rev = try r.u32()
        s.msg = try r.string()
        if try r.present() {
            s.classtype = Classification(name: try r.string(), description: try r.string(), priority: try r.int())
        }
        s.priority = try r.int()
        let nm = try r.count(2)
        s.metadata.reserveCapacity(nm)
        for _ in 0 ..< nm { s.metadata.append((key: try r.string(), value: try r.string())) }
        let nr = try r.count(1)
        for _ in 0 ..< nr { s.references.append(try r.string()) }
        if try r.present() {
            guard let t = RuleTarget(rawValue: try r.u8()) else { throw Bad(reason: "bad target") }
            s.target = t
        }
        s.noalert = try r.bool()
        s.flow = FlowMatch(rawValue: try r.u16())
        let nf = try r.count(3)
        for _ in 0 ..< nf {
            guard let kind = FlowbitOp.Kind(rawValue: try r.u8()) else { throw Bad(reason: "bad flowbit op") }
            let any = try r.bool()
            let nb = try r.count(1)
            var bits: [UInt16] = []
            for _ in 0 ..< nb {
                let b = try r.u16()
                guard Int(b) < flowbits else { throw Bad(reason: "flowbit index out of range") }
                bits.append(b)
            }
            s.flowbits.append(FlowbitOp(kind: kind, bits: bits, any: any))
        }
        s.dsize = try r.present() ? try r.intMatch() : nil
        let nh = try r.count(2)
        for _ in 0 ..< nh { s.headerMatches.append(try header(&r, flowbits: flowbits)) }
        s.threshold = try r.present() ? try r.threshold() : nil
        s.detectionFilter = try r.present() ? try r.threshold() : nil
        let nl = try r.count(2)
        for _ in 0 ..< nl {
            let raw = try r.u8()
            guard let b = BufferID(rawValue: raw & ~transformFlag) else { throw Bad(reason: "bad buffer id") }
            var chain: [Transform] = []
            if raw & transformFlag != 0 {
                let nt = try r.count(1)
                guard nt >= 1, nt <= Transform.maxChain else { throw Bad(reason: "bad transform count") }
                for _ in 0 ..< nt { chain.append(try transform(&r)) }
            }
            let ne = try r.count(2)
            var elements: [MatchElement] = []
            elements.reserveCapacity(ne)
            for _ in 0 ..< ne { elements.append(try element(&r)) }
            s.lists.append(BufferMatchList(buffer: b, elements: elements, transforms: chain))
        }
        s.variableCount = try r.int()
        guard s.variableCount >= 0 && s.variableCount <= ExtractedVariables.capacity else { throw Bad(reason: "bad variable count") }
        if try r.present() {
            s.prefilter = (try r.buffer(), try r.bytes(), try r.bool())
        }
        if try r.present() {
            let l = try r.int(), e = try r.int()
            guard l >= 0, l < s.lists.count, e >= 0, e < s.lists[l].elements.count else { throw Bad(reason: "bad prefilter source") }
            s.prefilterSource = (l, e)
        }
        s.file = try r.string()
        s.line = try r.int()
        try checkPatterns(s)
        return s
    }

    /// Every pcre of `s` must compile. `utmctl defs compile` proved it for the bundles it
    /// writes, so one that does not was crafted (the checksum only proves the bytes are the ones
    /// written) or written against another PCRE2: the load fails naming the rule, rather than
    /// loading a rule that silently never matches. Cost with ET (8,039 patterns): 127 M
    /// instructions, +8 % of the bundle load, about 0.03 s; the code is freed (no resident
    /// memory), matching compiles a pattern again on its first use.
    static func checkPatterns(_ s: Signature) throws(Bad) {
        for list in s.lists {
            for case .pcre(let p) in list.elements {
                if let e = Regex.compileError(pattern: p.regex.pattern, options: p.regex.options) {
                    throw Bad(reason: "sid \(s.sid) (\(s.file):\(s.line)): pcre does not compile: \(e)")
                }
            }
        }
    }

    static func header(_ r: inout Reader, flowbits: Int) throws(Bad) -> HeaderMatch {
        let tag = try r.u8()
        switch tag {
        case 0: return .tcpFlags(required: try r.u8(), mode: try r.u8(), ignore: try r.u8())
        case 1: return .icmpType(try r.intMatch())
        case 2: return .icmpCode(try r.intMatch())
        case 3: return .icmpID(try r.int())
        case 4: return .ipID(try r.int())
        case 5: return .ipProto(try r.intMatch())
        case 6: return .ttl(try r.intMatch())
        case 7:
            guard let side = StreamSide(rawValue: try r.u8()) else { throw Bad(reason: "bad stream side") }
            return .streamSize(side, try r.intMatch())
        case 8: return .sslVersion(mask: try r.u8(), negated: try r.bool())
        case 9: return .sslState(all: try r.u8(), none: try r.u8(), any: try r.u8())
        case 10: return .ftpBounce
        case 11: return .ftpDataCommand(try r.u8())
        case 13: return .fragBits(bits: try r.u8(), modifier: try r.u8())
        case 14: return .fragOffset(try r.intMatch())
        case 15: return .tcpSeq(try r.u32())
        case 16: return .tcpAck(try r.u32())
        case 17: return .tcpWindow(try r.intMatch())
        case 18: return .tos(try r.intMatch())
        case 19: return .ipOptions(try r.u16())
        case 20: return .sameIP
        case 21: return .icmpSeq(try r.intMatch())
        case 22: return .tcpMSS(try r.intMatch())
        case 23: return .tlsVersion(version: try r.u16(), raw: try r.bool())
        case 24: return .dnsOpcode(try r.intMatch())
        case 26: return .tlsCertChainLen(try r.intMatch())
        case 27:
            guard let field = TLSCertValidity.Field(rawValue: try r.u8()), let mode = TLSCertValidity.Mode(rawValue: try r.u8()) else {
                throw Bad(reason: "bad certificate validity test")
            }
            return .tlsCertValidity(TLSCertValidity(field: field, mode: mode, a: Int64(try r.int()), b: Int64(try r.int())))
        case 25:
            guard let kind = HostBitOp.Kind(rawValue: try r.u8()), let track = HostBitOp.Track(rawValue: try r.u8()) else {
                throw Bad(reason: "bad xbits operation")
            }
            let name = try r.u16(), expire = try r.int()
            guard Int(name) < flowbits, expire >= 0, expire <= Int(UInt32.max) else { throw Bad(reason: "bad xbits name or expire") }
            return .hostBit(HostBitOp(kind: kind, track: track, name: name, expire: expire))
        case 230:
            let hi = try r.u64(), lo = try r.u64(), anyFrag = try r.bool()
            let version = try r.bool() ? try r.intMatch() : nil
            return .dcerpcIface(DCERPCIfaceMatch(hi: hi, lo: lo, version: version, anyFrag: anyFrag))
        case 231:
            let compare = try r.bool() ? try r.intMatch() : nil
            let n = try r.int()
            guard n >= 0, n <= 4096 else { throw Bad(reason: "bad dcerpc.opnum list") }
            var ranges: [UInt32] = []
            for _ in 0 ..< n { ranges.append(try r.u32()) }
            return .dcerpcOpnum(DCERPCOpnumMatch(ranges: ranges, compare: compare))
        case 241: return .dnsRRType(try r.intMatch())
        case 242: return .dnsRcode(try r.intMatch())
        case 250:
            guard let layer = AnomalyMatch.Layer(rawValue: try r.u8()) else { throw Bad(reason: "bad event layer") }
            let mask = try r.u64()
            guard let proto = AppProto(rawValue: try r.u8()), mask != 0 else { throw Bad(reason: "bad event requirement") }
            return .anomaly(AnomalyMatch(layer: layer, mask: mask, proto: proto))
        case 240:
            guard let kind = FlowIntOp.Kind(rawValue: try r.u8()) else { throw Bad(reason: "bad flowint operation") }
            let name = try r.u16(), target = try r.u32(), isVariable = try r.bool()
            guard Int(name) < flowbits, !isVariable || Int(target) < flowbits else { throw Bad(reason: "bad flowint name") }
            return .flowInt(FlowIntOp(kind: kind, name: name, target: target, targetIsVariable: isVariable))
        case 12:
            return .appLayerProtocol(AppProtoMatch(mask: try r.u32(), negated: try r.bool(), unknown: try r.bool(),
                                                   mode: try r.u8()))
        case 220: return .fileSize(try r.intMatch())
        case 221, 222:
            guard let kind = FileHashKind(rawValue: try r.u8()) else { throw Bad(reason: "bad file hash kind") }
            let negated = try r.bool(), path = try r.string(), digests = try r.bytes()
            // A tampered list (unsorted, a partial digest) would make lookups wrong: refused.
            guard FileHashList.isSortedUnique(digests, length: kind.length) else { throw Bad(reason: "bad file hash list") }
            let list = FileHashList(kind: kind, sortedDigests: digests, negated: negated, path: path)
            if tag == 222 { r.hashLists.append(list) }
            return .fileHash(list)
        case 223:
            let n = Int(try r.u32())
            guard n < r.hashLists.count else { throw Bad(reason: "file hash list \(n) referred to before it is defined") }
            let negated = try r.bool()
            let l = r.hashLists[n]
            return .fileHash(FileHashList(kind: l.kind, sortedDigests: l.digests, negated: negated, path: l.path))
        default: throw Bad(reason: "bad header keyword tag")
        }
    }

    static func element(_ r: inout Reader) throws(Bad) -> MatchElement {
        let tag = try r.u8()
        switch tag {
        case 0:
            var c = ContentMatch(pattern: try r.bytes())
            c.folded = try r.bytes()
            guard c.folded.count == c.pattern.count else { throw Bad(reason: "bad content") }
            c.nocase = try r.bool(); c.negated = try r.bool()
            c.offset = try r.optValue(); c.depth = try r.optValue()
            c.distance = try r.optValue(); c.within = try r.optValue()
            c.startsWith = try r.bool(); c.endsWith = try r.bool(); c.rawbytes = try r.bool()
            c.fastPattern = try r.bool(); c.fastPatternOnly = try r.bool()
            if try r.present() { c.fastPatternChop = (try r.int(), try r.int()) }
            return .content(c)
        case 1:
            let pattern = try r.bytes()
            let options = RegexOptions(rawValue: try r.u32())
            let negated = try r.bool(), relative = try r.bool()
            let source = try r.string()
            // Checked by `checkPatterns`, compiled for matching on first use: most ET pcres never run.
            let regex = Regex(deferred: pattern, options: options)
            return .pcre(PCREMatch(regex: regex, negated: negated, relative: relative, source: source))
        case 2:
            return .isDataAt(IsDataAtMatch(value: try r.value(), relative: try r.bool(), negated: try r.bool()))
        case 3:
            let enc = try r.encoding()
            guard let op = ByteTestOperator(rawValue: try r.u8()) else { throw Bad(reason: "bad byte_test operator") }
            return .byteTest(ByteTestMatch(encoding: enc, op: op, negated: try r.bool(), value: try r.value(),
                                           offset: try r.value(), relative: try r.bool(), bitmask: try r.mask()))
        case 4:
            var j = ByteJumpMatch(encoding: try r.encoding(), offset: try r.value(), relative: try r.bool())
            j.multiplier = try r.int(); j.align = try r.bool(); j.fromBeginning = try r.bool(); j.fromEnd = try r.bool()
            j.postOffset = try r.int(); j.bitmask = try r.mask()
            return .byteJump(j)
        case 5:
            let enc = try r.encoding()
            let offset = try r.int(), relative = try r.bool(), multiplier = try r.int()
            let align = try r.int(), slot = try r.int()
            guard slot >= 0 && slot < ExtractedVariables.capacity else { throw Bad(reason: "bad variable slot") }
            return .byteExtract(ByteExtractMatch(encoding: enc, offset: offset, relative: relative, multiplier: multiplier,
                                                 align: align, slot: slot, bitmask: try r.mask()))
        case 6:
            return .length(try r.intMatch())
        case 7:
            var o = ASN1Options()
            o.bitstringOverflow = try r.bool(); o.doubleOverflow = try r.bool()
            if try r.present() {
                let n = try r.int()
                guard n >= 0, n <= Int(UInt32.max) else { throw Bad(reason: "bad asn1 length") }
                o.oversizeLength = UInt32(n)
            }
            if try r.present() { o.absoluteOffset = try r.int() }
            if try r.present() { o.relativeOffset = try r.int() }
            return .asn1(o)
        case 9:
            let enc = try r.encoding()
            let offset = try r.int(), relative = try r.bool()
            guard let op = ByteMathMatch.Operator(rawValue: try r.u8()) else { throw Bad(reason: "bad byte_math operator") }
            let rvalue = try r.value(), slot = try r.int()
            guard slot >= 0 && slot < ExtractedVariables.capacity else { throw Bad(reason: "bad variable slot") }
            return .byteMath(ByteMathMatch(encoding: enc, offset: offset, relative: relative, op: op, rvalue: rvalue,
                                           slot: slot, bitmask: try r.mask()))
        case 8:
            let bytes = try r.int(), offset = try r.int(), relative = try r.bool()
            guard bytes >= 1, bytes <= DetectBase64Decode.maxBytes, offset >= 0, offset <= DetectBase64Decode.maxBytes else {
                throw Bad(reason: "bad base64_decode")
            }
            let n = try r.count(1)
            var data: [MatchElement] = []
            for _ in 0 ..< n {
                let e = try element(&r)
                // base64_data never nests a base64_decode: a crafted one would recurse.
                if case .base64Decode = e { throw Bad(reason: "nested base64_decode") }
                data.append(e)
            }
            return .base64Decode(Base64DecodeMatch(bytes: bytes, offset: offset, relative: relative, data: data))
        case 200, 201:
            let set: Dataset
            if tag == 200 {
                set = try dataset(&r)
            } else {
                let n = Int(try r.u32())
                guard n < r.datasets.count else { throw Bad(reason: "dataset \(n) referred to before it is defined") }
                set = r.datasets[n]
            }
            guard let op = DatasetOp(rawValue: try r.u8()) else { throw Bad(reason: "bad dataset operation") }
            let value = try r.u32()
            return .dataset(DatasetMatch(set: set, op: op, value: value))
        case 240:
            guard let mode = EntropyMatch.Mode(rawValue: try r.u8()) else { throw Bad(reason: "bad entropy mode") }
            let value = Double(bitPattern: try r.u64())
            let offset = try r.int(), bytes = try r.int()
            guard value.isFinite, offset >= -65535, offset <= 65535, bytes >= 0, bytes <= Int(Int32.max) else {
                throw Bad(reason: "bad entropy")
            }
            return .entropy(EntropyMatch(mode: mode, value: value, offset: offset, bytes: bytes))
        default:
            throw Bad(reason: "bad match element tag")
        }
    }
}
