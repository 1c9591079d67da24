import UTMCore

// ClientHello (RFC 8446 section 4.1.2, RFC 5246 section 7.4.1.2) and the extensions the box
// acts on: SNI for the web filter, ALPN for app-ID, and the lists that JA3/JA4 are made of.

enum TLSExtensionType {
    static let serverName: UInt16 = 0
    static let supportedGroups: UInt16 = 10
    static let ecPointFormats: UInt16 = 11
    static let signatureAlgorithms: UInt16 = 13
    static let alpn: UInt16 = 16
    static let supportedVersions: UInt16 = 43
    static let keyShare: UInt16 = 51
}

/// What the client offered. Fields are kept in the parser's store: read them with
/// `TLSParser.withField`.
public struct TLSClientHello: Sendable {
    /// `legacy_version` of the hello (0x0303 for TLS 1.2 and 1.3 clients).
    public var legacyVersion: UInt16 = 0
    /// Highest non-GREASE version in supported_versions, 0 when the extension is absent.
    public var highestSupportedVersion: UInt16 = 0
    /// Number of non-GREASE entries in supported_versions.
    public var supportedVersionCount: Int = 0
    /// server_name host name (first host_name entry), as sent.
    public var sni: Field = .absent
    /// First ALPN protocol (a prefix of `alpns`).
    public var alpn: Field = .absent
    /// All ALPN protocols, comma-joined.
    public var alpns: Field = .absent
    /// The ALPN extension's protocol_name_list as sent (1-byte length + name each), for
    /// `tls.alpn`'s instances (`TLSParser.forEachALPN`): a name may itself hold a comma.
    public var alpnList: Field = .absent
    /// The JA3 string: version,ciphers,extensions,groups,pointformats (GREASE removed).
    public var ja3: Field = .absent
    /// MD5 of `ja3`, 32 lower-case hex characters.
    public var ja3Hash: Field = .absent
    /// JA4, e.g. t13d1516h2_8daaf6152771_b186095e22b6.
    public var ja4: Field = .absent
    /// Non-GREASE cipher suites and extensions, as counted by JA4 (not capped at 99).
    public var cipherCount: Int = 0
    public var extensionCount: Int = 0
    public var sessionIDLength: Int = 0
    public var compressionMethodCount: Int = 0
    /// Non-GREASE supported groups and signature algorithms offered.
    public var groupCount: Int = 0
    public var signatureAlgorithmCount: Int = 0
    /// Groups of the key shares actually sent (first two non-GREASE), 0 when absent: a
    /// post-quantum hybrid (0x11ec) here tells a modern client apart.
    public var keyShareGroups: (UInt16, UInt16) = (0, 0)
    /// Whether the client used GREASE anywhere (Chromium-family clients do).
    public var hasGREASE: Bool = false
    /// The 32-byte client random, for `tls.random` rules.
    public var random: Field = .absent

    public init() {}
}

/// Where the lists of one ClientHello are, as views into the message being parsed. Only lives
/// for the duration of `parseClientHello`.
struct ClientHelloLayout {
    var legacyVersion: UInt16 = 0
    var ciphers: ByteView = .empty
    var extensions: ByteView = .empty
    var groups: ByteView = .empty
    var pointFormats: ByteView = .empty
    var signatureAlgorithms: ByteView = .empty
    var hasSNI = false
    /// First ALPN protocol, for JA4's ALPN characters.
    var firstALPN: ByteView = .empty
    var version: UInt16 = 0
}

extension TLSParser {
    mutating func parseClientHello(_ body: ByteView) {
        var layout = ClientHelloLayout()
        var hello = TLSClientHello()
        guard let version = body.u16(0), let sidLen = body.u8(34) else {
            events.insert(.malformed)
            return
        }
        var off = 35 + Int(sidLen)
        guard sidLen <= 32, let cipherLen = body.u16(off), cipherLen & 1 == 0,
              let ciphers = body.slice(off + 2, Int(cipherLen)) else {
            events.insert(.malformed)
            return
        }
        off += 2 + Int(cipherLen)
        guard let compLen = body.u8(off), body.slice(off + 1, Int(compLen)) != nil else {
            events.insert(.malformed)
            return
        }
        off += 1 + Int(compLen)
        hello.legacyVersion = version
        // body.u8(34) was read, so the random's 32 bytes at 2 are there.
        if let random = body.slice(2, 32) { hello.random = store.append(random) }
        hello.sessionIDLength = Int(sidLen)
        hello.compressionMethodCount = Int(compLen)
        layout.legacyVersion = version
        layout.ciphers = ciphers

        var i = 0
        while let c = ciphers.u16(i) {
            if isGREASE(c) { hello.hasGREASE = true } else { hello.cipherCount &+= 1 }
            i &+= 2
        }

        // Extensions are optional (SSL 3.0 / old TLS 1.0 clients end here).
        if let extLen = body.u16(off) {
            guard let exts = body.slice(off + 2, Int(extLen)) else {
                events.insert(.malformed)
                return
            }
            layout.extensions = exts
            parseClientExtensions(exts, &hello, &layout)
        }
        layout.version = hello.highestSupportedVersion != 0 ? hello.highestSupportedVersion : version

        hello.ja3 = writeJA3(layout, hash: &hello.ja3Hash)
        hello.ja4 = writeJA4(layout, hello)
        clientHello = hello
        events.insert(.clientHelloDone)
    }

    private mutating func parseClientExtensions(_ exts: ByteView, _ hello: inout TLSClientHello,
                                                _ layout: inout ClientHelloLayout) {
        var off = 0
        var sniSeen = false
        while off < exts.count {
            guard let type = exts.u16(off), let len = exts.u16(off + 2),
                  let data = exts.slice(off + 4, Int(len)) else {
                events.insert(.malformed)
                // Keep the extensions that were whole so the fingerprint covers them.
                layout.extensions = exts.prefix(off)
                return
            }
            off += 4 + Int(len)
            if isGREASE(type) { hello.hasGREASE = true; continue }
            hello.extensionCount &+= 1
            switch type {
            case TLSExtensionType.serverName:
                if sniSeen { appEvents.formUnion(AppLayerEvents.TLS.multipleSNIExtensions) }
                sniSeen = true
                parseSNI(data, &hello, &layout)
            case TLSExtensionType.alpn:
                parseALPN(data, &hello.alpns, &hello.alpn, &layout.firstALPN)
                if !hello.alpnList.isPresent, let n = data.u16(0), let list = data.slice(2, Int(n)) {
                    hello.alpnList = store.append(list)
                }
            case TLSExtensionType.supportedVersions:
                if let n = data.u8(0), let list = data.slice(1, Int(n)) {
                    var i = 0
                    while let v = list.u16(i) {
                        if isGREASE(v) { hello.hasGREASE = true } else {
                            hello.supportedVersionCount &+= 1
                            hello.highestSupportedVersion = Swift.max(hello.highestSupportedVersion, v)
                        }
                        i &+= 2
                    }
                } else { events.insert(.malformed) }
            case TLSExtensionType.supportedGroups:
                if let n = data.u16(0), let list = data.slice(2, Int(n)) {
                    layout.groups = list
                    hello.groupCount = countNonGREASE(list)
                } else { events.insert(.malformed) }
            case TLSExtensionType.ecPointFormats:
                if let n = data.u8(0), let list = data.slice(1, Int(n)) {
                    layout.pointFormats = list
                } else { events.insert(.malformed) }
            case TLSExtensionType.signatureAlgorithms:
                if let n = data.u16(0), let list = data.slice(2, Int(n)) {
                    layout.signatureAlgorithms = list
                    hello.signatureAlgorithmCount = countNonGREASE(list)
                } else { events.insert(.malformed) }
            case TLSExtensionType.keyShare:
                if let n = data.u16(0), let list = data.slice(2, Int(n)) {
                    var i = 0
                    var found = 0
                    while let g = list.u16(i), let kl = list.u16(i + 2) {
                        if !isGREASE(g) {
                            if found == 0 { hello.keyShareGroups.0 = g } else if found == 1 { hello.keyShareGroups.1 = g }
                            found &+= 1
                        }
                        i &+= 4 + Int(kl)
                    }
                } else { events.insert(.malformed) }
            default:
                break
            }
        }
    }

    /// server_name (RFC 6066 section 3): the first host_name entry.
    private mutating func parseSNI(_ data: ByteView, _ hello: inout TLSClientHello,
                                   _ layout: inout ClientHelloLayout) {
        guard let listLen = data.u16(0), let list = data.slice(2, Int(listLen)) else {
            events.insert(.malformed)
            appEvents.formUnion(AppLayerEvents.TLS.invalidSNILength)
            return
        }
        var i = 0
        while let type = list.u8(i) {
            guard let len = list.u16(i + 1), let name = list.slice(i + 3, Int(len)) else {
                // An entry whose length runs past the list (Suricata checks the same).
                appEvents.formUnion(AppLayerEvents.TLS.invalidSNILength)
                return
            }
            if type != 0 { appEvents.formUnion(AppLayerEvents.TLS.invalidSNIType) }
            if type == 0 && !hello.sni.isPresent {
                hello.sni = store.append(name)
                // JA4 "d" means a domain name; an IP literal counts as no name (FoxIO spec).
                layout.hasSNI = !isIPLiteral(name)
                return
            }
            i += 3 + Int(len)
        }
    }

    /// ALPN (RFC 7301): all protocols comma-joined into one field; the first one is a prefix of it.
    mutating func parseALPN(_ data: ByteView, _ alpns: inout Field, _ alpn: inout Field,
                            _ first: inout ByteView) {
        guard let listLen = data.u16(0), let list = data.slice(2, Int(listLen)) else {
            events.insert(.malformed)
            return
        }
        guard !alpns.isPresent else { return }
        var i = 0
        var all = Field.absent
        while let len = list.u8(i), let proto = list.slice(i + 1, Int(len)) {
            if !all.isPresent {
                all = store.append(proto)
                alpn = all
                first = proto
            } else {
                let start = store.used
                _ = store.appendByte(0x2c)
                store.append(proto)
                all.length &+= Int32(store.used &- start)
            }
            i += 1 + Int(len)
        }
        alpns = all
    }

    /// Dotted digits (IPv4) or anything with a colon (IPv6): not a host name.
    private func isIPLiteral(_ name: ByteView) -> Bool {
        if name.firstIndex(of: 0x3a) != nil { return true }
        var onlyDigitsAndDots = !name.isEmpty
        name.forEachByte { b in
            if !(b == 0x2e || (b >= 0x30 && b <= 0x39)) { onlyDigitsAndDots = false }
        }
        return onlyDigitsAndDots
    }

    private func countNonGREASE(_ list: ByteView) -> Int {
        var i = 0, n = 0
        while let v = list.u16(i) {
            if !isGREASE(v) { n &+= 1 }
            i &+= 2
        }
        return n
    }
}
