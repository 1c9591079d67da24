/// `dcerpc.stub_data` (Suricata 4's `dce_stub_data` too): sticky buffer of the reassembled
/// stub data of a DCE/RPC request (or, with `flow:to_client`, of its response), all fragments
/// of the call joined, the auth trailer left out. Byte keywords with `dce` in it read numbers
/// in the PDU's byte order. Makes the rule a dcerpc rule.
enum DetectDCERPCStubData {
    static func sticky(_ name: String) -> KeywordParser {
        { (b: inout SignatureBuilder, v: Substring?) throws(RuleError) in
            try KW.noValue(v, name)
            try b.requireApp(.dcerpc, keyword: name)
            b.sticky = .dcerpcStubData
        }
    }
}
