import Testing
import UTMCore
@testable import UTMDetect

/// Review fixes to the rule filters (session 8): a rule brought back by flowbit resolution never
/// blocks or passes, modify.conf sees a left-out rule as suricata-update does ("# " in front),
/// only checkers that load drive resolution, TO parsing is linear, `\g<name>` is checked and a
/// failed substitution is never silent.
@Suite struct RuleFiltersReviewTests {
    func load(_ files: [(RuleFilters.Kind, String)], _ rules: String) throws -> RuleSet {
        var f = RuleFilters()
        for (kind, text) in files { try f.add(text, kind: kind, name: "\(kind.rawValue).conf") }
        var p = RuleParser()
        p.filters = f
        p.load(text: rules, file: "local.rules")
        return p.finish()
    }

    func bySid(_ set: RuleSet) -> [UInt32: Signature] {
        var out: [UInt32: Signature] = [:]
        for s in set.signatures { out[s.sid] = s }
        return out
    }

    static let pair = """
        alert udp any any -> any any (msg:"ET TROJAN setter"; content:"login"; flowbits:set,x; sid:1001; rev:1;)
        alert udp any any -> any any (msg:"ET TROJAN checker"; content:"data"; flowbits:isset,x; sid:1002; rev:1;)
        """

    /// The Oinkmaster drop idiom `^alert` → `drop` on a rule the user disabled: suricata-update
    /// runs FROM on "# alert ...", so it does not match; the setter comes back alert + noalert,
    /// while the enabled checker does become a drop.
    @Test func modifyDropIdiomDoesNotReachADisabledSetter() throws {
        let set = try load([(.disable, "1001\n"), (.modify, "re:TROJAN \"^alert\" \"drop\"\n")], Self.pair)
        let s = bySid(set)
        #expect(s[1001]?.action == .alert && s[1001]?.noalert == true)
        #expect(s[1002]?.action == .drop && s[1002]?.noalert == false)
        #expect(set.report.filtered.flowbitEnabled == 1)
    }

    /// Disabled local drop and pass setters, and a vendor-commented `# drop` setter, come back as
    /// `alert` + noalert: never a silent block or a silent exception. An enabled drop stays one.
    @Test func reenabledSettersAreAlwaysAlertNoalert() throws {
        let r = """
            drop tcp any any -> any any (msg:"local block"; content:"login"; flowbits:set,y; sid:9001; rev:1;)
            pass tcp any any -> any any (msg:"local exception"; content:"admin"; flowbits:set,z; sid:9002; rev:1;)
            alert tcp any any -> any any (msg:"checker y"; content:"data"; flowbits:isset,y; sid:9003; rev:1;)
            alert tcp any any -> any any (msg:"checker z"; content:"data"; flowbits:isnotset,z; sid:9004; rev:1;)
            # drop tcp any any -> any any (msg:"vendor commented drop"; content:"q"; flowbits:set,w; sid:9005; rev:1;)
            alert tcp any any -> any any (msg:"checker w"; content:"data"; flowbits:isset,w; sid:9006; rev:1;)
            #  reject tcp any any -> any any (msg:"vendor commented reject"; content:"r"; flowbits:set,w; sid:9007; rev:1;)
            drop tcp any any -> any any (msg:"enabled block"; content:"evil"; sid:9008; rev:1;)
            """
        let set = try load([(.disable, "9001\n9002\n")], r)
        let s = bySid(set)
        for sid: UInt32 in [9001, 9002, 9005, 9007] {
            #expect(s[sid]?.action == .alert && s[sid]?.noalert == true, "sid \(sid): \(String(describing: s[sid]?.action))")
        }
        #expect(s[9008]?.action == .drop && s[9008]?.noalert == false)
        #expect(set.report.filtered.flowbitEnabled == 4)
    }

    /// modify.conf still applies to a left-out rule's text (behind "# "): a content change
    /// reaches the re-enabled setter. A FROM that takes the "# " away is refused with a warning
    /// when the rule loads (enable.conf enables rules), the rest of the changes still apply.
    @Test func modifyAppliesToParkedTextBehindTheCommentMark() throws {
        let changed = try load([(.disable, "1001\n"), (.modify, "1001 \"login\" \"logon\"\n")], Self.pair)
        let p = bySid(changed)[1001]
        #expect(p?.noalert == true)
        #expect(p.map { String(decoding: $0.prefilter?.pattern ?? [], as: UTF8.self) } == "logon")
        let uncommented = try load([(.disable, "1001\n"), (.modify, "1001 \"^# \" \"\"\n1001 \"login\" \"logon\"\n")], Self.pair)
        let u = bySid(uncommented)[1001]
        #expect(u?.action == .alert && u?.noalert == true)
        #expect(u.map { String(decoding: $0.prefilter?.pattern ?? [], as: UTF8.self) } == "logon")
        #expect(uncommented.report.filtered.modifyFailed == 1)
        #expect(uncommented.report.warnings.contains { $0.contains("sid 1001") && $0.contains("modify.conf:1") }, "\(uncommented.report.warnings)")
    }

    /// A checker that does not load (unsupported keyword: `filestore`) does not bring back the setter the
    /// user disabled; a checker that loads does.
    @Test func onlyLoadedCheckersDriveResolution() throws {
        let skipped = """
            alert tcp any any -> any any (msg:"setter"; content:"login"; flowbits:set,v; sid:9101; rev:1;)
            alert tcp any any -> any any (msg:"skipped checker"; filestore; content:"x"; flowbits:isset,v; sid:9102; rev:1;)
            """
        let a = try load([(.disable, "9101\n")], skipped)
        #expect(a.signatures.isEmpty)
        #expect(a.report.filtered.flowbitEnabled == 0 && a.report.skipped.count == 1)
        let loading = skipped.replacingOccurrences(of: "filestore; ", with: "")
        let b = try load([(.disable, "9101\n")], loading)
        #expect(bySid(b)[9101]?.noalert == true && b.report.filtered.flowbitEnabled == 1)
    }

    /// A re-enabled setter that does not load is not counted, and what it checks is not resolved.
    @Test func flowbitEnabledCountsOnlyLoadedSetters() throws {
        let r = """
            alert tcp any any -> any any (msg:"checker"; content:"a"; flowbits:isset,p; sid:9201; rev:1;)
            # alert tcp any any -> any any (msg:"unloadable setter"; filestore; content:"b"; flowbits:set,p; flowbits:isset,q; sid:9202; rev:1;)
            # alert tcp any any -> any any (msg:"setter of q"; content:"c"; flowbits:set,q; sid:9203; rev:1;)
            """
        let set = try load([(.disable, "1\n")], r)
        #expect(set.report.filtered.flowbitEnabled == 0)
        #expect(bySid(set)[9203] == nil && bySid(set)[9202] == nil && bySid(set)[9201] != nil)
    }

    /// `${` is linear: a 256 KB TO of "${" (quadratic scanning took minutes at this size)
    /// completes; `${12}` is still group 12 and `${1x}` stays literal.
    @Test func oinkmasterGroupsIsLinearOnHostileTO() throws {
        let hostile = String(repeating: "${", count: 131_072)
        let out = RuleFilters.oinkmasterGroups(Array(hostile.utf8))
        #expect(out == Array(hostile.utf8))
        _ = try? RuleFilters.parse("1 \"(a)\" '\(hostile)'\n", kind: .modify, name: "m.conf")
        let digits = String(repeating: "${" + String(repeating: "1", count: 100), count: 2_000)
        #expect(RuleFilters.oinkmasterGroups(Array(digits.utf8)) == Array(digits.utf8))
        #expect(RuleFilters.oinkmasterGroups(Array("a${12}b${1x}c${}d${3".utf8)) == Array("a\\12b${1x}c${}d${3".utf8))
    }

    /// `\g<name>` must name one of FROM's groups: refused with modify.conf:LINE; a known name works.
    @Test func unknownGroupNameIsRefusedAtParse() throws {
        #expect {
            _ = try RuleFilters.parse("# c\n1001 \"(?<a>login)\" \"\\\\g<b>x\"\n", kind: .modify, name: "modify.conf")
        } throws: { e in
            guard let e = e as? RuleError else { return false }
            return e.file == "modify.conf" && e.line == 2 && e.message.contains("'b'")
        }
        let set = try load([(.modify, "1001 \"(?<a>log)in\" \"\\\\g<a>on\"\n")], Self.pair)
        let p = bySid(set)[1001]
        #expect(p.map { String(decoding: $0.prefilter?.pattern ?? [], as: UTF8.self) } == "logon")
        #expect(set.report.filtered.modified == 1 && set.report.filtered.modifyFailed == 0)
    }

    /// A substitution that fails at load (here: the result would exceed the rule size bound) is a
    /// warning naming the rule and the modify.conf line, counted; the rule loads without it.
    @Test func failedSubstitutionWarnsAndCounts() throws {
        let big = String(repeating: "A", count: 2_000)
        let set = try load([(.modify, "1001 \"(.)\" \"\(big)\"\n")], Self.pair)
        #expect(bySid(set)[1001]?.action == .alert)
        #expect(set.report.filtered.modifyFailed == 1 && set.report.filtered.modified == 0)
        #expect(set.report.warnings.contains { $0.contains("local.rules:1") && $0.contains("sid 1001") && $0.contains("modify.conf:1") },
                "\(set.report.warnings)")
        // Negative: a substitution that fits changes the rule and warns nothing.
        let ok = try load([(.modify, "1001 \"login\" \"logon\"\n")], Self.pair)
        #expect(ok.report.filtered.modifyFailed == 0 && ok.report.warnings.isEmpty)
    }
}

extension RuleFiltersReviewTests {
    /// Rules the vendor deleted (`ET DELETED` in a merged file, or any rule of a
    /// `*deleted.rules` file) are not brought back by flowbit resolution, as suricata-update's
    /// default `--ignore *deleted.rules` never reads them; a live setter of the same bit is.
    @Test func deletedRulesAreNotResolved() throws {
        let r = """
            alert tcp any any -> any any (msg:"ET CURRENT_EVENTS checker"; content:"a"; flowbits:isset,k; sid:9301; rev:1;)
            #alert tcp any any -> any any (msg:"ET DELETED old setter"; content:"b"; flowbits:set,k; sid:9302; rev:1;)
            # alert tcp any any -> any any (msg: "ET DELETED spaced setter"; content:"b"; flowbits:set,k; sid:9303; rev:1;)
            # alert tcp any any -> any any (msg:"ET CURRENT_EVENTS live setter"; content:"c"; flowbits:set,k; sid:9304; rev:1;)
            # alert tcp any any -> any any (msg:"mentions ET DELETED in content"; content:"\\"ET DELETED x"; flowbits:set,k; sid:9305; rev:1;)
            """
        let set = try load([(.disable, "1\n")], r)
        let s = bySid(set)
        #expect(s[9302] == nil && s[9303] == nil)
        #expect(s[9304]?.noalert == true && s[9305]?.noalert == true)
        #expect(set.report.filtered.flowbitEnabled == 2)
        // A *deleted.rules file: nothing in it comes back; enable.conf still can.
        var f = RuleFilters()
        try f.add("1\n", kind: .disable, name: "disable.conf")
        var p = RuleParser()
        p.filters = f
        p.load(text: "alert tcp any any -> any any (msg:\"checker\"; content:\"a\"; flowbits:isset,m; sid:9311; rev:1;)", file: "rules/emerging-all.rules")
        p.load(text: "# alert tcp any any -> any any (msg:\"x\"; content:\"b\"; flowbits:set,m; sid:9312; rev:1;)", file: "rules/emerging-deleted.rules")
        #expect(p.finish().signatures.map(\.sid) == [9311])
        let enabled = try load([(.enable, "9302\n")], r)
        #expect(bySid(enabled)[9302]?.noalert == false)
    }
}
