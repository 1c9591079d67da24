import Testing
import UTMCore
@testable import UTMDetect

/// File keywords (session 9): what they compile to, hash lists (format, bad lines named
/// file:line, path resolution, negation), and the bundle round trip with the lists inside.
@Suite struct FileKeywordParseTests {
    static let md5a = "0123456789abcdef0123456789abcdef"
    static let md5b = "ffeeddccbbaa99887766554433221100"

    static func parser(_ lists: [String: String]) -> RuleParser {
        var p = RuleParser()
        p.fileReader = { path in
            guard let t = lists[path] else { throw RuleError.invalid("no such file") }
            return Array(t.utf8)
        }
        return p
    }

    static func rule(_ options: String, lists: [String: String] = [:]) throws(RuleError) -> Signature {
        var p = parser(lists)
        return try p.parseRule("alert http any any -> any any (\(options) sid:1;)", file: "/etc/rules/a.rules", line: 3)
    }

    @Test func nameKeywordsCompileToFileNameContents() throws {
        let s = try Self.rule(#"filename:"Setup"; fileext:"EXE";"#)
        let l = try #require(s.list(for: .fileName))
        guard case .content(let a) = l.elements[0], case .content(let b) = l.elements[1] else { Issue.record("contents"); return }
        #expect(a.pattern == Array("Setup".utf8) && a.nocase && !a.endsWith)
        #expect(b.pattern == Array(".EXE".utf8) && b.nocase && b.endsWith)
        #expect(s.isFileRule && !s.needsCompleteFile)
        #expect(DetectDefinitions.point(of: s) == .http)
        #expect(DetectDefinitions.phase(of: s, .http) == DetectDefinitions.fileOpenPhase)
        // filename does not move the sticky buffer: a later content stays in the payload.
        let t = try Self.rule(#"filename:"x"; content:"y";"#)
        #expect(t.list(for: .payload) != nil)
        let n = try Self.rule(#"filename:!"x";"#)
        guard case .content(let c)? = n.list(for: .fileName)?.elements.first else { Issue.record("negated"); return }
        #expect(c.negated)
        #expect(throws: RuleError.self) { try Self.rule(#"fileext:".exe";"#) }
        #expect(throws: RuleError.self) { try Self.rule(#"fileext:!"exe";"#) }
        #expect(throws: RuleError.self) { try Self.rule(#"filename:"";"#) }
        #expect(throws: RuleError.self) { try Self.rule("file.name:x;") }
    }

    @Test func filesizeUnitsAndModes() throws {
        func size(_ v: String) throws -> IntMatch {
            let s = try Self.rule("filesize:\(v);")
            guard case .fileSize(let m)? = s.headerMatches.first else { throw RuleError.invalid("none") }
            return m
        }
        #expect(try size("100") == IntMatch(mode: .equal, a: 100))
        #expect(try size(">10KB") == IntMatch(mode: .greater, a: 10240))
        #expect(try size("<2mb") == IntMatch(mode: .less, a: 2 << 20))
        #expect(try size("1KB<>1GB") == IntMatch(mode: .range, a: 1024, b: 1 << 30))
        #expect(try size(">= 5") == IntMatch(mode: .greaterEqual, a: 5))
        #expect(throws: RuleError.self) { try size("lots") }
        #expect(throws: RuleError.self) { try size("99999999999999999999") }
        #expect(throws: RuleError.self) { try size("9999999999999999GB") }
        let s = try Self.rule("filesize:>1;")
        #expect(s.needsCompleteFile && DetectDefinitions.phase(of: s, .http) == DetectDefinitions.fileClosePhase)
        // A size or hash with a body buffer could never match (the body is not held to the end).
        #expect(throws: RuleError.self) { try Self.rule(#"filesize:>1; file_data; content:"MZ";"#) }
    }

    @Test func hashListsLoadRelativeToTheRuleFile() throws {
        let lists = ["/etc/rules/bad.md5": "\(Self.md5b)  b.exe\n# note\n\n\(Self.md5a.uppercased())\r\n\(Self.md5b)\n",
                     "/lists/ok.md5": "\(Self.md5a)\n"]
        let s = try Self.rule("filemd5:bad.md5;", lists: lists)
        guard case .fileHash(let l)? = s.headerMatches.first else { Issue.record("no list"); return }
        #expect(l.count == 2, "duplicates removed")
        #expect(l.path == "/etc/rules/bad.md5" && !l.negated)
        #expect(FileHashList.isSortedUnique(l.digests, length: 16))
        let a: [UInt8] = [0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef]
        var c = a
        c[15] = 0
        #expect(a.withUnsafeBytes { l.matches($0) })
        #expect(!c.withUnsafeBytes { l.matches($0) })
        let n = try Self.rule("filemd5:!/lists/ok.md5;", lists: lists)
        guard case .fileHash(let nl)? = n.headerMatches.first else { Issue.record("no list"); return }
        #expect(nl.negated && !a.withUnsafeBytes { nl.matches($0) } && c.withUnsafeBytes { nl.matches($0) })
    }

    @Test func badHashListsFailTheRuleWithFileAndLine() {
        let lists = ["/etc/rules/short.md5": "\(Self.md5a)\n0123\n",
                     "/etc/rules/glued.md5": "\(Self.md5a)\n0123456789abcdef0123456789abcdeZ\n",
                     "/etc/rules/wrong.sha1": "\(Self.md5a)\n"]
        for (kw, file, line) in [("filemd5", "short.md5", 2), ("filemd5", "glued.md5", 2), ("filesha1", "wrong.sha1", 1)] {
            do {
                _ = try Self.rule("\(kw):\(file);", lists: lists)
                Issue.record("\(file) loaded")
            } catch {
                #expect(error.message.contains("/etc/rules/\(file):\(line):"), "\(error.message)")
            }
        }
        #expect(throws: RuleError.self) { try Self.rule("filemd5:missing.md5;", lists: lists) }
        // Without a reader (a rule parsed alone) the rule is skipped as unsupported, with why.
        var p = RuleParser()
        do {
            _ = try p.parseRule("alert http any any -> any any (filemd5:x; sid:1;)")
            Issue.record("loaded without a reader")
        } catch {
            #expect(error.kind == .unsupported(keyword: "filemd5"))
        }
        // Truncated and split list text never traps.
        let text = Array("\(Self.md5a)  x\n\(Self.md5b)\n".utf8)
        for n in 0 ... text.count {
            _ = try? FileHashList.parse(Array(text.prefix(n)), kind: .md5, negated: false, path: "p")
        }
    }

    @Test func bundleRoundTripKeepsTheLists() throws {
        var p = Self.parser(["/r/l.sha256": "\(Self.md5a)\(Self.md5b)\n"])
        p.load(text: """
            alert http any any -> any any (msg:"h"; filesha256:l.sha256; filesize:>=1MB; sid:1;)
            alert http any any -> any any (msg:"n"; fileext:"exe"; sid:2;)
            alert http any any -> any any (msg:"m"; filemagic:"PE32"; sid:3;)
            """, file: "/r/x.rules")
        let set = p.finish()
        #expect(set.signatures.count == 2 && set.report.unsupportedKeywords["filemagic"] == 1)
        let defs = DetectDefinitions(ruleSet: set)
        #expect(defs.hasFileOpenRules && defs.hasFileCloseRules && defs.fileDigests == [.sha256])
        let bytes = DefinitionsBundle.encode(definitions: defs)
        let back = try DefinitionsBundle.decode(bytes, file: "b")
        #expect(DefinitionsBundle.encode(definitions: back) == bytes)
        let h = try #require(back.signatures.first { $0.sid == 1 })
        #expect(h.headerMatches == set.signatures.first { $0.sid == 1 }?.headerMatches)
        #expect(back.fileDigests == [.sha256])
        // Truncated anywhere: a clear error, never a trap.
        for n in stride(from: 0, to: bytes.count, by: max(1, bytes.count / 97)) {
            #expect(throws: BundleError.self) { try DefinitionsBundle.decode(Array(bytes.prefix(n)), file: "t") }
        }
    }

    /// Suricata's loader (`LoadHashTable`'s caller): a line starting with a space or a tab is
    /// skipped, and a line is cut after the digest's hex digits whatever follows, so
    /// `<md5>,trojan` and `<md5>zz` load (they failed the rule before).
    @Test func hashListLinesAsSuricataReadsThem() throws {
        let ff = String(repeating: "f", count: 32)
        let text = "\(Self.md5a),trojan\n  \(ff)\n\t\(ff)\n \n\(Self.md5b)zz\r\n"
        let l = try FileHashList.parse(Array(text.utf8), kind: .md5, negated: false, path: "p")
        #expect(l.count == 2)
        let skipped = [UInt8](repeating: 0xff, count: 16)
        #expect(!skipped.withUnsafeBytes { l.matches($0) }, "indented lines are skipped")
        let sha1 = String(repeating: "ab", count: 20)
        #expect(try FileHashList.parse(Array("\(sha1);name\n".utf8), kind: .sha1, negated: false, path: "p").count == 1)
        let sha256 = String(repeating: "cd", count: 32)
        #expect(try FileHashList.parse(Array("\(sha256)\textra".utf8), kind: .sha256, negated: false, path: "p").count == 1)
        // Still errors: too short (a SHA-1 in an MD5... the other way), not hex.
        #expect(throws: RuleError.self) { try FileHashList.parse(Array("\(Self.md5a)\n".utf8), kind: .sha1, negated: false, path: "p") }
        #expect(throws: RuleError.self) { try FileHashList.parse(Array("x\(Self.md5a)\n".utf8), kind: .md5, negated: false, path: "p") }
    }

    static func listRules(_ count: Int, entries: Int) -> RuleSet {
        var list = ""
        for i in 0 ..< entries { list += String(repeating: "0", count: 56) + String(String(i, radix: 16).leftPadded(8)) + "\n" }
        var text = ""
        for i in 0 ..< count {
            let neg = i % 2 == 1 ? "!" : ""
            text += "alert http any any -> any any (msg:\"h\"; filesha256:\(neg)big.lst; sid:\(i + 1);)\n"
        }
        var p = RuleParser()
        let bytes = Array(list.utf8)
        p.fileReader = { _ in bytes }
        p.load(text: text, file: "/rules/a.rules")
        return p.finish()
    }

    /// One 10,000-entry SHA-256 list named by 20 rules: written once in the bundle (it was
    /// written 20 times, 6.4 MB), decoded into one digest array every rule shares.
    @Test func hashListIsWrittenOnceAndShared() throws {
        let set = Self.listRules(20, entries: 10_000)
        #expect(set.signatures.count == 20)
        let encoded = SignatureCodec.encode(set.signatures, flowbitNames: set.flowbitNames)
        #expect(encoded.count < 10_000 * 32 + 4_000, "\(encoded.count) bytes")
        let back = try encoded.withByteView { try SignatureCodec.decode($0) }
        var bases: Set<UInt> = []
        var negated = 0
        for s in back.signatures {
            guard case .fileHash(let l)? = s.headerMatches.first else { Issue.record("no list"); continue }
            #expect(l.count == 10_000 && l.path == "/rules/big.lst")
            if l.negated { negated += 1 }
            l.digests.withUnsafeBufferPointer { bases.insert(UInt(bitPattern: $0.baseAddress)) }
        }
        #expect(bases.count == 1, "one shared digest array")
        #expect(negated == 10, "negation is per rule")
        #expect(back.signatures.map(\.headerMatches) == set.signatures.map(\.headerMatches))
        #expect(SignatureCodec.encode(back.signatures, flowbitNames: back.flowbitNames) == encoded)
    }

    /// The codec alone (no checksum in the way): a reference to a list not yet written, and
    /// tampered or truncated list bytes, are clear errors, never a trap.
    @Test func tamperedHashListSectionIsAnError() throws {
        let set = Self.listRules(2, entries: 3)
        let s2 = set.signatures[1]
        guard case .fileHash(let l)? = s2.headerMatches.first else { Issue.record("no list"); return }
        var w = SignatureCodec.Writer()
        w.fixed32(SignatureCodec.formatVersion)
        w.u32(0)
        w.u32(1)
        w.hashLists["\(l.kind.rawValue):\(l.path)"] = (0, l.digests)
        SignatureCodec.encode(s2, &w)
        do {
            _ = try w.out.withByteView { try SignatureCodec.decode($0) }
            Issue.record("a dangling list reference decoded")
        } catch let e as SignatureCodec.Bad {
            #expect(e.reason.contains("referred to before it is defined"), "\(e.reason)")
        } catch {
            Issue.record("\(error)")
        }
        let encoded = SignatureCodec.encode(set.signatures, flowbitNames: set.flowbitNames)
        _ = try encoded.withByteView { try SignatureCodec.decode($0) }
        var failures = 0
        for i in 4 ..< encoded.count {
            for v: UInt8 in [0, 0xff, 221, 222, 223] {
                var t = encoded
                t[i] = v
                do { _ = try t.withByteView { try SignatureCodec.decode($0) } } catch { failures += 1 }
            }
            do { _ = try Array(encoded.prefix(i)).withByteView { try SignatureCodec.decode($0) } } catch { failures += 1 }
        }
        #expect(failures > encoded.count - 4)
    }
}

extension String {
    fileprivate func leftPadded(_ n: Int) -> String { String(repeating: "0", count: Swift.max(0, n - count)) + self }
}
