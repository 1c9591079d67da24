// libFuzzer target: the input as a suricata-update filter file (disable/enable/drop/modify.conf,
// by the first byte), then, when it parses, applied to a few ET-shaped rules and to the input
// itself loaded as a rule file (commented rules included, so enable matchers run on them, and
// flowbit resolution reads the flowbits of left-out rules and loads setters again in finish()).
// Must never trap; a substitution never makes a rule longer than RuleFilters' bound.
import UTMDetect

private let fixedRules = """
    alert http $HOME_NET any -> $EXTERNAL_NET any (msg:"ET TROJAN x"; content:"/gate"; http_uri; sid:2000001; rev:2; metadata:signature_severity Major, former_category TROJAN;)
    # alert tcp any any -> any any (msg:"ET INFO y"; content:"y"; gid:3; sid:2000002; rev:1;)
    pass tcp any any -> any any (msg:"z"; flowbits:set,a; flowbits:noalert; sid:2000003;)
    alert tcp any any -> any any (msg:"ET TROJAN c"; flowbits:isset,b|a; content:"c"; sid:2000004;)
    # alert tcp any any -> any any (msg:"ET TROJAN s"; flowbits:set,b; flowbits:isset,d; content:"s"; sid:2000005;)
    # alert tcp any any -> any any (msg:"ET TROJAN d"; flowbits:toggle , d ; content:"d"; sid:2000006)
    # drop tcp any any -> any any (msg:"local d"; flowbits:set,d; content:"e"; sid:2000007;)
    """

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRuleFilters(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let kinds = RuleFilters.Kind.allCases
    let kind = kinds[Int(data[0]) % kinds.count]
    let text = String(decoding: UnsafeBufferPointer(start: data + 1, count: size - 1), as: UTF8.self)
    guard let filters = try? RuleFilters.parse(text, kind: kind, name: "fuzz.conf") else { return 0 }
    var parser = RuleParser()
    parser.filters = filters
    parser.load(text: fixedRules, file: "rules/emerging-all.rules")
    parser.load(text: text, file: text.isEmpty ? "x" : String(text.prefix(64)))
    _ = parser.finish()
    return 0
}
