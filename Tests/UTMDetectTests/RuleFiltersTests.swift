import Foundation
import Testing
import UTMCore
@testable import UTMDetect

/// suricata-update's disable/enable/drop/modify.conf applied at load: every matcher, every file
/// kind, their order, errors with file:line, hostile lines, and the bundle keeping the result.
@Suite struct RuleFiltersTests {
    static let rules = """
        alert http $HOME_NET any -> $EXTERNAL_NET any (msg:"ET TROJAN Test CnC Beacon"; flow:established,to_server; content:"/gate.php"; http_uri; classtype:trojan-activity; sid:2000001; rev:3; metadata:signature_severity Critical, former_category TROJAN;)
        alert http $HOME_NET any -> $EXTERNAL_NET any (msg:"ET INFO Test Dropbox Download"; flow:established,to_server; content:"dropbox"; http_host; sid:2000002; rev:1; metadata:signature_severity Informational;)
        # alert tcp any any -> any any (msg:"ET TROJAN Test Old Family"; content:"old-family"; sid:2000003; rev:1;)
        pass http any any -> any any (msg:"Local exception"; content:"/update"; http_uri; sid:2000004; rev:1;)
        alert http any any -> any any (msg:"ET TROJAN Test Setter"; content:"stage1"; flowbits:set,stage1; flowbits:noalert; sid:2000005; rev:1;)
        alert tcp any any -> any any (msg:"ET EXPLOIT Test gid"; content:"boom"; gid:3; sid:2000006; rev:1;)
        # This is a comment, not a rule (alert me).
        """

    /// Loads `rules` from `file` with the given filter files; returns sid → action and the report.
    func load(_ files: [(RuleFilters.Kind, String)], rules: String = Self.rules, file: String = "rules/emerging-all.rules")
        throws -> ([UInt32: RuleAction], RuleLoadReport) {
        var f = RuleFilters()
        for (kind, text) in files { try f.add(text, kind: kind, name: "\(kind.rawValue).conf") }
        var p = RuleParser()
        p.filters = f
        p.load(text: rules, file: file)
        let set = p.finish()
        var out: [UInt32: RuleAction] = [:]
        for s in set.signatures { out[s.sid] = s.action }
        return (out, set.report)
    }

    @Test func withoutFiltersNothingChanges() throws {
        var p = RuleParser()
        p.load(text: Self.rules, file: "x.rules")
        let plain = p.finish()
        let (filtered, report) = try load([])
        #expect(plain.signatures.count == 5 && filtered.count == 5 && filtered[2000003] == nil)
        #expect(plain.report.enabledRules == report.enabledRules && report.filtered == RuleFilterCounts())
    }

    @Test func sidMatchersDropOnlyAlertRules() throws {
        let (a, r) = try load([(.drop, "2000001\n2000004\n2000005\n3:2000006\n")])
        #expect(a[2000001] == .drop)
        #expect(a[2000002] == .alert)
        // A pass rule stays a pass (an exception must not turn into a block), a noalert flowbit
        // setter stays silent.
        #expect(a[2000004] == .pass && a[2000005] == .alert)
        #expect(a[2000006] == .drop)
        #expect(r.filtered.dropped == 2)
        // A bare sid is gid 1: it does not name the gid 3 rule.
        #expect(try load([(.drop, "2000006\n")]).0[2000006] == .alert)
        // gid:sid:rev names one revision only; comma lists.
        #expect(try load([(.drop, "1:2000001:2\n")]).0[2000001] == .alert)
        let (b, _) = try load([(.drop, "1:2000001:3, 2000002\n")])
        #expect(b[2000001] == .drop && b[2000002] == .drop)
    }

    @Test func regexMatchesTheWholeRuleCaseInsensitively() throws {
        let (a, _) = try load([(.drop, "re:msg:\"et trojan\n")])
        #expect(a[2000001] == .drop && a[2000002] == .alert && a[2000006] == .alert)
        // Lookaheads combine the category with ET's severity (definitions/ips/drop.conf does).
        let (b, _) = try load([(.drop, "re:^(?=.*msg:\\s*\"ET (TROJAN|INFO) )(?=.*signature_severity (critical|major))\n")])
        #expect(b[2000001] == .drop && b[2000002] == .alert)
        // Options past the msg are part of the text too.
        #expect(try load([(.drop, "re:classtype:trojan-activity\n")]).0[2000001] == .drop)
    }

    @Test func metadataMatcherIsCaseInsensitive() throws {
        let (a, _) = try load([(.drop, "metadata: SIGNATURE_SEVERITY critical\n")])
        #expect(a[2000001] == .drop && a[2000002] == .alert)
        #expect(try load([(.drop, "metadata: former_category Trojan\n")]).0[2000001] == .drop)
        #expect(try load([(.drop, "metadata: signature_severity major\n")]).0[2000001] == .alert)
    }

    @Test func groupAndFilenameMatchersUseTheRuleFileName() throws {
        for g in ["group:emerging-all", "group:emerging-all.rules", "group:emerging-*", "emerging-all.rules", "group:emerging-[a-c]ll",
                  "filename:rules/*.rules", "*"] {
            #expect(try load([(.disable, g + "\n")]).0.isEmpty, "\(g)")
        }
        for g in ["group:emerging-trojan*", "group:all", "filename:emerging-all.rules", "group:emerging-[!a]ll", "other.rules"] {
            #expect(try load([(.disable, g + "\n")]).0.count == 5, "\(g)")
        }
    }

    @Test func disableEnableAndTheirCounts() throws {
        let (a, r) = try load([(.disable, "2000002\n"), (.enable, "2000003\n")])
        #expect(a[2000002] == nil && a[2000003] == .alert)
        #expect(r.filtered.disabled == 1 && r.filtered.enabled == 1)
        // A disabled rule is not one of the enabled rules "loaded N of M" counts.
        #expect(r.enabledRules == 5 && r.loaded == 5)
        // A comment that only mentions an action is not a rule.
        #expect(try load([(.enable, "re:alert me\n")]).0.count == 5)
    }

    @Test func orderIsDisableEnableDropModify() throws {
        // Disabled then enabled again: loaded (suricata-update counts both).
        let (a, r) = try load([(.disable, "2000001\n"), (.enable, "2000001\n")])
        #expect(a[2000001] == .alert && r.filtered.disabled == 1 && r.filtered.enabled == 1)
        // A commented rule enabled and dropped in the same load.
        #expect(try load([(.enable, "2000003\n"), (.drop, "2000003\n")]).0[2000003] == .drop)
        // drop runs before modify: modify sees the drop action (and can undo it).
        let (b, rb) = try load([(.drop, "2000001\n"), (.modify, "2000001 \"^drop \" \"alert \"\n")])
        #expect(b[2000001] == .alert && rb.filtered.dropped == 1 && rb.filtered.modified == 1)
        // A disabled rule is never dropped (nor counted).
        let (c, rc) = try load([(.disable, "2000001\n"), (.drop, "2000001\n")])
        #expect(c[2000001] == nil && rc.filtered.dropped == 0)
    }

    @Test func modifyRewritesWithGroups() throws {
        var p = RuleParser()
        var f = RuleFilters()
        try f.add("""
            # Python and Oinkmaster group references
            2000001 "content:\\"/gate\\.php\\"" "content:\\"/gate2.php\\""
            re:Dropbox 'content:"(drop)(box)"' 'content:"\\2\\g<1>"'
            modifysid 3:2000006 "(boom)" | "${1}x"
            """, kind: .modify, name: "modify.conf")
        p.filters = f
        p.load(text: Self.rules, file: "x.rules")
        let set = p.finish()
        #expect(set.report.filtered.modified == 3, "\(set.report.warnings)")
        func pattern(_ sid: UInt32) -> String? {
            set.signatures.first { $0.sid == sid }?.prefilter.map { String(decoding: $0.pattern, as: UTF8.self) }
        }
        #expect(pattern(2000001) == "/gate2.php")
        #expect(pattern(2000002) == "boxdrop")
        #expect(pattern(2000006) == "boomx")
    }

    @Test func modifyThatBreaksTheRuleIsAWarningAndTheRuleStays() throws {
        let (a, r) = try load([(.modify, "2000001 \"content\" \"con(tent\"\n")])
        #expect(a[2000001] == .alert)
        #expect(r.filtered.modified == 0 && r.filtered.modifyFailed == 1)
        #expect(r.warnings.contains { $0.contains("rules/emerging-all.rules:1") && $0.contains("sid 2000001") && $0.contains("modify.conf") },
                "\(r.warnings)")
        #expect(r.errors.isEmpty)
    }

    @Test func badLinesNameFileAndLine() {
        let cases: [(RuleFilters.Kind, String, Int, String)] = [
            (.drop, "# fine\n2000001\nbogus\n", 3, "not a matcher"),
            (.disable, "\n\nre:(unclosed\n", 3, "bad regular expression"),
            (.enable, "1:x\n", 1, "gid:sid"),
            (.enable, "1:2:3:4\n", 1, "gid:sid"),
            (.drop, "metadata: lonely\n", 1, "key and a value"),
            (.drop, "re:\n", 1, "needs a regular expression"),
            (.modify, "2000001 \"a\"\n", 1, "MATCHER"),
            (.modify, "2000001 \"a\" \"b\n", 1, "unclosed quote"),
            (.modify, "2000001 \"(a\" \"b\"\n", 1, "bad regular expression"),
            (.modify, "nosuch \"a\" \"b\"\n", 1, "not a matcher"),
            (.modify, "2000001 \"a\" \"\\\\q\"\n", 1, "bad escape"),
        ]
        for (kind, text, line, why) in cases {
            do {
                _ = try RuleFilters.parse(text, kind: kind, name: "f.conf")
                Issue.record("\(text) parsed")
            } catch {
                #expect(error.file == "f.conf" && error.line == line && error.message.contains(why), "\(text): \(error)")
            }
        }
    }

    @Test func commentsBlankLinesCRLFAndTrailingSpaces() throws {
        let f = try RuleFilters.parse("# header\r\n\r\n   \n  2000001  \r\n\t# indented comment\nre:ET INFO   \n", kind: .drop, name: "d")
        #expect(f.drop.count == 2)
        var p = RuleParser()
        p.filters = f
        p.load(text: Self.rules, file: "x.rules")
        let set = p.finish()
        #expect(set.signatures.filter { $0.action == .drop }.map(\.sid).sorted() == [2000001, 2000002])
    }

    @Test func hostileFilterFilesNeverTrap() {
        let seeds = ["re:", "re:\u{0}", "1:", ":", ",", "1,,2", "group:", "[", "group:[", "group:[!", "group:[]]", "metadata:",
                     "\"", "'", "\\", "modifysid", "modifysid 1 \"a\" |", "* \"(?=\" \"\"", "4294967296",
                     String(repeating: "*", count: 5000), String(repeating: "(", count: 3000), "re:" + String(repeating: "a*", count: 2000)]
        for s in seeds {
            for kind in RuleFilters.Kind.allCases {
                for cut in [s.count, s.count / 2, 1] {
                    _ = try? RuleFilters.parse(String(s.prefix(cut)), kind: kind, name: "h")
                }
            }
        }
        // A pathological glob against a long name stays linear (no exponential backtracking).
        let glob = String(repeating: "*a", count: 200) + "b"
        let (a, _) = (try? load([(.disable, "group:" + glob + "\n")], file: String(repeating: "a", count: 4000))) ?? ([:], RuleLoadReport())
        #expect(a.count == 5)
    }

    @Test func truncatedAndSplitRuleLinesWithFilters() throws {
        var f = RuleFilters()
        try f.add("*\n", kind: .drop, name: "d")
        try f.add("*\n", kind: .enable, name: "e")
        try f.add("* \"sid\" \"sid\"\n", kind: .modify, name: "m")
        let text = Self.rules
        for cut in stride(from: 0, through: text.utf8.count, by: 7) {
            var p = RuleParser()
            p.filters = f
            p.load(text: String(decoding: Array(text.utf8.prefix(cut)), as: UTF8.self), file: "t")
            _ = p.finish()
        }
        // A rule split with `\` continuations is one rule for the filters too.
        var p = RuleParser()
        p.filters = f
        p.load(text: "alert tcp any any -> any any \\\n(msg:\"x\"; \\\n content:\"y\"; sid:7;)\n", file: "t")
        let set = p.finish()
        #expect(set.signatures.count == 1 && set.signatures[0].action == .drop)
    }

    @Test func bundleKeepsDroppedAndDisabledRules() throws {
        var p = RuleParser()
        p.filters = try RuleFilters.parse("2000001\n", kind: .drop, name: "d")
        try p.filters!.add("2000002\n", kind: .disable, name: "x")
        p.load(text: Self.rules, file: "t.rules")
        let original = DetectDefinitions(ruleSet: p.finish())
        let back = try DefinitionsBundle.decode(DefinitionsBundle.encode(definitions: original), file: "b")
        let actions = Dictionary(uniqueKeysWithValues: back.signatures.map { ($0.sid, $0.action) })
        #expect(actions[2000001] == .drop && actions[2000002] == nil && actions[2000006] == .alert)
    }

    @Test func droppedRuleDropsInTheEngine() throws {
        let rule = "alert udp any any -> any any (msg:\"ET TROJAN udp abc\"; content:\"abc\"; sid:2000010; rev:1;)\n"
        var p = RuleParser()
        p.filters = try RuleFilters.parse("re:ET TROJAN\n", kind: .drop, name: "d")
        p.load(text: rule, file: "t.rules")
        let d = DetectEngine(definitions: DetectDefinitions(ruleSet: p.finish()))
        var f = PacketFacts()
        f.ipProto = 17
        f.direction = .toServer
        var hits: [RuleAction] = []
        d.beginPacket()
        Array("xxabcxx".utf8).withUnsafeBytes { raw in
            _ = d.inspectPacket(f, payload: ByteView(raw), slot: -1, time: 0) { i, _ in hits.append(d.defs.signature(i).action) }
        }
        #expect(hits == [.drop])
    }

    // MARK: Flowbit resolution (suricata-update re-enables left-out setters as noalert)

    static let chain = """
        alert udp any any -> any any (msg:"ET TROJAN Test Stage1"; content:"login"; flowbits:isset,ET.stage0; flowbits:set,ET.stage1; sid:2000101; rev:1;)
        alert udp any any -> any any (msg:"ET TROJAN Test Stage2"; content:"data"; flowbits:isset,ET.stage1; sid:2000102; rev:1;)
        # alert udp any any -> any any (msg:"ET TROJAN Test Stage0 off in the vendor file"; content:"hello"; flowbits:set,ET.stage0; sid:2000103; rev:1;)
        alert udp any any -> any any (msg:"ET INFO Test unrelated setter"; content:"zz"; flowbits:set,ET.nobody; sid:2000104; rev:1;)
        alert udp any any -> any any (msg:"ET TROJAN Test OR checker"; content:"either"; flowbits:isset,ET.a|ET.b; sid:2000105; rev:1;)
        alert udp any any -> any any (msg:"ET TROJAN Test B setter"; content:"bee"; flowbits:set,ET.b; sid:2000106; rev:1;)
        # alert udp any any -> any any (msg:"ET TROJAN Test Stage2 older rev"; content:"data"; flowbits:set,ET.stage1; sid:2000102; rev:0;)
        """

    func loadSet(_ files: [(RuleFilters.Kind, String)], rules: String = Self.chain) throws -> RuleSet {
        var f = RuleFilters()
        for (kind, text) in files { try f.add(text, kind: kind, name: "\(kind.rawValue).conf") }
        var p = RuleParser()
        p.filters = f
        p.load(text: rules, file: "emerging-malware.rules")
        return p.finish()
    }

    @Test func flowbitResolutionReenablesDisabledSettersAsNoalert() throws {
        let set = try loadSet([(.disable, "2000101\n2000104\n2000106\n")])
        let bySid = Dictionary(set.signatures.map { ($0.sid, $0) }, uniquingKeysWith: { a, _ in a })
        // 2000102 checks ET.stage1: its disabled setter 2000101 is back, silent. 2000101 checks
        // ET.stage0: the vendor's commented-out setter 2000103 comes back in the second pass.
        // 2000105's `ET.a|ET.b` brings 2000106 back. Nobody checks ET.nobody: 2000104 stays off.
        #expect(bySid[2000101]?.noalert == true && bySid[2000103]?.noalert == true && bySid[2000106]?.noalert == true)
        #expect(bySid[2000104] == nil)
        #expect(bySid[2000102]?.noalert == false && bySid[2000105]?.noalert == false)
        #expect(set.report.filtered.flowbitEnabled == 3 && set.report.filtered.disabled == 3, "\(set.report.filtered)")
        // The commented-out older revision of 2000102 is not loaded beside the enabled one.
        #expect(set.report.errors.isEmpty, "\(set.report.errors)")
        #expect(!set.report.warnings.contains { $0.contains("stage") && $0.contains("checked but never set") }, "\(set.report.warnings)")
        #expect(set.report.loaded == 5 && set.report.enabledRules == 5)
    }

    @Test func flowbitResolutionOnlyWithFiltersAndNeverADrop() throws {
        // Without filter files the loader is Suricata's: a commented-out rule stays out.
        var p = RuleParser()
        p.load(text: Self.chain, file: "x.rules")
        let plain = p.finish()
        #expect(!plain.signatures.contains { $0.sid == 2000103 })
        #expect(plain.report.warnings.contains { $0.contains("'ET.stage0' is checked but never set") })
        // A re-enabled setter that drop.conf names stays an alert rule (a silent drop would
        // block without telling anyone).
        let set = try loadSet([(.disable, "2000101\n"), (.drop, "re:ET TROJAN\n")])
        let actions = Dictionary(set.signatures.map { ($0.sid, $0.action) }, uniquingKeysWith: { a, _ in a })
        #expect(actions[2000101] == .alert && actions[2000103] == .alert && actions[2000102] == .drop)
        #expect(set.report.filtered.dropped == 3)  // 2000102, 2000105, 2000106 (2000101 was disabled)
        // A modify.conf change applies to the re-enabled rule too.
        let m = try loadSet([(.disable, "2000101\n"), (.modify, "2000101 \"login\" \"logon\"\n")])
        let s1 = m.signatures.first { $0.sid == 2000101 }
        #expect(s1?.prefilter.map { String(decoding: $0.pattern, as: UTF8.self) } == "logon")
    }

    /// What a disabled setter costs, on traffic: the stage-2 rule is blind without it, and
    /// fires with it back (while the setter itself stays silent).
    @Test func resolvedSetterFeedsTheCheckerInTheEngine() throws {
        func alerts(_ set: RuleSet) -> [UInt32] {
            let d = DetectEngine(definitions: DetectDefinitions(ruleSet: set))
            let slot = d.flowSlot(index: 1, flowID: 9)
            var f = PacketFacts()
            f.ipProto = 17
            f.direction = .toServer
            var out: [UInt32] = []
            for payload in ["hello", "login", "data"] {
                d.beginPacket()
                Array(payload.utf8).withUnsafeBytes { raw in
                    _ = d.inspectPacket(f, payload: ByteView(raw), slot: slot, time: 0) { i, alert in
                        if alert { out.append(d.defs.signature(i).sid) }
                    }
                }
            }
            return out
        }
        #expect(alerts(try loadSet([(.disable, "2000101\n")])) == [2000102])
        // What the box did before resolution: the setter simply gone.
        let without = Self.chain.split(separator: "\n").filter { !$0.contains("sid:2000101;") && !$0.contains("sid:2000103;") }
        var p = RuleParser()
        p.load(text: without.joined(separator: "\n"), file: "x.rules")
        #expect(alerts(p.finish()) == [])
    }

    /// A long chain of commented-out setters, each needed by the next: all come back, each once.
    @Test func flowbitResolutionFollowsLongChains() throws {
        let n = 3000
        var lines = ["alert udp any any -> any any (msg:\"ET TROJAN chain end\"; content:\"end\"; flowbits:isset,c\(n); sid:3000000; rev:1;)"]
        for i in 1 ... n {
            let check = i > 1 ? " flowbits:isset,c\(i - 1);" : ""
            lines.append("# alert udp any any -> any any (msg:\"ET TROJAN link \(i)\"; content:\"l\(i)\";\(check) flowbits:set,c\(i); sid:\(3000000 + i); rev:1;)")
        }
        // The same setter twice (an older revision): loaded once.
        lines.append("# alert udp any any -> any any (msg:\"ET TROJAN link 1 old\"; content:\"l1\"; flowbits:set,c1; sid:3000001; rev:0;)")
        let set = try loadSet([(.disable, "1\n")], rules: lines.joined(separator: "\n"))
        #expect(set.report.filtered.flowbitEnabled == n && set.signatures.count == n + 1 && set.report.errors.isEmpty)
        #expect(set.signatures.filter(\.noalert).count == n)
    }

    @Test func flowbitFactsFromHostileText() {
        for text in ["alert udp any any -> any any (flowbits:isset; sid:1;)", "alert udp any any -> any any (flowbits:set,; sid:1;)",
                     "alert udp any any -> any any (flowbits:isset,|&|; sid:1;)", "alert udp any any -> any any (flowbits:", "(", ")(",
                     "alert udp any any -> any any (flowbits:setx,x,30; flowbits: ISSET , y ;)"] {
            let f = RuleFacts(Substring(text), metadata: false, flowbits: true)
            #expect(f.flowbitSetters.allSatisfy { !$0.isEmpty } && f.flowbitGetters.allSatisfy { !$0.isEmpty })
        }
        let f = RuleFacts("alert udp any any -> any any (flowbits:setx,x,30; flowbits: ISSET , y ;)", metadata: false, flowbits: true)
        #expect(f.flowbitSetters == ["x"] && f.flowbitGetters == ["y"])
        #expect(RuleParser.withNoalert("alert udp any any -> any any (sid:1)", already: false) == "alert udp any any -> any any (sid:1; flowbits:noalert;)")
        #expect(RuleParser.withNoalert("alert udp any any -> any any (sid:1; )", already: false) == "alert udp any any -> any any (sid:1; flowbits:noalert;)")
    }

    // MARK: modify.conf replacement, as suricata-update (Python's re.sub after ${N} -> \N)

    @Test func modifyReplacementHasPythonSemantics() throws {
        func rep(_ to: String, groups: Int? = 2) throws -> String {
            String(decoding: try RuleFilters.pcreReplacement(to, groups: groups), as: UTF8.self)
        }
        #expect(try rep("\\1-\\g<2>-\\g<0>") == "${1}-${2}-${0}")
        // \0 is an octal escape (NUL) in Python, not the whole match; Oinkmaster's ${0} too.
        #expect(try rep("a\\0b") == "a\u{0}b")
        #expect(try rep("${0}x") == "\u{0}x")
        // Three octal digits are a character; two digits a group.
        #expect(try rep("\\101") == "A")
        #expect(try rep("\\12", groups: 12) == "${12}")
        // ${1}0 is \10 there: group 10.
        #expect(throws: RuleError.self) { try rep("${1}0") }
        #expect(try rep("${1}0", groups: 10) == "${10}")
        // Python's character escapes; another letter is an error; other escapes keep their backslash.
        #expect(try rep("\\a\\f\\v\\t\\\\") == "\u{7}\u{c}\u{b}\t\\")
        #expect(throws: RuleError.self) { try rep("\\q") }
        #expect(try rep("\\|0d\\|") == "\\|0d\\|")
        // $ is literal; a group FROM lacks is refused when the line is read.
        #expect(try rep("$5") == "$$5")
        #expect(throws: RuleError.self) { try rep("\\3") }
        #expect(throws: RuleError.self) { try rep("\\g<x-y>") }
        #expect(throws: RuleError.self) { try rep("x\\") }
        #expect(throws: RuleError.self) { try rep("\\477") }
        #expect(throws: RuleError.self) {
            _ = try RuleFilters.parse("2000001 \"(a)\" \"\\2\"\n", kind: .modify, name: "m")
        }
    }

    @Test func modifyUnmatchedGroupIsEmptyAndZeroIsNotTheMatch() throws {
        // (drop)|(box): only one group takes part in each match; Python gives "" for the other.
        let (a, r) = try load([(.modify, "2000002 'content:\"(x)?(drop)box\"' 'content:\"\\1\\2\"'\n")])
        #expect(a[2000002] == .alert && r.filtered.modified == 1, "\(r.warnings)")
        var p = RuleParser()
        p.filters = try RuleFilters.parse("2000002 'content:\"(x)?(drop)box\"' 'content:\"\\1\\2\"'\n", kind: .modify, name: "m")
        p.load(text: Self.rules, file: "x.rules")
        let sig = p.finish().signatures.first { $0.sid == 2000002 }
        #expect(sig?.prefilter.map { String(decoding: $0.pattern, as: UTF8.self) } == "drop")
        // \0 writes a NUL (as suricata-update does): the content becomes "|00|box"-like bytes,
        // never "dropboxbox".
        var q = RuleParser()
        q.filters = try RuleFilters.parse("2000002 'drop(box)' '\\0\\1'\n", kind: .modify, name: "m")
        q.load(text: Self.rules, file: "x.rules")
        let s2 = q.finish().signatures.first { $0.sid == 2000002 }
        #expect(s2?.prefilter.map { Array($0.pattern) } == [0x00] + Array("box".utf8))
    }

    // MARK: The shipped drop policy on both ET vintages

    /// definitions/ips/drop.conf and disable.conf against hand-written rules in the style of ET
    /// 2019 (ET TROJAN = malware, ET MALWARE = adware, mostly no metadata) and of today's ET
    /// (ET MALWARE = malware, ADWARE_PUP, PHISHING, CNC, signature_severity and deployment).
    @Test func shippedPolicyFitsBothVintages() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let drop = try String(contentsOf: root.appendingPathComponent("definitions/ips/drop.conf"), encoding: .utf8)
        let disable = try String(contentsOf: root.appendingPathComponent("definitions/ips/disable.conf"), encoding: .utf8)
        func rule(_ sid: Int, _ msg: String, _ meta: String = "") -> String {
            // "c2:" in front of the metadata: ET's command-and-control classtype (today's rules).
            let c2 = meta.hasPrefix("c2:")
            let m = c2 ? String(meta.dropFirst(3)) : meta
            return "alert tcp $HOME_NET any -> $EXTERNAL_NET any (msg:\"\(msg)\"; flow:established,to_server; content:\"x\(sid)\"; "
                + "classtype:\(c2 ? "command-and-control" : "trojan-activity"); sid:\(sid); rev:1;\(m.isEmpty ? "" : " metadata:\(m);"))"
        }
        let blocked: [(Int, String, String)] = [
            (2900101, "ET TROJAN Win32/Family CnC Beacon", ""),                       // 2019 malware, unrated
            (2900102, "ET MALWARE Adware.Toolbar Major", "signature_severity Major"),  // 2019 rated adware: as before
            (2900103, "ET MALWARE Win32/Lumma Stealer CnC Checkin", "attack_target Client_Endpoint, deployment Perimeter, signature_severity Critical"),
            (2900104, "ET PHISHING Successful Microsoft Credential Phish", "deployment Perimeter, signature_severity Major"),
            (2900105, "ET EXPLOIT_KIT RIG Landing", "signature_severity Major"),
            (2900106, "ET CNC Feodo Tracker Reported CnC Server group 1", "deployment Perimeter, signature_severity Major"),
            (2900107, "ET EXPLOIT Router RCE Inbound", "deployment Perimeter, deployment Internal, signature_severity Major"),
            (2900108, "ET MOBILE_MALWARE Android Spy Domain in DNS Lookup", "former_category MOBILE_MALWARE"),
            (2900109, "ET MALWARE Win32.RAT Checkin Outbound", "c2:former_category MALWARE"),  // today's unrated ex-TROJAN CnC
        ]
        let alertOnly: [(Int, String, String)] = [
            (2900201, "ET TROJAN Generic Minor", "signature_severity Minor"),
            (2900202, "ET MALWARE 180solutions Spyware", ""),                           // 2019 adware, unrated
            (2900203, "ET MALWARE Toolbar Stats", "signature_severity Minor"),
            (2900204, "ET MALWARE Win32/Grayware Informational", "deployment Perimeter, signature_severity Informational"),
            (2900205, "ET ADWARE_PUP Toolbar Checkin", "deployment Perimeter, signature_severity Major"),
            (2900206, "ET HUNTING Possible Phishing Page", "deployment Perimeter, signature_severity Critical"),
            (2900207, "ET JA3 Hash - Suspected Malware", "deployment Perimeter, confidence Low, signature_severity Major"),
            (2900208, "ET INFO DYNAMIC_DNS Query", "deployment Perimeter, signature_severity Major"),
            (2900209, "ET EXPLOIT SMB Lateral Move", "deployment Internal, signature_severity Critical"),
            (2900210, "ET WEB_SERVER SQLi Datacenter", "deployment Datacenter, signature_severity Major"),
            (2900211, "ET TROJAN Lateral SMB Beacon", "deployment Internal"),
            (2900212, "ET COMPROMISED Known Compromised or Hostile Host Traffic group 1", "signature_severity Major"),
            (2900213, "ET COINMINER Mining Pool DNS Lookup", "deployment Perimeter, signature_severity Major"),
            (2900214, "ET POLICY curl User-Agent Outbound", "signature_severity Major"),
            (2900215, "ET MALWARE IRC potential bot commands", ""),                         // unrated, trojan-activity: either vintage
            (2900216, "ET MALWARE Grayware CnC", "c2:signature_severity Informational"),
        ]
        let text = (blocked + alertOnly).map { rule($0.0, $0.1, $0.2) }.joined(separator: "\n")
        var f = RuleFilters()
        try f.add(drop, kind: .drop, name: "drop.conf")
        try f.add(disable, kind: .disable, name: "disable.conf")
        var p = RuleParser()
        p.filters = f
        p.load(text: text, file: "emerging-all.rules")
        let set = p.finish()
        #expect(set.report.loaded == blocked.count + alertOnly.count, "\(set.report.errors)")
        let actions = Dictionary(set.signatures.map { (Int($0.sid), $0.action) }, uniquingKeysWith: { a, _ in a })
        for (sid, msg, _) in blocked { #expect(actions[sid] == .drop, "\(msg) should block") }
        for (sid, msg, _) in alertOnly { #expect(actions[sid] == .alert, "\(msg) should only alert") }
    }
}
