import UTMCore

// JA4 (FoxIO, technical_details/JA4.md): JA4_a "t13d1516h2", JA4_b = first 12 hex of SHA-256 of
// the sorted cipher list, JA4_c = first 12 hex of SHA-256 of the sorted extension list (without
// SNI and ALPN) "_" the signature algorithms in their original order. GREASE is ignored
// everywhere. Lists are written as 4-digit lower-case hex joined by ",".

extension TLSParser {
    mutating func writeJA4(_ l: ClientHelloLayout, _ hello: TLSClientHello) -> Field {
        let start = store.used
        // JA4_a
        _ = store.appendByte(config.isQUIC ? 0x71 : 0x74)  // q / t
        let v = ja4Version(l.version)
        _ = store.appendByte(v.0)
        _ = store.appendByte(v.1)
        _ = store.appendByte(l.hasSNI ? 0x64 : 0x69)  // d / i
        appendTwoDigits(hello.cipherCount)
        appendTwoDigits(hello.extensionCount)
        let a = ja4ALPN(l.firstALPN)
        _ = store.appendByte(a.0)
        _ = store.appendByte(a.1)
        _ = store.appendByte(0x5f)

        // JA4_b
        var n = collectSorted(l.ciphers, isExtensionBlock: false)
        if n == 0 {
            appendZeros()
        } else {
            var sha = SHA256()
            hashHexList(n, &sha)
            appendHex(sha.finish(), count: 6, to: &store)
        }
        _ = store.appendByte(0x5f)

        // JA4_c
        n = collectSorted(l.extensions, isExtensionBlock: true)
        if hello.extensionCount == 0 {
            appendZeros()
        } else {
            var sha = SHA256()
            hashHexList(n, &sha)
            var i = 0
            var first = true
            while let s = l.signatureAlgorithms.u16(i) {
                i &+= 2
                if isGREASE(s) { continue }
                sha.update(first ? 0x5f : 0x2c)
                hashHex(s, &sha)
                first = false
            }
            appendHex(sha.finish(), count: 6, to: &store)
        }
        return Field(offset: Int32(start), length: Int32(store.used &- start))
    }

    /// Two-character version: "13", "12", "11", "10", "s3", "s2", DTLS "d1"/"d2"/"d3", else "00".
    private func ja4Version(_ v: UInt16) -> (UInt8, UInt8) {
        switch v {
        case 0x0304: return (0x31, 0x33)
        case 0x0303: return (0x31, 0x32)
        case 0x0302: return (0x31, 0x31)
        case 0x0301: return (0x31, 0x30)
        case 0x0300: return (0x73, 0x33)
        case 0x0002: return (0x73, 0x32)
        case 0xfeff: return (0x64, 0x31)
        case 0xfefd: return (0x64, 0x32)
        case 0xfefc: return (0x64, 0x33)
        default: return (0x30, 0x30)
        }
    }

    /// First and last character of the first ALPN value; "00" without ALPN; when either is not
    /// ASCII alphanumeric, the first hex digit of the first byte and the last hex digit of the
    /// last byte instead (so binary ALPN values still give two printable characters).
    private func ja4ALPN(_ first: ByteView) -> (UInt8, UInt8) {
        guard let f = first.u8(0), let l = first.u8(first.count - 1) else { return (0x30, 0x30) }
        if isAlnum(f) && isAlnum(l) { return (f, l) }
        return (hexDigit(f >> 4), hexDigit(l))
    }

    private func isAlnum(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a)
    }

    /// Counts are two decimal digits, capped at 99.
    private mutating func appendTwoDigits(_ n: Int) {
        let v = Swift.min(99, Swift.max(0, n))
        _ = store.appendByte(0x30 &+ UInt8(v / 10))
        _ = store.appendByte(0x30 &+ UInt8(v % 10))
    }

    private mutating func appendZeros() {
        for _ in 0..<12 { _ = store.appendByte(0x30) }
    }

    /// Copies the non-GREASE cipher suites, or the extension types except SNI and ALPN, into the
    /// sort scratch and sorts them. Returns how many.
    private mutating func collectSorted(_ v: ByteView, isExtensionBlock: Bool) -> Int {
        var n = 0
        var off = 0
        let cap = sortScratch.count
        while true {
            let value: UInt16
            if isExtensionBlock {
                guard let t = v.u16(off), let len = v.u16(off + 2) else { break }
                off += 4 + Int(len)
                if t == TLSExtensionType.serverName || t == TLSExtensionType.alpn { continue }
                value = t
            } else {
                guard let c = v.u16(off) else { break }
                off += 2
                value = c
            }
            if isGREASE(value) { continue }
            guard n < cap else { events.insert(.fieldTruncated); break }
            sortScratch[n] = value
            n &+= 1
        }
        heapSort(&sortScratch, count: n)
        return n
    }

    private func hashHexList(_ n: Int, _ sha: inout SHA256) {
        var i = 0
        while i < n {
            if i > 0 { sha.update(0x2c) }
            hashHex(sortScratch[i], &sha)
            i &+= 1
        }
    }

    private func hashHex(_ v: UInt16, _ sha: inout SHA256) {
        sha.update(hexDigit(UInt8(truncatingIfNeeded: v >> 12)))
        sha.update(hexDigit(UInt8(truncatingIfNeeded: v >> 8)))
        sha.update(hexDigit(UInt8(truncatingIfNeeded: v >> 4)))
        sha.update(hexDigit(UInt8(truncatingIfNeeded: v)))
    }
}

/// In-place heap sort of the first `count` values: O(n log n) even on hostile input, and unlike
/// the standard library's sort it never allocates a temporary buffer.
func heapSort(_ a: inout [UInt16], count: Int) {
    // Swaps by hand: `swapAt` is MutableCollection's generic method, whose unspecialized
    // accessors allocate on every call in debug builds (the CI build).
    func swap(_ a: inout [UInt16], _ i: Int, _ j: Int) {
        let t = a[i]
        a[i] = a[j]
        a[j] = t
    }
    let n = Swift.min(count, a.count)
    guard n > 1 else { return }
    func siftDown(_ a: inout [UInt16], _ start: Int, _ end: Int) {
        var root = start
        while true {
            var child = 2 &* root &+ 1
            if child >= end { return }
            if child &+ 1 < end && a[child] < a[child &+ 1] { child &+= 1 }
            if a[root] >= a[child] { return }
            swap(&a, root, child)
            root = child
        }
    }
    var i = n / 2 - 1
    while i >= 0 { siftDown(&a, i, n); i -= 1 }
    var end = n - 1
    while end > 0 {
        swap(&a, 0, end)
        siftDown(&a, 0, end)
        end -= 1
    }
}
